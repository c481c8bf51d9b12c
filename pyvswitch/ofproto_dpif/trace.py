"""``ofproto/trace``: translation of one flow, explained, in OVS's exact text.

A trace translates the flow with a trace tree attached (nothing is learned unless a
packet is given), prints the tree, the final flow, the megaflow and the datapath
actions, then follows every conntrack recirculation the translation forked -- with the
ct_state given by ``--ct-next`` (default ``trk|new``) and NAT simulated by rewriting the
addresses to the first address and port of the range -- until none are left.

Layer: ofproto_dpif.  Imports: flow, odp.format, ofproto_dpif.*.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvswitch.errors import ParseError
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import extract_headers
from pyvswitch.flow.field_text import parse_field_exact, parse_field_value
from pyvswitch.flow.fields import Fmt, field_by_name
from pyvswitch.flow.match import Match
from pyvswitch.flow.match_text import PROTOCOLS, format_match
from pyvswitch.flow.ofpacts import NAT_F_DST, NAT_F_SRC, Nat
from pyvswitch.flow.values import iter_kv
from pyvswitch.odp import actions as dp
from pyvswitch.odp.format import format_actions as format_dp_actions
from pyvswitch.ofproto_dpif.fieldops import prereqs_ok
from pyvswitch.ofproto_dpif.trace_tree import TraceNode, format_nodes
from pyvswitch.ofproto_dpif.trace_values import format_ip, format_ipv6
from pyvswitch.ofproto_dpif.xlate import xlate_actions
from pyvswitch.ofproto_dpif.xlate_ct import TraceRecirc
from pyvswitch.ofproto_dpif.xlate_ctx import XlateIn
from pyvswitch.types import OFPP_NONE

if TYPE_CHECKING:
    from pyvswitch.ofproto_dpif.bridge import Bridge

_VALID_CT = L.CS_NEW | L.CS_ESTABLISHED | L.CS_REPLY_DIR
_PREFIX_SLOTS = frozenset((L.PKT_MARK, L.RECIRC_ID, L.DP_HASH, L.CT_STATE, L.CT_ZONE,
                           L.CT_MARK, L.CT_LABEL, L.CT_NW_PROTO, L.CT_NW_SRC, L.CT_NW_DST,
                           L.CT_IPV6_SRC, L.CT_IPV6_DST, L.CT_TP_SRC, L.CT_TP_DST))
_L4_PROTOS = (L.IPPROTO_ICMP, L.IPPROTO_ICMPV6, L.IPPROTO_TCP, L.IPPROTO_UDP,
              L.IPPROTO_SCTP, 2)
_CT_NAMES = {name: bit for bit, name in L.CT_STATE_NAMES}


# ------------------------------------------------------------------------- flow text
def _format(value: list[int] | tuple[int, ...], mask: list[int], megaflow: bool,
            port_names: dict[int, str] | None) -> str:
    """OVS ``match_format`` with the packet type ("eth") shown for megaflows."""
    prefix = [m if i in _PREFIX_SLOTS else 0 for i, m in enumerate(mask)]
    rest = [0 if i in _PREFIX_SLOTS else m for i, m in enumerate(mask)]
    parts = []
    head = format_match(Match(value, prefix))
    if head:
        parts.append(head)
    if megaflow:
        parts.append("eth")
    tail = format_match(Match(value, rest), None, port_names)
    if tail:
        if mask[L.VLAN2_TCI]:
            tail = _insert_vlan2(tail, value[L.VLAN2_TCI], mask[L.VLAN2_TCI])
        parts.append(tail)
    return ",".join(parts)


def _insert_vlan2(text: str, tci: int, mask: int) -> str:
    """Add the inner VLAN (``dl_vlan1``/``vlan_tci1``) after the outer one."""
    vid_mask, pcp_mask = mask & L.VLAN_VID_MASK, mask & L.VLAN_PCP_MASK
    if (mask & L.VLAN_CFI and tci & L.VLAN_CFI and vid_mask in (0, L.VLAN_VID_MASK)
            and pcp_mask in (0, L.VLAN_PCP_MASK) and (vid_mask or pcp_mask)):
        words = []
        if vid_mask:
            words.append(f"dl_vlan1={tci & L.VLAN_VID_MASK}")
        if pcp_mask:
            words.append(f"dl_vlan_pcp1={tci >> 13}")
    elif mask == 0xFFFF:
        words = [f"vlan_tci1=0x{tci:04x}"]
    else:
        words = [f"vlan_tci1=0x{tci:04x}/0x{mask:04x}"]
    items = text.split(",")
    at = 0
    for i, item in enumerate(items):
        if item.startswith(("dl_vlan=", "dl_vlan_pcp=", "vlan_tci=")):
            at = i + 1
    return ",".join(items[:at] + words + items[at:])


def packet_mask(flow: list[int] | tuple[int, ...]) -> list[int]:
    """The fields a packet like ``flow`` has (OVS ``flow_wildcards_init_for_packet``
    plus registers and metadata), with all-zero context fields hidden as
    ``flow_format`` does."""
    F = L.SLOT_FULL
    m = [0] * L.N_FLOW
    for s in (L.PKT_MARK, L.CT_STATE, L.CT_ZONE, L.CT_MARK, L.CT_LABEL, L.RECIRC_ID,
              L.DP_HASH, L.IN_PORT, L.ETH_SRC, L.ETH_DST, L.ETH_TYPE, L.VLAN_TCI,
              L.METADATA, *range(L.REG0, L.REG0 + L.N_REGS)):
        m[s] = F[s]
    if flow[L.VLAN_TCI]:
        m[L.VLAN2_TCI] = F[L.VLAN2_TCI]
    if flow[L.TUN_DST]:
        m[L.TUN_ID] = m[L.TUN_SRC] = m[L.TUN_DST] = 0xFFFFFFFF
        m[L.TUN_ID] = F[L.TUN_ID]
    elif flow[L.TUN_ID]:
        m[L.TUN_ID] = F[L.TUN_ID]
    dl_type = flow[L.ETH_TYPE]
    ip = False
    if dl_type == L.ETH_TYPE_IP:
        for s in (L.NW_SRC, L.NW_DST, L.CT_NW_SRC, L.CT_NW_DST):
            m[s] = F[s]
        ip = True
    elif dl_type == L.ETH_TYPE_IPV6:
        for s in (L.IPV6_SRC, L.IPV6_DST, L.IPV6_LABEL):
            m[s] = F[s]
        if (flow[L.NW_PROTO] == L.IPPROTO_ICMPV6 and flow[L.TP_DST] == 0
                and flow[L.TP_SRC] in (135, 136)):
            for s in (L.ARP_SHA, L.ARP_THA, L.ND_TARGET):
                m[s] = F[s]
        else:
            m[L.CT_IPV6_SRC] = m[L.CT_IPV6_DST] = F[L.CT_IPV6_SRC]
        ip = True
    elif dl_type in (L.ETH_TYPE_ARP, L.ETH_TYPE_RARP):
        for s in (L.NW_SRC, L.NW_DST, L.NW_PROTO, L.ARP_SHA, L.ARP_THA):
            m[s] = F[s]
    if ip:
        m[L.NW_FRAG] = L.FLOW_NW_FRAG_MASK
        for s in (L.NW_TOS, L.NW_TTL, L.NW_PROTO, L.CT_NW_PROTO, L.CT_TP_SRC, L.CT_TP_DST):
            m[s] = F[s]
        if not flow[L.NW_FRAG] & L.FLOW_NW_FRAG_LATER and flow[L.NW_PROTO] in _L4_PROTOS:
            m[L.TP_SRC] = m[L.TP_DST] = 0xFFFF
            if flow[L.NW_PROTO] == L.IPPROTO_TCP:
                m[L.TCP_FLAGS] = F[L.TCP_FLAGS]
    # flow_format: hide all-zero context fields
    for s in (L.IN_PORT, L.PKT_MARK, L.RECIRC_ID, L.DP_HASH, L.CT_STATE, L.CT_ZONE,
              L.CT_MARK, L.CT_LABEL, L.METADATA, *range(L.REG0, L.REG0 + L.N_REGS)):
        if not flow[s]:
            m[s] = 0
    if not flow[L.CT_STATE] & _VALID_CT or not flow[L.CT_NW_PROTO]:
        for s in (L.CT_NW_PROTO, L.CT_TP_SRC, L.CT_TP_DST, L.CT_NW_SRC, L.CT_NW_DST,
                  L.CT_IPV6_SRC, L.CT_IPV6_DST):
            m[s] = 0
    return m


def format_flow(flow: list[int] | tuple[int, ...],
                port_names: dict[int, str] | None = None) -> str:
    m = packet_mask(flow)
    return _format(flow, m, bool(m[L.RECIRC_ID]), port_names)


def format_megaflow(flow: list[int] | tuple[int, ...], wc: list[int],
                    port_names: dict[int, str] | None = None) -> str:
    text = _format(flow, wc, bool(wc[L.RECIRC_ID]), port_names)
    icmp = flow[L.NW_PROTO] in (L.IPPROTO_ICMP, L.IPPROTO_ICMPV6) and flow[L.ETH_TYPE] in (
        L.ETH_TYPE_IP, L.ETH_TYPE_IPV6)
    if icmp and (wc[L.TP_SRC] == 0xFF or wc[L.TP_DST] == 0xFF):
        # megaflows match ICMP type/code as 8 bits of the 16-bit port slots
        items = text.split(",")
        for i, item in enumerate(items):
            for name, slot in (("icmp_type=", L.TP_SRC), ("icmp_code=", L.TP_DST)):
                if item.startswith(name) and wc[slot] == 0xFF:
                    items[i] = f"{name}{flow[slot]:#x}/0xff"
        text = ",".join(items)
    return text


# ------------------------------------------------------------------------- options
def parse_ct_state(text: str) -> int:
    """A ``--ct-next`` argument: flag names separated by commas or spaces, checked as
    OVS's ``validate_ct_state`` does."""
    state = 0
    for word in text.replace(",", " ").split():
        bit = _CT_NAMES.get(word)
        if bit is None:
            raise ParseError(f"{word}: unknown connection tracking state flag", text)
        state |= bit
    name = _ct_state_text(state)
    errors = []
    if state and not state & L.CS_TRACKED:
        errors.append('If "trk" is unset, no other flags are set')
    if state & L.CS_INVALID and state & ~(L.CS_TRACKED | L.CS_INVALID):
        errors.append('when "inv" is set, only "trk" may also be set')
    if state & L.CS_NEW and state & L.CS_ESTABLISHED:
        errors.append('"new" and "est" are mutually exclusive')
    if state & L.CS_NEW and state & L.CS_REPLY_DIR:
        errors.append('"new" and "rpy" are mutually exclusive')
    if errors:
        raise ParseError("\n".join(f"{name}: invalid connection state: {e}" for e in errors),
                         text)
    return state


