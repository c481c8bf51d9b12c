"""flow_mod semantics: add/replace, modify and delete (loose/strict), filters, timeouts."""

from __future__ import annotations

import pytest

from pyvswitch.errors import OFPError
from pyvswitch.flow.flowmod import (
    OFPFF_CHECK_OVERLAP,
    OFPFF_RESET_COUNTS,
    OFPFF_SEND_FLOW_REM,
)
from pyvswitch.flow.ofpacts import Controller, Ct, GotoTable, Output, WriteActions
from pyvswitch.ofproto import FlowRemovedReason, OFProto
from pyvswitch.types import OFPP_CONTROLLER, OFPP_FLOOD, OFPTT_ALL

from .helpers import flow, fm, match


@pytest.fixture
def ofp() -> OFProto:
    return OFProto("br0", 0x1)


def add(ofp, m=None, now=0.0, **kw):
    kw.setdefault("actions", (Output(1),))
    return ofp.handle_flow_mod(fm("add", m, **kw), now)


def only_rule(ofp, table_id=0):
    rules = ofp.rules(table_id)
    assert len(rules) == 1
    return rules[0]


# ------------------------------------------------------------------------------- add
def test_add_then_lookup_and_table_miss(ofp):
    add(ofp, match("ip", nw_src=0xC6336401), priority=100, actions=(Output(2),))
    r = ofp.lookup(0, flow("ip", nw_src=0xC6336401))
    assert r.actions == (Output(2),) and r.priority == 100 and r.table_id == 0
    assert ofp.lookup(0, flow("ip", nw_src=0xC6336402)) is None  # miss = no rule
    assert ofp.lookup(1, flow("ip", nw_src=0xC6336401)) is None


def test_add_replaces_identical_keeping_counters_unless_reset(ofp):
    m = match("tcp", tcp_dst=80)
    add(ofp, m, now=1.0, priority=10, cookie=0x1, idle_timeout=60)
    r = only_rule(ofp)
    r.credit(3, 300, 2.0)
    gen = ofp.generation
    add(ofp, m, now=5.0, priority=10, cookie=0x2, actions=(Output(3),), hard_timeout=9)
    assert only_rule(ofp) is r  # replaced in place
    assert (r.actions, r.cookie, r.idle_timeout, r.hard_timeout) == ((Output(3),), 2, 0, 9)
    assert (r.n_packets, r.n_bytes) == (3, 300)
    assert r.created == r.modified == 5.0 and r.used == 2.0
    assert ofp.generation > gen
    add(ofp, m, now=6.0, priority=10, flags=OFPFF_RESET_COUNTS)
    assert (r.n_packets, r.n_bytes) == (0, 0)
    # every flow_mod flag is kept in the rule and reported by flow stats (OVS
    # OFPUTIL_FF_STATE), reset_counts and check_overlap included
    assert r.flags == OFPFF_RESET_COUNTS
    # Other priority: a second rule.
    add(ofp, m, priority=11)
    assert len(ofp.rules(0)) == 2


def test_check_overlap(ofp):
    add(ofp, match(in_port=1), priority=5)
    with pytest.raises(OFPError) as e:
        add(ofp, match("ip"), priority=5, flags=OFPFF_CHECK_OVERLAP)
    assert e.value.name == "OFPFMFC_OVERLAP"
    add(ofp, match("ip"), priority=6, flags=OFPFF_CHECK_OVERLAP)
    add(ofp, match(in_port=2), priority=5, flags=OFPFF_CHECK_OVERLAP)
    # An identical flow is a replacement, not an overlap.
    add(ofp, match(in_port=1), priority=5, flags=OFPFF_CHECK_OVERLAP)
    assert len(ofp.rules(0)) == 3
    assert {r.priority: r.flags for r in ofp.rules(0)} == {5: OFPFF_CHECK_OVERLAP,
                                                          6: OFPFF_CHECK_OVERLAP}


def test_add_table_ids(ofp):
    add(ofp, match(in_port=1), table_id=None)
    add(ofp, match(in_port=2), table_id=OFPTT_ALL)
    add(ofp, match(in_port=3), table_id=253)
    assert len(ofp.rules(0)) == 2 and len(ofp.rules(253)) == 1
    with pytest.raises(OFPError) as e:
        add(ofp, match(in_port=3), table_id=254)  # OVS's internal table
    assert e.value.name == "OFPBRC_EPERM"
    with pytest.raises(OFPError) as e:
        add(ofp, match(in_port=3), table_id=300)
    assert e.value.name == "OFPBRC_BAD_TABLE_ID"
    ofp.handle_flow_mod(fm("add", match(in_port=4), table_id=254), 0.0, allow_readonly=True)
    assert len(ofp.rules(254)) == 1


