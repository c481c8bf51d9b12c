"""Byte-level header rewrites with checksum maintenance (the datapath's ``set``/push/pop).

Every function works in place on a ``bytearray`` frame and is told where the headers are
(offsets from :mod:`pyvswitch.packet.headers`, found once by the caller).  Checksums are
updated incrementally (RFC 1624), the way OVS's ``packet_set_*`` functions do, so a
frame whose checksum was wrong stays wrong by the same amount rather than being silently
"fixed": the receiver must reach the verdict it would have reached without us.

* IPv4 address changes update the header checksum and the TCP/UDP checksum (the
  pseudo-header); a UDP checksum of 0 ("none") stays 0 and a result of 0 becomes 0xffff.
* IPv6 address changes update the TCP, UDP and ICMPv6 checksums.
* SCTP port changes recompute the CRC32c, carrying over any error the old one had.
* Later IP fragments carry no L4 header, so no L4 checksum is touched for them.
* A frame whose L4 checksum is left to the device (``partial``: the field holds the
  folded pseudo-header sum, to be completed over the segment on transmit) gets the
  pseudo-header update only, in that positive form, and nothing for port changes.

Functions return False (and change nothing) when the frame is too short for the field.

Layer: packet.  Imports: packet.checksum, packet.headers.
"""

from __future__ import annotations

import struct

from pyvswitch.packet.checksum import (
    crc32c,
    csum_replace16,
    csum_replace32,
    csum_replace128,
    csum_replace_bytes,
)
from pyvswitch.packet.headers import l3_end, l3_offset, l4_offset

ETH_TYPE_IP = 0x0800
ETH_TYPE_IPV6 = 0x86DD
VLAN_CFI = 0x1000
_VLAN_TPIDS = (0x8100, 0x88A8)
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
IPPROTO_SCTP = 132
FRAG_LATER = 2

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_U16X2 = struct.Struct("!HH")


def _get16(b: bytearray, ofs: int) -> int:
    return b[ofs] << 8 | b[ofs + 1]


def _put16(b: bytearray, ofs: int, v: int) -> None:
    b[ofs] = v >> 8 & 0xFF
    b[ofs + 1] = v & 0xFF


def offsets(pkt: bytearray) -> tuple[int, int, int, int, int]:
    """``(l3, eth_type, l4, proto, frag)`` of a frame; -1 offsets for missing headers."""
    l3, eth_type = l3_offset(pkt)
    if l3 < 0:
        return -1, 0, -1, 0, 0
    l4, proto, frag = l4_offset(pkt, l3, eth_type)
    return l3, eth_type, l4, proto, frag


# ------------------------------------------------------------------------- Ethernet
def set_eth_src(pkt: bytearray, mac: int) -> bool:
    if len(pkt) < 14:
        return False
    pkt[6:12] = mac.to_bytes(6, "big")
    return True


def set_eth_dst(pkt: bytearray, mac: int) -> bool:
    if len(pkt) < 14:
        return False
    pkt[0:6] = mac.to_bytes(6, "big")
    return True


def push_vlan(pkt: bytearray, tpid: int, tci: int) -> bool:
    """Insert a tag after the MACs.  ``tci``'s 0x1000 bit is OVS's "tag present" marker
    and is not written to the wire (it would be the DEI bit)."""
    if len(pkt) < 14:
        return False
    pkt[12:12] = _U16X2.pack(tpid, tci & ~VLAN_CFI & 0xFFFF)
    return True


def pop_vlan(pkt: bytearray) -> bool:
    """Remove the outermost 802.1Q/802.1ad tag, if the frame has one."""
    if len(pkt) < 18 or _get16(pkt, 12) not in _VLAN_TPIDS:
        return False
    del pkt[12:16]
    return True


# ------------------------------------------------------------------------------ IPv4
def _l4_csum_ofs(pkt: bytearray, l3: int, l4: int, proto: int, frag: int, eth_type: int) -> int:
    """Offset of the TCP/UDP(/ICMPv6) checksum covering the pseudo-header, or -1."""
    if l4 < 0 or frag & FRAG_LATER:
        return -1
    end = l3_end(pkt, l3, eth_type)
    size = (end if end >= 0 else len(pkt)) - l4
    if proto == IPPROTO_TCP and size >= 20:
        return l4 + 16
    if proto == IPPROTO_UDP and size >= 8:
        return l4 + 6
    if proto == IPPROTO_ICMPV6 and eth_type == ETH_TYPE_IPV6 and size >= 4:
        return l4 + 2
    return -1


