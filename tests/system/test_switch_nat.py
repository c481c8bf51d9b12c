"""NAT through conntrack on real traffic: an inside network leaving through an outside
address pool (SNAT), and a port forward from an outside address to an inside server
(DNAT).  The hosts sit on one L2 segment with on-link routes and static neighbour
entries for the translated addresses, so the switch is the only thing translating."""

import re

import pytest

from tests.system import fixtures
from tests.system.fixtures import add_bridge, flows_file, tcp_connect, tcp_server

switch = fixtures.switch  # the pytest fixture
pytestmark = pytest.mark.netns


def neigh(tb, host, ip, mac):
    tb.run(host, ["ip", "neigh", "replace", ip, "lladdr", mac, "dev", "eth0", "nud",
                  "permanent"])


def test_snat_to_an_outside_pool(testbed, switch):
    inside = testbed.add_host(ipv4=["198.51.100.10/24"])
    outside = testbed.add_host(ipv4=["203.0.113.2/24"])
    testbed.run(inside, ["ip", "route", "add", "203.0.113.0/24", "dev", "eth0"])
    neigh(testbed, inside, "203.0.113.2", outside.mac)
    for n in (100, 101):  # the pool: the outside host answers them towards the inside
        neigh(testbed, outside, f"203.0.113.{n}", inside.mac)
    add_bridge(switch, [inside, outside], fail_mode="secure")
    flows_file(switch, "br0", """\
table=0,priority=50,ip,in_port=1,actions=ct(commit,zone=1,nat(src=203.0.113.100-203.0.113.101)),output:2
table=0,priority=50,ip,in_port=2,actions=ct(zone=1,nat,table=1)
table=1,priority=50,ct_state=+trk+est,actions=output:1
table=1,priority=0,actions=drop
""")
    srv = tcp_server(testbed, outside, "203.0.113.2", 8000)
    answers = [tcp_connect(testbed, inside, "203.0.113.2", 8000) for _ in range(3)]
    testbed.kill(srv)
    for a in answers:
        m = re.fullmatch(r"OK from (203\.0\.113\.10[01]):\d+", a)
        assert m, answers  # the server saw a pool address, the client got the answer
    ct = switch.appctl("dpctl/dump-conntrack")
    assert re.search(r"^tcp,orig=\(src=198\.51\.100\.10,dst=203\.0\.113\.2,sport=\d+,dport=8000\),"
                     r"reply=\(src=203\.0\.113\.2,dst=203\.0\.113\.10[01],sport=8000,dport=\d+\),"
                     r"zone=1,", ct, re.M), ct
    # the outside cannot start anything towards the pool
    assert tcp_connect(testbed, outside, "203.0.113.100", 22, timeout=1).startswith("FAIL")


def test_dnat_port_forward_to_an_inside_server(testbed, switch):
    server = testbed.add_host(ipv4=["198.51.100.10/24"])
    client = testbed.add_host(ipv4=["203.0.113.2/24"])
    testbed.run(server, ["ip", "route", "add", "203.0.113.0/24", "dev", "eth0"])
    neigh(testbed, server, "203.0.113.2", client.mac)
    neigh(testbed, client, "203.0.113.1", server.mac)  # the public address
    add_bridge(switch, [server, client], fail_mode="secure")
    flows_file(switch, "br0", """\
table=0,priority=50,tcp,in_port=2,nw_dst=203.0.113.1,tp_dst=8080,actions=ct(commit,zone=2,nat(dst=198.51.100.10:80)),output:1
table=0,priority=50,ip,in_port=1,actions=ct(zone=2,nat,table=1)
table=1,priority=50,ct_state=+trk+est,actions=output:2
table=1,priority=0,actions=drop
""")
    srv = tcp_server(testbed, server, "198.51.100.10", 80)
    assert tcp_connect(testbed, client, "203.0.113.1", 8080, src_port=41000) == \
        "OK from 203.0.113.2:41000"
    # only the forwarded port is open
    assert tcp_connect(testbed, client, "203.0.113.1", 8081, timeout=1).startswith("FAIL")
    testbed.kill(srv)
    ct = switch.appctl("dpctl/dump-conntrack", "zone=2")
    assert re.search(r"^tcp,orig=\(src=203\.0\.113\.2,dst=203\.0\.113\.1,sport=41000,dport=8080\),"
                     r"reply=\(src=198\.51\.100\.10,dst=203\.0\.113\.2,sport=80,dport=41000\),"
                     r"zone=2,", ct, re.M), ct