# ------------------------------------------------------------------------------- modify
def test_modify_loose_changes_actions_keeps_the_rest(ofp):
    add(ofp, match("tcp", tcp_dst=80), now=1.0, priority=10, cookie=7, idle_timeout=30,
        flags=OFPFF_SEND_FLOW_REM)
    add(ofp, match("tcp", tcp_dst=22), now=1.0, priority=20)
    add(ofp, match("udp"), now=1.0, priority=30)
    for r in ofp.rules(0):
        r.credit(1, 64, 1.5)
    ofp.handle_flow_mod(fm("mod", match("tcp"), actions=(Output(9),)), 4.0)
    tcp = [r for r in ofp.rules(0) if r.match.nw_proto() == 6]
    assert len(tcp) == 2 and all(r.actions == (Output(9),) for r in tcp)
    udp = [r for r in ofp.rules(0) if r.match.nw_proto() == 17][0]
    assert udp.actions == (Output(1),)
    r80 = ofp.collect_rules(0, match("tcp", tcp_dst=80))[0]
    assert (r80.cookie, r80.idle_timeout, r80.flags) == (7, 30, OFPFF_SEND_FLOW_REM)
    assert (r80.created, r80.modified, r80.n_packets) == (1.0, 4.0, 1)


def test_modify_strict_and_cookie(ofp):
    add(ofp, match("tcp", tcp_dst=80), priority=10, cookie=1)
    add(ofp, match("tcp", tcp_dst=80), priority=20, cookie=2)
    ofp.handle_flow_mod(fm("mod_strict", match("tcp", tcp_dst=80), priority=20,
                           actions=(Output(5),), new_cookie=0x55), 0.0)
    by_pri = {r.priority: r for r in ofp.rules(0)}
    assert by_pri[20].actions == (Output(5),) and by_pri[20].cookie == 0x55
    assert by_pri[10].actions == (Output(1),) and by_pri[10].cookie == 1
    # Cookie filter: only rules whose cookie matches under the mask.
    ofp.handle_flow_mod(fm("mod", match(), cookie=1, cookie_mask=0xFF,
                           actions=(Output(7),)), 0.0)
    assert by_pri[10].actions == (Output(7),) and by_pri[20].actions == (Output(5),)


def test_modify_may_add_and_reset_counts(ofp):
    # OF1.3 semantics: nothing matches, nothing happens.
    ofp.handle_flow_mod(fm("mod", match("ip"), actions=(Output(1),)), 0.0)
    assert ofp.n_flows == 0
    # OF1.0/NXM semantics: add it.
    ofp.handle_flow_mod(fm("mod", match("ip"), actions=(Output(1),), modify_may_add=True,
                           new_cookie=3), 0.0)
    r = only_rule(ofp)
    assert r.cookie == 3 and r.priority == 0x8000
    # ... but not when filtering on a cookie.
    ofp.handle_flow_mod(fm("mod", match("arp"), cookie=9, cookie_mask=0xFF,
                           modify_may_add=True), 0.0)
    assert ofp.n_flows == 1
    r.credit(5, 500, 1.0)
    ofp.handle_flow_mod(fm("mod", match(), actions=(Output(2),), flags=OFPFF_RESET_COUNTS),
                        2.0)
    assert (r.n_packets, r.n_bytes, r.actions) == (0, 0, (Output(2),))


# ------------------------------------------------------------------------------- delete
def test_delete_loose_strict_and_flow_removed(ofp):
    add(ofp, match("tcp", tcp_dst=80), now=1.0, priority=10, flags=OFPFF_SEND_FLOW_REM)
    add(ofp, match("tcp", tcp_dst=80), now=1.0, priority=20)
    add(ofp, match("tcp"), now=1.0, priority=5, table_id=3)
    add(ofp, match("udp"), now=1.0, priority=5)
    ev = ofp.handle_flow_mod(fm("del_strict", match("tcp", tcp_dst=80), priority=20), 2.0)
    assert ev == [] and ofp.n_flows == 3
    r10 = ofp.collect_rules(0, match("tcp", tcp_dst=80))[0]
    r10.credit(2, 128, 1.5)
    ev = ofp.handle_flow_mod(fm("del", match("tcp")), 3.5)
    assert ofp.n_flows == 1  # both tcp flows, in all tables; udp stays
    assert len(ev) == 1
    e = ev[0]
    assert (e.reason, e.priority, e.table_id, e.packet_count, e.byte_count) == \
        (FlowRemovedReason.DELETE, 10, 0, 2, 128)
    assert e.duration == pytest.approx(2.5)
    # A loose request does not select rules that wildcard what it constrains.
    add(ofp, match(), priority=1)
    ofp.handle_flow_mod(fm("del", match("udp", udp_dst=53)), 4.0)
    assert ofp.n_flows == 2


