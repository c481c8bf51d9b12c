"""Unit tests for translation's building blocks: the trace tree printer, commit of
header changes into datapath actions, recirculation ids, port VLAN configuration and
the action-set order."""

import pytest

from pyvswitch.errors import ConfigError
from pyvswitch.flow import layout as L
from pyvswitch.flow import ofpacts as of
from pyvswitch.flow.fields import FIELDS
from pyvswitch.odp import actions as dp
from pyvswitch.ofproto_dpif.commit import commit_actions
from pyvswitch.ofproto_dpif.ports import make_vlan_config
from pyvswitch.ofproto_dpif.recirc import FrozenState, RecircTable
from pyvswitch.ofproto_dpif.trace_tree import NodeType, format_nodes, report
from pyvswitch.ofproto_dpif.xlate import execute_action_set


def test_trace_tree_tail_table_prints_at_parent_depth():
    root = []
    br = report(root, NodeType.BRIDGE, 'bridge("br0")')
    t0 = report(br, NodeType.TABLE, " 0. priority 10")
    report(t0, NodeType.ACTION, "resubmit(,1)")
    t1 = report(t0, NodeType.TABLE, " 1. priority 0")
    report(t1, NodeType.ACTION, "load:0x5->NXM_NX_REG1[]")
    report(t1, NodeType.DETAIL, "NXM_NX_REG1[] is now 0x5")
    report(t0, NodeType.ACTION, "resubmit(,2)")
    t2 = report(t0, NodeType.TABLE, " 2. priority 0")
    report(t2, NodeType.WARN, "Nonexistent output port")
    report(t2, NodeType.ERROR, "stack underflow")
    assert format_nodes(root) == (
        "\n"
        'bridge("br0")\n'
        "-------------\n"
        " 0. priority 10\n"
        "    resubmit(,1)\n"
        "     1. priority 0\n"
        "            load:0x5->NXM_NX_REG1[]\n"
        "             -> NXM_NX_REG1[] is now 0x5\n"
        "    resubmit(,2)\n"
        " 2. priority 0\n"
        "     >> Nonexistent output port\n"
        "     >>>> stack underflow <<<<\n"
    )


def _flow(**kw):
    f = [0] * L.N_FLOW
    f[L.ETH_TYPE] = L.ETH_TYPE_IP
    f[L.NW_PROTO] = L.IPPROTO_TCP
    for k, v in kw.items():
        f[getattr(L, k)] = v
    return f


def test_commit_sets_only_changed_fields_with_written_masks():
    base = _flow(NW_SRC=0xC6336401, NW_DST=0xC6336402, TP_DST=80)
    flow = list(base)
    wc = [0] * L.N_FLOW
    flow[L.NW_DST] = 0xC6336409
    wc[L.NW_DST] = 0xFFFFFFFF
    wc[L.NW_SRC] = 0xFFFFFFFF  # read, not written: must not be set
    out = []
    commit_actions(flow, base, wc, out)
    assert out == [dp.SetMasked("ipv4", ((L.NW_DST, 0xC6336409, 0xFFFFFFFF),))]
    assert base == flow
    out.clear()
    commit_actions(flow, base, wc, out)
    assert out == []


def test_commit_both_ports_is_one_tcp_set():
    base = _flow(TP_SRC=1, TP_DST=2)
    flow = list(base)
    wc = [0] * L.N_FLOW
    flow[L.TP_SRC], flow[L.TP_DST] = 3, 4
    wc[L.TP_SRC] = wc[L.TP_DST] = 0xFFFF
    out = []
    commit_actions(flow, base, wc, out)
    assert out == [dp.SetMasked("tcp", ((L.TP_SRC, 3, 0xFFFF), (L.TP_DST, 4, 0xFFFF)))]


def test_commit_vlan_push_and_modify_is_pop_push():
    base = _flow()
    flow = list(base)
    wc = [0] * L.N_FLOW
    flow[L.VLAN_TPID], flow[L.VLAN_TCI] = 0x8100, 0x1000 | 10
    out = []
    commit_actions(flow, base, wc, out)
    assert out == [dp.PushVlan(0x8100, 0x100A)]
    flow[L.VLAN_TCI] = 0x1000 | 20
    out.clear()
    commit_actions(flow, base, wc, out)
    assert out == [dp.PopVlan(), dp.PushVlan(0x8100, 0x1014)]
    assert wc[L.VLAN_TCI] == 0xFFFF


def test_commit_icmp_is_a_full_set():
    base = _flow(NW_PROTO=L.IPPROTO_ICMP, TP_SRC=8)
    flow = list(base)
    wc = [0] * L.N_FLOW
    flow[L.TP_SRC] = 0
    wc[L.TP_SRC] = 0xFF
    out = []
    assert commit_actions(flow, base, wc, out) is True
    assert out == [dp.SetMasked("icmp", ((L.TP_SRC, 0, 0xFF), (L.TP_DST, 0, 0xFF)))]
    assert wc[L.TP_DST] == 0xFF


def test_recirc_ids_are_shared_by_equal_states():
    t = RecircTable()
    a = FrozenState("br0", 1, (1,) + (0,) * 20)
    b = FrozenState("br0", 1, (1,) + (0,) * 20)
    c = FrozenState("br0", 2, (1,) + (0,) * 20)
    ida, idb, idc = t.alloc(a), t.alloc(b), t.alloc(c)
    assert ida == idb != idc
    assert t.find(idc) is c
    assert t.free_bridge("br0") == [ida, idc]
    assert t.find(ida) is None


@pytest.mark.parametrize("tag,trunks,mode,expect", [
    (None, None, None, ("trunk", -1, None)),
    (10, None, None, ("access", 10, None)),
    (10, [20, 30], None, ("access", 10, None)),
    (None, [20, 30], None, ("trunk", -1, frozenset({20, 30}))),
    (10, [20], "native-untagged", ("native-untagged", 10, frozenset({10, 20}))),
    (10, [0, 10], "native-tagged", ("native-tagged", 10, frozenset({10}))),
])
def test_vlan_config(tag, trunks, mode, expect):
    assert make_vlan_config(tag, trunks, mode) == expect


def test_vlan_config_errors():
    with pytest.raises(ConfigError, match="tag 5000"):
        make_vlan_config(5000, None, None)
    with pytest.raises(ConfigError, match="unknown vlan_mode 'bogus'"):
        make_vlan_config(None, None, "bogus")


def test_action_set_order_and_final_action():
    eth = FIELDS["eth_src"]
    sf = of.SetField(eth, 1, (1 << 48) - 1)
    acts = [of.Output(3), sf, of.DecTtl(), of.Group(1), of.PopVlan(), of.Output(2)]
    assert execute_action_set(acts) == [of.PopVlan(), of.DecTtl(), sf, of.Group(1)]
    # without output/group/resubmit/ct nothing happens at all
    assert execute_action_set([sf, of.DecTtl()]) == []
