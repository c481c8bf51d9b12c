"""Multi-table pipelines: revalidation after rule changes, learn, groups, packet-ins,
header rewrites, statistics and timeouts, packet-out, traces with a packet."""

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Dot1Q, Ether

from pyvswitch.flow import layout as L
from pyvswitch.flow.ofpacts import Output
from pyvswitch.ofproto_dpif.events import PacketIn, PacketInReason
from pyvswitch.types import OFPP_CONTROLLER

from .conftest import IP4, MAC, make_switch, ports, tcp, udp, upcalls


def secure(n=3):
    return make_switch(n, fail_mode="secure")


def pins(br):
    return [e for e in br.pop_events() if isinstance(e, PacketIn)]


def test_rule_change_applies_to_the_very_next_packet():
    sw = secure()
    br = sw.bridge("br0")
    br.add_flow("table=0,ip,actions=resubmit(,1)")
    br.add_flow("table=1,udp,actions=output:2")
    assert ports(sw.receive("p1", [udp(1, 2)], 1.0)) == ["p2"]
    assert ports(sw.receive("p1", [udp(1, 2)], 1.1)) == ["p2"]  # cached
    br.mod_flows("table=1,udp,actions=output:3")
    assert ports(sw.receive("p1", [udp(1, 2)], 1.2)) == ["p3"]
    br.add_flow("table=1,priority=40000,udp,udp_dst=53,actions=drop")
    assert ports(sw.receive("p1", [udp(1, 2)], 1.3)) == []
    assert ports(sw.receive("p1", [udp(1, 2, dport=54)], 1.3)) == ["p3"]
    br.del_flows("table=1")
    assert ports(sw.receive("p1", [udp(1, 2, dport=54)], 1.4)) == []


def test_megaflow_is_as_wide_as_the_lookups():
    sw = secure()
    br = sw.bridge("br0")
    br.add_flow("table=0,priority=10,tcp,tp_dst=80,actions=output:2")
    br.add_flow("table=0,priority=1,actions=output:3")
    sw.receive("p1", [tcp(1, 2, 1000, 80)], 1.0)
    n = upcalls()
    # another source port, address and MAC: same megaflow
    other = bytes(Ether(src=MAC[5], dst=MAC[6]) / IP(src=IP4[7], dst=IP4[8])
                  / TCP(sport=2000, dport=80))
    assert ports(sw.receive("p1", [other], 1.1)) == ["p2"]
    assert upcalls() == n
    f = sw.datapath.flow_dump()[0]
    assert f.mask[L.TP_DST] and not f.mask[L.TP_SRC] and not f.mask[L.NW_SRC]


def test_set_field_rewrites_and_checksums():
    sw = secure()
    sw.bridge("br0").add_flow(
        "tcp,actions=mod_nw_dst:198.51.100.9,mod_tp_dst:8080,mod_dl_dst:50:54:00:00:00:09,"
        "dec_ttl,output:2")
    out = sw.receive("p1", [tcp(1, 2, 1000, 80)], 1.0)
    pkt = Ether(out[0][1])
    assert (pkt.dst, pkt[IP].dst, pkt[TCP].dport, pkt[IP].ttl) == \
        (MAC[9], "198.51.100.9", 8080, 63)
    fixed = Ether(bytes(pkt))
    del fixed[IP].chksum
    del fixed[TCP].chksum
    fixed = Ether(bytes(fixed))
    assert (pkt[IP].chksum, pkt[TCP].chksum) == (fixed[IP].chksum, fixed[TCP].chksum)


def test_push_and_pop_vlan():
    sw = secure()
    br = sw.bridge("br0")
    br.add_flow("in_port=1,actions=mod_vlan_vid:42,output:2")
    br.add_flow("in_port=2,dl_vlan=42,actions=strip_vlan,output:1")
    out = sw.receive("p1", [udp(1, 2)], 1.0)
    assert Ether(out[0][1])[Dot1Q].vlan == 42
    back = sw.receive("p2", [out[0][1]], 1.1)
    assert Dot1Q not in Ether(back[0][1]) and back[0][1] == udp(1, 2)


