"""Datapath key extraction: packet bytes to the header slots of a flow.

This is OVS's ``miniflow_extract`` (lib/flow.c) over the flat layout of
:mod:`pyvswitch.flow.layout`: every packet the datapath receives goes through
:func:`extract_headers` once, so it has a fast path for untagged IPv4 TCP/UDP (one
``unpack_from`` at fixed offsets and a tuple literal), as for untagged IPv6 TCP/UDP and ARP,
and a general path for the rest.

The general path stops where OVS stops.  A frame shorter than an Ethernet header gives
all zeros; an IPv4 or IPv6 header failing OVS's sanity checks leaves every L3 and L4
field zero (an IPv6 packet whose extension headers do not fit keeps only its addresses,
as in OVS); a transport header too short for its fields leaves those fields zero.  Every
such stop bumps a ``flow_extract_<what>`` coverage counter; nothing here raises.

Shared slots follow OVS's ``struct flow``: ARP's SPA/TPA and opcode (low 8 bits, 0 when
the opcode does not fit) are ``NW_SRC``/``NW_DST``/``NW_PROTO``; ICMP, ICMPv6 and IGMP
type/code are ``TP_SRC``/``TP_DST``; ND's SLL/TLL are ``ARP_SHA``/``ARP_THA``; and, as
OVS's ``nd_options_type``, the type of the first link-layer option of an ND packet (1 or
2) is ``TCP_FLAGS``.  L4 parsing keys on the protocol number alone, as OVS does, so an
ICMPv6 header inside IPv4 is parsed as ICMPv6.

Layer: flow.  Imports: flow.layout, packet.headers, coverage.
"""

from __future__ import annotations

import struct

from pyvswitch import coverage
from pyvswitch.flow import layout as L
from pyvswitch.packet import headers as _hdr

Buffer = bytes | bytearray | memoryview

#: metadata of a packet that has just arrived from a port with no recirculation
DEFAULT_MD: tuple[int, ...] = (0,) * L.N_MD

_NH = L.N_DP - L.N_MD
_ZERO_HEADERS: tuple[int, ...] = (0,) * _NH

# Slot indices relative to the start of the header region.
_ETH_SRC = L.ETH_SRC - L.N_MD
_ETH_DST = L.ETH_DST - L.N_MD
_VLAN_TPID = L.VLAN_TPID - L.N_MD
_VLAN_TCI = L.VLAN_TCI - L.N_MD
_ETH_TYPE = L.ETH_TYPE - L.N_MD
_NW_SRC = L.NW_SRC - L.N_MD
_NW_DST = L.NW_DST - L.N_MD
_IPV6_SRC = L.IPV6_SRC - L.N_MD
_IPV6_DST = L.IPV6_DST - L.N_MD
_IPV6_LABEL = L.IPV6_LABEL - L.N_MD
_NW_PROTO = L.NW_PROTO - L.N_MD
_NW_TOS = L.NW_TOS - L.N_MD
_NW_TTL = L.NW_TTL - L.N_MD
_NW_FRAG = L.NW_FRAG - L.N_MD
_ARP_SHA = L.ARP_SHA - L.N_MD
_ARP_THA = L.ARP_THA - L.N_MD
_ND_TARGET = L.ND_TARGET - L.N_MD
_TP_SRC = L.TP_SRC - L.N_MD
_TP_DST = L.TP_DST - L.N_MD
_TCP_FLAGS = L.TCP_FLAGS - L.N_MD
_VLAN_STEP = L.VLAN2_TPID - L.VLAN_TPID

# The fast path assumes this exact order; fail at import if the layout ever changes.
if (_ETH_SRC, _ETH_DST, _VLAN_TPID, _ETH_TYPE, _NW_SRC, _NW_PROTO, _TP_SRC, _NH) != (
    0, 1, 2, 6, 7, 12, 19, 22
):
    raise ImportError("flow.extract: the fast path does not match flow.layout")

_IPPROTO_IGMP = 2
_ND_NEIGHBOR_SOLICIT = 135
_ND_NEIGHBOR_ADVERT = 136
_ND_OPT_SOURCE_LINKADDR = 1
_ND_OPT_TARGET_LINKADDR = 2

