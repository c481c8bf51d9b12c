"""Datapath actions in OVS's text (``actions:`` of ``dpctl/dump-flows``, ``Datapath
actions:`` of ``ofproto/trace``): ``2``, ``set(ipv4(dst=...))``, ``ct(commit,zone=1,nat(...))``,
``recirc(0x1)``, ``push_vlan(vid=20,pcp=0)``, ``userspace(pid=0,...)``, ``drop``...

A masked ``set`` prints the fields of its header that the mask touches, with ``/mask``
for partial masks, exactly as OVS prints a key attribute (it reuses the same printers).

Layer: odp.  Imports: flow.layout, flow.ofpacts (Nat flags), odp.actions, odp.text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pyvswitch.flow import layout as L
from pyvswitch.flow.ofpacts import (
    NAT_F_DST,
    NAT_F_PERSISTENT,
    NAT_F_PROTO_HASH,
    NAT_F_PROTO_RANDOM,
    NAT_F_SRC,
    Nat,
)
from pyvswitch.odp import actions as A
from pyvswitch.odp.text import (
    FULL128,
    be16_field,
    eth_field,
    fmt_ip4,
    fmt_ip6,
    hex0,
    hex_u128,
    ip4_field,
    ip6_field,
    join_fields,
    label_field,
    u8u_field,
    u8x_field,
    u32_text,
    vlan_tci_text,
)

PortNames = Mapping[int, str]

_SET_FIELDS: dict[str, tuple[tuple[str, int, Callable[..., str]], ...]] = {
    "eth": (("src", L.ETH_SRC, eth_field), ("dst", L.ETH_DST, eth_field)),
    "ipv4": (("src", L.NW_SRC, ip4_field), ("dst", L.NW_DST, ip4_field),
             ("proto", L.NW_PROTO, u8u_field), ("tos", L.NW_TOS, u8x_field),
             ("ttl", L.NW_TTL, u8u_field)),
    "ipv6": (("src", L.IPV6_SRC, ip6_field), ("dst", L.IPV6_DST, ip6_field),
             ("label", L.IPV6_LABEL, label_field), ("proto", L.NW_PROTO, u8u_field),
             ("tclass", L.NW_TOS, u8x_field), ("hlimit", L.NW_TTL, u8u_field)),
    "tcp": (("src", L.TP_SRC, be16_field), ("dst", L.TP_DST, be16_field)),
    "udp": (("src", L.TP_SRC, be16_field), ("dst", L.TP_DST, be16_field)),
    "sctp": (("src", L.TP_SRC, be16_field), ("dst", L.TP_DST, be16_field)),
    "icmp": (("type", L.TP_SRC, u8u_field), ("code", L.TP_DST, u8u_field)),
    "icmpv6": (("type", L.TP_SRC, u8u_field), ("code", L.TP_DST, u8u_field)),
    "arp": (("sip", L.NW_SRC, ip4_field), ("tip", L.NW_DST, ip4_field),
            ("op", L.NW_PROTO, be16_field), ("sha", L.ARP_SHA, eth_field),
            ("tha", L.ARP_THA, eth_field)),
    "nd": (("target", L.ND_TARGET, ip6_field), ("sll", L.ARP_SHA, eth_field),
           ("tll", L.ARP_THA, eth_field)),
}


def _format_set(a: A.SetMasked) -> str:
    changes = {slot: (value, mask) for slot, value, mask in a.changes}
    if a.header == "skb_mark":
        value, mask = changes.get(L.PKT_MARK, (0, 0))
        return f"set(skb_mark({u32_text(value & mask, mask)}))"
    fields = _SET_FIELDS.get(a.header)
    if fields is None:
        return f"set({a.header}())"
    parts = []
    for name, slot, fn in fields:
        value, mask = changes.get(slot, (0, 0))
        if a.header in ("icmp", "icmpv6"):
            value, mask = value & 0xFF, mask & 0xFF
        parts.append(fn(name, value & mask, mask, False))
    return f"set({a.header}({join_fields(*parts)}))"


def _format_nat(n: Nat) -> str:
    if not n.flags & (NAT_F_SRC | NAT_F_DST):
        return "nat"
    out = "nat(" + ("src" if n.flags & NAT_F_SRC else "dst")
    if n.addr_min is not None:
        out += "="
        port = n.port_min or 0
        if n.ipv6:
            out += f"[{fmt_ip6(n.addr_min)}]" if port else fmt_ip6(n.addr_min)
            if n.addr_max and n.addr_max != n.addr_min:
                out += "-" + (f"[{fmt_ip6(n.addr_max)}]" if port else fmt_ip6(n.addr_max))
        else:
            out += fmt_ip4(n.addr_min)
            if n.addr_max and n.addr_max != n.addr_min:
                out += "-" + fmt_ip4(n.addr_max)
        if port:
            out += f":{port}"
            if n.port_max and n.port_max != port:
                out += f"-{n.port_max}"
    out += ","
    if n.flags & NAT_F_PERSISTENT:
        out += "persistent,"
    if n.flags & NAT_F_PROTO_HASH:
        out += "hash,"
    if n.flags & NAT_F_PROTO_RANDOM:
        out += "random,"
    return out.rstrip(",") + ")"


def _format_ct(a: A.Ct) -> str:
    parts = []
    if a.commit:
        parts.append("commit")
    if a.force:
        parts.append("force_commit")
    if a.zone:
        parts.append(f"zone={a.zone}")
    if a.mark is not None:
        parts.append(f"mark={hex0(a.mark[0])}/{hex0(a.mark[1])}")
    if a.label is not None:
        value, mask = a.label
        text = hex_u128(value)
        if mask != FULL128:
            text += "/" + hex_u128(mask)
        parts.append("label=" + text)
    if a.helper:
        parts.append(f"helper={a.helper}")
    if a.timeout:
        parts.append(f"timeout={a.timeout}")
    if a.nat is not None:
        parts.append(_format_nat(a.nat))
    return "ct(" + ",".join(parts) + ")" if parts else "ct"


def _port(port: int, port_names: PortNames | None) -> str:
    if port_names is not None and port in port_names:
        return port_names[port]
    return str(port)


def format_action(a: object, port_names: PortNames | None = None) -> str:
    """One datapath action as OVS prints it."""
    if isinstance(a, A.Output):
        return _port(a.port, port_names)
    if isinstance(a, A.SetMasked):
        return _format_set(a)
    if isinstance(a, A.Ct):
        return _format_ct(a)
    if isinstance(a, A.Recirc):
        return f"recirc({hex0(a.recirc_id)})"
    if isinstance(a, A.CtClear):
        return "ct_clear"
    if isinstance(a, A.PushVlan):
        tpid = "" if a.tpid == L.ETH_TYPE_VLAN_8021Q else f"tpid=0x{a.tpid:04x},"
        return f"push_vlan({tpid}{vlan_tci_text(a.tci, 0xFFFF, False)})"
    if isinstance(a, A.PopVlan):
        return "pop_vlan"
    if isinstance(a, A.Hash):
        return f"hash({a.alg}({a.basis}))"
    if isinstance(a, A.Userspace):
        return f"userspace(pid=0,{a.text})" if a.text else "userspace(pid=0)"
    if isinstance(a, A.Trunc):
        return f"trunc({a.max_len})"
    if isinstance(a, A.Clone):
        return f"clone({format_actions(a.actions, port_names)})"
    return f"<unknown action {type(a).__name__}>"


def format_actions(actions: Sequence[object], port_names: PortNames | None = None) -> str:
    """A datapath action list as ``Datapath actions:`` / ``actions:`` show it."""
    if not actions:
        return "drop"
    return ",".join(format_action(a, port_names) for a in actions)
