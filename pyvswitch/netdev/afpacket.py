"""``type=system`` ports: an existing Linux device opened with an AF_PACKET socket.

Layer: netdev (imports ``netdev.linux``, ``netdev.offload``, ``netdev.provider``,
``netdev.ring``, ``pyvswitch.errors``, ``pyvswitch.coverage``).  The only module that opens
raw sockets.

The socket is bound to the device, promiscuous (``PACKET_ADD_MEMBERSHIP``) and
non-blocking, and has these options:

* ``PACKET_VNET_HDR``: every frame read or written starts with a 10-byte virtio-net
  header, so frames the kernel left unfinished (partial checksum, 64 KB GSO) arrive
  with the metadata to finish them and can be sent on whole (see ``offload.py``).
* ``PACKET_AUXDATA``: the kernel strips a VLAN tag it accelerated into packet metadata;
  the auxiliary data gives it back and we re-insert it, so the switch sees the frame
  as it was on the wire.
* ``PACKET_IGNORE_OUTGOING``: our own transmissions are not looped back to us.

Frames are received through a ``PACKET_RX_RING`` shared with the kernel (no system call
per frame; TPACKET_V2 by default, ``options:rx_ring=v3`` for TPACKET_V3 blocks) and sent
through a ``PACKET_TX_RING`` (``options:tx_ring``, on by default): a batch is written into
the ring and one ``send()`` transmits it.  GSO frames and frames too big for a transmit
slot go out with ``sendmsg`` (after the queued ring frames, so order is kept), as does
everything when the ring is full.  The rings are in :mod:`pyvswitch.netdev.ring`.
Should the kernel refuse a ring, or with ``options:rx_ring=false`` /
``options:tx_ring=false``, every frame is read with one ``recvmsg`` (``PACKET_AUXDATA``
gives the VLAN tag) or sent with one ``sendmsg``.

The socket is created with protocol 0 and bound with ``ETH_P_ALL``, so it never sees a
frame of another device between creation and bind.

A device that disappears turns into ``NetdevError(ENODEV)`` from ``recv_batch``/
``send_batch``; the owner calls ``reopen()`` until the device is back.
"""

from __future__ import annotations

import errno
import mmap
import socket
import struct
from collections.abc import Mapping, Sequence

from pyvswitch import coverage
from pyvswitch.errors import NetdevError
from pyvswitch.netdev import linux
from pyvswitch.netdev.offload import (
    VNET_HDR,
    VNET_HDR_LEN,
    ZERO_VNET_HDR,
    VnetHdr,
    finish_offload,
    pack_vnet_hdr,
    shift_offload,
)
from pyvswitch.netdev.provider import NetdevStats, Offload, Packet
from pyvswitch.netdev.ring import RxRingV2, RxRingV3, TxRing, v2_request, v3_request

__all__ = ["NetdevAfPacket"]

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_STATISTICS = 6
PACKET_AUXDATA = 8
PACKET_RX_RING = 5
PACKET_COPY_THRESH = 7
PACKET_VERSION = 10
PACKET_TX_RING = 13
PACKET_LOSS = 14
PACKET_VNET_HDR = 15
TPACKET_V2 = 1
TPACKET_V3 = 2
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32
_AUXDATA = struct.Struct("=IIIHHHH")
_VLAN_TAG = struct.Struct("!HH")
_STATS = struct.Struct("=II")
#: room for a 64 KB GSO frame with its header, VLAN tags and slack
RX_BUFSIZE = VNET_HDR_LEN + 65536 + 512
SOCKET_BUFSIZE = 4 * 1024 * 1024
#: V2 receive slots hold MTU-sized frames; larger ones (GSO, jumbo) are queued whole on
#: the socket by the kernel (PACKET_COPY_THRESH) and read from there in ring order
RING_FRAME_SIZE = 2048
RING_BLOCK_SIZE = 65536
RING_FRAMES = 2048
#: V3 receive blocks: a 64 KB GSO frame fits in one; the kernel hands a block over when
#: it is full or after RING_V3_RETIRE_MS
RING_V3_BLOCK_SIZE = 1 << 18
RING_V3_BLOCKS = 16
RING_V3_RETIRE_MS = 1
#: transmit slots hold an MTU-sized frame with its header; larger ones use sendmsg
TX_RING_FRAME_SIZE = 2048
TX_RING_FRAMES = 512
_GONE = (errno.ENETDOWN, errno.ENODEV, errno.ENXIO)
# plain ints: ``int & socket.MSG_TRUNC`` (an IntFlag) runs enum code in Python per frame
_MSG_TRUNC = int(socket.MSG_TRUNC)
_MSG_DONTWAIT = int(socket.MSG_DONTWAIT)


