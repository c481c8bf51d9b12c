"""Matches in ovs-ofctl text: ``priority=100,tcp,in_port=p1,nw_src=10.0.0.0/8,ct_state=+trk``.

:func:`parse_match` reads the match part of a flow (fields, protocol shorthands such as
``tcp6``, subfield assignments such as ``NXM_NX_REG0[0..3]=5``) into a
:class:`~pyvswitch.flow.match.Match`, keeping any other keyword (``table=``, ``actions=``...)
for the caller.  :func:`format_match` prints a match the way OVS's ``match_format()`` does:
its field order, the ``ip``/``tcp``/``arp``... shorthands, ``dl_vlan`` vs ``vlan_tci``,
``nw_tos``/``nw_ecn``, ``icmp_type`` for ICMP, ``tcp_flags=+syn-ack``, CIDR masks and port
names; so a dump of our switch reads like one of OVS.

A key set twice replaces the earlier value, as in OVS (``reg0=1/0xf,reg0=0x10/0xf0`` keeps
only the second).  Prerequisites are not checked here: the ofproto layer does that when a
flow is added.

Layer: flow.  Imports: flow.layout, flow.fields, flow.match, flow.values, flow.field_text.
"""

from __future__ import annotations

from pyvswitch.errors import ParseError
from pyvswitch.flow import layout as L
from pyvswitch.flow.field_text import (
    field_nbytes,
    format_field_value,
    lookup_field,
    parse_field_value,
    parse_subfield,
)
from pyvswitch.flow.fields import FIELDS, Field
from pyvswitch.flow.match import Match, MatchBuilder
from pyvswitch.flow.values import (
    IntSyntaxError,
    PortMap,
    PortNames,
    format_flags,
    format_flags_masked,
    format_frag,
    format_ipv4_masked,
    format_ipv6_masked,
    format_mac_masked,
    format_port,
    hex_int,
    iter_kv,
    parse_int_string,
)

DEFAULT_PRIORITY = 0x8000

#: ovs-ofctl's protocol shorthands: name -> (eth_type, ip protocol or 0)
PROTOCOLS: dict[str, tuple[int, int]] = {
    "ip": (L.ETH_TYPE_IP, 0), "ipv4": (L.ETH_TYPE_IP, 0), "ip4": (L.ETH_TYPE_IP, 0),
    "arp": (L.ETH_TYPE_ARP, 0),
    "icmp": (L.ETH_TYPE_IP, L.IPPROTO_ICMP), "tcp": (L.ETH_TYPE_IP, L.IPPROTO_TCP),
    "udp": (L.ETH_TYPE_IP, L.IPPROTO_UDP), "sctp": (L.ETH_TYPE_IP, L.IPPROTO_SCTP),
    "ipv6": (L.ETH_TYPE_IPV6, 0), "ip6": (L.ETH_TYPE_IPV6, 0),
    "icmp6": (L.ETH_TYPE_IPV6, L.IPPROTO_ICMPV6), "tcp6": (L.ETH_TYPE_IPV6, L.IPPROTO_TCP),
    "udp6": (L.ETH_TYPE_IPV6, L.IPPROTO_UDP), "sctp6": (L.ETH_TYPE_IPV6, L.IPPROTO_SCTP),
    "rarp": (L.ETH_TYPE_RARP, 0), "mpls": (0x8847, 0), "mplsm": (0x8848, 0),
}

_ETH_TYPE = FIELDS["eth_type"]
_NW_PROTO = FIELDS["nw_proto"]
_IN_PORT = FIELDS["in_port"]
_VLAN_TCI = FIELDS["vlan_tci"]
_OFP10_VLAN_NONE = 0xFFFF


# ----------------------------------------------------------------------------- parsing
def _clear_field(b: MatchBuilder, f: Field) -> None:
    """Forget what ``b`` says about ``f``'s own bits (not the implied ones)."""
    for slot, shift, nbits in f.parts:
        bits = ((1 << nbits) - 1) << shift
        b.value[slot] &= ~bits
        b.mask[slot] &= ~bits


def set_match_field(b: MatchBuilder, f: Field, value: int, mask: int) -> None:
    """Make ``b`` match ``f`` == ``value`` under ``mask``, replacing what it said before."""
    _clear_field(b, f)
    b.set_field(f, value, mask)


