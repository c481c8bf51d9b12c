"""IP fragments at a ct action: held, reassembled, tracked, originals continue (§12)."""

import pytest
from scapy.layers.inet import IP, UDP, defragment, fragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6
from scapy.layers.l2 import Ether
from scapy.packet import raw

from pyvswitch.conntrack import Conntrack
from pyvswitch.flow import layout as L
from pyvswitch.flow.ofpacts import NAT_F_SRC, Nat

from .ctutil import A6, B6, EST_RPL, INV, NAT_IP, NEW, A, B, eth, ip4, run, udp


@pytest.fixture
def ct():
    return Conntrack(seed=2)


def frags4(src, dst, sport, dport, size=3000, ident=77):
    whole = IP(src=src, dst=dst, id=ident) / UDP(sport=sport, dport=dport) / (b"z" * size)
    return [bytearray(raw(eth() / f)) for f in fragment(whole, fragsize=1400)]


def test_fragments_held_then_released_with_the_verdict(ct):
    parts = frags4(A, B, 1000, 2000)
    assert len(parts) == 3
    for p in parts[:-1]:
        r = run(ct, p, commit=True)
        assert r.packets == []
    r = run(ct, parts[-1], commit=True)
    assert r.ct[:2] == (NEW, 0) and r.ct[4:] == (17, ip4(A), ip4(B), 0, 0, 1000, 2000)
    assert [bytes(p) for p in r.packets] == [bytes(p) for p in parts]
    assert ct.get_nconns() == 1
    # The reply, unfragmented, finds the connection.
    assert run(ct, udp(B, A, 2000, 1000)).ct[0] == EST_RPL


def test_out_of_order_fragments(ct):
    parts = frags4(A, B, 1000, 2000)
    assert run(ct, parts[2], commit=True).packets == []
    assert run(ct, parts[0], commit=True).packets == []
    r = run(ct, parts[1], commit=True)
    offsets = [Ether(bytes(p))[IP].frag for p in r.packets]
    assert offsets == sorted(offsets)
    assert r.ct[0] == NEW


def test_small_fragment_is_invalid(ct):
    whole = IP(src=A, dst=B, id=5) / UDP(sport=1, dport=2) / (b"z" * 600)
    small = [bytearray(raw(eth() / f)) for f in fragment(whole, fragsize=304)]
    r = run(ct, small[0], commit=True)
    assert r.ct[0] == INV and r.packets is None


def test_nat_is_copied_into_every_fragment(ct):
    nat = Nat(NAT_F_SRC, False, ip4(NAT_IP), ip4(NAT_IP), 1000, 1000)
    parts = frags4(A, B, 5000, 53)
    for p in parts[:-1]:
        run(ct, p, commit=True, nat=nat)
    r = run(ct, parts[-1], commit=True, nat=nat)
    assert r.ct[0] == NEW | L.CS_SRC_NAT and r.modified
    out = [Ether(bytes(p)) for p in r.packets]
    assert all(p[IP].src == NAT_IP for p in out)
    for p in out:  # IP header checksums fixed
        q = p.copy()
        del q[IP].chksum
        assert Ether(raw(q))[IP].chksum == p[IP].chksum
    whole = defragment([p[IP] for p in out])[0]
    assert whole[UDP].sport == 1000
    q = whole.copy()
    del q[UDP].chksum
    assert IP(raw(q))[UDP].chksum == whole[UDP].chksum


def test_ipv6_fragments(ct):
    whole = IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(id=9) / UDP(sport=1, dport=2) / (
        b"q" * 3000)
    parts = [bytearray(raw(eth() / f)) for f in fragment6(whole, 1400)]
    for p in parts[:-1]:
        assert run(ct, p, commit=True).packets == []
    r = run(ct, parts[-1], commit=True)
    assert r.ct[0] == NEW and len(r.packets) == len(parts)
    assert run(ct, udp(B6, A6, 2, 1)).ct[0] == EST_RPL


def test_fragments_of_different_zones_are_not_combined(ct):
    parts = frags4(A, B, 1000, 2000)
    assert run(ct, parts[0], zone=1, commit=True).packets == []
    assert run(ct, parts[1], zone=2, commit=True).packets == []
    assert run(ct, parts[2], zone=1, commit=True).packets == []
    assert ct.get_nconns() == 0
    assert "num frag: 3" in ct.ipf.format_status()
