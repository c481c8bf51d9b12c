"""Linux network-device ioctls shared by the ``system`` and ``tap`` ports.

Layer: netdev (imports the standard library and ``pyvswitch.errors``).

Each helper takes the device name and a socket to issue the ioctl on (any socket of
the device's network namespace), and turns a failure into ``NetdevError`` with the
errno and the C library's text, the form OVS reports on an interface
("could not open network device p1 (No such device)").
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import struct

from pyvswitch.errors import NetdevError

__all__ = [
    "IFF_RUNNING",
    "IFF_UP",
    "get_flags",
    "get_hw_addr",
    "get_ifindex",
    "get_mtu",
    "netdev_error",
    "set_flags",
    "set_hw_addr",
    "set_mtu",
]

SIOCGIFFLAGS = 0x8913
SIOCGIFINDEX = 0x8933
SIOCSIFFLAGS = 0x8914
SIOCGIFMTU = 0x8921
SIOCSIFMTU = 0x8922
SIOCSIFHWADDR = 0x8924
SIOCGIFHWADDR = 0x8927
IFF_UP = 0x1
IFF_RUNNING = 0x40
ARPHRD_ETHER = 1

_IFREQ_SIZE = 40  # struct ifreq on 64-bit Linux


def netdev_error(name: str, exc: OSError, what: str = "") -> NetdevError:
    code = exc.errno or errno.EIO
    text = os.strerror(code)
    return NetdevError(name, code, f"{what}: {text}" if what else text)


def _ifreq(name: str, payload: bytes = b"") -> bytearray:
    raw = name.encode()
    if len(raw) >= 16:
        raise NetdevError(name, errno.EINVAL, "device name longer than 15 bytes")
    buf = bytearray(_IFREQ_SIZE)
    buf[: len(raw)] = raw
    buf[16 : 16 + len(payload)] = payload
    return buf


def _ioctl(sock: socket.socket, name: str, request: int, payload: bytes = b"") -> bytearray:
    buf = _ifreq(name, payload)
    try:
        fcntl.ioctl(sock.fileno(), request, buf)
    except OSError as exc:
        raise netdev_error(name, exc) from None
    return buf


def get_ifindex(sock: socket.socket, name: str) -> int:
    """The device's index in the socket's namespace (not the caller's)."""
    return struct.unpack_from("=i", _ioctl(sock, name, SIOCGIFINDEX), 16)[0]


def get_mtu(sock: socket.socket, name: str) -> int:
    return struct.unpack_from("=i", _ioctl(sock, name, SIOCGIFMTU), 16)[0]


def set_mtu(sock: socket.socket, name: str, mtu: int) -> None:
    _ioctl(sock, name, SIOCSIFMTU, struct.pack("=i", mtu))


def get_hw_addr(sock: socket.socket, name: str) -> bytes:
    buf = _ioctl(sock, name, SIOCGIFHWADDR)
    return bytes(buf[18:24])


def set_hw_addr(sock: socket.socket, name: str, mac: bytes) -> None:
    _ioctl(sock, name, SIOCSIFHWADDR, struct.pack("=H", ARPHRD_ETHER) + mac)


def get_flags(sock: socket.socket, name: str) -> int:
    return struct.unpack_from("=H", _ioctl(sock, name, SIOCGIFFLAGS), 16)[0]


def set_flags(sock: socket.socket, name: str, on: int, off: int = 0) -> None:
    flags = get_flags(sock, name)
    _ioctl(sock, name, SIOCSIFFLAGS, struct.pack("=H", (flags | on) & ~off & 0xFFFF))


def parse_mac(name: str, text: str) -> bytes:
    parts = text.split(":")
    try:
        mac = bytes(int(p, 16) for p in parts)
    except ValueError:
        mac = b""
    if len(parts) != 6 or len(mac) != 6 or any(len(p) not in (1, 2) for p in parts):
        raise NetdevError(name, errno.EINVAL, f"invalid MAC address {text!r}")
    return mac
