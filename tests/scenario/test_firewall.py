"""The stateful firewall: inside (p1) may open connections to the outside (p2), which
are committed in zone 1; from the outside only established and related traffic
comes back; a new inbound SYN is dropped.  Plus zones and source NAT."""

import pytest
from scapy.layers.inet import ICMP, IP, TCP, IPerror, UDPerror
from scapy.layers.l2 import Ether

from pyvswitch.flow import layout as L

from .conftest import IP4, MAC, OUT, arp_req, make_switch, ports, tcp, udp, upcalls

FIREWALL = [
    "table=0,priority=100,ip,ct_state=-trk,actions=ct(zone=1,table=1)",
    "table=0,priority=10,arp,actions=NORMAL",
    "table=1,priority=100,in_port=1,ip,ct_state=+trk+new,actions=ct(commit,zone=1),NORMAL",
    "table=1,priority=100,ip,ct_state=+trk+est,actions=NORMAL",
    "table=1,priority=90,ip,ct_state=+trk+rel,actions=NORMAL",
    "table=1,priority=0,actions=drop",
]


@pytest.fixture
def fw():
    sw = make_switch(2, fail_mode="secure")
    sw.bridge("br0").add_flows(FIREWALL)
    # let NORMAL learn both stations
    sw.receive("p1", [arp_req(1, 2)], 0.5)
    sw.receive("p2", [arp_req(2, 1)], 0.5)
    return sw


def handshake(sw, sport=40000, now=1.0):
    syn = tcp(1, 2, sport, 80, "S", seq=100)
    synack = tcp(2, 1, 80, sport, "SA", seq=500, ack=101)
    ack = tcp(1, 2, sport, 80, "A", seq=101, ack=501)
    return (ports(sw.receive("p1", [syn], now)), ports(sw.receive("p2", [synack], now + .01)),
            ports(sw.receive("p1", [ack], now + .02)))


def test_inside_may_connect_and_replies_come_back(fw):
    assert handshake(fw) == (["p2"], ["p1"], ["p2"])
    data = tcp(2, 1, 80, 40000, "PA", seq=501, ack=101, payload=b"x" * 100)
    assert ports(fw.receive("p2", [data], 1.1)) == ["p1"]
    lines = fw.conntrack.dump_conntrack(zone=1, now=1.2)
    assert lines == [f"tcp,orig=(src={IP4[1]},dst={IP4[2]},sport=40000,dport=80),"
                     f"reply=(src={IP4[2]},dst={IP4[1]},sport=80,dport=40000),zone=1,"
                     "protoinfo=(state=ESTABLISHED)"]


def test_new_inbound_syn_is_dropped(fw):
    handshake(fw)
    assert ports(fw.receive("p2", [tcp(2, 1, 5555, 22, "S")], 2.0)) == []
    assert fw.conntrack.dump_conntrack(zone=1, now=2.0) and all(
        "dport=22" not in line for line in fw.conntrack.dump_conntrack(zone=1, now=2.0))


def test_megaflows_look_like_ovs(fw):
    handshake(fw)
    text = fw.datapath.format_flows(now=2.0)
    assert "ct_state(-trk),recirc_id(0),in_port(1),packet_type(ns=0,id=0)," \
           "eth_type(0x0800),ipv4(frag=no)" in text
    assert "ct_state(+new-est+trk),recirc_id(0x" in text or \
           "ct_state(+new+trk),recirc_id(0x" in text
    assert "actions:ct(commit,zone=1),2" in text
    assert "ct_state(-new+est+trk),recirc_id(0x" in text


def test_established_traffic_needs_no_upcall(fw):
    handshake(fw, sport=40000)
    n = upcalls()
    # a second connection reuses every megaflow of the first
    assert handshake(fw, sport=40001, now=3.0) == (["p2"], ["p1"], ["p2"])
    assert upcalls() == n


def test_related_icmp_error_comes_back(fw):
    assert ports(fw.receive("p1", [udp(1, 2, 5000, 53)], 1.0)) == ["p2"]
    err = bytes(Ether(src=MAC[2], dst=MAC[1]) / IP(src=IP4[2], dst=IP4[1])
                / ICMP(type=3, code=3) / IPerror(src=IP4[1], dst=IP4[2])
                / UDPerror(sport=5000, dport=53))
    assert ports(fw.receive("p2", [err], 1.1)) == ["p1"]
    # an unrelated ICMP error is not
    err2 = bytes(Ether(src=MAC[2], dst=MAC[1]) / IP(src=IP4[2], dst=IP4[1])
                 / ICMP(type=3, code=3) / IPerror(src=IP4[1], dst=IP4[2])
                 / UDPerror(sport=6000, dport=53))
    assert ports(fw.receive("p2", [err2], 1.2)) == []


def test_zones_are_separate():
    sw = make_switch(3, fail_mode="secure")
    sw.bridge("br0").add_flows([
        "table=0,in_port=1,ip,actions=ct(zone=1,commit),output:3",
        "table=0,in_port=2,ip,actions=ct(zone=2,commit),output:3",
    ])
    pkt = udp(1, 3, 1000, 2000, src_ip=IP4[1])
    sw.receive("p1", [pkt], 1.0)
    sw.receive("p2", [pkt], 1.0)
    assert len(sw.conntrack.dump_conntrack(zone=1, now=1.0)) == 1
    assert len(sw.conntrack.dump_conntrack(zone=2, now=1.0)) == 1
    assert len(sw.conntrack.dump_conntrack(now=1.0)) == 2


SNAT = [
    "table=0,priority=100,in_port=1,ip,actions=ct(zone=2,nat,table=1)",
    "table=0,priority=100,in_port=2,ip,actions=ct(zone=2,nat,table=2)",
    "table=1,ip,ct_state=+trk+new,actions=ct(zone=2,commit,nat(src=203.0.113.1)),output:2",
    "table=1,ip,ct_state=+trk+est,actions=output:2",
    "table=2,ip,ct_state=+trk+est,actions=output:1",
    "table=2,priority=0,actions=drop",
]


def test_source_nat_and_reply():
    sw = make_switch(2, fail_mode="secure")
    sw.bridge("br0").add_flows(SNAT)
    out = sw.receive("p1", [tcp(1, 2, 40000, 80, "S", seq=1)], 1.0)
    assert ports(out) == ["p2"]
    sent = Ether(out[0][1])
    assert sent[IP].src == OUT[1] and sent[IP].dst == IP4[2]
    nat_sport = sent[TCP].sport
    reply = tcp(2, 1, 80, nat_sport, "SA", seq=9, ack=2, src_ip=IP4[2], dst_ip=OUT[1])
    back = sw.receive("p2", [reply], 1.1)
    assert ports(back) == ["p1"]
    got = Ether(back[0][1])
    assert (got[IP].dst, got[TCP].dport) == (IP4[1], 40000)
    # checksums are right after the rewrite
    assert IP(bytes(got[IP])).chksum == IP(bytes(IP(bytes(got[IP])))).chksum
    # a new inbound connection to the NAT address is dropped
    assert sw.receive("p2", [tcp(2, 1, 80, 9999, "S", src_ip=IP4[2], dst_ip=OUT[1])],
                      1.2) == []
    text = sw.datapath.format_flows()
    assert "actions:ct(zone=2,nat),recirc(0x" in text
    assert "actions:ct(commit,zone=2,nat(src=203.0.113.1)),2" in text
    f = next(f for f in sw.datapath.flow_dump() if f.key[L.RECIRC_ID] == 0
             and f.key[L.IN_PORT] == 1)
    assert f.mask[L.CT_STATE] == 0 and f.mask[L.NW_SRC] == 0

