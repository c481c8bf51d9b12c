"""The real ovs-ofctl against a tiny switch built on OFConnection and the codec, over a
Unix socket in a temporary directory (no network): version negotiation as ovs-ofctl does
it (1.0 only, 1.3 only, 1.4 only for ``--bundle``), the name lookups before flow commands
(FEATURES/PORT_DESC, OFPST_TABLE/TABLE_FEATURES), flow_mods in every format ovs-ofctl
uses, barriers, dumps, bundles, and an error ovs-ofctl must report."""

from __future__ import annotations

import os
import selectors
import socket
import subprocess
import tempfile
import threading

import pytest

from pyvswitch.errors import OFPError
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand, FlowStats
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.codec import decode
from pyvswitch.openflow.connection import (
    NEED_DATA,
    ConnectionClosed,
    MessageReceived,
    OFConnection,
)
from pyvswitch.openflow.consts import OFPBCT_COMMIT_REQUEST, OFPBCT_DISCARD_REQUEST
from pyvswitch.openflow.table_features import default_table_features

from .ofprint import OVS_OFCTL

pytestmark = [pytest.mark.interop]


@pytest.fixture(autouse=True)
def _needs_ovs_ofctl():
    """The real ovs-ofctl is the oracle here; scripts/setup.sh installs it.  Missing, the
    test fails instead of silently passing."""
    assert OVS_OFCTL is not None, "ovs-ofctl is not installed (run scripts/setup.sh)"

PORTS = (M.PortDesc(1, 0x020000000001, "p1", 0, 4, 0x840, 0, 0, 0, 10_000_000, 0),
         M.PortDesc(2, 0x020000000002, "p2", 0, 4, 0x840, 0, 0, 0, 10_000_000, 0),
         M.PortDesc(0xFFFE, 0xAABBCCDDEEFF, "br0", 0, 4, 0, 0, 0, 0, 0, 0))


