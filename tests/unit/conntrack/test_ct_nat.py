"""NAT: tuple selection, packet rewriting with checksums, ICMP errors (spec §9).

Rewritten packets are checked with scapy: every checksum must be what scapy computes.
Deterministic cases (single-port ranges, collisions) were cross-checked against the real
OVS 3.1 userspace datapath.
"""

import logging

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.layers.sctp import SCTP, SCTPChunkInit
from scapy.packet import raw

from pyvswitch import coverage
from pyvswitch.conntrack import Conntrack
from pyvswitch.conntrack.ops import CtTuple
from pyvswitch.flow import layout as L
from pyvswitch.flow.ofpacts import NAT_F_DST, NAT_F_PERSISTENT, NAT_F_PROTO_RANDOM, NAT_F_SRC, Nat

from .ctutil import (
    A6,
    B6,
    EST,
    EST_RPL,
    INV,
    NAT_IP,
    NEW,
    REL_RPL,
    A,
    B,
    C,
    dump,
    eth,
    icmp_echo,
    icmp_error,
    ip4,
    run,
    scapy_checksums_ok,
    tcp,
    udp,
)

SNAT = L.CS_SRC_NAT
DNAT = L.CS_DST_NAT
N = ip4(NAT_IP)
BARE = Nat()


def snat(lo: str = NAT_IP, hi: str | None = None, pmin: int = 0, pmax: int = 0,
         flags: int = 0) -> Nat:
    return Nat(NAT_F_SRC | flags, False, ip4(lo), ip4(hi or lo), pmin or None, pmax or None)


def dnat(addr: str, port: int = 0) -> Nat:
    return Nat(NAT_F_DST, False, ip4(addr), ip4(addr), port or None, port or None)


@pytest.fixture
def ct():
    return Conntrack(seed=7)


def fields(pkt):
    p = Ether(bytes(pkt))
    l4 = p[IP].payload
    return p[IP].src, p[IP].dst, getattr(l4, "sport", None), getattr(l4, "dport", None)


def test_snat_pool_with_port_range(ct):
    nat = snat("203.0.113.10", "203.0.113.12", 1000, 1010)
    seen = []
    for client in (A, B, C):
        pkt = udp(client, "198.51.100.200", 5000, 53)
        r = run(ct, pkt, commit=True, nat=nat)
        assert r.ct[0] == NEW | SNAT and r.modified
        assert scapy_checksums_ok(pkt)
        src, dst, sport, dport = fields(pkt)
        assert ip4("203.0.113.10") <= ip4(src) <= ip4("203.0.113.12")
        assert 1000 <= sport <= 1010 and (dst, dport) == ("198.51.100.200", 53)
        # The orig tuple stays pre-NAT.
        assert r.ct[5:] == (ip4(client), ip4("198.51.100.200"), 0, 0, 5000, 53)
        seen.append((src, sport))
        # The reply to the translated address gets the client's address back.
        back = udp("198.51.100.200", src, 53, sport)
        r = run(ct, back, nat=BARE)
        assert r.ct[0] == EST_RPL | DNAT
        assert fields(back) == ("198.51.100.200", client, 53, 5000)
        assert scapy_checksums_ok(back)
    assert len(set(seen)) == 3
    lines = dump(ct)
    assert len(lines) == 3
    for src, sport in seen:
        assert sum(f"dst={src},sport=53,dport={sport})" in line for line in lines) == 1


def test_snat_exhaustion_passes_packet_untranslated(ct, caplog):
    nat = snat(pmin=34568, pmax=34568)
    first = udp(A, B, 5000, 53)
    assert run(ct, first, commit=True, nat=nat).ct[0] == NEW | SNAT
    assert fields(first) == (NAT_IP, B, 34568, 53)
    # Same server address and port: the single reply tuple is taken.
    second = udp(C, B, 5000, 53)
    before = bytes(second)
    with caplog.at_level(logging.WARNING):
        r = run(ct, second, commit=True, nat=nat)
    assert r.ct[0] == NEW and not r.modified
    assert bytes(second) == before
    assert "Unable to NAT due to tuple space exhaustion" in caplog.text
    assert coverage.get("conntrack_nat_exhausted") == 1
    assert ct.get_nconns() == 1
    # Another server port is fine.
    assert run(ct, udp(C, B, 5000, 54), commit=True, nat=nat).ct[0] == NEW | SNAT


