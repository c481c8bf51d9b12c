"""UDP/ICMP/other protocols, ICMP errors, zones, mark/label, force, expiry (§6-§8.1, §10).

Verdict sequences were cross-checked against the real OVS 3.1 userspace datapath.
"""

import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NS,
    IPv6,
)
from scapy.layers.sctp import SCTP, SCTPChunkInit
from scapy.packet import raw

from pyvswitch import coverage
from pyvswitch.conntrack import Conntrack
from pyvswitch.flow import layout as L

from .ctutil import (
    A6,
    B6,
    EST,
    EST_RPL,
    INV,
    NEW,
    REL,
    REL_RPL,
    A,
    B,
    C,
    TcpSession,
    dump,
    eth,
    flow_of,
    icmp_echo,
    icmp_error,
    ip4,
    run,
    tcp,
    udp,
)

REL_NEW = L.CS_RELATED | L.CS_NEW | L.CS_TRACKED


@pytest.fixture
def ct():
    return Conntrack(seed=1)


def test_udp_new_until_reply_then_established(ct):
    assert run(ct, udp(A, B, 1000, 2000), commit=True).ct[0] == NEW
    assert run(ct, udp(A, B, 1000, 2000), commit=True).ct[0] == NEW
    assert run(ct, udp(B, A, 2000, 1000)).ct[0] == EST_RPL
    assert run(ct, udp(A, B, 1000, 2000)).ct[0] == EST
    assert dump(ct) == [
        "udp,orig=(src=198.51.100.1,dst=198.51.100.2,sport=1000,dport=2000),"
        "reply=(src=198.51.100.2,dst=198.51.100.1,sport=2000,dport=1000)"
    ]


def test_uncommitted_packet_is_new_and_leaves_nothing(ct):
    r = run(ct, udp(A, B, 1000, 2000))
    assert r.ct == (NEW, 0, 0, 0, 17, ip4(A), ip4(B), 0, 0, 1000, 2000)
    assert ct.get_nconns() == 0
    # Its reply is not found either: just another new packet.
    assert run(ct, udp(B, A, 2000, 1000)).ct[0] == NEW


@pytest.mark.parametrize("first,repeat,reply", [(60, 60, 30)])
def test_udp_timeouts(ct, first, repeat, reply):
    run(ct, udp(A, B, 1, 2), commit=True, now=0.0)
    assert dump(ct, now=first - 0.01) and not dump(ct, now=first)
    run(ct, udp(A, B, 1, 2), commit=True, now=10.0)
    assert dump(ct, now=10 + repeat - 0.01) and not dump(ct, now=10 + repeat)
    run(ct, udp(B, A, 2, 1), now=20.0)
    assert dump(ct, now=20 + reply - 0.01) and not dump(ct, now=20 + reply)
    # An expired connection is gone for lookups at once: the reply is new again.
    assert run(ct, udp(B, A, 2, 1), now=100.0).ct[0] == NEW


def test_udp_zero_checksum_is_not_verified_on_ipv4(ct):
    pkt = bytearray(raw(eth() / IP(src=A, dst=B) / UDP(sport=1, dport=2, chksum=0) / b"x"))
    assert run(ct, pkt, commit=True).ct[0] == NEW
    bad = bytearray(raw(eth() / IP(src=A, dst=B) / UDP(sport=3, dport=4, chksum=0x1234)
                        / b"x"))
    assert run(ct, bad, commit=True).ct[0] == INV


@pytest.mark.parametrize("length", [7, 32])
def test_udp_length_checks(ct, length):
    pkt = bytearray(raw(eth() / IP(src=A, dst=B) / UDP(sport=1, dport=2, len=length) / b"x"))
    assert run(ct, pkt).ct[0] == INV


def test_icmp_echo(ct):
    assert run(ct, icmp_echo(A, B, 7), commit=True).ct[0] == NEW
    assert run(ct, icmp_echo(A, B, 7, seq=2), commit=True).ct[0] == NEW
    r = run(ct, icmp_echo(B, A, 7, reply=True))
    assert r.ct == (EST_RPL, 0, 0, 0, 1, ip4(A), ip4(B), 0, 0, 8, 0)
    assert dump(ct) == [
        "icmp,orig=(src=198.51.100.1,dst=198.51.100.2,id=7,type=8,code=0),"
        "reply=(src=198.51.100.2,dst=198.51.100.1,id=7,type=0,code=0)"
    ]
    # A reply with another id has no connection and cannot start one.
    assert run(ct, icmp_echo(B, A, 9, reply=True), commit=True).ct[0] == INV


