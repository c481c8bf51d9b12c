"""One control-socket connection, server side, without I/O.

Layer: control (imports ``control.jsonrpc``, ``control.commands``, ``pyvswitch.errors``).

The daemon owns the listening socket and a selectors loop; per accepted connection it
keeps a :class:`UnixctlSession` and shuttles bytes:

    data = sock.recv(65536)
    session.receive_data(data)            # b"" means the peer closed
    out = session.data_to_send()
    if out: sock.sendall(out)             # or buffer and wait for EVENT_WRITE
    if session.closed and not out: close the socket

The listening socket must be private to root, as OVS's is: bind it with the umask at
0o177 (or chmod it to 0600 before ``listen``).

Requests are answered in order, one at a time, as OVS does.  A message that is not a
request (a reply, a notification) or a framing error closes the session, again as OVS.
"""

from __future__ import annotations

from pyvswitch.control.commands import CommandTable
from pyvswitch.control.jsonrpc import JsonRpcStream, encode_reply, message_kind
from pyvswitch.errors import RemoteProtocolError

__all__ = ["UnixctlSession"]


class UnixctlSession:
    """Parses requests, runs them through a :class:`CommandTable`, queues replies."""

    def __init__(self, table: CommandTable) -> None:
        self._table = table
        self._stream = JsonRpcStream()
        self._out = bytearray()
        #: why the session ended (a protocol violation), or None for a clean EOF
        self.error: str | None = None
        self.closed = False
        self.n_requests = 0

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the socket (``b""`` for EOF) and answer complete requests."""
        if self.closed:
            return
        if not data:
            try:
                self._stream.receive_eof()
            except RemoteProtocolError as exc:
                self.error = str(exc)
            self._run()
            self.closed = True
            return
        self._stream.receive_data(data)
        self._run()

    def _run(self) -> None:
        while not self.closed:
            try:
                msg = self._stream.next_message()
            except RemoteProtocolError as exc:
                self.error = str(exc)
                self.closed = True
                return
            if msg is None:
                return
            kind = message_kind(msg)
            if kind != "request":
                self.error = f"received unexpected {kind} message"
                self.closed = True
                return
            self.n_requests += 1
            ok, text = self._table.dispatch(msg["method"], msg["params"])
            if ok:
                self._out += encode_reply(msg["id"], result=text)
            else:
                self._out += encode_reply(msg["id"], error=text)

    def data_to_send(self) -> bytes:
        """Reply bytes queued since the last call (possibly empty)."""
        out = bytes(self._out)
        self._out.clear()
        return out

    @property
    def wants_write(self) -> bool:
        return bool(self._out)
