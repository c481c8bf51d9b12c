"""Flow validation: every error below is what real OVS 3.1 answers for the same flow
(checked with ovs-ofctl add-flow against a dummy bridge)."""

from __future__ import annotations

import pytest

from pyvswitch.errors import OFPError
from pyvswitch.flow import layout as L
from pyvswitch.flow.fields import field_by_name
from pyvswitch.flow.flowmod import GroupMod, GroupModCommand
from pyvswitch.flow.ofpacts import (
    CT_F_COMMIT,
    CT_F_FORCE,
    NAT_F_SRC,
    Bucket,
    Ct,
    GotoTable,
    Group,
    GroupType,
    Learn,
    LearnSpec,
    Meter,
    Move,
    Nat,
    Output,
    OutputReg,
    PopVlan,
    PushVlan,
    Resubmit,
    SetField,
    SetRaw,
    SubField,
    WriteActions,
)
from pyvswitch.ofproto import OFProto
from pyvswitch.ofproto.validate import check_actions, check_match
from pyvswitch.types import OFPP_LOCAL, OFPP_NONE

from .helpers import fm, match

F = field_by_name
IP_A = 0xC6336401  # 198.51.100.1
EST = (L.CS_ESTABLISHED | L.CS_TRACKED, L.CS_ESTABLISHED | L.CS_TRACKED)


def sf(name: str, value: int) -> SetField:
    f = F(name)
    return SetField(f, value, f.full_mask)


def err(m, actions=(), table_id=0, **kw) -> str | None:
    try:
        check_match(m)
        check_actions(tuple(actions), m, table_id=table_id, **kw)
    except OFPError as e:
        return e.name
    return None


# ------------------------------------------------------------------ match prerequisites
@pytest.mark.parametrize("m, expected", [
    (match(tcp_dst=(80, 0xFFFF)), "OFPBMC_BAD_PREREQ"),
    (match("ip", tcp_dst=80), "OFPBMC_BAD_PREREQ"),
    (match("tcp", tcp_dst=80), None),
    (match("udp", tp_dst=53), None),
    (match(nw_src=IP_A), "OFPBMC_BAD_PREREQ"),
    (match("arp", arp_spa=IP_A), None),
    (match("ipv6", nw_src=IP_A), "OFPBMC_BAD_PREREQ"),
    (match("icmp6", nd_target=1), "OFPBMC_BAD_PREREQ"),
    (match("icmp6", icmpv6_type=135, nd_target=1), None),
    (match("tcp", ip_frag=(L.FLOW_NW_FRAG_ANY | L.FLOW_NW_FRAG_LATER, 3), tcp_dst=80),
     "OFPBMC_BAD_PREREQ"),
    (match(vlan_tci=(0x6000, 0xE000)), None),
    (match("ip", icmp_type=8), "OFPBMC_BAD_PREREQ"),
    (match("icmp", icmp_type=8, icmp_code=0), None),
    (match(dl_vlan_pcp=3), None),
    (match("ip", ct_state=(L.CS_TRACKED, L.CS_TRACKED), ct_nw_src=IP_A), "OFPBMC_BAD_PREREQ"),
    (match("ip", ct_nw_src=IP_A), "OFPBMC_BAD_PREREQ"),
    (match("ip", ct_state=EST, ct_nw_src=IP_A), None),
    (match("ip", ct_state=(L.CS_TRACKED, L.CS_TRACKED | L.CS_INVALID), ct_tp_src=5), None),
    (match("ipv6", ct_state=EST, ct_nw_src=IP_A), "OFPBAC_MATCH_INCONSISTENT"),
    (match(ct_state=EST, ct_nw_src=IP_A), "OFPBAC_MATCH_INCONSISTENT"),
    (match(ct_state=EST, ct_nw_proto=6), None),
])
def test_match_prerequisites(m, expected):
    assert err(m) == expected


# ------------------------------------------------------------------ ct action rules
COMMIT = CT_F_COMMIT
MARK = SetField(F("ct_mark"), 1, 0xFFFFFFFF)