def _ct_state_text(state: int) -> str:
    names = [n for bit, n in L.CT_STATE_NAMES if state & bit]
    return "|".join(names) if names else "0"


def parse_exact_flow(text: str, port_map: dict[str, int] | None = None) -> list[int]:
    """A flow in OpenFlow syntax where every field is exact (OVS
    ``parse_ofp_exact_flow``): protocol words, ``field=value``, no masks; a missing
    ``in_port`` means OFPP_NONE.  Errors read "Bad openflow flow syntax: ..."."""
    flow = [0] * L.N_FLOW

    def bad(msg: str) -> ParseError:
        return ParseError(f"Bad openflow flow syntax: {text}: {msg}", text)

    for key, value, _pos in iter_kv(text):
        proto = PROTOCOLS.get(key)
        if proto is not None:
            if flow[L.ETH_TYPE]:
                raise bad("Ethernet type set multiple times")
            flow[L.ETH_TYPE] = proto[0]
            if proto[1]:
                if flow[L.NW_PROTO]:
                    raise bad("network protocol set multiple times")
                flow[L.NW_PROTO] = proto[1]
            continue
        f = field_by_name(key)
        if f is None:
            raise bad(f"unknown field {key}")
        if not prereqs_ok(f, flow, None):
            raise bad(f"prerequisites not met for setting {key}")
        if f.get(flow):
            raise bad(f"field {key} set multiple times")
        try:
            if f.fmt in (Fmt.CT_STATE, Fmt.TCP_FLAGS):
                # flag fields take "+est+trk" as well as "est|trk": the set bits count
                v = parse_field_value(f, value, port_map)[0]
            else:
                v = parse_field_exact(f, value, port_map)
        except ParseError as e:
            raise bad(f"bad value for {key} ({e.msg})") from None
        f.set(flow, v)
        if f.slot == L.VLAN_TCI and flow[L.VLAN_TCI] and not flow[L.VLAN_TPID]:
            flow[L.VLAN_TPID] = L.ETH_TYPE_VLAN_8021Q
    if not flow[L.IN_PORT]:
        flow[L.IN_PORT] = OFPP_NONE
    return flow


