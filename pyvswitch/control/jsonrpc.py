"""Sans-I/O JSON-RPC 1.0 stream framing, as Open vSwitch's unixctl speaks it.

Layer: control (imports only the standard library and ``pyvswitch.errors``).

On a unixctl stream, messages are JSON objects written back to back with no length
prefix and no required separator; the reader finds the end of each object by parsing.
:class:`JsonRpcStream` does that incrementally: ``receive_data`` only buffers,
``next_message`` returns one validated message or ``None`` when more bytes are needed.
Feeding one byte at a time works, because the scanner keeps its position and state
between calls instead of re-parsing the buffer.

A message is returned as a dict with exactly the five JSON-RPC members ``method``,
``params``, ``result``, ``error`` and ``id``; a member that was absent or ``null`` is
``None`` (OVS treats the two alike).  :func:`message_kind` names its type.

Errors are sticky: after a framing violation the stream is dead and every later call
raises the same :class:`RemoteProtocolError` (the owner must close the connection).
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from pyvswitch.errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "JsonRpcStream",
    "MAX_DEPTH",
    "MAX_MESSAGE_SIZE",
    "encode_error",
    "encode_json",
    "encode_notify",
    "encode_reply",
    "encode_request",
    "message_kind",
    "validate_message",
]

#: OVS's JSON parser refuses deeper nesting; so do we (and it keeps ``json.loads``
#: far from Python's recursion limit).
MAX_DEPTH = 1000
#: A single message larger than this is refused rather than buffered without bound.
MAX_MESSAGE_SIZE = 64 * 1024 * 1024

_MEMBERS = ("method", "params", "result", "error", "id")
# Outside a string only brackets and quotes matter; inside, only quotes and escapes.
_OUTSIDE = re.compile(rb'[{}\[\]"]')
_INSIDE = re.compile(rb'["\\]')
_WS = b" \t\r\n"

# (method, params, result, error, id) presence required by each message type.
_PATTERNS = {
    "request": (True, True, False, False, True),
    "notify": (True, True, False, False, False),
    "reply": (False, False, True, False, True),
    "error": (False, False, False, True, True),
}


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are Python extensions, not JSON; OVS refuses them too.
    raise ValueError(f"invalid keyword '{name}'")


def message_kind(msg: dict[str, Any]) -> str:
    """Name the message type ("request", "notify", "reply" or "error") as OVS does.

    A message with a result is a reply even if it also has an error; validation then
    rejects it, so the order here only matters for the error text.
    """
    if msg["result"] is not None:
        return "reply"
    if msg["error"] is not None:
        return "error"
    if msg["id"] is not None:
        return "request"
    return "notify"


def validate_message(obj: Any) -> dict[str, Any]:
    """Check a decoded JSON value is a well-formed JSON-RPC message; normalise it.

    Raises :class:`RemoteProtocolError` with the reason OVS gives in its log
    ("received bad JSON-RPC message: ...").
    """
    if not isinstance(obj, dict):
        raise RemoteProtocolError("received bad JSON-RPC message: message is not a JSON object")
    method = obj.get("method")
    if method is not None and not isinstance(method, str):
        raise RemoteProtocolError("received bad JSON-RPC message: method is not a JSON string")
    for key in obj:
        if key not in _MEMBERS:
            raise RemoteProtocolError(
                f'received bad JSON-RPC message: message has unexpected member "{key}"'
            )
    msg = {key: obj.get(key) for key in _MEMBERS}
    if msg["params"] is not None and not isinstance(msg["params"], list):
        raise RemoteProtocolError('received bad JSON-RPC message: "params" must be JSON array')
    kind = message_kind(msg)
    for key, wanted in zip(_MEMBERS, _PATTERNS[kind]):
        if (msg[key] is not None) != wanted:
            must = "must" if wanted else "must not"
            raise RemoteProtocolError(f'received bad JSON-RPC message: {kind} {must} have "{key}"')
    return msg


class JsonRpcStream:
    """Incremental reader for one JSON-RPC byte stream (one side of a connection)."""

    __slots__ = ("_buf", "_pos", "_start", "_depth", "_in_string", "_error", "_max_size")

    def __init__(self, max_size: int = MAX_MESSAGE_SIZE) -> None:
        self._buf = bytearray()
        self._pos = 0  # next byte to scan
        self._start = -1  # offset of the current message's first byte, -1 if none yet
        self._depth = 0
        self._in_string = False
        self._error: RemoteProtocolError | None = None
        self._max_size = max_size

    @property
    def failed(self) -> bool:
        """True once a framing violation has been seen; the connection must close."""
        return self._error is not None

    @property
    def idle(self) -> bool:
        """True when no partial message is buffered (a clean place for EOF)."""
        return self._start < 0 and not self._buf[self._pos :].strip(_WS)

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes read from the peer.  Never parses; never raises for content."""
        if self._error is not None:
            raise self._error
        self._buf += data

    def receive_eof(self) -> None:
        """The peer closed its side: a half-received message is a protocol error."""
        if self._error is None and not self.idle:
            self._fail("unexpected end of input")

    def next_message(self) -> dict[str, Any] | None:
        """The next complete, validated message, or ``None`` if more bytes are needed."""
        if self._error is not None:
            raise self._error
        end = self._scan()
        if end < 0:
            return None
        raw = bytes(self._buf[self._start : end])
        del self._buf[:end]
        self._pos = 0
        self._start = -1
        try:
            obj = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            self._fail(f"error parsing stream: {exc}")
        try:
            return validate_message(obj)
        except RemoteProtocolError as exc:
            self._error = exc
            raise

    def _fail(self, reason: str) -> NoReturn:
        self._error = RemoteProtocolError(reason)
        raise self._error

    def _scan(self) -> int:
        """Advance the scanner; return the end offset of a complete value, or -1."""
        buf = self._buf
        n = len(buf)
        pos = self._pos
        if self._start < 0:
            while pos < n and buf[pos] in _WS:
                pos += 1
            if pos == n:
                # Drop leading whitespace so an idle stream does not grow.
                del buf[:pos]
                self._pos = 0
                return -1
            if buf[pos] not in b"{[":
                self._fail("syntax error at beginning of input")
            self._start = pos
        depth = self._depth
        in_string = self._in_string
        end = -1
        while pos < n:
            if in_string:
                m = _INSIDE.search(buf, pos)
                if m is None:
                    pos = n
                    break
                pos = m.start()
                if buf[pos] == 0x5C:  # backslash: skip the escaped byte, once we have it
                    if pos + 1 >= n:
                        break
                    pos += 2
                    continue
                in_string = False
                pos += 1
                continue
            m = _OUTSIDE.search(buf, pos)
            if m is None:
                pos = n
                break
            pos = m.start()
            c = buf[pos]
            pos += 1
            if c == 0x22:  # "
                in_string = True
            elif c in (0x7B, 0x5B):  # { [
                depth += 1
                if depth > MAX_DEPTH:
                    self._fail(f"input exceeds maximum nesting depth {MAX_DEPTH}")
            else:  # } ]
                depth -= 1
                if depth == 0:
                    end = pos
                    break
        self._pos = pos
        self._depth = depth
        self._in_string = in_string
        if end < 0 and pos - self._start > self._max_size:
            self._fail(f"message exceeds maximum size {self._max_size}")
        return end

    # Convenience, so a connection owner needs only one object.
    @staticmethod
    def encode_reply(msg_id: Any, result: Any = None, error: Any = None) -> bytes:
        return encode_reply(msg_id, result, error)

    @staticmethod
    def encode_request(method: str, params: list[Any], msg_id: Any) -> bytes:
        return encode_request(method, params, msg_id)


def encode_json(obj: Any) -> bytes:
    """Compact UTF-8 JSON, as OVS writes it (no spaces, non-ASCII left as is)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode_request(method: str, params: list[Any], msg_id: Any) -> bytes:
    """A request; ``msg_id`` must not be ``None`` (that would make it a notification)."""
    if msg_id is None:
        raise LocalProtocolError("a request needs an id")
    return encode_json({"method": method, "params": list(params), "id": msg_id})


def encode_notify(method: str, params: list[Any]) -> bytes:
    return encode_json({"method": method, "params": list(params), "id": None})


def encode_reply(msg_id: Any, result: Any = None, error: Any = None) -> bytes:
    """A reply to request ``msg_id``: exactly one of ``result`` and ``error``.

    Success is ``{"result": R, "error": null, "id": N}`` and failure is
    ``{"result": null, "error": E, "id": N}``, the members OVS always writes.
    """
    if (result is None) == (error is None):
        raise LocalProtocolError("a reply carries exactly one of result and error")
    return encode_json({"result": result, "error": error, "id": msg_id})


def encode_error(msg_id: Any, error: Any) -> bytes:
    return encode_reply(msg_id, error=error)