def test_learn_installs_a_flow_for_every_packet():
    sw = secure()
    br = sw.bridge("br0")
    br.add_flow("table=0,actions=learn(table=1,priority=100,hard_timeout=60,"
                "NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,1)")
    br.add_flow("table=1,priority=0,actions=flood")
    assert sorted(ports(sw.receive("p1", [udp(1, 2)], 1.0))) == ["br0", "p2", "p3"]
    dump = br.dump_flows("table=1", now=1.5)
    assert "priority=100,dl_dst=50:54:00:00:00:01 actions=output:1" in dump
    assert ports(sw.receive("p2", [udp(2, 1)], 2.0)) == ["p1"]
    # learning flows are never cached: each packet goes through learn again
    n = upcalls()
    sw.receive("p1", [udp(1, 2)], 3.0)
    sw.receive("p1", [udp(1, 2)], 3.1)
    assert upcalls() == n + 2


def test_select_group_keeps_a_connection_on_one_bucket():
    sw = secure(4)
    br = sw.bridge("br0")
    br.add_group("group_id=1,type=select,bucket=output:2,bucket=output:3,bucket=output:4")
    br.add_flow("in_port=1,ip,actions=group:1")
    seen = {}
    for sport in range(1000, 1040):
        outs = {p for _ in range(3) for p in ports(sw.receive("p1", [tcp(1, 2, sport, 80)],
                                                              1.0))}
        assert len(outs) == 1
        seen[sport] = outs.pop()
    assert set(seen.values()) == {"p2", "p3", "p4"}
    text = sw.datapath.format_flows()
    assert "hash(sym_l4(0)),recirc(0x" in text and "dp_hash(0x" in text


def test_fast_failover_follows_port_liveness():
    sw = secure()
    br = sw.bridge("br0")
    br.add_group("group_id=7,type=fast_failover,bucket=watch_port:2,output:2,"
                 "bucket=watch_port:3,output:3")
    br.add_flow("in_port=1,actions=group:7")
    assert ports(sw.receive("p1", [udp(1, 2)], 1.0)) == ["p2"]
    br.set_port_state("p2", may_enable=False)
    assert ports(sw.receive("p1", [udp(1, 2)], 1.1)) == ["p3"]
    br.set_port_state("p2", may_enable=True)
    assert ports(sw.receive("p1", [udp(1, 2)], 1.2)) == ["p2"]


def test_all_group_clones_with_rollback():
    sw = secure()
    br = sw.bridge("br0")
    br.add_group("group_id=1,type=all,bucket=mod_dl_src:50:54:00:00:00:07,output:2,"
                 "bucket=output:3")
    br.add_flow("in_port=1,actions=group:1")
    out = dict(sw.receive("p1", [udp(1, 2)], 1.0))
    assert Ether(out["p2"]).src == MAC[7] and Ether(out["p3"]).src == MAC[1]


def test_controller_packet_in_carries_reason_table_cookie_metadata():
    sw = secure()
    br = sw.bridge("br0")
    br.add_flow("table=0,ip,actions=load:0x2a->NXM_NX_REG3[],resubmit(,4)")
    br.add_flow("table=4,cookie=0x77,udp,actions=controller(max_len=64,id=3),output:2")
    out = sw.receive("p1", [udp(1, 2)], 1.0)
    assert ports(out) == ["p2"]
    (pin,) = pins(br)
    assert isinstance(pin, PacketIn)
    assert (pin.reason, pin.table_id, pin.cookie, pin.max_len, pin.controller_id) == \
        (PacketInReason.ACTION, 4, 0x77, 64, 3)
    assert pin.metadata["in_port"] == 1 and pin.metadata["reg3"] == 0x2A
    assert pin.packet == udp(1, 2)
    # the second packet takes the cached path and still reaches the controller
    sw.receive("p1", [udp(1, 2)], 1.1)
    assert len(pins(br)) == 1


def test_dec_ttl_exception_is_an_invalid_ttl_packet_in():
    sw = secure()
    br = sw.bridge("br0")
    br.add_flow("ip,actions=dec_ttl,output:2")
    assert ports(sw.receive("p1", [udp(1, 2, ttl=1)], 1.0)) == []
    (pin,) = pins(br)
    assert pin.reason is PacketInReason.INVALID_TTL
    out = sw.receive("p1", [udp(1, 2, ttl=5)], 1.1)
    assert Ether(out[0][1])[IP].ttl == 4 and pins(br) == []


def test_table_miss_goes_to_controller_only_when_one_wants_it():
    sw = secure()
    br = sw.bridge("br0")
    assert sw.receive("p1", [udp(1, 2)], 1.0) == [] and pins(br) == []
    br.wants_packet_in_on_miss = True
    br.changed()
    sw.receive("p1", [udp(1, 2)], 1.1)
    (pin,) = pins(br)
    assert pin.reason is PacketInReason.IMPLICIT_MISS and pin.reason.wire(1) == 0