def parse_trace_flow(bridge: Bridge, text: str, packet: bytes | None) -> list[int]:
    flow = parse_exact_flow(text, bridge.port_map())
    if packet is not None:
        md = flow[: L.N_MD]
        if not (flow[L.ETH_TYPE] and flow[L.CT_STATE] & _VALID_CT):
            for s in (L.CT_NW_PROTO, L.CT_NW_SRC, L.CT_NW_DST, L.CT_IPV6_SRC,
                      L.CT_IPV6_DST, L.CT_TP_SRC, L.CT_TP_DST):
                md[s] = 0
        flow = md + list(extract_headers(bytearray(packet))) + [0] * (L.N_FLOW - L.N_DP)
    return flow


# ------------------------------------------------------------------------- tracing
def _ip_flow_text(flow: list[int], nat: Nat) -> str:
    if nat.addr_min is None:
        return ""
    if nat.ipv6:
        return (f"ipv6_src={_bracket6(flow[L.IPV6_SRC])},tp_src={flow[L.TP_SRC]},"
                f"ipv6_dst={_bracket6(flow[L.IPV6_DST])},tp_dst={flow[L.TP_DST]}")
    return (f"nw_src={format_ip(flow[L.NW_SRC])},tp_src={flow[L.TP_SRC]},"
            f"nw_dst={format_ip(flow[L.NW_DST])},tp_dst={flow[L.TP_DST]}")


