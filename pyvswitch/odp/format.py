"""Datapath flow keys (and, re-exported, actions) in OVS's text (``ovs-appctl dpctl/dump-flows``).

A datapath key here is a flow tuple (:mod:`pyvswitch.flow.layout`, ``N_DP`` slots) and a
mask of the same shape.  OVS prints a key as a list of netlink-style attributes
(``recirc_id(0)``, ``eth_type(0x0800)``, ``ipv4(...)``); which attributes exist depends
on the *key* (an IPv4 packet has ``ipv4``, a tagged one ``vlan``/``encap``), and which are
shown depends on the *mask*: non-verbose output drops attributes and sub-fields whose
mask is zero and writes ``value/mask`` for partial masks; verbose output (``-m``) shows
every attribute of the key.  The rules below follow OVS 3.1's userspace datapath
(``odp_flow_key_from_flow`` + ``odp_flow_format``), checked against its real output.

Layer: odp.  Imports: flow.layout, packet.headers, odp.text, odp.actions_text (re-exported
``format_actions``/``format_action``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pyvswitch.flow import layout as L
from pyvswitch.odp.actions_text import format_action, format_actions
from pyvswitch.odp.text import (
    FULL128,
    be16_field,
    eth_field,
    format_flags,
    format_flags_masked,
    frag_field,
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
from pyvswitch.packet.headers import get_vlan_limit

PortNames = Mapping[int, str]

_CT_STATE_NAMES = dict(L.CT_STATE_NAMES)
_TCP_FLAG_NAMES = dict(L.TCP_FLAG_NAMES)
_VLAN_TYPES = (L.ETH_TYPE_VLAN_8021Q, L.ETH_TYPE_VLAN_8021AD)
_ETH_TYPE_MIN = 0x600
_ND_SOLICIT, _ND_ADVERT = 135, 136

def _odp_frag(nw_frag: int) -> int:
    if not nw_frag & L.FLOW_NW_FRAG_ANY:
        return 0
    return 2 if nw_frag & L.FLOW_NW_FRAG_LATER else 1


def _odp_frag_mask(m: int) -> int:
    return 0xFF if m & L.FLOW_NW_FRAG_ANY else 0


# ------------------------------------------------------------------------ attributes
# An attribute is (name, wildcard, nested, body) where body(verbose) is the text inside
# the parentheses.


class _Attrs:
    """Collects the attributes of one nesting level of a key, in OVS's order."""

    __slots__ = ("items", "has_eth_type", "verbose")

    def __init__(self, verbose: bool) -> None:
        self.items: list[tuple[str, bool, bool, Callable[[], str]]] = []
        self.has_eth_type = False
        self.verbose = verbose

    def add(self, name: str, wild: bool, body: Callable[[], str], nested: bool = False) -> None:
        self.items.append((name, wild, nested, body))

    def render(self, mask_given: bool) -> str:
        out = [
            f"{name}({body()})"
            for name, wild, nested, body in self.items
            if self.verbose or not wild or nested
        ]
        text = ",".join(out)
        if not self.has_eth_type and mask_given:
            # A frame without an Ethernet II type: the key has no eth_type but the
            # mask always has one (OVS's backward-compatibility convention).
            text += ",eth_type(0/0xffff)"
        return text


