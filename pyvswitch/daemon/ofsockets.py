"""pyvswitchd's OpenFlow sockets: the thin I/O shell around ``pyvswitch.ofserver``.

Per bridge there is one :class:`~pyvswitch.ofserver.connmgr.ConnManager` (all the
protocol logic, sans-I/O) and here its sockets: the management socket
``$PYVS_RUNDIR/<br>.mgmt`` (always), ``ptcp:``/``punix:`` listeners and active
``tcp:``/``unix:`` controller connections configured with ``set-controller``.

Interface for the daemon loop (``daemon/loop.py``):

* ``server = OpenFlowServer(switch, rundir, sel, host)`` -- sockets are registered in
  the daemon's selector with callables ``data(mask)``, as the loop expects;
* ``server.configure(bridges, now)`` after every configuration change, with
  ``{bridge name: (controller targets, fail_mode)}``;
* ``server.run(now)`` once per loop turn: drains the bridges' events (packet-ins,
  flow-removed, port-status) to the connections, runs timers (probes, reconnects,
  fail-open) and flushes output;
* ``server.close()`` at exit (removes the management sockets).

Sockets are non-blocking.  A connection whose peer stops reading is not read from
either once 1 MiB of replies is queued (OVS stops receiving past 100 queued replies),
and packet-ins to it are dropped past 4 MiB.

Layer: daemon (sockets, selectors).  Imports: ofserver, errors.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyvswitch import coverage
from pyvswitch.errors import ConfigError
from pyvswitch.ofserver.connmgr import ConnManager, Host
from pyvswitch.ofserver.ofconn import OFConn
from pyvswitch.ofserver.targets import Target, parse_target

__all__ = ["DaemonHost", "OpenFlowServer", "attach"]

#: stop reading a connection while this much output is queued for it
READ_PAUSE = 1024 * 1024
#: bytes read per recv call
RECV_SIZE = 65536
#: recv calls per readiness event before other sockets get a turn
RECV_BURST = 16
#: seconds between runs of the connection managers' timers
TIMER_TICK = 0.01


@dataclass
class _Conn:
    sock: socket.socket
    conn: OFConn
    mgr: ConnManager
    out: bytearray = field(default_factory=bytearray)
    events: int = 0


@dataclass
class _Listener:
    sock: socket.socket
    target: Target
    mgr: ConnManager
    path: str | None = None


@dataclass
class _Pending:
    """An active connection attempt in progress."""

    sock: socket.socket
    target: str
    mgr: ConnManager


class OpenFlowServer:
    """See the module docstring."""

    def __init__(self, switch: Any, rundir: str, sel: selectors.BaseSelector,
                 host: Host, clock: Callable[[], float], **mgr_options: Any) -> None:
        self.switch = switch
        self.clock = clock
        #: passed to every ConnManager (probe_interval, max_backoff)
        self.mgr_options = mgr_options
        self.rundir = rundir
        self.sel = sel
        self.host = host
        self.mgrs: dict[str, ConnManager] = {}
        self._listeners: dict[tuple[str, str], _Listener] = {}
        self._conns: dict[int, _Conn] = {}
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._n_accepted = 0
        self._next_tick = 0.0

    # ------------------------------------------------------------------ configuration
    def configure(self, bridges: dict[str, tuple[list[str], str]], now: float) -> None:
        """Make the listeners and controllers match ``{bridge: (targets, fail_mode)}``."""
        for name in list(self.mgrs):
            if name not in bridges or name not in getattr(self.switch, "bridges", {}):
                self._drop_bridge(name)
        for name, (targets, fail_mode) in bridges.items():
            if name not in getattr(self.switch, "bridges", {}):
                continue
            mgr = self.mgrs.get(name)
            if mgr is None:
                mgr = ConnManager(self.switch, name, self.host, now,
                                  fail_mode=fail_mode or "standalone", **self.mgr_options)
                mgr.catch_bugs = True
                mgr.defer_adds = True  # _io calls mgr.complete() once replies are sent
                self.mgrs[name] = mgr
                self._listen(mgr, parse_target(f"punix:{os.path.join(self.rundir, name)}"
                                               ".mgmt"), mgmt=True)
            good = []
            for t in targets:
                try:
                    parse_target(t)
                    good.append(t)
                except ConfigError as exc:
                    self.host.log("warn", f"{name}: {exc}")
            mgr.set_fail_mode(fail_mode or "standalone", now, flush=False)
            mgr.set_controllers(good, now)
            for text, t in mgr.services.items():
                if (name, text) not in self._listeners:
                    self._listen(mgr, t)
            for (bname, text) in list(self._listeners):
                if bname == name and text != "mgmt" and text not in mgr.services:
                    self._close_listener((bname, text))
            for (bname, text) in list(self._pending):
                if bname == name and text not in mgr.controllers:
                    self._abort(bname, text)
        self.flush_all(now)

    def _drop_bridge(self, name: str) -> None:
        mgr = self.mgrs.pop(name)
        mgr.close_all()
        for key in [k for k in self._listeners if k[0] == name]:
            self._close_listener(key)
        for key in [k for k in self._pending if k[0] == name]:
            self._abort(*key)
        for fd, c in list(self._conns.items()):
            if c.mgr is mgr:
                self._close_conn(fd, 0.0)

    # ------------------------------------------------------------------ listeners
    def _listen(self, mgr: ConnManager, target: Target, mgmt: bool = False) -> None:
        key = (mgr.bridge_name, "mgmt" if mgmt else target.text)
        try:
            if target.kind == "unix":
                path = target.path
                _unlink_socket(path)
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.bind(path)
                with contextlib.suppress(OSError):
                    os.chmod(path, 0o600 if mgmt else 0o660)
            else:
                family = socket.AF_INET6 if ":" in target.host else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((target.host or ("::" if family == socket.AF_INET6 else "0.0.0.0"),
                           target.port))
                path = None
            sock.listen(64)
            sock.setblocking(False)
        except OSError as exc:
            self.host.log("err", f"{mgr.bridge_name}: {target.text}: listen failed "
                                 f"({exc.strerror or exc})")
            return
        lst = _Listener(sock, target, mgr, path)
        self._listeners[key] = lst
        self.sel.register(sock, selectors.EVENT_READ, lambda mask, k=key: self._accept(k))
        self.host.log("info", f"{mgr.bridge_name}: listening on {target.text}")

    def _close_listener(self, key: tuple[str, str]) -> None:
        lst = self._listeners.pop(key, None)
        if lst is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(lst.sock)
        lst.sock.close()
        if lst.path:
            _unlink_socket(lst.path)

    def _accept(self, key: tuple[str, str]) -> None:
        lst = self._listeners.get(key)
        if lst is None:
            return
        now = self.clock()
        for _ in range(64):
            try:
                sock, addr = lst.sock.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self.host.log("warn", f"{lst.target.text}: accept failed ({exc})")
                break
            sock.setblocking(False)
            if sock.family != socket.AF_UNIX:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._n_accepted += 1
            peer = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else "<->unix"
            name = f"{lst.mgr.bridge_name}<->{peer}#{self._n_accepted}"
            target = None if key[1] == "mgmt" else key[1]
            conn = lst.mgr.accepted(name, now, target=target,
                                    probe_interval=None if target is None else
                                    lst.mgr.probe_interval)
            self._add_conn(sock, conn, lst.mgr, now)

    # ------------------------------------------------------------------ connections
    def _add_conn(self, sock: socket.socket, conn: OFConn, mgr: ConnManager,
                  now: float) -> None:
        c = _Conn(sock, conn, mgr, events=selectors.EVENT_READ)
        fd = sock.fileno()
        self._conns[fd] = c
        self.sel.register(sock, selectors.EVENT_READ, lambda mask, fd=fd: self._io(fd, mask))
        self._flush(fd, c, now)

    def _io(self, fd: int, mask: int) -> None:
        c = self._conns.get(fd)
        if c is None:
            return
        now = self.clock()
        if mask & selectors.EVENT_READ and len(c.out) < READ_PAUSE:
            for _ in range(RECV_BURST):
                try:
                    data = c.sock.recv(RECV_SIZE)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as exc:
                    c.conn.close(f"receive error ({exc.strerror or exc})")
                    break
                c.conn.receive(data, now)
                if not data or c.conn.closed or len(data) < RECV_SIZE:
                    break
            # a request may have queued messages for other connections (flow-removed,
            # packet-ins from a packet-out): flush the whole bridge; then finish what
            # the requests deferred (rule insertions), before anything else runs
            self.flush_bridge(c.mgr, now)
            c.mgr.complete(now)
            return
        self._flush(fd, c, now)

    def _flush(self, fd: int, c: _Conn, now: float) -> None:
        """Move the connection's output to the socket; close it if it is done.  While
        the socket is backed up, output stays queued in the connection, where
        asynchronous messages beyond its limit are dropped."""
        conn = c.conn
        if not c.out and not conn.pending_output() and not conn.closed \
                and (not conn.close_after_flush or now < conn.close_at):
            return  # nothing to do (the common case, every loop turn)
        if len(c.out) < READ_PAUSE:
            c.out += c.conn.data_to_send()
        while c.out:
            try:
                n = c.sock.send(c.out)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                c.conn.close(f"send error ({exc.strerror or exc})")
                c.out.clear()
                break
            del c.out[:n]
        if len(c.out) < READ_PAUSE and c.conn.pending_output():
            c.out += c.conn.data_to_send()
        if c.conn.close_after_flush and not c.out and now >= c.conn.close_at:
            c.conn.close(c.conn.close_reason or "version negotiation failed")
        if c.conn.closed:
            self._close_conn(fd, now)
            return
        want = selectors.EVENT_READ if len(c.out) < READ_PAUSE else 0
        if c.out:
            want |= selectors.EVENT_WRITE
        if want != c.events:
            # (want is never empty: reads pause only while output is queued)
            c.events = want
            self.sel.modify(c.sock, want, lambda mask, fd=fd: self._io(fd, mask))

    def _close_conn(self, fd: int, now: float) -> None:
        c = self._conns.pop(fd, None)
        if c is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(c.sock)
        with contextlib.suppress(OSError):
            c.sock.close()
        c.mgr.closed(c.conn, now)

    def flush_bridge(self, mgr: ConnManager, now: float) -> None:
        for fd, c in list(self._conns.items()):
            if c.mgr is mgr:
                self._flush(fd, c, now)

    def flush_all(self, now: float) -> None:
        for fd, c in list(self._conns.items()):
            self._flush(fd, c, now)

    # ------------------------------------------------------------------ controllers
    def _connect(self, mgr: ConnManager, text: str, now: float) -> None:
        target = mgr.controllers[text].target
        try:
            if target.kind == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.setblocking(False)
                sock.connect(target.path)
            else:
                family = socket.AF_INET6 if ":" in target.host else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.setblocking(False)
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                err = sock.connect_ex((target.host, target.port))
                if err not in (0, errno.EINPROGRESS, errno.EAGAIN):
                    sock.close()
                    mgr.connect_failed(text, now, os.strerror(err))
                    return
                if err:
                    key = (mgr.bridge_name, text)
                    self._pending[key] = _Pending(sock, text, mgr)
                    self.sel.register(sock, selectors.EVENT_WRITE,
                                      lambda mask, k=key: self._connect_done(k))
                    return
        except OSError as exc:
            with contextlib.suppress(UnboundLocalError, OSError):
                sock.close()
            mgr.connect_failed(text, now, exc.strerror or str(exc))
            return
        self._add_conn(sock, mgr.connected(text, now), mgr, now)

    def _connect_done(self, key: tuple[str, str]) -> None:
        p = self._pending.pop(key, None)
        if p is None:
            return
        now = self.clock()
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(p.sock)
        err = p.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err or p.target not in p.mgr.controllers:
            p.sock.close()
            if p.target in p.mgr.controllers:
                p.mgr.connect_failed(p.target, now, os.strerror(err))
            return
        self._add_conn(p.sock, p.mgr.connected(p.target, now), p.mgr, now)

    def _abort(self, bridge: str, text: str) -> None:
        p = self._pending.pop((bridge, text), None)
        if p is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(p.sock)
        p.sock.close()

    # ------------------------------------------------------------------ the loop
    def run(self, now: float) -> None:
        """Once per loop turn: events to controllers and output; timers (probes,
        reconnects, fail-open) every ``TIMER_TICK`` seconds at most (they count in
        seconds, and a loop turn per flow_mod must stay cheap)."""
        if now >= self._next_tick or now < self._next_tick - TIMER_TICK:
            self._next_tick = now + TIMER_TICK
            for name, mgr in list(self.mgrs.items()):
                for action, text in mgr.run(now):
                    if action == "connect":
                        self._connect(mgr, text, now)
                    elif action == "abort":
                        self._abort(name, text)
                        coverage.inc("ofconn_connect_timeout")
        else:
            for mgr in self.mgrs.values():
                mgr.complete(now)
                mgr.flush_events(now)
        self.flush_all(now)

    def next_deadline(self) -> float | None:
        times = [t for m in self.mgrs.values() if (t := m.next_deadline()) is not None]
        return min(times) if times else None

    def close(self) -> None:
        for key in list(self._pending):
            self._abort(*key)
        for fd in list(self._conns):
            c = self._conns[fd]
            with contextlib.suppress(OSError):
                c.out += c.conn.data_to_send()
                if c.out:
                    c.sock.send(c.out)
            self._close_conn(fd, 0.0)
        for key in list(self._listeners):
            self._close_listener(key)
        self.mgrs.clear()

    def connections(self) -> list[OFConn]:
        return [c.conn for c in self._conns.values()]


def _unlink_socket(path: str) -> None:
    """Remove a stale socket file (never anything that is not a socket)."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    if stat.S_ISSOCK(st.st_mode):
        with contextlib.suppress(OSError):
            os.unlink(path)


