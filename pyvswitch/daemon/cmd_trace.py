"""``ofproto/trace`` and ``netdev-dummy/receive``: the commands that take a flow or a packet.

Layer: daemon (imports ``flow``, ``odp.parse``, ``daemon.compose``, ``control.commands``).

``ofproto/trace`` accepts OVS's forms (``ofproto-dpif-trace.c``): ``BRIDGE BR_FLOW`` or
``[DP] ODP_FLOW``, optionally followed by a packet in hex or ``-generate``, with
``--ct-next STATE`` (repeatable), ``--l7 HEX``/``--l7-len N`` accepted, and OVS's error
texts.  The translation itself and its text are the bridge's (``Bridge.trace``); a
datapath flow is turned into the equivalent OpenFlow flow on the bridge that owns its
input port.

``netdev-dummy/receive PORT PACKET|FLOW...`` hands frames to a ``dummy`` port and runs
them through the switch right away, so the next command already sees their effect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvswitch.control.commands import CommandError
from pyvswitch.daemon.compose import DEFAULT_L7_LEN, flow_compose, packet_expand
from pyvswitch.errors import ParseError
from pyvswitch.flow import layout as L
from pyvswitch.flow.match import Match
from pyvswitch.flow.match_text import format_match, parse_match

if TYPE_CHECKING:
    from pyvswitch.daemon.loop import Daemon

__all__ = ["eth_from_hex", "register"]

_MANY = 2**31 - 1


def eth_from_hex(text: str) -> bytes:
    """A packet from hex digits (spaces allowed); ValueError with OVS's texts."""
    digits = "".join(text.split())
    if len(digits) % 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError("Trailing garbage in packet data")
    data = bytes.fromhex(digits)
    if len(data) < 14:
        raise ValueError("Packet data too short for Ethernet")
    return data


def _odp_flow(d: Daemon, text: str) -> tuple[Any, list[int], list[int]] | None:
    """(bridge, flow, mask) for a datapath flow, None if ``text`` is not one."""
    if "(" not in text:
        return None
    from pyvswitch.odp.parse import parse_key

    dp = d.switch.datapath
    names = {p.name: p.port_no for p in dp.ports()}
    try:
        key, mask = parse_key(text, names)
    except (ParseError, ValueError, KeyError, IndexError):
        return None
    dp_in = key[L.IN_PORT]
    br = d.switch.bridge_of_dp_port(dp_in)
    ofport = d.switch.dp_to_ofport(dp_in)
    if br is None or ofport is None:
        raise CommandError(f"no OpenFlow port for datapath port {dp_in}")
    flow = list(key) + [0] * (L.N_FLOW - L.N_DP)
    flow[L.IN_PORT] = ofport
    m = list(mask) + [0] * (L.N_FLOW - L.N_DP)
    m[L.IN_PORT] = 0xFFFF
    return br, flow, m


def _flow_text(flow: list[int], mask: list[int]) -> str:
    return format_match(Match([v & m for v, m in zip(flow, mask)], mask)) or "in_port=0"


