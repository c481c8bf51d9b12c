"""Conntrack through a whole Switch (pipeline, caches, recirculation) with scapy packets
and a fake clock: the fork of ``ct(table=N)``, marks and labels matched on replies,
tenants in zones, zone and global limits under a flood of new connections, FTP over IPv6
through the helper, and expiry seen by the pipeline."""

import random

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from .conftest import IP4, MAC, arp_req, make_switch, ports, tcp, udp

FIREWALL = [
    "table=0,priority=100,ip,ct_state=-trk,actions=ct(zone=1,table=1)",
    "table=0,priority=10,arp,actions=NORMAL",
    "table=1,priority=100,in_port=1,ip,ct_state=+trk+new,actions=ct(commit,zone=1),NORMAL",
    "table=1,priority=100,ip,ct_state=+trk+est,actions=NORMAL",
    "table=1,priority=90,ip,ct_state=+trk+rel,actions=NORMAL",
    "table=1,priority=0,actions=drop",
]


def firewall(n_ports: int = 2):
    sw = make_switch(n_ports, fail_mode="secure")
    sw.bridge("br0").add_flows(FIREWALL)
    sw.receive("p1", [arp_req(1, 2)], 0.5)
    sw.receive("p2", [arp_req(2, 1)], 0.5)
    return sw


def rule_packets(br, text: str) -> int:
    (stats,) = br.flow_stats(text)
    return stats.packet_count


def test_ct_table_fork_keeps_registers_and_the_rest_of_the_list_runs_untracked():
    sw = make_switch(4, fail_mode="secure")
    br = sw.bridge("br0")
    br.add_flows([
        "table=0,in_port=1,ip,actions=load:0x7->NXM_NX_REG0[],set_field:0x9->metadata,"
        "ct(zone=3,table=1),resubmit(,2)",
        "table=1,reg0=7,metadata=0x9,ct_state=+trk+new,ct_zone=3,ip,actions=output:2",
        "table=1,priority=0,actions=drop",
        "table=2,ct_state=-trk,ip,reg0=7,actions=output:3",
        "table=2,priority=0,actions=output:4",
    ])
    for now in (1.0, 1.1):  # the second packet runs from the caches
        assert sorted(ports(sw.receive("p1", [udp(1, 2)], now))) == ["p2", "p3"]


def test_mark_and_label_set_at_commit_are_matched_on_replies():
    sw = make_switch(2, fail_mode="secure")
    br = sw.bridge("br0")
    br.add_flows([
        "table=0,priority=100,ip,ct_state=-trk,actions=ct(zone=1,table=1)",
        "table=1,in_port=1,udp,udp_dst=53,ct_state=+trk+new,actions=ct(commit,zone=1,"
        "exec(set_field:0xab->ct_mark,set_field:0x1234/0xffff->ct_label)),output:2",
        "table=1,in_port=1,udp,udp_dst=54,ct_state=+trk+new,actions=ct(commit,zone=1,"
        "exec(set_field:0xcd->ct_mark)),output:2",
        "table=1,in_port=2,ip,ct_state=+trk+est,ct_mark=0xab,ct_label=0x1234/0xffff,"
        "actions=output:1",
        "table=1,priority=1,actions=drop",
    ])
    assert ports(sw.receive("p1", [udp(1, 2, 5000, 53)], 1.0)) == ["p2"]
    assert ports(sw.receive("p1", [udp(1, 2, 5000, 54)], 1.0)) == ["p2"]
    assert ports(sw.receive("p2", [udp(2, 1, 53, 5000)], 1.1)) == ["p1"]
    assert ports(sw.receive("p2", [udp(2, 1, 54, 5000)], 1.1)) == []  # another mark
    lines = sorted(sw.conntrack.dump_conntrack(zone=1, now=1.2))
    assert lines[0].endswith("zone=1,mark=171,labels=0x1234")
    assert lines[1].endswith("zone=1,mark=205")


