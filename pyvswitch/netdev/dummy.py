"""``type=dummy`` ports: in memory, for tests and traces, as OVS's netdev-dummy.

Layer: netdev (imports ``netdev.offload``, ``netdev.pcap``, ``netdev.provider``,
``pyvswitch.errors``).

A dummy port receives only what :meth:`NetdevDummy.receive` injects (what
``netdev-dummy/receive PORT PACKET_HEX`` calls) and keeps what it sends in ``sent``;
``options:tx_pcap=FILE`` also writes sent frames to a pcap file and
``options:rxq_pcap=FILE`` the received ones (``options:pcap=FILE`` does both, in one
file), as in OVS.  Offloads are finished before a frame is stored, like a wire would
see it.

Tests can make a device disappear and come back (:func:`set_present`) to exercise the
owner's error handling and ``reopen()`` without root.
"""

from __future__ import annotations

import errno
import itertools
from collections import deque
from collections.abc import Mapping, Sequence

from pyvswitch.errors import NetdevError
from pyvswitch.netdev.offload import finish_offload
from pyvswitch.netdev.pcap import PcapWriter
from pyvswitch.netdev.provider import NetdevStats, Offload, Packet, parse_mtu

__all__ = ["NetdevDummy", "set_present"]

_absent: set[str] = set()
_mac_counter = itertools.count(1)


def set_present(name: str, present: bool) -> None:
    """Simulate a device vanishing (``False``) or coming back (``True``)."""
    if present:
        _absent.discard(name)
    else:
        _absent.add(name)


class NetdevDummy:
    """An in-memory port."""

    def __init__(self, name: str, type_: str, options: Mapping[str, str]) -> None:
        self.name = name
        self.type = type_
        self._options = dict(options)
        self._mtu = parse_mtu(name, options.get("mtu"))
        n = next(_mac_counter)
        self._hw_addr = bytes([0xAA, 0x55, 0xAA, 0x55, (n >> 8) & 0xFF, n & 0xFF])
        self._rxq: deque[Packet] = deque()
        #: every frame sent, finished (checksums done, GSO segmented)
        self.sent: list[bytearray] = []
        self.carrier = True
        self._stats = NetdevStats()
        self._tx_pcap: PcapWriter | None = None
        self._rx_pcap: PcapWriter | None = None
        self._open()

    def _check_present(self) -> None:
        if self.name in _absent:
            raise NetdevError(self.name, errno.ENODEV, "No such device")

    def _open(self) -> None:
        self._check_present()
        try:
            both = self._options.get("pcap")
            if both:
                self._tx_pcap = self._rx_pcap = PcapWriter(open(both, "wb"))
            else:
                if self._options.get("tx_pcap"):
                    self._tx_pcap = PcapWriter(open(self._options["tx_pcap"], "wb"))
                if self._options.get("rxq_pcap"):
                    self._rx_pcap = PcapWriter(open(self._options["rxq_pcap"], "wb"))
        except OSError as exc:
            self.close()
            raise NetdevError(
                self.name, exc.errno or errno.EIO, f"{exc.filename}: {exc.strerror}"
            ) from None

    def receive(self, frame: bytes | bytearray, offload: Offload = None) -> None:
        """Inject a frame as if it arrived from the wire."""
        frame = bytearray(frame)
        if self._rx_pcap is not None:
            for f in finish_offload(bytearray(frame), offload) if offload else [frame]:
                self._rx_pcap.write(f)
            self._rx_pcap.flush()
        self._rxq.append((frame, offload))

    def rx_ready(self) -> bool:
        return bool(self._rxq)

    def recv_batch(self, max_n: int) -> list[Packet]:
        self._check_present()
        out: list[Packet] = []
        q = self._rxq
        while q and len(out) < max_n:
            out.append(q.popleft())
        self._stats.rx_packets += len(out)
        self._stats.rx_bytes += sum(len(f) for f, _ in out)
        return out

    def send_batch(self, packets: Sequence[tuple[bytes | bytearray, Offload]]) -> int:
        self._check_present()
        nbytes = 0
        n = 0
        for frame, offload in packets:
            frames = (
                finish_offload(bytearray(frame), offload)
                if offload is not None
                else [bytearray(frame)]
            )
            for f in frames:
                self.sent.append(f)
                nbytes += len(f)
                n += 1
                if self._tx_pcap is not None:
                    self._tx_pcap.write(f)
        if self._tx_pcap is not None:
            self._tx_pcap.flush()
        self._stats.tx_packets += n
        self._stats.tx_bytes += nbytes
        return len(packets)

    def fileno(self) -> int | None:
        return None

    def get_mtu(self) -> int:
        return self._mtu

    def get_hw_addr(self) -> bytes:
        return self._hw_addr

    def get_carrier(self) -> bool:
        self._check_present()
        return self.carrier

    def get_stats(self) -> NetdevStats:
        return self._stats.copy()

    def reopen(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        writers = {id(w): w for w in (self._tx_pcap, self._rx_pcap) if w is not None}
        for w in writers.values():
            w.close()
        self._tx_pcap = self._rx_pcap = None
