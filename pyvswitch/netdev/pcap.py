"""pcap files: a reader, a writer, and the ``pcap`` port type built on them.

Layer: netdev (imports ``netdev.offload``, ``netdev.provider``, ``pyvswitch.errors``,
``pyvswitch.coverage``; reads the clock for capture timestamps).

Files are classic libpcap (not pcapng), Ethernet link type, as ``tcpdump -w`` writes
and ``tcpdump -r`` reads; the reader also takes big-endian and nanosecond files.

A ``pcap`` port (``options:rx=FILE``, ``options:tx=FILE``) replays its rx file once, as
fast as the switch polls it, and appends every transmitted frame to its tx file.
Frames with pending offloads are finished in software before they are written, so
the capture shows what would be on a wire.
"""

from __future__ import annotations

import errno
import struct
import time
from collections.abc import Mapping, Sequence
from typing import BinaryIO

from pyvswitch import coverage
from pyvswitch.errors import NetdevError
from pyvswitch.netdev.offload import finish_offload
from pyvswitch.netdev.provider import NetdevStats, Offload, Packet, parse_mtu

__all__ = ["NetdevPcap", "PcapReader", "PcapWriter", "read_pcap"]

_MAGIC_US = 0xA1B2C3D4
_MAGIC_NS = 0xA1B23C4D
_LINKTYPE_ETHERNET = 1
_SNAPLEN = 262144
_GLOBAL = struct.Struct("=IHHiIII")
_RECORD = struct.Struct("=IIII")


class PcapReader:
    """Iterates over the frames of a pcap file; raises NetdevError on a bad header."""

    def __init__(self, f: BinaryIO, name: str) -> None:
        self._f = f
        self._name = name
        head = f.read(24)
        if len(head) < 24:
            raise NetdevError(name, errno.EINVAL, "pcap file is too short for its header")
        magic_le = struct.unpack_from("<I", head)[0]
        magic_be = struct.unpack_from(">I", head)[0]
        if magic_le in (_MAGIC_US, _MAGIC_NS):
            self._order, magic = "<", magic_le
        elif magic_be in (_MAGIC_US, _MAGIC_NS):
            self._order, magic = ">", magic_be
        else:
            raise NetdevError(name, errno.EINVAL, f"not a pcap file (magic 0x{magic_le:08x})")
        self._record = struct.Struct(self._order + "IIII")
        self.nanosecond = magic == _MAGIC_NS
        linktype = struct.unpack_from(self._order + "I", head, 20)[0]
        if linktype & 0x0FFFFFFF != _LINKTYPE_ETHERNET:
            raise NetdevError(name, errno.EINVAL, f"pcap link type {linktype} is not Ethernet")

    def read(self) -> tuple[float, bytearray] | None:
        """The next (timestamp, frame), or None at the end (a truncated tail is ignored)."""
        head = self._f.read(16)
        if len(head) < 16:
            if head:
                coverage.inc("pcap_truncated_record")
            return None
        sec, frac, caplen, _ = self._record.unpack(head)
        data = self._f.read(caplen)
        if len(data) < caplen:
            coverage.inc("pcap_truncated_record")
            return None
        ts = sec + frac / (1e9 if self.nanosecond else 1e6)
        return ts, bytearray(data)

    def __iter__(self):
        while (rec := self.read()) is not None:
            yield rec


class PcapWriter:
    """Appends frames to a new pcap file; each batch is flushed so readers see it."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        f.write(_GLOBAL.pack(_MAGIC_US, 2, 4, 0, 0, _SNAPLEN, _LINKTYPE_ETHERNET))
        f.flush()

    def write(self, frame: bytes | bytearray, ts: float | None = None) -> None:
        if ts is None:
            ts = time.time()
        sec = int(ts)
        usec = min(int((ts - sec) * 1e6), 999999)
        n = len(frame)
        caplen = min(n, _SNAPLEN)
        self._f.write(_RECORD.pack(sec, usec, caplen, n))
        self._f.write(frame[:caplen])

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def read_pcap(path: str) -> list[bytearray]:
    """Every frame of a pcap file (for tests and tools)."""
    with open(path, "rb") as f:
        return [frame for _, frame in PcapReader(f, path)]


class NetdevPcap:
    """``type=pcap``: replay ``options:rx``, capture to ``options:tx``."""

    def __init__(self, name: str, type_: str, options: Mapping[str, str]) -> None:
        self.name = name
        self.type = type_
        self._options = dict(options)
        unknown = set(options) - {"rx", "tx", "mtu"}
        if unknown:
            coverage.inc("netdev_unknown_option")
        if not options.get("rx") and not options.get("tx"):
            raise NetdevError(name, errno.EINVAL, "pcap port needs options:rx or options:tx")
        self._mtu = parse_mtu(name, options.get("mtu"))
        self._stats = NetdevStats()
        self._reader: PcapReader | None = None
        self._rx_file: BinaryIO | None = None
        self._writer: PcapWriter | None = None
        self._next: tuple[float, bytearray] | None = None
        self._open()

    def _open(self) -> None:
        rx, tx = self._options.get("rx"), self._options.get("tx")
        try:
            if rx:
                self._rx_file = open(rx, "rb")
                self._reader = PcapReader(self._rx_file, self.name)
                self._next = self._reader.read()
            if tx:
                self._writer = PcapWriter(open(tx, "wb"))
        except OSError as exc:
            self.close()
            raise NetdevError(
                self.name, exc.errno or errno.EIO, f"{exc.filename}: {exc.strerror}"
            ) from None
        except NetdevError:
            self.close()
            raise

    @property
    def exhausted(self) -> bool:
        """True once every frame of the rx file has been received."""
        return self._next is None

    def rx_ready(self) -> bool:
        return self._next is not None

    def recv_batch(self, max_n: int) -> list[Packet]:
        out: list[Packet] = []
        nbytes = 0
        while self._next is not None and len(out) < max_n:
            frame = self._next[1]
            out.append((frame, None))
            nbytes += len(frame)
            self._next = self._reader.read() if self._reader else None
        self._stats.rx_packets += len(out)
        self._stats.rx_bytes += nbytes
        return out

    def send_batch(self, packets: Sequence[tuple[bytes | bytearray, Offload]]) -> int:
        if self._writer is None:
            self._stats.tx_dropped += len(packets)
            return 0
        ts = time.time()
        n = 0
        for frame, offload in packets:
            frames = finish_offload(bytearray(frame), offload) if offload is not None else [frame]
            for f in frames:
                self._writer.write(f, ts)
                self._stats.tx_bytes += len(f)
                n += 1
        self._writer.flush()
        self._stats.tx_packets += n
        return len(packets)

    def fileno(self) -> int | None:
        return None

    def get_mtu(self) -> int:
        return self._mtu

    def get_hw_addr(self) -> bytes:
        return b"\x00\x00\x00\x00\x00\x00"

    def get_carrier(self) -> bool:
        return True

    def get_stats(self) -> NetdevStats:
        return self._stats.copy()

    def reopen(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        if self._rx_file is not None:
            self._rx_file.close()
            self._rx_file = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._reader = None
        self._next = None