def format_key(
    key: Sequence[int],
    mask: Sequence[int] | None = None,
    verbose: bool = False,
    port_names: PortNames | None = None,
    vlan_limit: int | None = None,
) -> str:
    """A datapath key (and mask) as ``dpctl/dump-flows`` prints it.

    ``mask`` None prints the key as an exact match (as OVS does for a key alone).
    ``port_names`` maps datapath port numbers to names for ``in_port(...)``.
    ``vlan_limit`` is how many tags keys describe (OVS's ``vlan-limit``); by default the
    one key extraction uses.
    """
    limit = min(2, get_vlan_limit() if vlan_limit is None else vlan_limit)
    v = verbose
    has_mask = mask is not None

    def M(slot: int) -> int | None:
        return None if mask is None else mask[slot]

    def wild(*ms: int | None) -> bool:
        return has_mask and not any(ms)

    top = _Attrs(v)
    # skb_priority: the datapath has none; printed only in verbose output.
    top.add("skb_priority", wild(0) if has_mask else False, lambda: "0/0" if has_mask else "0")

    m = M(L.PKT_MARK)
    top.add("skb_mark", wild(m), lambda: u32_text(key[L.PKT_MARK], M(L.PKT_MARK)))

    m = M(L.CT_STATE)
    top.add("ct_state", wild(m), lambda: _ct_state(key[L.CT_STATE], M(L.CT_STATE), v))
    m = M(L.CT_ZONE)
    top.add("ct_zone", wild(m), lambda: _ct_small(key[L.CT_ZONE], M(L.CT_ZONE), 0xFFFF, v))
    m = M(L.CT_MARK)
    top.add("ct_mark", wild(m),
            lambda: _ct_small(key[L.CT_MARK], M(L.CT_MARK), 0xFFFFFFFF, v))
    m = M(L.CT_LABEL)
    top.add("ct_label", wild(m), lambda: _ct_label(key[L.CT_LABEL], M(L.CT_LABEL), v))
    if key[L.CT_NW_PROTO]:
        ms = tuple(M(s) for s in (L.CT_NW_SRC, L.CT_NW_DST, L.CT_IPV6_SRC, L.CT_IPV6_DST,
                                  L.CT_NW_PROTO, L.CT_TP_SRC, L.CT_TP_DST))
        if key[L.ETH_TYPE] == L.ETH_TYPE_IP:
            top.add("ct_tuple4", wild(ms[0], ms[1], ms[4], ms[5], ms[6]), lambda: join_fields(
                ip4_field("src", key[L.CT_NW_SRC], M(L.CT_NW_SRC), v),
                ip4_field("dst", key[L.CT_NW_DST], M(L.CT_NW_DST), v),
                u8u_field("proto", key[L.CT_NW_PROTO], M(L.CT_NW_PROTO), v),
                be16_field("tp_src", key[L.CT_TP_SRC], M(L.CT_TP_SRC), v),
                be16_field("tp_dst", key[L.CT_TP_DST], M(L.CT_TP_DST), v)))
        elif key[L.ETH_TYPE] == L.ETH_TYPE_IPV6:
            top.add("ct_tuple6", wild(ms[2], ms[3], ms[4], ms[5], ms[6]), lambda: join_fields(
                ip6_field("src", key[L.CT_IPV6_SRC], M(L.CT_IPV6_SRC), v),
                ip6_field("dst", key[L.CT_IPV6_DST], M(L.CT_IPV6_DST), v),
                u8u_field("proto", key[L.CT_NW_PROTO], M(L.CT_NW_PROTO), v),
                be16_field("src_port", key[L.CT_TP_SRC], M(L.CT_TP_SRC), v),
                be16_field("dst_port", key[L.CT_TP_DST], M(L.CT_TP_DST), v)))
    m = M(L.RECIRC_ID)
    top.add("recirc_id", wild(m), lambda: u32_text(key[L.RECIRC_ID], M(L.RECIRC_ID)))
    m = M(L.DP_HASH)
    top.add("dp_hash", wild(m), lambda: u32_text(key[L.DP_HASH], M(L.DP_HASH)))
    m = M(L.IN_PORT)
    top.add("in_port", wild(m), lambda: _in_port(key[L.IN_PORT], M(L.IN_PORT), port_names))
    top.add("packet_type", False, lambda: "ns=0,id=0")
    ms2 = (M(L.ETH_SRC), M(L.ETH_DST))
    top.add("eth", wild(*ms2), lambda: join_fields(
        eth_field("src", key[L.ETH_SRC], M(L.ETH_SRC), v),
        eth_field("dst", key[L.ETH_DST], M(L.ETH_DST), v)))
    _add_l2_rest(top, key, mask, v, 0, limit)
    return top.render(has_mask)


def _ct_state(k: int, m: int | None, verbose: bool) -> str:
    # The datapath's ct_state is 32 bits wide and the switch only ever masks the low 8,
    # so the mask is never "exact": the +flag/-flag form is the usual one.
    if verbose:
        if m is None:
            return hex0(k)
        return f"{hex0(k)}/{hex0(m)}"
    if m is None:
        return format_flags(k, _CT_STATE_NAMES)
    return format_flags_masked(k, m, 0xFFFFFFFF, _CT_STATE_NAMES, "|")


def _ct_small(k: int, m: int | None, full: int, verbose: bool) -> str:
    if not (verbose or m):
        return ""
    if m is None or m == full:
        return hex0(k)
    return f"{hex0(k)}/{hex0(m)}"