def test_snat_keeps_source_port_unless_taken(ct):
    nat = snat()
    a = udp(A, B, 5000, 53)
    run(ct, a, commit=True, nat=nat)
    assert fields(a)[2] == 5000
    c = udp(C, B, 5000, 53)
    run(ct, c, commit=True, nat=nat)
    assert fields(c)[2] == 5001
    low = udp(C, B, 700, 53)  # ports under 1024 stay in [600, 1023]
    run(ct, low, commit=True, nat=nat)
    run(ct, lo2 := udp(A, B, 700, 53), commit=True, nat=nat)
    assert fields(low)[2] == 700 and fields(lo2)[2] == 701
    tiny = udp(A, B, 10, 53)
    run(ct, tiny, commit=True, nat=nat)
    run(ct, tiny2 := udp(C, B, 10, 53), commit=True, nat=nat)
    assert fields(tiny)[2] == 10 and fields(tiny2)[2] == 11


def test_icmp_echo_ids_move_on_snat_collision(ct):
    nat = snat()
    ids = []
    for host in (A, B, C):
        ping = icmp_echo(host, "198.51.100.200", 500)
        assert run(ct, ping, commit=True, nat=nat).ct[0] == NEW | SNAT
        assert scapy_checksums_ok(ping)
        p = Ether(bytes(ping))
        assert p[IP].src == NAT_IP
        ids.append(p[ICMP].id)
    assert ids == [500, 501, 502]
    reply = icmp_echo("198.51.100.200", NAT_IP, 502, reply=True)
    assert run(ct, reply, nat=BARE).ct[0] == EST_RPL | DNAT
    p = Ether(bytes(reply))
    assert (p[IP].dst, p[ICMP].id) == (C, 500)
    assert scapy_checksums_ok(reply)


def test_dnat_port_forwarding(ct):
    nat = dnat(C, 8080)
    syn = tcp(A, NAT_IP, 40000, 80, "S", 1000)
    r = run(ct, syn, commit=True, nat=nat)
    assert r.ct[0] == NEW | DNAT
    assert fields(syn) == (A, C, 40000, 8080)
    assert scapy_checksums_ok(syn)
    synack = tcp(C, A, 8080, 40000, "SA", 5000, 1001)
    r = run(ct, synack, nat=BARE)
    assert r.ct[0] == EST_RPL | SNAT
    assert fields(synack) == (NAT_IP, A, 80, 40000)
    assert scapy_checksums_ok(synack)
    ack = tcp(A, NAT_IP, 40000, 80, "A", 1001, 5001)
    assert run(ct, ack, commit=True, nat=nat).ct[0] == EST | DNAT
    assert fields(ack) == (A, C, 40000, 8080)
    assert dump(ct) == [
        "tcp,orig=(src=198.51.100.1,dst=203.0.113.10,sport=40000,dport=80),"
        "reply=(src=198.51.100.3,dst=198.51.100.1,sport=8080,dport=40000),"
        "protoinfo=(state=ESTABLISHED)"
    ]


def test_dnat_may_move_client_port_on_collision(ct):
    run(ct, udp(A, C, 5000, 8080), commit=True)  # a direct connection first
    pkt = udp(A, NAT_IP, 5000, 53)
    run(ct, pkt, commit=True, nat=dnat(C, 8080))
    assert fields(pkt) == (A, C, 5001, 8080)


def test_all_zero_snat_only_moves_colliding_ports(ct):
    zero = Nat(NAT_F_SRC, False, 0, 0)
    pkt = udp(A, B, 5000, 53)
    r = run(ct, pkt, commit=True, nat=zero)
    assert r.ct[0] == NEW | SNAT and fields(pkt) == (A, B, 5000, 53)
    # A DNAT'ed connection whose reply tuple equals the next one's.
    run(ct, udp(C, NAT_IP, 5000, 53), commit=True, nat=dnat(B, 53))
    pkt2 = udp(C, B, 5000, 53)
    run(ct, pkt2, commit=True, nat=zero)
    assert fields(pkt2) == (C, B, 5001, 53)


def test_icmp_error_through_snat(ct):
    nat = snat(pmin=1000, pmax=1000)
    u = udp(A, B, 5000, 53)
    run(ct, u, commit=True, nat=nat)
    err = icmp_error(B, NAT_IP, u)  # quotes the translated packet
    r = run(ct, err, nat=BARE)
    assert r.ct[0] == REL_RPL | DNAT
    assert r.ct[4:] == (17, ip4(A), ip4(B), 0, 0, 5000, 53)
    p = Ether(bytes(err))
    assert (p[IP].src, p[IP].dst) == (B, A)
    inner = p[ICMP].payload
    assert (inner.src, inner.dst, inner.payload.sport, inner.payload.dport) == (A, B, 5000, 53)
    assert scapy_checksums_ok(err)


