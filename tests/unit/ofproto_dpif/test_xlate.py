"""Translation on a stand-in bridge (real classifiers, flow text and datapath-action
formatting): datapath actions and megaflows as OVS 3.1 produces them for the same
tables (expected strings taken from ``ovs-appctl ofproto/trace``)."""

import pytest

from pyvswitch.flow import layout as L
from pyvswitch.flow.match_text import parse_match
from pyvswitch.odp.format import format_actions
from pyvswitch.ofproto_dpif.events import ControllerCookie, PacketInReason
from pyvswitch.ofproto_dpif.trace import format_megaflow
from pyvswitch.ofproto_dpif.upcall import dp_mask
from pyvswitch.ofproto_dpif.xlate import xlate_actions
from pyvswitch.ofproto_dpif.xlate_ctx import XlateError, XlateIn

from .fakes import FakeBridge

TCP = ("in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,"
       "nw_src=198.51.100.1,nw_dst=198.51.100.2,tp_src=1234,tp_dst=80,nw_ttl=64")


@pytest.fixture
def br():
    b = FakeBridge(normal=False)
    for i in (1, 2, 3):
        b.add_port(f"p{i}", i, i)
    return b


def run(b, text, *, side_effects=False, flow_edit=None):
    match, _ = parse_match(text, b.port_map())
    flow = list(match.value)
    if flow[L.VLAN_TCI]:
        flow[L.VLAN_TPID] = 0x8100
    if flow_edit:
        flow_edit(flow)
    initial = list(flow)
    xin = XlateIn(b, flow, 1.0, allow_side_effects=side_effects, for_datapath=True,
                  packet=bytearray(64) if side_effects else None)
    out = xlate_actions(xin)
    return out, format_actions(out.actions) if out.actions else "drop", \
        format_megaflow(initial, out.wc)


def test_normal_floods_unknown_then_forwards_learned(br):
    br.add_flow("priority=0,actions=NORMAL")
    out, acts, mega = run(br, "in_port=1,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02",
                          side_effects=True)
    assert sorted(acts.split(",")) == ["100", "2", "3"]
    assert mega == ("recirc_id=0,eth,in_port=1,dl_src=50:54:00:00:00:01,"
                    "dl_dst=50:54:00:00:00:02,dl_type=0x0000")
    assert br.switch.need_revalidate_mac
    out, acts, _ = run(br, "in_port=2,dl_src=50:54:00:00:00:02,dl_dst=50:54:00:00:00:01")
    assert acts == "1"
    assert out.normal == [(2, 0x505400000002, 0)]


def test_normal_access_and_trunk_ports(br):
    br.add_flow("priority=0,actions=NORMAL")
    br.add_port("p4", 4, 4, tag=10)
    br.add_port("p5", 5, 5, tag=20)
    br.add_port("p6", 6, 6, trunks=[10])
    # untagged into VLAN 10 access port: tagged to every trunk, not to the VLAN 20 port
    _, acts, mega = run(br, "in_port=4,dl_src=50:54:00:00:00:04,dl_dst=ff:ff:ff:ff:ff:ff")
    assert acts == "push_vlan(vid=10,pcp=0),1,2,3,6,100"
    assert mega == ("recirc_id=0,eth,in_port=4,dl_src=50:54:00:00:00:04,"
                    "dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x0000")
    # tagged VLAN 10 from the trunk: tagged to the trunks, untagged to p4
    _, acts, mega = run(br, "in_port=6,dl_vlan=10,dl_src=50:54:00:00:00:06,"
                        "dl_dst=ff:ff:ff:ff:ff:ff")
    assert acts == "1,2,3,pop_vlan,4,push_vlan(vid=10,pcp=0),100"
    assert mega == ("recirc_id=0,eth,in_port=6,dl_vlan=10,dl_vlan_pcp=0,"
                    "dl_src=50:54:00:00:00:06,dl_dst=ff:ff:ff:ff:ff:ff,dl_type=0x0000")
    # VLAN 30 is not trunked on p6
    out, acts, mega = run(br, "in_port=6,dl_vlan=30,dl_src=50:54:00:00:00:06,"
                          "dl_dst=ff:ff:ff:ff:ff:ff")
    assert acts == "drop"
    assert "dl_vlan=30,dl_src" in mega