def test_tenants_with_the_same_addresses_stay_apart():
    sw = make_switch(4, fail_mode="secure")
    sw.bridge("br0").add_flows([
        "table=0,in_port=1,ip,actions=ct(zone=1,commit),output:2",
        "table=0,in_port=3,ip,actions=ct(zone=2,commit),output:4",
        "table=0,in_port=2,ip,actions=ct(zone=1,table=1)",
        "table=0,in_port=4,ip,actions=ct(zone=2,table=2)",
        "table=1,ip,ct_state=+trk+est,actions=output:1",
        "table=2,ip,ct_state=+trk+est,actions=output:3",
    ])
    request, reply = udp(1, 2, 1000, 2000), udp(2, 1, 2000, 1000)
    assert ports(sw.receive("p1", [request], 1.0)) == ["p2"]
    assert ports(sw.receive("p4", [reply], 1.1)) == []  # tenant 2 never asked
    assert ports(sw.receive("p2", [reply], 1.2)) == ["p1"]
    assert ports(sw.receive("p3", [request], 1.3)) == ["p4"]
    assert ports(sw.receive("p4", [reply], 1.4)) == ["p3"]


def test_zone_limit_refuses_commits_silently():
    sw = firewall()
    sw.conntrack.set_limits(zones={1: 2})
    for sport in (1001, 1002, 1003):  # the third commit is refused, the packet passes
        assert ports(sw.receive("p1", [udp(1, 2, sport, 53)], 1.0)) == ["p2"]
    assert len(sw.conntrack.dump_conntrack(zone=1, now=1.0)) == 2
    assert ports(sw.receive("p2", [udp(2, 1, 53, 1002)], 1.1)) == ["p1"]
    assert ports(sw.receive("p2", [udp(2, 1, 53, 1003)], 1.1)) == []
    assert sw.conntrack.format_limits([1]) == "default limit=0\nzone=1,limit=2,count=2\n"


def test_a_flood_of_new_connections_stays_within_maxconns_and_spares_established_ones():
    sw = firewall()
    sw.conntrack.set_maxconns(300)
    syn = tcp(1, 2, 40000, 80, "S", seq=100)
    synack = tcp(2, 1, 80, 40000, "SA", seq=500, ack=101)
    assert ports(sw.receive("p1", [syn], 1.0)) == ["p2"]
    assert ports(sw.receive("p2", [synack], 1.0)) == ["p1"]
    rng = random.Random(7)
    seq = 101
    now = 1.0
    for i in range(3000):
        now += 0.001
        flood = bytes(Ether(src=MAC[1], dst=MAC[2])
                      / IP(src=f"198.51.100.{rng.randrange(10, 250)}", dst=IP4[2])
                      / TCP(sport=rng.randrange(1024, 65536), dport=80, flags="S"))
        assert ports(sw.receive("p1", [flood], now)) == ["p2"]
        assert sw.conntrack.get_nconns() <= 300
        if i % 100 == 0:
            data = tcp(1, 2, 40000, 80, "PA", seq=seq, ack=501, payload=b"d" * 10)
            seq += 10
            assert ports(sw.receive("p1", [data], now)) == ["p2"]
            back = tcp(2, 1, 80, 40000, "A", seq=501, ack=seq)
            assert ports(sw.receive("p2", [back], now)) == ["p1"]
    assert sw.conntrack.get_nconns() == 300
    # The half-open connections expire (tcp_syn_sent, 30 s); the sweeper reclaims them a
    # budget at a time, and then new connections are committed again.
    now += 31.0
    for _ in range(1000):
        sw.run(now)
        if sw.conntrack.get_nconns() <= 1:
            break
        now += 0.2
    assert sw.conntrack.get_nconns() == 1  # the established connection
    assert ports(sw.receive("p1", [tcp(1, 2, 40001, 80, "S")], now)) == ["p2"]
    assert sw.conntrack.get_nconns() == 2


