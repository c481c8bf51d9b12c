"""L3/L4 header offsets: against scapy's layer boundaries, and consistent with what key
extraction reports for the same frames."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import (
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.ipsec import AH
from scapy.layers.l2 import ARP, LLC, SNAP, Dot1AD, Dot1Q, Dot3

from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import extract_headers
from pyvswitch.packet import headers
from pyvswitch.packet.headers import ipv6_ext_hdrs, l3_end, l3_offset, l4_offset
from tests.unit.packet.samples import MAC_A, MAC_B, eth, ip4, ip6, samples, truncations


def test_l3_offset_walks_tags_and_snap():
    assert l3_offset(bytes(eth() / ip4())) == (14, 0x0800)
    assert l3_offset(bytes(eth() / Dot1Q(vlan=1) / ip6())) == (18, 0x86DD)
    assert l3_offset(bytes(eth() / Dot1AD(vlan=1) / Dot1Q(vlan=2) / ARP())) == (22, 0x0806)
    # The third tag stays in place as the ethertype.
    assert l3_offset(bytes(eth() / Dot1AD() / Dot1Q() / Dot1Q() / ip4())) == (22, 0x8100)
    snap = Dot3(src=MAC_A, dst=MAC_B) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(
        OUI=0, code=0x86DD) / ip6()
    assert l3_offset(bytes(snap)) == (22, 0x86DD)
    plain = Dot3(src=MAC_A, dst=MAC_B) / LLC(dsap=0x42, ssap=0x42, ctrl=3)
    assert l3_offset(bytes(plain) + b"\x00" * 40) == (14, L.DL_TYPE_NONE)


def test_l3_offset_short_frames():
    assert l3_offset(b"") == (-1, 0)
    assert l3_offset(b"\x00" * 13) == (-1, 0)
    tagged = bytes(eth() / Dot1Q(vlan=5) / ip4())
    assert l3_offset(tagged[:17]) == (14, 0x8100)  # no room for the tag and the next type
    assert l3_offset(tagged[:18]) == (18, 0x0800)


def test_vlan_limit():
    qinq = bytes(eth() / Dot1AD(vlan=1) / Dot1Q(vlan=2) / ip4())
    try:
        headers.set_vlan_limit(1)
        assert headers.get_vlan_limit() == 1
        assert l3_offset(qinq) == (18, 0x8100)
        headers.set_vlan_limit(0)
        assert headers.get_vlan_limit() == 2
        headers.set_vlan_limit(7)
        assert headers.get_vlan_limit() == 2
    finally:
        headers.set_vlan_limit(2)
    assert l3_offset(qinq) == (22, 0x0800)


def test_l4_offset_ipv4():
    frame = bytes(eth() / Dot1Q() / ip4(options=b"\x01" * 8) / TCP())
    l3, eth_type = l3_offset(frame)
    assert l4_offset(frame, l3, eth_type) == (18 + 28, 6, 0)
    assert l3_end(frame, l3, eth_type) == len(frame)
    later = bytes(eth() / ip4(frag=1, proto=17) / (b"x" * 8))
    assert l4_offset(later, 14, 0x0800) == (34, 17, 3)
    assert l4_offset(later[:-1], 14, 0x0800) == (-1, 0, 0)  # total length beyond the frame
    padded = bytes(eth() / ip4() / UDP()) + b"\x00" * 20
    assert l3_end(padded, 14, 0x0800) == len(padded) - 20


def test_l4_offset_ipv6_extension_chain():
    frame = bytes(eth() / ip6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(
        addresses=["2001:db8::1"]) / IPv6ExtHdrDestOpt() / AH(nh=6, payloadlen=4,
                                                           icv=b"\x00" * 12) / TCP())
    assert l4_offset(frame, 14, 0x86DD) == (14 + 40 + 8 + 24 + 8 + 24, 6, 0)
    frag = bytes(eth() / ip6() / IPv6ExtHdrFragment(offset=3, nh=17) / (b"x" * 8))
    assert l4_offset(frag, 14, 0x86DD) == (62, 44, 3)
    assert l4_offset(bytes(eth() / ip4()), 14, 0x86DD) == (-1, 0, 0)
    assert l4_offset(bytes(eth() / ARP()), 14, 0x0806) == (-1, 0, 0)
    assert l4_offset(b"", -1, 0) == (-1, 0, 0)


def test_ipv6_ext_hdrs_bounds():
    hop = bytes(IPv6ExtHdrHopByHop(nh=17))
    assert ipv6_ext_hdrs(hop, 0, 8, 0) == (8, 17, 0)
    assert ipv6_ext_hdrs(hop, 0, 7, 0)[0] == -1
    long_hop = b"\x11\x01" + b"\x00" * 14
    assert ipv6_ext_hdrs(long_hop, 0, 16, 0) == (16, 17, 0)
    assert ipv6_ext_hdrs(long_hop, 0, 15, 0)[0] == -1
    ah = b"\x06\x01" + b"\x00" * 10  # AH length counts 4-byte words, minus 2
    assert ipv6_ext_hdrs(ah, 0, 12, 51) == (12, 6, 0)


def test_offsets_agree_with_extraction():
    """Where extraction found an L4 protocol, l4_offset found the same one."""
    for _, sample in samples():
        for frame in truncations(sample):
            key = extract_headers(frame)
            l3, eth_type = l3_offset(frame)
            if len(frame) >= 14:
                assert eth_type == key[L.ETH_TYPE - L.N_MD]
            ofs, proto, frag = l4_offset(frame, l3, eth_type)
            if ofs >= 0:
                assert (proto, frag) == (key[L.NW_PROTO - L.N_MD], key[L.NW_FRAG - L.N_MD])
                assert l3 < ofs <= l3_end(frame, l3, eth_type)
            elif eth_type in (0x0800, 0x86DD):
                assert key[L.NW_PROTO - L.N_MD] == key[L.NW_TTL - L.N_MD] == 0


@given(st.binary(max_size=120))
def test_offsets_never_raise(data):
    l3, eth_type = l3_offset(data)
    ofs, _, _ = l4_offset(data, l3, eth_type)
    assert -1 <= l3 <= len(data)
    assert -1 <= ofs <= len(data)
    end = l3_end(data, l3, eth_type)
    assert end == -1 or ofs <= end <= len(data)