def _update_l4_csum(pkt: bytearray, ofs: int, proto: int, fn, old: int, new: int,
                    partial: bool = False) -> None:
    if ofs < 0:
        return
    c = _get16(pkt, ofs)
    if partial:
        # The field is a plain (not inverted) sum: update it as the inverse of a checksum.
        _put16(pkt, ofs, ~fn(~c & 0xFFFF, old, new) & 0xFFFF)
        return
    if proto == IPPROTO_UDP:
        if not c:
            return  # UDP without a checksum stays without
        c = fn(c, old, new) or 0xFFFF
    else:
        c = fn(c, old, new)
    _put16(pkt, ofs, c)


def set_ipv4_addr(
    pkt: bytearray, l3: int, l4: int, proto: int, frag: int, new: int, dst: bool,
    partial: bool = False,
) -> bool:
    """Set the IPv4 source (``dst`` False) or destination address."""
    ofs = l3 + (16 if dst else 12)
    if l3 < 0 or len(pkt) < l3 + 20:
        return False
    old = _U32.unpack_from(pkt, ofs)[0]
    if old == new:
        return True
    csum_ofs = _l4_csum_ofs(pkt, l3, l4, proto, frag, ETH_TYPE_IP)
    _update_l4_csum(pkt, csum_ofs, proto, csum_replace32, old, new, partial)
    _put16(pkt, l3 + 10, csum_replace32(_get16(pkt, l3 + 10), old, new))
    _U32.pack_into(pkt, ofs, new)
    return True


def set_ipv4_tos(pkt: bytearray, l3: int, tos: int) -> bool:
    if l3 < 0 or len(pkt) < l3 + 20:
        return False
    old = _get16(pkt, l3)
    new = (old & 0xFF00) | (tos & 0xFF)
    _put16(pkt, l3 + 10, csum_replace16(_get16(pkt, l3 + 10), old, new))
    pkt[l3 + 1] = tos & 0xFF
    return True


def set_ipv4_ttl(pkt: bytearray, l3: int, ttl: int) -> bool:
    if l3 < 0 or len(pkt) < l3 + 20:
        return False
    old = _get16(pkt, l3 + 8)
    new = (ttl & 0xFF) << 8 | (old & 0xFF)
    _put16(pkt, l3 + 10, csum_replace16(_get16(pkt, l3 + 10), old, new))
    pkt[l3 + 8] = ttl & 0xFF
    return True


# ------------------------------------------------------------------------------ IPv6
def set_ipv6_addr(
    pkt: bytearray, l3: int, l4: int, proto: int, frag: int, new: int, dst: bool,
    partial: bool = False,
) -> bool:
    ofs = l3 + (24 if dst else 8)
    if l3 < 0 or len(pkt) < l3 + 40:
        return False
    old = int.from_bytes(pkt[ofs : ofs + 16], "big")
    if old == new:
        return True
    csum_ofs = _l4_csum_ofs(pkt, l3, l4, proto, frag, ETH_TYPE_IPV6)
    _update_l4_csum(pkt, csum_ofs, proto, csum_replace128, old, new, partial)
    pkt[ofs : ofs + 16] = new.to_bytes(16, "big")
    return True


def set_ipv6_tc(pkt: bytearray, l3: int, tc: int) -> bool:
    if l3 < 0 or len(pkt) < l3 + 40:
        return False
    word = _U32.unpack_from(pkt, l3)[0]
    _U32.pack_into(pkt, l3, (word & 0xF00FFFFF) | (tc & 0xFF) << 20)
    return True


def set_ipv6_label(pkt: bytearray, l3: int, label: int) -> bool:
    if l3 < 0 or len(pkt) < l3 + 40:
        return False
    word = _U32.unpack_from(pkt, l3)[0]
    _U32.pack_into(pkt, l3, (word & 0xFFF00000) | (label & 0xFFFFF))
    return True


def set_ipv6_hlimit(pkt: bytearray, l3: int, hlimit: int) -> bool:
    if l3 < 0 or len(pkt) < l3 + 40:
        return False
    pkt[l3 + 7] = hlimit & 0xFF
    return True