FTP6 = [
    "table=0,priority=100,ipv6,ct_state=-trk,actions=ct(zone=1,table=1)",
    "table=1,priority=100,in_port=1,tcp6,tp_dst=21,ct_state=+trk+new,"
    "actions=ct(commit,zone=1,alg=ftp),output:2",
    "table=1,priority=90,in_port=1,ipv6,ct_state=+trk+new+rel,"
    "actions=ct(commit,zone=1),output:2",
    "table=1,priority=90,in_port=2,ipv6,ct_state=+trk+new+rel,"
    "actions=ct(commit,zone=1),output:1",
    "table=1,priority=80,in_port=1,ipv6,ct_state=+trk+new,actions=ct(commit,zone=1),output:2",
    "table=1,priority=70,in_port=1,ipv6,ct_state=+trk+est,actions=output:2",
    "table=1,priority=70,in_port=2,ipv6,ct_state=+trk+est,actions=output:1",
    "table=1,priority=0,actions=drop",
]
C6, S6 = "2001:db8::1", "2001:db8::2"


def tcp6(a: int, b: int, sport: int, dport: int, flags: str, seq: int, ack: int = 0,
         payload: bytes = b"") -> bytes:
    src, dst = (C6, S6) if a == 1 else (S6, C6)
    return bytes(Ether(src=MAC[a], dst=MAC[b]) / IPv6(src=src, dst=dst)
                 / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
                       window=8192) / payload)


def test_ftp_over_ipv6_active_and_passive_data_connections_are_related():
    sw = make_switch(2, fail_mode="secure")
    br = sw.bridge("br0")
    br.add_flows(FTP6)
    c, s = 1000, 5000
    now = 1.0

    def send(port: str, frame: bytes) -> list[str]:
        nonlocal now
        now += 0.01
        return ports(sw.receive(port, [frame], now))

    assert send("p1", tcp6(1, 2, 40000, 21, "S", c)) == ["p2"]
    c += 1
    assert send("p2", tcp6(2, 1, 21, 40000, "SA", s, c)) == ["p1"]
    s += 1
    eprt = b"EPRT |2|2001:db8::1|5282|\r\n"
    assert send("p1", tcp6(1, 2, 40000, 21, "PA", c, s, eprt)) == ["p2"]
    c += len(eprt)
    # active: the server connects back, related to the control connection
    assert send("p2", tcp6(2, 1, 20, 5282, "S", 9000)) == ["p1"]
    assert send("p1", tcp6(1, 2, 5282, 20, "SA", 7000, 9001)) == ["p2"]
    # an unrelated inbound connection is not let in
    assert send("p2", tcp6(2, 1, 20, 5283, "S", 9000)) == []
    epsv = b"EPSV\r\n"
    assert send("p1", tcp6(1, 2, 40000, 21, "PA", c, s, epsv)) == ["p2"]
    c += len(epsv)
    reply = b"229 Entering Extended Passive Mode (|||6446|)\r\n"
    assert send("p2", tcp6(2, 1, 21, 40000, "PA", s, c, reply)) == ["p1"]
    # passive: the client connects to the announced port, related too
    assert send("p1", tcp6(1, 2, 40100, 6446, "S", 1)) == ["p2"]
    assert send("p2", tcp6(2, 1, 6446, 40100, "SA", 1, 2)) == ["p1"]
    rel_in = "table=1,in_port=2,ipv6,ct_state=+trk+new+rel"
    rel_out = "table=1,in_port=1,ipv6,ct_state=+trk+new+rel"
    assert rule_packets(br, rel_in) == 1 and rule_packets(br, rel_out) == 1
    lines = sw.conntrack.dump_conntrack(zone=1, verbose=True, now=now)
    parent = "parent=(src=2001:db8::1,dst=2001:db8::2,sport=40000,dport=21)"
    assert sum(parent in line for line in lines) == 2


