"""The 40-byte OpenFlow 1.0 ``ofp10_match`` <-> :class:`~pyvswitch.flow.match.Match`.

``wildcards(4) in_port(2) dl_src(6) dl_dst(6) dl_vlan(2) dl_vlan_pcp(1) pad(1) dl_type(2)
nw_tos(1) nw_proto(1) pad(2) nw_src(4) nw_dst(4) tp_src(2) tp_dst(2)``.  A set wildcard bit
ignores its field; the IP addresses carry a 6-bit count of wildcarded low bits instead.
``dl_vlan`` 0xffff means "no VLAN tag"; for ARP, ``nw_proto`` is the opcode and
``nw_src/nw_dst`` the protocol addresses.

Decoding normalises like OVS: fields whose prerequisites the match does not state are
dropped (an OpenFlow 1.0 controller sends zeros there).  :func:`of10_expressible` tells the
encoder whether a match fits this format, i.e. whether ovs-ofctl could send it without
switching to NXM.

Layer: openflow.  Imports: flow.layout, flow.match, openflow.header.
"""

from __future__ import annotations

import struct

from pyvswitch.flow import layout as L
from pyvswitch.flow.match import Match, MatchBuilder

OFP10_MATCH = struct.Struct("!IH6s6sHBxHBBxxIIHH")
OFP10_MATCH_LEN = 40

OFPFW10_IN_PORT = 1 << 0
OFPFW10_DL_VLAN = 1 << 1
OFPFW10_DL_SRC = 1 << 2
OFPFW10_DL_DST = 1 << 3
OFPFW10_DL_TYPE = 1 << 4
OFPFW10_NW_PROTO = 1 << 5
OFPFW10_TP_SRC = 1 << 6
OFPFW10_TP_DST = 1 << 7
OFPFW10_NW_SRC_SHIFT = 8
OFPFW10_NW_DST_SHIFT = 14
OFPFW10_DL_VLAN_PCP = 1 << 20
OFPFW10_NW_TOS = 1 << 21
OFPFW10_ALL = (1 << 22) - 1

OFP10_VLAN_NONE = 0xFFFF

_MAC = (1 << 48) - 1


def _netmask(wcbits: int) -> int:
    wcbits &= 0x3F
    return (0xFFFFFFFF << wcbits) & 0xFFFFFFFF if wcbits < 32 else 0


def _wcbits(mask: int) -> int:
    """Wildcarded low bits of a netmask: 32 minus its leading one bits (only meaningful
    for CIDR masks; others are caught by :func:`of10_expressible`)."""
    return (~mask & 0xFFFFFFFF).bit_length()


def decode_of10_match(data: bytes, pos: int = 0) -> Match:
    """Decode the 40 bytes at ``pos`` (the caller checked they exist)."""
    (wc, in_port, dl_src, dl_dst, dl_vlan, dl_vlan_pcp, dl_type, nw_tos, nw_proto,
     nw_src, nw_dst, tp_src, tp_dst) = OFP10_MATCH.unpack_from(data, pos)
    wc &= OFPFW10_ALL
    b = MatchBuilder()
    if not wc & OFPFW10_IN_PORT:
        b.set_slot(L.IN_PORT, in_port, 0xFFFF)
    if not wc & OFPFW10_DL_SRC:
        b.set_slot(L.ETH_SRC, int.from_bytes(dl_src, "big"), _MAC)
    if not wc & OFPFW10_DL_DST:
        b.set_slot(L.ETH_DST, int.from_bytes(dl_dst, "big"), _MAC)
    if not wc & OFPFW10_DL_TYPE:
        b.set_slot(L.ETH_TYPE, dl_type, 0xFFFF)
    if not wc & OFPFW10_DL_VLAN and dl_vlan == OFP10_VLAN_NONE:
        b.set_slot(L.VLAN_TCI, 0, 0xFFFF)
    else:
        tmask = 0
        if not wc & OFPFW10_DL_VLAN_PCP:
            tmask |= L.VLAN_PCP_MASK | L.VLAN_CFI
        if not wc & OFPFW10_DL_VLAN:
            tmask |= L.VLAN_VID_MASK | L.VLAN_CFI
        tci = (dl_vlan & L.VLAN_VID_MASK) | ((dl_vlan_pcp << 13) & L.VLAN_PCP_MASK) | L.VLAN_CFI
        if tmask:
            b.set_slot(L.VLAN_TCI, tci, tmask)
    # Only what the stated protocols allow survives (OVS's normalisation).
    dl = b.value[L.ETH_TYPE] if b.mask[L.ETH_TYPE] else None
    proto = nw_proto if not wc & OFPFW10_NW_PROTO else 0
    ip4 = dl == L.ETH_TYPE_IP
    arp = dl in (L.ETH_TYPE_ARP, L.ETH_TYPE_RARP)
    ip6 = dl == L.ETH_TYPE_IPV6
    if ip4 or arp:
        b.set_slot(L.NW_SRC, nw_src, _netmask(wc >> OFPFW10_NW_SRC_SHIFT))
        b.set_slot(L.NW_DST, nw_dst, _netmask(wc >> OFPFW10_NW_DST_SHIFT))
    if (ip4 or ip6 or arp) and not wc & OFPFW10_NW_PROTO:
        b.set_slot(L.NW_PROTO, nw_proto, 0xFF)
    if (ip4 or ip6) and not wc & OFPFW10_NW_TOS:
        b.set_slot(L.NW_TOS, nw_tos & 0xFC, 0xFC)
    l4 = (ip4 and proto in (L.IPPROTO_TCP, L.IPPROTO_UDP, L.IPPROTO_SCTP, L.IPPROTO_ICMP)) or (
        ip6 and proto in (L.IPPROTO_TCP, L.IPPROTO_UDP, L.IPPROTO_SCTP, L.IPPROTO_ICMPV6))
    if l4:
        if not wc & OFPFW10_TP_SRC:
            b.set_slot(L.TP_SRC, tp_src, 0xFFFF)
        if not wc & OFPFW10_TP_DST:
            b.set_slot(L.TP_DST, tp_dst, 0xFFFF)
    return b.build()


