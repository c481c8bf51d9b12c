"""The stateful firewall on real traffic: inside -> outside allowed and committed in zone
1, outside -> inside only when established or related; IPv4 and IPv6; ICMP errors as
related; two tenants with the same addresses in different zones."""

import hashlib
import os
import re

import pytest

from tests.system import fixtures
from tests.system.fixtures import (
    FIREWALL,
    add_bridge,
    flows_file,
    ping,
    ping_eventually,
    tcp_connect,
    tcp_server,
    udp_request,
    udp_server,
)

switch = fixtures.switch  # the pytest fixture
pytestmark = pytest.mark.netns


def firewall(testbed, switch, v6=False):
    inside = testbed.add_host(ipv4=["198.51.100.1/24"], ipv6=["2001:db8::1/64"] if v6 else [])
    outside = testbed.add_host(ipv4=["198.51.100.2/24"], ipv6=["2001:db8::2/64"] if v6 else [])
    add_bridge(switch, [inside, outside], fail_mode="secure")
    flows_file(switch, "br0", FIREWALL)
    return inside, outside


def table1_packets(switch, state):
    """n_packets of the table-1 rule for ``ct_state=+trk+STATE``."""
    for line in switch.ofctl("dump-flows", "br0", "table=1").splitlines():
        if f"ct_state=+{state}+trk" in line or f"ct_state=+trk+{state}" in line:
            return int(re.search(r"n_packets=(\d+)", line).group(1))
    raise AssertionError(f"no +{state} rule")


def test_firewall_ipv4(testbed, switch, tcp_transfer, tmp_path):
    inside, outside = firewall(testbed, switch)
    # inside -> outside: ping and a TCP transfer (checked end to end), UDP request/reply
    assert ping_eventually(testbed, inside, outside.ip)
    sent, got = tcp_transfer(testbed, inside, outside, outside.ip, 2_000_000)
    assert sent == got
    # and with netcat (OpenBSD nc): a file goes out and arrives intact
    src, dst = tmp_path / "nc.in", tmp_path / "nc.out"
    src.write_bytes(os.urandom(300_000))
    got = testbed.popen(outside, f"timeout 20 nc -l {outside.ip} 5555 > {dst}")
    testbed.run(inside, f"for i in $(seq 50); do timeout 10 nc -N {outside.ip} 5555 < {src} "
                        "&& exit 0; sleep 0.1; done; exit 1", timeout=40)
    got.wait(30)
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(src.read_bytes()).digest()
    srv = udp_server(testbed, outside, outside.ip, 5353)
    assert udp_request(testbed, inside, outside.ip, 5353) == "OK echo:ping"
    testbed.kill(srv)
    # outside -> inside: nothing new gets in
    assert not ping(testbed, outside, inside.ip, count=2)
    srv = tcp_server(testbed, inside, inside.ip, 8080)
    assert tcp_connect(testbed, outside, inside.ip, 8080, timeout=2).startswith("FAIL")
    assert tcp_connect(testbed, inside, inside.ip, 8080).startswith("OK")  # server works
    testbed.kill(srv)
    # the replies came back as established connections in zone 1
    assert table1_packets(switch, "est") > 0
    ct = switch.appctl("dpctl/dump-conntrack")
    assert re.search(rf"^icmp,orig=\(src={inside.ip},dst={outside.ip},id=\d+,type=8,code=0\),"
                     rf"reply=\(src={outside.ip},dst={inside.ip},id=\d+,type=0,code=0\),"
                     r"zone=1$", ct, re.M), ct
    assert re.search(rf"^tcp,orig=\(src={inside.ip},dst={outside.ip},sport=\d+,dport=5001\)"
                     r".*,zone=1,protoinfo=\(state=\w+\)$", ct, re.M), ct
    assert re.search(rf"^udp,orig=\(src={inside.ip},dst={outside.ip},sport=\d+,dport=5353\)",
                     ct, re.M), ct
    assert "dport=8080" not in ct  # the blocked attempt left nothing behind
    # the megaflows: commit on the way out, track-and-recirculate on the way in, and the
    # established replies cached after recirculation
    flows = switch.appctl("dpctl/dump-flows")
    assert re.search(r"^recirc_id\(0\),in_port\(\d+\),.*actions:ct\(commit,zone=1\),\d+$",
                     flows, re.M), flows
    assert re.search(r"^recirc_id\(0\),in_port\(\d+\),.*actions:ct\(zone=1\),recirc\(0x\w+\)$",
                     flows, re.M), flows
    assert re.search(r"^ct_state\(\+est\+trk\),recirc_id\(0x\w+\),in_port\(\d+\),.*"
                     r"actions:\d+$", flows, re.M), flows


