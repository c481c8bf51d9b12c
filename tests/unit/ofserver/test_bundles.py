"""Bundles: open/add/commit/discard rules and atomic commits (OpenFlow 1.3 ONF extension
and native 1.4)."""

from __future__ import annotations

import pytest

from pyvswitch.flow.flow_text import parse_flow_mod, parse_group_mod
from pyvswitch.flow.flowmod import FlowModCommand, GroupModCommand
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.consts import (
    OFP13_VERSION,
    OFP14_VERSION,
    OFPBCT_CLOSE_REQUEST,
    OFPBCT_COMMIT_REPLY,
    OFPBCT_COMMIT_REQUEST,
    OFPBCT_DISCARD_REQUEST,
    OFPBCT_OPEN_REPLY,
    OFPBCT_OPEN_REQUEST,
)
from tests.unit.ofserver.helpers import Peer, make_mgr

FLAGS = 3  # atomic | ordered


def fm(text: str, cmd: FlowModCommand = FlowModCommand.ADD):
    return parse_flow_mod(text, cmd)


def bundle_add(peer: Peer, bundle_id: int, msg: object, flags: int = FLAGS) -> int:
    xid = peer.ctl.new_xid()
    inner = peer.ctl.send(msg, xid)
    peer.send(M.BundleAdd(bundle_id, inner, flags), xid=xid)
    return xid


def control(peer: Peer, bundle_id: int, t: int, flags: int = FLAGS) -> list[object]:
    xid = peer.send(M.BundleControl(bundle_id, t, flags))
    return peer.replies(xid)


def dump(mgr) -> str:
    return mgr.bridge.dump_flows(show_stats=False)


@pytest.mark.parametrize("version", [OFP13_VERSION, OFP14_VERSION])
def test_commit_applies_everything(version):
    mgr = make_mgr()
    p = Peer(mgr, {version})
    assert control(p, 7, OFPBCT_OPEN_REQUEST) == [M.BundleControl(7, OFPBCT_OPEN_REPLY, 0)]
    for i in range(3):
        xid = bundle_add(p, 7, fm(f"table=4,priority={i + 1},ip,actions=drop"))
        assert p.replies(xid) == []
    assert "table=4" not in dump(mgr)  # nothing applied before the commit
    assert control(p, 7, OFPBCT_COMMIT_REQUEST) == [
        M.BundleControl(7, OFPBCT_COMMIT_REPLY, 0)]
    assert dump(mgr).count("table=4") == 3


def test_failed_commit_rolls_everything_back():
    mgr = make_mgr()
    p = Peer(mgr)
    p.send(parse_group_mod("group_id=1,type=all,bucket=output:1", GroupModCommand.ADD))
    base = fm("table=1,cookie=0x7,priority=5,ip,actions=output:1")
    p.send(base)
    before = dump(mgr)
    control(p, 1, OFPBCT_OPEN_REQUEST)
    bundle_add(p, 1, fm("table=1,ip", FlowModCommand.DELETE))
    bundle_add(p, 1, fm("table=0,priority=9,actions=drop"))
    bundle_add(p, 1, parse_group_mod("group_id=1", GroupModCommand.DELETE))
    bad = bundle_add(p, 1, fm("table=0,priority=8,ip,actions=group:99"))
    p.take()
    xid = p.send(M.BundleControl(1, OFPBCT_COMMIT_REQUEST, FLAGS))
    got = p.take()
    # the failing message's own error first, then the commit's
    assert [(type(m), x) for m, x in got] == [(M.Error, bad), (M.Error, xid)]
    assert got[0][0].name == "OFPBAC_BAD_OUT_GROUP" and got[1][0].name == "OFPBFC_MSG_FAILED"
    assert dump(mgr) == before
    assert 1 in mgr.bridge.ofproto.groups
    # the bundle is gone either way
    (err,) = control(p, 1, OFPBCT_COMMIT_REQUEST)
    assert err.name == "OFPBFC_BAD_ID"


def test_adding_a_bad_message_is_refused_at_once():
    mgr = make_mgr()
    p = Peer(mgr)
    control(p, 2, OFPBCT_OPEN_REQUEST)
    xid = bundle_add(p, 2, fm("table=3,ip,actions=goto_table:1"))
    (err,) = p.replies(xid)
    assert err.name == "OFPBIC_BAD_TABLE_ID"
    xid = bundle_add(p, 2, M.BarrierRequest())
    (err,) = p.replies(xid)
    assert err.name == "OFPBFC_MSG_UNSUP"
    # an inner message with another xid
    inner = p.ctl.send(fm("priority=1,actions=drop"), 1234)
    xid = p.send(M.BundleAdd(2, inner, FLAGS))
    (err,) = p.replies(xid)
    assert err.name == "OFPBFC_MSG_BAD_XID"


def test_open_close_discard_rules():
    mgr = make_mgr()
    p = Peer(mgr)
    control(p, 3, OFPBCT_OPEN_REQUEST)
    (err,) = control(p, 3, OFPBCT_OPEN_REQUEST)  # exists: refused and discarded
    assert err.name == "OFPBFC_BAD_ID"
    (err,) = control(p, 3, OFPBCT_CLOSE_REQUEST)
    assert err.name == "OFPBFC_BAD_ID"
    control(p, 4, OFPBCT_OPEN_REQUEST)
    assert isinstance(control(p, 4, OFPBCT_CLOSE_REQUEST)[0], M.BundleControl)
    xid = bundle_add(p, 4, fm("priority=1,actions=drop"))
    (err,) = p.replies(xid)
    assert err.name == "OFPBFC_BUNDLE_CLOSED"
    control(p, 5, OFPBCT_OPEN_REQUEST)
    (err,) = control(p, 5, OFPBCT_COMMIT_REQUEST, flags=1)
    assert err.name == "OFPBFC_BAD_FLAGS"
    control(p, 6, OFPBCT_OPEN_REQUEST)
    bundle_add(p, 6, fm("table=9,priority=1,actions=drop"))
    assert isinstance(control(p, 6, OFPBCT_DISCARD_REQUEST)[0], M.BundleControl)
    assert "table=9" not in dump(mgr)


def test_slave_cannot_use_bundles():
    mgr = make_mgr()
    mgr.set_controllers(["tcp:198.51.100.200:6653"], 0.0)
    p = Peer(mgr, primary=True, target="tcp:198.51.100.200:6653")
    p.send(M.RoleRequest(M.ControllerRole.SLAVE, 0))
    (err,) = control(p, 1, OFPBCT_OPEN_REQUEST)
    assert err.name == "OFPBRC_IS_SECONDARY"
