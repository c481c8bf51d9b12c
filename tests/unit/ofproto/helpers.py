"""Small builders for ofproto tests: matches by field name, flow_mods, flows."""

from __future__ import annotations

from pyvswitch.flow import layout as L
from pyvswitch.flow.fields import field_by_name
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand
from pyvswitch.flow.match import Match, MatchBuilder

SHORTHANDS = {
    "ip": {"eth_type": 0x0800},
    "ipv6": {"eth_type": 0x86DD},
    "arp": {"eth_type": 0x0806},
    "tcp": {"eth_type": 0x0800, "nw_proto": 6},
    "udp": {"eth_type": 0x0800, "nw_proto": 17},
    "icmp": {"eth_type": 0x0800, "nw_proto": 1},
    "tcp6": {"eth_type": 0x86DD, "nw_proto": 6},
    "icmp6": {"eth_type": 0x86DD, "nw_proto": 58},
}


def match(*protos: str, **fields: int | tuple[int, int]) -> Match:
    """``match("tcp", tcp_dst=80, nw_src=(0xC6336400, 0xFFFFFF00))``."""
    b = MatchBuilder()
    for p in protos:
        for name, v in SHORTHANDS[p].items():
            b.set_field(field_by_name(name), v)
    for name, spec in fields.items():
        f = field_by_name(name)
        assert f is not None, name
        if isinstance(spec, tuple):
            b.set_field(f, spec[0], spec[1])
        else:
            b.set_field(f, spec)
    return b.build()


def fm(command: str = "add", m: Match | None = None, **kw) -> FlowMod:
    cmd = {"add": FlowModCommand.ADD, "mod": FlowModCommand.MODIFY,
           "mod_strict": FlowModCommand.MODIFY_STRICT, "del": FlowModCommand.DELETE,
           "del_strict": FlowModCommand.DELETE_STRICT}[command]
    return FlowMod(command=cmd, match=m if m is not None else Match(), **kw)


def flow(*protos: str, **fields: int) -> list[int]:
    f = list(L.EMPTY_FLOW)
    for p in protos:
        for name, v in SHORTHANDS[p].items():
            field_by_name(name).set(f, v)
    for name, v in fields.items():
        field_by_name(name).set(f, v)
    return f
