"""``type=internal`` and ``type=tap`` ports: a tap device the switch creates.

Layer: netdev (imports ``netdev.linux``, ``netdev.offload``, ``netdev.provider``,
``pyvswitch.errors``, ``pyvswitch.coverage``).

The device is created through ``/dev/net/tun`` (``TUNSETIFF`` with ``IFF_TAP |
IFF_NO_PI | IFF_VNET_HDR``) and lives as long as we hold the descriptor, so a crashed
switch leaves nothing behind.  With the virtio-net header and the checksum/TSO offloads
announced (``TUNSETOFFLOAD``), the host stack hands us unfinished 64 KB frames and takes
them from us, exactly as the AF_PACKET ports do, so frames pass between the two kinds
whole.  The device is brought up on open.  Options: ``mtu`` and ``mac`` (the daemon
maps ``mtu_request`` and ``mac`` of the interface to them).
"""

from __future__ import annotations

import errno
import fcntl
import os
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
    pack_vnet_hdr,
)
from pyvswitch.netdev.provider import NetdevStats, Offload, Packet, parse_mtu

__all__ = ["NetdevTap"]

TUNSETIFF = 0x400454CA
TUNSETOFFLOAD = 0x400454D0
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
TUN_F_CSUM = 0x01
TUN_F_TSO4 = 0x02
TUN_F_TSO6 = 0x04
RX_BUFSIZE = VNET_HDR_LEN + 65536 + 512
_GONE = (errno.EBADFD, errno.ENODEV, errno.ENXIO, errno.EIO)


class NetdevTap:
    def __init__(self, name: str, type_: str, options: Mapping[str, str]) -> None:
        self.name = name
        self.type = type_
        self._mtu = parse_mtu(name, options.get("mtu"), default=0)
        self._mac = linux.parse_mac(name, options["mac"]) if options.get("mac") else None
        self._stats = NetdevStats()
        self._buf = bytearray(RX_BUFSIZE)
        self._bufs = [self._buf]
        self._fd = -1
        self._ctl: socket.socket | None = None
        self._open()

    def _open(self) -> None:
        ctl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            ctl.close()
            raise linux.netdev_error(self.name, exc) from None
        try:
            raw = self.name.encode()
            if len(raw) >= 16:
                raise NetdevError(self.name, errno.EINVAL, "device name longer than 15 bytes")
            ifr = struct.pack("=16sH22x", raw, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
            fcntl.ioctl(fd, TUNSETIFF, ifr)
            fcntl.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)
            if self._mtu:
                linux.set_mtu(ctl, self.name, self._mtu)
            if self._mac:
                linux.set_hw_addr(ctl, self.name, self._mac)
            linux.set_flags(ctl, self.name, linux.IFF_UP)
        except OSError as exc:
            os.close(fd)
            ctl.close()
            raise linux.netdev_error(self.name, exc) from None
        except NetdevError:
            os.close(fd)
            ctl.close()
            raise
        self._fd = fd
        self._ctl = ctl

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None

    def reopen(self) -> None:
        self.close()
        self._open()

    def fileno(self) -> int | None:
        return self._fd if self._fd >= 0 else None

    def rx_ready(self) -> bool:
        return False

    def _fd_or_raise(self) -> int:
        if self._fd < 0:
            raise NetdevError(self.name, errno.EBADF, "device is closed")
        return self._fd

    def recv_batch(self, max_n: int) -> list[Packet]:
        fd = self._fd_or_raise()
        out: list[Packet] = []
        buf, bufs = self._buf, self._bufs
        readv = os.readv
        nbytes = 0
        for _ in range(max_n):
            try:
                n = readv(fd, bufs)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno in _GONE:
                    raise linux.netdev_error(self.name, exc) from None
                self._stats.rx_errors += 1
                coverage.inc("netdev_rx_error")
                break
            if n < VNET_HDR_LEN + 14:
                self._stats.rx_errors += 1
                coverage.inc("netdev_rx_runt")
                continue
            info = None if not (buf[0] or buf[1]) else VnetHdr._make(VNET_HDR.unpack_from(buf))
            frame = buf[VNET_HDR_LEN:n]
            out.append((frame, info))
            nbytes += len(frame)
        self._stats.rx_packets += len(out)
        self._stats.rx_bytes += nbytes
        return out

    def send_batch(self, packets: Sequence[tuple[bytes | bytearray, Offload]]) -> int:
        fd = self._fd_or_raise()
        writev = os.writev
        sent = nbytes = 0
        for frame, info in packets:
            hdr = ZERO_VNET_HDR if info is None else pack_vnet_hdr(info)
            try:
                writev(fd, (hdr, frame))
            except BlockingIOError:
                self._stats.tx_dropped += 1
                coverage.inc("netdev_tx_busy")
                continue
            except OSError as exc:
                if exc.errno in _GONE:
                    raise linux.netdev_error(self.name, exc) from None
                self._stats.tx_errors += 1
                coverage.inc("netdev_tx_error")
                continue
            sent += 1
            nbytes += len(frame)
        self._stats.tx_packets += sent
        self._stats.tx_bytes += nbytes
        return sent

    def _ctl_or_raise(self) -> socket.socket:
        if self._ctl is None:
            raise NetdevError(self.name, errno.EBADF, "device is closed")
        return self._ctl

    def get_mtu(self) -> int:
        return linux.get_mtu(self._ctl_or_raise(), self.name)

    def get_hw_addr(self) -> bytes:
        return linux.get_hw_addr(self._ctl_or_raise(), self.name)

    def get_carrier(self) -> bool:
        return bool(linux.get_flags(self._ctl_or_raise(), self.name) & linux.IFF_RUNNING)

    def get_stats(self) -> NetdevStats:
        return self._stats.copy()