def apply_match_key(b: MatchBuilder, key: str, value: str,
                    port_map: PortMap | None = None) -> bool:
    """Apply one ``key[=value]`` of a flow to ``b``; False if ``key`` is not a match key."""
    proto = PROTOCOLS.get(key)
    if proto is not None:
        set_match_field(b, _ETH_TYPE, proto[0], _ETH_TYPE.full_mask)
        if proto[1]:
            set_match_field(b, _NW_PROTO, proto[1], _NW_PROTO.full_mask)
        return True
    if key == "eth":
        return True  # packet_type=Ethernet: the only kind of packet we have
    f = lookup_field(key)
    if f is not None:
        _apply_field(b, f, value or "0/0", port_map)
        return True
    if "[" in key:
        _apply_subfield(b, key, value)
        return True
    return False


def _apply_field(b: MatchBuilder, f: Field, text: str, port_map: PortMap | None) -> None:
    if f.name == "dl_vlan":
        try:
            v, end = parse_int_string(text, 2)
        except IntSyntaxError:
            v, end = 0, 0
        if v == _OFP10_VLAN_NONE and end == len(text):
            set_match_field(b, _VLAN_TCI, 0, 0xFFFF)  # OpenFlow 1.0 "no VLAN"
            return
    value, mask = parse_field_value(f, text, port_map)
    if f.name == "in_port_oxm":  # ports are kept in the 16-bit convention
        f, mask = _IN_PORT, _IN_PORT.full_mask if mask else 0
    set_match_field(b, f, value, mask)
    if f.name == "vlan_pcp" and mask:
        # a PCP implies a tag, as OVS's match_set_dl_vlan_pcp() says (fields.py gives
        # vlan_pcp no implied CFI bit, unlike dl_vlan_pcp)
        b.set_slot(L.VLAN_TCI, L.VLAN_CFI, L.VLAN_CFI)


def _apply_subfield(b: MatchBuilder, key: str, text: str) -> None:
    sf = parse_subfield(key)
    f = sf.field
    try:
        val, end = parse_int_string(text, field_nbytes(f))
        if end != len(text):
            raise IntSyntaxError(False)
    except IntSyntaxError:
        raise ParseError(f"{key}: cannot parse integer value: {text}") from None
    if val >> sf.n_bits:
        shown = format_field_value(f, val) if val < 1 << f.nbits else hex_int(val)
        raise ParseError(f"{key}: value {shown} does not fit into {sf.n_bits} bits")
    cur_v = f.get(b.value)
    cur_m = f.get_mask(b.mask)
    new_m = cur_m | sf.mask
    new_v = (cur_v & ~sf.mask) | (val << sf.ofs)
    if not f.maskable and new_m & f.full_mask != f.full_mask:
        raise ParseError(f"{key}: field {f.name} cannot be matched on part of its bits")
    set_match_field(b, f, new_v, new_m)


def parse_match(text: str, port_map: PortMap | None = None
                ) -> tuple[Match, list[tuple[str, str]]]:
    """Parse the match in ``text``: (match, the other ``(key, value)`` pairs in order).

    ``port_map`` maps port names to numbers (``in_port=p1``).  Keywords that are not match
    fields -- ``priority``, ``table``, ``actions``... -- are returned untouched; the flow
    parser (:mod:`pyvswitch.flow.flow_text`) gives them meaning.
    """
    b = MatchBuilder()
    extras: list[tuple[str, str]] = []
    for key, value, _pos in iter_kv(text):
        if not apply_match_key(b, key, value, port_map):
            extras.append((key, value))
    return b.build(), extras


def match_from_string(text: str, port_map: PortMap | None = None) -> Match:
    """Parse ``text`` that holds only a match; any other keyword is an error."""
    match, extras = parse_match(text, port_map)
    if extras:
        raise ParseError(f"unknown keyword {extras[0][0]}")
    return match


# ----------------------------------------------------------------------------- printing
def _u32(name: str, v: int, m: int) -> str:
    return f"{name}={hex_int(v)}" + ("" if m == 0xFFFFFFFF else f"/{hex_int(m)}")


def _u64(name: str, v: int, m: int) -> str:
    return f"{name}={hex_int(v)}" + ("" if m == (1 << 64) - 1 else f"/{hex_int(m)}")


def _u16(name: str, v: int, m: int) -> str:
    return f"{name}={v}" if m == 0xFFFF else f"{name}=0x{v:x}/0x{m:x}"


