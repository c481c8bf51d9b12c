"""An in-memory controller talking to a bridge's connection manager.

:class:`Peer` pairs a controller-side codec connection with a switch-side
:class:`~pyvswitch.ofserver.ofconn.OFConn`, moving bytes both ways after each call, so a
test reads like a conversation: send a request, look at the replies with its xid.
"""

from __future__ import annotations

from pyvswitch.ofproto_dpif.switch import Switch
from pyvswitch.ofserver.connmgr import ConnManager, NullHost
from pyvswitch.openflow.connection import (
    NEED_DATA,
    MessageReceived,
    MessageRejected,
    OFConnection,
    VersionNegotiated,
)
from pyvswitch.openflow.consts import OFP13_VERSION


class Peer:
    def __init__(self, mgr: ConnManager, versions=frozenset((OFP13_VERSION,)), *,
                 primary: bool = False, now: float = 0.0, target: str | None = None) -> None:
        self.mgr = mgr
        self.ctl = OFConnection("controller", frozenset(versions))
        if primary:
            assert target is not None
            self.conn = mgr.connected(target, now)
        else:
            self.conn = mgr.accepted("test", now)
        self.inbox: list[tuple[object, int]] = []
        self.rejected: list[MessageRejected] = []
        self.version: int | None = None
        self.conn.receive(self.ctl.initiate(), now)
        self.pump()

    def pump(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.ctl.receive_data(data)
        while True:
            ev = self.ctl.next_event()
            if ev is NEED_DATA:
                break
            if isinstance(ev, VersionNegotiated):
                self.version = ev.version
            elif isinstance(ev, MessageReceived):
                self.inbox.append((ev.msg, ev.xid))
            elif isinstance(ev, MessageRejected):
                self.rejected.append(ev)
            else:
                break
        out = self.ctl.data_to_send()
        if out:
            self.conn.receive(out, 0.0)

    def send(self, msg: object, now: float = 0.0, xid: int | None = None) -> int:
        xid = self.ctl.new_xid() if xid is None else xid
        self.conn.receive(self.ctl.send(msg, xid), now)
        self.pump()
        return xid

    def send_raw(self, data: bytes, now: float = 0.0) -> None:
        self.conn.receive(data, now)
        self.pump()

    def replies(self, xid: int) -> list[object]:
        return [m for m, x in self.inbox if x == xid]

    def take(self) -> list[tuple[object, int]]:
        out, self.inbox = self.inbox, []
        return out

    def request(self, msg: object, now: float = 0.0) -> object:
        """Send and return the single reply with the request's xid."""
        xid = self.send(msg, now)
        got = self.replies(xid)
        assert len(got) == 1, got
        return got[0]


def make_switch(n_ports: int = 2) -> Switch:
    sw = Switch()
    sw.add_bridge("br0")
    for i in range(1, n_ports + 1):
        sw.add_port("br0", f"p{i}", ofport_request=i)
    return sw


def make_mgr(sw: Switch | None = None, **kw) -> ConnManager:
    sw = sw or make_switch()
    mgr = ConnManager(sw, "br0", NullHost(), **kw)
    sw.bridge("br0").pop_events()
    return mgr