def test_conntrack_fork_and_thaw(br):
    br.add_flow("table=0,priority=100,ip,ct_state=-trk,actions=ct(zone=1,table=1)")
    br.add_flow("table=1,priority=100,in_port=1,ip,ct_state=+trk+new,"
                "actions=ct(commit,zone=1),output:2")
    br.add_flow("table=1,priority=90,ip,ct_state=+trk+est,actions=output:2")
    out, acts, mega = run(br, TCP)
    rid = out.recircs[0]
    assert acts == f"ct(zone=1),recirc({rid:#x})"
    assert mega == "recirc_id=0,ct_state=-trk,eth,ip,in_port=1,nw_frag=no"
    st = br.recirc.find(rid)
    assert st.table_id == 1 and st.conntracked

    def thaw(state):
        def edit(f):
            f[L.RECIRC_ID] = rid
            f[L.CT_STATE] = state
            f[L.CT_ZONE] = 1
        return edit

    out, acts, mega = run(br, TCP, flow_edit=thaw(L.CS_TRACKED | L.CS_NEW))
    assert acts == "ct(commit,zone=1),2"
    assert mega.startswith(f"recirc_id={rid:#x},ct_state=+new+trk,eth,ip,in_port=1")
    out, acts, mega = run(br, TCP, flow_edit=thaw(L.CS_TRACKED | L.CS_ESTABLISHED))
    assert acts == "2"
    assert "ct_state=-new+est+trk" in mega


def test_set_fields_commit_once_before_output(br):
    br.add_flow("tcp,actions=mod_nw_dst:198.51.100.9,mod_tp_dst:8080,output:2,output:3")
    out, acts, mega = run(br, TCP)
    assert acts == "set(ipv4(dst=198.51.100.9)),set(tcp(dst=8080)),2,3"
    assert mega == "recirc_id=0,eth,tcp,in_port=1,nw_dst=198.51.100.2,nw_frag=no,tp_dst=80"
    assert out.flow[L.NW_DST] == 0xC6336409


def test_dec_ttl_exception_sends_invalid_ttl_packet_in(br):
    br.add_flow("ip,actions=dec_ttl,output:2")
    out, acts, mega = run(br, TCP.replace("nw_ttl=64", "nw_ttl=1"))
    assert "nw_ttl=1" in mega
    (ua,) = out.actions
    assert isinstance(ua.cookie, ControllerCookie)
    assert ua.cookie.reason is PacketInReason.INVALID_TTL
    assert acts == (f"userspace(pid=0,controller(reason=2,dont_send=0,continuation=0,"
                    f"recirc_id={ua.cookie.recirc_id},rule_cookie=0,controller_id=0,"
                    "max_len=65535))")


def test_resubmit_loop_hits_depth_limit(br):
    br.add_flow("table=0,actions=resubmit(,0)")
    out, acts, _ = run(br, TCP)
    assert out.error is XlateError.RECURSION_TOO_DEEP
    assert acts == "drop"


def test_output_to_input_port_is_skipped_unless_in_port(br):
    br.add_flow("actions=output:1,output:2,in_port")
    _, acts, _ = run(br, TCP)
    assert acts == "2,1"


def test_group_select_recirculates_with_hash(br):
    br.add_group("group_id=1,type=select,bucket=output:2,bucket=output:3")
    br.add_flow("ip,actions=group:1")
    out, acts, _ = run(br, TCP)
    rid = out.recircs[0]
    assert acts == f"hash(sym_l4(0)),recirc({rid:#x})"
    seen = set()
    for h in range(1, 64):
        def edit(f, h=h):
            f[L.RECIRC_ID] = rid
            f[L.DP_HASH] = h
        o, a, mega = run(br, TCP, flow_edit=edit)
        seen.add(a)
        assert "dp_hash=" in mega and "/0xf" in mega
    assert seen == {"2", "3"}


def test_group_fast_failover_skips_dead_port(br):
    br.add_group("group_id=2,type=fast_failover,bucket=watch_port:2,output:2,"
                 "bucket=watch_port:3,output:3")
    br.add_flow("ip,actions=group:2")
    _, acts, _ = run(br, TCP)
    assert acts == "2"
    br.xports[2].may_enable = False
    _, acts, _ = run(br, TCP)
    assert acts == "3"


def test_learn_only_with_a_packet(br):
    br.add_flow("actions=learn(table=1,priority=100,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],"
                "output:NXM_OF_IN_PORT[]),output:2")
    out, _, mega = run(br, TCP)
    assert br.learned == [] and not out.avoid_caching
    assert "dl_src=50:54:00:00:00:01" in mega
    out, _, _ = run(br, TCP, side_effects=True)
    (fm,) = br.learned
    assert fm.table_id == 1 and fm.priority == 100
    assert fm.match.get(__import__("pyvswitch.flow.fields", fromlist=["F"]).FIELDS["eth_dst"]) \
        == (0x505400000001, (1 << 48) - 1)
    assert out.avoid_caching


def test_dp_mask_keeps_port_and_types_exact(br):
    br.add_flow("actions=output:2")
    out, _, _ = run(br, TCP)
    m = dp_mask(out.wc)
    assert len(m) == L.N_DP
    assert m[L.IN_PORT] == 0xFFFFFFFF and m[L.ETH_TYPE] == 0xFFFF
    assert m[L.VLAN_TPID] == 0xFFFF and m[L.NW_SRC] == 0