def format_match(match: Match, priority: int | None = None,
                 port_names: PortNames | None = None) -> str:
    """``match`` as ovs-ofctl prints it, with ``priority=N,`` first when ``priority`` is
    given and not the default 32768.  An empty match prints as ``""``."""
    v, m = match.value, match.mask
    out: list[str] = []
    put = out.append
    if priority is not None and priority != DEFAULT_PRIORITY:
        put(f"priority={priority}")
    if m[L.PKT_MARK]:
        put(_u32("pkt_mark", v[L.PKT_MARK], m[L.PKT_MARK]))
    if m[L.RECIRC_ID]:
        put(_u32("recirc_id", v[L.RECIRC_ID], m[L.RECIRC_ID]))
    if m[L.DP_HASH]:
        put(_u32("dp_hash", v[L.DP_HASH], m[L.DP_HASH]))
    _format_ct(v, m, put)
    dl_type = v[L.ETH_TYPE]
    nw_proto = v[L.NW_PROTO]
    skip_type = skip_proto = False
    if m[L.ETH_TYPE]:
        short, skip_proto = _shorthand(dl_type, nw_proto, bool(m[L.NW_PROTO]))
        if short:
            put(short)
            skip_type = True
    for i in range(L.N_REGS):
        if m[L.REG0 + i]:
            put(_u32(f"reg{i}", v[L.REG0 + i], m[L.REG0 + i]))
    if m[L.TUN_ID]:
        put(_u64("tun_id", v[L.TUN_ID], m[L.TUN_ID]))
    for name, slot in (("tun_src", L.TUN_SRC), ("tun_dst", L.TUN_DST)):
        if m[slot]:
            put(f"{name}={format_ipv4_masked(v[slot], m[slot])}")
    if m[L.METADATA]:
        put(_u64("metadata", v[L.METADATA], m[L.METADATA]))
    if m[L.IN_PORT]:
        put(f"in_port={format_port(v[L.IN_PORT], port_names)}")
    _format_vlan(v[L.VLAN_TCI], m[L.VLAN_TCI], put)
    for name, slot in (("dl_src", L.ETH_SRC), ("dl_dst", L.ETH_DST)):
        if m[slot]:
            put(f"{name}={format_mac_masked(v[slot], m[slot])}")
    if not skip_type and m[L.ETH_TYPE]:
        put(f"dl_type=0x{dl_type:04x}")
    is_arp = dl_type in (L.ETH_TYPE_ARP, L.ETH_TYPE_RARP)
    if dl_type == L.ETH_TYPE_IPV6:
        for name, slot in (("ipv6_src", L.IPV6_SRC), ("ipv6_dst", L.IPV6_DST)):
            if m[slot]:
                put(f"{name}={format_ipv6_masked(v[slot], m[slot])}")
        lm = m[L.IPV6_LABEL]
        if lm:
            full = lm == (1 << 20) - 1 or lm == 0xFFFFFFFF
            put(f"ipv6_label=0x{v[L.IPV6_LABEL]:05x}" + ("" if full else f"/0x{lm:05x}"))
    else:
        prefix = "arp_" if is_arp else "nw_"
        names = ("spa", "tpa") if is_arp else ("src", "dst")
        for name, slot in zip(names, (L.NW_SRC, L.NW_DST)):
            if m[slot]:
                put(f"{prefix}{name}={format_ipv4_masked(v[slot], m[slot])}")
    if not skip_proto and m[L.NW_PROTO]:
        put(f"arp_op={nw_proto}" if is_arp else f"nw_proto={nw_proto}")
    if is_arp:
        for name, slot in (("arp_sha", L.ARP_SHA), ("arp_tha", L.ARP_THA)):
            if m[slot]:
                put(f"{name}={format_mac_masked(v[slot], m[slot])}")
    if m[L.NW_TOS] & 0xFC:
        put(f"nw_tos={v[L.NW_TOS] & 0xFC}")
    if m[L.NW_TOS] & 0x03:
        put(f"nw_ecn={v[L.NW_TOS] & 0x03}")
    if m[L.NW_TTL]:
        put(f"nw_ttl={v[L.NW_TTL]}")
    if m[L.NW_FRAG] & 3:
        put(f"nw_frag={format_frag(v[L.NW_FRAG], m[L.NW_FRAG])}")
    _format_l4(v, m, dl_type, nw_proto, put)
    return ",".join(out)


def _shorthand(dl_type: int, nw_proto: int, has_proto: bool) -> tuple[str | None, bool]:
    """The protocol word for ``dl_type``/``nw_proto`` and whether it covers nw_proto."""
    if dl_type == L.ETH_TYPE_IP:
        names = {L.IPPROTO_ICMP: "icmp", L.IPPROTO_TCP: "tcp", L.IPPROTO_UDP: "udp",
                 L.IPPROTO_SCTP: "sctp"}
        if has_proto and nw_proto in names:
            return names[nw_proto], True
        return "ip", False
    if dl_type == L.ETH_TYPE_IPV6:
        names = {L.IPPROTO_ICMPV6: "icmp6", L.IPPROTO_TCP: "tcp6", L.IPPROTO_UDP: "udp6",
                 L.IPPROTO_SCTP: "sctp6"}
        if has_proto and nw_proto in names:
            return names[nw_proto], True
        return "ipv6", False
    other = {L.ETH_TYPE_ARP: "arp", L.ETH_TYPE_RARP: "rarp", 0x8847: "mpls", 0x8848: "mplsm"}
    return other.get(dl_type), False


