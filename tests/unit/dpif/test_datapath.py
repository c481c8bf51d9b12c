"""The userspace datapath: ports, caches, upcalls, statistics, revalidation."""

from __future__ import annotations

import pytest

from pyvswitch import coverage
from pyvswitch.dpif.netdev import Datapath
from pyvswitch.errors import DpifError
from pyvswitch.flow import layout as L
from pyvswitch.odp import actions as A
from tests.unit.dpif.helpers import make_dp, mask_of, tcp, udp

DST_ONLY = "recirc_id(0),in_port(1),eth_type(0x0800),ipv4(dst=198.51.100.2,proto=17,frag=no)"


def to_port2_for_dst(flow):
    return flow[L.NW_DST] == 0xC6336402


def test_port_numbers_follow_dpif_netdev():
    dp = Datapath()
    # simulated ports are numbered as in OVS's test datapaths (the number in the name)
    assert dp.port_add("p1", "dummy") == 1
    assert dp.port_add("p2", "dummy") == 2
    assert dp.port_add("br0", "dummy-internal") == 100
    assert dp.port_add("br1", "dummy-internal") == 101
    # device ports take the lowest free number, as on OVS's real userspace datapath
    assert dp.port_add("eth", "system") == 3
    assert dp.port_add("veth12x", "system") == 4
    assert dp.port_add("br2", "internal") == 5
    assert dp.port_add("q1", "dummy") == 6  # 1 is taken: lowest free
    with pytest.raises(DpifError):
        dp.port_add("p1", "dummy")
    dp.port_del(2)
    assert dp.port_add("new", "dummy") == 2
    assert dp.format_show() == (
        "netdev@ovs-netdev:\n"
        "  lookups: hit:0 missed:0 lost:0\n"
        "  flows: 0\n"
        "  port 0: ovs-netdev (tap)\n"
        "  port 1: p1 (dummy)\n"
        "  port 2: new (dummy)\n"
        "  port 3: eth (system)\n"
        "  port 4: veth12x (system)\n"
        "  port 5: br2 (tap)\n"
        "  port 6: q1 (dummy)\n"
        "  port 100: br0 (dummy-internal)\n"
        "  port 101: br1 (dummy-internal)\n"
    )
    with pytest.raises(DpifError):
        dp.port_del(0)


def test_first_packet_upcalls_and_installs_second_hits_cache():
    dp, sp = make_dp()
    sp.add(to_port2_for_dst, DST_ONLY, "2")
    pkt = udp()
    out = dp.process(1, [bytearray(pkt)], now=1.0)
    assert [(p, bytes(b)) for p, b, _ in out] == [(2, bytes(pkt))]
    assert len(sp.misses) == 1 and dp.n_flows() == 1
    out = dp.process(1, [bytearray(pkt), bytearray(pkt)], now=2.0)
    assert [p for p, _, _ in out] == [2, 2]
    assert len(sp.misses) == 1
    (flow,) = dp.flow_dump()
    # As OVS: the packet whose miss created the megaflow is the slow path's to count.
    assert (flow.n_packets, flow.n_bytes, flow.used) == (2, 2 * len(pkt), 2.0)
    assert "lookups: hit:2 missed:1 lost:0" in dp.format_show()


@pytest.mark.parametrize("make", [
    lambda sport: udp(sport=sport),  # quick-key path (untagged IPv4 UDP)
    lambda sport: udp(sport=sport, vlan=5),  # full-key path
])
def test_megaflow_covers_packets_differing_only_in_wildcarded_fields(make):
    dp, sp = make_dp()
    mask = DST_ONLY
    if make(1)[12:14] == b"\x81\x00":
        mask = ("recirc_id(0),in_port(1),eth_type(0x8100),vlan(vid=5),"
                "encap(eth_type(0x0800),ipv4(dst=198.51.100.2,proto=17,frag=no))")
    sp.add(to_port2_for_dst, mask, "2")
    dp.process(1, [make(1)], now=1.0)
    # Every later packet has a new source port: never seen by an exact-match cache,
    # served by the megaflow.
    out = dp.process(1, [make(p) for p in range(2, 40)], now=2.0)
    assert len(out) == 38 and len(sp.misses) == 1
    # A change in a field the megaflow matches goes up again.
    other = make(1)
    other[30 + (4 if mask != DST_ONLY else 0):34 + (4 if mask != DST_ONLY else 0)] = bytes(
        [198, 51, 100, 3])
    dp.process(1, [other], now=3.0)
    assert len(sp.misses) == 2


