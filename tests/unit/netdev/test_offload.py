"""Offload metadata and the software fallbacks, checked against scapy's own checksums."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether

from pyvswitch import coverage
from pyvswitch.netdev.offload import (
    F_DATA_VALID,
    F_NEEDS_CSUM,
    GSO_TCPV4,
    GSO_TCPV6,
    GSO_UDP,
    GSO_UDP_L4,
    VNET_HDR,
    VnetHdr,
    finish_offload,
    internet_checksum,
    ones_sum,
    parse_vnet_hdr,
    shift_offload,
)

MAC = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def reference_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


@given(st.binary(max_size=300))
def test_ones_sum_matches_word_by_word(data):
    assert ones_sum(data) == reference_sum(data)


def test_internet_checksum_rfc1071_example():
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert ones_sum(data) == 0xDDF2
    assert internet_checksum(data) == 0x220D


def partial(pkt, l4_proto) -> tuple[bytearray, int, int]:
    """Frame bytes as the kernel hands a CHECKSUM_PARTIAL frame over: the L4 checksum
    field holds the folded pseudo-header sum."""
    raw = bytearray(bytes(pkt))
    l3 = 14 + 4 * pkt.haslayer(Dot1Q)
    if pkt.haslayer(IPv6):
        l4 = l3 + 40
        addrs = ones_sum(raw, l3 + 8, l3 + 40)
    else:
        l4 = l3 + (raw[l3] & 0x0F) * 4
        addrs = ones_sum(raw, l3 + 12, l3 + 20)
    l4_len = len(raw) - l4
    pseudo = addrs + l4_proto + l4_len
    while pseudo > 0xFFFF:
        pseudo = (pseudo & 0xFFFF) + (pseudo >> 16)
    off = 16 if l4_proto == 6 else 6
    struct.pack_into("!H", raw, l4 + off, pseudo)
    return raw, l4, off


@pytest.mark.parametrize(
    "pkt, proto",
    [
        (
            Ether(**MAC)
            / IP(src="198.51.100.1", dst="198.51.100.2")
            / TCP(sport=1, dport=2)
            / (b"a" * 101),
            6,
        ),
        (
            Ether(**MAC)
            / IP(src="198.51.100.1", dst="198.51.100.2")
            / UDP(sport=1, dport=2)
            / (b"b" * 7),
            17,
        ),
        (Ether(**MAC) / IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP() / (b"c" * 33), 6),
        (
            Ether(**MAC) / Dot1Q(vlan=5) / IP(src="203.0.113.1", dst="203.0.113.2") / UDP() / b"d",
            17,
        ),
    ],
)
def test_finish_checksum_like_the_kernel(pkt, proto):
    raw, l4, off = partial(pkt, proto)
    info = VnetHdr(F_NEEDS_CSUM, 0, 0, 0, l4, off)
    out = finish_offload(raw, info)
    assert len(out) == 1 and out[0] is raw
    assert bytes(raw) == bytes(pkt)  # scapy computes the same checksum
    assert coverage.get("netdev_soft_csum") == 1


def test_finish_checksum_bad_offsets_is_counted_not_raised():
    raw = bytearray(60)
    assert finish_offload(raw, VnetHdr(F_NEEDS_CSUM, 0, 0, 0, 100, 16)) == [raw]
    assert coverage.get("netdev_csum_bad_offsets") == 1


def big_tcp(v6: bool, payload: bytes, flags: str = "PA", vlan: bool = False):
    ip = (
        IPv6(src="2001:db8::1", dst="2001:db8::2")
        if v6
        else IP(src="198.51.100.1", dst="198.51.100.2", id=0xFFFE)
    )
    l2 = Ether(**MAC) / Dot1Q(vlan=7) if vlan else Ether(**MAC)
    return l2 / ip / TCP(sport=40000, dport=5001, seq=0xFFFFF000, flags=flags, window=500) / payload


@pytest.mark.parametrize("v6", [False, True])
@pytest.mark.parametrize("vlan", [False, True])
def test_tcp_segmentation(v6, vlan):
    payload = bytes(range(256)) * 20 + b"tail"  # 5124 bytes
    pkt = big_tcp(v6, payload, flags="FPAC", vlan=vlan)
    raw, l4, _ = partial(pkt, 6)
    mss = 1448
    info = VnetHdr(F_NEEDS_CSUM, GSO_TCPV6 if v6 else GSO_TCPV4, l4 + 20, mss, l4, 16)
    segs = finish_offload(raw, info)
    assert len(segs) == 4
    joined = b""
    for i, seg in enumerate(segs):
        p = Ether(bytes(seg))
        tcp = p[TCP]
        assert tcp.seq == (0xFFFFF000 + i * mss) & 0xFFFFFFFF
        flags = str(tcp.flags)
        assert ("F" in flags) == (i == 3) and ("P" in flags) == (i == 3)
        assert ("C" in flags) == (i == 0) and "A" in flags
        body = bytes(tcp.payload)
        assert len(body) == (mss if i < 3 else len(payload) - 3 * mss)
        joined += body
        # every checksum is right: scapy recomputes the same bytes
        if v6:
            del p[IPv6].plen
        else:
            assert p[IP].id == (0xFFFE + i) & 0xFFFF
            del p[IP].chksum, p[IP].len
        del tcp.chksum
        assert bytes(p) == bytes(seg)
    assert joined == payload


def test_udp_l4_segmentation():
    payload = b"x" * 3000
    pkt = (
        Ether(**MAC) / IP(src="198.51.100.1", dst="198.51.100.2") / UDP(sport=7, dport=9) / payload
    )
    raw, l4, _ = partial(pkt, 17)
    segs = finish_offload(raw, VnetHdr(F_NEEDS_CSUM, GSO_UDP_L4, l4 + 8, 1200, l4, 6))
    assert [len(Ether(bytes(s))[UDP].payload) for s in segs] == [1200, 1200, 600]
    for seg in segs:
        p = Ether(bytes(seg))
        del p[UDP].chksum, p[UDP].len, p[IP].chksum, p[IP].len
        assert bytes(p) == bytes(seg)
    assert coverage.get("netdev_soft_gso_segments") == 3


def test_unsupported_or_broken_gso_is_dropped_and_counted():
    pkt = Ether(**MAC) / IP(src="198.51.100.1", dst="198.51.100.2") / UDP() / (b"u" * 3000)
    raw, l4, _ = partial(pkt, 17)
    assert finish_offload(raw, VnetHdr(F_NEEDS_CSUM, GSO_UDP, 0, 1200, l4, 6)) == []
    assert coverage.get("netdev_gso_unsupported") == 1
    assert finish_offload(bytearray(20), VnetHdr(0, GSO_TCPV4, 0, 1000, 34, 16)) == []
    assert coverage.get("netdev_gso_bad_frame") == 1


@settings(max_examples=50, deadline=None)
@given(
    st.binary(min_size=0, max_size=200), st.integers(0, 7), st.integers(1, 80), st.integers(0, 90)
)
def test_finish_offload_never_raises(data, gso, size, start):
    info = VnetHdr(F_NEEDS_CSUM, gso, 0, size, start, 16)
    finish_offload(bytearray(data), info)


def test_parse_and_pack_vnet_header():
    assert parse_vnet_hdr(bytes(10)) is None
    raw = VNET_HDR.pack(F_NEEDS_CSUM | F_DATA_VALID, GSO_TCPV4, 66, 1448, 34, 16)
    info = parse_vnet_hdr(raw)
    assert info == VnetHdr(3, 1, 66, 1448, 34, 16)
    assert info.needs_csum and info.is_gso
    # DATA_VALID is receive-only: not sent back out
    assert VNET_HDR.unpack(info.pack())[0] == F_NEEDS_CSUM
    valid_only = parse_vnet_hdr(VNET_HDR.pack(F_DATA_VALID, 0, 0, 0, 0, 0))
    assert valid_only is not None and not valid_only.needs_csum


def test_shift_offload():
    info = VnetHdr(F_NEEDS_CSUM, GSO_TCPV4, 66, 1448, 34, 16)
    assert shift_offload(info, 4) == VnetHdr(F_NEEDS_CSUM, GSO_TCPV4, 70, 1448, 38, 16)
    assert shift_offload(None, 4) is None
    valid = VnetHdr(F_DATA_VALID, 0, 0, 0, 0, 0)
    assert shift_offload(valid, -4) is valid
