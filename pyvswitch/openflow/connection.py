"""A sans-I/O OpenFlow connection (in the style of h11): bytes in, events out.

The owner of the socket feeds received bytes to :meth:`OFConnection.receive_data` (``b""``
at end of stream), pulls :meth:`~OFConnection.next_event` until it returns
:data:`NEED_DATA`, sends what :meth:`~OFConnection.data_to_send` returns, and turns its own
messages into bytes with :meth:`~OFConnection.send`.

What the connection does by itself, as OVS's vconn/rconn layer does:

* version negotiation: both sides send HELLO at once (:meth:`initiate`); the highest
  version both bitmaps hold wins (:class:`VersionNegotiated`), or a HELLO_FAILED/
  INCOMPATIBLE error is queued and :class:`NegotiationFailed` reported;
* ECHO_REQUEST is answered with ECHO_REPLY (same xid and payload) without an event;
* a message with the wrong version, or one the codec cannot decode, is answered with an
  OFPT_ERROR carrying the request's xid and the request itself as data
  (:class:`MessageRejected`); the connection stays up;
* a framing violation (a header announcing fewer than 8 bytes) raises
  :class:`~pyvswitch.errors.RemoteProtocolError`, and every later call raises it again;
* the Nicira session state (:class:`~pyvswitch.openflow.messages.SessionState`) follows
  NXT_SET_FLOW_FORMAT, NXT_FLOW_MOD_TABLE_ID, NXT_SET_CONTROLLER_ID and SET_CONFIG as the
  switch receives them (or the controller sends them); the packet-in format is left to
  the switch, which may refuse it.

Layer: openflow.  Imports: errors, openflow.*.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from pyvswitch.errors import LocalProtocolError, OFPError, RemoteProtocolError
from pyvswitch.openflow.codec import decode, encode
from pyvswitch.openflow.consts import (
    OFP10_VERSION,
    OFP13_VERSION,
    OFP14_VERSION,
    OFPT,
    SUPPORTED_VERSIONS,
    ofpt_from_wire,
)
from pyvswitch.openflow.errors import encode_error
from pyvswitch.openflow.header import HEADER, parse_header, split_messages
from pyvswitch.openflow.messages import (
    EchoReply,
    EchoRequest,
    FlowModTableId,
    Hello,
    SessionState,
    SetConfig,
    SetControllerId,
    SetFlowFormat,
)

#: what pyvswitch offers: OpenFlow 1.0, 1.3 and 1.4 (bundles natively)
DEFAULT_VERSIONS = frozenset((OFP10_VERSION, OFP13_VERSION, OFP14_VERSION))


class _NeedData(Enum):
    NEED_DATA = "NEED_DATA"


NEED_DATA = _NeedData.NEED_DATA


#: messages that change the Nicira session state
_SESSION_MESSAGES = frozenset((SetFlowFormat, FlowModTableId, SetConfig, SetControllerId))


# ----------------------------------------------------------------------------- events
@dataclass(frozen=True, slots=True)
class VersionNegotiated:
    version: int


@dataclass(frozen=True, slots=True)
class NegotiationFailed:
    """No common version (an error was queued for the peer); the owner should close."""

    reason: str


class MessageReceived(NamedTuple):
    """A decoded message (a tuple: one per message received, so cheap to make)."""

    msg: object
    xid: int
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class MessageRejected:
    """A message we answered with an OFPT_ERROR (already queued in data_to_send)."""

    error: OFPError
    xid: int
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    pass


Event = VersionNegotiated | NegotiationFailed | MessageReceived | MessageRejected | \
    ConnectionClosed


class ConnState(Enum):
    HELLO = "hello"          # waiting for the peer's HELLO
    OPEN = "open"            # version negotiated
    FAILED = "failed"        # negotiation failed
    CLOSED = "closed"        # peer closed
    ERROR = "error"          # framing violation (sticky)


# ----------------------------------------------------------------------------- connection
class OFConnection:
    """One OpenFlow connection's protocol state, without any I/O."""

    def __init__(self, role: str = "switch", versions: frozenset[int] = DEFAULT_VERSIONS,
                 hello_xid: int = 0) -> None:
        if role not in ("switch", "controller"):
            raise LocalProtocolError(f"role must be switch or controller, not {role!r}")
        bad = set(versions) - SUPPORTED_VERSIONS
        if bad or not versions:
            raise LocalProtocolError(f"unsupported OpenFlow versions {sorted(bad)}")
        self.role = role
        self.versions = frozenset(versions)
        self.version: int | None = None
        self.state = ConnState.HELLO
        self.session = SessionState()
        self._hello_xid = hello_xid
        self._hello_sent = False
        self._buffer = bytearray()
        self._out = bytearray()
        self._pending: list[bytes] = []
        self._next = 0
        self._eof = False
        self._error: RemoteProtocolError | None = None
        self._next_xid = 1

    # -- output --------------------------------------------------------------------------
    def initiate(self) -> bytes:
        """Our HELLO (header of the highest version, bitmap of all we offer)."""
        if self._hello_sent:
            raise LocalProtocolError("HELLO already sent")
        self._hello_sent = True
        return encode(Hello(self.versions), max(self.versions), self._hello_xid)

    def data_to_send(self) -> bytes:
        """Bytes the connection produced by itself (echo replies, error replies)."""
        if not self._out:
            return b""
        out = bytes(self._out)
        self._out.clear()
        return out

    def new_xid(self) -> int:
        xid = self._next_xid
        self._next_xid = (self._next_xid + 1) & 0xFFFFFFFF or 1
        return xid

    def send(self, msg: object, xid: int | None = None) -> bytes:
        """``msg`` encoded for the negotiated version (a fresh xid when none is given)."""
        if self.version is None:
            raise LocalProtocolError("no OpenFlow version negotiated yet")
        if xid is None:
            xid = self.new_xid()
        data = encode(msg, self.version, xid, self.session)
        if self.role == "controller":
            self._track_session(msg)
        return data

    def send_error(self, err: OFPError, xid: int, request: bytes = b"") -> bytes:
        """An OFPT_ERROR for ``err`` answering the request ``request``."""
        return encode_error(err, self.version or max(self.versions), xid, request)

    # -- input ---------------------------------------------------------------------------
    def receive_data(self, data: bytes) -> None:
        """Bytes read from the peer; ``b""`` means the peer closed the stream."""
        if self._error is not None:
            raise self._error
        if not data:
            self._eof = True
        else:
            self._buffer += data

    def next_event(self) -> Event | _NeedData:
        if self._error is not None:
            raise self._error
        if self.state is ConnState.CLOSED:
            return ConnectionClosed()
        pending = self._pending
        while True:
            # messages are taken from the front of ``pending`` by index (a batch of a
            # thousand bundled flow_mods must not cost a list shift each)
            i = self._next
            if i < len(pending):
                self._next = i + 1
                event = self._handle(pending[i])
                if event is not None:
                    return event
                continue
            pending.clear()
            self._next = 0
            if not self._buffer:
                break
            try:
                msgs, rest = split_messages(self._buffer)
            except RemoteProtocolError as e:
                self._error = e
                self.state = ConnState.ERROR
                raise
            if not msgs:
                break
            pending.extend(msgs)
            self._buffer = bytearray(rest)
        if self._eof:
            self.state = ConnState.CLOSED
            return ConnectionClosed()
        return NEED_DATA

    # -- internals -----------------------------------------------------------------------
    def _handle(self, data: bytes) -> Event | None:
        version, mtype, _length, xid = HEADER.unpack_from(data)
        state = self.state
        if state is not ConnState.OPEN:
            if state is ConnState.HELLO:
                return self._negotiate(data, parse_header(data))
            return None  # negotiation failed: nothing more is read
        supported = version in SUPPORTED_VERSIONS
        if mtype == 0 and supported:
            return None  # a second HELLO is harmless
        # ERROR, ECHO_REQUEST and ECHO_REPLY (types 1-3 in every version) may come in
        # another version
        if version != self.version and (not supported or not 1 <= mtype <= 3):
            return self._reject(OFPError("OFPBRC_BAD_VERSION",
                                         f"version {version:#x} after negotiating "
                                         f"{self.version:#x}"), xid, data)
        try:
            msg = decode(data, self.session)
        except OFPError as e:
            if mtype == OFPT.ERROR:  # never answer an error with an error
                return None
            return self._reject(e, xid, data)
        t = type(msg)
        if t is EchoRequest:
            self._out += encode(EchoReply(msg.data), version, xid)
            return None
        if t in _SESSION_MESSAGES and self.role == "switch":
            self._track_session(msg)
        return MessageReceived(msg, xid, data)

    def _reject(self, err: OFPError, xid: int, data: bytes) -> MessageRejected:
        self._out += encode_error(err, self.version or max(self.versions), xid, data)
        return MessageRejected(err, xid, data)

    def _negotiate(self, data: bytes, h) -> Event:
        if h.type == 0 and (h.version not in SUPPORTED_VERSIONS
                            or ofpt_from_wire(h.version, h.type) is OFPT.HELLO):
            # HELLO looks the same in every version, a later one included: its version
            # bitmap says what the peer offers, else everything up to its version
            try:
                theirs = decode(data).versions  # type: ignore[union-attr]
            except OFPError:
                theirs = frozenset(range(1, h.version + 1))
        else:
            return self._fail(h, "expected HELLO as the first message", "OFPHFC_EPERM")
        common = self.versions & theirs
        if not common:
            ours = ", ".join(f"0x{v:02x}" for v in sorted(self.versions))
            peer = ", ".join(f"0x{v:02x}" for v in sorted(theirs))
            return self._fail(h, f"We support versions {ours}, you support versions {peer}, "
                              "no common versions.", "OFPHFC_INCOMPATIBLE")
        self.version = max(common)
        self.state = ConnState.OPEN
        return VersionNegotiated(self.version)

    def _fail(self, h, reason: str, name: str) -> NegotiationFailed:
        # OVS answers in the version of the peer's HELLO when it can spell it
        version = h.version if h.version in SUPPORTED_VERSIONS else max(self.versions)
        self._out += encode_error(name, version, 0, reason.encode())
        self.state = ConnState.FAILED
        return NegotiationFailed(reason)

    def _track_session(self, msg: object) -> None:
        s = self.session
        if isinstance(msg, SetFlowFormat):
            s.flow_format = msg.format
        elif isinstance(msg, FlowModTableId):
            s.flow_mod_table_id = msg.enable
        elif isinstance(msg, SetConfig):
            s.miss_send_len = msg.miss_send_len
        elif isinstance(msg, SetControllerId):
            s.controller_id = msg.controller_id
