"""Expiry of the protocol states the other expiry tests leave out (spec §10): TCP while
one side is still opening (tcp_syn_recv), "other" protocols and SCTP through the
first/multiple/bidirectional table, ICMPv6 echo.  The clock is a number: no sleeping."""

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPv6
from scapy.layers.sctp import SCTP, SCTPChunkInit
from scapy.packet import raw

from pyvswitch.conntrack import Conntrack

from .ctutil import A6, B6, EST_RPL, NEW, A, B, TcpSession, dump, eth, run


@pytest.fixture
def ct():
    return Conntrack(seed=3)


def alive(ct: Conntrack, now: float) -> bool:
    return bool(dump(ct, now=now))


def test_tcp_opening_expires_after_tcp_syn_recv(ct):
    s = TcpSession(ct)
    s.c2s("S")
    s.now = 10.0
    assert s.s2c("SA").ct[0] == EST_RPL  # the client side is not established yet
    assert alive(ct, 39.9) and not alive(ct, 40.0)


def _frames(kind: str) -> tuple[bytearray, bytearray]:
    if kind == "gre":
        fwd = eth() / IP(src=A, dst=B, proto=47) / b"\x00\x00\x08\x00data"
        rev = eth() / IP(src=B, dst=A, proto=47) / b"\x00\x00\x08\x00data"
    else:
        fwd = eth() / IP(src=A, dst=B) / SCTP(sport=5, dport=6) / SCTPChunkInit()
        rev = eth() / IP(src=B, dst=A) / SCTP(sport=6, dport=5) / SCTPChunkInit()
    return bytearray(raw(fwd)), bytearray(raw(rev))


@pytest.mark.parametrize("kind", ["gre", "sctp"])
def test_first_multiple_and_bidirectional_timers(ct, kind):
    fwd, rev = _frames(kind)
    assert run(ct, bytearray(fwd), commit=True, now=0.0).ct[0] == NEW
    assert alive(ct, 59.9) and not alive(ct, 60.0)  # udp_first
    assert run(ct, bytearray(fwd), commit=True, now=10.0).ct[0] == NEW
    assert alive(ct, 69.9) and not alive(ct, 70.0)  # udp_single (more one-way packets)
    assert run(ct, bytearray(rev), now=20.0).ct[0] == EST_RPL
    assert alive(ct, 49.9) and not alive(ct, 50.0)  # udp_multiple (a reply was seen)
    # expired: the reply finds nothing and is new again
    assert run(ct, bytearray(rev), now=50.0).ct[0] == NEW


def test_icmpv6_echo_timers(ct):
    req = bytearray(raw(eth() / IPv6(src=A6, dst=B6) / ICMPv6EchoRequest(id=4, seq=1)))
    rep = bytearray(raw(eth() / IPv6(src=B6, dst=A6) / ICMPv6EchoReply(id=4, seq=1)))
    assert run(ct, req, commit=True, now=0.0).ct[0] == NEW
    assert alive(ct, 59.9) and not alive(ct, 60.0)  # icmp_first
    assert run(ct, rep, now=5.0).ct[0] == EST_RPL
    assert alive(ct, 34.9) and not alive(ct, 35.0)  # icmp_reply