# -------------------------------------------------------------------------------- L4
def set_tp_port(pkt: bytearray, l4: int, proto: int, port: int, dst: bool,
                partial: bool = False) -> bool:
    """Set a TCP, UDP or SCTP source (``dst`` False) or destination port."""
    ofs = l4 + (2 if dst else 0)
    if l4 < 0:
        return False
    if proto == IPPROTO_TCP:
        if len(pkt) < l4 + 20:
            return False
        old = _get16(pkt, ofs)
        if not partial:
            _put16(pkt, l4 + 16, csum_replace16(_get16(pkt, l4 + 16), old, port))
    elif proto == IPPROTO_UDP:
        if len(pkt) < l4 + 8:
            return False
        old = _get16(pkt, ofs)
        if not partial:
            _update_l4_csum(pkt, l4 + 6, IPPROTO_UDP, csum_replace16, old, port)
    elif proto == IPPROTO_SCTP:
        if len(pkt) < l4 + 12:
            return False
        return _set_sctp_port(pkt, l4, ofs, port)
    else:
        return False
    _put16(pkt, ofs, port)
    return True


def _sctp_end(pkt: bytearray, l4: int) -> int:
    l3, eth_type = l3_offset(pkt)
    end = l3_end(pkt, l3, eth_type) if l3 >= 0 else -1
    return end if end > l4 else len(pkt)


def _set_sctp_port(pkt: bytearray, l4: int, ofs: int, port: int) -> bool:
    # Recompute the CRC over the new bytes, then fold in whatever error the old CRC
    # had (old ^ correct_old), as OVS does, so a damaged packet stays damaged.
    end = _sctp_end(pkt, l4)
    old_field = _U32.unpack_from(pkt, l4 + 8)[0]
    _U32.pack_into(pkt, l4 + 8, 0)
    old_correct = _crc_field(pkt[l4:end])
    _put16(pkt, ofs, port)
    new_correct = _crc_field(pkt[l4:end])
    _U32.pack_into(pkt, l4 + 8, old_field ^ old_correct ^ new_correct)
    return True


def _crc_field(data: bytes | bytearray) -> int:
    return int.from_bytes(crc32c(data).to_bytes(4, "little"), "big")


def set_icmp(pkt: bytearray, l4: int, icmp_type: int | None, code: int | None) -> bool:
    """Set ICMP or ICMPv6 type and/or code (the checksum covers that word)."""
    if l4 < 0 or len(pkt) < l4 + 4:
        return False
    old = _get16(pkt, l4)
    new = ((old >> 8 if icmp_type is None else icmp_type & 0xFF) << 8) | (
        old & 0xFF if code is None else code & 0xFF)
    _put16(pkt, l4 + 2, csum_replace16(_get16(pkt, l4 + 2), old, new))
    _put16(pkt, l4, new)
    return True


# ------------------------------------------------------------------------- ARP / ND
def set_arp(
    pkt: bytearray,
    l3: int,
    op: int | None = None,
    sha: int | None = None,
    spa: int | None = None,
    tha: int | None = None,
    tpa: int | None = None,
) -> bool:
    """Set fields of an Ethernet/IPv4 ARP header (no checksum involved)."""
    if l3 < 0 or len(pkt) < l3 + 28:
        return False
    if op is not None:
        _put16(pkt, l3 + 6, op)
    if sha is not None:
        pkt[l3 + 8 : l3 + 14] = sha.to_bytes(6, "big")
    if spa is not None:
        _U32.pack_into(pkt, l3 + 14, spa)
    if tha is not None:
        pkt[l3 + 18 : l3 + 24] = tha.to_bytes(6, "big")
    if tpa is not None:
        _U32.pack_into(pkt, l3 + 24, tpa)
    return True


def set_nd(
    pkt: bytearray,
    l4: int,
    target: int | None = None,
    sll: int | None = None,
    tll: int | None = None,
) -> bool:
    """Set an ND message's target and its source/target link-layer address options.

    A link-layer option that the message does not carry is not added (as OVS)."""
    if l4 < 0 or len(pkt) < l4 + 24:
        return False
    csum_ofs = l4 + 2
    if target is not None:
        old = pkt[l4 + 8 : l4 + 24]
        new = target.to_bytes(16, "big")
        _put16(pkt, csum_ofs, csum_replace_bytes(_get16(pkt, csum_ofs), old, new))
        pkt[l4 + 8 : l4 + 24] = new
    ofs = l4 + 24
    end = len(pkt)
    while ofs + 8 <= end:
        opt_type, opt_len = pkt[ofs], pkt[ofs + 1]
        if not opt_len or ofs + opt_len * 8 > end:
            break
        mac = sll if opt_type == 1 else tll if opt_type == 2 else None
        if mac is not None and opt_len == 1:
            old = pkt[ofs + 2 : ofs + 8]
            new = mac.to_bytes(6, "big")
            _put16(pkt, csum_ofs, csum_replace_bytes(_get16(pkt, csum_ofs), old, new))
            pkt[ofs + 2 : ofs + 8] = new
        ofs += opt_len * 8
    return True
