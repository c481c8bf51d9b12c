"""``type=system`` ports: an existing Linux device opened with an AF_PACKET socket.

Layer: netdev (imports ``netdev.linux``, ``netdev.offload``, ``netdev.provider``,
``pyvswitch.errors``, ``pyvswitch.coverage``).  The only module that opens raw sockets.

The socket is bound to the device, promiscuous (``PACKET_ADD_MEMBERSHIP``) and
non-blocking, and has these options:

* ``PACKET_VNET_HDR``: every frame read or written starts with a 10-byte virtio-net
  header, so frames the kernel left unfinished (partial checksum, 64 KB GSO) arrive
  with the metadata to finish them and can be sent on whole (see ``offload.py``).
* ``PACKET_AUXDATA``: the kernel strips a VLAN tag it accelerated into packet metadata;
  the auxiliary data gives it back and we re-insert it, so the switch sees the frame
  as it was on the wire.
* ``PACKET_IGNORE_OUTGOING``: our own transmissions are not looped back to us.

Frames are received through a ``PACKET_RX_RING`` (TPACKET_V2) shared with the kernel:
no system call per frame; the VLAN tag is in the slot header and the virtio-net header
just before the frame.  A frame too big for a slot (a 64 KB GSO frame, a jumbo frame)
is also queued whole on the socket (``PACKET_COPY_THRESH``); its slot says so and we
read it from there, so order is kept.  Should the ring be refused, or with
``options:rx_ring=false``, every frame is read with one ``recvmsg`` and
``PACKET_AUXDATA`` gives the tag.

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
    shift_offload,
)
from pyvswitch.netdev.provider import NetdevStats, Offload, Packet

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
PACKET_VNET_HDR = 15
TPACKET_V2 = 1
TP_STATUS_USER = 0x1
TP_STATUS_COPY = 0x2
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
_AUXDATA = struct.Struct("=IIIHHHH")
_VLAN_TAG = struct.Struct("!HH")
_STATS = struct.Struct("=II")
#: room for a 64 KB GSO frame with its header, VLAN tags and slack
RX_BUFSIZE = VNET_HDR_LEN + 65536 + 512
SOCKET_BUFSIZE = 4 * 1024 * 1024
#: tpacket2_hdr: status, len, snaplen, mac, net, sec, nsec, vlan_tci, vlan_tpid
_V2HDR = struct.Struct("=IIIHHIIHH4x")
_U32 = struct.Struct("=I")
#: ring slots hold MTU-sized frames; larger ones (GSO, jumbo) are queued whole on the
#: socket by the kernel (PACKET_COPY_THRESH) and read from there in ring order
RING_FRAME_SIZE = 2048
RING_BLOCK_SIZE = 65536
RING_FRAMES = 2048
_GONE = (errno.ENETDOWN, errno.ENODEV, errno.ENXIO)


class NetdevAfPacket:
    """A ``system`` port.  Option ``rx_ring=false`` reads without the mmap ring."""

    def __init__(self, name: str, type_: str, options: Mapping[str, str]) -> None:
        self.name = name
        self.type = type_
        self._stats = NetdevStats()
        self._kernel_drops = 0
        self._buf = bytearray(RX_BUFSIZE)
        self._bufs = [self._buf]
        self._sock: socket.socket | None = None
        self._ifindex = 0
        self._filter_outgoing = False
        self._want_ring = options.get("rx_ring", "true") != "false"
        self._ring: mmap.mmap | None = None
        self._ring_view: memoryview | None = None
        self._ring_idx = 0
        self._open()

    @property
    def uses_ring(self) -> bool:
        return self._ring is not None

    # ------------------------------------------------------------- open/close

    def _open(self) -> None:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            self._ifindex = linux.get_ifindex(sock, self.name)
            if self._want_ring:
                self._setup_ring(sock)
            if self._ring is None:
                sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
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
        except OSError as exc:
            self._release_ring()
            sock.close()
            raise linux.netdev_error(self.name, exc) from None
        except NetdevError:
            self._release_ring()
            sock.close()
            raise
        self._sock = sock

    def _setup_ring(self, sock: socket.socket) -> None:
        """Map a TPACKET_V2 receive ring; on refusal leave the socket ring-less."""
        try:
            sock.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V2)
            sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
            sock.setsockopt(SOL_PACKET, PACKET_COPY_THRESH, 1)
            n_blocks = RING_FRAME_SIZE * RING_FRAMES // RING_BLOCK_SIZE
            req = struct.pack("=IIII", RING_BLOCK_SIZE, n_blocks, RING_FRAME_SIZE, RING_FRAMES)
            sock.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
            self._ring = mmap.mmap(
                sock.fileno(),
                RING_FRAME_SIZE * RING_FRAMES,
                mmap.MAP_SHARED,
                mmap.PROT_READ | mmap.PROT_WRITE,
            )
        except OSError:
            coverage.inc("netdev_rx_ring_refused")
            self._ring = None
            return
        self._ring_view = memoryview(self._ring)
        self._ring_idx = 0

    def _release_ring(self) -> None:
        if self._ring_view is not None:
            self._ring_view.release()
            self._ring_view = None
        if self._ring is not None:
            self._ring.close()
            self._ring = None

    def close(self) -> None:
        self._release_ring()
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
        if self._ring is not None:
            return self._recv_ring(max_n)
        return self._recv_msgs(max_n)

    def _recv_ring(self, max_n: int) -> list[Packet]:
        sock = self._sock_or_raise()
        ring, view = self._ring, self._ring_view
        assert ring is not None and view is not None
        out: list[Packet] = []
        unpack = _V2HDR.unpack_from
        release = _U32.pack_into
        idx = self._ring_idx
        nbytes = 0
        stats = self._stats
        for _ in range(max_n):
            off = idx * RING_FRAME_SIZE
            status, length, snaplen, mac, _, _, _, tci, tpid = unpack(ring, off)
            if not status & TP_STATUS_USER:
                break
            frame = None
            if snaplen == length and snaplen >= 14:
                v = off + mac - VNET_HDR_LEN
                info = (
                    None
                    if not (ring[v] or ring[v + 1])
                    else VnetHdr._make(VNET_HDR.unpack_from(ring, v))
                )
                frame = bytearray(view[off + mac : off + mac + snaplen])
            elif status & TP_STATUS_COPY:
                frame, info = self._recv_copy(sock)
            elif snaplen < length:
                stats.rx_dropped += 1
                coverage.inc("netdev_rx_truncated")
            else:
                stats.rx_errors += 1
                coverage.inc("netdev_rx_runt")
            if frame is not None:
                if status & TP_STATUS_VLAN_VALID:
                    if not status & TP_STATUS_VLAN_TPID_VALID:
                        tpid = 0x8100
                    frame[12:12] = _VLAN_TAG.pack(tpid, tci)
                    info = shift_offload(info, 4)
                out.append((frame, info))
                nbytes += len(frame)
            release(ring, off, 0)  # the slot goes back to the kernel
            idx += 1
            if idx == RING_FRAMES:
                idx = 0
        self._ring_idx = idx
        if not out:
            # an empty ring after a wake-up may mean a socket error (device gone/down)
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                dev_err = self._device_error(OSError(err, ""))
                if dev_err is not None:
                    raise dev_err
        stats.rx_packets += len(out)
        stats.rx_bytes += nbytes
        return out

    def _recv_copy(self, sock: socket.socket) -> tuple[bytearray | None, Offload]:
        """The whole frame of a ring slot marked TP_STATUS_COPY, from the socket."""
        buf = self._buf
        try:
            n = sock.recv_into(buf)
        except OSError:
            self._stats.rx_dropped += 1
            coverage.inc("netdev_rx_copy_lost")
            return None, None
        if n < VNET_HDR_LEN + 14:
            self._stats.rx_errors += 1
            coverage.inc("netdev_rx_runt")
            return None, None
        info = None if not (buf[0] or buf[1]) else VnetHdr._make(VNET_HDR.unpack_from(buf))
        return buf[VNET_HDR_LEN:n], info

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
            if flags & socket.MSG_TRUNC:
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
        sendmsg = sock.sendmsg
        stats = self._stats
        sent = 0
        nbytes = 0
        for frame, info in packets:
            hdr = ZERO_VNET_HDR if info is None else info.pack()
            try:
                sendmsg((hdr, frame))
            except BlockingIOError:
                stats.tx_dropped += 1
                coverage.inc("netdev_tx_busy")
                continue
            except OSError as exc:
                err = self._device_error(exc)
                if err is not None:
                    raise err from None
                if exc.errno == errno.EINVAL and info is not None:
                    # the kernel refused the offload header: finish in software
                    coverage.inc("netdev_tx_offload_refused")
                    n_ok = self._send_finished(sock, frame, info)
                    if n_ok:
                        sent += 1
                        nbytes += len(frame)
                    continue
                stats.tx_errors += 1
                coverage.inc("netdev_tx_error")
                continue
            sent += 1
            nbytes += len(frame)
        stats.tx_packets += sent
        stats.tx_bytes += nbytes
        return sent

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