def test_emc_cold_then_megaflow_hit():
    dp, sp = make_dp()
    sp.add(to_port2_for_dst, DST_ONLY, "2")
    dp.process(1, [udp()], now=1.0)
    dp._emc.clear()
    dp._quick.clear()
    assert len(dp.process(1, [udp()], now=2.0)) == 1
    assert len(sp.misses) == 1
    assert dp.n_hit == 1


def test_tagged_frames_never_share_an_untagged_megaflow():
    dp, sp = make_dp()
    sp.add(lambda f: True, DST_ONLY, "2")
    dp.process(1, [udp()], now=1.0)
    (flow,) = dp.flow_dump()
    assert flow.mask[L.VLAN_TCI] == L.VLAN_VID_MASK | L.VLAN_CFI
    dp.process(1, [udp(vlan=7)], now=2.0)
    assert len(sp.misses) == 2


def test_in_port_and_recirc_id_always_exact():
    dp, sp = make_dp()
    sp.add(lambda f: True, "eth_type(0x0800)", "3")
    dp.process(1, [udp()], now=1.0)
    dp.process(2, [udp()], now=1.0)
    assert len(sp.misses) == 2
    for f in dp.flow_dump():
        assert f.mask[L.IN_PORT] == 0xFFFFFFFF and f.mask[L.RECIRC_ID] == 0xFFFFFFFF


def test_no_mask_means_not_cached():
    dp, sp = make_dp()
    sp.add(lambda f: True, None, "2")
    dp.process(1, [udp()], now=1.0)
    dp.process(1, [udp()], now=1.0)
    assert len(sp.misses) == 2 and dp.n_flows() == 0


@pytest.mark.parametrize("vlan", [None, 9])
def test_revalidate_delete_and_change_take_effect_on_next_packet(vlan):
    dp, sp = make_dp()
    sp.add(lambda f: True, "recirc_id(0),in_port(1),eth_type(0x0800)"
           if vlan is None else "recirc_id(0),in_port(1),eth_type(0x8100),vlan(vid=9)", "2",
           owner="rule-a")
    pkt = udp(vlan=vlan)
    dp.process(1, [bytearray(pkt)], now=1.0)
    dp.process(1, [bytearray(pkt)], now=1.5)  # now in the exact-match caches
    seen = []

    def new_actions(flow):
        seen.append(flow.owner)
        return (A.Output(3),)

    assert dp.revalidate(new_actions) == [] and seen == ["rule-a"]
    assert [p for p, _, _ in dp.process(1, [bytearray(pkt)], now=2.0)] == [3]
    assert dp.revalidate(lambda f: "keep") == []
    deleted = dp.revalidate(lambda f: "delete")
    assert [(d.owner, d.n_packets) for d in deleted] == [("rule-a", 2)]
    assert dp.n_flows() == 0
    assert [p for p, _, _ in dp.process(1, [bytearray(pkt)], now=3.0)] == [2]
    assert len(sp.misses) == 2


def test_flow_del_and_flush():
    dp, sp = make_dp()
    sp.add(lambda f: f[L.IN_PORT] == 1, "eth_type(0x0800)", "2")
    sp.add(lambda f: f[L.IN_PORT] == 2, "eth_type(0x0800)", "1")
    dp.process(1, [udp()], now=1.0)
    dp.process(2, [udp()], now=1.0)
    a, b = dp.flow_dump()
    assert dp.flow_del(a.key, a.mask).owner is None
    assert dp.flow_del(a.key, a.mask) is None
    assert dp.n_flows() == 1
    dp.process(1, [udp()], now=2.0)
    assert len(sp.misses) == 3
    dp.flow_flush()
    assert dp.n_flows() == 0 and dp.format_flows() == ""
    dp.process(2, [udp()], now=3.0)
    assert len(sp.misses) == 4


def test_port_deletion_drops_its_megaflows():
    dp, sp = make_dp()
    sp.add(lambda f: True, "eth_type(0x0800)", "2")
    dp.process(1, [udp()], now=1.0)
    dp.port_del(1)
    assert dp.n_flows() == 0


