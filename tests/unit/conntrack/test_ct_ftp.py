"""FTP/TFTP helpers inside the tracker: expectations, related data connections, NAT
payload rewrite and sequence adjustment (spec §8.2-§8.4).

The active-SNAT, passive-DNAT and TFTP sequences below were run through the real OVS 3.1
userspace datapath too: verdicts, dumps and the rewritten packets (ports, checksums) agree.
"""

import logging

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from pyvswitch.conntrack import Conntrack
from pyvswitch.flow import layout as L
from pyvswitch.flow.ofpacts import NAT_F_DST, NAT_F_SRC, Nat

from .ctutil import (
    EST,
    EST_RPL,
    INV,
    NEW,
    A,
    B,
    C,
    dump,
    ip4,
    run,
    scapy_checksums_ok,
    tcp,
    udp,
)

NATX = "203.0.113.100"
REL_NEW = L.CS_RELATED | L.CS_NEW | L.CS_TRACKED
REL_EST = L.CS_RELATED | L.CS_ESTABLISHED | L.CS_TRACKED
REL_EST_RPL = REL_EST | L.CS_REPLY_DIR
SNAT_BIT, DNAT_BIT = L.CS_SRC_NAT, L.CS_DST_NAT
BARE = Nat()


@pytest.fixture
def ct():
    return Conntrack(seed=5)


class Ftp:
    """A control connection A:40000 -> server:21 through the tracker."""

    def __init__(self, ct, server=B, seen_server=B, client_kw=None, server_kw=None):
        self.ct, self.server, self.seen = ct, server, seen_server
        self.ckw = client_kw or {"commit": True, "alg": 21}
        self.skw = server_kw or {}
        self.cs, self.ss = 1000, 5000

    def c(self, flags, payload=b"", ack_adj=0):
        pkt = tcp(A, self.server, 40000, 21, flags, self.cs, self.ss + ack_adj, payload=payload)
        self.cs += len(payload) + ("S" in flags)
        return pkt, run(self.ct, pkt, **self.ckw)

    def s(self, flags, payload=b"", ack_adj=0, dst=A):
        pkt = tcp(self.seen, dst, 21, 40000, flags, self.ss, self.cs + ack_adj, payload=payload)
        self.ss += len(payload) + ("S" in flags)
        return pkt, run(self.ct, pkt, **self.skw)

    def open(self, dst=A):
        self.c("S")
        self.s("SA", dst=dst)
        self.c("A")


def test_active_ftp_expectation_and_related_data_connection(ct):
    f = Ftp(ct)
    f.open()
    _, r = f.c("PA", b"PORT 198,51,100,1,39,16\r\n")
    assert r.ct[0] == EST
    assert ct.dump_expectations() == [
        "tcp,orig=(src=198.51.100.2,dst=198.51.100.1,sport=0,dport=10000),"
        "parent=(src=198.51.100.1,dst=198.51.100.2,sport=40000,dport=21)"
    ]
    # The server connects back from port 20: new and related, with the parent's tuple.
    syn = tcp(B, A, 20, 10000, "S", 9000)
    r = run(ct, syn, commit=True)
    assert r.ct == (REL_NEW, 0, 0, 0, 6, ip4(A), ip4(B), 0, 0, 40000, 21)
    r = run(ct, tcp(A, B, 10000, 20, "SA", 7000, 9001))
    assert r.ct[0] == REL_EST_RPL
    # Expectations are not consumed; they go with the parent.
    assert len(ct.dump_expectations()) == 1
    assert [line for line in ct.dump_conntrack(verbose=True, now=0.0) if "parent=" in line]
    assert "helper=ftp" in [line for line in dump(ct) if "dport=21" in line][0]


def test_uncommitted_related_packet_reports_parent_metadata(ct):
    f = Ftp(ct, client_kw={"commit": True, "alg": 21, "mark": (0x42, 0xFFFFFFFF)})
    f.open()
    f.c("PA", b"PORT 198,51,100,1,39,16\r\n")
    r = run(ct, tcp(B, A, 20, 10000, "S", 9000))
    assert r.ct[:3] == (REL_NEW, 0, 0x42)
    assert "mark=66" in ct.dump_expectations()[0]


