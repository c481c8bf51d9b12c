"""Build a packet from a flow, for ``netdev-dummy/receive PORT FLOW`` and trace ``-generate``.

Layer: daemon (imports ``flow.layout``, ``packet.checksum``).

The inverse of key extraction for the headers a user writes in a flow: Ethernet with
up to two VLAN tags, ARP, IPv4 and IPv6 with TCP, UDP, SCTP, ICMP and ICMPv6
(neighbour discovery with its link-layer option), checksums filled in.  Like OVS's
``flow_compose`` it adds 64 bytes of zero payload after an L4 header, so a composed
ICMP echo is 106 bytes long as in OVS.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pyvswitch.flow import layout as L
from pyvswitch.packet.checksum import checksum

__all__ = ["flow_compose"]

_PAYLOAD = bytes(64)


def _pseudo_v4(src: int, dst: int, proto: int, length: int) -> bytes:
    return struct.pack("!IIBBH", src, dst, 0, proto, length)


def _pseudo_v6(src: int, dst: int, proto: int, length: int) -> bytes:
    return src.to_bytes(16, "big") + dst.to_bytes(16, "big") + struct.pack("!IxxxB", length,
                                                                           proto)


def _l4(flow: Sequence[int], proto: int, pseudo: bytes | None) -> bytes:
    sport, dport = flow[L.TP_SRC], flow[L.TP_DST]
    if proto == L.IPPROTO_TCP:
        hdr = bytearray(struct.pack("!HHIIBBHHH", sport, dport, 0, 0, 5 << 4,
                                    flow[L.TCP_FLAGS] & 0xFF, 65535, 0, 0))
        hdr[12] |= (flow[L.TCP_FLAGS] >> 8) & 1
        body = bytes(hdr) + _PAYLOAD
        off = 16
    elif proto == L.IPPROTO_UDP:
        body = struct.pack("!HHHH", sport, dport, 8 + len(_PAYLOAD), 0) + _PAYLOAD
        off = 6
    elif proto == L.IPPROTO_SCTP:
        return struct.pack("!HHII", sport, dport, 0, 0) + _PAYLOAD
    elif proto == L.IPPROTO_ICMP:
        body = struct.pack("!BBHI", sport, dport, 0, 0) + _PAYLOAD
        b = bytearray(body)
        struct.pack_into("!H", b, 2, checksum(b))
        return bytes(b)
    elif proto == L.IPPROTO_ICMPV6:
        body = _icmp6(flow)
        off = 2
    else:
        return b""
    b = bytearray(body)
    if pseudo is not None:
        ck = checksum(pseudo + bytes(b))
        if proto == L.IPPROTO_UDP and ck == 0:
            ck = 0xFFFF
        struct.pack_into("!H", b, off, ck)
    return bytes(b)


def _icmp6(flow: Sequence[int]) -> bytes:
    typ, code = flow[L.TP_SRC], flow[L.TP_DST]
    if code == 0 and typ in (135, 136):
        flags = 0x60000000 if typ == 136 else 0
        body = struct.pack("!BBHI", typ, code, 0, flags) + flow[L.ND_TARGET].to_bytes(16, "big")
        mac, opt = (flow[L.ARP_SHA], 1) if typ == 135 else (flow[L.ARP_THA], 2)
        if mac:
            body += struct.pack("!BB", opt, 1) + mac.to_bytes(6, "big")
        return body
    return struct.pack("!BBHI", typ, code, 0, 0) + _PAYLOAD


def flow_compose(flow: Sequence[int]) -> bytes:
    """A frame whose extracted key carries ``flow``'s header fields."""
    eth = flow[L.ETH_DST].to_bytes(6, "big") + flow[L.ETH_SRC].to_bytes(6, "big")
    for tpid_slot, tci_slot in ((L.VLAN_TPID, L.VLAN_TCI), (L.VLAN2_TPID, L.VLAN2_TCI)):
        tci = flow[tci_slot]
        if tci & L.VLAN_CFI:
            tpid = flow[tpid_slot] or L.ETH_TYPE_VLAN_8021Q
            eth += struct.pack("!HH", tpid, tci & ~L.VLAN_CFI & 0xFFFF)
    et = flow[L.ETH_TYPE]
    if et == L.DL_TYPE_NONE or et < 0x600:
        return eth + struct.pack("!H", 46) + bytes(46)
    eth += struct.pack("!H", et)
    proto = flow[L.NW_PROTO]
    if et in (L.ETH_TYPE_ARP, L.ETH_TYPE_RARP):
        arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, proto & 0xFF or 1)
        arp += flow[L.ARP_SHA].to_bytes(6, "big") + struct.pack("!I", flow[L.NW_SRC])
        arp += flow[L.ARP_THA].to_bytes(6, "big") + struct.pack("!I", flow[L.NW_DST])
        return eth + arp
    frag = flow[L.NW_FRAG]
    later = bool(frag & L.FLOW_NW_FRAG_LATER)
    if et == L.ETH_TYPE_IP:
        src, dst = flow[L.NW_SRC], flow[L.NW_DST]
        l4 = b"" if later else _l4(flow, proto, _pseudo_v4(src, dst, proto, 0))
        if not later and proto in (L.IPPROTO_TCP, L.IPPROTO_UDP):
            l4 = _l4(flow, proto, _pseudo_v4(src, dst, proto, len(l4)))
        frag_field = (0x2000 if frag & L.FLOW_NW_FRAG_ANY and not later else 0) | (
            100 if later else 0)
        ip = bytearray(struct.pack("!BBHHHBBHII", 0x45, flow[L.NW_TOS], 20 + len(l4), 0,
                                   frag_field, flow[L.NW_TTL] or 64, proto, 0, src, dst))
        struct.pack_into("!H", ip, 10, checksum(ip))
        return eth + bytes(ip) + l4
    if et == L.ETH_TYPE_IPV6:
        src, dst = flow[L.IPV6_SRC], flow[L.IPV6_DST]
        l4 = b"" if later else _l4(flow, proto, None)
        if not later and proto in (L.IPPROTO_TCP, L.IPPROTO_UDP, L.IPPROTO_ICMPV6):
            l4 = _l4(flow, proto, _pseudo_v6(src, dst, proto, len(l4)))
        head = struct.pack("!IHBB", 6 << 28 | flow[L.NW_TOS] << 20 | flow[L.IPV6_LABEL],
                           len(l4), proto, flow[L.NW_TTL] or 64)
        return eth + head + src.to_bytes(16, "big") + dst.to_bytes(16, "big") + l4
    return eth
