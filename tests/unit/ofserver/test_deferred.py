"""Deferred flow adds (``ConnManager.defer_adds``, as the daemon runs): a pure insertion
is checked when it arrives and done after the replies of its batch are out, yet every
request still sees the effects of the earlier ones, and errors come before the barrier
reply that follows them."""

from __future__ import annotations

from pyvswitch.flow.flow_text import parse_flow_mod
from pyvswitch.flow.flowmod import FlowModCommand
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.consts import OFP10_VERSION, OFP13_VERSION
from tests.unit.ofserver.helpers import Peer, make_mgr


def add(text: str):
    return parse_flow_mod(text, FlowModCommand.ADD, {})


def batch(peer: Peer, *msgs) -> list[int]:
    """Send ``msgs`` in one read, as a client writing faster than we read does."""
    xids, data = [], b""
    for m in msgs:
        xid = peer.ctl.new_xid()
        xids.append(xid)
        data += peer.ctl.send(m, xid)
    peer.send_raw(data)
    return xids


def flows(mgr) -> list[str]:
    return sorted(f"{r.priority}:{r.match}" for r in mgr.bridge.ofproto.rules(0))


def test_barrier_reply_before_insertion_then_complete():
    mgr = make_mgr()
    mgr.defer_adds = True
    p = Peer(mgr, {OFP13_VERSION})
    before = flows(mgr)
    f, b = batch(p, add("table=0,priority=7,tcp,tp_dst=80,actions=drop"), M.BarrierRequest())
    assert p.replies(b) == [M.BarrierReply()] and p.replies(f) == []
    assert flows(mgr) == before  # not yet: the shell sends the replies first
    mgr.complete(0.0)
    assert len(flows(mgr)) == len(before) + 1
    mgr.complete(0.0)  # nothing left: harmless
    assert len(flows(mgr)) == len(before) + 1


def test_later_requests_see_earlier_adds():
    mgr = make_mgr()
    mgr.defer_adds = True
    p = Peer(mgr, {OFP13_VERSION})
    xids = batch(p, add("table=0,priority=5,in_port=1,actions=drop"), M.BarrierRequest(),
                 add("table=0,priority=5,check_overlap,ip,actions=drop"), M.BarrierRequest(),
                 M.FlowStatsRequest(table_id=0xFF))
    [err] = p.replies(xids[2])
    assert isinstance(err, M.Error)
    assert [type(m) for m, x in p.inbox if x in xids[2:4]] == [M.Error, M.BarrierReply]
    (stats,) = p.replies(xids[4])
    assert [s.priority for s in stats.flows if s.priority == 5] == [5]


def test_errors_are_sent_at_once_and_nothing_is_deferred():
    mgr = make_mgr()
    mgr.defer_adds = True
    p = Peer(mgr, {OFP13_VERSION})
    before = flows(mgr)
    f, b = batch(p, add("table=0,priority=5,ip,actions=group:9"), M.BarrierRequest())
    assert [type(m) for m, _ in p.take()] == [M.Error, M.BarrierReply]
    mgr.complete(0.0)
    assert flows(mgr) == before


def test_replacing_add_is_applied_at_once():
    mgr = make_mgr()
    mgr.defer_adds = True
    p = Peer(mgr, {OFP10_VERSION})
    batch(p, add("priority=5,in_port=1,actions=drop"), M.BarrierRequest())
    mgr.complete(0.0)
    rule = next(r for r in mgr.bridge.ofproto.rules(0) if r.priority == 5)
    rule.credit(3, 180, 1.0)
    batch(p, add("priority=5,in_port=1,actions=output:2"), M.BarrierRequest())
    # replaced in place before the barrier reply, counters reset (OpenFlow 1.0 add)
    assert len(rule.actions) == 1 and (rule.n_packets, rule.n_bytes) == (0, 0)


def test_timers_and_closing_complete_deferred_work():
    mgr = make_mgr()
    mgr.defer_adds = True
    p = Peer(mgr, {OFP13_VERSION})
    n = len(flows(mgr))
    batch(p, add("table=0,priority=9,udp,actions=drop"), M.BarrierRequest())
    mgr.run(0.0)
    assert len(flows(mgr)) == n + 1
    batch(p, add("table=0,priority=9,tcp,actions=drop"))
    mgr.closed(p.conn, 0.0)
    assert len(flows(mgr)) == n + 2