class TinySwitch:
    """Just enough of a switch for ovs-ofctl: a flow list, replies to every request."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.flows: list[FlowStats] = []
        self.bundles: dict[int, list[bytes]] = {}
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(8)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.listener, selectors.EVENT_READ, None)
        self.stop_r, self.stop_w = os.pipe()
        self.sel.register(self.stop_r, selectors.EVENT_READ, "stop")
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.errors: list[BaseException] = []

    def loop(self) -> None:
        try:
            self._loop()
        except BaseException as e:  # surfaced by the test, not swallowed
            self.errors.append(e)

    def _loop(self) -> None:
        while True:
            for key, _ in self.sel.select(timeout=5):
                if key.data == "stop":
                    return
                if key.data is None:
                    sock, _ = self.listener.accept()
                    conn = OFConnection("switch")
                    sock.sendall(conn.initiate())
                    self.sel.register(sock, selectors.EVENT_READ, conn)
                    continue
                sock, conn = key.fileobj, key.data
                data = sock.recv(65536)
                conn.receive_data(data)
                closed = self.serve(sock, conn)
                if closed or not data:
                    self.sel.unregister(sock)
                    sock.close()

    def serve(self, sock: socket.socket, conn: OFConnection) -> bool:
        while True:
            e = conn.next_event()
            out = conn.data_to_send()
            if e is NEED_DATA or isinstance(e, ConnectionClosed):
                if out:
                    sock.sendall(out)
                return isinstance(e, ConnectionClosed)
            if isinstance(e, MessageReceived):
                try:
                    out += self.handle(conn, e.msg, e.xid)
                except OFPError as err:
                    out += conn.send_error(err, e.xid, e.data)
            if out:
                sock.sendall(out)

    def apply_flow_mod(self, fm: FlowMod) -> None:
        if fm.command is FlowModCommand.ADD:
            self.flows.append(FlowStats(fm.table_id or 0, fm.priority, fm.match, fm.actions,
                                        cookie=fm.cookie))
        elif fm.command is FlowModCommand.DELETE and fm.match.is_catchall():
            self.flows.clear()

    def handle(self, conn: OFConnection, msg: object, xid: int) -> bytes:
        send = conn.send
        if isinstance(msg, M.FeaturesRequest):
            return send(M.FeaturesReply(0xAABBCCDDEEFF, 0, 254, 0, 0x4F, 0xFFF, PORTS), xid)
        if isinstance(msg, M.GetConfigRequest):
            return send(M.GetConfigReply(0, conn.session.miss_send_len), xid)
        if isinstance(msg, M.PortDescRequest):
            return send(M.PortDescReply(PORTS), xid)
        if isinstance(msg, M.TableFeaturesRequest):
            return send(M.TableFeaturesReply(default_table_features()), xid)
        if isinstance(msg, M.TableStatsRequest):
            return send(M.TableStatsReply(tuple(M.TableStats(i) for i in range(254))), xid)
        if isinstance(msg, M.DescRequest):
            return send(M.DescReply("pyvswitch", "tiny", "0", "None", "br0"), xid)
        if isinstance(msg, M.BarrierRequest):
            return send(M.BarrierReply(), xid)
        if isinstance(msg, FlowMod):
            self.apply_flow_mod(msg)
            return b""
        if isinstance(msg, M.FlowStatsRequest):
            return send(M.FlowStatsReply(tuple(self.flows), msg.nx), xid)
        if isinstance(msg, M.BundleControl):
            if msg.type == OFPBCT_COMMIT_REQUEST:
                for inner in self.bundles.pop(msg.bundle_id, []):
                    self.apply_flow_mod(decode(inner, conn.session))
            elif msg.type == OFPBCT_DISCARD_REQUEST:
                self.bundles.pop(msg.bundle_id, None)
            else:
                self.bundles.setdefault(msg.bundle_id, [])
            return send(M.BundleControl(msg.bundle_id, msg.type + 1, msg.flags), xid)
        if isinstance(msg, M.BundleAdd):
            inner = decode(msg.message, conn.session)  # refuse bad messages right away
            assert isinstance(inner, FlowMod)
            self.bundles[msg.bundle_id].append(msg.message)
            return b""
        if isinstance(msg, (M.SetFlowFormat, M.FlowModTableId, M.SetConfig)):
            return b""
        raise OFPError("OFPBRC_BAD_TYPE", f"tiny switch does not do {type(msg).__name__}")

    def __enter__(self) -> TinySwitch:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        os.write(self.stop_w, b"x")
        self.thread.join(10)
        self.listener.close()
        assert not self.errors, self.errors


@pytest.fixture
def switch():
    with tempfile.TemporaryDirectory() as d, TinySwitch(os.path.join(d, "br0.mgmt")) as sw:
        yield sw


def run(sw: TinySwitch, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    """``ovs-ofctl OPTIONS... COMMAND TARGET ARGS...`` with TARGET filled in."""
    i = next(i for i, a in enumerate(argv) if not a.startswith("-") and argv[i - 1] != "-O")
    full = [OVS_OFCTL, *argv[:i + 1], f"unix:{sw.path}", *argv[i + 1:]]
    return subprocess.run(full, capture_output=True, text=True, timeout=30, check=check)


@pytest.mark.parametrize("opts", [[], ["-O", "OpenFlow13"]])
def test_show_and_descriptions(switch, opts):
    out = run(switch, *opts, "show").stdout
    assert "dpid:0000aabbccddeeff" in out and "n_tables:254" in out
    assert " 1(p1): addr:02:00:00:00:00:01" in out and " LOCAL(br0): addr:aa:bb:cc:dd:ee:ff" in out
    assert "miss_send_len=128" in out
    assert "Hardware: tiny" in run(switch, *opts, "dump-desc").stdout
    assert "tables 1...253: ditto" in run(switch, *opts, "dump-tables").stdout
    if opts:
        features = run(switch, *opts, "dump-table-features").stdout
        assert "table 0:" in features and "next tables: 1-253" in features


_FLOWS = [
    "table=0,priority=100,ip,in_port=1,actions=ct(commit,zone=1),output:2",
    "table=0,priority=90,ip,ct_state=-trk,actions=ct(table=1,zone=1)",
    "table=1,priority=100,ip,ct_state=+trk+new,ct_zone=1,"
    "actions=ct(commit,zone=1,exec(set_field:0x1->ct_mark)),output:2",
    "table=1,priority=40,tcp,ct_state=+trk+new,tp_dst=80,"
    "actions=ct(commit,table=2,zone=2,nat(dst=198.51.100.10:8080))",
    "table=3,priority=10,reg0=0x5,actions=load:0x1->NXM_NX_REG1[],output:NXM_NX_REG1[0..15]",
    "priority=4,dl_type=0x88cc,actions=output:1,output:2,FLOOD,ALL,IN_PORT",
]


def _expected_dump(flows: list[str], opts: list[str]) -> list[str]:
    """ovs-ofctl's own rendering of the flows, as --no-stats dump-flows lines."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write("\n".join(flows) + "\n")
        f.flush()
        text = subprocess.run([OVS_OFCTL, *opts, "parse-flows", f.name], capture_output=True,
                              text=True, check=True, timeout=30).stdout
    out = []
    for line in text.splitlines():
        if "FLOW_MOD" not in line:
            continue
        body = line.split(": ADD ", 1)[1]
        if body.startswith("table:"):
            table, body = body.split(" ", 1)
            if table != "table:255":  # no table= given: an add goes to table 0
                body = f"table={table[6:]}, " + body
        out.append(" " + body)
    return out


@pytest.mark.parametrize("opts", [[], ["-O", "OpenFlow13"]])
def test_add_flows_then_dump_them(switch, opts):
    for flow in _FLOWS:
        run(switch, *opts, "add-flow", flow)
    dump = run(switch, *opts, "--no-stats", "dump-flows").stdout.splitlines()
    assert dump == _expected_dump(_FLOWS, opts)
    stats = run(switch, *opts, "dump-flows").stdout.splitlines()
    assert len([ln for ln in stats if ln.startswith(" cookie=")]) == len(_FLOWS)
    run(switch, *opts, "del-flows")
    assert run(switch, *opts, "--no-stats", "dump-flows").stdout.strip() == ""


@pytest.mark.parametrize("opts", [["--bundle"], ["-O", "OpenFlow13", "--bundle"]])
def test_bundled_add_flows(switch, opts):
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write("\n".join(_FLOWS) + "\n")
        f.flush()
        run(switch, *opts, "add-flows", f.name)
    dump_opts = ["-O", "OpenFlow14"] if opts == ["--bundle"] else ["-O", "OpenFlow13"]
    assert run(switch, *dump_opts, "--no-stats", "dump-flows").stdout.splitlines() == \
        _expected_dump(_FLOWS, dump_opts)


def test_an_error_reaches_ovs_ofctl(switch):
    """ovs-ofctl sends a ct tuple match without a valid ct_state; OVS (and we) refuse it."""
    res = run(switch, "-O", "OpenFlow13", "add-flow",
              "ip,ct_state=+trk,ct_nw_src=198.51.100.1,actions=drop", check=False)
    assert res.returncode == 1
    assert "OFPBMC_BAD_PREREQ" in res.stderr
    assert switch.flows == []