def test_icmp_timeouts(ct):
    run(ct, icmp_echo(A, B, 7), commit=True, now=0.0)
    assert dump(ct, now=59.9) and not dump(ct, now=60.0)
    run(ct, icmp_echo(B, A, 7, reply=True), now=1.0)
    assert dump(ct, now=30.9) and not dump(ct, now=31.0)


def test_icmp_bad_code_and_untrackable_types(ct):
    bad_code = bytearray(raw(eth() / IP(src=A, dst=B) / ICMP(type=8, code=1, id=1)))
    assert run(ct, bad_code, commit=True).ct[0] == INV
    redirect = bytearray(raw(eth() / IP(src=A, dst=B) / ICMP(type=9, code=0)))
    assert run(ct, redirect, commit=True).ct[0] == INV
    assert coverage.get("conntrack_icmp_untrackable") == 1


def test_icmp_timestamp_and_info_are_echo_like(ct):
    ts = bytearray(raw(eth() / IP(src=A, dst=B) / ICMP(type=13, id=5)))
    assert run(ct, ts, commit=True).ct[0] == NEW
    tsr = bytearray(raw(eth() / IP(src=B, dst=A) / ICMP(type=14, id=5)))
    assert run(ct, tsr).ct[0] == EST_RPL
    assert "type=13,code=0),reply=(" in dump(ct)[0] and "type=14" in dump(ct)[0]


def test_icmp_error_related_to_udp(ct):
    u = udp(A, B, 1000, 2000)
    run(ct, u, commit=True)
    # From the destination host, back to the sender: reply direction.
    r = run(ct, icmp_error(B, A, u))
    assert r.ct == (REL_RPL, 0, 0, 0, 17, ip4(A), ip4(B), 0, 0, 1000, 2000)
    # From a router on the way (source is not the connection's peer): still related.
    assert run(ct, icmp_error(C, A, u)).ct[0] == REL_RPL
    # The embedded packet's source must be the error's destination.
    assert run(ct, icmp_error(C, B, u)).ct[0] == INV
    # Errors neither refresh nor advance the connection.
    assert dump(ct, now=59.9) and not dump(ct, now=60.0)


def test_icmp_error_in_orig_direction(ct):
    u = udp(A, B, 1000, 2000)
    run(ct, u, commit=True)
    reply = udp(B, A, 2000, 1000)
    run(ct, reply)
    assert run(ct, icmp_error(A, B, reply)).ct[0] == REL


def test_icmp_error_without_connection_is_invalid(ct):
    assert run(ct, icmp_error(B, A, udp(A, B, 1, 2)), commit=True).ct[0] == INV
    assert ct.get_nconns() == 0


def test_icmp_error_for_tcp_and_for_ping(ct):
    syn = tcp(A, B, 40000, 80, "S", 1000)
    run(ct, syn, commit=True)
    assert run(ct, icmp_error(B, A, syn, 11, 0)).ct[0] == REL_RPL
    ping = icmp_echo(A, B, 5)
    run(ct, ping, commit=True)
    r = run(ct, icmp_error(C, A, ping, 11, 0))
    assert r.ct == (REL_RPL, 0, 0, 0, 1, ip4(A), ip4(B), 0, 0, 8, 0)


def test_icmp_error_nested_in_error_is_invalid(ct):
    u = udp(A, B, 1, 2)
    run(ct, u, commit=True)
    inner = icmp_error(B, A, u)
    assert run(ct, icmp_error(C, B, inner)).ct[0] == INV


def test_icmpv6_echo_and_neighbour_discovery(ct):
    req = bytearray(raw(eth() / IPv6(src=A6, dst=B6) / ICMPv6EchoRequest(id=3)))
    rep = bytearray(raw(eth() / IPv6(src=B6, dst=A6) / ICMPv6EchoReply(id=3)))
    ns = bytearray(raw(eth() / IPv6(src=A6, dst=B6) / ICMPv6ND_NS(tgt=B6)))
    assert run(ct, req, commit=True).ct[0] == NEW
    assert run(ct, rep).ct[0] == EST_RPL
    assert run(ct, ns, commit=True).ct[0] == INV
    assert dump(ct) == [
        "icmpv6,orig=(src=2001:db8::1,dst=2001:db8::2,id=3,type=128,code=0),"
        "reply=(src=2001:db8::2,dst=2001:db8::1,id=3,type=129,code=0)"
    ]


def test_icmpv6_error_related(ct):
    u6 = udp(A6, B6, 1000, 2000)
    run(ct, u6, commit=True)
    err = bytearray(raw(eth() / IPv6(src=B6, dst=A6) / ICMPv6DestUnreach(code=4)
                        / bytes(u6[14:])))
    r = run(ct, err)
    assert r.ct[0] == REL_RPL
    assert r.ct[4:] == (17, 0, 0, 0x20010DB8 << 96 | 1, 0x20010DB8 << 96 | 2, 1000, 2000)


