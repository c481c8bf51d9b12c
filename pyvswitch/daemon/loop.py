"""pyvswitchd's event loop: ports, the control socket and timers in one selector.

Layer: daemon (imports ``config.store``, ``control.commands``, ``daemon.*``; owns the
selector, the signals and the real clock).

One loop turn:

1. wait in ``select`` until a port or a control connection is readable, a signal
   arrives, or the next timer is due (ports without a descriptor that still hold
   frames make the wait zero);
2. for each readable port read one batch, run it through the datapath, and transmit
   the outputs grouped per port;
3. control requests are answered in the order they arrive (handlers run to completion
   in the loop, so they see a consistent switch);
4. timers: ``Switch.run(now)`` (flow timeouts, MAC aging, conntrack sweep,
   revalidation), retries of missing devices, controller events drained.

An exception escaping the packet path is a bug: it is logged with its traceback,
counted, and the loop goes on.
"""

from __future__ import annotations

import contextlib
import operator
import os
import selectors
import signal
import socket
import time
import traceback
from collections.abc import Callable
from typing import Any

from pyvswitch import coverage
from pyvswitch.config.model import Config
from pyvswitch.config.store import ConfigStore
from pyvswitch.control.commands import CommandTable
from pyvswitch.daemon.bridges import Bridges
from pyvswitch.daemon.paths import Paths
from pyvswitch.daemon.ports import RX_BATCH, PortState, PortTable
from pyvswitch.daemon.switchio import new_switch, process
from pyvswitch.daemon.unixctl import UnixctlServer
from pyvswitch.daemon.vlog import Vlog
from pyvswitch.errors import ConfigError, NetdevError

__all__ = ["Daemon", "RUN_INTERVAL", "VERSION"]

_PORT = operator.itemgetter(0)
_FRAME = operator.itemgetter(1, 2)

VERSION = "0.1.0"
#: seconds between ``Switch.run`` calls
RUN_INTERVAL = 0.5
#: batches read from one port per readiness event before the others get a turn
RX_BURST = 4