def parse_trace_args(d: Daemon, args: list[str]) -> tuple[Any, str, bytes | None, list[str]]:
    """(bridge, OpenFlow flow text, packet or None, ct-next states) from the arguments."""
    pos: list[str] = []
    ct_next: list[str] = []
    generate = False
    l7: bytes | None = None
    l7_len = DEFAULT_L7_LEN
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-generate", "--generate"):
            generate = True
        elif arg in ("--l7", "--l7-len", "--ct-next"):
            if i + 1 >= len(args):
                raise CommandError(f"Missing argument for option {arg}")
            i += 1
            if arg == "--ct-next":
                ct_next.append(args[i])
            elif arg == "--l7":
                digits = "".join(args[i].split())
                try:
                    l7 = bytes.fromhex(digits)
                except ValueError:
                    raise CommandError("Trailing garbage in packet data") from None
                l7_len = len(l7)
            else:
                l7 = None
                l7_len = int(args[i]) if args[i].isdigit() else 0
                if l7_len > 64000:
                    raise CommandError(f"{args[i]}: too much L7 data")
        elif arg in ("-names", "--names"):
            pass
        elif arg.startswith("-"):
            raise CommandError(f"{arg}: unknown option")
        elif len(pos) >= 3:
            raise CommandError("too many arguments")
        else:
            pos.append(arg)
        i += 1
    packet = None
    if not generate and len(pos) > 1:
        try:
            packet = eth_from_hex(pos[-1])
            pos.pop()
        except ValueError as exc:
            if len(pos) > 2:
                raise CommandError(str(exc)) from None
    if len(pos) not in (1, 2):
        raise CommandError("Syntax error")
    odp = _odp_flow(d, pos[-1])
    if odp is not None:
        if len(pos) == 2 and pos[0] not in ("ovs-netdev", "netdev", "netdev@ovs-netdev"):
            raise CommandError("Cannot find the datapath")
        br, flow, mask = odp
        text = _flow_text(flow, mask)
    elif len(pos) != 2:
        raise CommandError(f"syntax error at {pos[-1]} (or the bridge name was omitted)")
    else:
        br = d.switch.bridges.get(pos[0])
        if br is None:
            raise CommandError(f"{pos[0]}: unknown bridge")
        text = pos[1]
    if generate:
        packet = _generate(br, text, l7, l7_len)
    return br, text, packet, ct_next


def _generate(br: Any, text: str, l7: bytes | None, l7_len: int) -> bytes:
    try:
        match, _ = parse_match(text, br.port_map())
    except ParseError as exc:
        raise CommandError(f"Bad openflow flow syntax: {exc.msg}") from None
    return flow_compose(list(match.value), l7, l7_len)


def _packet_arg(d: Daemon, text: str, size: int = 0) -> bytes:
    """``netdev-dummy/receive``'s packet: hex, or a datapath flow to compose (padded to
    ``size`` bytes when given, as ``--len`` asks)."""
    try:
        return eth_from_hex(text)
    except ValueError:
        pass
    if "(" in text:
        from pyvswitch.odp.parse import parse_key

        names = {p.name: p.port_no for p in d.switch.datapath.ports()}
        try:
            key, _ = parse_key(text, names)
        except (ParseError, ValueError, KeyError, IndexError):
            key = None
        if key is not None:
            if not size:
                return flow_compose(list(key))
            # OVS: the headers alone, then zeros up to the length asked for
            return packet_expand(flow_compose(list(key), None, 0), list(key), size)
    raise CommandError(f"syntax error at {text}")


def register(d: Daemon) -> None:
    def trace(args: list[str]) -> str:
        br, text, packet, ct_next = parse_trace_args(d, args)
        if packet is not None:
            d.switch.now = d.clock()
        return br.trace(text, packet, ct_next, now=d.clock())

    def receive(args: list[str]) -> None:
        name, rest = args[0], args[1:]
        port = d.ports.get(name)
        nd = port.netdev if port is not None else None
        if nd is None or not hasattr(nd, "receive"):
            raise CommandError("no such dummy netdev")
        frames = []
        i = 0
        if rest[:1] == ["--qid"]:
            rest = rest[2:]
        while i < len(rest):
            arg = rest[i]
            size = 0
            if i + 2 < len(rest) and rest[i + 1] == "--len":
                size = int(rest[i + 2]) if rest[i + 2].isdigit() else 0
                if size < 60:
                    raise CommandError("too small packet len")
                i += 2
            frames.append(_packet_arg(d, arg, size))
            i += 1
        if not frames:
            raise CommandError("no packet or flow given")
        for frame in frames:
            nd.receive(frame)
        d.poll_port(port)

    d.table.register(
        "ofproto/trace",
        "{[dp_name] odp_flow | bridge br_flow} [OPTIONS...] [-generate|packet]",
        1, _MANY, trace)
    d.table.register("netdev-dummy/receive",
                     "name [--qid queue_id] packet|flow [--len packet_len]", 2, _MANY, receive)