# Ethernet (MACs as 16+32 bits) + IPv4 without options + the first 4 bytes of L4: 38 bytes.
_FAST = struct.Struct("!HIHIHBBH2xHBB2xIIHH")
# IPv6 fixed header + the first 4 bytes of L4, read at offset 14: 44 bytes.
_FAST6 = struct.Struct("!IHBBQQQQHH")
_ETH = struct.Struct("!HIHIH")
_U16 = struct.Struct("!H")
_U16X2 = struct.Struct("!HH")
_MAC = struct.Struct("!HI")
_IP4 = struct.Struct("!BBH2xHBB2xII")
_IP6 = struct.Struct("!IHBBQQQQ")
_ARP = struct.Struct("!HHBBHHIIHII")
_TCP = struct.Struct("!HH8xH")
_U64X2 = struct.Struct("!QQ")

_vlan_limit = _hdr.vlan_limit_cell()
_inc = coverage.inc


def extract_headers(data: Buffer) -> tuple[int, ...]:
    """The header slots ``[N_MD, N_DP)`` of a flow, in layout order, from an Ethernet frame."""
    n = len(data)
    if n >= 38:
        (dh, dl, sh, sl, eth_type, vihl, tos, tot_len, frag_word, ttl, proto,
         nw_src, nw_dst, tp_src, tp_dst) = _FAST.unpack_from(data)
        if eth_type == 0x0800:
            # No options, not a fragment, total length within the frame.
            if (vihl == 0x45 and not frag_word & 0x3FFF
                    and 20 <= tot_len <= n - 14 <= tot_len + 0xFFFF):
                if proto == 17:
                    if tot_len >= 28:
                        return (sh << 32 | sl, dh << 32 | dl, 0, 0, 0, 0, 0x0800, nw_src, nw_dst,
                                0, 0, 0, 17, tos, ttl, 0, 0, 0, 0, tp_src, tp_dst, 0)
                elif proto == 6 and tot_len >= 40:
                    word = _U16.unpack_from(data, 46)[0]
                    if 20 <= (word >> 10) & 0x3C <= tot_len - 20:  # data offset * 4 within L4
                        return (sh << 32 | sl, dh << 32 | dl, 0, 0, 0, 0, 0x0800, nw_src, nw_dst,
                                0, 0, 0, 6, tos, ttl, 0, 0, 0, 0, tp_src, tp_dst, word & 0x0FFF)
        elif eth_type == 0x86DD and n >= 58:
            # No extension headers, payload length within the frame.
            vtcfl, plen, nxt, ttl, s_hi, s_lo, d_hi, d_lo, tp_src, tp_dst = _FAST6.unpack_from(
                data, 14)
            if plen + 54 <= n <= plen + 54 + 0xFFFF:
                if nxt == 17:
                    if plen >= 8:
                        return (sh << 32 | sl, dh << 32 | dl, 0, 0, 0, 0, 0x86DD, 0, 0,
                                s_hi << 64 | s_lo, d_hi << 64 | d_lo, vtcfl & 0xFFFFF, 17,
                                (vtcfl >> 20) & 0xFF, ttl, 0, 0, 0, 0, tp_src, tp_dst, 0)
                elif nxt == 6 and plen >= 20:
                    word = _U16.unpack_from(data, 66)[0]
                    if 20 <= (word >> 10) & 0x3C <= plen:
                        return (sh << 32 | sl, dh << 32 | dl, 0, 0, 0, 0, 0x86DD, 0, 0,
                                s_hi << 64 | s_lo, d_hi << 64 | d_lo, vtcfl & 0xFFFFF, 6,
                                (vtcfl >> 20) & 0xFF, ttl, 0, 0, 0, 0, tp_src, tp_dst,
                                word & 0x0FFF)
        elif eth_type == 0x0806 and n >= 42:
            hrd, pro, hln, pln, op, sha_h, sha_l, spa, tha_h, tha_l, tpa = _ARP.unpack_from(
                data, 14)
            if hrd == 1 and pro == 0x0800 and hln == 6 and pln == 4:
                return (sh << 32 | sl, dh << 32 | dl, 0, 0, 0, 0, 0x0806, spa, tpa, 0, 0, 0,
                        op if op <= 0xFF else 0, 0, 0, 0, sha_h << 32 | sha_l,
                        tha_h << 32 | tha_l, 0, 0, 0, 0)
    return _extract_general(data)


