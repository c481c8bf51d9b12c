"""The control socket ``$PYVS_RUNDIR/pyvswitchd.ctl``: listening, accepting, shuttling bytes.

Layer: daemon (imports ``control.server``, ``control.commands``, ``daemon.vlog``; owns the
sockets).

All protocol work is in :class:`pyvswitch.control.server.UnixctlSession`; this module
only moves bytes between it and non-blocking sockets registered in the daemon's
selector.  The socket is created with mode 0600 (umask around ``bind``, then
``chmod``), so only the owner (root) can drive the switch.  A stale socket file left by
a killed daemon is replaced: the caller holds the pidfile lock, so no live daemon can
be using it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket

from pyvswitch.control.commands import CommandTable
from pyvswitch.control.server import UnixctlSession
from pyvswitch.daemon.vlog import Vlog
from pyvswitch.errors import SwitchError

__all__ = ["UnixctlServer"]

_MAX_CONNECTIONS = 64


class _Conn:
    __slots__ = ("sock", "session", "out", "name")

    def __init__(self, sock: socket.socket, session: UnixctlSession, name: str) -> None:
        self.sock = sock
        self.session = session
        self.out = bytearray()
        self.name = name


class UnixctlServer:
    """The daemon's control socket and its connections, driven by a selector."""

    def __init__(self, path: str, table: CommandTable, sel: selectors.BaseSelector,
                 vlog: Vlog) -> None:
        self.path = path
        self.table = table
        self.sel = sel
        self.vlog = vlog
        self._conns: dict[int, _Conn] = {}
        self._n = 0
        self._listener = self._listen(path)
        sel.register(self._listener, selectors.EVENT_READ, self._on_accept)

    @staticmethod
    def _listen(path: str) -> socket.socket:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(path)
        except OSError as exc:
            sock.close()
            raise SwitchError(f"{path}: cannot bind control socket ({exc.strerror})") from None
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        sock.listen(16)
        sock.setblocking(False)
        return sock

    def _on_accept(self, mask: int) -> None:
        try:
            sock, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        if len(self._conns) >= _MAX_CONNECTIONS:
            sock.close()
            return
        sock.setblocking(False)
        self._n += 1
        conn = _Conn(sock, UnixctlSession(self.table), f"unix#{self._n}")
        self._conns[sock.fileno()] = conn
        self.sel.register(sock, selectors.EVENT_READ, lambda m, c=conn: self._on_event(c, m))

    def _on_event(self, conn: _Conn, mask: int) -> None:
        if mask & selectors.EVENT_READ:
            try:
                data = conn.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError:
                data = b""
            if data is not None:
                conn.session.receive_data(data)
                if conn.session.error:
                    self.vlog.warn("unixctl", f"{conn.name}: {conn.session.error}")
                conn.out += conn.session.data_to_send()
        self._flush(conn)

    def _flush(self, conn: _Conn) -> None:
        while conn.out:
            try:
                n = conn.sock.send(conn.out)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                if exc.errno not in (errno.EPIPE, errno.ECONNRESET):
                    self.vlog.warn("unixctl", f"{conn.name}: send failed ({exc.strerror})")
                conn.out.clear()
                conn.session.closed = True
                break
            del conn.out[:n]
        if conn.session.closed and not conn.out:
            self._close(conn)
            return
        want = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.out else 0)
        key = self.sel.get_key(conn.sock)
        if key.events != want:
            self.sel.modify(conn.sock, want, key.data)

    def _close(self, conn: _Conn) -> None:
        self._conns.pop(conn.sock.fileno(), None)
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(conn.sock)
        conn.sock.close()

    def flush_all(self) -> None:
        """Try to send pending replies (the ``exit`` reply before shutting down)."""
        for conn in list(self._conns.values()):
            with contextlib.suppress(OSError):
                conn.sock.setblocking(True)
                conn.sock.settimeout(1.0)
                if conn.out:
                    conn.sock.sendall(conn.out)
                    conn.out.clear()

    def close(self) -> None:
        """Close every connection and the listener, and remove the socket file."""
        self.flush_all()
        for conn in list(self._conns.values()):
            self._close(conn)
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(self._listener)
        self._listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
