"""Packet validation and connection-key extraction for the tracker (spec §3, §4).

:func:`extract` turns the bytes of a packet into the connection key the tracker looks up,
or ``None`` when the packet cannot be tracked (it is then ``inv|trk``).  It re-validates
from the bytes whatever OVS's ``conn_key_extract`` validates: IPv4 header and checksum,
later fragments, IPv6 extension headers and fragment headers, TCP/UDP/SCTP lengths,
checksums and non-zero ports, ICMP/ICMPv6 checksums and the trackable message types, and
for ICMP errors the embedded packet (relaxed rules; its source must be the outer
destination; the key is the inner tuple reversed).

The result is a flat tuple ``(key, l3, l4, end, related)`` where ``key`` is described in
:mod:`pyvswitch.conntrack.conn`, ``l3``/``l4`` are header offsets, ``end`` is where the IP
datagram ends (Ethernet padding excluded) and ``related`` says the key came from the
packet embedded in an ICMP error.

A fast path handles untagged IPv4 without options, which is nearly all traffic.  The
one's complement sums use the big-integer residue trick (see :mod:`pyvswitch.packet.checksum`):
data read as one big-endian integer is congruent to the sum of its 16-bit words modulo
0xffff, so a checksum verifies when that residue, pseudo-header included, is 0.

Layer: conntrack.  Imports: packet.headers, packet.checksum, conntrack.conn, coverage.
"""

from __future__ import annotations

import struct

from pyvswitch import coverage
from pyvswitch.conntrack.conn import ICMP4_REVERSE, ICMP6_REVERSE, V6
from pyvswitch.packet.checksum import crc32c
from pyvswitch.packet.headers import ipv6_ext_hdrs, l3_offset

_FROM = int.from_bytes

# IPv4 from the total length on: total length, frag word, protocol, source, destination.
_IP4 = struct.Struct("!2xH2xHxB2xII")
_IP6 = struct.Struct("!4xHB")
_ADDR6 = struct.Struct("!QQQQ")
_PORTS = struct.Struct("!HH")
_U16 = struct.Struct("!H")
_ICMP_ECHO = struct.Struct("!BB2xH")  # type, code, id

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
IPPROTO_SCTP = 132
_V4_ERRORS = frozenset((3, 4, 5, 11, 12))
_V6_ERRORS = frozenset((1, 2, 3, 4))

#: (key, l3 offset, l4 offset, end of the IP datagram, related to an ICMP error)
ParseResult = tuple[tuple[int, ...], int, int, int, bool]


def _sum_ok(total: int) -> bool:
    """A one's complement sum (as an unfolded integer) that verifies: 0xffff, never 0."""
    return bool(total) and not total % 0xFFFF


def _data_int(pkt: bytearray | bytes, start: int, stop: int) -> int:
    """``pkt[start:stop]`` as one big-endian integer, odd length padded with a zero byte."""
    value = _FROM(pkt[start:stop], "big")
    return value << 8 if (stop - start) & 1 else value


def l4_csum_v4_ok(pkt: bytearray | bytes, l3: int, l4: int, end: int, proto: int) -> bool:
    """TCP/UDP checksum over the IPv4 pseudo-header (addresses read from ``pkt[l3:]``)."""
    src, dst = struct.unpack_from("!II", pkt, l3 + 12)
    return _sum_ok(src + dst + proto + (end - l4) + _data_int(pkt, l4, end))


def l4_csum_v6_ok(pkt: bytearray | bytes, l3: int, l4: int, end: int, proto: int) -> bool:
    """TCP/UDP/ICMPv6 checksum over the IPv6 pseudo-header."""
    a, b, c, d = _ADDR6.unpack_from(pkt, l3 + 8)
    return _sum_ok(a + b + c + d + proto + (end - l4) + _data_int(pkt, l4, end))


def sctp_len_ok(pkt: bytearray | bytes, l4: int, end: int) -> bool:
    """The chunk-length walk must land exactly on the end of the packet."""
    size = end - l4
    if size < 12:
        return False
    nxt = 12
    while nxt < size:
        if size - nxt < 4:
            # OVS reads the chunk length from the (padded) buffer; a partial chunk
            # header can never end exactly at ``size``.
            return False
        length = _U16.unpack_from(pkt, l4 + nxt + 2)[0]
        if length < 4:
            return False
        nxt += (length + 3) & ~3
    return nxt == size


def sctp_csum_ok(pkt: bytearray | bytes, l4: int, end: int) -> bool:
    """CRC32c over the SCTP packet with the checksum field read as zero."""
    data = bytearray(pkt[l4:end])
    rcvd = bytes(data[8:12])
    data[8:12] = b"\0\0\0\0"
    return crc32c(data).to_bytes(4, "little") == rcvd


def _bad(name: str) -> None:
    coverage.inc(name)
    return None