def test_icmp_error_from_router_through_dnat(ct):
    """An error from a third party gets the virtual address as its source."""
    nat = dnat(C, 8080)
    run(ct, u := udp(A, NAT_IP, 5000, 53), commit=True, nat=nat)
    del u
    # The router sits between the switch and the server: it quotes the DNAT'ed packet
    # and sends the error back to the client.
    err = icmp_error("198.51.100.254", A, udp(A, C, 5000, 8080), 11, 0)
    r = run(ct, err, nat=BARE)
    assert r.ct[0] == REL_RPL | SNAT
    p = Ether(bytes(err))
    assert (p[IP].src, p[IP].dst) == (NAT_IP, A)
    inner = p[ICMP].payload
    assert (inner.src, inner.dst, inner.payload.sport, inner.payload.dport) == (
        A, NAT_IP, 5000, 53)
    assert scapy_checksums_ok(err)


def test_icmp_error_for_tcp_through_snat_with_router_source(ct):
    nat = snat(pmin=1000, pmax=1000)
    syn = tcp(A, B, 40000, 80, "S", 1000)
    run(ct, syn, commit=True, nat=nat)
    err = icmp_error(C, NAT_IP, syn, 11, 0)
    r = run(ct, err, nat=BARE)
    assert r.ct[0] == REL_RPL | DNAT
    p = Ether(bytes(err))
    assert (p[IP].src, p[IP].dst) == (C, A)
    assert (p[ICMP].payload.src, p[ICMP].payload.payload.sport) == (A, 40000)
    assert scapy_checksums_ok(err)


def test_nat_without_commit_does_not_translate_new_connections(ct):
    pkt = udp(A, B, 5000, 53)
    r = run(ct, pkt, nat=snat())
    assert r.ct[0] == NEW and not r.modified
    assert fields(pkt) == (A, B, 5000, 53)


def test_bare_nat_on_plain_connection_is_a_noop(ct):
    run(ct, udp(A, B, 1, 2), commit=True)
    back = udp(B, A, 2, 1)
    r = run(ct, back, nat=BARE)
    assert r.ct[0] == EST_RPL and not r.modified


def test_bare_nat_commit_mangles_reply_tuple_as_ovs(ct):
    """``ct(commit,nat)`` on a new connection: OVS builds a REV key with address 0."""
    run(ct, udp(A, B, 5000, 53), commit=True, nat=BARE)
    assert dump(ct) == [
        "udp,orig=(src=198.51.100.1,dst=198.51.100.2,sport=5000,dport=53),"
        "reply=(src=0.0.0.0,dst=198.51.100.1,sport=53,dport=0)"
    ]
    assert run(ct, udp(B, A, 53, 5000), nat=BARE).ct[0] == NEW


def test_second_pass_in_same_zone_does_not_translate_twice(ct):
    nat = snat(pmin=1000, pmax=1000)
    pkt = udp(A, B, 5000, 53)
    first = run(ct, pkt, commit=True, nat=nat)
    assert fields(pkt) == (NAT_IP, B, 1000, 53)
    second = run(ct, pkt, commit=True, nat=nat, prev=first)
    assert second.ct[0] == NEW | SNAT and not second.modified
    assert fields(pkt) == (NAT_IP, B, 1000, 53)
    # Without nat, the reversed-key lookup still finds the connection.
    third = run(ct, pkt, prev=second)
    assert third.ct[0] == NEW | SNAT


def test_nat_flags_cleared_in_another_zone(ct):
    nat = snat(pmin=1000, pmax=1000)
    pkt = udp(A, B, 5000, 53)
    first = run(ct, pkt, zone=1, commit=True, nat=nat)
    other = run(ct, pkt, zone=2, commit=True, prev=first)
    assert other.ct[:2] == (NEW, 2)
    assert "zone=2" in dump(ct, zone=2)[0]


def test_dnat_then_snat_in_same_zone_does_nothing_more(ct):
    pkt = udp(A, NAT_IP, 5000, 53)
    first = run(ct, pkt, commit=True, nat=dnat(C))
    second = run(ct, pkt, commit=True, nat=snat(), prev=first)
    assert second.ct[0] == NEW | DNAT
    assert fields(pkt) == (A, C, 5000, 53)


def test_snat_and_dnat_in_two_zones(ct):
    pkt = udp(A, NAT_IP, 5000, 53)
    first = run(ct, pkt, zone=1, commit=True, nat=dnat(C))
    second = run(ct, pkt, zone=2, commit=True, nat=snat("203.0.113.20"), prev=first)
    assert second.ct[0] == NEW | SNAT
    assert fields(pkt) == ("203.0.113.20", C, 5000, 53)
    back = udp(C, "203.0.113.20", 53, 5000)
    r2 = run(ct, back, zone=2, nat=BARE)
    r1 = run(ct, back, zone=1, nat=BARE, prev=r2)
    assert r1.ct[0] == EST_RPL | SNAT
    assert fields(back) == (NAT_IP, A, 53, 5000)