def test_other_protocol_one_connection_per_address_pair(ct):
    gre = bytearray(raw(eth() / IP(src=A, dst=B, proto=47) / b"\x00\x00\x08\x00data"))
    back = bytearray(raw(eth() / IP(src=B, dst=A, proto=47) / b"\x00\x00\x08\x00data"))
    assert run(ct, gre, commit=True).ct[0] == NEW
    assert run(ct, back).ct[0] == EST_RPL
    assert dump(ct) == [
        "47,orig=(src=198.51.100.1,dst=198.51.100.2,sport=0,dport=0),"
        "reply=(src=198.51.100.2,dst=198.51.100.1,sport=0,dport=0)"
    ]


def test_sctp_ports_and_crc(ct):
    ok = bytearray(raw(eth() / IP(src=A, dst=B) / SCTP(sport=5, dport=6) / SCTPChunkInit()))
    back = bytearray(raw(eth() / IP(src=B, dst=A) / SCTP(sport=6, dport=5) / SCTPChunkInit()))
    assert run(ct, ok, commit=True).ct[0] == NEW
    assert run(ct, back).ct[0] == EST_RPL
    assert dump(ct)[0].startswith("sctp,orig=(src=198.51.100.1,dst=198.51.100.2,sport=5,dport=6)")
    bad = bytearray(ok)
    bad[42] ^= 1  # the CRC
    assert run(ct, bad).ct[0] == INV
    assert run(ct, bad, l4_csum_good=True).ct[0] == EST


