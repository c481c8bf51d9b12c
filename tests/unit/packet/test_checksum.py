"""Checksums: the big-integer shortcut against a word-by-word sum, against scapy, and the
incremental updates against a full recomputation."""

from __future__ import annotations

import ipaddress
import struct

from hypothesis import assume, given
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.sctp import SCTP
from scapy.packet import Raw

from pyvswitch.packet.checksum import (
    checksum,
    crc32c,
    csum,
    csum_replace16,
    csum_replace32,
    csum_replace128,
    csum_replace_bytes,
    l4_checksum_v4,
    l4_checksum_v6,
    sctp_checksum,
)

V4_A, V4_B = "198.51.100.7", "203.0.113.9"
V6_A, V6_B = "2001:db8::7", "2001:db8:ffff::9"
V4_A_INT = int.from_bytes(bytes([198, 51, 100, 7]), "big")
V4_B_INT = int.from_bytes(bytes([203, 0, 113, 9]), "big")


def reference_csum(data: bytes, start: int = 0) -> int:
    """RFC 1071 as written: add 16-bit words, fold the carries back in."""
    if len(data) % 2:
        data += b"\x00"
    total = start
    for (word,) in struct.iter_unpack("!H", data):
        total += word
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


@given(st.binary(max_size=300), st.integers(min_value=0, max_value=0x3FFFF))
def test_csum_equals_word_sum(data, start):
    assert csum(data, start) == reference_csum(data, start)
    assert csum(bytearray(data)) == csum(memoryview(data)) == reference_csum(data)


def test_csum_zero_versus_ffff():
    assert csum(b"") == 0
    assert csum(b"\x00\x00\x00") == 0
    assert csum(b"\xff\xff") == 0xFFFF
    assert csum(b"\xff\xff\xff\xff") == 0xFFFF
    assert csum(b"\x80\x00\x80\x00") == 1  # 0x10000: the carry wraps around
    assert checksum(b"\x00\x00") == 0xFFFF


@given(st.binary(min_size=2, max_size=100).filter(lambda b: len(b) % 2 == 0),
       st.binary(max_size=100))
def test_csum_chains(a, b):
    assert csum(b, csum(a)) == csum(a + b)


def _ip_header_ok(raw: bytes) -> None:
    assert checksum(raw) == 0


def test_ipv4_header_checksum_matches_scapy():
    for pkt in (IP(src=V4_A, dst=V4_B, ttl=3), IP(src=V4_A, dst=V4_B, options=b"\x01" * 4),
                IP(src=V4_B, dst=V4_A, flags="DF", id=0xFFFF, tos=0xFF)):
        raw = bytes(pkt)
        zeroed = raw[:10] + b"\x00\x00" + raw[12:(raw[0] & 15) * 4]
        assert checksum(zeroed) == struct.unpack_from("!H", raw, 10)[0]
        _ip_header_ok(raw[:(raw[0] & 15) * 4])


def _l4_field(raw_l4: bytes, at: int) -> tuple[bytes, int]:
    field = struct.unpack_from("!H", raw_l4, at)[0]
    return raw_l4[:at] + b"\x00\x00" + raw_l4[at + 2:], field


def test_l4_checksums_v4_match_scapy():
    cases = [
        (TCP(sport=1, dport=2, flags="S", seq=99) / Raw(b"abc"), 6, 16),
        (UDP(sport=53, dport=5353) / Raw(b"odd"), 17, 6),
        (UDP(sport=53, dport=5353) / Raw(b"even"), 17, 6),
    ]
    for l4, proto, at in cases:
        raw = bytes(IP(src=V4_A, dst=V4_B) / l4)[20:]
        zeroed, field = _l4_field(raw, at)
        assert l4_checksum_v4(V4_A_INT, V4_B_INT, proto, zeroed) == field
        assert l4_checksum_v4(bytes([198, 51, 100, 7]), bytes([203, 0, 113, 9]), proto,
                              zeroed) == field
        assert l4_checksum_v4(V4_A_INT, V4_B_INT, proto, raw) == 0
    icmp = bytes(ICMP(type=8) / Raw(b"ping"))
    zeroed, field = _l4_field(icmp, 2)
    assert checksum(zeroed) == field


