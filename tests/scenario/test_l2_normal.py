"""NORMAL as an L2 learning switch: flooding, learning, the megaflow cache, MAC moves,
VLAN access/trunk/native ports, and revalidation after port and MAC changes."""

from scapy.layers.l2 import Dot1Q, Ether

from pyvswitch.flow import layout as L

from .conftest import MAC, eth, make_switch, ports, udp, upcalls


def test_unknown_destination_floods_then_learned_one_is_forwarded(sw):
    out = sw.receive("p1", [udp(1, 2)], 1.0)
    assert sorted(ports(out)) == ["br0", "p2", "p3"]
    assert out[0][1] == udp(1, 2)  # unchanged bytes
    out = sw.receive("p2", [udp(2, 1)], 1.1)
    assert ports(out) == ["p1"]
    # MAC 2 is now known: the flood megaflow was revalidated, p1->p2 goes to p2 only
    assert ports(sw.receive("p1", [udp(1, 2)], 1.2)) == ["p2"]


def test_second_packet_hits_the_megaflow_without_upcall(sw):
    sw.receive("p2", [udp(2, 1)], 1.0)
    sw.receive("p1", [udp(1, 2)], 1.0)
    n = upcalls()
    # a different UDP flow between the same MACs shares the megaflow (L2 only)
    out = sw.receive("p1", [udp(1, 2, sport=7777, dport=8888), udp(1, 2)], 1.1)
    assert ports(out) == ["p2", "p2"]
    assert upcalls() == n
    flows = sw.datapath.flow_dump()
    f = next(f for f in flows if f.key[L.IN_PORT] == 1)
    assert f.mask[L.ETH_SRC] == f.mask[L.ETH_DST] == (1 << 48) - 1
    assert f.mask[L.NW_SRC] == f.mask[L.TP_SRC] == 0
    assert f.n_packets == 2


def test_dump_flows_counts_every_packet(sw):
    for t in range(5):
        sw.receive("p1", [udp(1, 2)], 1.0 + t)
    text = sw.bridge("br0").dump_flows(now=10.0)
    assert "n_packets=5," in text and "actions=NORMAL" in text


def test_mac_move_follows_the_station(sw):
    sw.receive("p2", [udp(2, 1)], 1.0)           # MAC2 on p2
    assert ports(sw.receive("p1", [udp(1, 2)], 1.1)) == ["p2"]
    sw.receive("p3", [udp(2, 1)], 1.2)           # MAC2 moved to p3
    assert ports(sw.receive("p1", [udp(1, 2)], 1.3)) == ["p3"]
    assert "    3     0  50:54:00:00:00:02" in sw.bridge("br0").fdb_show()


def test_deleting_a_port_revalidates(sw):
    sw.receive("p2", [udp(2, 1)], 1.0)
    assert ports(sw.receive("p1", [udp(1, 2)], 1.1)) == ["p2"]
    sw.del_port("p2")
    out = sw.receive("p1", [udp(1, 2)], 1.2)
    assert "p2" not in ports(out)
    assert all(f.key[L.IN_PORT] != 2 for f in sw.datapath.flow_dump())


def test_mac_aging_floods_again(sw):
    sw.receive("p2", [udp(2, 1)], 1.0)
    assert ports(sw.receive("p1", [udp(1, 2)], 1.1)) == ["p2"]
    sw.run(400.0)  # MAC entries age out after 300 s without traffic from them
    assert sorted(ports(sw.receive("p1", [udp(1, 2)], 400.1))) == ["br0", "p2", "p3"]


def test_fdb_flush_forgets(sw):
    sw.receive("p2", [udp(2, 1)], 1.0)
    sw.bridge("br0").fdb_flush()
    assert sorted(ports(sw.receive("p1", [udp(1, 2)], 1.1))) == ["br0", "p2", "p3"]


def test_broadcast_and_reserved_multicast():
    sw = make_switch()
    assert sorted(ports(sw.receive("p1", [eth(1, "ff:ff:ff:ff:ff:ff")], 1.0))) == \
        ["br0", "p2", "p3"]
    # 802.1D reserved addresses are never forwarded by a bridge
    assert ports(sw.receive("p1", [eth(1, "01:80:c2:00:00:00")], 1.0)) == []


def vlan_switch():
    return make_switch(6, p4={"tag": 10}, p5={"tag": 20}, p6={"trunks": [10, 30]})


def _vid(pkt: bytes):
    e = Ether(pkt)
    return e[Dot1Q].vlan if Dot1Q in e else None


def test_access_port_traffic_is_tagged_on_trunks_only():
    sw = vlan_switch()
    out = dict(sw.receive("p4", [eth(4, "ff:ff:ff:ff:ff:ff")], 1.0))
    # trunks (p1-p3, LOCAL carry every VLAN; p6 carries 10) get a tag, p5 (VLAN 20) nothing
    assert sorted(out) == ["br0", "p1", "p2", "p3", "p6"]
    assert {_vid(p) for p in out.values()} == {10}


def test_trunk_to_access_strips_the_tag():
    sw = vlan_switch()
    out = dict(sw.receive("p6", [eth(6, "ff:ff:ff:ff:ff:ff", vlan=10)], 1.0))
    assert sorted(out) == ["br0", "p1", "p2", "p3", "p4"]
    assert _vid(out["p4"]) is None and _vid(out["p1"]) == 10
    # VLAN 20 is not trunked on p6: dropped
    assert sw.receive("p6", [eth(6, "ff:ff:ff:ff:ff:ff", vlan=20)], 1.0) == []
    # a tagged frame on an access port is dropped
    assert sw.receive("p4", [eth(4, "ff:ff:ff:ff:ff:ff", vlan=10)], 1.0) == []


def test_learning_is_per_vlan():
    sw = vlan_switch()
    sw.receive("p4", [eth(4, MAC[6])], 1.0)                        # MAC4 in VLAN 10 on p4
    out = sw.receive("p6", [eth(6, MAC[4], vlan=10)], 1.1)
    assert ports(out) == ["p4"] and _vid(out[0][1]) is None
    # the same MAC in VLAN 30 is unknown: flooded to the ports of VLAN 30
    out = sw.receive("p1", [eth(1, MAC[4], vlan=30)], 1.2)
    assert sorted(ports(out)) == ["br0", "p2", "p3", "p6"]


def test_native_untagged_port():
    sw = make_switch(3, p3={"tag": 10, "trunks": [10, 20], "vlan_mode": "native-untagged"})
    sw.receive("p1", [eth(1, "ff:ff:ff:ff:ff:ff", vlan=10)], 1.0)
    out = dict(sw.receive("p1", [eth(1, "ff:ff:ff:ff:ff:ff", vlan=10)], 1.0))
    assert _vid(out["p3"]) is None          # native VLAN leaves untagged
    out = dict(sw.receive("p1", [eth(1, "ff:ff:ff:ff:ff:ff", vlan=20)], 1.0))
    assert _vid(out["p3"]) == 20            # other trunked VLANs keep their tag
    out = dict(sw.receive("p3", [eth(3, "ff:ff:ff:ff:ff:ff")], 1.0))
    assert _vid(out["p1"]) == 10            # untagged in = native VLAN
