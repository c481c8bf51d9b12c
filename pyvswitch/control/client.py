"""The client side of a control-socket exchange: one request, one reply.

Layer: control (imports ``control.jsonrpc`` and ``pyvswitch.errors``; no sockets).

The socket itself is opened by the caller (``cli/appctl.py``, tests): this layer may not
import ``socket``.  :func:`transact` works on any connected object with ``sendall`` and
``recv`` (a ``socket.socket`` for ``AF_UNIX``), so the whole request/reply logic, the
target resolution and the exact texts and exit codes of ``ovs-appctl`` live here and
``pyvs-appctl`` stays a thin main:

    path = resolve_target(args.target, rundir)
    sock = socket.socket(socket.AF_UNIX); sock.connect(path)
    ok, text = transact(sock, command, args)
    sys.exit(report_reply(ok, text, path, "pyvs-appctl", sys.stdout, sys.stderr))
"""

from __future__ import annotations

import json
import os
from typing import Any, Protocol, TextIO

from pyvswitch.control.jsonrpc import JsonRpcStream, encode_request, message_kind
from pyvswitch.errors import RemoteProtocolError, SwitchError

__all__ = [
    "CONTROL_SOCKET",
    "ConnectedStream",
    "TargetError",
    "UnixctlClient",
    "report_reply",
    "resolve_target",
    "transact",
]

#: the daemon's control socket name inside the run directory
CONTROL_SOCKET = "pyvswitchd.ctl"


class TargetError(SwitchError):
    """The ``-t`` target cannot be turned into a socket path."""


class ConnectedStream(Protocol):
    def sendall(self, data: bytes, /) -> Any: ...

    def recv(self, bufsize: int, /) -> bytes: ...


def resolve_target(target: str | None, rundir: str) -> str:
    """The socket path for ``-t TARGET``, as ovs-appctl resolves it.

    No target means the daemon's socket in ``rundir``.  A path with a slash is used
    as is.  A bare name is a program: its pidfile ``<rundir>/<name>.pid`` gives the
    socket ``<rundir>/<name>.<pid>.ctl`` (OVS's rule); for ``pyvswitchd``, which listens
    on a fixed name, ``<rundir>/pyvswitchd.ctl`` is used when it exists.
    """
    if not target:
        return os.path.join(rundir, CONTROL_SOCKET)
    if "/" in target:
        return target
    fixed = os.path.join(rundir, f"{target}.ctl")
    if os.path.exists(fixed):
        return fixed
    pidfile = os.path.join(rundir, f"{target}.pid")
    try:
        with open(pidfile, encoding="ascii") as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "invalid pidfile"
        raise TargetError(f'cannot read pidfile "{pidfile}" ({reason})') from exc
    return os.path.join(rundir, f"{target}.{pid}.ctl")


class UnixctlClient:
    """Sans-I/O client: builds requests with increasing ids and matches the reply."""

    def __init__(self) -> None:
        self._stream = JsonRpcStream()
        self._next_id = 0
        self._pending: Any = None

    def request(self, method: str, params: list[str]) -> bytes:
        msg_id = self._next_id
        self._next_id += 1
        self._pending = msg_id
        return encode_request(method, list(params), msg_id)

    def receive_data(self, data: bytes) -> tuple[bool, str] | None:
        """Feed reply bytes; ``(ok, text)`` once the awaited reply is complete.

        Raises :class:`RemoteProtocolError` for a malformed stream, an unexpected
        message, or an early EOF (``data == b""``).
        """
        if not data:
            self._stream.receive_eof()
            raise RemoteProtocolError("connection closed before the reply")
        self._stream.receive_data(data)
        while True:
            msg = self._stream.next_message()
            if msg is None:
                return None
            kind = message_kind(msg)
            if kind not in ("reply", "error") or msg["id"] != self._pending:
                # ovs-appctl skips stray notifications; anything else is a broken peer
                if kind == "notify":
                    continue
                raise RemoteProtocolError(f"received unexpected {kind} message")
            self._pending = None
            if kind == "reply":
                return True, _text(msg["result"])
            return False, _text(msg["error"])


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def transact(
    sock: ConnectedStream, method: str, params: list[str], bufsize: int = 65536
) -> tuple[bool, str]:
    """Send one request on a connected stream and wait for its reply.

    The caller sets any timeout on ``sock``; OSError from it propagates.
    """
    client = UnixctlClient()
    sock.sendall(client.request(method, params))
    while True:
        reply = client.receive_data(sock.recv(bufsize))
        if reply is not None:
            return reply


def report_reply(
    ok: bool, text: str, target: str, program: str, stdout: TextIO, stderr: TextIO
) -> int:
    """Print a reply as ovs-appctl does; return its exit status (0, or 2 on error)."""
    if ok:
        stdout.write(text)
        return 0
    stderr.write(text)
    stderr.write(f"{program}: {target}: server returned an error\n")
    return 2