def extract(pkt: bytearray | bytes, zone: int, csum_good: bool = False) -> ParseResult | None:
    """The connection key of ``pkt`` and where its headers are; None if untrackable.

    ``csum_good`` skips TCP/UDP/SCTP checksum verification (hardware or an earlier pass
    already checked it); ICMP checksums and the IPv4 header checksum are always checked,
    as OVS does.
    """
    n = len(pkt)
    if n >= 34 and pkt[12] == 8 and pkt[13] == 0 and pkt[14] == 0x45:
        l3 = 14
        eth_type = 0x0800
    else:
        l3, eth_type = l3_offset(pkt)
        if l3 < 0:
            return _bad("conntrack_l3_err")
    if eth_type == 0x0800:
        size = n - l3
        if size < 20:
            return _bad("conntrack_l3_err")
        ihl = (pkt[l3] & 0x0F) * 4
        if ihl < 20 or pkt[l3] >> 4 != 4:
            return _bad("conntrack_l3_err")
        tot, frag, proto, src, dst = _IP4.unpack_from(pkt, l3)
        if not ihl <= tot <= size or size < ihl:
            return _bad("conntrack_l3_err")
        if frag & 0x1FFF:
            return _bad("conntrack_later_frag")
        if not _sum_ok(_FROM(pkt[l3:l3 + ihl], "big")):
            return _bad("conntrack_l3csum_err")
        l4 = l3 + ihl
        end = l3 + tot
        l3p = proto
        if proto == IPPROTO_TCP:
            if end - l4 < 20:
                return _bad("conntrack_l4_err")
            doff = (pkt[l4 + 12] >> 4) * 4
            if doff < 20 or doff > end - l4:
                return _bad("conntrack_l4_err")
            if not csum_good and not _sum_ok(
                src + dst + 6 + (end - l4) + _data_int(pkt, l4, end)
            ):
                return _bad("conntrack_l4csum_err")
            sport, dport = _PORTS.unpack_from(pkt, l4)
            if not sport or not dport:
                return _bad("conntrack_l4_err")
            return (zone, 6, src, sport, dst, dport), l3, l4, end, False
        if proto == IPPROTO_UDP:
            if end - l4 < 8:
                return _bad("conntrack_l4_err")
            sport, dport, ulen, ucsum = struct.unpack_from("!HHHH", pkt, l4)
            if ulen < 8 or ulen > end - l4:
                return _bad("conntrack_l4_err")
            if ucsum and not csum_good and not _sum_ok(
                src + dst + 17 + (end - l4) + _data_int(pkt, l4, end)
            ):
                return _bad("conntrack_l4csum_err")
            if not sport or not dport:
                return _bad("conntrack_l4_err")
            return (zone, 17, src, sport, dst, dport), l3, l4, end, False
        if proto == IPPROTO_ICMP:
            if not _sum_ok(_data_int(pkt, l4, end)):
                return _bad("conntrack_l4csum_err")
            return _icmp4(pkt, zone, l3, l4, end, src, dst)
    elif eth_type == 0x86DD:
        size = n - l3
        if size < 40:
            return _bad("conntrack_l3_err")
        plen, nxt = _IP6.unpack_from(pkt, l3)
        end = l3 + 40 + plen
        if end > n:
            return _bad("conntrack_l3_err")
        l4, proto, nw_frag = ipv6_ext_hdrs(pkt, l3 + 40, end, nxt)
        if l4 < 0:
            return _bad("conntrack_l3_err")
        if nw_frag:
            return _bad("conntrack_later_frag")
        a, b, c, d = _ADDR6.unpack_from(pkt, l3 + 8)
        src = a << 64 | b
        dst = c << 64 | d
        l3p = proto | V6
        if proto == IPPROTO_ICMPV6:
            if not l4_csum_v6_ok(pkt, l3, l4, end, proto):
                return _bad("conntrack_l4csum_err")
            return _icmp6(pkt, zone, l3, l4, end, dst)
        if proto == IPPROTO_TCP or proto == IPPROTO_UDP:
            need = 20 if proto == IPPROTO_TCP else 8
            if end - l4 < need:
                return _bad("conntrack_l4_err")
            if proto == IPPROTO_TCP:
                doff = (pkt[l4 + 12] >> 4) * 4
                if doff < 20 or doff > end - l4:
                    return _bad("conntrack_l4_err")
            else:
                ulen = _U16.unpack_from(pkt, l4 + 4)[0]
                if ulen < 8 or ulen > end - l4:
                    return _bad("conntrack_l4_err")
            if not csum_good and not l4_csum_v6_ok(pkt, l3, l4, end, proto):
                return _bad("conntrack_l4csum_err")
            sport, dport = _PORTS.unpack_from(pkt, l4)
            if not sport or not dport:
                return _bad("conntrack_l4_err")
            return (zone, l3p, src, sport, dst, dport), l3, l4, end, False
    else:
        return _bad("conntrack_l3_err")
    # SCTP and the protocols without ports, both families.
    if proto == IPPROTO_SCTP:
        if not sctp_len_ok(pkt, l4, end):
            return _bad("conntrack_l4_err")
        if not csum_good and not sctp_csum_ok(pkt, l4, end):
            return _bad("conntrack_l4csum_err")
        sport, dport = _PORTS.unpack_from(pkt, l4)
        if not sport or not dport:
            return _bad("conntrack_l4_err")
        return (zone, l3p, src, sport, dst, dport), l3, l4, end, False
    return (zone, l3p, src, 0, dst, 0), l3, l4, end, False


