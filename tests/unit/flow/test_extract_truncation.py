"""Every cut of common frames: the fields of headers before the cut are right, the fields
of the header the cut falls in and of everything after it are zero.

Each frame is described as stages: (bytes needed, the slots that appear once that many
bytes are there).  Frames are cut with their IP length fields rewritten to the cut, so
a cut reaches the transport and extension headers (a plain cut fails the IP length
check and loses all of L3, which the last test checks).
"""

from __future__ import annotations

from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6ND_NS,
    ICMPv6NDOptSrcLLAddr,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.l2 import ARP, Dot1AD, Dot1Q

from pyvswitch import coverage
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import extract_headers
from tests.unit.packet.samples import (
    ETH,
    IP4,
    IP6,
    MAC_A,
    V4_A,
    V4_B,
    eth,
    fix_ip_lengths,
    ip4,
    ip6,
    mac,
    v4,
    v6,
)

Stages = list[tuple[int, dict[str, int]]]


def expected_at(stages: Stages, n: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for need, fields in stages:
        if n >= need:
            out.update(fields)
    return {k: v for k, v in out.items() if v}


def check_every_cut(frame: bytes, stages: Stages) -> None:
    assert stages[-1][0] <= len(frame)
    for n in range(len(frame) + 1):
        key = extract_headers(fix_ip_lengths(frame[:n]))
        got = {L.SLOT_NAMES[L.N_MD + i]: v for i, v in enumerate(key) if v}
        assert got == expected_at(stages, n), f"cut at {n}"


def test_ipv4_udp_every_cut():
    frame = bytes(eth() / ip4(tos=4) / UDP(sport=1000, dport=2000) / b"data")
    check_every_cut(frame, [
        (14, {**ETH, "eth_type": 0x0800}),
        (34, {**IP4, "nw_proto": 17, "nw_tos": 4}),
        (42, {"tp_src": 1000, "tp_dst": 2000}),
    ])


def test_ipv4_options_tcp_options_every_cut():
    frame = bytes(eth() / ip4(options=b"\x01\x01\x01\x00") / TCP(
        sport=5, dport=6, flags="S", options=[("MSS", 1400), ("SAckOK", b"")]))
    assert len(frame) == 14 + 24 + 28
    check_every_cut(frame, [
        (14, {**ETH, "eth_type": 0x0800}),
        (38, {**IP4, "nw_proto": 6}),
        (66, {"tp_src": 5, "tp_dst": 6, "tcp_flags": L.TCP_SYN}),
    ])


def test_qinq_arp_every_cut():
    frame = bytes(eth() / Dot1AD(vlan=10) / Dot1Q(vlan=20) / ARP(
        op=1, hwsrc=MAC_A, psrc=V4_A, pdst=V4_B))
    check_every_cut(frame, [
        (14, {**ETH, "eth_type": 0x88A8}),
        (18, {"vlan_tpid": 0x88A8, "vlan_tci": 0x100A, "eth_type": 0x8100}),
        (22, {"vlan2_tpid": 0x8100, "vlan2_tci": 0x1014, "eth_type": 0x0806}),
        (50, {"nw_src": v4(V4_A), "nw_dst": v4(V4_B), "nw_proto": 1, "arp_sha": mac(MAC_A)}),
    ])


def test_ipv6_extension_headers_every_cut():
    frame = bytes(eth() / ip6(tc=8) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(
        addresses=["2001:db8::3"]) / IPv6ExtHdrFragment(offset=0, m=1) / TCP(
        sport=80, dport=81, flags="A"))
    l4 = 14 + 40 + 8 + 24 + 8
    check_every_cut(frame, [
        (14, {**ETH, "eth_type": 0x86DD}),
        (54, {"ipv6_src": IP6["ipv6_src"], "ipv6_dst": IP6["ipv6_dst"]}),
        (l4, {"nw_ttl": 64, "nw_proto": 6, "nw_tos": 8, "nw_frag": L.FLOW_NW_FRAG_ANY}),
        (l4 + 20, {"tp_src": 80, "tp_dst": 81, "tcp_flags": L.TCP_ACK}),
    ])


def test_neighbour_solicitation_every_cut():
    frame = bytes(eth() / ip6() / ICMPv6ND_NS(tgt="2001:db8::77") / ICMPv6NDOptSrcLLAddr(
        lladdr="02:00:00:00:00:33"))
    check_every_cut(frame, [
        (14, {**ETH, "eth_type": 0x86DD}),
        (54, {**IP6, "nw_ttl": 255, "nw_proto": 58}),
        (62, {"tp_src": 135}),
        (78, {"nd_target": v6("2001:db8::77")}),
        (86, {"arp_sha": mac("02:00:00:00:00:33"), "tcp_flags": 1}),
    ])


def test_plain_cut_loses_all_of_l3():
    """Without fixing the lengths, any cut into the IP datagram fails its length check."""
    for frame in (bytes(eth() / ip4() / UDP(sport=1, dport=2)),
                  bytes(eth() / Dot1Q(vlan=9) / ip6() / UDP(sport=1, dport=2))):
        full = extract_headers(frame)
        for n in range(len(frame) - 8, len(frame)):
            key = extract_headers(frame[:n])
            assert key[L.ETH_TYPE - L.N_MD] == full[L.ETH_TYPE - L.N_MD]
            assert key[L.NW_SRC - L.N_MD:] == (0,) * (L.N_DP - L.NW_SRC)
    assert coverage.get("flow_extract_ipv4_len_error") == 8
    assert coverage.get("flow_extract_ipv6_len_error") == 8


def test_each_stop_is_counted():
    udp = bytes(eth() / ip4() / UDP(sport=1, dport=2))
    extract_headers(udp[:13])
    extract_headers(udp[:30])
    extract_headers(fix_ip_lengths(udp[:40]))
    assert coverage.get("flow_extract_eth_short") == 1
    assert coverage.get("flow_extract_ipv4_too_short") == 1
    assert coverage.get("flow_extract_udp_short") == 1
    bad_ihl = bytearray(udp)
    bad_ihl[14] = 0x44
    extract_headers(bad_ihl)
    assert coverage.get("flow_extract_ipv4_len_error") == 1
    tcp = bytearray(bytes(eth() / ip4() / TCP()))
    tcp[46] = 0x40  # data offset 4 words: below the minimum
    key = extract_headers(tcp)
    assert key[L.TP_SRC - L.N_MD] == 0 and key[L.NW_PROTO - L.N_MD] == 6
    assert coverage.get("flow_extract_tcp_bad_offset") == 1


def test_more_than_64k_of_padding_fails_the_ip_check():
    """OVS rejects a datagram followed by more than 65535 bytes of padding."""
    for frame in (bytes(eth() / ip4() / UDP(sport=1, dport=2)),
                  bytes(eth() / ip6() / UDP(sport=1, dport=2))):
        ok = extract_headers(frame + b"\x00" * 0xFFFF)
        assert ok[L.TP_SRC - L.N_MD] == 1
        bad = extract_headers(frame + b"\x00" * 0x10000)
        assert bad[L.ETH_TYPE - L.N_MD] == ok[L.ETH_TYPE - L.N_MD]
        assert bad[L.NW_SRC - L.N_MD:] == (0,) * (L.N_DP - L.NW_SRC)
    assert coverage.get("flow_extract_ipv4_len_error") == 1
    assert coverage.get("flow_extract_ipv6_len_error") == 1