def test_expired_connection_is_new_again_for_the_pipeline():
    sw = firewall()
    assert ports(sw.receive("p1", [udp(1, 2, 6000, 53)], 1.0)) == ["p2"]
    assert ports(sw.receive("p2", [udp(2, 1, 53, 6000)], 60.9)) == ["p1"]  # udp_first 60 s
    # now bidirectional: 30 s from the last packet
    assert ports(sw.receive("p2", [udp(2, 1, 53, 6000)], 90.8)) == ["p1"]
    assert ports(sw.receive("p2", [udp(2, 1, 53, 6000)], 120.9)) == []
    assert sw.conntrack.dump_conntrack(zone=1, now=120.9) == []


FTP_SNAT = [
    "table=0,priority=100,in_port=1,ip,actions=ct(zone=4,nat,table=1)",
    "table=0,priority=100,in_port=2,ip,actions=ct(zone=4,nat,table=2)",
    "table=1,priority=100,tcp,tp_dst=21,ct_state=+trk+new,"
    "actions=ct(zone=4,commit,alg=ftp,nat(src=203.0.113.1)),output:2",
    "table=1,priority=100,ip,ct_state=+trk+est,actions=output:2",
    "table=2,priority=100,ip,ct_state=+trk+est,actions=output:1",
    "table=2,priority=95,ip,ct_state=+trk+rel+new,actions=ct(zone=4,commit,nat),output:1",
    "table=2,priority=0,actions=drop",
]


def checksums_ok(frame: bytes) -> bool:
    p = Ether(frame)
    again = Ether(frame)
    del again[IP].chksum
    del again[TCP].chksum
    again = Ether(bytes(again))
    return (p[IP].chksum, p[TCP].chksum) == (again[IP].chksum, again[TCP].chksum)


def test_ftp_through_snat_rewrites_port_and_adjusts_sequence_numbers():
    sw = make_switch(2, fail_mode="secure")
    sw.bridge("br0").add_flows(FTP_SNAT)
    nat, server = "203.0.113.1", "203.0.113.2"
    c, s = 1000, 50000
    now = 1.0

    def send(port: str, src: str, dst: str, sport: int, dport: int, flags: str, seq: int,
             ack: int = 0, payload: bytes = b"") -> list[tuple[str, bytes]]:
        nonlocal now
        now += 0.01
        a, b = (1, 2) if port == "p1" else (2, 1)
        frame = bytes(Ether(src=MAC[a], dst=MAC[b]) / IP(src=src, dst=dst)
                      / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
                            window=8192) / payload)
        return sw.receive(port, [frame], now)

    send("p1", IP4[1], server, 40000, 21, "S", c)
    c += 1
    send("p2", server, nat, 21, 40000, "SA", s, c)
    s += 1
    send("p1", IP4[1], server, 40000, 21, "A", c, s)
    cmd = b"PORT 198,51,100,1,39,16\r\n"
    (port, out), = send("p1", IP4[1], server, 40000, 21, "PA", c, s, cmd)
    c += len(cmd)
    sent = Ether(out)
    assert port == "p2" and sent[IP].src == nat
    assert bytes(sent[TCP].payload) == b"PORT 203,0,113,1,39,16\r\n"  # one byte shorter
    assert sent[IP].len == 40 + len(cmd) - 1 and checksums_ok(out)
    # the server acknowledges what it received; the client sees its own numbers
    (port, out), = send("p2", server, nat, 21, 40000, "PA", s, c - 1, b"200 ok\r\n")
    s += 8
    assert port == "p1" and Ether(out)[TCP].ack == c and checksums_ok(out)
    # the client's next segment is shifted into the server's numbering
    (port, out), = send("p1", IP4[1], server, 40000, 21, "PA", c, s, b"LIST\r\n")
    assert Ether(out)[TCP].seq == c - 1 and checksums_ok(out)
    # the data connection to the NAT address reaches the real client, related
    (port, out), = send("p2", server, nat, 20, 10000, "S", 9000)
    got = Ether(out)
    assert port == "p1" and (got[IP].dst, got[TCP].dport) == (IP4[1], 10000)
    assert checksums_ok(out)