def test_statistics_and_idle_timeout_see_cached_packets():
    sw = secure()
    br = sw.bridge("br0")
    br.add_flow("idle_timeout=10,udp,actions=output:2")
    for t in range(8):
        sw.receive("p1", [udp(1, 2)], 1.0 + 5 * t)  # keeps the flow alive past 10 s
        sw.run(1.0 + 5 * t)
    dump = br.dump_flows(now=40.0)
    assert "n_packets=8," in dump and f"n_bytes={8 * len(udp(1, 2))}," in dump
    sw.run(60.0)  # idle for 24 s
    assert br.dump_flows(now=60.0) == ""
    assert sw.receive("p1", [udp(1, 2)], 60.1) == []


def test_packet_out():
    sw = secure()
    out = sw.packet_out("br0", OFPP_CONTROLLER, [Output(2), Output(3)], udp(1, 2), 1.0)
    assert ports(out) == ["p2", "p3"]


def test_trace_with_a_packet_learns_like_ovs():
    sw = make_switch()
    br = sw.bridge("br0")
    text = br.trace("in_port=1", packet=udp(1, 2))
    assert "Flow: udp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01," in text
    assert "-> learned that 50:54:00:00:00:01 is on port p1 in VLAN 0" in text
    assert "no learned MAC for destination, flooding" in text
    assert "    1     0  50:54:00:00:00:01" in br.fdb_show()
    # trace output never reaches a port
    assert text.endswith("\n") and "Datapath actions: " in text


def test_recirculation_without_context_drops():
    sw = secure()
    key_flow = [0] * L.N_FLOW
    key_flow[L.RECIRC_ID] = 0x77
    key_flow[L.IN_PORT] = 1
    from pyvswitch.ofproto_dpif.xlate import xlate_actions
    from pyvswitch.ofproto_dpif.xlate_ctx import XlateError, XlateIn

    out = xlate_actions(XlateIn(sw.bridge("br0"), key_flow, 1.0))
    assert out.error is XlateError.NO_RECIRCULATION_CONTEXT and out.actions == ()



def test_table_lookup_counters_include_cached_packets():
    sw = secure()
    br = sw.bridge("br0")
    br.add_flow("table=0,ip,actions=resubmit(,1)")
    br.add_flow("table=1,tcp,actions=output:2")
    for t in range(3):
        sw.receive("p1", [udp(1, 2)], 1.0 + t)
    for t in range(2):
        sw.receive("p1", [tcp(1, 2, 1000, 80)], 2.0 + t)
    sw.push_stats()
    stats = {s.table_id: s for s in br.ofproto.table_stats()}
    assert (stats[0].lookup, stats[0].matched) == (5, 5)
    assert (stats[1].lookup, stats[1].matched) == (5, 2)


def test_changes_made_directly_in_ofproto_are_noticed():
    from pyvswitch.flow.flow_text import parse_flow_mod
    from pyvswitch.flow.flowmod import FlowModCommand

    sw = secure()
    br = sw.bridge("br0")
    br.add_flow("udp,actions=output:2")
    assert ports(sw.receive("p1", [udp(1, 2)], 1.0)) == ["p2"]
    # what the OpenFlow layer does with a controller's flow_mod
    br.ofproto.handle_flow_mod(parse_flow_mod("udp,actions=output:3", FlowModCommand.MODIFY),
                               1.1)
    assert sw.need_revalidate
    # the daemon's own packet path: check, revalidate, then run the datapath
    if sw.need_revalidate or sw.need_revalidate_mac:
        sw.revalidate()
    out = sw.datapath.process(sw.port("p1").dp_port, [bytearray(udp(1, 2))], 1.2)
    assert [sw.dp_port_name(o[0]) for o in out] == ["p3"]


def test_unused_recirculation_ids_are_freed():
    sw = secure()
    br = sw.bridge("br0")
    br.add_flow("table=0,ip,actions=ct(table=1,zone=1)")
    br.add_flow("table=1,ip,actions=output:2")
    sw.receive("p1", [udp(1, 2)], 1.0)
    assert len(sw.recirc) == 1
    assert sw.collect_recirc_ids() == 0  # still used by the cached megaflows
    br.del_flows()
    sw.receive("p1", [udp(1, 2)], 1.1)   # revalidation drops the ct megaflow
    assert sw.collect_recirc_ids() == 1 and len(sw.recirc) == 0
