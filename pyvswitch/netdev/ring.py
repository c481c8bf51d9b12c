"""PACKET_MMAP rings of a ``system`` port: frames shared with the kernel, no copy syscalls.

Layer: netdev (imports ``netdev.offload``, ``netdev.provider``, ``pyvswitch.coverage``;
no sockets: the port owns the socket and hands these classes the mapped memory).

* :class:`RxRingV2` — the TPACKET_V2 receive ring: one slot per frame, each with its own
  status word; a frame is ours from the moment the kernel flips its status, so reading
  adds no latency.  A frame too big for a slot (64 KB GSO, jumbo) is also queued whole
  on the socket (``PACKET_COPY_THRESH``) and its slot says so; the port reads it from
  there, in ring order.
  The kernel does not always keep its side of that order: under a flood that fills the
  ring, a slot it has written can stay marked as the kernel's for good while it goes on
  handing over the slots after it (seen on Linux 6.18 with ``PACKET_VNET_HDR`` on two
  busy CPUs; an in-order reader then waits on that slot forever while the kernel drops
  everything because the rest of the ring is full).  A slot that is still not ours
  :data:`STUCK_SKIP_AFTER` after the kernel handed over the next one is therefore
  skipped (``netdev_rx_ring_skipped``, one frame counted as dropped); a writer still
  copying a frame into its slot takes microseconds, not milliseconds.
* :class:`RxRingV3` — the TPACKET_V3 receive ring: the kernel packs frames back to back
  into blocks and hands over a whole block at once, when it is full or when its retire
  timer expires.  Fewer status words to flip, but a frame waits in an open block until
  then: at low rates every frame pays the timer (milliseconds), which is why V2 is the
  default and V3 an option (``options:rx_ring=v3``).
* :class:`TxRing` — the TPACKET_V2 transmit ring: frames are written into free slots and
  marked; one ``send()`` on the socket then transmits every marked slot, so a batch
  costs one system call instead of one per frame.

With ``PACKET_VNET_HDR`` every frame in a ring is preceded by its 10-byte virtio-net
header (in a receive slot just before the frame, in a transmit slot at the start of the
data, counted in its length).  A VLAN tag the kernel accelerated into packet metadata is
put back into the frame, so the switch sees it as it was on the wire.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from pyvswitch import coverage
from pyvswitch.netdev.offload import VNET_HDR, VNET_HDR_LEN, VnetHdr, shift_offload
from pyvswitch.netdev.provider import NetdevStats, Offload, Packet

__all__ = [
    "STUCK_SKIP_AFTER",
    "RxRingV2",
    "RxRingV3",
    "TxRing",
    "v2_request",
    "v3_request",
]

TP_STATUS_USER = 0x1
TP_STATUS_COPY = 0x2
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
TP_STATUS_SEND_REQUEST = 0x1

#: the start of a tpacket2_hdr: status, len, snaplen, mac
_V2HEAD = struct.Struct("=IIIH")
#: vlan_tci, vlan_tpid of a tpacket2_hdr (at 24)
_V2VLAN = struct.Struct("=HH")
#: tpacket3_hdr: next_offset, sec, nsec, snaplen, len, status, mac, net, rxhash, vlan_tci,
#: vlan_tpid
_V3HDR = struct.Struct("=IIIIIIHHIIH")
#: tpacket_block_desc: version, offset_to_priv, then tpacket_hdr_v1: block_status,
#: num_pkts, offset_to_first_pkt
_BLOCK = struct.Struct("=IIIII")
_U32 = struct.Struct("=I")
#: a transmit slot's tpacket2_hdr: status, len, snaplen
_TX2 = struct.Struct("=III")
#: a transmit slot's tpacket3_hdr from offset 12: snaplen, len, status
_TX3 = struct.Struct("=III")
#: where a transmit slot's data starts (TPACKET{2,3}_HDRLEN - sizeof(struct sockaddr_ll))
TX_DATA_OFFSET = 32
TX_DATA_OFFSET_V3 = 48
_VLAN_TAG = struct.Struct("!HH")
#: seconds a receive slot may stay the kernel's while the next one is ours before the
#: reader gives up on it (see the module docstring)
STUCK_SKIP_AFTER = 0.01


def v2_request(frame_size: int, n_frames: int, block_size: int) -> bytes:
    """tpacket_req for a TPACKET_V2 ring of ``n_frames`` slots."""
    return struct.pack("=IIII", block_size, frame_size * n_frames // block_size, frame_size,
                       n_frames)


def v3_request(block_size: int, n_blocks: int, retire_ms: int) -> bytes:
    """tpacket_req3 for a TPACKET_V3 ring (frame size only bounds a frame's header)."""
    frame_size = 2048
    return struct.pack("=IIIIIII", block_size, n_blocks, frame_size,
                       block_size * n_blocks // frame_size, retire_ms, 0, 0)


_hdr_cache: dict[tuple[int, ...], VnetHdr] = {}


def _vnet_hdr(mem: object, at: int) -> VnetHdr:
    """The (non-empty) virtio-net header at ``mem[at:]``.  Frames of one flow carry the
    same header, so one object per distinct header is kept (a bounded cache) rather
    than a new one per frame."""
    raw = VNET_HDR.unpack_from(mem, at)  # type: ignore[arg-type]
    hdr = _hdr_cache.get(raw)
    if hdr is None:
        if len(_hdr_cache) >= 4096:
            _hdr_cache.clear()
        hdr = _hdr_cache[raw] = VnetHdr._make(raw)
    return hdr


def _vnet(mem: object, at: int) -> Offload:
    """The virtio-net header at ``mem[at:]``; None when it says nothing (plain frame)."""
    if not (mem[at] or mem[at + 1]):  # type: ignore[index]
        return None
    return _vnet_hdr(mem, at)


class RxRingV2:
    """Reads frames out of a TPACKET_V2 receive ring, in order."""

    def __init__(self, mem: object, view: memoryview, frame_size: int, n_frames: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.mem = mem
        self.view = view
        self.frame_size = frame_size
        self.n_frames = n_frames
        self.idx = 0
        self.clock = clock
        #: the slot seen held back while the next one was ready, and since when
        self.stuck_idx = -1
        self.stuck_since = 0.0

    def pending(self) -> bool:
        """Whether the next slot holds a frame for us (a memory read, no system call)."""
        return bool(_U32.unpack_from(self.mem, self.idx * self.frame_size)[0]  # type: ignore[arg-type]
                    & TP_STATUS_USER)

    def read(self, max_n: int, stats: NetdevStats,
             copy: Callable[[int], tuple[bytearray | None, Offload]]) -> list[Packet]:
        """Up to ``max_n`` frames; ``copy(length)`` reads the socket for a slot marked
        COPY (the slot holds only the start of that frame)."""
        mem, view = self.mem, self.view
        out: list[Packet] = []
        unpack = _V2HEAD.unpack_from
        release = _U32.pack_into
        idx = self.idx
        fsize, nframes = self.frame_size, self.n_frames
        nbytes = 0
        for _ in range(max_n):
            off = idx * fsize
            status, length, snaplen, mac = unpack(mem, off)
            if not status & TP_STATUS_USER:
                if out or not self._skip_stuck(idx, stats):
                    break
                idx = idx + 1 if idx + 1 < nframes else 0
                continue
            frame = None
            if snaplen == length and snaplen >= 14:
                a = off + mac
                v = a - VNET_HDR_LEN
                info = None if not (mem[v] or mem[v + 1]) else _vnet_hdr(mem, v)
                frame = bytearray(view[a:a + snaplen])
            elif status & TP_STATUS_COPY:
                frame, info = copy(length)
            elif snaplen < length:
                stats.rx_dropped += 1
                coverage.inc("netdev_rx_truncated")
            else:
                stats.rx_errors += 1
                coverage.inc("netdev_rx_runt")
            if frame is not None:
                if status & TP_STATUS_VLAN_VALID:
                    tci, tpid = _V2VLAN.unpack_from(mem, off + 24)
                    if not status & TP_STATUS_VLAN_TPID_VALID:
                        tpid = 0x8100
                    frame[12:12] = _VLAN_TAG.pack(tpid, tci)
                    info = shift_offload(info, 4)
                out.append((frame, info))
                nbytes += len(frame)
            release(mem, off, 0)  # the slot goes back to the kernel
            idx += 1
            if idx == nframes:
                idx = 0
        self.idx = idx
        stats.rx_packets += len(out)
        stats.rx_bytes += nbytes
        return out

    def _skip_stuck(self, idx: int, stats: NetdevStats) -> bool:
        """Whether to give up on slot ``idx``, which is not ours: only once the kernel
        has handed over the slot after it and ``idx`` stayed the kernel's for
        :data:`STUCK_SKIP_AFTER` since that was first seen."""
        nxt = idx + 1 if idx + 1 < self.n_frames else 0
        if not _U32.unpack_from(self.mem, nxt * self.frame_size)[0] & TP_STATUS_USER:  # type: ignore[arg-type]
            self.stuck_idx = -1
            return False
        now = self.clock()
        if self.stuck_idx != idx:
            self.stuck_idx = idx
            self.stuck_since = now
            return False
        if now - self.stuck_since < STUCK_SKIP_AFTER:
            return False
        self.stuck_idx = -1
        stats.rx_dropped += 1
        coverage.inc("netdev_rx_ring_skipped")
        return True


class RxRingV3:
    """Reads frames out of a TPACKET_V3 receive ring, block by block."""

    def __init__(self, mem: object, view: memoryview, block_size: int, n_blocks: int) -> None:
        self.mem = mem
        self.view = view
        self.block_size = block_size
        self.n_blocks = n_blocks
        self.block = 0
        #: frames left in the current block, and where the next one starts
        self.left = 0
        self.pos = 0

    def pending(self) -> bool:
        """Whether frames are waiting: the rest of the current block, or a next block
        the kernel has handed over (a memory read, no system call)."""
        return bool(self.left) or bool(
            _U32.unpack_from(self.mem, self.block * self.block_size + 8)[0]  # type: ignore[arg-type]
            & TP_STATUS_USER)

    def read(self, max_n: int, stats: NetdevStats) -> list[Packet]:
        mem, view = self.mem, self.view
        out: list[Packet] = []
        unpack = _V3HDR.unpack_from
        nbytes = 0
        left, pos = self.left, self.pos
        while len(out) < max_n:
            if not left:
                base = self.block * self.block_size
                _, _, bstatus, num, first = _BLOCK.unpack_from(mem, base)
                if not bstatus & TP_STATUS_USER:
                    break
                if not num:
                    self._release()
                    continue
                left, pos = num, base + first
            nxt, _, _, snaplen, length, status, mac, _, _, tci, tpid = unpack(mem, pos)
            if snaplen == length and snaplen >= 14:
                a = pos + mac
                frame = bytearray(view[a:a + snaplen])
                info = _vnet(mem, a - VNET_HDR_LEN)
                if status & TP_STATUS_VLAN_VALID:
                    if not status & TP_STATUS_VLAN_TPID_VALID:
                        tpid = 0x8100
                    frame[12:12] = _VLAN_TAG.pack(tpid, tci & 0xFFFF)
                    info = shift_offload(info, 4)
                out.append((frame, info))
                nbytes += len(frame)
            elif snaplen < length:
                stats.rx_dropped += 1
                coverage.inc("netdev_rx_truncated")
            else:
                stats.rx_errors += 1
                coverage.inc("netdev_rx_runt")
            left -= 1
            pos += nxt
            if not left:
                self._release()
        self.left, self.pos = left, pos
        stats.rx_packets += len(out)
        stats.rx_bytes += nbytes
        return out

    def _release(self) -> None:
        """Give the current block back to the kernel and move to the next."""
        _U32.pack_into(self.mem, self.block * self.block_size + 8, 0)  # type: ignore[arg-type]
        self.block = self.block + 1 if self.block + 1 < self.n_blocks else 0


class TxRing:
    """Writes frames into a transmit ring; the port's ``send()`` sends them.

    The slot layout is TPACKET_V2's (status, len, snaplen at the start, data at 32) or,
    on a TPACKET_V3 socket, TPACKET_V3's (snaplen, len, status at 12, 16, 20, data at 48).
    """

    def __init__(self, mem: object, base: int, frame_size: int, n_frames: int,
                 version: int = 2) -> None:
        self.mem = mem
        self.base = base
        self.frame_size = frame_size
        self.n_frames = n_frames
        self.v3 = version == 3
        self.status_at = 20 if self.v3 else 0
        self.data_at = TX_DATA_OFFSET_V3 if self.v3 else TX_DATA_OFFSET
        #: the largest frame (with its virtio-net header) a slot takes
        self.max_len = frame_size - self.data_at
        self.idx = 0
        #: slots marked since the last send
        self.pending = 0

    def put(self, hdr: bytes, frame: bytes | bytearray) -> bool:
        """Queue one frame behind its virtio-net header; False when the next slot is
        still the kernel's (the ring is full) or the frame does not fit a slot."""
        n = len(frame) + VNET_HDR_LEN
        if n > self.max_len:
            return False
        mem = self.mem
        off = self.base + self.idx * self.frame_size
        if _U32.unpack_from(mem, off + self.status_at)[0]:  # type: ignore[arg-type]
            return False  # SEND_REQUEST or SENDING: not ours yet
        d = off + self.data_at
        mem[d:d + VNET_HDR_LEN] = hdr  # type: ignore[index]
        mem[d + VNET_HDR_LEN:d + n] = frame  # type: ignore[index]
        if self.v3:
            _TX3.pack_into(mem, off + 12, n, n, TP_STATUS_SEND_REQUEST)  # type: ignore[arg-type]
        else:
            _TX2.pack_into(mem, off, TP_STATUS_SEND_REQUEST, n, n)  # type: ignore[arg-type]
        self.idx = self.idx + 1 if self.idx + 1 < self.n_frames else 0
        self.pending += 1
        return True