def test_l4_checksums_v6_match_scapy():
    a, b = int(ipaddress.IPv6Address(V6_A)), int(ipaddress.IPv6Address(V6_B))
    cases = [
        (TCP(sport=80, dport=81, flags="A") / Raw(b"data"), 6, 16),
        (UDP(sport=1, dport=2) / Raw(b"x"), 17, 6),
        (ICMPv6EchoRequest(id=3, seq=4, data=b"hello"), 58, 2),
    ]
    for l4, proto, at in cases:
        raw = bytes(IPv6(src=V6_A, dst=V6_B) / l4)[40:]
        zeroed, field = _l4_field(raw, at)
        assert l4_checksum_v6(a, b, proto, zeroed) == field
        assert l4_checksum_v6(a.to_bytes(16, "big"), b.to_bytes(16, "big"), proto, zeroed) == field
        assert l4_checksum_v6(a, b, proto, raw) == 0


words = st.integers(min_value=0, max_value=0xFFFF)


@given(st.lists(words, min_size=2, max_size=40), st.data())
def test_csum_replace16_equals_recompute(ws, data):
    i = data.draw(st.integers(min_value=0, max_value=len(ws) - 1))
    new = data.draw(words)
    after = ws[:i] + [new] + ws[i + 1:]
    # One's complement has two zeros; an all-zero block is the one case the formula
    # (like every incremental update) cannot tell apart, and never a real header.
    assume(any(ws) and any(after))
    before_bytes = struct.pack(f"!{len(ws)}H", *ws)
    after_bytes = struct.pack(f"!{len(after)}H", *after)
    assert csum_replace16(checksum(before_bytes), ws[i], new) == checksum(after_bytes)


@given(st.binary(min_size=4, max_size=60), st.data())
def test_csum_replace32_128_bytes_equal_recompute(prefix, data):
    prefix = prefix[: len(prefix) & ~1]
    old32, new32 = data.draw(st.integers(0, 2**32 - 1)), data.draw(st.integers(0, 2**32 - 1))
    old128 = data.draw(st.integers(0, 2**128 - 1))
    new128 = data.draw(st.integers(0, 2**128 - 1))
    assume(any(prefix))
    before = prefix + old32.to_bytes(4, "big") + old128.to_bytes(16, "big")
    mid = prefix + new32.to_bytes(4, "big") + old128.to_bytes(16, "big")
    after = prefix + new32.to_bytes(4, "big") + new128.to_bytes(16, "big")
    step = csum_replace32(checksum(before), old32, new32)
    assert step == checksum(mid)
    assert csum_replace128(step, old128, new128) == checksum(after)
    assert csum_replace_bytes(checksum(before), before[len(prefix):],
                              after[len(prefix):]) == checksum(after)


def test_incremental_ttl_decrement_on_real_header():
    raw = bytearray(bytes(IP(src=V4_A, dst=V4_B, ttl=64) / UDP()))
    old_word = struct.unpack_from("!H", raw, 8)[0]
    raw[8] -= 1
    new_word = struct.unpack_from("!H", raw, 8)[0]
    fixed = csum_replace16(struct.unpack_from("!H", raw, 10)[0], old_word, new_word)
    struct.pack_into("!H", raw, 10, fixed)
    assert checksum(raw[:20]) == 0
    assert fixed == struct.unpack_from("!H", bytes(IP(src=V4_A, dst=V4_B, ttl=63) / UDP()), 10)[0]


def test_crc32c_check_value_and_sctp_matches_scapy():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"6789", crc32c(b"12345")) == 0xE3069283
    assert crc32c(b"") == 0
    for pkt in (SCTP(sport=1, dport=2, tag=5), SCTP(sport=3868, dport=3868) / Raw(b"\x00" * 16)):
        raw = bytes(pkt)
        zeroed = raw[:8] + b"\x00" * 4 + raw[12:]
        assert sctp_checksum(zeroed) == struct.unpack_from("!I", raw, 8)[0]