def _ct_label(k: int, m: int | None, verbose: bool) -> str:
    if not (verbose or m):
        return ""
    out = hex_u128(k)
    if m is not None and m != FULL128:
        out += "/" + hex_u128(m)
    return out


def _in_port(port: int, m: int | None, port_names: PortNames | None) -> str:
    if m is None or m == 0xFFFFFFFF:
        if port_names is not None and port in port_names:
            return port_names[port]
        return str(port)
    return f"{port}/{hex0(m)}"


def _add_l2_rest(
    attrs: _Attrs, key: Sequence[int], mask: Sequence[int] | None, v: bool, level: int,
    limit: int,
) -> None:
    """VLAN tags (as ``eth_type``/``vlan``/``encap(...)``), then L3 and L4."""
    has_mask = mask is not None

    def M(slot: int) -> int | None:
        return None if mask is None else mask[slot]

    dl_type = key[L.ETH_TYPE]
    if level < limit:
        tpid_slot = L.VLAN_TPID if level == 0 else L.VLAN2_TPID
        tci_slot = L.VLAN_TCI if level == 0 else L.VLAN2_TCI
        tci = key[tci_slot]
        tpid = key[tpid_slot]
        truncated = False
        if tci == 0:
            if dl_type in _VLAN_TYPES:
                tpid = dl_type  # a truncated tag: its TPID is the frame's type
                truncated = True
            else:
                tpid = -1
        if tpid >= 0:
            attrs.has_eth_type = True
            attrs.add("eth_type", False, lambda: f"0x{tpid:04x}")
            mt = M(tci_slot)
            attrs.add("vlan", has_mask and not mt,
                      lambda: vlan_tci_text(tci, 0xFFFF if mt is None else mt, v))
            inner = _Attrs(v)
            if not truncated:
                _add_l2_rest(inner, key, mask, v, level + 1, limit)
            else:
                inner.has_eth_type = True  # nothing inside, nothing to add
            attrs.add("encap", False, lambda: inner.render(has_mask), nested=True)
            return

    if dl_type < _ETH_TYPE_MIN:
        return  # no eth_type in the key; render() adds the mask's eth_type(0/0xffff)
    attrs.has_eth_type = True
    mt = M(L.ETH_TYPE)
    attrs.add("eth_type", has_mask and not mt,
              lambda: f"0x{dl_type:04x}" if mt is None or mt == 0xFFFF
              else f"0x{dl_type:04x}/0x{mt:04x}")
    if dl_type in _VLAN_TYPES:
        return
    _add_l3(attrs, key, M, v, has_mask)


def _add_l3(
    attrs: _Attrs, key: Sequence[int], M: Callable[[int], int | None], v: bool, has_mask: bool
) -> None:
    def wild(*ms: int | None) -> bool:
        return has_mask and not any(ms)

    dl_type = key[L.ETH_TYPE]
    mfrag = M(L.NW_FRAG)
    ofrag = None if mfrag is None else _odp_frag_mask(mfrag)
    if dl_type == L.ETH_TYPE_IP:
        ms = (M(L.NW_SRC), M(L.NW_DST), M(L.NW_PROTO), M(L.NW_TOS), M(L.NW_TTL), ofrag)
        attrs.add("ipv4", wild(*ms), lambda: join_fields(
            ip4_field("src", key[L.NW_SRC], ms[0], v),
            ip4_field("dst", key[L.NW_DST], ms[1], v),
            u8u_field("proto", key[L.NW_PROTO], ms[2], v),
            u8x_field("tos", key[L.NW_TOS], ms[3], v),
            u8u_field("ttl", key[L.NW_TTL], ms[4], v),
            frag_field(_odp_frag(key[L.NW_FRAG]), ofrag)))
    elif dl_type == L.ETH_TYPE_IPV6:
        mlabel = M(L.IPV6_LABEL)
        ms = (M(L.IPV6_SRC), M(L.IPV6_DST), None if mlabel is None else mlabel & 0xFFFFF,
              M(L.NW_PROTO), M(L.NW_TOS), M(L.NW_TTL), ofrag)
        attrs.add("ipv6", wild(*ms), lambda: join_fields(
            ip6_field("src", key[L.IPV6_SRC], ms[0], v),
            ip6_field("dst", key[L.IPV6_DST], ms[1], v),
            label_field("label", key[L.IPV6_LABEL], mlabel, v),
            u8u_field("proto", key[L.NW_PROTO], ms[3], v),
            u8x_field("tclass", key[L.NW_TOS], ms[4], v),
            u8u_field("hlimit", key[L.NW_TTL], ms[5], v),
            frag_field(_odp_frag(key[L.NW_FRAG]), ofrag)))
    elif dl_type in (L.ETH_TYPE_ARP, L.ETH_TYPE_RARP):
        # The opcode lives in the 8-bit nw_proto; OVS widens 0xff to 0xffff both in the
        # key and in the mask, which is what makes an exact opcode match print bare.
        mop = M(L.NW_PROTO)
        mop = None if mop is None else (0xFFFF if mop == 0xFF else mop)
        op = 0xFFFF if key[L.NW_PROTO] == 0xFF else key[L.NW_PROTO]
        ms = (M(L.NW_SRC), M(L.NW_DST), mop, M(L.ARP_SHA), M(L.ARP_THA))
        attrs.add("arp", wild(*ms), lambda: join_fields(
            ip4_field("sip", key[L.NW_SRC], ms[0], v),
            ip4_field("tip", key[L.NW_DST], ms[1], v),
            be16_field("op", op, ms[2], v),
            eth_field("sha", key[L.ARP_SHA], ms[3], v),
            eth_field("tha", key[L.ARP_THA], ms[4], v)))
        return
    else:
        return
    if key[L.NW_FRAG] & L.FLOW_NW_FRAG_LATER:
        return
    _add_l4(attrs, key, M, v, has_mask)