def encode_of10_match(m: Match) -> bytes:
    """``m`` as an ``ofp10_match``; what it cannot express is silently left out
    (check :func:`of10_expressible` first)."""
    v, k = m.value, m.mask
    wc = 0
    if not k[L.IN_PORT]:
        wc |= OFPFW10_IN_PORT
    if not k[L.ETH_TYPE]:
        wc |= OFPFW10_DL_TYPE
    if not k[L.NW_PROTO]:
        wc |= OFPFW10_NW_PROTO
    wc |= _wcbits(k[L.NW_SRC]) << OFPFW10_NW_SRC_SHIFT
    wc |= _wcbits(k[L.NW_DST]) << OFPFW10_NW_DST_SHIFT
    if not k[L.NW_TOS] & 0xFC:
        wc |= OFPFW10_NW_TOS
    if not k[L.TP_SRC]:
        wc |= OFPFW10_TP_SRC
    if not k[L.TP_DST]:
        wc |= OFPFW10_TP_DST
    if not k[L.ETH_SRC]:
        wc |= OFPFW10_DL_SRC
    if not k[L.ETH_DST]:
        wc |= OFPFW10_DL_DST
    tci, tmask = v[L.VLAN_TCI], k[L.VLAN_TCI]
    dl_vlan = dl_vlan_pcp = 0
    if not tmask:
        wc |= OFPFW10_DL_VLAN | OFPFW10_DL_VLAN_PCP
    elif tmask & L.VLAN_CFI and not tci & L.VLAN_CFI:
        dl_vlan = OFP10_VLAN_NONE
    else:
        if not tmask & L.VLAN_VID_MASK:
            wc |= OFPFW10_DL_VLAN
        else:
            dl_vlan = tci & L.VLAN_VID_MASK
        if not tmask & L.VLAN_PCP_MASK:
            wc |= OFPFW10_DL_VLAN_PCP
        else:
            dl_vlan_pcp = tci >> 13
    return OFP10_MATCH.pack(
        wc, v[L.IN_PORT] & 0xFFFF, v[L.ETH_SRC].to_bytes(6, "big"),
        v[L.ETH_DST].to_bytes(6, "big"), dl_vlan, dl_vlan_pcp, v[L.ETH_TYPE],
        v[L.NW_TOS] & 0xFC, v[L.NW_PROTO] & 0xFF, v[L.NW_SRC], v[L.NW_DST],
        v[L.TP_SRC], v[L.TP_DST])


def of10_expressible(m: Match) -> bool:
    """Whether the 40-byte match says exactly what ``m`` says (no NXM needed)."""
    return decode_of10_match(encode_of10_match(m)) == m