def flow_extract(data: Buffer, md: tuple[int, ...] = DEFAULT_MD) -> tuple[int, ...]:
    """The datapath key of a packet: its metadata ``md`` followed by its header slots."""
    return md + extract_headers(data)


def _extract_general(data: Buffer) -> tuple[int, ...]:
    """Every frame the fast path declines: VLANs, 802.3, ARP, IPv6, options, damage."""
    n = len(data)
    if n < 14:
        _inc("flow_extract_eth_short")
        return _ZERO_HEADERS
    f = [0] * _NH
    dh, dl, sh, sl, eth_type = _ETH.unpack_from(data)
    f[_ETH_DST] = dh << 32 | dl
    f[_ETH_SRC] = sh << 32 | sl

    ofs = 12  # at the type (or TPID) field
    if eth_type == 0x8100 or eth_type == 0x88A8:
        limit = _vlan_limit[0]
        slot = _VLAN_TPID
        while (eth_type == 0x8100 or eth_type == 0x88A8) and slot < _VLAN_TPID + limit * 2:
            if n - ofs < 6:
                _inc("flow_extract_vlan_short")
                break
            tci, next_type = _U16X2.unpack_from(data, ofs + 2)
            f[slot] = eth_type
            f[slot + 1] = tci | 0x1000
            slot += _VLAN_STEP
            ofs += 4
            eth_type = next_type
    ofs += 2
    if eth_type < 0x0600:
        eth_type, ofs = _hdr.llc_snap_type(data, ofs)
    f[_ETH_TYPE] = eth_type

    if eth_type == 0x0800:
        size = n - ofs
        if size < 20:
            _inc("flow_extract_ipv4_too_short")
            return tuple(f)
        vihl, tos, tot_len, frag_word, ttl, proto, nw_src, nw_dst = _IP4.unpack_from(data, ofs)
        ihl = (vihl & 0x0F) << 2
        if ihl < 20 or size < ihl or tot_len > size or ihl > tot_len or size - tot_len > 0xFFFF:
            _inc("flow_extract_ipv4_len_error")
            return tuple(f)
        frag = 0
        if frag_word & 0x3FFF:
            frag = 3 if frag_word & 0x1FFF else 1
        f[_NW_SRC] = nw_src
        f[_NW_DST] = nw_dst
        end = ofs + tot_len
        ofs += ihl
    elif eth_type == 0x86DD:
        size = n - ofs
        if size < 40:
            _inc("flow_extract_ipv6_too_short")
            return tuple(f)
        vtcfl, plen, nxt, ttl, sh, sl, dh, dl = _IP6.unpack_from(data, ofs)
        if plen + 40 > size or size - plen - 40 > 0xFFFF:
            _inc("flow_extract_ipv6_len_error")
            return tuple(f)
        f[_IPV6_SRC] = sh << 64 | sl
        f[_IPV6_DST] = dh << 64 | dl
        end = ofs + 40 + plen
        ofs, proto, frag = _hdr.ipv6_ext_hdrs(data, ofs + 40, end, nxt)
        if ofs < 0:
            _inc("flow_extract_ipv6_ext_bad")
            return tuple(f)
        f[_IPV6_LABEL] = vtcfl & 0xFFFFF
        tos = (vtcfl >> 20) & 0xFF
    else:
        if eth_type == 0x0806 or eth_type == 0x8035:
            _extract_arp(f, data, ofs)
        return tuple(f)

    f[_NW_PROTO] = proto
    f[_NW_TOS] = tos
    f[_NW_TTL] = ttl
    f[_NW_FRAG] = frag
    if not frag & 2:
        _extract_l4(f, data, ofs, end - ofs, proto)
    return tuple(f)


