"""The datapath with the real connection tracker: a stateful firewall and NAT."""

from __future__ import annotations

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from pyvswitch.conntrack.tracker import Conntrack
from pyvswitch.flow import layout as L
from tests.unit.dpif.helpers import make_dp, tcp


def _reply(flags, sport=80, dport=1000, src="198.51.100.2", dst="198.51.100.1"):
    return tcp(src=src, dst=dst, sport=sport, dport=dport, flags=flags)


def _firewall(sp):
    # Inside (port 1) -> outside (port 2) allowed and committed in zone 1; outside ->
    # inside only when established.
    for port, rid in ((1, 1), (2, 2)):
        sp.add(lambda f, p=port: f[L.RECIRC_ID] == 0 and f[L.IN_PORT] == p,
               f"recirc_id(0),in_port({port}),eth_type(0x0800),ipv4(frag=no)",
               f"ct(zone=1),recirc({rid:#x})")
    sp.add(lambda f: f[L.RECIRC_ID] == 1 and f[L.CT_STATE] & L.CS_NEW,
           "ct_state(+new+trk),recirc_id(0x1),in_port(1),eth_type(0x0800),ipv4(frag=no)",
           "ct(commit,zone=1),2")
    sp.add(lambda f: f[L.RECIRC_ID] == 1 and f[L.CT_STATE] & L.CS_ESTABLISHED,
           "ct_state(-new+est+trk),recirc_id(0x1),in_port(1),eth_type(0x0800),ipv4(frag=no)",
           "2")
    sp.add(lambda f: f[L.RECIRC_ID] == 2 and f[L.CT_STATE] & L.CS_ESTABLISHED,
           "ct_state(+est+trk),recirc_id(0x2),in_port(2),eth_type(0x0800),ipv4(frag=no)", "1")
    sp.add(lambda f: f[L.RECIRC_ID] == 2,
           "ct_state(-est+trk),recirc_id(0x2),in_port(2),eth_type(0x0800),ipv4(frag=no)",
           "drop")


def test_stateful_firewall_through_the_caches():
    dp, sp = make_dp(Conntrack())
    _firewall(sp)
    assert [p for p, _, _ in dp.process(1, [tcp(flags="S", sport=1000)], now=1.0)] == [2]
    assert [p for p, _, _ in dp.process(2, [_reply("SA")], now=1.1)] == [1]
    assert [p for p, _, _ in dp.process(1, [tcp(flags="A", sport=1000)], now=1.2)] == [2]
    # A new connection from outside is dropped.
    assert dp.process(2, [_reply("S", sport=81)], now=1.3) == []
    misses = len(sp.misses)
    # The established connection now stays in the datapath both ways.
    for i in range(3):
        assert [p for p, _, _ in dp.process(1, [tcp(flags="PA", sport=1000, payload=b"x")],
                                            now=2.0 + i)] == [2]
        assert [p for p, _, _ in dp.process(2, [_reply("A")], now=2.0 + i)] == [1]
    assert len(sp.misses) == misses


def test_snat_rewrites_with_valid_checksums_and_reply_is_translated_back():
    dp, sp = make_dp(Conntrack())
    sp.add(lambda f: f[L.RECIRC_ID] == 0 and f[L.IN_PORT] == 1,
           "recirc_id(0),in_port(1),eth_type(0x0800),ipv4(frag=no)",
           "ct(commit,zone=1,nat(src=203.0.113.7)),2")
    sp.add(lambda f: f[L.RECIRC_ID] == 0 and f[L.IN_PORT] == 2,
           "recirc_id(0),in_port(2),eth_type(0x0800),ipv4(frag=no)",
           "ct(zone=1,nat),recirc(0x3)")
    sp.add(lambda f: f[L.RECIRC_ID] == 3,
           "ct_state(+est+trk),recirc_id(0x3),in_port(2),eth_type(0x0800),ipv4(frag=no)", "1")
    ((_, out, _),) = dp.process(1, [tcp(flags="S", sport=1000)], now=1.0)
    p = Ether(bytes(out))
    assert p[IP].src == "203.0.113.7"
    del p[IP].chksum, p[TCP].chksum
    assert bytes(Ether(bytes(p))) == bytes(out)
    reply = _reply("SA", sport=80, dport=p[TCP].sport, dst="203.0.113.7")
    ((port, back, _),) = dp.process(2, [reply], now=1.1)
    q = Ether(bytes(back))
    assert port == 1 and (q[IP].dst, q[TCP].dport) == ("198.51.100.1", 1000)
    # The recirculated key was re-extracted after NAT changed the bytes.
    assert sp.misses[-1].flow[L.NW_DST] == 0xC6336401