class NetdevAfPacket:
    """A ``system`` port.  Option ``rx_ring=false`` reads without the mmap ring."""

    def __init__(self, name: str, type_: str, options: Mapping[str, str]) -> None:
        self.name = name
        self.type = type_
        self._stats = NetdevStats()
        self._kernel_drops = 0
        self._buf = bytearray(RX_BUFSIZE)
        self._bufs = [self._buf]
        self._hdr_buf = bytearray(VNET_HDR_LEN)
        self._sock: socket.socket | None = None
        #: with a transmit ring, ``sendmsg`` on the ring's socket sends the ring's frames
        #: and ignores its own data: frames that cannot use the ring (GSO, too big, ring
        #: full) go out through this second, ring-less socket (it receives nothing)
        self._msg_sock: socket.socket | None = None
        self._ifindex = 0
        self._filter_outgoing = False
        self._rx_mode = options.get("rx_ring", "true")
        if self._rx_mode not in ("true", "false", "v2", "v3"):
            raise NetdevError(name, errno.EINVAL, f"invalid rx_ring {self._rx_mode!r}"
                              " (true, false, v2 or v3)")
        self._tx_mode = options.get("tx_ring", "true")
        if self._tx_mode not in ("true", "false"):
            raise NetdevError(name, errno.EINVAL, f"invalid tx_ring {self._tx_mode!r}"
                              " (true or false)")
        self._ring: mmap.mmap | None = None
        self._ring_view: memoryview | None = None
        self._rx: RxRingV2 | RxRingV3 | None = None
        self._tx: TxRing | None = None
        self._open()

    @property
    def uses_ring(self) -> bool:
        """Frames are received through a ring (either version)."""
        return self._rx is not None

    @property
    def rx_ring_version(self) -> int:
        """2 or 3 for a TPACKET_V2/V3 receive ring, 0 without one."""
        return 0 if self._rx is None else 3 if isinstance(self._rx, RxRingV3) else 2

    @property
    def uses_tx_ring(self) -> bool:
        return self._tx is not None

    # ------------------------------------------------------------- open/close

    def _open(self) -> None:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            self._ifindex = linux.get_ifindex(sock, self.name)
            self._setup_rings(sock)
            if self._rx is None:
                sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            try:
                sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            except OSError:  # kernels before 4.20: drop looped-back frames ourselves
                self._filter_outgoing = True
            for opt, fallback in (
                (SO_RCVBUFFORCE, socket.SO_RCVBUF),
                (SO_SNDBUFFORCE, socket.SO_SNDBUF),
            ):
                try:
                    sock.setsockopt(socket.SOL_SOCKET, opt, SOCKET_BUFSIZE)
                except OSError:
                    sock.setsockopt(socket.SOL_SOCKET, fallback, SOCKET_BUFSIZE)
            sock.bind((self.name, ETH_P_ALL))
            mreq = struct.pack("=iHH8s", self._ifindex, PACKET_MR_PROMISC, 0, b"")
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            sock.setblocking(False)
            if self._tx is not None:
                self._msg_sock = self._open_msg_sock()
        except OSError as exc:
            self._release_ring()
            sock.close()
            raise linux.netdev_error(self.name, exc) from None
        except NetdevError:
            self._release_ring()
            sock.close()
            raise
        self._sock = sock

    def _open_msg_sock(self) -> socket.socket:
        """A transmit-only socket on the device, with the virtio-net header."""
        msg = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            msg.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
            try:
                msg.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, SOCKET_BUFSIZE)
            except OSError:
                msg.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFSIZE)
            msg.bind((self.name, 0))  # protocol 0: no frame is ever queued to it
            msg.setblocking(False)
        except OSError:
            msg.close()
            raise
        return msg

    def _setup_rings(self, sock: socket.socket) -> None:
        """Map the receive and transmit rings asked for; a ring the kernel refuses is
        left out (counted), and the port works without it.

        The version, the virtio-net header and PACKET_LOSS must be set before any ring,
        and both rings share one mapping (receive ring first).
        """
        want_rx = self._rx_mode != "false"
        want_tx = self._tx_mode == "true"
        v3 = self._rx_mode == "v3"
        sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3 if v3 and want_rx else TPACKET_V2)
        sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        if want_tx:
            # a frame the kernel refuses (a bad offload header) is skipped rather than
            # left blocking the transmit ring (like the version, before any ring)
            sock.setsockopt(SOL_PACKET, PACKET_LOSS, 1)
        rx_size = tx_size = 0
        if want_rx:
            try:
                if v3:
                    req = v3_request(RING_V3_BLOCK_SIZE, RING_V3_BLOCKS, RING_V3_RETIRE_MS)
                    rx_size = RING_V3_BLOCK_SIZE * RING_V3_BLOCKS
                else:
                    sock.setsockopt(SOL_PACKET, PACKET_COPY_THRESH, 1)
                    req = v2_request(RING_FRAME_SIZE, RING_FRAMES, RING_BLOCK_SIZE)
                    rx_size = RING_FRAME_SIZE * RING_FRAMES
                sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
            except OSError:
                coverage.inc("netdev_rx_ring_refused")
                rx_size = 0
        if want_tx:
            try:
                req = v2_request(TX_RING_FRAME_SIZE, TX_RING_FRAMES, RING_BLOCK_SIZE)
                if v3 and want_rx:
                    req += bytes(12)  # a tpacket_req3 without timer, private area, features
                sock.setsockopt(SOL_PACKET, PACKET_TX_RING, req)
                tx_size = TX_RING_FRAME_SIZE * TX_RING_FRAMES
            except OSError:
                coverage.inc("netdev_tx_ring_refused")
        if not rx_size and not tx_size:
            return
        try:
            self._ring = mmap.mmap(sock.fileno(), rx_size + tx_size, mmap.MAP_SHARED,
                                   mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError:
            coverage.inc("netdev_ring_mmap_failed")
            raise
        self._ring_view = memoryview(self._ring)
        if rx_size:
            if v3:
                self._rx = RxRingV3(self._ring, self._ring_view, RING_V3_BLOCK_SIZE,
                                    RING_V3_BLOCKS)
            else:
                self._rx = RxRingV2(self._ring, self._ring_view, RING_FRAME_SIZE, RING_FRAMES)
        if tx_size:
            self._tx = TxRing(self._ring, rx_size, TX_RING_FRAME_SIZE, TX_RING_FRAMES,
                              3 if v3 and want_rx else 2)

    def _release_ring(self) -> None:
        self._rx = None
        self._tx = None
        if self._ring_view is not None:
            self._ring_view.release()
            self._ring_view = None
        if self._ring is not None:
            self._ring.close()
            self._ring = None

    def close(self) -> None:
        self._release_ring()
        if self._msg_sock is not None:
            self._msg_sock.close()
            self._msg_sock = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def reopen(self) -> None:
        """Open the device again (after it vanished and came back)."""
        self.close()
        self._open()

    def fileno(self) -> int | None:
        return self._sock.fileno() if self._sock is not None else None

    def rx_ready(self) -> bool:
        return False  # has a descriptor: wait on it instead

    def rx_pending(self) -> bool:
        """Frames are waiting in the receive ring: a memory read, no system call, so the
        loop can look again right after a transmission (whose reply the kernel may have
        delivered meanwhile) without going back to ``select``.  False without a ring
        (only a system call would tell)."""
        rx = self._rx
        return rx is not None and rx.pending()

    def _sock_or_raise(self) -> socket.socket:
        if self._sock is None:
            raise NetdevError(self.name, errno.EBADF, "device is closed")
        return self._sock

    def _device_error(self, exc: OSError) -> NetdevError | None:
        """A NetdevError if ``exc`` means the device is gone (not merely down)."""
        if exc.errno not in _GONE:
            return None
        try:
            index = linux.get_ifindex(self._sock_or_raise(), self.name)
        except NetdevError:
            index = 0
        if index == self._ifindex:
            return None  # still there: it was brought down; traffic resumes when up
        return NetdevError(self.name, errno.ENODEV, "No such device")

    # -------------------------------------------------------------------- rx

    def recv_batch(self, max_n: int) -> list[Packet]:
        rx = self._rx
        if rx is None:
            return self._recv_msgs(max_n)
        sock = self._sock_or_raise()
        if type(rx) is RxRingV2:
            out = rx.read(max_n, self._stats, lambda n: self._recv_copy(sock, n))
        else:
            out = rx.read(max_n, self._stats)  # type: ignore[call-arg]
        if not out:
            # an empty ring after a wake-up may mean a socket error (device gone/down)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                dev_err = self._device_error(OSError(err, ""))
                if dev_err is not None:
                    raise dev_err
        return out

    def _recv_copy(self, sock: socket.socket, length: int) -> tuple[bytearray | None, Offload]:
        """The whole frame of a ring slot marked TP_STATUS_COPY, from the socket.

        The slot gives the frame's length, so the frame is read straight into a buffer
        of its own (the header into another): one copy of a 64 KB frame, not two.
        """
        hdr = self._hdr_buf
        frame = bytearray(length)
        try:
            n, _, flags, _ = sock.recvmsg_into((hdr, frame))
        except OSError:
            self._stats.rx_dropped += 1
            coverage.inc("netdev_rx_copy_lost")
            return None, None
        if n != VNET_HDR_LEN + length or flags & _MSG_TRUNC:
            if n < VNET_HDR_LEN + 14 or flags & _MSG_TRUNC:
                self._stats.rx_errors += 1
                coverage.inc("netdev_rx_runt")
                return None, None
            del frame[n - VNET_HDR_LEN:]  # shorter than the slot said: keep what came
        info = None if not (hdr[0] or hdr[1]) else VnetHdr._make(VNET_HDR.unpack_from(hdr))
        return frame, info

    def _recv_msgs(self, max_n: int) -> list[Packet]:
        sock = self._sock_or_raise()
        out: list[Packet] = []
        buf, bufs = self._buf, self._bufs
        recvmsg_into = sock.recvmsg_into
        nbytes = 0
        for _ in range(max_n):
            try:
                n, anc, flags, addr = recvmsg_into(bufs, 64)
            except BlockingIOError:
                break
            except OSError as exc:
                err = self._device_error(exc)
                if err is not None:
                    raise err from None
                if exc.errno != errno.ENETDOWN:
                    self._stats.rx_errors += 1
                    coverage.inc("netdev_rx_error")
                break
            if flags & _MSG_TRUNC:
                self._stats.rx_dropped += 1
                coverage.inc("netdev_rx_truncated")
                continue
            if n < VNET_HDR_LEN + 14:
                self._stats.rx_errors += 1
                coverage.inc("netdev_rx_runt")
                continue
            if self._filter_outgoing and addr[2] == PACKET_OUTGOING:
                continue
            info = None if not (buf[0] or buf[1]) else VnetHdr._make(VNET_HDR.unpack_from(buf))
            frame = buf[VNET_HDR_LEN:n]
            for _level, ctype, data in anc:
                if ctype == PACKET_AUXDATA and data[0] & TP_STATUS_VLAN_VALID:
                    status, _, _, _, _, tci, tpid = _AUXDATA.unpack_from(data)
                    if not status & TP_STATUS_VLAN_TPID_VALID:
                        tpid = 0x8100
                    frame[12:12] = _VLAN_TAG.pack(tpid, tci)
                    info = shift_offload(info, 4)
            out.append((frame, info))
            nbytes += len(frame)
        self._stats.rx_packets += len(out)
        self._stats.rx_bytes += nbytes
        return out

    # -------------------------------------------------------------------- tx

    def send_batch(self, packets: Sequence[tuple[bytes | bytearray, Offload]]) -> int:
        sock = self._sock_or_raise()
        tx = self._tx
        stats = self._stats
        sent = 0
        nbytes = 0
        if tx is None:
            for frame, info in packets:
                if self._send_one(sock, frame, info):
                    sent += 1
                    nbytes += len(frame)
        else:
            put = tx.put
            for frame, info in packets:
                if info is None:
                    if put(ZERO_VNET_HDR, frame):
                        sent += 1
                        nbytes += len(frame)
                        continue
                    hdr = ZERO_VNET_HDR
                elif not info.gso_type:
                    hdr = pack_vnet_hdr(info)
                    if put(hdr, frame):
                        sent += 1
                        nbytes += len(frame)
                        continue
                else:
                    hdr = b""  # GSO: always sendmsg, which can fall back to software
                # Too big for a slot, GSO, or the ring is full: send what is queued
                # (order), then try the ring again or send this one on its own.
                if tx.pending:
                    self._flush(sock, tx)
                    if hdr and put(hdr, frame):
                        sent += 1
                        nbytes += len(frame)
                        continue
                if self._send_one(self._msg_sock or sock, frame, info):
                    sent += 1
                    nbytes += len(frame)
            if tx.pending:
                self._flush(sock, tx)
        stats.tx_packets += sent
        stats.tx_bytes += nbytes
        return sent

    def _flush(self, sock: socket.socket, tx: TxRing) -> None:
        """Have the kernel transmit every frame queued in the ring."""
        tx.pending = 0
        try:
            sock.send(b"", _MSG_DONTWAIT)
        except BlockingIOError:
            coverage.inc("netdev_tx_ring_busy")  # still queued: the next send takes them
        except OSError as exc:
            err = self._device_error(exc)
            if err is not None:
                raise err from None
            self._stats.tx_errors += 1
            coverage.inc("netdev_tx_error")

    def _send_one(self, sock: socket.socket, frame: bytes | bytearray, info: Offload) -> bool:
        """One frame with ``sendmsg``; a refused offload header is finished in software."""
        hdr = ZERO_VNET_HDR if info is None else pack_vnet_hdr(info)
        try:
            sock.sendmsg((hdr, frame))
        except BlockingIOError:
            self._stats.tx_dropped += 1
            coverage.inc("netdev_tx_busy")
            return False
        except OSError as exc:
            err = self._device_error(exc)
            if err is not None:
                raise err from None
            if exc.errno == errno.EINVAL and info is not None:
                # the kernel refused the offload header: finish in software
                coverage.inc("netdev_tx_offload_refused")
                return bool(self._send_finished(sock, frame, info))
            self._stats.tx_errors += 1
            coverage.inc("netdev_tx_error")
            return False
        return True

    def _send_finished(self, sock: socket.socket, frame: bytes | bytearray, info: VnetHdr) -> int:
        n = 0
        for seg in finish_offload(bytearray(frame), info):
            try:
                sock.sendmsg((ZERO_VNET_HDR, seg))
                n += 1
            except OSError:
                self._stats.tx_errors += 1
        return n

    # ----------------------------------------------------------------- status

    def get_mtu(self) -> int:
        return linux.get_mtu(self._sock_or_raise(), self.name)

    def get_hw_addr(self) -> bytes:
        return linux.get_hw_addr(self._sock_or_raise(), self.name)

    def get_carrier(self) -> bool:
        """Link up and running; ``NetdevError`` if the device vanished."""
        sock = self._sock_or_raise()
        flags = linux.get_flags(sock, self.name)
        if linux.get_ifindex(sock, self.name) != self._ifindex:
            raise NetdevError(self.name, errno.ENODEV, "No such device")
        return bool(flags & linux.IFF_RUNNING)

    def get_stats(self) -> NetdevStats:
        if self._sock is not None:
            try:
                raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size)
                self._kernel_drops += _STATS.unpack(raw)[1]  # the kernel resets on read
            except OSError:
                pass
        stats = self._stats.copy()
        stats.rx_dropped += self._kernel_drops
        return stats