def test_delete_out_port_and_out_group(ofp):
    ofp.handle_group_mod(_group(1), 0.0)
    add(ofp, match(in_port=1), actions=(Output(2),))
    add(ofp, match(in_port=2), actions=(WriteActions((Output(3),)),))
    add(ofp, match(in_port=3), actions=(Output(OFPP_FLOOD),))
    add(ofp, match(in_port=4), actions=(Controller(),))
    add(ofp, match("ip", in_port=5), actions=(Ct(flags=1, actions=()), Output(3)))
    add(ofp, match(in_port=6), actions=(_group_action(1),))
    ofp.handle_flow_mod(fm("del", out_port=3), 0.0)
    assert sorted(r.match.value[2] for r in ofp.rules(0)) == [1, 3, 4, 6]
    ofp.handle_flow_mod(fm("del", out_port=OFPP_CONTROLLER), 0.0)
    assert sorted(r.match.value[2] for r in ofp.rules(0)) == [1, 3, 6]
    ofp.handle_flow_mod(fm("del", out_group=1), 0.0)
    assert sorted(r.match.value[2] for r in ofp.rules(0)) == [1, 3]


def test_delete_table_filter_and_internal_table(ofp):
    add(ofp, match(in_port=1), table_id=0)
    add(ofp, match(in_port=1), table_id=1)
    ofp.handle_flow_mod(fm("add", match(in_port=1), table_id=254), 0.0, allow_readonly=True)
    ofp.handle_flow_mod(fm("del", table_id=1), 0.0)
    assert [r.table_id for r in ofp.rules()] == [0, 254]
    ofp.handle_flow_mod(fm("del"), 0.0)  # every visible table
    assert [r.table_id for r in ofp.rules()] == [254]
    with pytest.raises(OFPError) as e:
        ofp.handle_flow_mod(fm("del", table_id=254), 0.0)
    assert e.value.name == "OFPBRC_EPERM"
    with pytest.raises(OFPError) as e:
        ofp.collect_rules(255 + 1)
    assert e.value.name == "OFPBRC_BAD_TABLE_ID"


# ------------------------------------------------------------------------------- timeouts
def test_hard_and_idle_timeouts(ofp):
    add(ofp, match(in_port=1), now=0.0, hard_timeout=10, flags=OFPFF_SEND_FLOW_REM)
    add(ofp, match(in_port=2), now=0.0, idle_timeout=5, flags=OFPFF_SEND_FLOW_REM)
    add(ofp, match(in_port=3), now=0.0, idle_timeout=5)
    assert ofp.next_timeout() == 5.0
    idle = ofp.collect_rules(0, match(in_port=2))[0]
    idle.credit(1, 60, 4.0)  # used at 4: idles out after 9
    assert ofp.run(5.0) == []
    assert ofp.n_flows == 3
    ev = ofp.run(5.5)  # in_port=3 never used: gone silently
    assert ev == [] and ofp.n_flows == 2
    ev = ofp.run(9.5)
    assert [(e.reason, e.packet_count) for e in ev] == [(FlowRemovedReason.IDLE_TIMEOUT, 1)]
    assert ofp.run(10.0) == []  # not strictly past yet
    ev = ofp.run(10.01)
    assert [e.reason for e in ev] == [FlowRemovedReason.HARD_TIMEOUT]
    assert ofp.n_flows == 0 and ofp.next_timeout() is None


def test_modify_restarts_hard_timeout_and_stats_ages(ofp):
    add(ofp, match(in_port=1), now=0.0, hard_timeout=10)
    r = only_rule(ofp)
    ofp.handle_flow_mod(fm("mod", match(in_port=1), actions=(Output(4),)), 8.0)
    assert ofp.run(12.0) == [] and ofp.n_flows == 1
    r.credit(1, 100, 9.0)
    st = ofp.flow_stats(r, 12.7)
    assert (st.duration, st.idle_age, st.hard_age) == (pytest.approx(12.7), 3, 4)
    assert st.actions == (Output(4),) and st.packet_count == 1
    ofp.run(18.5)
    assert ofp.n_flows == 0


def test_reduce_timeouts(ofp):
    add(ofp, match(in_port=1), now=0.0, idle_timeout=60)
    r = only_rule(ofp)
    ofp.reduce_timeouts(r, 10, 20)
    assert (r.idle_timeout, r.hard_timeout) == (10, 20)
    ofp.reduce_timeouts(r, 30, 0)
    assert (r.idle_timeout, r.hard_timeout) == (10, 20)
    ofp.run(10.5)
    assert ofp.n_flows == 0