def test_malformed_ip_headers_are_invalid(ct):
    pkt = udp(A, B, 1, 2)
    bad_csum = bytearray(pkt)
    bad_csum[24] ^= 0xFF
    assert run(ct, bad_csum).ct == (INV, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    assert coverage.get("conntrack_l3csum_err") == 1
    assert run(ct, bytearray(pkt[:30])).ct[0] == INV
    arp = bytearray(b"\xff" * 12 + b"\x08\x06" + bytes(28))
    assert run(ct, arp).ct[0] == INV


def test_later_fragment_without_reassembly_is_invalid(ct):
    ct.ipf.set_enabled(False, False)
    frag = bytearray(raw(eth() / IP(src=A, dst=B, frag=100, proto=17) / bytes(16)))
    assert run(ct, frag).ct[0] == INV


def test_zones_are_independent(ct):
    pkt = udp(A, B, 1000, 2000)
    assert run(ct, pkt, zone=1, commit=True).ct[:2] == (NEW, 1)
    assert run(ct, pkt, zone=2, commit=True).ct[:2] == (NEW, 2)
    assert run(ct, udp(B, A, 2000, 1000), zone=1).ct[:2] == (EST_RPL, 1)
    assert run(ct, udp(A, B, 1000, 2000), zone=2).ct[:2] == (NEW, 2)
    assert run(ct, udp(B, A, 2000, 1000), zone=3).ct[:2] == (NEW, 3)
    assert [line.rsplit(",zone=", 1)[1] for line in dump(ct)] == ["1", "2"]
    assert len(dump(ct, zone=1)) == 1


def test_entering_another_zone_forgets_the_verdict(ct):
    pkt = udp(A, B, 1000, 2000)
    first = run(ct, pkt, zone=1, commit=True)
    run(ct, udp(B, A, 2000, 1000), zone=1)
    est = run(ct, pkt, zone=1, prev=first)
    assert est.ct[0] == EST
    other = run(ct, pkt, zone=2, prev=est)
    assert other.ct[:2] == (NEW, 2)


def test_mark_and_label_at_commit_seen_on_replies(ct):
    r = run(ct, udp(A, B, 1, 2), commit=True, mark=(0xAA, 0xFFFFFFFF),
            label=(0xAA00000000, (1 << 128) - 1))
    assert r.ct[2:4] == (0xAA, 0xAA00000000)
    r = run(ct, udp(B, A, 2, 1))
    assert r.ct[:4] == (EST_RPL, 0, 0xAA, 0xAA00000000)
    assert dump(ct) == [
        "udp,orig=(src=198.51.100.1,dst=198.51.100.2,sport=1,dport=2),"
        "reply=(src=198.51.100.2,dst=198.51.100.1,sport=2,dport=1),mark=170,labels=0xaa00000000"
    ]


def test_masked_mark_and_label_writes(ct):
    run(ct, udp(A, B, 1, 2), commit=True, mark=(0x12345678, 0xFFFFFFFF),
        label=(1 << 100 | 5, (1 << 128) - 1))
    r = run(ct, udp(A, B, 1, 2), commit=True, mark=(0xAB00, 0xFF00),
            label=(0x30, 0xF0))
    assert r.ct[2] == 0x1234AB78
    assert r.ct[3] == 1 << 100 | 0x35


def test_mark_write_without_connection_is_ignored(ct):
    r = run(ct, udp(A, B, 1, 2), mark=(7, 0xFFFFFFFF))
    assert r.ct[:3] == (NEW, 0, 0)


def test_icmp_error_exec_writes_parent(ct):
    u = udp(A, B, 1, 2)
    run(ct, u, commit=True)
    r = run(ct, icmp_error(B, A, u), commit=True, mark=(9, 0xFFFFFFFF))
    assert r.ct[:3] == (REL_RPL, 0, 9)
    assert "mark=9" in dump(ct)[0]


def test_force_commit_replaces_reply_direction_connection(ct):
    run(ct, udp(A, B, 1, 2), commit=True)
    r = run(ct, udp(B, A, 2, 1), commit=True, force=True)
    assert r.ct[0] == NEW
    assert r.ct[5:7] == (ip4(B), ip4(A))
    assert dump(ct) == [
        "udp,orig=(src=198.51.100.2,dst=198.51.100.1,sport=2,dport=1),"
        "reply=(src=198.51.100.1,dst=198.51.100.2,sport=1,dport=2)"
    ]
    # Orig direction: force changes nothing.
    assert run(ct, udp(B, A, 2, 1), commit=True, force=True).ct[0] == NEW
    assert len(dump(ct)) == 1


def test_tcp_connection_counts_and_sweep(ct):
    for port in range(1, 6):
        TcpSession(ct, cport=port).c2s("S")
    assert ct.get_nconns() == 5
    assert ct.sweep(10.0) == pytest.approx(30.0)
    assert ct.get_nconns() == 5
    ct.sweep(30.0)
    assert ct.get_nconns() == 0


def test_sweep_budget_resumes_later(ct):
    ct.set_maxconns(64 * 3)  # a budget of 3 entries per round
    for port in range(1, 11):
        run(ct, udp(A, B, port, 9), commit=True)
    nxt = ct.sweep(100.0)
    assert nxt == pytest.approx(100.2)
    assert 0 < ct.get_nconns() < 10
    for _ in range(10):
        ct.sweep(100.0)
    assert ct.get_nconns() == 0


def test_run_schedules_sweeps(ct):
    ct.set_sweep_interval(5000)
    assert ct.get_sweep_interval() == 5000
    run(ct, udp(A, B, 1, 2), commit=True, now=0.0)
    ct.run(0.0)
    assert ct.next_deadline() == pytest.approx(5.0)
    ct.run(61.0)
    assert ct.get_nconns() == 0


def test_zone_timeout_policy(ct):
    ct.set_zone_timeout_policy(5, {"udp_first": 1, "udp_single": 2, "icmp_first": 1,
                                   "tcp_close_wait": 9})
    assert ct.get_zone_timeout_policy(5) == {"udp_first": 1, "udp_single": 2,
                                             "icmp_first": 1}
    run(ct, udp(A, B, 1, 2), zone=5, commit=True, now=0.0)
    run(ct, udp(A, B, 1, 2), zone=0, commit=True, now=0.0)
    assert len(dump(ct, now=0.9)) == 2
    assert len(dump(ct, now=1.0)) == 1
    # Values are read at every refresh: a changed policy affects existing connections.
    run(ct, udp(A, B, 3, 4), zone=5, commit=True, now=0.0)
    ct.set_zone_timeout_policy(5, {"udp_single": 100})
    run(ct, udp(A, B, 3, 4), zone=5, commit=True, now=0.5)
    assert dump(ct, zone=5, now=100.4)
    ct.del_zone_timeout_policy(5)
    run(ct, udp(A, B, 3, 4), zone=5, commit=True, now=1.0)
    assert dump(ct, zone=5, now=60.9) and not dump(ct, zone=5, now=61.0)


def test_named_timeout_policy(ct):
    ct.set_timeout_policy("short", {"icmp_first": 2})
    run(ct, icmp_echo(A, B, 1), commit=True, timeout_policy="short")
    assert dump(ct, now=1.9) and not dump(ct, now=2.0)
    with pytest.raises(Exception, match="unknown timeout policy attribute"):
        ct.set_timeout_policy("bad", {"nope": 1})


def test_bytes_input_is_accepted(ct):
    from pyvswitch.flow.ofpacts import NAT_F_SRC, Nat

    pkt = bytes(udp(A, B, 1, 2))
    nat = Nat(NAT_F_SRC, False, ip4("203.0.113.1"), ip4("203.0.113.1"))
    r = ct.execute(pkt, flow_of(bytearray(pkt)), zone=0, commit=True, nat=nat, now=0.0)
    assert r.ct[0] == NEW | L.CS_SRC_NAT