def _extract_arp(f: list[int], data: Buffer, ofs: int) -> None:
    """ARP/RARP fields, only for Ethernet/IPv4 ARP, as OVS."""
    if len(data) - ofs < 28:
        _inc("flow_extract_arp_short")
        return
    hrd, pro, hln, pln, op, sha_h, sha_l, spa, tha_h, tha_l, tpa = _ARP.unpack_from(data, ofs)
    if hrd != 1 or pro != 0x0800 or hln != 6 or pln != 4:
        _inc("flow_extract_arp_bad")
        return
    f[_NW_SRC] = spa
    f[_NW_DST] = tpa
    if op <= 0xFF:
        f[_NW_PROTO] = op
    f[_ARP_SHA] = sha_h << 32 | sha_l
    f[_ARP_THA] = tha_h << 32 | tha_l


def _extract_l4(f: list[int], data: Buffer, ofs: int, size: int, proto: int) -> None:
    """Transport fields from ``size`` bytes at ``ofs`` (IP padding already excluded)."""
    if proto == 6:
        if size >= 20:
            tp_src, tp_dst, word = _TCP.unpack_from(data, ofs)
            if 20 <= (word >> 10) & 0x3C <= size:
                f[_TP_SRC] = tp_src
                f[_TP_DST] = tp_dst
                f[_TCP_FLAGS] = word & 0x0FFF
                return
            _inc("flow_extract_tcp_bad_offset")
            return
        _inc("flow_extract_tcp_short")
    elif proto == 17:
        if size >= 8:
            f[_TP_SRC], f[_TP_DST] = _U16X2.unpack_from(data, ofs)
            return
        _inc("flow_extract_udp_short")
    elif proto == 132:
        if size >= 12:
            f[_TP_SRC], f[_TP_DST] = _U16X2.unpack_from(data, ofs)
            return
        _inc("flow_extract_sctp_short")
    elif proto == 1 or proto == _IPPROTO_IGMP:
        if size >= 8:
            f[_TP_SRC] = data[ofs]
            f[_TP_DST] = data[ofs + 1]
            return
        _inc("flow_extract_icmp_short" if proto == 1 else "flow_extract_igmp_short")
    elif proto == 58:
        if size >= 8:
            icmp_type = f[_TP_SRC] = data[ofs]
            icmp_code = f[_TP_DST] = data[ofs + 1]
            if icmp_code == 0 and (
                icmp_type == _ND_NEIGHBOR_SOLICIT or icmp_type == _ND_NEIGHBOR_ADVERT
            ):
                _extract_nd(f, data, ofs + 8, size - 8)
            return
        _inc("flow_extract_icmpv6_short")


def _extract_nd(f: list[int], data: Buffer, ofs: int, size: int) -> None:
    """Neighbour discovery: target address and the Ethernet link-layer address options.

    As OVS: options are read while 8 bytes remain; a zero-length or overlong option ends
    the walk keeping what was found; a second SLL (or TLL) option makes the packet
    invalid, which zeroes the target and both addresses but keeps the option type.
    """
    if size < 16:
        _inc("flow_extract_nd_short")
        return
    hi, lo = _U64X2.unpack_from(data, ofs)
    target = hi << 64 | lo
    ofs += 16
    size -= 16
    sll = tll = opt_type = 0
    while size >= 8:
        otype = data[ofs]
        olen = data[ofs + 1] * 8
        if not olen or olen > size:
            _inc("flow_extract_nd_opt_bad")
            break
        if olen == 8 and (otype == _ND_OPT_SOURCE_LINKADDR or otype == _ND_OPT_TARGET_LINKADDR):
            hi, lo = _MAC.unpack_from(data, ofs + 2)
            if otype == _ND_OPT_SOURCE_LINKADDR:
                if sll:
                    target = sll = tll = 0
                    _inc("flow_extract_nd_dup_opt")
                    break
                sll = hi << 32 | lo
            else:
                if tll:
                    target = sll = tll = 0
                    _inc("flow_extract_nd_dup_opt")
                    break
                tll = hi << 32 | lo
            if not opt_type:
                opt_type = otype
        ofs += olen
        size -= olen
    f[_ND_TARGET] = target
    f[_ARP_SHA] = sll
    f[_ARP_THA] = tll
    f[_TCP_FLAGS] = opt_type