def _format_ct(v: tuple[int, ...], m: tuple[int, ...], put) -> None:
    sm = m[L.CT_STATE] & 0xFF
    if sm:
        sv = v[L.CT_STATE] & 0xFF
        if sm == 0xFF:
            put(f"ct_state={format_flags(sv, L.CT_STATE_NAMES)}")
        else:
            put(f"ct_state={format_flags_masked(sv, sm, L.CT_STATE_NAMES, 0xFF)}")
    if m[L.CT_ZONE]:
        put(_u16("ct_zone", v[L.CT_ZONE], m[L.CT_ZONE]))
    if m[L.CT_MARK]:
        put(_u32("ct_mark", v[L.CT_MARK], m[L.CT_MARK]))
    if m[L.CT_LABEL]:
        full = m[L.CT_LABEL] == (1 << 128) - 1
        put(f"ct_label={hex_int(v[L.CT_LABEL])}" + ("" if full
                                                     else f"/{hex_int(m[L.CT_LABEL])}"))
    for name, slot, fmt in (("ct_nw_src", L.CT_NW_SRC, 4), ("ct_ipv6_src", L.CT_IPV6_SRC, 6),
                            ("ct_nw_dst", L.CT_NW_DST, 4), ("ct_ipv6_dst", L.CT_IPV6_DST, 6)):
        if m[slot]:
            text = (format_ipv4_masked(v[slot], m[slot]) if fmt == 4
                    else format_ipv6_masked(v[slot], m[slot]))
            put(f"{name}={text}")
    if m[L.CT_NW_PROTO]:
        put(f"ct_nw_proto={v[L.CT_NW_PROTO]}")
        for name, slot in (("ct_tp_src", L.CT_TP_SRC), ("ct_tp_dst", L.CT_TP_DST)):
            if m[slot]:
                put(_u16(name, v[slot], m[slot]))


def _format_vlan(tci: int, mask: int, put) -> None:
    if not mask:
        return
    vid_mask = mask & L.VLAN_VID_MASK
    pcp_mask = mask & L.VLAN_PCP_MASK
    if (mask & L.VLAN_CFI and tci & L.VLAN_CFI and vid_mask in (0, L.VLAN_VID_MASK)
            and pcp_mask in (0, L.VLAN_PCP_MASK) and (vid_mask or pcp_mask)):
        if vid_mask:
            put(f"dl_vlan={tci & L.VLAN_VID_MASK}")
        if pcp_mask:
            put(f"dl_vlan_pcp={tci >> 13}")
    elif mask == 0xFFFF:
        put(f"vlan_tci=0x{tci:04x}")
    else:
        put(f"vlan_tci=0x{tci:04x}/0x{mask:04x}")


def _format_l4(v: tuple[int, ...], m: tuple[int, ...], dl_type: int, nw_proto: int,
               put) -> None:
    icmp4 = dl_type == L.ETH_TYPE_IP and nw_proto == L.IPPROTO_ICMP
    icmp6 = dl_type == L.ETH_TYPE_IPV6 and nw_proto == L.IPPROTO_ICMPV6
    if icmp4 or icmp6:
        for name, slot in (("icmp_type", L.TP_SRC), ("icmp_code", L.TP_DST)):
            if m[slot]:
                # icmp_type/icmp_code set 8 bits of the 16-bit slot: that is exact too
                put(_u16(name, v[slot], 0xFFFF if m[slot] == 0xFF else m[slot]))
        if icmp6:
            if m[L.ND_TARGET]:
                put(f"nd_target={format_ipv6_masked(v[L.ND_TARGET], m[L.ND_TARGET])}")
            for name, slot in (("nd_sll", L.ARP_SHA), ("nd_tll", L.ARP_THA)):
                if m[slot]:
                    put(f"{name}={format_mac_masked(v[slot], m[slot])}")
    else:
        for name, slot in (("tp_src", L.TP_SRC), ("tp_dst", L.TP_DST)):
            if m[slot]:
                put(_u16(name, v[slot], m[slot]))
    if (dl_type in (L.ETH_TYPE_IP, L.ETH_TYPE_IPV6) and nw_proto == L.IPPROTO_TCP
            and m[L.TCP_FLAGS]):
        flags = format_flags_masked(v[L.TCP_FLAGS], m[L.TCP_FLAGS] & 0xFFF,
                                    L.TCP_FLAG_NAMES, 0xFFF)
        put(f"tcp_flags={flags}")
