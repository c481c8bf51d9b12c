"""The OpenFlow header, stream framing and small byte helpers shared by the codec.

Every OpenFlow message starts with ``version(1) type(1) length(2) xid(4)``; a stream is
messages back to back.  :func:`split_messages` cuts complete messages off a buffer (a
declared length below 8 is a framing violation the connection cannot recover from);
:func:`pad8` and the ``Reader`` helpers keep the encoders and decoders short.

Truncated bodies raise :class:`~pyvswitch.errors.OFPError` ``OFPBRC_BAD_LEN`` (or the name
the caller passes), which the connection turns into an OFPT_ERROR reply.

Layer: openflow.  Imports: errors, openflow.consts.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from pyvswitch.errors import OFPError, RemoteProtocolError
from pyvswitch.openflow.consts import OFP_HEADER_LEN

HEADER = struct.Struct("!BBHI")
U8 = struct.Struct("!B")
U16 = struct.Struct("!H")
U32 = struct.Struct("!I")
U64 = struct.Struct("!Q")


class Header(NamedTuple):
    version: int
    type: int
    length: int
    xid: int


def parse_header(data: bytes | bytearray | memoryview) -> Header:
    """The header of a message (at least 8 bytes)."""
    if len(data) < OFP_HEADER_LEN:
        raise OFPError("OFPBRC_BAD_LEN", f"message of {len(data)} bytes has no header")
    return Header(*HEADER.unpack_from(data, 0))


def put_header(out: bytearray, version: int, msg_type: int, xid: int) -> None:
    """Append a header whose length is fixed later by :func:`finish`."""
    out += HEADER.pack(version, msg_type, 0, xid & 0xFFFFFFFF)


def finish(out: bytearray, start: int = 0) -> bytes:
    """Write the length of the message starting at ``start`` into its header."""
    length = len(out) - start
    if length > 0xFFFF:
        raise OFPError("OFPBRC_BAD_LEN", f"message of {length} bytes exceeds 65535")
    struct.pack_into("!H", out, start + 2, length)
    return bytes(out[start:])


def split_messages(buffer: bytes | bytearray) -> tuple[list[bytes], bytes]:
    """Cut the complete messages off the front of ``buffer``.

    Returns (messages, rest).  A header announcing fewer than 8 bytes can never be
    resynchronised, so it raises :class:`RemoteProtocolError`.
    """
    msgs: list[bytes] = []
    pos = 0
    n = len(buffer)
    while n - pos >= OFP_HEADER_LEN:
        length = (buffer[pos + 2] << 8) | buffer[pos + 3]
        if length < OFP_HEADER_LEN:
            raise RemoteProtocolError(f"OpenFlow header announces length {length} < 8")
        if n - pos < length:
            break
        msgs.append(bytes(buffer[pos:pos + length]))
        pos += length
    return msgs, bytes(buffer[pos:])


def pad8(n: int) -> int:
    """Bytes of zero padding that bring ``n`` up to a multiple of 8."""
    return (8 - n % 8) % 8


def pad_to8(out: bytearray, start: int = 0) -> None:
    """Zero-pad ``out`` so that ``len(out) - start`` is a multiple of 8."""
    out += bytes(pad8(len(out) - start))


def cstr(raw: bytes) -> str:
    """A NUL-padded fixed-width string field as text."""
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def put_cstr(text: str, width: int) -> bytes:
    """``text`` as a NUL-padded field of ``width`` bytes (always NUL-terminated)."""
    raw = text.encode("utf-8")[: width - 1]
    return raw + bytes(width - len(raw))


class Reader:
    """A cursor over a message body that raises ``OFPError`` on truncation."""

    __slots__ = ("data", "pos", "end", "error")

    def __init__(self, data: bytes | memoryview, pos: int = 0, end: int | None = None,
                 error: str = "OFPBRC_BAD_LEN") -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end
        self.error = error

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def need(self, n: int, what: str = "message") -> None:
        if n < 0 or self.pos + n > self.end:
            raise OFPError(self.error, f"{what} truncated: need {n} bytes, "
                           f"{self.end - self.pos} left")

    def unpack(self, st: struct.Struct, what: str = "message") -> tuple:
        self.need(st.size, what)
        v = st.unpack_from(self.data, self.pos)
        self.pos += st.size
        return v

    def take(self, n: int, what: str = "message") -> bytes:
        self.need(n, what)
        v = bytes(self.data[self.pos:self.pos + n])
        self.pos += n
        return v

    def skip(self, n: int, what: str = "message") -> None:
        self.need(n, what)
        self.pos += n

    def rest(self) -> bytes:
        v = bytes(self.data[self.pos:self.end])
        self.pos = self.end
        return v

    def sub(self, n: int, what: str = "message", error: str | None = None) -> Reader:
        """A reader over the next ``n`` bytes; this one moves past them."""
        self.need(n, what)
        r = Reader(self.data, self.pos, self.pos + n, error or self.error)
        self.pos += n
        return r
