"""Build a packet from a flow, for ``netdev-dummy/receive PORT FLOW`` and trace ``-generate``.

Layer: daemon (imports ``flow.layout``, ``packet.checksum``).

The inverse of key extraction for the headers a user writes in a flow, byte for byte
the frame OVS 3.1's ``flow_compose`` builds (``ovs-ofctl compose-packet`` prints it;
the interop tests compare): Ethernet with up to two VLAN tags, ARP, IPv4 and IPv6 with
TCP, UDP, SCTP, ICMP, IGMP and ICMPv6 (neighbour discovery with its link-layer
options).  Fields a flow does not carry are zero (IP id, TCP sequence numbers and
window), the TTL is the flow's own (0 unless given), checksums are filled in.  Only
protocols that can carry data get the L7 payload -- UDP, TCP without SYN/FIN/RST,
ICMP/ICMPv6 echo -- by default 64 bytes counting 0, 1, 2 ..., so a composed ICMP echo
is 106 bytes long and a TCP SYN 54, as in OVS; the dummy ports' byte counters then
agree with OVS's too.  :func:`packet_expand` grows a packet to a given size
(``netdev-dummy/receive ... --len N``), fixing lengths and checksums.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pyvswitch.flow import layout as L
from pyvswitch.packet.checksum import checksum

__all__ = ["DEFAULT_L7_LEN", "flow_compose", "packet_expand"]

#: the payload length OVS uses when none is given
DEFAULT_L7_LEN = 64
_IPPROTO_IGMP = 2
_TCP_NO_DATA = L.TCP_SYN | L.TCP_FIN | L.TCP_RST
_ECHO = {L.IPPROTO_ICMP: (0, 8), L.IPPROTO_ICMPV6: (128, 129)}


def _l7(l7: bytes | None, l7_len: int) -> bytes:
    if l7 is not None:
        return bytes(l7)
    return bytes(i & 0xFF for i in range(l7_len))


def _l4(flow: Sequence[int], l7: bytes) -> bytes:
    """The L4 header and payload, checksum fields zero (``_l4_csum`` fills them)."""
    proto = flow[L.NW_PROTO]
    sport, dport = flow[L.TP_SRC], flow[L.TP_DST]
    if proto == L.IPPROTO_TCP:
        flags = flow[L.TCP_FLAGS] & 0xFFF
        hdr = struct.pack("!HHIIHHHH", sport, dport, 0, 0, 5 << 12 | flags, 0, 0, 0)
        return hdr if flags & _TCP_NO_DATA else hdr + l7
    if proto == L.IPPROTO_UDP:
        return struct.pack("!HHHH", sport, dport, (8 + len(l7)) & 0xFFFF, 0) + l7
    if proto == L.IPPROTO_SCTP:
        return struct.pack("!HHII", sport, dport, 0, 0)
    if proto in (L.IPPROTO_ICMP, _IPPROTO_IGMP):
        hdr = struct.pack("!BBHI", sport & 0xFF, dport & 0xFF, 0, 0)
        echo = proto == L.IPPROTO_ICMP and dport == 0 and sport in _ECHO[proto]
        return hdr + l7 if echo else hdr
    if proto == L.IPPROTO_ICMPV6:
        typ, code = sport & 0xFF, dport & 0xFF
        body = struct.pack("!BBHI", typ, code, 0, 0)
        if code == 0 and typ in (135, 136):
            body += flow[L.ND_TARGET].to_bytes(16, "big")
            for mac, opt in ((flow[L.ARP_SHA], 1), (flow[L.ARP_THA], 2)):
                if mac:
                    body += struct.pack("!BB", opt, 1) + mac.to_bytes(6, "big")
        elif code == 0 and typ in _ECHO[proto]:
            body += l7
        return body
    return b""


def _l4_csum(flow: Sequence[int], l4: bytearray, pseudo: bytes) -> None:
    """Fill in the checksum of the L4 header at the start of ``l4`` (whole segment)."""
    proto = flow[L.NW_PROTO]
    if proto == L.IPPROTO_TCP and len(l4) >= 20:
        struct.pack_into("!H", l4, 16, 0)
        struct.pack_into("!H", l4, 16, checksum(pseudo + bytes(l4)))
    elif proto == L.IPPROTO_UDP and len(l4) >= 8:
        struct.pack_into("!H", l4, 6, 0)
        ck = checksum(pseudo + bytes(l4))
        struct.pack_into("!H", l4, 6, ck or 0xFFFF)
    elif proto in (L.IPPROTO_ICMP, _IPPROTO_IGMP) and len(l4) >= 8:
        struct.pack_into("!H", l4, 2, 0)
        struct.pack_into("!H", l4, 2, checksum(bytes(l4)))
    elif proto == L.IPPROTO_ICMPV6 and len(l4) >= 8:
        struct.pack_into("!H", l4, 2, 0)
        struct.pack_into("!H", l4, 2, checksum(pseudo + bytes(l4)))


def _later_fragment(flow: Sequence[int]) -> bool:
    return bool(flow[L.NW_FRAG] & L.FLOW_NW_FRAG_ANY and flow[L.NW_FRAG] & L.FLOW_NW_FRAG_LATER)


def _ip_packet(flow: Sequence[int], l4: bytes) -> bytes:
    """The L3 header, its L4 segment with checksums, for IPv4 or IPv6."""
    seg = bytearray(l4)
    proto = flow[L.NW_PROTO]
    if flow[L.ETH_TYPE] == L.ETH_TYPE_IP:
        src, dst = flow[L.NW_SRC], flow[L.NW_DST]
        frag = 0
        if flow[L.NW_FRAG] & L.FLOW_NW_FRAG_ANY:
            frag = 0x2000 | (100 if flow[L.NW_FRAG] & L.FLOW_NW_FRAG_LATER else 0)
        ip = bytearray(struct.pack("!BBHHHBBHII", 0x45, flow[L.NW_TOS] & 0xFF,
                                   (20 + len(seg)) & 0xFFFF, 0, frag, flow[L.NW_TTL] & 0xFF,
                                   proto & 0xFF, 0, src, dst))
        struct.pack_into("!H", ip, 10, checksum(ip))
        pseudo = struct.pack("!IIBBH", src, dst, 0, proto & 0xFF, len(seg) & 0xFFFF)
    else:
        src, dst = flow[L.IPV6_SRC], flow[L.IPV6_DST]
        ip = bytearray(struct.pack("!IHBB", 6 << 28 | (flow[L.NW_TOS] & 0xFF) << 20
                                   | flow[L.IPV6_LABEL] & 0xFFFFF, len(seg) & 0xFFFF,
                                   proto & 0xFF, flow[L.NW_TTL] & 0xFF))
        ip += src.to_bytes(16, "big") + dst.to_bytes(16, "big")
        pseudo = (src.to_bytes(16, "big") + dst.to_bytes(16, "big")
                  + struct.pack("!IxxxB", len(seg), proto & 0xFF))
    if not _later_fragment(flow):
        _l4_csum(flow, seg, pseudo)
    return bytes(ip) + bytes(seg)


def _eth(flow: Sequence[int], eth_type: int) -> bytes:
    head = flow[L.ETH_DST].to_bytes(6, "big") + flow[L.ETH_SRC].to_bytes(6, "big")
    for tpid_slot, tci_slot in ((L.VLAN_TPID, L.VLAN_TCI), (L.VLAN2_TPID, L.VLAN2_TCI)):
        tci = flow[tci_slot]
        if tci & L.VLAN_CFI:
            tpid = flow[tpid_slot] or L.ETH_TYPE_VLAN_8021Q
            head += struct.pack("!HH", tpid, tci & ~L.VLAN_CFI & 0xFFFF)
    return head + struct.pack("!H", eth_type & 0xFFFF)


def flow_compose(flow: Sequence[int], l7: bytes | None = None,
                 l7_len: int = DEFAULT_L7_LEN) -> bytes:
    """A frame whose extracted key carries ``flow``'s header fields.

    ``l7`` is the payload for protocols that carry one; without it, ``l7_len`` bytes
    counting up from 0 (OVS's "arbitrary payload")."""
    et = flow[L.ETH_TYPE]
    if et == L.DL_TYPE_NONE:
        # an 802.3 frame: the length field counts the Ethernet header alone, as OVS's
        return flow[L.ETH_DST].to_bytes(6, "big") + flow[L.ETH_SRC].to_bytes(6, "big") + \
            struct.pack("!H", 14)
    if et in (L.ETH_TYPE_IP, L.ETH_TYPE_IPV6):
        payload = _l7(l7, l7_len)
        l4 = b"" if _later_fragment(flow) else _l4(flow, payload)
        return _eth(flow, et) + _ip_packet(flow, l4)
    if et in (L.ETH_TYPE_ARP, L.ETH_TYPE_RARP):
        op = flow[L.NW_PROTO]
        arp = struct.pack("!HHBBH", 1, L.ETH_TYPE_IP, 6, 4, op)
        if op in (1, 2):
            arp += (flow[L.ARP_SHA].to_bytes(6, "big") + struct.pack("!I", flow[L.NW_SRC])
                    + flow[L.ARP_THA].to_bytes(6, "big") + struct.pack("!I", flow[L.NW_DST]))
        else:
            arp += bytes(20)
        return _eth(flow, et) + arp
    return _eth(flow, et)


def _l3_offset(flow: Sequence[int]) -> int:
    tags = sum(1 for s in (L.VLAN_TCI, L.VLAN2_TCI) if flow[s] & L.VLAN_CFI)
    return 14 + 4 * tags


def packet_expand(packet: bytes, flow: Sequence[int], size: int) -> bytes:
    """``packet`` (composed from ``flow``) padded with zeros to ``size`` bytes, its
    lengths and checksums fixed as OVS's ``packet_expand`` does."""
    if size <= len(packet):
        return packet
    extra = size - len(packet)
    pkt = bytearray(packet) + bytes(extra)
    et = flow[L.ETH_TYPE]
    if et == L.DL_TYPE_NONE:
        struct.pack_into("!H", pkt, 12, len(pkt))
        return bytes(pkt)
    if et not in (L.ETH_TYPE_IP, L.ETH_TYPE_IPV6):
        return bytes(pkt)
    l3 = _l3_offset(flow)
    l4_ofs = l3 + (20 if et == L.ETH_TYPE_IP else 40)
    seg = pkt[l4_ofs:]
    if not _later_fragment(flow) and flow[L.NW_PROTO] == L.IPPROTO_UDP and len(seg) >= 8:
        struct.pack_into("!H", seg, 4, len(seg) & 0xFFFF)
    return bytes(pkt[:l3]) + _ip_packet(flow, bytes(seg))
