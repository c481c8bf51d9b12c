"""The daemon's open ports: netdevs by name and datapath number, rx/tx, failures, retries.

Layer: daemon (imports ``netdev.provider``, ``daemon.vlog``, ``errors``, ``coverage``).

A port is always known to the switch (so its OpenFlow and datapath numbers stay put),
but its device may be missing: then ``error`` holds the text ``pyvs-vsctl show``
prints on the interface (``could not open network device p9 (No such device)``, OVS's
words), transmissions to it are dropped, and :meth:`PortTable.retry` tries to open it
again every few seconds.  A device that vanishes while open turns into the same state
on the first receive or send that notices.

Ports with a descriptor are registered in the loop's selector; the others (``dummy``,
``pcap``) are polled each loop turn while they say ``rx_ready()``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pyvswitch import coverage
from pyvswitch.daemon.vlog import Vlog
from pyvswitch.errors import NetdevError
from pyvswitch.netdev.provider import NetdevProvider, NetdevStats, open_netdev

__all__ = ["RETRY_INTERVAL", "RX_BATCH", "PortState", "PortTable", "open_error_text"]

#: seconds between attempts to reopen a missing device
RETRY_INTERVAL = 2.0
#: frames read from one port per loop turn
RX_BATCH = 64
#: empty reads of a readable port, over at least this long, that mean "wedged"
WEDGED_READS = 200
WEDGED_TIME = 0.5


def open_error_text(name: str, exc: NetdevError) -> str:
    """The interface error OVS shows for a device that cannot be opened."""
    text = str(exc)
    prefix = f"{name}: "
    reason = text[len(prefix):] if text.startswith(prefix) else text
    if exc.errno and reason in ("", os.strerror(exc.errno)):
        reason = os.strerror(exc.errno)
    return f"could not open network device {name} ({reason})"


@dataclass
class PortState:
    """One port as the daemon runs it."""

    name: str
    bridge: str
    type: str  # the netdev type actually opened ("system", "internal", "dummy", ...)
    options: dict[str, str]
    ofport: int
    dp_port: int = -1
    netdev: NetdevProvider | None = None
    error: str | None = None
    next_retry: float = 0.0
    fd: int | None = None
    #: traffic counted while the device is missing (sends dropped)
    tx_dropped: int = 0
    #: counters of earlier incarnations of the device, so stats never go backwards
    base: NetdevStats = field(default_factory=NetdevStats)
    #: consecutive wake-ups that found nothing to read, and when the run began
    empty_reads: int = 0
    empty_since: float = 0.0

    def stats(self) -> NetdevStats:
        s = self.base.copy()
        if self.netdev is not None:
            with contextlib.suppress(NetdevError, OSError):
                cur = self.netdev.get_stats()
                for f in ("rx_packets", "rx_bytes", "rx_dropped", "rx_errors",
                          "tx_packets", "tx_bytes", "tx_dropped", "tx_errors"):
                    setattr(s, f, getattr(s, f) + getattr(cur, f))
        s.tx_dropped += self.tx_dropped
        return s


class PortTable:
    """Every open (or failed) port, keyed by name and by datapath port number."""

    def __init__(self, sel: selectors.BaseSelector, vlog: Vlog,
                 on_readable: Callable[[PortState], None]) -> None:
        self.sel = sel
        self.vlog = vlog
        self.on_readable = on_readable
        self.by_name: dict[str, PortState] = {}
        self.by_dp: dict[int, PortState] = {}

    def __iter__(self) -> Iterator[PortState]:
        return iter(list(self.by_name.values()))

    def get(self, name: str) -> PortState | None:
        return self.by_name.get(name)

    # ------------------------------------------------------------------ open/close
    def try_open(self, port: PortState) -> NetdevError | None:
        """Open the port's device; on failure record the error and return it."""
        try:
            port.netdev = open_netdev(port.name, port.type, port.options)
        except NetdevError as exc:
            self._failed(port, exc, opening=True)
            return exc
        port.error = None
        self._register(port)
        return None

    def add(self, port: PortState, netdev: NetdevProvider | None = None,
            error: NetdevError | None = None) -> None:
        """Take over a port; ``netdev`` when already opened, else it is opened now
        (or, with ``error``, recorded as failed)."""
        self.by_name[port.name] = port
        if port.dp_port >= 0:
            self.by_dp[port.dp_port] = port
        if netdev is not None:
            port.netdev = netdev
            port.error = None
            self._register(port)
        elif error is not None:
            self._failed(port, error, opening=True)
        else:
            self.try_open(port)

    def set_dp_port(self, port: PortState, dp_port: int) -> None:
        if port.dp_port >= 0:
            self.by_dp.pop(port.dp_port, None)
        port.dp_port = dp_port
        self.by_dp[dp_port] = port

    def remove(self, name: str) -> PortState | None:
        port = self.by_name.pop(name, None)
        if port is None:
            return None
        if self.by_dp.get(port.dp_port) is port:
            del self.by_dp[port.dp_port]
        self._close(port)
        return port

    def close_all(self) -> None:
        for name in list(self.by_name):
            self.remove(name)

    def _register(self, port: PortState) -> None:
        fd = port.netdev.fileno() if port.netdev is not None else None
        if fd is not None and fd >= 0:
            self.sel.register(fd, selectors.EVENT_READ, lambda m, p=port: self.on_readable(p))
            port.fd = fd

    def _unregister(self, port: PortState) -> None:
        if port.fd is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(port.fd)
            port.fd = None

    def _close(self, port: PortState) -> None:
        self._unregister(port)
        if port.netdev is not None:
            port.base = port.stats()
            port.tx_dropped = 0
            with contextlib.suppress(NetdevError, OSError):
                port.netdev.close()
            port.netdev = None

    def _failed(self, port: PortState, exc: NetdevError, opening: bool, now: float = 0.0) -> None:
        text = open_error_text(port.name, exc)
        if port.error != text:
            self.vlog.warn("bridge", f"{port.name}: {text}" if not opening else text)
        port.error = text
        port.next_retry = now + RETRY_INTERVAL

    def device_lost(self, port: PortState, exc: NetdevError, now: float) -> None:
        """The open device failed (it vanished): stop using it until it is back."""
        self._unregister(port)
        if port.netdev is not None:
            port.base = port.stats()
            port.tx_dropped = 0
            with contextlib.suppress(NetdevError, OSError):
                port.netdev.close()
            port.netdev = None
        coverage.inc("port_device_lost")
        self._failed(port, exc, opening=False, now=now)

    def rx_empty(self, port: PortState, now: float) -> None:
        """A readable port gave nothing.  Now and then that is a race; many times in a
        row means the device's receive path is wedged (an AF_PACKET ring whose reader
        waits on a slot the kernel skipped, while the kernel drops everything because
        the ring looks full): open the device afresh."""
        if port.empty_reads == 0:
            port.empty_since = now
        port.empty_reads += 1
        if port.empty_reads < WEDGED_READS or now - port.empty_since < WEDGED_TIME:
            return
        port.empty_reads = 0
        coverage.inc("port_rx_wedged_reopen")
        self.vlog.warn("bridge", f"{port.name}: receive path stuck, reopening the device")
        self._unregister(port)
        nd = port.netdev
        if nd is None:
            return
        try:
            nd.reopen()
        except NetdevError as exc:
            self.device_lost(port, exc, now)
            return
        self._register(port)

    def rx_ok(self, port: PortState) -> None:
        port.empty_reads = 0

    def retry(self, now: float) -> list[PortState]:
        """Reopen the failed ports whose time has come; returns those now open."""
        back = []
        for port in self:
            if port.netdev is None and port.next_retry <= now:
                if self.try_open(port) is None:
                    self.vlog.info("bridge", f"{port.name}: device is back, port reopened")
                    back.append(port)
                else:
                    port.next_retry = now + RETRY_INTERVAL
        return back

    # ------------------------------------------------------------------ packets
    def polled(self) -> list[PortState]:
        """Ports without a descriptor that have frames waiting."""
        out = []
        for port in self.by_name.values():
            nd = port.netdev
            if nd is not None and port.fd is None:
                try:
                    if nd.rx_ready():
                        out.append(port)
                except (NetdevError, OSError):
                    continue
        return out

    def transmit(self, dp_port: int, batch: list, now: float) -> None:
        """Send ``[(frame, offload), ...]`` on a datapath port; never raises."""
        port = self.by_dp.get(dp_port)
        if port is None:
            coverage.inc("port_tx_unknown")
            return
        nd = port.netdev
        if nd is None:
            port.tx_dropped += len(batch)
            return
        try:
            nd.send_batch(batch)
        except NetdevError as exc:
            port.tx_dropped += len(batch)
            if exc.errno in (errno.ENODEV, errno.ENXIO, errno.EBADF, errno.EBADFD):
                self.device_lost(port, exc, now)
        except OSError:
            port.tx_dropped += len(batch)
            coverage.inc("port_tx_error")