@pytest.mark.parametrize("m, act, expected", [
    (match(), Ct(flags=COMMIT), "OFPBAC_MATCH_INCONSISTENT"),
    (match("ip"), Ct(flags=COMMIT), None),
    (match("ipv6"), Ct(), None),
    (match("ip", ct_state=(L.CS_INVALID | L.CS_TRACKED,) * 2), Ct(flags=COMMIT),
     "OFPBAC_MATCH_INCONSISTENT"),
    (match("ip", ct_state=(L.CS_INVALID, L.CS_INVALID)), Ct(), None),
    (match("ip", ct_state=(0, L.CS_TRACKED)), Ct(flags=COMMIT), None),
    (match("udp"), Ct(alg=21), "OFPBAC_MATCH_INCONSISTENT"),
    (match("tcp"), Ct(alg=21), None),
    (match("tcp"), Ct(alg=69), "OFPBAC_MATCH_INCONSISTENT"),
    (match("udp"), Ct(alg=69), None),
    (match("ip"), Ct(actions=(MARK,)), "OFPBAC_BAD_ARGUMENT"),
    (match("ip"), Ct(flags=COMMIT, actions=(MARK,)), None),
    (match("ip"), Ct(actions=(Nat(NAT_F_SRC, False, IP_A, IP_A),)), "OFPBAC_BAD_ARGUMENT"),
    (match("ip"), Ct(actions=(Nat(NAT_F_SRC),)), "OFPBAC_BAD_ARGUMENT"),
    (match("ip"), Ct(actions=(Nat(),)), None),
    (match("ip"), Ct(flags=CT_F_FORCE), "OFPBAC_BAD_ARGUMENT"),
    (match("ip"), Ct(flags=CT_F_FORCE | COMMIT), None),
    (match("ipv6"), Ct(flags=COMMIT, actions=(Nat(NAT_F_SRC, False, IP_A, IP_A),)),
     "OFPBAC_MATCH_INCONSISTENT"),
    (match("ip"), Ct(flags=COMMIT, actions=(Nat(NAT_F_SRC, True, 1, 1),)),
     "OFPBAC_MATCH_INCONSISTENT"),
    (match("ipv6"), Ct(flags=COMMIT, actions=(Nat(NAT_F_SRC, True, 1, 1),)), None),
    (match("ip"), Ct(flags=COMMIT, actions=(sf("reg0", 1),)), "OFPBAC_BAD_ARGUMENT"),
    (match("ip"), Ct(flags=COMMIT, actions=(Output(1),)), "OFPBAC_BAD_ARGUMENT"),
    (match("ip"), Ct(zone_src=SubField(F("tcp_src"), 0, 16)), "OFPBAC_MATCH_INCONSISTENT"),
    (match("tcp"), Ct(zone_src=SubField(F("tcp_src"), 0, 16)), None),
    (match("ip"), Ct(zone_src=SubField(F("reg0"), 0, 16)), None),
])
def test_ct_rules(m, act, expected):
    assert err(m, [act]) == expected


def test_ct_commit_message():
    with pytest.raises(OFPError) as e:
        check_actions((Ct(actions=(MARK,)),), match("ip"), table_id=0)
    assert e.value.msg == ("CT action requires commit flag if actions other than NAT "
                           "without arguments are specified")


@pytest.mark.parametrize("m, acts, expected", [
    (match("ip"), [MARK], "OFPBAC_BAD_SET_ARGUMENT"),  # ct fields only inside ct
    (match("ip"), [Nat()], "OFPBAC_BAD_SET_ARGUMENT"),
    (match("ip"), [Resubmit(None, 1, True)], "OFPBAC_MATCH_INCONSISTENT"),
    (match("ip", ct_state=EST), [Resubmit(None, 1, True)], None),
    (match("ip"), [Resubmit(None, 1)], None),
])
def test_ct_related_actions(m, acts, expected):
    assert err(m, acts) == expected


