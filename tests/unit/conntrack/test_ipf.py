"""IP fragment reassembly (conntrack.md §12): holding, validation, reassembly, expiry."""

import itertools
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP, defragment, fragment
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    IPv6,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    defragment6,
    fragment6,
)
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw

from pyvswitch import coverage
from pyvswitch.conntrack.ipf import HELD, INVALID, NOT_FRAG, Ipf, IpfStatus

MAC = {"src": "02:00:00:00:00:01", "dst": "02:00:00:00:00:02"}
SRC, DST = "198.51.100.1", "198.51.100.2"
SRC6, DST6 = "2001:db8::1", "2001:db8::2"


def pattern(n: int) -> bytes:
    return bytes(i * 7 & 0xFF for i in range(n))


def v4_frags(ip_id=1, size=3000, fragsize=1400, src=SRC, vlan=None) -> list[bytes]:
    """A UDP datagram of ``size`` payload bytes cut by scapy, as Ethernet frames."""
    dgram = IP(src=src, dst=DST, id=ip_id) / UDP(sport=1000, dport=2000) / Raw(pattern(size))
    l2 = Ether(**MAC) / Dot1Q(vlan=vlan) if vlan is not None else Ether(**MAC)
    return [bytes(l2 / f) for f in fragment(dgram, fragsize=fragsize)]


def v6_frags(ident=1, size=3000, fragsize=1400, hop_by_hop=False) -> list[bytes]:
    net = IPv6(src=SRC6, dst=DST6)
    if hop_by_hop:
        net = net / IPv6ExtHdrHopByHop()
    dgram = net / IPv6ExtHdrFragment(id=ident) / ICMPv6EchoRequest(data=pattern(size))
    return [bytes(Ether(**MAC) / f) for f in fragment6(dgram, fragsize)]


