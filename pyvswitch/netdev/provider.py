"""The port (netdev) provider contract and the registry of port types.

Layer: netdev (imports ``netdev.offload``, ``pyvswitch.errors``; concrete providers are
imported lazily by :func:`open_netdev`, so importing this module opens nothing).

A provider is one open port.  The daemon's loop drives it without knowing its type:

* ``fileno()`` — a descriptor to register for ``EVENT_READ`` in a selector, or ``None``
  for ports that have no descriptor (``dummy``, ``pcap``): poll those each loop turn,
  while ``rx_ready()`` says they have something.
* ``recv_batch(max_n)`` — up to ``max_n`` frames as ``(bytearray, offload)`` pairs,
  without blocking; ``offload`` is a :class:`VnetHdr` or ``None`` (see ``offload.py``).
* ``send_batch([(frame, offload), ...])`` — transmit, never blocking; returns how many
  frames left (drops are counted in the stats, as a full device queue drops in OVS).
  Offload info is passed on to devices that take it, else finished in software.

The packet path never raises for a bad frame.  ``NetdevError`` is raised when the
device itself is unusable (it disappeared): the owner reports it on the interface,
keeps serving the other ports, and calls ``reopen()`` from time to time until it
succeeds.
"""

from __future__ import annotations

import errno
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Protocol, runtime_checkable

from pyvswitch.errors import NetdevError
from pyvswitch.netdev.offload import VnetHdr

__all__ = [
    "NetdevProvider",
    "NetdevStats",
    "Offload",
    "Packet",
    "netdev_types",
    "open_netdev",
    "parse_mtu",
    "register_netdev_type",
]

Offload = VnetHdr | None
Packet = tuple[bytearray, Offload]


@dataclass(slots=True)
class NetdevStats:
    """Counters as ``ovs-ofctl dump-ports`` shows them (from the switch's view: rx is
    what the port received from the wire)."""

    rx_packets: int = 0
    rx_bytes: int = 0
    rx_dropped: int = 0
    rx_errors: int = 0
    tx_packets: int = 0
    tx_bytes: int = 0
    tx_dropped: int = 0
    tx_errors: int = 0

    def copy(self) -> NetdevStats:
        return NetdevStats(*(getattr(self, f.name) for f in fields(self)))


@runtime_checkable
class NetdevProvider(Protocol):
    name: str
    type: str

    def recv_batch(self, max_n: int) -> list[Packet]: ...

    def send_batch(self, packets: Sequence[tuple[bytes | bytearray, Offload]]) -> int: ...

    def fileno(self) -> int | None: ...

    def rx_ready(self) -> bool:
        """For ports without a descriptor: whether ``recv_batch`` has frames now."""
        ...

    def get_mtu(self) -> int: ...

    def get_hw_addr(self) -> bytes: ...

    def get_carrier(self) -> bool: ...

    def get_stats(self) -> NetdevStats: ...

    def reopen(self) -> None: ...

    def close(self) -> None: ...


Factory = Callable[[str, str, Mapping[str, str]], NetdevProvider]

# type -> "module:Class", resolved on first use so unused providers cost nothing
_TYPES: dict[str, str | Factory] = {
    "": "pyvswitch.netdev.afpacket:NetdevAfPacket",
    "system": "pyvswitch.netdev.afpacket:NetdevAfPacket",
    "internal": "pyvswitch.netdev.tap:NetdevTap",
    "tap": "pyvswitch.netdev.tap:NetdevTap",
    "pcap": "pyvswitch.netdev.pcap:NetdevPcap",
    "dummy": "pyvswitch.netdev.dummy:NetdevDummy",
}


def register_netdev_type(type_: str, factory: Factory) -> None:
    """Add or replace a port type (tests use this to plug in fakes)."""
    _TYPES[type_] = factory


def netdev_types() -> list[str]:
    return sorted(t for t in _TYPES if t)


def open_netdev(
    name: str, type_: str = "system", options: Mapping[str, str] | None = None
) -> NetdevProvider:
    """Open port ``name`` of ``type_``; ``NetdevError`` if it cannot be opened."""
    target = _TYPES.get(type_)
    if target is None:
        raise NetdevError(name, errno.EAFNOSUPPORT, f'unknown port type "{type_}"')
    if isinstance(target, str):
        module, _, cls = target.partition(":")
        target = getattr(importlib.import_module(module), cls)
    return target(name, type_ or "system", dict(options or {}))  # type: ignore[operator]


def parse_mtu(name: str, text: str | None, default: int = 1500) -> int:
    """An ``mtu`` option: 68..65535 bytes."""
    if text is None:
        return default
    try:
        mtu = int(text)
    except ValueError:
        mtu = -1
    if not 68 <= mtu <= 65535:
        raise NetdevError(name, errno.EINVAL, f"invalid mtu {text!r} (68 to 65535)")
    return mtu