def test_data_connection_ignores_exec_writes(ct):
    f = Ftp(ct, client_kw={"commit": True, "alg": 21, "mark": (7, 0xFFFFFFFF)})
    f.open()
    f.c("PA", b"PORT 198,51,100,1,39,16\r\n")
    r = run(ct, tcp(B, A, 20, 10000, "S", 9000), commit=True, mark=(9, 0xFFFFFFFF))
    assert r.ct[2] == 7


def test_passive_ftp(ct):
    f = Ftp(ct)
    f.open()
    f.c("PA", b"PASV\r\n")
    f.s("PA", b"227 Entering Passive Mode (198,51,100,2,39,17).\r\n")
    assert ct.dump_expectations() == [
        "tcp,orig=(src=198.51.100.1,dst=198.51.100.2,sport=0,dport=10001),"
        "parent=(src=198.51.100.1,dst=198.51.100.2,sport=40000,dport=21)"
    ]
    assert run(ct, tcp(A, B, 40001, 10001, "S", 1), commit=True).ct[0] == REL_NEW


def test_no_helper_no_expectation(ct):
    f = Ftp(ct, client_kw={"commit": True})
    f.open()
    f.c("PA", b"PORT 198,51,100,1,39,16\r\n")
    assert ct.dump_expectations() == []
    assert run(ct, tcp(B, A, 20, 10000, "S", 9000), commit=True).ct[0] == NEW


def test_stored_helper_is_used_by_later_passes(ct):
    f = Ftp(ct)
    f.c("S")
    f.ckw = {"commit": True}  # alg= only on the committing pass
    f.s("SA")
    f.c("A")
    f.c("PA", b"PORT 198,51,100,1,39,16\r\n")
    assert len(ct.dump_expectations()) == 1


def test_helper_on_non_standard_port(ct):
    pkt = tcp(A, B, 40000, 2121, "S", 1000)
    run(ct, pkt, commit=True, alg=21)
    run(ct, tcp(B, A, 2121, 40000, "SA", 5000, 1001))
    run(ct, tcp(A, B, 40000, 2121, "A", 1001, 5001))
    run(ct, tcp(A, B, 40000, 2121, "PA", 1001, 5001, payload=b"PORT 198,51,100,1,39,16\r\n"))
    assert len(ct.dump_expectations()) == 1


def test_bounce_address_is_invalid(ct, caplog):
    f = Ftp(ct)
    f.open()
    with caplog.at_level(logging.WARNING):
        _, r = f.c("PA", b"PORT 198,51,100,3,39,16\r\n")
    assert r.ct[0] & L.CS_INVALID
    assert "Invalid FTP control packet format" in caplog.text
    assert ct.dump_expectations() == []


def test_malformed_port_command_is_invalid(ct):
    f = Ftp(ct)
    f.open()
    _, r = f.c("PA", b"PORT 198,51,100,1,300,16\r\n")
    assert r.ct[0] & L.CS_INVALID and ct.dump_expectations() == []


def test_expectations_removed_with_parent(ct):
    f = Ftp(ct)
    f.open()
    f.c("PA", b"PORT 198,51,100,1,39,16\r\n")
    assert ct.dump_expectations()
    ct.sweep(86400.0)
    assert ct.dump_expectations() == []
    assert run(ct, tcp(B, A, 20, 10000, "S", 9000), commit=True).ct[0] == NEW


def test_expectation_dump_by_zone(ct):
    f = Ftp(ct, client_kw={"commit": True, "alg": 21, "zone": 4}, server_kw={"zone": 4})
    f.open()
    f.c("PA", b"PORT 198,51,100,1,39,16\r\n")
    assert ct.dump_expectations(4) == [
        "tcp,orig=(src=198.51.100.2,dst=198.51.100.1,sport=0,dport=10000),zone=4,"
        "parent=(src=198.51.100.1,dst=198.51.100.2,sport=40000,dport=21)"
    ]
    assert ct.dump_expectations(0) == []