def test_flow_put_replaces_actions():
    dp, sp = make_dp()
    key = udp()
    dp.process(1, [bytearray(key)], now=1.0)  # no rule: drop, nothing cached
    k = sp.misses[0].flow
    dp.flow_put(k, mask_of("eth_type(0x0800)"), (A.Output(2),))
    dp.flow_put(k, mask_of("eth_type(0x0800)"), (A.Output(3),), "o")
    assert dp.n_flows() == 1
    assert [p for p, _, _ in dp.process(1, [bytearray(key)], now=2.0)] == [3]


def test_upcall_failure_is_lost_not_raised():
    dp = Datapath()
    dp.port_add("p1")

    def broken(up):
        raise RuntimeError("slow path bug")

    dp.register_upcall_cb(broken)
    assert dp.process(1, [udp()], now=1.0) == []
    assert "lookups: hit:0 missed:1 lost:1" in dp.format_show()
    assert coverage.get("datapath_drop_upcall_error") == 1


def test_tcp_flags_and_format_flows():
    dp, sp = make_dp()
    sp.add(lambda f: True, "recirc_id(0),in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no)", "2")
    dp.process(1, [tcp(flags="S")], now=10.0)
    dp.process(1, [tcp(flags="SA"), tcp(flags="FPA")], now=10.25)
    text = dp.format_flows(now=10.75)
    assert text == (
        "flow-dump from the main thread:\n"
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),"
        "ipv4(proto=6,frag=no), packets:2, bytes:108, used:0.500s, flags:SFP., actions:2\n")
    verbose = dp.format_flows(verbose=True, now=10.75).splitlines()[1]
    assert verbose.startswith("ufid:")
    assert ",in_port(p1)," in verbose and ",tcp_flags(0/0), packets:2" in verbose
    assert verbose.endswith(", dp:ovs, actions:p2, dp-extra-info:miniflow_bits(4,1)")
    assert "in_port(1)" in dp.format_flows(verbose=True, names=False)


def test_execute_packet_out():
    dp, sp = make_dp()
    md = [0] * L.N_MD
    md[L.IN_PORT] = 0
    out = dp.execute(udp(), md, (A.SetMasked("ipv4", ((L.NW_TTL, 9, 0xFF),)), A.Output(2)),
                     now=1.0)
    assert [(p, b[22]) for p, b, _ in out] == [(2, 9)]
    assert sp.misses == []


def test_every_dumped_line_parses_with_the_ovs_python_package():
    from ovs.flow.odp import ODPFlow

    from tests.unit.dpif.helpers import FakeConntrack

    dp, sp = make_dp(FakeConntrack())
    sp.add(lambda f: f[L.RECIRC_ID] == 0 and f[L.NW_PROTO] == 6,
           "recirc_id(0),in_port(1),eth_type(0x0800),ipv4(proto=6,frag=no)",
           "ct(commit,zone=1,mark=0x1/0xffffffff,nat(src=203.0.113.1-203.0.113.9:1024-2048)),"
           "recirc(0x1)")
    sp.add(lambda f: f[L.RECIRC_ID] == 1,
           "ct_state(+new+trk),ct_zone(0x1),recirc_id(0x1),in_port(1),eth_type(0x0800),"
           "ipv4(src=198.51.100.0/255.255.255.0,frag=no),tcp(dst=80),tcp_flags(+syn-ack)",
           "set(ipv4(dst=198.51.100.10)),set(tcp(dst=8080)),push_vlan(vid=20,pcp=0),2")
    sp.add(lambda f: f[L.VLAN_TCI] != 0,
           "recirc_id(0),in_port(1),eth(src=50:54:00:00:00:01),eth_type(0x8100),"
           "vlan(vid=5),encap(eth_type(0x0800),ipv4(proto=17,frag=no),udp(dst=5678))",
           "pop_vlan,hash(l4(0)),trunc(64),3,userspace(pid=0,slow_path(match))")
    dp.process(1, [tcp(flags="S"), udp(vlan=5)], now=5.0)
    dp.process(1, [tcp(flags="S"), udp(vlan=5)], now=6.0)
    for verbose in (False, True):
        lines = dp.format_flows(verbose=verbose, now=6.5).splitlines()
        assert lines[0] == "flow-dump from the main thread:" and len(lines) == 5
        parsed = [ODPFlow(line) for line in lines[1:]]
        assert all(f.match_kv and f.actions_kv for f in parsed)
        assert sum(f.info["packets"] for f in parsed) == 2
