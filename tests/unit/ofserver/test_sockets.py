"""The daemon's OpenFlow socket shell with real sockets, driven by a small select loop:
the management socket, ptcp listeners, active controllers that reconnect with backoff,
inactivity probes, and cleanup."""

from __future__ import annotations

import os
import selectors
import socket
import stat
import time

import pytest

from pyvswitch.daemon.ofsockets import OpenFlowServer
from pyvswitch.ofproto_dpif.switch import Switch
from pyvswitch.ofserver.connmgr import NullHost
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.connection import NEED_DATA, MessageReceived, OFConnection


class Loop:
    def __init__(self, rundir: str, **opts) -> None:
        self.sw = Switch()
        self.sw.add_bridge("br0")
        self.sw.add_port("br0", "p1", ofport_request=1)
        self.sel = selectors.DefaultSelector()
        self.host = NullHost()
        self.server = OpenFlowServer(self.sw, rundir, self.sel, self.host, time.monotonic,
                                     **opts)

    def turn(self, seconds: float = 0.05) -> None:
        end = time.monotonic() + seconds
        while True:
            for key, mask in self.sel.select(0.01):
                key.data(mask)
            self.server.run(time.monotonic())
            if time.monotonic() >= end:
                return

    def until(self, cond, timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.turn(0.02)
            if cond():
                return True
        return cond()

    def close(self) -> None:
        self.server.close()
        self.sel.close()


@pytest.fixture
def loop(tmp_path):
    lp = Loop(str(tmp_path))
    try:
        yield lp
    finally:
        lp.close()


class Peer:
    """The other end: a controller-side codec connection on a socket."""

    def __init__(self, sock: socket.socket, version: int = 4) -> None:
        self.sock = sock
        self.sock.setblocking(False)
        self.ctl = OFConnection("controller", frozenset((version,)))
        self.sock.sendall(self.ctl.initiate())
        self.got: list[tuple[object, int]] = []
        self.eof = False

    def poll(self) -> None:
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        self.eof = not data
        self.ctl.receive_data(data)
        while (ev := self.ctl.next_event()) is not NEED_DATA:
            if isinstance(ev, MessageReceived):
                self.got.append((ev.msg, ev.xid))
            elif not hasattr(ev, "version"):
                break
        out = self.ctl.data_to_send()
        if out:
            self.sock.sendall(out)

    def send(self, msg: object, xid: int) -> None:
        self.sock.sendall(self.ctl.send(msg, xid))


def test_management_socket_serves_and_goes_away(loop, tmp_path):
    loop.server.configure({"br0": ([], "standalone")}, time.monotonic())
    path = tmp_path / "br0.mgmt"
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(path))
    p = Peer(s)
    assert loop.until(lambda: (p.poll(), p.ctl.version == 4)[1])
    p.send(M.EchoRequest(b"ping"), 7)
    assert loop.until(lambda: (p.poll(), (M.EchoReply(b"ping"), 7) in p.got)[1])
    p.send(M.FeaturesRequest(), 8)
    assert loop.until(lambda: (p.poll(), any(x == 8 for _, x in p.got))[1])
    loop.server.configure({}, time.monotonic())
    assert not os.path.exists(path)
    assert loop.until(lambda: (p.poll(), p.eof)[1])
    s.close()


def _listener() -> tuple[socket.socket, int]:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    return srv, srv.getsockname()[1]


def test_active_controller_connects_and_reconnects_with_backoff(tmp_path):
    loop = Loop(str(tmp_path), max_backoff=1)
    srv, port = _listener()  # bound, not yet listening: connections are refused
    target = f"tcp:127.0.0.1:{port}"
    try:
        loop.server.configure({"br0": ([target], "secure")}, time.monotonic())
        mgr = loop.server.mgrs["br0"]
        assert loop.until(lambda: mgr.controllers[target].reconnect.n_attempts >= 2, 5)
        srv.listen(4)
        srv.settimeout(0.01)
        conns = []

        def accepted() -> bool:
            try:
                conns.append(srv.accept()[0])
            except TimeoutError:
                pass
            return bool(conns)

        assert loop.until(accepted, 10)
        ctl = Peer(conns[0])
        assert loop.until(lambda: (ctl.poll(), mgr.bridge.controller_connected
                                   and ctl.ctl.version == 4)[1])
        ctl.send(M.FlowStatsRequest(), 3)
        assert loop.until(lambda: (ctl.poll(), any(x == 3 for _, x in ctl.got))[1])
        # the controller goes away: the switch notices and connects again
        conns[0].close()
        assert loop.until(lambda: not mgr.bridge.controller_connected)
        assert loop.until(lambda: accepted() and len(conns) > 1, 10)
    finally:
        srv.close()
        loop.close()


def test_ptcp_listener_and_inactivity_probe(tmp_path):
    lp = Loop(str(tmp_path), probe_interval=1)
    try:
        lp.server.configure({"br0": (["ptcp:0:127.0.0.1"], "standalone")}, time.monotonic())
        lst = [v for k, v in lp.server._listeners.items() if k[1] != "mgmt"]
        assert len(lst) == 1
        port = lst[0].sock.getsockname()[1]
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        p = Peer(s)
        assert lp.until(lambda: (p.poll(), p.ctl.version == 4)[1])
        # a silent peer gets an echo request after the probe interval...
        s.setblocking(False)
        lp.turn(1.3)
        raw = b""
        try:
            raw = s.recv(65536)
        except BlockingIOError:
            pass
        assert raw and raw[1] == 2  # ECHO_REQUEST
        # ...and is dropped when it stays silent for another interval
        lp.turn(1.3)
        assert lp.server.connections() == []
        s.close()
    finally:
        lp.close()