def _icmp4(
    pkt: bytearray | bytes, zone: int, l3: int, l4: int, end: int, outer_src: int,
    outer_dst: int,
) -> ParseResult | None:
    if end - l4 < 8:
        return _bad("conntrack_l4_err")
    itype, code, ident = _ICMP_ECHO.unpack_from(pkt, l4)
    rtype = ICMP4_REVERSE.get(itype)
    if rtype is not None:
        if code:
            return _bad("conntrack_icmp_bad_code")
        return (
            (zone, 1, outer_src, ident | itype << 16, outer_dst, ident | rtype << 16),
            l3, l4, end, False,
        )
    if itype not in _V4_ERRORS:
        return _bad("conntrack_icmp_untrackable")
    inner = _inner4(pkt, l4 + 8, end)
    if inner is None or inner[1] != outer_dst:
        return _bad("conntrack_icmp_bad_inner")
    proto, isrc, isport, idst, idport = inner
    # The lookup key is the inner tuple reversed: it travels the way the error does.
    return (zone, proto, idst, idport, isrc, isport), l3, l4, end, True


def _inner_l4(pkt: bytearray | bytes, proto: int, l4: int, end: int, v6: bool,
              ) -> tuple[int, int] | None:
    """Ports of an embedded header: relaxed rules, no checksums, no nested errors."""
    size = end - l4
    if proto == IPPROTO_TCP or proto == IPPROTO_UDP or proto == IPPROTO_SCTP:
        need = 8
        if v6:
            need = 20 if proto == IPPROTO_TCP else (8 if proto == IPPROTO_UDP else 12)
        if size < need:
            return None
        sport, dport = _PORTS.unpack_from(pkt, l4)
        if not sport or not dport:
            return None
        return sport, dport
    if (proto == IPPROTO_ICMP and not v6) or (proto == IPPROTO_ICMPV6 and v6):
        if size < 8:
            return None
        itype, code, ident = _ICMP_ECHO.unpack_from(pkt, l4)
        rtype = (ICMP6_REVERSE if v6 else ICMP4_REVERSE).get(itype)
        if rtype is None or code:
            return None
        return ident | itype << 16, ident | rtype << 16
    return 0, 0


def inner_offsets(pkt: bytearray | bytes, l3: int, end: int, v6: bool) -> tuple[int, int] | None:
    """``(l4 offset, protocol)`` of the packet embedded in an ICMP error at ``l3``."""
    size = end - l3
    if not v6:
        if size < 20:
            return None
        ihl = (pkt[l3] & 0x0F) * 4
        if ihl < 20 or size < ihl:
            return None
        return l3 + ihl, pkt[l3 + 9]
    if size < 40:
        return None
    l4, proto, frag = ipv6_ext_hdrs(pkt, l3 + 40, end, pkt[l3 + 6])
    if l4 < 0 or frag:
        return None
    return l4, proto


def _inner4(pkt: bytearray | bytes, l3: int, end: int) -> tuple[int, int, int, int, int] | None:
    offs = inner_offsets(pkt, l3, end, False)
    if offs is None:
        return None
    if _U16.unpack_from(pkt, l3 + 6)[0] & 0x1FFF:
        return None
    l4, proto = offs
    src, dst = struct.unpack_from("!II", pkt, l3 + 12)
    ports = _inner_l4(pkt, proto, l4, end, False)
    if ports is None:
        return None
    return proto, src, ports[0], dst, ports[1]


def _icmp6(
    pkt: bytearray | bytes, zone: int, l3: int, l4: int, end: int, outer_dst: int
) -> ParseResult | None:
    if end - l4 < 8:
        return _bad("conntrack_l4_err")
    itype, code, ident = _ICMP_ECHO.unpack_from(pkt, l4)
    rtype = ICMP6_REVERSE.get(itype)
    if rtype is not None:
        if code:
            return _bad("conntrack_icmp_bad_code")
        a, b = struct.unpack_from("!QQ", pkt, l3 + 8)
        return (
            (zone, 58 | V6, a << 64 | b, ident | itype << 16, outer_dst, ident | rtype << 16),
            l3, l4, end, False,
        )
    if itype not in _V6_ERRORS:
        return _bad("conntrack_icmp_untrackable")
    il3 = l4 + 8
    offs = inner_offsets(pkt, il3, end, True)
    if offs is None:
        return _bad("conntrack_icmp_bad_inner")
    il4, proto = offs
    a, b, c, d = _ADDR6.unpack_from(pkt, il3 + 8)
    isrc = a << 64 | b
    if isrc != outer_dst:
        return _bad("conntrack_icmp_bad_inner")
    ports = _inner_l4(pkt, proto, il4, end, True)
    if ports is None:
        return _bad("conntrack_icmp_bad_inner")
    return (zone, proto | V6, c << 64 | d, ports[1], isrc, ports[0]), l3, l4, end, True
