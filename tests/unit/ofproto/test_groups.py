"""Groups: group_mod semantics and errors (as OVS 3.1 answers), stats, rule references."""

from __future__ import annotations

import pytest

from pyvswitch.errors import OFPError
from pyvswitch.flow.flowmod import OFPFF_SEND_FLOW_REM, GroupMod, GroupModCommand
from pyvswitch.flow.ofpacts import Bucket, Group, GroupType, Output, WriteActions
from pyvswitch.ofproto import FlowRemovedReason, OFProto
from pyvswitch.types import OFPG_ALL

from .helpers import fm, match

ADD, MOD, DEL = GroupModCommand.ADD, GroupModCommand.MODIFY, GroupModCommand.DELETE


def gm(cmd, gid, gtype=GroupType.ALL, *buckets: Bucket) -> GroupMod:
    if not buckets and cmd is not DEL:
        buckets = (Bucket((Output(1),)),)
    return GroupMod(cmd, gid, gtype, tuple(buckets))


def refuse(ofp, g) -> str:
    with pytest.raises(OFPError) as e:
        ofp.handle_group_mod(g, 0.0)
    return e.value.name


@pytest.fixture
def ofp() -> OFProto:
    return OFProto("br0")


def test_add_modify_delete_errors(ofp):
    ofp.handle_group_mod(gm(ADD, 1, GroupType.ALL, Bucket((Output(1),)), Bucket((Output(2),))),
                         1.0)
    assert refuse(ofp, gm(ADD, 1)) == "OFPGMFC_GROUP_EXISTS"
    assert refuse(ofp, gm(MOD, 77)) == "OFPGMFC_UNKNOWN_GROUP"
    assert ofp.handle_group_mod(gm(DEL, 77), 0.0) == []  # deleting nothing is fine
    assert refuse(ofp, gm(ADD, 2, GroupType.INDIRECT, Bucket((Output(1),)),
                          Bucket((Output(2),)))) == "OFPGMFC_INVALID_GROUP"
    assert refuse(ofp, gm(ADD, 3, GroupType.ALL, Bucket((Output(1),), weight=5))) \
        == "OFPGMFC_INVALID_GROUP"
    assert refuse(ofp, gm(ADD, 4, GroupType.FF, Bucket((Output(1),)))) \
        == "OFPGMFC_INVALID_GROUP"
    assert refuse(ofp, gm(ADD, 6, GroupType.ALL, Bucket((Output(1),), watch_port=1))) \
        == "OFPGMFC_WATCH_UNSUPPORTED"
    assert refuse(ofp, gm(ADD, 0xFFFFFF01)) == "OFPGMFC_INVALID_GROUP"
    ofp.handle_group_mod(gm(ADD, 0xFFFFFF00), 0.0)  # OFPG_MAX itself is fine
    ofp.handle_group_mod(gm(ADD, 5, GroupType.FF, Bucket((Output(1),), watch_port=1)), 0.0)
    ofp.handle_group_mod(gm(ADD, 7, GroupType.SELECT, Bucket((Output(1),)),
                            Bucket((Output(2),), weight=0)), 0.0)
    ofp.handle_group_mod(gm(ADD, 8, GroupType.ALL, Bucket((Group(99),))), 0.0)
    assert [g.group_id for g in ofp.groups] == [1, 5, 7, 8, 0xFFFFFF00]


def test_modify_keeps_created_and_rule_refs_resets_counters(ofp):
    ofp.handle_group_mod(gm(ADD, 1), 1.0)
    ofp.handle_flow_mod(fm("add", match(in_port=1), actions=(Group(1),)), 1.0)
    g = ofp.groups.get(1)
    g.credit(2, 200, bucket=0)
    gen = ofp.generation
    ofp.handle_group_mod(gm(MOD, 1, GroupType.SELECT, Bucket((Output(3),)),
                            Bucket((Output(4),))), 5.0)
    g2 = ofp.groups.get(1)
    assert g2 is not g and g2.type is GroupType.SELECT and len(g2.buckets) == 2
    assert (g2.created, g2.modified, g2.n_packets, g2.ref_count) == (1.0, 5.0, 0, 1)
    assert ofp.generation > gen
    st = ofp.group_stats(1, 7.5)[0]
    assert (st.duration, st.ref_count, st.bucket_stats) == (6.5, 1, ((0, 0), (0, 0)))


def test_stats_and_ref_count(ofp):
    ofp.handle_group_mod(gm(ADD, 1, GroupType.ALL, Bucket((Output(1),)), Bucket((Output(2),))),
                         0.0)
    ofp.handle_group_mod(gm(ADD, 2), 0.0)
    ofp.handle_flow_mod(fm("add", match(in_port=1), actions=(Group(1),)), 0.0)
    ofp.handle_flow_mod(fm("add", match(in_port=2), actions=(WriteActions((Group(1),)),)),
                        0.0)
    g = ofp.groups.get(1)
    g.credit(3, 300, bucket=1)
    g.credit(1, 60)
    st = {s.group_id: s for s in ofp.group_stats(OFPG_ALL, 2.0)}
    assert (st[1].ref_count, st[1].packet_count, st[1].byte_count) == (2, 4, 360)
    assert st[1].bucket_stats == ((0, 0), (3, 300))
    assert st[2].ref_count == 0
    # A flow changing its actions drops its reference.
    ofp.handle_flow_mod(fm("mod_strict", match(in_port=1), actions=(Output(1),)), 0.0)
    assert ofp.groups.get(1).ref_count == 1


def test_deleting_a_group_deletes_its_flows(ofp):
    ofp.handle_group_mod(gm(ADD, 1), 0.0)
    ofp.handle_group_mod(gm(ADD, 2), 0.0)
    ofp.handle_flow_mod(fm("add", match(in_port=1), actions=(Group(1),),
                           flags=OFPFF_SEND_FLOW_REM), 0.0)
    ofp.handle_flow_mod(fm("add", match(in_port=2), actions=(Group(2),)), 0.0)
    ofp.handle_flow_mod(fm("add", match(in_port=3), actions=(Output(1),)), 0.0)
    ev = ofp.handle_group_mod(gm(DEL, 1), 3.0)
    assert [(e.reason, e.match) for e in ev] == [(FlowRemovedReason.GROUP_DELETE,
                                                  match(in_port=1))]
    assert ofp.n_flows == 2 and 1 not in ofp.groups
    ofp.handle_group_mod(gm(DEL, OFPG_ALL), 3.0)
    assert ofp.n_flows == 1 and len(ofp.groups) == 0