class Daemon:
    """Everything pyvswitchd runs, wired together; :meth:`serve` is the loop."""

    def __init__(self, paths: Paths, vlog: Vlog, switch: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.paths = paths
        self.vlog = vlog
        self.clock = clock
        self.started = clock()
        self.sel = selectors.DefaultSelector()
        self.switch = switch if switch is not None else new_switch()
        self.ports = PortTable(self.sel, vlog, self._on_port_readable)
        self.bridges = Bridges(self.switch, self.ports, vlog)
        self.store = ConfigStore(paths.conf)
        self.table = CommandTable(version=f"pyvswitchd (pyvswitch) {VERSION}")
        self.server: UnixctlServer | None = None
        self.openflow: Any = None
        self.exiting = False
        self._next_run = 0.0
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._old_handlers: dict[int, Any] = {}
        #: hooks run once per loop turn after the timers (OpenFlow connections later)
        self.periodic: list[Callable[[float], None]] = []
        from pyvswitch.daemon import commands

        commands.register_all(self)

    # ------------------------------------------------------------------ start/stop
    def start(self) -> None:
        """Load the configuration, build the bridges, open the control socket.

        A configuration file that cannot be loaded stops the start with its path and
        the reason (the daemon never overwrites it).
        """
        cfg = self.store.load().copy()
        from pyvswitch.daemon import ofsockets  # OpenFlow: .mgmt sockets and controllers

        ofsockets.attach(self)
        self.apply_config(cfg, save=True)
        self.server = UnixctlServer(self.paths.ctl, self.table, self.sel, self.vlog)
        self.vlog.info("vswitchd", f"pyvswitchd {VERSION} started, control socket "
                                   f"{self.paths.ctl}")

    def apply_config(self, cfg: Config, save: bool, strict: bool = False) -> None:
        """Make ``cfg`` run, then store it if the port numbers it got differ from the
        saved ones (or ``save`` asks for it anyway)."""
        self.switch.now = self.clock()
        self.bridges.apply(cfg, strict=strict)
        if save and cfg != self.store.config:
            self.store.save(cfg)

    def install_signals(self) -> None:
        """SIGTERM/SIGINT end the loop cleanly; the wakeup socket makes it prompt."""
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.sel.register(self._wake_r, selectors.EVENT_READ, self._on_wakeup)
        signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    def _on_signal(self, signum: int, frame: object) -> None:
        if signum == signal.SIGHUP:
            self._reopen_log = True
            return
        self.vlog.info("vswitchd", f"{signal.Signals(signum).name} received, exiting")
        self.exiting = True

    _reopen_log = False

    def _on_wakeup(self, mask: int) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r is not None and self._wake_r.recv(512):
                pass
        if self._reopen_log:
            self._reopen_log = False
            self.vlog.reopen()

    def stop(self) -> None:
        """Close the control socket and every port (removes the socket file)."""
        if self.server is not None:
            self.server.close()
            self.server = None
        self.bridges.shutdown()
        if self._wake_r is not None:
            with contextlib.suppress(ValueError):
                signal.set_wakeup_fd(-1)
            for sig, old in self._old_handlers.items():
                with contextlib.suppress(ValueError, TypeError):
                    signal.signal(sig, old)
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(self._wake_r)
            self._wake_r.close()
            if self._wake_w is not None:
                self._wake_w.close()
            self._wake_r = self._wake_w = None
        self.sel.close()
        self.vlog.info("vswitchd", "pyvswitchd stopped")

    # ------------------------------------------------------------------ the loop
    def serve(self) -> None:
        while not self.exiting:
            self.run_once()
        if self.server is not None:
            self.server.flush_all()

    def run_once(self, max_wait: float = RUN_INTERVAL) -> None:
        now = self.clock()
        polled = self.ports.polled()
        timeout = 0.0 if polled else max(0.0, min(max_wait, self._next_run - now))
        events = self.sel.select(timeout)
        self.switch.now = self.clock()
        for key, mask in events:
            try:
                key.data(mask)
            except Exception:  # a bug: log it, keep serving
                self._bug("event handler")
        for port in polled:
            self._on_port_readable(port)
        self.timers(self.clock())

    def timers(self, now: float) -> None:
        if now >= self._next_run:
            self._next_run = now + RUN_INTERVAL
            try:
                self.switch.run(now)
            except Exception:
                self._bug("switch run")
            self.drain_events()
        for port in self.ports.retry(now):
            self.vlog.info("bridge", f"{port.name}: reopened")
        for hook in self.periodic:
            try:
                hook(now)
            except Exception:
                self._bug("periodic hook")

    def drain_events(self) -> None:
        """Controller events (packet-ins, flow-removed, port-status) go nowhere until an
        OpenFlow connection takes them; drop them so the queues stay bounded."""
        for br in list(getattr(self.switch, "bridges", {}).values()):
            events = getattr(br, "events", None)
            if events:
                events.clear()

    def _bug(self, where: str) -> None:
        coverage.inc("daemon_exception")
        self.vlog.err("vswitchd", f"unexpected exception in {where}: "
                                  + traceback.format_exc().replace("\n", " | "))

    # ------------------------------------------------------------------ packets
    def _on_port_readable(self, port: PortState) -> None:
        nd = port.netdev
        if nd is None:
            return
        now = self.clock()
        for n in range(RX_BURST):
            try:
                batch = nd.recv_batch(RX_BATCH)
            except NetdevError as exc:
                self.ports.device_lost(port, exc, now)
                return
            except OSError:
                coverage.inc("port_rx_error")
                return
            if not batch:
                if n == 0 and port.fd is not None:
                    self.ports.rx_empty(port, now)
                return
            if n == 0:
                self.ports.rx_ok(port)
            self.forward(port.dp_port, batch, now)
            if len(batch) < RX_BATCH:
                return

    def poll_port(self, port: PortState) -> None:
        """Process everything a descriptor-less port holds now (``netdev-dummy/receive``)."""
        for _ in range(1024):
            nd = port.netdev
            if nd is None or not nd.rx_ready():
                return
            self._on_port_readable(port)

    def send_named(self, outputs: list[tuple[str, bytes]], now: float) -> None:
        """Transmit ``(port name, frame)`` pairs (what ``Switch.packet_out`` returns)."""
        for name, frame in outputs:
            port = self.ports.get(name)
            if port is not None and port.dp_port >= 0:
                self.ports.transmit(port.dp_port, [(bytearray(frame), None)], now)

    def forward(self, dp_port: int, batch: list, now: float) -> None:
        """Run ``[(frame, offload), ...]`` received on ``dp_port``; transmit the result.

        Per-packet work here is kept to C-level iteration (``zip``, ``map`` with
        itemgetters): the datapath is where the Python time should go.
        """
        frames, offloads = zip(*batch)
        try:
            outs = process(self.switch, dp_port, frames,
                           None if offloads.count(None) == len(offloads) else offloads, now)
        except Exception:
            self._bug("packet processing")
            return
        if not outs:
            return
        out_ports = set(map(_PORT, outs))
        if len(out_ports) == 1:
            self.ports.transmit(outs[0][0], list(map(_FRAME, outs)), now)
            return
        for out_port in out_ports:
            self.ports.transmit(out_port, [_FRAME(o) for o in outs if o[0] == out_port], now)

    # ------------------------------------------------------------------ config edits
    def transact(self, commands: list) -> list[str]:
        """Run vsctl commands all-or-nothing: applied to the switch, then saved.

        The switch changes only if the new configuration can run (a new system port
        must have its device); if saving fails the old configuration is put back.
        """
        from pyvswitch.config.vsctl import execute

        if self.store.corrupt is not None or self.store.changed_on_disk():
            try:
                self.store.load()
            except ConfigError:
                raise
        old = self.store.config
        new, outputs, changed = execute(old, commands)
        if not changed:
            return outputs
        self.switch.now = self.clock()
        self.bridges.apply(new, strict=True)
        try:
            self.store.save(new)
        except ConfigError:
            self.bridges.apply(old)
            raise
        return outputs

    def status_config(self) -> Config:
        return self.bridges.fill_status(self.store.config)

    def uptime(self) -> float:
        return self.clock() - self.started

    def pid(self) -> int:
        return os.getpid()