class DaemonHost:
    """The daemon as the connection managers' host: packet-out transmission, port
    counters and addresses, logging."""

    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon

    def transmit(self, outputs: list[tuple[str, bytes]], now: float) -> None:
        self.daemon.send_named(outputs, now)

    def _port(self, port: str) -> Any:
        ports = getattr(self.daemon, "ports", None)
        return ports.get(port) if ports is not None else None

    def port_counters(self, bridge: str, port: str) -> dict[str, int] | None:
        p = self._port(port)
        if p is None:
            return None
        s = p.stats()
        fields = ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes"]
        if getattr(p, "type", "") != "dummy":
            # in-memory ports keep no drop or error counters ("?" in ovs-ofctl, as OVS
            # shows for its dummy ports)
            fields += ["rx_dropped", "rx_errors", "tx_dropped", "tx_errors"]
        return {f: getattr(s, f) for f in fields}

    def port_hw_addr(self, bridge: str, port: str) -> int | None:
        p = self._port(port)
        nd = getattr(p, "netdev", None)
        if nd is None:
            return None
        try:
            return int.from_bytes(bytes(nd.get_hw_addr())[:6], "big") or None
        except Exception:  # a device that cannot say: fall back to a made-up address
            return None

    def log(self, level: str, msg: str) -> None:
        vlog = self.daemon.vlog
        getattr(vlog, level if level in ("info", "warn", "err", "dbg") else "info")(
            "connmgr", msg)