def _add_l4(
    attrs: _Attrs, key: Sequence[int], M: Callable[[int], int | None], v: bool, has_mask: bool
) -> None:
    def wild(*ms: int | None) -> bool:
        return has_mask and not any(ms)

    proto = key[L.NW_PROTO]
    dl_type = key[L.ETH_TYPE]
    ms = (M(L.TP_SRC), M(L.TP_DST))
    if proto in (L.IPPROTO_TCP, L.IPPROTO_UDP, L.IPPROTO_SCTP):
        name = {L.IPPROTO_TCP: "tcp", L.IPPROTO_UDP: "udp", L.IPPROTO_SCTP: "sctp"}[proto]
        attrs.add(name, wild(*ms), lambda: join_fields(
            be16_field("src", key[L.TP_SRC], ms[0], v),
            be16_field("dst", key[L.TP_DST], ms[1], v)))
        mflags = M(L.TCP_FLAGS)
        if proto == L.IPPROTO_TCP and (key[L.TCP_FLAGS] or mflags):
            fm = None if mflags is None else mflags & 0xFFF
            attrs.add("tcp_flags", has_mask and not fm,
                      lambda: _tcp_flags(key[L.TCP_FLAGS], fm))
        return
    icmp = (dl_type == L.ETH_TYPE_IP and proto == L.IPPROTO_ICMP) or (
        dl_type == L.ETH_TYPE_IPV6 and proto == L.IPPROTO_ICMPV6)
    if not icmp:
        return
    m8 = tuple(None if m is None else m & 0xFF for m in ms)
    attrs.add("icmp" if proto == L.IPPROTO_ICMP else "icmpv6", wild(*m8), lambda: join_fields(
        u8u_field("type", key[L.TP_SRC] & 0xFF, m8[0], v),
        u8u_field("code", key[L.TP_DST] & 0xFF, m8[1], v)))
    if proto == L.IPPROTO_ICMPV6 and key[L.TP_DST] == 0 and key[L.TP_SRC] in (
        _ND_SOLICIT, _ND_ADVERT
    ):
        # The mask carries ND fields only when ICMPv6 type and code are exact.
        nd_masked = not has_mask or (m8[0] == 0xFF and m8[1] == 0xFF)
        mt = (M(L.ND_TARGET), M(L.ARP_SHA), M(L.ARP_THA)) if nd_masked else (0, 0, 0)
        attrs.add("nd", wild(*mt), lambda: join_fields(
            ip6_field("target", key[L.ND_TARGET], mt[0], v),
            eth_field("sll", key[L.ARP_SHA], mt[1], v),
            eth_field("tll", key[L.ARP_THA], mt[2], v)))


def _tcp_flags(k: int, m: int | None) -> str:
    if m is None or m == 0xFFF:
        return format_flags(k, _TCP_FLAG_NAMES)
    return format_flags_masked(k, m, 0xFFF, _TCP_FLAG_NAMES)

__all__ = ["format_action", "format_actions", "format_key"]
