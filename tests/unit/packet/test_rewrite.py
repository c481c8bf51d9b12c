"""Header rewrites keep every checksum right (verified by scapy recomputing them)."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q, Ether
from scapy.layers.sctp import SCTP, SCTPChunkData

from pyvswitch.packet import rewrite as R

ETH = Ether(src="50:54:00:00:00:01", dst="50:54:00:00:00:02")


def ip4(s: str) -> int:
    return int(ipaddress.IPv4Address(s))


def ip6(s: str) -> int:
    return int(ipaddress.IPv6Address(s))


def rebuilt(pkt: bytes | bytearray) -> bytes:
    """The frame with every checksum recomputed by scapy."""
    p = Ether(bytes(pkt))
    for layer in (IP, TCP, UDP, ICMP, SCTP):
        if layer in p and hasattr(p[layer], "chksum"):
            if layer is UDP and p[UDP].chksum == 0:
                continue
            del p[layer].chksum
    for layer in (ICMPv6EchoRequest, ICMPv6ND_NS):
        if layer in p:
            del p[layer].cksum
    return bytes(p.__class__(bytes(p.build())))


def assert_checksums_ok(pkt: bytearray) -> None:
    assert bytes(pkt) == rebuilt(pkt)


def frame(*layers) -> bytearray:
    p = ETH
    for layer in layers:
        p = p / layer
    return bytearray(bytes(p))


def test_ipv4_addresses_update_ip_and_l4_checksums():
    for l4 in (TCP(sport=1, dport=2, flags="S") / b"data", UDP(sport=1, dport=2) / b"abc",
               ICMP() / b"ping"):
        pkt = frame(IP(src="198.51.100.1", dst="198.51.100.2"), l4)
        l3, _, l4o, proto, frag = R.offsets(pkt)
        assert R.set_ipv4_addr(pkt, l3, l4o, proto, frag, ip4("203.0.113.9"), dst=False)
        assert R.set_ipv4_addr(pkt, l3, l4o, proto, frag, ip4("198.51.100.77"), dst=True)
        p = Ether(bytes(pkt))
        assert (p[IP].src, p[IP].dst) == ("203.0.113.9", "198.51.100.77")
        assert_checksums_ok(pkt)


def test_udp_without_checksum_stays_without():
    pkt = frame(IP(src="198.51.100.1", dst="198.51.100.2"), UDP(sport=1, dport=2, chksum=0))
    l3, _, l4, proto, frag = R.offsets(pkt)
    R.set_ipv4_addr(pkt, l3, l4, proto, frag, ip4("198.51.100.3"), dst=True)
    R.set_tp_port(pkt, l4, proto, 99, dst=True)
    p = Ether(bytes(pkt))
    assert p[UDP].chksum == 0 and p[UDP].dport == 99
    assert_checksums_ok(pkt)


def test_a_wrong_checksum_stays_wrong():
    good = frame(IP(src="198.51.100.1", dst="198.51.100.2"), TCP(sport=1, dport=2))
    bad = bytearray(good)
    bad[50] ^= 0x5A  # the TCP checksum
    for pkt in (good, bad):
        l3, _, l4, proto, frag = R.offsets(pkt)
        R.set_ipv4_addr(pkt, l3, l4, proto, frag, ip4("203.0.113.1"), dst=True)
    assert_checksums_ok(good)
    assert bytes(bad) != rebuilt(bad)


def test_ipv4_tos_and_ttl():
    pkt = frame(IP(src="198.51.100.1", dst="198.51.100.2", tos=0x03, ttl=64), UDP() / b"x")
    l3 = R.offsets(pkt)[0]
    assert R.set_ipv4_tos(pkt, l3, 0xB8 | 0x03) and R.set_ipv4_ttl(pkt, l3, 63)
    p = Ether(bytes(pkt))
    assert (p[IP].tos, p[IP].ttl) == (0xBB, 63)
    assert_checksums_ok(pkt)


def test_later_fragments_have_no_l4_to_touch():
    pkt = frame(IP(src="198.51.100.1", dst="198.51.100.2", frag=100, proto=6), b"\x00" * 40)
    before = bytes(pkt[34:])
    l3, _, l4, proto, frag = R.offsets(pkt)
    assert frag == 3
    R.set_ipv4_addr(pkt, l3, l4, proto, frag, ip4("198.51.100.5"), dst=True)
    assert bytes(pkt[34:]) == before
    assert_checksums_ok(pkt)


def test_ipv6_addresses_and_fields():
    for l4 in (TCP(sport=1, dport=2) / b"data", UDP(sport=1, dport=2) / b"abc",
               ICMPv6EchoRequest(data=b"ping")):
        pkt = frame(IPv6(src="2001:db8::1", dst="2001:db8::2", tc=4, fl=7), l4)
        l3, _, l4o, proto, frag = R.offsets(pkt)
        assert R.set_ipv6_addr(pkt, l3, l4o, proto, frag, ip6("2001:db8:1::9"), dst=False)
        assert R.set_ipv6_addr(pkt, l3, l4o, proto, frag, ip6("2001:db8:2::7"), dst=True)
        assert R.set_ipv6_tc(pkt, l3, 0xB8)
        assert R.set_ipv6_label(pkt, l3, 0x12345)
        assert R.set_ipv6_hlimit(pkt, l3, 7)
        p = Ether(bytes(pkt))[IPv6]
        assert (p.src, p.dst, p.tc, p.fl, p.hlim) == (
            "2001:db8:1::9", "2001:db8:2::7", 0xB8, 0x12345, 7)
        assert_checksums_ok(pkt)


def test_transport_ports():
    for l4 in (TCP(sport=1, dport=2) / b"data", UDP(sport=1, dport=2) / b"abc"):
        pkt = frame(IP(src="198.51.100.1", dst="198.51.100.2"), l4)
        _, _, l4o, proto, _ = R.offsets(pkt)
        assert R.set_tp_port(pkt, l4o, proto, 8080, dst=True)
        assert R.set_tp_port(pkt, l4o, proto, 40000, dst=False)
        p = Ether(bytes(pkt))
        assert (p.sport, p.dport) == (40000, 8080)
        assert_checksums_ok(pkt)


def test_sctp_ports_recompute_crc32c():
    pkt = frame(IP(src="198.51.100.1", dst="198.51.100.2"),
                SCTP(sport=1, dport=2) / SCTPChunkData(data=b"payload"))
    _, _, l4, proto, _ = R.offsets(pkt)
    assert R.set_tp_port(pkt, l4, proto, 3868, dst=True)
    p = Ether(bytes(pkt))
    assert p[SCTP].dport == 3868
    assert_checksums_ok(pkt)


def test_icmp_type_and_code():
    pkt = frame(IP(src="198.51.100.1", dst="198.51.100.2"), ICMP(type=8, code=0) / b"x")
    _, _, l4, _, _ = R.offsets(pkt)
    assert R.set_icmp(pkt, l4, 0, None) and R.set_icmp(pkt, l4, None, 5)
    p = Ether(bytes(pkt))
    assert (p[ICMP].type, p[ICMP].code) == (0, 5)
    assert_checksums_ok(pkt)


def test_arp_fields():
    pkt = frame(ARP(op=1, hwsrc="50:54:00:00:00:01", psrc="198.51.100.1",
                    pdst="198.51.100.2"))
    l3 = R.offsets(pkt)[0]
    assert R.set_arp(pkt, l3, op=2, sha=0x525400000009, spa=ip4("198.51.100.9"),
                     tha=0x50540000000A, tpa=ip4("198.51.100.10"))
    p = Ether(bytes(pkt))[ARP]
    assert (p.op, p.hwsrc, p.psrc, p.hwdst, p.pdst) == (
        2, "52:54:00:00:00:09", "198.51.100.9", "50:54:00:00:00:0a", "198.51.100.10")


def test_nd_target_and_link_layer_options():
    pkt = frame(IPv6(src="2001:db8::1", dst="ff02::1:ff00:2"),
                ICMPv6ND_NS(tgt="2001:db8::2") / ICMPv6NDOptSrcLLAddr(lladdr="50:54:00:00:00:01"))
    _, _, l4, _, _ = R.offsets(pkt)
    assert R.set_nd(pkt, l4, target=ip6("2001:db8::99"), sll=0x525400000042, tll=0x1)
    p = Ether(bytes(pkt))
    assert p[ICMPv6ND_NS].tgt == "2001:db8::99"
    assert p[ICMPv6NDOptSrcLLAddr].lladdr == "52:54:00:00:00:42"
    assert ICMPv6NDOptDstLLAddr not in p  # an absent option is not added
    assert_checksums_ok(pkt)


def test_vlan_push_and_pop():
    inner = frame(IP(src="198.51.100.1", dst="198.51.100.2"), UDP() / b"x")
    pkt = bytearray(inner)
    assert R.push_vlan(pkt, 0x8100, 0x1000 | 3 << 13 | 10)
    assert R.push_vlan(pkt, 0x88A8, 0x1000 | 20)
    p = Ether(bytes(pkt))
    assert p[Dot1AD].vlan == 20 and p[Dot1Q].vlan == 10 and p[Dot1Q].prio == 3
    assert p[Dot1AD].id == 0 and p[Dot1Q].id == 0  # the "present" bit is not DEI
    assert R.pop_vlan(pkt) and R.pop_vlan(pkt)
    assert bytes(pkt) == bytes(inner)
    assert not R.pop_vlan(pkt)


def test_short_frames_are_refused_not_raised():
    for n in range(0, 60):
        pkt = bytearray(frame(IP(src="198.51.100.1", dst="198.51.100.2"), TCP() / b"x")[:n])
        l3, _, l4, proto, frag = R.offsets(pkt)
        R.set_ipv4_addr(pkt, l3, l4, proto, frag, 1, dst=True)
        R.set_tp_port(pkt, l4, proto, 1, dst=True)
        R.set_eth_src(pkt, 1)
        R.set_icmp(pkt, l4, 1, 1)
        R.set_arp(pkt, l3, op=1)
        R.set_nd(pkt, l4, target=1)
        R.pop_vlan(pkt)


@settings(max_examples=60, deadline=None)
@given(src=st.integers(0, 2**32 - 1), dst=st.integers(0, 2**32 - 1),
       sport=st.integers(0, 65535), dport=st.integers(0, 65535),
       tcp=st.booleans(), payload=st.binary(max_size=40))
def test_any_rewrite_keeps_checksums_valid(src, dst, sport, dport, tcp, payload):
    l4 = (TCP(sport=7, dport=9) if tcp else UDP(sport=7, dport=9)) / payload
    pkt = frame(IP(src="198.51.100.1", dst="198.51.100.2"), l4)
    l3, _, l4o, proto, frag = R.offsets(pkt)
    R.set_ipv4_addr(pkt, l3, l4o, proto, frag, src, dst=False)
    R.set_ipv4_addr(pkt, l3, l4o, proto, frag, dst, dst=True)
    R.set_tp_port(pkt, l4o, proto, sport, dst=False)
    R.set_tp_port(pkt, l4o, proto, dport, dst=True)
    assert_checksums_ok(pkt)
