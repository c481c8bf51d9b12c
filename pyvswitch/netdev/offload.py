"""Offload metadata of a frame (the virtio-net header) and the software fallbacks.

Layer: netdev (imports only the standard library, ``pyvswitch.coverage``).

Linux hands frames from veths and taps to us "unfinished" when offloads are on: the
L4 checksum is left for the receiver to complete (``NEEDS_CSUM``: sum the bytes from
``csum_start`` and store the result at ``csum_start + csum_offset``; the field already
holds the pseudo-header sum), and a TCP stream may arrive as one 64 KB "GSO" frame to
be cut into ``gso_size`` segments.  With ``PACKET_VNET_HDR`` (AF_PACKET) or
``IFF_VNET_HDR`` (tap) every frame comes with a 10-byte header that says so; we parse it
into a :class:`VnetHdr` (or ``None`` when the frame is complete and plain, the common
case), carry it beside the frame through the switch, and give it back to a device that
takes the same header, so the receiving kernel finishes the work.

A port that cannot take the header (dummy, pcap) finishes the frame in software first:
:func:`finish_offload` computes the checksum and segments GSO frames.

For users of received frames: ``DATA_VALID`` means the kernel verified the L4 checksum;
a ``NEEDS_CSUM`` frame's checksum field is not yet valid but the data is known good (it
came from the local stack), so conntrack may treat both as checksum-good.  A change in
header length before ``csum_start`` (VLAN push/pop) must be applied with
:func:`shift_offload`.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from pyvswitch import coverage

__all__ = [
    "F_DATA_VALID",
    "F_NEEDS_CSUM",
    "GSO_ECN",
    "GSO_NONE",
    "GSO_TCPV4",
    "GSO_TCPV6",
    "GSO_UDP",
    "GSO_UDP_L4",
    "VNET_HDR",
    "VNET_HDR_LEN",
    "VnetHdr",
    "csum_fold",
    "finish_offload",
    "internet_checksum",
    "ones_sum",
    "pack_vnet_hdr",
    "parse_vnet_hdr",
    "shift_offload",
]

F_NEEDS_CSUM = 1
F_DATA_VALID = 2
GSO_NONE = 0
GSO_TCPV4 = 1
GSO_UDP = 3
GSO_TCPV6 = 4
GSO_UDP_L4 = 5
GSO_ECN = 0x80

#: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset; the kernel writes it in
#: host byte order for AF_PACKET and for a tap in its default ("legacy") mode.
VNET_HDR = struct.Struct("=BBHHHH")
VNET_HDR_LEN = VNET_HDR.size
ZERO_VNET_HDR = bytes(VNET_HDR_LEN)

_ETH_VLAN = (0x8100, 0x88A8, 0x9100)


class VnetHdr(NamedTuple):
    flags: int
    gso_type: int
    hdr_len: int
    gso_size: int
    csum_start: int
    csum_offset: int

    def pack(self) -> bytes:
        """The header to send: ``DATA_VALID`` is receive-only, so it is not echoed."""
        return VNET_HDR.pack(
            self.flags & F_NEEDS_CSUM,
            self.gso_type,
            self.hdr_len,
            self.gso_size,
            self.csum_start,
            self.csum_offset,
        )

    @property
    def needs_csum(self) -> bool:
        return bool(self.flags & F_NEEDS_CSUM)

    @property
    def is_gso(self) -> bool:
        return (self.gso_type & ~GSO_ECN) != GSO_NONE


_packed: dict[VnetHdr, bytes] = {}


def pack_vnet_hdr(info: VnetHdr) -> bytes:
    """``info.pack()``, remembered: the frames of a flow carry the same header, and the
    transmit path asks for it once per frame."""
    raw = _packed.get(info)
    if raw is None:
        if len(_packed) >= 4096:
            _packed.clear()
        raw = _packed[info] = info.pack()
    return raw


def parse_vnet_hdr(buf: bytes | bytearray | memoryview) -> VnetHdr | None:
    """The header at the start of ``buf``; ``None`` when it says nothing (plain frame).

    A header with only ``DATA_VALID`` is kept: it tells conntrack the checksum is good.
    """
    if not buf[0] and not buf[1]:
        return None
    return VnetHdr._make(VNET_HDR.unpack_from(buf, 0))


def shift_offload(info: VnetHdr | None, delta: int) -> VnetHdr | None:
    """Offload info after ``delta`` bytes were inserted (or removed, if negative) in
    front of the L3 header, e.g. by a VLAN push or pop."""
    if info is None or not (info.needs_csum or info.is_gso):
        return info
    return info._replace(
        csum_start=info.csum_start + delta,
        hdr_len=info.hdr_len + delta if info.hdr_len else 0,
    )


# ------------------------------------------------------------ checksums


def ones_sum(data: bytes | bytearray | memoryview, start: int = 0, end: int | None = None) -> int:
    """16-bit one's complement sum of ``data[start:end]`` (folded, not inverted).

    Summing 16-bit words with end-around carry is the same as taking the whole run as
    one big-endian integer modulo 0xffff, which Python's C code does fast.
    """
    chunk = bytes(data[start:end])
    if len(chunk) & 1:
        chunk += b"\0"
    if not chunk:
        return 0
    n = int.from_bytes(chunk, "big")
    s = n % 0xFFFF
    return 0xFFFF if s == 0 and n else s


def csum_fold(total: int) -> int:
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def internet_checksum(data: bytes | bytearray | memoryview, seed: int = 0) -> int:
    """The finished (inverted) checksum of ``data`` plus a partial sum ``seed``."""
    return ~csum_fold(ones_sum(data) + seed) & 0xFFFF


def _pseudo_sum(pkt: bytearray, l3: int, is_v6: bool, proto: int, l4_len: int) -> int:
    if is_v6:
        addrs = ones_sum(pkt, l3 + 8, l3 + 40)
    else:
        addrs = ones_sum(pkt, l3 + 12, l3 + 20)
    return csum_fold(addrs + proto + (l4_len & 0xFFFF) + (l4_len >> 16))


def _finish_csum(pkt: bytearray, start: int, offset: int) -> None:
    """``skb_checksum_help``: sum from ``start`` (the field holds the pseudo sum)."""
    at = start + offset
    if at + 2 > len(pkt) or start >= len(pkt):
        coverage.inc("netdev_csum_bad_offsets")
        return
    value = ~ones_sum(pkt, start) & 0xFFFF
    struct.pack_into("!H", pkt, at, value or 0xFFFF)


# ---------------------------------------------------------- segmentation


def _l3_offset(pkt: bytearray) -> tuple[int, int]:
    ofs = 12
    eth_type = int.from_bytes(pkt[ofs : ofs + 2], "big")
    while eth_type in _ETH_VLAN and ofs + 6 <= len(pkt):
        ofs += 4
        eth_type = int.from_bytes(pkt[ofs : ofs + 2], "big")
    return ofs + 2, eth_type


def _segment(pkt: bytearray, info: VnetHdr) -> list[bytearray]:
    """Cut a TCP (TSO) or UDP (USO) GSO frame into wire-sized frames with full
    checksums, as the kernel's software GSO would."""
    gso = info.gso_type & ~GSO_ECN
    l3, eth_type = _l3_offset(pkt)
    is_v6 = eth_type == 0x86DD
    l4 = info.csum_start
    if (eth_type not in (0x0800, 0x86DD)) or l4 <= l3 or l4 + 8 > len(pkt) or info.gso_size == 0:
        coverage.inc("netdev_gso_bad_frame")
        return []
    if gso in (GSO_TCPV4, GSO_TCPV6):
        proto, l4_hlen = 6, (pkt[l4 + 12] >> 4) * 4
        if l4_hlen < 20 or l4 + l4_hlen > len(pkt):
            coverage.inc("netdev_gso_bad_frame")
            return []
        seq = int.from_bytes(pkt[l4 + 4 : l4 + 8], "big")
    elif gso == GSO_UDP_L4:
        proto, l4_hlen, seq = 17, 8, 0
    else:
        coverage.inc("netdev_gso_unsupported")
        return []
    hdrs = pkt[: l4 + l4_hlen]
    payload = memoryview(pkt)[l4 + l4_hlen :]
    mss = info.gso_size
    n_segs = max(1, -(-len(payload) // mss))
    ip_id = 0 if is_v6 else int.from_bytes(pkt[l3 + 4 : l3 + 6], "big")
    tcp_flags = pkt[l4 + 13] if proto == 6 else 0
    out = []
    for i in range(n_segs):
        chunk = payload[i * mss : (i + 1) * mss]
        seg = bytearray(hdrs)
        seg += chunk
        l4_len = l4_hlen + len(chunk)
        if is_v6:
            struct.pack_into("!H", seg, l3 + 4, l4 - (l3 + 40) + l4_len)
        else:
            struct.pack_into("!HH", seg, l3 + 2, l4 - l3 + l4_len, (ip_id + i) & 0xFFFF)
            struct.pack_into("!H", seg, l3 + 10, 0)
            ihl = (seg[l3] & 0x0F) * 4
            struct.pack_into("!H", seg, l3 + 10, internet_checksum(seg[l3 : l3 + ihl]))
        if proto == 6:
            struct.pack_into("!I", seg, l4 + 4, (seq + i * mss) & 0xFFFFFFFF)
            flags = tcp_flags
            if i != n_segs - 1:
                flags &= ~0x09  # FIN and PSH only on the last segment
            if i != 0:
                flags &= ~0x80  # CWR only on the first
            seg[l4 + 13] = flags
            csum_at = l4 + 16
        else:
            struct.pack_into("!H", seg, l4 + 4, l4_len)
            csum_at = l4 + 6
        struct.pack_into("!H", seg, csum_at, 0)
        value = internet_checksum(seg[l4:], _pseudo_sum(seg, l3, is_v6, proto, l4_len))
        if proto == 17 and value == 0:
            value = 0xFFFF
        struct.pack_into("!H", seg, csum_at, value)
        out.append(seg)
    coverage.inc("netdev_soft_gso_frames")
    coverage.inc("netdev_soft_gso_segments", len(out))
    return out


def finish_offload(pkt: bytearray, info: VnetHdr | None) -> list[bytearray]:
    """The wire frames for a frame with offload info: itself with its checksum
    completed, or its GSO segments.  Never raises; a malformed frame yields ``[]``."""
    if info is None:
        return [pkt]
    if info.is_gso:
        return _segment(pkt, info)
    if info.needs_csum:
        _finish_csum(pkt, info.csum_start, info.csum_offset)
        coverage.inc("netdev_soft_csum")
    return [pkt]