def v4_frag(ip_id, offset, payload, more, src=SRC, proto=17) -> bytes:
    """One hand-made IPv4 fragment: ``offset`` in bytes (a multiple of 8)."""
    flags = "MF" if more else 0
    ip = IP(src=src, dst=DST, id=ip_id, flags=flags, frag=offset // 8, proto=proto)
    return bytes(Ether(**MAC) / ip / Raw(payload))


def feed(ipf, frames, zone=0, recirc_id=0, now=0.0):
    return [ipf.process(bytearray(f), zone, recirc_id, now) for f in frames]


def scapy_defrag_v4(frames) -> bytes:
    (whole,) = defragment([Ether(f) for f in frames])
    return bytes(whole)


def test_v4_in_order_is_reassembled_like_scapy():
    frames = v4_frags()
    assert len(frames) == 3
    ipf = Ipf()
    pkts = [bytearray(f) for f in frames]
    results = [ipf.process(p, 0, 0, 0.0) for p in pkts]
    assert results[:2] == [HELD, HELD]
    done = results[2]
    assert done.status is IpfStatus.COMPLETE
    assert bytes(done.reassembled) == scapy_defrag_v4(frames)
    assert all(a is b for a, b in zip(done.frags, pkts))  # the originals, by offset
    assert ipf.nfrag == 0
    assert ipf.counters(False) == (3, 3, 0, 0, 0, 0)
    assert ipf.counters(True) == (0, 0, 0, 0, 0, 0)


@settings(max_examples=30, deadline=None)
@given(st.permutations(range(4)))
def test_v4_any_order(order):
    frames = v4_frags(size=5000)
    assert len(frames) == 4
    ipf = Ipf()
    pkts = [bytearray(f) for f in frames]
    results = [ipf.process(pkts[i], 0, 0, 0.0) for i in order]
    assert [r.status for r in results[:3]] == [IpfStatus.HELD] * 3
    assert results[3].status is IpfStatus.COMPLETE
    assert bytes(results[3].reassembled) == scapy_defrag_v4(frames)
    assert [bytes(p) for p in results[3].frags] == frames


@pytest.mark.parametrize("hop_by_hop", [False, True])
@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_v6_any_order_is_reassembled_like_scapy(order, hop_by_hop):
    frames = v6_frags(hop_by_hop=hop_by_hop)
    assert len(frames) == 3
    ipf = Ipf()
    results = feed(ipf, [frames[i] for i in order])
    assert [r.status for r in results] == [IpfStatus.HELD, IpfStatus.HELD, IpfStatus.COMPLETE]
    expected = Ether(**MAC) / defragment6([Ether(f)[IPv6] for f in frames])
    assert bytes(results[2].reassembled) == bytes(expected)
    assert [bytes(p) for p in results[2].frags] == frames
    assert ipf.counters(True) == (3, 3, 0, 0, 0, 0)


def test_vlan_tagged_fragments():
    frames = v4_frags(vlan=10)
    results = feed(Ipf(), frames)
    assert results[-1].status is IpfStatus.COMPLETE
    reassembled = Ether(bytes(results[-1].reassembled))
    assert reassembled[Dot1Q].vlan == 10
    assert bytes(results[-1].reassembled) == scapy_defrag_v4(frames)


@pytest.mark.parametrize(
    "frame",
    [
        Ether(**MAC) / IP(src=SRC, dst=DST) / UDP() / Raw(b"x" * 20),
        Ether(**MAC) / IP(src=SRC, dst=DST, flags="DF") / UDP(),
        Ether(**MAC) / IPv6(src=SRC6, dst=DST6) / UDP(),
        Ether(**MAC) / IPv6(src=SRC6, dst=DST6) / IPv6ExtHdrHopByHop() / UDP(),
        # An "atomic" fragment (offset 0, no MF) is no fragment.
        Ether(**MAC) / IPv6(src=SRC6, dst=DST6) / IPv6ExtHdrFragment(m=0, offset=0) / UDP(),
        Ether(**MAC) / ARP(psrc=SRC, pdst=DST),
        Ether(**MAC, type=0x88B5) / Raw(b"x" * 10),
    ],
)
def test_not_fragments(frame):
    assert Ipf().process(bytearray(bytes(frame)), 0, 0, 0.0) is NOT_FRAG


def test_truncated_ip_headers_are_invalid():
    ipf = Ipf()
    short_v4 = bytes(Ether(**MAC, type=0x0800)) + b"\x45" + bytes(10)
    assert ipf.process(bytearray(short_v4), 0, 0, 0.0) is INVALID
    short_v6 = bytes(Ether(**MAC) / IPv6(src=SRC6, dst=DST6, plen=100) / UDP())
    assert ipf.process(bytearray(short_v6), 0, 0, 0.0) is INVALID


def test_bad_checksum_and_length_are_invalid():
    ipf = Ipf()
    first = bytearray(v4_frags()[0])
    bad_csum = bytearray(first)
    bad_csum[14 + 10] ^= 0x01
    assert ipf.process(bad_csum, 0, 0, 0.0) is INVALID
    assert coverage.get("ipf_l3csum_err") == 1
    truncated = first[:-10]  # total length now exceeds the frame
    assert ipf.process(truncated, 0, 0, 0.0) is INVALID
    assert ipf.nfrag == 0
    assert ipf.counters(False) == (0, 0, 0, 0, 0, 0)


def test_ethernet_padding_is_not_part_of_the_fragment():
    frames = v4_frags()
    last = frames[-1] + bytes(6)  # trailing padding after the datagram
    ipf = Ipf()
    results = feed(ipf, [*frames[:-1], last])
    assert results[-1].status is IpfStatus.COMPLETE
    assert bytes(results[-1].reassembled) == scapy_defrag_v4(frames)


def test_duplicate_and_overlapping_fragments_are_invalid():
    frames = v4_frags(size=5000)
    ipf = Ipf()
    assert feed(ipf, frames[:1]) == [HELD]
    assert feed(ipf, frames[:1]) == [INVALID]
    # Starts inside the first fragment's data (bytes 0..1375).
    straddle = v4_frag(1, 1368, b"s" * 1400, True)
    assert feed(ipf, [straddle]) == [INVALID]
    assert ipf.counters(False).overlapped == 2
    # The datagram still completes from the genuine fragments.
    assert feed(ipf, frames[1:])[-1].status is IpfStatus.COMPLETE


def test_a_fragment_covering_a_held_one_is_not_caught():
    # OVS only checks whether the new fragment's first or last byte falls inside a held
    # fragment; one that strictly covers a held fragment is accepted (and the datagram
    # can then never complete).
    ipf = Ipf()
    assert feed(ipf, [v4_frag(5, 1600, b"m" * 8, False)]) == [HELD]
    assert feed(ipf, [v4_frag(5, 1200, b"c" * 1200, True)]) == [HELD]
    assert ipf.counters(False).overlapped == 0
    assert ipf.nfrag == 2


def test_too_small_fragments():
    ipf = Ipf()
    small = v4_frags(size=3000, fragsize=600)
    assert feed(ipf, small[:1]) == [INVALID]
    assert ipf.counters(False).too_small == 1
    # A small last fragment is fine: only non-last ones have a minimum size.
    assert feed(ipf, small[-1:]) == [HELD]
    ipf.set_min_frag(False, 400)
    assert [r.status for r in feed(ipf, small[:-1])][-1] is IpfStatus.COMPLETE
    small6 = v6_frags(size=3000, fragsize=1000)
    assert feed(ipf, small6[:1]) == [INVALID]
    assert ipf.counters(True).too_small == 1
    ipf.set_min_frag(True, 400)
    assert feed(ipf, small6)[-1].status is IpfStatus.COMPLETE


def test_zones_and_passes_are_never_combined():
    frames = v4_frags()
    ipf = Ipf()
    assert feed(ipf, frames[:2], zone=1) == [HELD, HELD]
    assert feed(ipf, frames[2:], zone=2) == [HELD]
    assert feed(ipf, frames[2:], zone=1, recirc_id=5) == [HELD]
    assert ipf.nfrag == 4
    assert feed(ipf, frames[2:], zone=1)[0].status is IpfStatus.COMPLETE
    assert feed(ipf, frames[:2], zone=2)[1].status is IpfStatus.COMPLETE


def test_total_capacity_bypasses_reassembly():
    ipf = Ipf()
    ipf.set_max_nfrags(2)
    assert feed(ipf, [v4_frags(ip_id=1)[0], v4_frags(ip_id=2)[0]]) == [HELD, HELD]
    assert feed(ipf, [v4_frags(ip_id=3)[0]]) == [NOT_FRAG]
    assert ipf.nfrag == 2


def test_per_datagram_fragment_cap():
    # With the default 1200-byte minimum an IPv4 datagram may have ceil(65475/1140) = 58
    # fragments; tiny *last* fragments are exempt from the minimum, so they can fill it.
    ipf = Ipf()
    tiny = [v4_frag(9, 8 * k, b"t" * 8, False) for k in range(1, 60)]
    results = feed(ipf, tiny)
    assert results[:58] == [HELD] * 58
    assert results[58] is NOT_FRAG
    assert ipf.counters(False).accepted == 58


def test_oversized_reassembly_fails_and_bypasses_later_fragments(caplog):
    ipf = Ipf()
    first = v4_frag(11, 0, b"z" * 1480, True)
    # Frame of the first fragment (1514) plus 64040 more bytes exceeds 65535.
    last = v4_frag(11, 1480, b"z" * 64040, False)
    with caplog.at_level(logging.WARNING, logger="pyvswitch.conntrack.ipf"):
        assert feed(ipf, [first, last]) == [HELD, HELD]
    assert "Unsupported big reassembled v4 packet" in caplog.text
    assert "state=reassemble fail" in ipf.format_status(True)
    assert feed(ipf, [v4_frag(11, 1480, b"q" * 1400, True)]) == [NOT_FRAG]
    assert ipf.nfrag == 2


def test_disabled_families_bypass():
    ipf = Ipf()
    ipf.set_enabled(False, False)
    assert feed(ipf, v4_frags()[:1]) == [NOT_FRAG]
    assert feed(ipf, v6_frags()[:1]) == [HELD]
    ipf.set_enabled(True, False)
    assert feed(ipf, v6_frags(ident=2)[:1]) == [NOT_FRAG]
    short_v6 = bytes(Ether(**MAC) / IPv6(src=SRC6, dst=DST6, plen=100) / UDP())
    assert feed(ipf, [short_v6]) == [NOT_FRAG]  # nothing is looked at when both are off


def test_expiry_drops_one_datagram_per_call():
    ipf = Ipf()
    feed(ipf, v4_frags(ip_id=1)[:2], now=0.0)
    feed(ipf, v6_frags(ident=2)[:1], now=1.0)
    ipf.expire(15.0)  # exactly 15 s: not yet
    assert ipf.nfrag == 3
    ipf.expire(16.5)
    assert ipf.nfrag == 1
    assert ipf.counters(False).expired == 2
    assert coverage.get("ipf_stuck_frag_list_expired") == 2
    ipf.expire(16.5)
    assert ipf.nfrag == 0
    assert ipf.counters(True).expired == 1
    # A late fragment starts a new datagram instead of completing the expired one.
    assert feed(ipf, v4_frags(ip_id=1)[2:], now=17.0) == [HELD]


def test_cleaner_purges_stale_datagrams_every_minute():
    ipf = Ipf()
    feed(ipf, v4_frags(ip_id=1)[:1], now=0.0)
    ipf.purge(24.0)  # runs, but the datagram is not 10 s past its expiry yet
    assert ipf.nfrag == 1
    ipf.purge(30.0)  # the cleaner sleeps until 84.0
    assert ipf.nfrag == 1
    ipf.purge(84.0)
    assert ipf.nfrag == 0
    assert ipf.counters(False).purged == 1
    assert coverage.get("ipf_stuck_frag_list_purged") == 1


def test_completing_a_stale_datagram_purges_it():
    frames = v4_frags()
    ipf = Ipf()
    feed(ipf, frames[:2], now=0.0)
    (done,) = feed(ipf, frames[2:], now=25.0)
    assert done.status is IpfStatus.COMPLETE and done.reassembled is not None
    assert done.frags == []
    assert ipf.counters(False) == (3, 0, 0, 0, 0, 3)


@settings(max_examples=300, deadline=None)
@given(
    eth_type=st.sampled_from([b"\x08\x00", b"\x86\xdd", b"\x81\x00"]),
    body=st.binary(max_size=120),
    seed=st.sampled_from([v4_frags()[0][14:80], v6_frags()[1][14:80], b""]),
)
def test_process_never_raises(eth_type, body, seed):
    ipf = Ipf()
    frame = bytearray(bytes(12) + eth_type + seed[: len(body)] + body)
    for zone in range(2):
        result = ipf.process(frame, zone, 0, 0.0)
        assert result.status in (IpfStatus.NOT_FRAG, IpfStatus.HELD, IpfStatus.INVALID)
    ipf.expire(100.0)
    ipf.purge(100.0)
    assert ipf.nfrag == 0