def test_active_ftp_with_snat_rewrites_payload_and_sequence(ct):
    snat = Nat(NAT_F_SRC, False, ip4(NATX), ip4(NATX))
    f = Ftp(ct, seen_server=B, client_kw={"commit": True, "alg": 21, "nat": snat},
            server_kw={"commit": True, "nat": BARE})
    f.c("S")
    f.s("SA", dst=NATX)
    f.c("A")
    port = b"PORT 198,51,100,1,39,16\r\n"
    pkt, r = f.c("PA", port)
    assert r.ct[0] == EST | SNAT_BIT and r.modified
    p = Ether(bytes(pkt))
    assert bytes(p[TCP].payload) == b"PORT 203,0,113,100,39,16\r\n"
    assert p[IP].len == 40 + len(port) + 1
    assert scapy_checksums_ok(pkt)
    # The server acknowledges one more byte; the client must see its own numbers.
    ack, r = f.s("A", dst=NATX, ack_adj=1)
    assert r.ct[0] == EST_RPL | DNAT_BIT
    assert Ether(bytes(ack))[TCP].ack == f.cs
    assert scapy_checksums_ok(ack)
    # Later client segments are shifted by the skew.
    nxt, r = f.c("PA", b"LIST\r\n")
    assert r.ct[0] == EST | SNAT_BIT
    assert Ether(bytes(nxt))[TCP].seq == f.cs - 6 + 1
    assert scapy_checksums_ok(nxt)
    # The data connection is DNAT'ed back to the real client.
    syn = tcp(B, NATX, 20, 10000, "S", 9000)
    r = run(ct, syn, commit=True, nat=BARE)
    assert r.ct[0] == REL_NEW | DNAT_BIT
    assert Ether(bytes(syn))[IP].dst == A
    assert scapy_checksums_ok(syn)


def test_passive_ftp_with_dnat(ct):
    dnat = Nat(NAT_F_DST, False, ip4(C), ip4(C))
    f = Ftp(ct, server=NATX, seen_server=C, client_kw={"commit": True, "alg": 21, "nat": dnat},
            server_kw={"nat": BARE})
    f.open()
    f.c("PA", b"PASV\r\n")
    pkt, r = f.s("PA", b"227 Entering Passive Mode (198,51,100,3,39,16).\r\n")
    assert r.ct[0] == EST_RPL | SNAT_BIT
    assert bytes(Ether(bytes(pkt))[TCP].payload) == (
        b"227 Entering Passive Mode (203,0,113,100,39,16).\r\n")
    assert scapy_checksums_ok(pkt)
    syn = tcp(A, NATX, 40001, 10000, "S", 3000)
    r = run(ct, syn, commit=True, nat=dnat)
    assert r.ct[0] == REL_NEW | DNAT_BIT
    assert Ether(bytes(syn))[IP].dst == C
    assert scapy_checksums_ok(syn)


def test_eprt_ipv6(ct):
    a6, b6 = "2001:db8::1", "2001:db8::2"
    run(ct, tcp(a6, b6, 40000, 21, "S", 1000), commit=True, alg=21)
    run(ct, tcp(b6, a6, 21, 40000, "SA", 5000, 1001))
    run(ct, tcp(a6, b6, 40000, 21, "A", 1001, 5001))
    run(ct, tcp(a6, b6, 40000, 21, "PA", 1001, 5001, payload=b"EPRT |2|2001:db8::1|5282|\r\n"))
    assert ct.dump_expectations() == [
        "tcp,orig=(src=2001:db8::2,dst=2001:db8::1,sport=0,dport=5282),"
        "parent=(src=2001:db8::1,dst=2001:db8::2,sport=40000,dport=21)"
    ]


def test_tftp(ct):
    req = udp(A, B, 5555, 69, b"\x00\x01file\x00octet\x00")
    r = run(ct, req, commit=True, alg=69)
    assert r.ct[0] == NEW
    assert ct.dump_expectations() == [
        "udp,orig=(src=198.51.100.2,dst=198.51.100.1,sport=0,dport=5555),"
        "parent=(src=198.51.100.1,dst=198.51.100.2,sport=5555,dport=69)"
    ]
    data = udp(B, A, 7777, 5555, b"\x00\x03\x00\x01data")
    assert run(ct, data, commit=True).ct[0] == REL_NEW
    assert run(ct, udp(A, B, 5555, 7777, b"\x00\x04\x00\x01")).ct[0] == REL_EST | L.CS_REPLY_DIR
    assert "helper=tftp" in [line for line in dump(ct) if "dport=69" in line][0]


def test_invalid_verdict_keeps_helper_running(ct):
    """As in OVS, a control packet failing the window check still feeds the helper."""
    f = Ftp(ct)
    f.open()
    f.cs += 10_000_000
    _, r = f.c("PA", b"PORT 198,51,100,1,39,16\r\n")
    assert r.ct[0] == INV
    assert len(ct.dump_expectations()) == 1