# ------------------------------------------------------------------------------- stats
def test_aggregate_and_table_stats(ofp):
    add(ofp, match("tcp"), priority=1)
    add(ofp, match("udp"), priority=1)
    add(ofp, match("udp"), priority=1, table_id=2, actions=(GotoTable(3),))
    for r in ofp.rules():
        r.credit(2, 100, 1.0)
    agg = ofp.aggregate_stats(match=match("udp"))
    assert (agg.packet_count, agg.byte_count, agg.flow_count) == (4, 200, 2)
    ofp.count_lookup(0, True)
    ofp.count_lookup(0, False, 2)
    ts = ofp.table_stats()
    assert len(ts) == 254
    assert (ts[0].active, ts[0].lookup, ts[0].matched) == (2, 3, 1)
    assert ts[2].active == 1


def test_learn_flow_refreshes_identical_and_modifies_otherwise(ofp):
    learned = fm("mod_strict", match("ip", nw_src=0xC6336401), table_id=1, priority=7,
                 hard_timeout=10, actions=(Output(2),), new_cookie=0x9)
    r = ofp.learn_flow(learned, 1.0)
    assert r.modified == 1.0 and r.cookie == 9 and r.table_id == 1
    gen = ofp.generation
    assert ofp.learn_flow(learned, 6.0) is r
    assert ofp.generation == gen  # forwarding unchanged
    assert r.modified == 6.0 and ofp.run(12.0) == [] and ofp.n_flows == 1
    changed = fm("mod_strict", match("ip", nw_src=0xC6336401), table_id=1, priority=7,
                 hard_timeout=99, actions=(Output(3),), new_cookie=0x9)
    assert ofp.learn_flow(changed, 7.0) is r
    assert r.actions == (Output(3),) and r.hard_timeout == 10  # modify keeps timeouts
    assert ofp.generation > gen
    other = fm("mod_strict", match("ip", nw_src=0xC6336402), table_id=1, priority=7,
               actions=(Output(3),), new_cookie=0x9)
    assert ofp.learn_flow(other, 7.0, limit=1) is None
    assert ofp.learn_flow(other, 7.0, limit=2) is not None


def _group(gid):
    from pyvswitch.flow.flowmod import GroupMod, GroupModCommand
    from pyvswitch.flow.ofpacts import Bucket, GroupType

    return GroupMod(GroupModCommand.ADD, gid, GroupType.ALL, (Bucket((Output(1),)),))


def _group_action(gid):
    from pyvswitch.flow.ofpacts import Group

    return Group(gid)


def test_learn_delete_learned_flushes_learned_flows(ofp):
    from pyvswitch.flow.ofpacts import LEARN_F_DELETE_LEARNED, Learn

    learn = Learn(table_id=2, cookie=0x77, flags=LEARN_F_DELETE_LEARNED)
    add(ofp, match(in_port=1), priority=5, actions=(learn,))
    add(ofp, match(in_port=2), priority=5, actions=(WriteActions((learn,)),))
    for port in (7, 8):
        ofp.learn_flow(fm("mod_strict", match(in_port=port), table_id=2, new_cookie=0x77,
                          actions=(Output(1),), flags=OFPFF_SEND_FLOW_REM), 1.0)
    ofp.learn_flow(fm("mod_strict", match(in_port=9), table_id=2, new_cookie=0x78,
                      actions=(Output(1),)), 1.0)
    assert len(ofp.rules(2)) == 3
    # One of the two learning flows goes: the learned flows stay.
    assert ofp.handle_flow_mod(fm("del_strict", match(in_port=1), priority=5), 2.0) == []
    assert len(ofp.rules(2)) == 3
    # Replacing the other with a flow without that learn removes them.
    ev = ofp.handle_flow_mod(fm("add", match(in_port=2), priority=5,
                                actions=(Output(3),)), 3.0)
    assert sorted(e.match.value[2] for e in ev) == [7, 8]
    assert all(e.reason is FlowRemovedReason.DELETE for e in ev)
    assert [r.cookie for r in ofp.rules(2)] == [0x78]


def test_dump_order_modified_and_readded_rules_move_to_the_end(ofp):
    """As in OVS (checked against ovs-ofctl dump-flows): within a subtable, rules
    list in insertion order, and a modified or re-added rule goes last."""
    for port in (1, 2, 3):
        add(ofp, match(in_port=port), priority=5)
    ofp.handle_flow_mod(fm("mod_strict", match(in_port=1), priority=5,
                           actions=(Output(9),)), 1.0)
    assert [r.match.value[2] for r in ofp.rules(0)] == [2, 3, 1]
    add(ofp, match(in_port=2), priority=5)
    assert [r.match.value[2] for r in ofp.rules(0)] == [3, 1, 2]