def test_firewall_ipv6(testbed, switch, tcp_transfer):
    inside, outside = firewall(testbed, switch, v6=True)
    assert ping_eventually(testbed, inside, outside.ip6)
    sent, got = tcp_transfer(testbed, inside, outside, outside.ip6, 500_000, port=5002)
    assert sent == got
    assert not ping(testbed, outside, inside.ip6, count=2)
    srv = tcp_server(testbed, inside, inside.ip6, 8081)
    assert tcp_connect(testbed, outside, inside.ip6, 8081, timeout=2).startswith("FAIL")
    testbed.kill(srv)
    ct = switch.appctl("dpctl/dump-conntrack")
    assert re.search(r"^icmpv6,orig=\(src=2001:db8::1,dst=2001:db8::2,.*zone=1$", ct, re.M)
    assert re.search(r"^tcp,orig=\(src=2001:db8::1,dst=2001:db8::2,sport=\d+,dport=5002\)",
                     ct, re.M)


def test_icmp_port_unreachable_is_related(testbed, switch):
    inside, outside = firewall(testbed, switch)
    assert ping_eventually(testbed, inside, outside.ip)
    before = table1_packets(switch, "rel")
    # nothing listens on the outside host: its ICMP port-unreachable comes back +rel
    assert udp_request(testbed, inside, outside.ip, 9) == "REFUSED"
    assert table1_packets(switch, "rel") == before + 1


def test_two_tenants_same_addresses_different_zones(testbed, switch):
    a1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    a2 = testbed.add_host(ipv4=["198.51.100.2/24"])
    b1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    b2 = testbed.add_host(ipv4=["198.51.100.2/24"])
    add_bridge(switch, [a1, a2, b1, b2], fail_mode="secure")
    flows_file(switch, "br0", """\
table=0,priority=100,arp,in_port=1,actions=output:2
table=0,priority=100,arp,in_port=2,actions=output:1
table=0,priority=100,arp,in_port=3,actions=output:4
table=0,priority=100,arp,in_port=4,actions=output:3
table=0,priority=50,ip,in_port=1,actions=ct(commit,zone=1),output:2
table=0,priority=50,ip,in_port=2,actions=ct(zone=1,table=1)
table=0,priority=50,ip,in_port=3,actions=ct(commit,zone=2),output:4
table=0,priority=50,ip,in_port=4,actions=ct(zone=2,table=2)
table=1,priority=50,ct_state=+trk+est,actions=output:1
table=2,priority=50,ct_state=+trk+est,actions=output:3
""")
    sa = tcp_server(testbed, a2, a2.ip, 7000)
    sb = tcp_server(testbed, b2, b2.ip, 7000)
    # the very same 5-tuple in both tenants, each in its own zone
    assert tcp_connect(testbed, a1, a2.ip, 7000, src_port=40000) == \
        "OK from 198.51.100.1:40000"
    assert tcp_connect(testbed, b1, b2.ip, 7000, src_port=40000) == \
        "OK from 198.51.100.1:40000"
    testbed.kill(sa)
    testbed.kill(sb)
    assert sa.stdout.read().count("peer 198.51.100.1 40000") == 1
    assert sb.stdout.read().count("peer 198.51.100.1 40000") == 1
    for zone in (1, 2):
        ct = switch.appctl("dpctl/dump-conntrack", f"zone={zone}")
        assert re.search(r"^tcp,orig=\(src=198\.51\.100\.1,dst=198\.51\.100\.2,sport=40000,"
                         rf"dport=7000\),reply=\(.*\),zone={zone},", ct, re.M), ct
    # tenant B's outside host cannot open anything towards tenant B's inside
    assert not ping(testbed, b2, b1.ip, count=1)
