"""One OpenFlow session of a bridge (OVS ``ofconn``): protocol state plus what OVS keeps
per connection -- role, async config, miss_send_len, controller id, bundles -- and the
inactivity probe.

:class:`OFConn` wraps the codec's :class:`~pyvswitch.openflow.connection.OFConnection`.
The socket shell feeds it bytes (:meth:`receive`) and drains :meth:`data_to_send`;
every complete request is handed to the bridge's connection manager as it is decoded,
so requests are answered strictly in order.  The connection closes itself (sets
:attr:`closed`) on end of stream, on a framing violation (a header announcing fewer
than 8 bytes: nothing after it can be trusted), after a failed version negotiation
(once the HELLO_FAILED error is flushed) and when the peer does not answer the
inactivity probe.  Undecodable or refused messages only produce error replies.

Layer: ofserver.  Imports: errors, openflow, ofserver.{asyncmsg,bundles,rconn}.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from pyvswitch import coverage
from pyvswitch.errors import OFPError, RemoteProtocolError
from pyvswitch.ofserver.asyncmsg import AsyncCfg
from pyvswitch.ofserver.bundles import Bundles
from pyvswitch.ofserver.rconn import Probe
from pyvswitch.openflow.codec import decode
from pyvswitch.openflow.connection import (
    DEFAULT_VERSIONS,
    NEED_DATA,
    ConnectionClosed,
    MessageReceived,
    MessageRejected,
    NegotiationFailed,
    OFConnection,
    VersionNegotiated,
)
from pyvswitch.openflow.header import split_messages
from pyvswitch.openflow.messages import ControllerRole, EchoRequest, SessionState

if TYPE_CHECKING:
    from pyvswitch.ofserver.connmgr import ConnManager

#: seconds a connection whose version negotiation failed stays open for the peer
NEGOTIATION_CLOSE_GRACE = 1.0
#: encoded constant replies, by (name, version)
_PREBUILT: dict[tuple[str, int], list[bytes]] = {}
#: pending output above which packet-ins to this connection are dropped (OVS limits
#: its packet-in queue to 100 messages per connection)
MAX_PENDING_OUTPUT = 4 * 1024 * 1024


class ConnKind(Enum):
    """OVS ``ofconn_type``: controllers we connect to are primary; connections accepted
    on a listening target (the management socket, ``ptcp:``) are service connections."""

    PRIMARY = "primary"
    SERVICE = "service"


class OFConn:
    """See the module docstring."""

    def __init__(self, mgr: ConnManager, name: str, kind: ConnKind, now: float,
                 probe_interval: float, versions: frozenset[int] = DEFAULT_VERSIONS,
                 target: str | None = None) -> None:
        self.mgr = mgr
        self.name = name
        self.kind = kind
        #: the configured active target this connection belongs to (None: accepted)
        self.target = target
        self.conn = OFConnection("switch", versions)
        self._out = bytearray(self.conn.initiate())
        self.role = ControllerRole.EQUAL
        self.miss_send_len = 128 if kind is ConnKind.PRIMARY else 0
        self.controller_id = 0
        self.async_cfg: AsyncCfg | None = None
        self.bundles = Bundles()
        self.probe = Probe(now, probe_interval)
        self.closed = False
        self.close_reason = ""
        #: close once the pending output is flushed, at ``close_at`` (failed negotiation)
        self.close_after_flush = False
        self.close_at = 0.0
        self.n_received = 0

    # ------------------------------------------------------------------ state
    @property
    def version(self) -> int:
        """The negotiated version (0 before negotiation)."""
        return self.conn.version or 0

    @property
    def session(self) -> SessionState:
        return self.conn.session

    @property
    def is_service(self) -> bool:
        return self.kind is ConnKind.SERVICE

    @property
    def is_open(self) -> bool:
        return not self.closed and self.conn.version is not None

    def async_config(self) -> AsyncCfg:
        """The connection's async config, or OVS's default for its version."""
        if self.async_cfg is not None:
            return self.async_cfg
        return AsyncCfg.default(self.version)

    def wants_async(self, kind: int, reason: int) -> bool:
        """OVS ``ofconn_receives_async_msg``."""
        if not self.is_open:
            return False
        if self.is_service and not self.miss_send_len:
            return False
        return self.async_config().wants(kind, reason, self.role == ControllerRole.SLAVE)

    # ------------------------------------------------------------------ input
    def receive(self, data: bytes, now: float) -> None:
        """Bytes from the peer (``b""`` = end of stream); requests are handled as they
        are decoded."""
        if self.closed:
            return
        conn = self.conn
        try:
            conn.receive_data(data)
            while not self.closed:
                ev = conn.next_event()
                out = conn.data_to_send()
                if out:
                    self._out += out
                if ev is NEED_DATA:
                    break
                if type(ev) is MessageReceived:
                    self.n_received += 1
                    self.probe.activity(now)
                    self.mgr.handle(self, ev.msg, ev.xid, ev.data, now)
                else:
                    self._event(ev, now)
        except RemoteProtocolError as exc:
            coverage.inc("ofconn_framing_error")
            self._take_conn_output()
            self.close(f"protocol error: {exc}")

    def _event(self, ev: object, now: float) -> None:
        if isinstance(ev, MessageReceived):
            self.n_received += 1
            self.probe.activity(now)
            self.mgr.handle(self, ev.msg, ev.xid, ev.data, now)
        elif isinstance(ev, MessageRejected):
            self.probe.activity(now)
            coverage.inc("ofconn_rejected")
        elif isinstance(ev, VersionNegotiated):
            self.probe.activity(now)
            self.mgr.negotiated(self, now)
        elif isinstance(ev, NegotiationFailed):
            # OVS drops the connection after its error, but not before the peer had
            # the time to fail too and send its own error (ovs-ofctl then says
            # "Protocol error", not "Broken pipe"): close when the peer does, or after
            # a grace period
            self.close_after_flush = True
            self.close_at = now + NEGOTIATION_CLOSE_GRACE
            self.close_reason = ev.reason
        elif isinstance(ev, ConnectionClosed):
            self.close("connection closed by peer")

    def _take_conn_output(self) -> None:
        out = self.conn.data_to_send()
        if out:
            self._out += out

    def decode_inner(self, data: bytes) -> object:
        """Decode a message carried inside another (bundles) with this session's
        settings; raises OFPError."""
        return decode(data, self.conn.session)

    # ------------------------------------------------------------------ output
    def send(self, msg: object, xid: int) -> None:
        if self.closed:
            return
        self._out += self.conn.send(msg, xid)

    def send_prebuilt(self, key: str, msg: object, xid: int) -> None:
        """Send a reply that never changes (table features: hundreds of kilobytes to
        encode) from a cache of its encoding, with this request's xid patched in."""
        if self.closed:
            return
        ckey = (key, self.version)
        parts = _PREBUILT.get(ckey)
        if parts is None:
            parts, _rest = split_messages(self.conn.send(msg, 0))
            _PREBUILT[ckey] = parts
        x = xid.to_bytes(4, "big")
        for part in parts:
            self._out += part[:4]
            self._out += x
            self._out += part[8:]

    def send_error(self, err: OFPError, xid: int, request: bytes) -> None:
        if self.closed:
            return
        self._out += self.conn.send_error(err, xid, request)

    def send_async(self, msg: object) -> bool:
        """An asynchronous message (xid 0); False when dropped for lack of room."""
        if not self.is_open:
            return False
        if len(self._out) > MAX_PENDING_OUTPUT:
            coverage.inc("ofconn_async_dropped")
            return False
        self._out += self.conn.send(msg, 0)
        return True

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def pending_output(self) -> int:
        return len(self._out)

    # ------------------------------------------------------------------ timers
    def run(self, now: float) -> None:
        """Inactivity probing; closes the connection when the peer went silent."""
        if self.closed:
            return
        if self.close_after_flush and not self._out and now >= self.close_at:
            self.close(self.close_reason or "version negotiation failed")
            return
        what = self.probe.run(now)
        if what == "probe" and self.is_open:
            self.send(EchoRequest(b""), self.conn.new_xid())
        elif what == "disconnect":
            self.close(f"no response to inactivity probe after {self.probe.interval:g} "
                       "seconds, disconnecting")

    def next_deadline(self) -> float | None:
        return None if self.closed else self.probe.next_deadline()

    def close(self, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self.close_reason = reason


__all__ = ["ConnKind", "MAX_PENDING_OUTPUT", "OFConn"]