def bridge_settings(cfg: Any) -> dict[str, tuple[list[str], str]]:
    """``{bridge: (controller targets, fail_mode)}`` from a configuration."""
    return {name: (list(br.controller), br.fail_mode or "standalone")
            for name, br in cfg.bridges.items()}


def attach(daemon: Any) -> OpenFlowServer:
    """Create the daemon's OpenFlow server and wire it into the daemon.

    The daemon calls this once in ``Daemon.start`` before applying the configuration;
    everything else is hooked here so the loop needs no other change: the server runs
    as a ``periodic`` hook, follows every configuration the daemon applies or
    transacts, takes over the draining of bridge events (the loop would drop them), and
    closes its sockets when the daemon stops.
    """
    server = OpenFlowServer(daemon.switch, daemon.paths.rundir, daemon.sel,
                            DaemonHost(daemon), daemon.clock)
    levels = getattr(daemon.vlog, "levels", None)
    if isinstance(levels, dict) and "ofproto" in levels:
        levels.setdefault("connmgr", list(levels["ofproto"]))  # our log module
    daemon.periodic.append(server.run)
    apply_config = daemon.apply_config
    transact = daemon.transact
    stop = daemon.stop

    def apply_config_hook(cfg: Any, *args: Any, **kw: Any) -> Any:
        try:
            return apply_config(cfg, *args, **kw)
        finally:
            server.configure(bridge_settings(cfg), daemon.clock())

    def transact_hook(commands: list) -> Any:
        try:
            return transact(commands)
        finally:
            server.configure(bridge_settings(daemon.store.config), daemon.clock())

    def stop_hook() -> Any:
        server.close()
        return stop()

    daemon.apply_config = apply_config_hook
    daemon.transact = transact_hook
    daemon.stop = stop_hook
    daemon.drain_events = lambda: None
    daemon.openflow = server
    return server