def _bracket6(v: int) -> str:
    return f"[{format_ipv6(v)}]"


def _recirc_header(node: TraceRecirc, ct_next: list[int]) -> str:
    out = ["\n\n", "=" * 79, f"\nrecirc({node.recirc_id:#x})"]
    if node.conntrack:
        if not ct_next:
            state = L.CS_TRACKED | L.CS_NEW
            out.append(" - resume conntrack with default ct_state=trk|new "
                       "(use --ct-next to customize)")
        else:
            state = ct_next.pop(0)
            out.append(f" - resume conntrack with ct_state={_ct_state_text(state)}")
        node.flow[L.CT_STATE] = state
    out.append("\n")
    nat = node.nat
    if nat is not None:
        f = node.flow
        out.append("Replacing src/dst IP/ports to simulate NAT:\n")
        out.append(" Initial flow: " + _ip_flow_text(f, nat) + "\n")
        has_range = nat.addr_min is not None
        if nat.flags & NAT_F_SRC and has_range:
            f[L.IPV6_SRC if nat.ipv6 else L.NW_SRC] = nat.addr_min
            if nat.port_min:
                f[L.TP_SRC] = nat.port_min
        if nat.flags & NAT_F_DST and has_range:
            f[L.IPV6_DST if nat.ipv6 else L.NW_DST] = nat.addr_min
            if nat.port_min:
                f[L.TP_DST] = nat.port_min
        out.append(" Modified flow: " + _ip_flow_text(f, nat) + "\n")
    out.append("=" * 79 + "\n\n")
    return "".join(out)


def _prune_outputs(actions: tuple[object, ...]) -> tuple[object, ...]:
    out = []
    for a in actions:
        if isinstance(a, dp.Clone):
            out.append(dp.Clone(_prune_outputs(a.actions)))
        elif not isinstance(a, dp.Output | dp.Recirc):
            out.append(a)
    return tuple(out)


def _trace_pass(bridge: Bridge, flow: list[int], packet: bytes | None,
                queue: list[TraceRecirc], now: float, out: list[str]) -> None:
    root: list[TraceNode] = []
    pkt = bytearray(packet) if packet is not None else None
    initial = list(flow)
    xin = XlateIn(bridge, list(flow), now, packet=pkt, allow_side_effects=pkt is not None,
                  trace=root, recirc_queue=queue)
    out.append("Flow: " + format_flow(initial) + "\n")
    xout = xlate_actions(xin)
    out.append(format_nodes(root))
    out.append("\nFinal flow: ")
    out.append("unchanged" if xout.flow == initial else format_flow(xout.flow))
    out.append("\nMegaflow: " + format_megaflow(initial, xout.wc))
    actions = format_dp_actions(xout.actions) if xout.actions else "drop"
    out.append("\nDatapath actions: " + actions)
    if xout.error.name != "OK":
        out.append(f"\nTranslation failed ({xout.error}), packet is dropped.\n")
    elif xout.slow:
        out.append("\nThis flow is handled by the userspace slow path because it:"
                   "\n  - Uses action(s) not supported by datapath.")
    if packet is not None and xout.error.name == "OK":
        sw = bridge.switch
        xp = bridge.xports.get(initial[L.IN_PORT])
        key = list(initial[: L.N_DP])
        key[L.IN_PORT] = xp.dp_port if xp is not None else 0
        sw.datapath.execute(bytearray(packet), key, _prune_outputs(xout.actions), now)


def trace_bridge(bridge: Bridge, flow_text: str, packet: bytes | None, ct_next: list[str],
                 now: float) -> str:
    states = [parse_ct_state(s) for s in ct_next]
    flow = parse_trace_flow(bridge, flow_text, packet)
    out: list[str] = []
    queue: list[TraceRecirc] = []
    _trace_pass(bridge, flow, packet, queue, now, out)
    n = 0
    while queue:
        node = queue.pop(0)
        n += 1
        if n > 4096:
            out.append("\n\n" + "=" * 79 + "\nTrace reached the recirculation limit."
                       "  Sopping the trace here."
                       f"\nQueued but not processed: {len(queue) + 1} recirculations.")
            break
        out.append(_recirc_header(node, states))
        pkt = bytes(node.packet) if node.packet is not None else None
        _trace_pass(bridge, node.flow, pkt, queue, now, out)
    text = "".join(out)
    return text if text.endswith("\n") else text + "\n"