# ------------------------------------------------------------------ other actions
@pytest.mark.parametrize("m, acts, expected", [
    (match("ip"), [sf("tcp_dst", 80)], "OFPBAC_MATCH_INCONSISTENT"),
    (match("tcp"), [sf("tcp_dst", 80)], None),
    (match("arp"), [sf("ip_src", IP_A)], "OFPBAC_MATCH_INCONSISTENT"),
    (match(), [SetField(F("ip_src"), IP_A, 0xFFFFFFFF, SetRaw.LOAD)],
     "OFPBAC_MATCH_INCONSISTENT"),
    (match(), [sf("ip_dscp", 1)], "OFPBAC_MATCH_INCONSISTENT"),
    (match(), [sf("vlan_vid", 5)], "OFPBAC_MATCH_INCONSISTENT"),
    (match(vlan_tci=(0x1000, 0x1000)), [sf("vlan_vid", 5)], None),
    (match(), [PushVlan(), sf("vlan_vid", 5)], None),
    (match(vlan_tci=(0x1000, 0x1000)), [PopVlan(), sf("vlan_vid", 5)],
     "OFPBAC_MATCH_INCONSISTENT"),
    (match(), [PushVlan(), PushVlan(), PushVlan()], "OFPBAC_BAD_TAG"),
    (match("ip"), [SetField(F("nw_proto"), 1, 0xFF, SetRaw.LOAD)], "OFPBAC_BAD_SET_ARGUMENT"),
    (match(), [sf("in_port", 1)], None),
    (match(), [sf("eth_src", 2)], None),
    (match("ip"), [Move(SubField(F("tcp_src"), 0, 16), SubField(F("reg0"), 0, 16))],
     "OFPBAC_MATCH_INCONSISTENT"),
    (match("tcp"), [Move(SubField(F("tcp_src"), 0, 16), SubField(F("reg0"), 0, 16))], None),
    (match("tcp"), [Move(SubField(F("reg0"), 0, 8), SubField(F("nw_proto"), 0, 8))],
     "OFPBAC_BAD_SET_ARGUMENT"),
    (match(), [Move(SubField(F("reg0"), 20, 16), SubField(F("reg1"), 0, 16))],
     "OFPBAC_BAD_SET_LEN"),
    (match(), [OutputReg(SubField(F("tcp_src"), 0, 16))], "OFPBAC_MATCH_INCONSISTENT"),
    (match(), [Output(0xFF00)], "OFPBAC_BAD_OUT_PORT"),
    (match(), [Output(0xFEFF)], None),
    (match(), [Output(0)], None),
    (match(), [Output(OFPP_LOCAL)], None),
    (match(), [Output(OFPP_NONE)], "OFPBAC_BAD_OUT_PORT"),
    (match(), [GotoTable(2)], "OFPBIC_BAD_TABLE_ID"),  # from table 3, see below
    (match(), [Meter(0)], "OFPMMFC_INVALID_METER"),
    (match(), [WriteActions((sf("tcp_dst", 1),))], "OFPBAC_MATCH_INCONSISTENT"),
    (match(), [Learn(specs=(LearnSpec("match", SubField(F("ip_src"), 0, 32), 0,
                                      SubField(F("ip_src"), 0, 32), 32),))],
     "OFPBAC_MATCH_INCONSISTENT"),
    (match("ip"), [Learn(specs=(
        LearnSpec("match", None, 0x800, SubField(F("eth_type"), 0, 16), 16),
        LearnSpec("match", SubField(F("ip_src"), 0, 32), 0, SubField(F("ip_src"), 0, 32), 32),
        LearnSpec("load", SubField(F("ip_dst"), 0, 32), 0, SubField(F("reg0"), 0, 32), 32),
    ))], None),
    (match("ip"), [Learn(specs=(
        LearnSpec("match", SubField(F("ip_src"), 0, 32), 0, SubField(F("ip_src"), 0, 32), 32),
    ))], "OFPBAC_MATCH_INCONSISTENT"),
])
def test_action_checks(m, acts, expected):
    assert err(m, acts, table_id=3) == expected


def test_goto_table_direction():
    assert err(match(), [GotoTable(3)], table_id=3) == "OFPBIC_BAD_TABLE_ID"
    assert err(match(), [GotoTable(4)], table_id=3) is None
    assert err(match(), [GotoTable(254)], table_id=3) is None
    assert err(match(), [GotoTable(255)], table_id=3) == "OFPBIC_BAD_TABLE_ID"
    # No table named (OpenFlow 1.0 without the table-id extension): no direction check.
    assert err(match(), [GotoTable(0)], table_id=None) is None


def test_openflow10_actions_only_inconsistent_for_of11():
    tp = SetField(F("tcp_dst"), 80, 0xFFFF, SetRaw.MOD_TP_DST)
    assert err(match("ip"), [tp]) is None
    assert err(match("ip"), [tp], strict_consistency=True) == "OFPBAC_MATCH_INCONSISTENT"
    assert err(match("tcp"), [tp], strict_consistency=True) is None
    assert err(match(), [PopVlan()], strict_consistency=True) == "OFPBAC_MATCH_INCONSISTENT"
    assert err(match(), [PopVlan()]) is None


def test_flow_mod_validation_through_ofproto():
    ofp = OFProto("br0")
    with pytest.raises(OFPError) as e:
        ofp.handle_flow_mod(fm("add", match("ip"), actions=(Group(5),)), 0.0)
    assert e.value.name == "OFPBAC_BAD_OUT_GROUP"
    with pytest.raises(OFPError) as e:
        ofp.handle_flow_mod(fm("add", match("ip"), actions=(WriteActions((Group(5),)),)), 0.0)
    assert e.value.name == "OFPBAC_BAD_OUT_GROUP"
    ofp.handle_group_mod(GroupMod(GroupModCommand.ADD, 5, GroupType.ALL,
                                  (Bucket((Output(1),)),)), 0.0)
    ofp.handle_flow_mod(fm("add", match("ip"), actions=(Group(5),)), 0.0)
    with pytest.raises(OFPError) as e:
        ofp.handle_flow_mod(fm("add", match(tcp_dst=80)), 0.0)
    assert e.value.name == "OFPBMC_BAD_PREREQ"
    with pytest.raises(OFPError) as e:
        ofp.handle_flow_mod(fm("add", match(), table_id=3, actions=(GotoTable(1),)), 0.0)
    assert e.value.name == "OFPBIC_BAD_TABLE_ID"
    # Deletes check the match too.
    with pytest.raises(OFPError) as e:
        ofp.handle_flow_mod(fm("del", match(tcp_dst=80)), 0.0)
    assert e.value.name == "OFPBMC_BAD_PREREQ"
    assert ofp.n_flows == 1