def test_ipv6_snat(ct):
    nat = Nat(NAT_F_SRC, True, 0x20010DB8 << 96 | 0x99, 0x20010DB8 << 96 | 0x99, 2000, 2000)
    syn = tcp(A6, B6, 40000, 80, "S", 1000)
    r = run(ct, syn, commit=True, nat=nat)
    assert r.ct[0] == NEW | SNAT
    p = Ether(bytes(syn))
    assert (p[IPv6].src, p[TCP].sport) == ("2001:db8::99", 2000)
    assert scapy_checksums_ok(syn)
    back = tcp(B6, "2001:db8::99", 80, 2000, "SA", 5000, 1001)
    assert run(ct, back, nat=BARE).ct[0] == EST_RPL | DNAT
    p = Ether(bytes(back))
    assert (p[IPv6].dst, p[TCP].dport) == (A6, 40000)
    assert scapy_checksums_ok(back)


def test_sctp_snat_with_port_range(ct):
    pkt = bytearray(raw(eth() / IP(src=A, dst=B) / SCTP(sport=5000, dport=6000)
                        / SCTPChunkInit()))
    r = run(ct, pkt, commit=True, nat=snat(pmin=7000, pmax=7000))
    assert r.ct[0] == NEW | SNAT
    p = Ether(bytes(pkt))
    assert (p[IP].src, p[SCTP].sport) == (NAT_IP, 7000)
    assert scapy_checksums_ok(pkt)


def test_persistent_uses_only_the_source_address():
    nat = snat("203.0.113.1", "203.0.113.100", flags=NAT_F_PERSISTENT)
    chosen = set()
    for seed in (1, 2, 3):
        ct = Conntrack(seed=seed)
        for port in (1000, 2000, 3000):
            pkt = udp(A, B, port, 53)
            run(ct, pkt, commit=True, nat=nat)
            chosen.add(fields(pkt)[0])
    assert len(chosen) == 1


def test_random_port_selection_stays_in_range(ct):
    nat = snat(pmin=2000, pmax=2999, flags=NAT_F_PROTO_RANDOM)
    for port in range(1, 30):
        pkt = udp(A, B, port, 53)
        run(ct, pkt, commit=True, nat=nat)
        assert 2000 <= fields(pkt)[2] <= 2999
    assert ct.get_nconns() == 29


def test_udp_zero_checksum_stays_zero_after_nat(ct):
    pkt = bytearray(raw(eth() / IP(src=A, dst=B) / UDP(sport=1, dport=2, chksum=0) / b"x"))
    run(ct, pkt, commit=True, nat=snat(pmin=1000, pmax=1000))
    p = Ether(bytes(pkt))
    assert p[UDP].chksum == 0 and (p[IP].src, p[UDP].sport) == (NAT_IP, 1000)
    assert scapy_checksums_ok(pkt)


def test_invalid_packet_of_natted_connection_is_still_translated(ct):
    """OVS applies the connection's NAT after the verdict, even an invalid one."""
    run(ct, tcp(A, B, 40000, 80, "S", 1000), commit=True, nat=snat(pmin=1000, pmax=1000))
    bad = tcp(A, B, 40000, 80, "SF", 1000)
    r = run(ct, bad, nat=BARE)
    assert r.ct[0] == INV | SNAT
    assert fields(bad) == (NAT_IP, B, 1000, 80)
    assert scapy_checksums_ok(bad)


def test_untranslated_reply_starts_a_connection_that_shadows_the_snat_one(ct):
    """An outside host answering the inside's real address misses the SNAT connection
    and starts one whose REV key is the first one's FWD key: the newer claims it (OVS
    finds the newer first), the older reappears when the newer goes, and dumps and
    flushes see both meanwhile."""
    r = run(ct, udp(A, B, 1000, 53), commit=True, nat=snat(), now=1.0)
    assert r.ct[0] & SNAT
    r = run(ct, udp(B, A, 53, 1000), commit=True, now=1.0)
    assert r.ct[0] == NEW
    assert len(dump(ct, now=1.0)) == 2 and ct.get_nconns() == 2
    # An orig-direction packet of the first connection now finds the second (reply).
    r = run(ct, udp(A, B, 1000, 53), now=1.0)
    assert r.ct[0] == EST_RPL and not r.ct[0] & SNAT
    assert ct.flush(orig_tuple=CtTuple(ip4(B), ip4(A), 53, 1000), proto=17, now=1.0) == 1
    pkt = udp(A, B, 1000, 53)
    r = run(ct, pkt, nat=BARE, now=1.0)
    assert r.ct[0] == NEW | SNAT and fields(pkt)[0] == NAT_IP  # the first one again
    assert ct.shadowed() == [] and len(dump(ct, now=1.0)) == 1
    run(ct, udp(B, A, 53, 1000), commit=True, now=1.0)
    assert ct.flush(now=1.0) == 2 and ct.get_nconns() == 0 and dump(ct, now=1.0) == []
