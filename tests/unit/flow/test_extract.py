"""Key extraction from scapy-built frames: every protocol, what each field holds, and
that nothing else is set."""

from __future__ import annotations

from scapy.layers.inet import ICMP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.ipsec import AH
from scapy.layers.l2 import ARP, LLC, SNAP, Dot1AD, Dot1Q, Dot3
from scapy.layers.sctp import SCTP
from scapy.packet import Packet, Raw

from pyvswitch import coverage
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import DEFAULT_MD, extract_headers, flow_extract
from pyvswitch.packet import headers
from tests.unit.packet.samples import (
    ETH,
    IP4,
    IP6,
    MAC_A,
    MAC_B,
    V4_A,
    V4_B,
    V6_A,
    V6_B,
    eth,
    igmp,
    ip4,
    ip6,
    mac,
    nd_opt,
    v4,
    v6,
)

ND6 = {**IP6, "nw_ttl": 255}  # scapy's ND default hop limit


def assert_key(frame: Packet | bytes, **expected: int) -> None:
    """The key has exactly the named slots set to these values, every other header 0."""
    key = flow_extract(bytes(frame))
    assert len(key) == L.N_DP
    got = {L.SLOT_NAMES[i]: v for i, v in enumerate(key) if v and i >= L.N_MD}
    want = {k: v for k, v in expected.items() if v}
    assert got == want


def test_ipv4_udp_tos_ttl():
    assert_key(eth() / ip4(tos=0xB9, ttl=7) / UDP(sport=5353, dport=53),
               **ETH, **{**IP4, "nw_ttl": 7}, nw_tos=0xB9, nw_proto=17, tp_src=5353, tp_dst=53)


def test_ipv4_tcp_flags_all_twelve_bits():
    assert_key(eth() / ip4() / TCP(sport=40000, dport=80, flags="SA"),
               **ETH, **IP4, nw_proto=6, tp_src=40000, tp_dst=80,
               tcp_flags=L.TCP_SYN | L.TCP_ACK)
    assert_key(eth() / ip4() / TCP(sport=1, dport=2, flags=0x1FF, reserved=7),
               **ETH, **IP4, nw_proto=6, tp_src=1, tp_dst=2, tcp_flags=0xFFF)


def test_ipv4_options_and_tcp_options_are_skipped():
    frame = eth() / ip4(options=b"\x94\x04\x00\x00") / TCP(
        sport=7, dport=9, flags="P", options=[("MSS", 1460), ("WScale", 7)])
    assert_key(frame, **ETH, **IP4, nw_proto=6, tp_src=7, tp_dst=9, tcp_flags=L.TCP_PSH)


def test_icmp_igmp_sctp_and_unknown_protocol():
    assert_key(eth() / ip4() / ICMP(type=3, code=13),
               **ETH, **IP4, nw_proto=1, tp_src=3, tp_dst=13)
    assert_key(eth() / ip4(proto=2) / igmp(0x22, 7),
               **ETH, **IP4, nw_proto=2, tp_src=0x22, tp_dst=7)
    assert_key(eth() / ip4() / SCTP(sport=3868, dport=2905),
               **ETH, **IP4, nw_proto=132, tp_src=3868, tp_dst=2905)
    assert_key(eth() / ip4(proto=99) / Raw(b"\x01\x02\x03\x04\x05\x06\x07\x08"),
               **ETH, **IP4, nw_proto=99)


def test_ipv4_fragments():
    pay = Raw(b"12345678")
    assert_key(eth() / ip4(flags="MF") / UDP(sport=1, dport=2) / pay,
               **ETH, **IP4, nw_proto=17, nw_frag=L.FLOW_NW_FRAG_ANY, tp_src=1, tp_dst=2)
    # Later fragments, with or without MF, have no transport fields.
    for flags in ("MF", 0):
        assert_key(eth() / ip4(flags=flags, frag=185, proto=17) / pay,
                   **ETH, **IP4, nw_proto=17,
                   nw_frag=L.FLOW_NW_FRAG_ANY | L.FLOW_NW_FRAG_LATER)
    # DF is not a fragment.
    assert_key(eth() / ip4(flags="DF") / UDP(sport=1, dport=2),
               **ETH, **IP4, nw_proto=17, tp_src=1, tp_dst=2)


def test_ethernet_padding_is_not_transport_payload():
    frame = bytes(eth() / ip4() / UDP(sport=9, dport=10))
    assert_key(frame + b"\xff" * 20, **ETH, **IP4, nw_proto=17, tp_src=9, tp_dst=10)
    # An IPv4 packet claiming 24 bytes ends inside the UDP header: no ports, even
    # though the frame has the bytes.
    short = bytearray(frame + b"\x00" * 10)
    short[16:18] = (24).to_bytes(2, "big")
    assert_key(short, **ETH, **IP4, nw_proto=17)


def test_vlan_single_and_qinq():
    assert_key(eth() / Dot1Q(vlan=100, prio=5) / ip4() / UDP(sport=1, dport=2),
               **ETH, vlan_tpid=0x8100, vlan_tci=0x1000 | 5 << 13 | 100,
               **IP4, nw_proto=17, tp_src=1, tp_dst=2)
    # VID 0 priority 0 still sets the tag-present bit.
    assert_key(eth() / Dot1Q(vlan=0) / ip4(proto=99),
               **ETH, vlan_tpid=0x8100, vlan_tci=0x1000, **IP4, nw_proto=99)
    assert_key(eth() / Dot1AD(vlan=10, prio=1) / Dot1Q(vlan=20, prio=6) / ARP(
        op=2, hwsrc=MAC_A, psrc=V4_A, hwdst=MAC_B, pdst=V4_B),
        **ETH, vlan_tpid=0x88A8, vlan_tci=0x1000 | 1 << 13 | 10,
        vlan2_tpid=0x8100, vlan2_tci=0x1000 | 6 << 13 | 20, eth_type=0x0806,
        nw_src=v4(V4_A), nw_dst=v4(V4_B), nw_proto=2, arp_sha=mac(MAC_A), arp_tha=mac(MAC_B))


def test_third_tag_is_payload():
    assert_key(eth() / Dot1AD(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / ip4() / UDP(),
               **ETH, vlan_tpid=0x88A8, vlan_tci=0x1001, vlan2_tpid=0x8100,
               vlan2_tci=0x1002, eth_type=0x8100)


def test_vlan_limit_one_leaves_the_inner_tag_as_payload():
    """ovs-vswitchd's default ``other_config:vlan-limit`` is 1."""
    frame = eth() / Dot1AD(vlan=10) / Dot1Q(vlan=20) / ip4() / UDP()
    try:
        headers.set_vlan_limit(1)
        assert_key(frame, **ETH, vlan_tpid=0x88A8, vlan_tci=0x100A, eth_type=0x8100)
    finally:
        headers.set_vlan_limit(2)


def test_arp_and_rarp():
    assert_key(eth() / ARP(op=1, hwsrc=MAC_A, psrc=V4_A, pdst=V4_B),
               **ETH, eth_type=0x0806, nw_src=v4(V4_A), nw_dst=v4(V4_B), nw_proto=1,
               arp_sha=mac(MAC_A))
    assert_key(eth(type=0x8035) / ARP(op=4, hwsrc=MAC_B, hwdst=MAC_A, psrc=V4_B, pdst=V4_A),
               **ETH, eth_type=0x8035, nw_src=v4(V4_B), nw_dst=v4(V4_A), nw_proto=4,
               arp_sha=mac(MAC_B), arp_tha=mac(MAC_A))


def test_arp_opcode_over_255_and_non_ethernet_arp():
    assert_key(eth() / ARP(op=0x0101, hwsrc=MAC_A, psrc=V4_A, pdst=V4_B),
               **ETH, eth_type=0x0806, nw_src=v4(V4_A), nw_dst=v4(V4_B), arp_sha=mac(MAC_A))
    assert_key(eth() / ARP(hwtype=6, hwsrc=MAC_A, psrc=V4_A, pdst=V4_B),
               **ETH, eth_type=0x0806)
    assert coverage.get("flow_extract_arp_bad") == 1
    assert_key(eth() / ARP(ptype=0x86DD, plen=4, hwsrc=MAC_A, psrc=V4_A), **ETH,
               eth_type=0x0806)


def test_ipv6_tcp_label_tclass_hlim():
    assert_key(eth() / ip6(tc=0x2E, fl=0x12345, hlim=3) / TCP(sport=443, dport=5, flags="R"),
               **ETH, **{**IP6, "nw_ttl": 3}, nw_tos=0x2E, ipv6_label=0x12345, nw_proto=6,
               tp_src=443, tp_dst=5, tcp_flags=L.TCP_RST)


def test_ipv6_udp_sctp_icmp6():
    assert_key(eth() / ip6() / UDP(sport=546, dport=547),
               **ETH, **IP6, nw_proto=17, tp_src=546, tp_dst=547)
    assert_key(eth() / ip6() / SCTP(sport=9, dport=10),
               **ETH, **IP6, nw_proto=132, tp_src=9, tp_dst=10)
    assert_key(eth() / ip6() / ICMPv6EchoReply(), **ETH, **IP6, nw_proto=58, tp_src=129)


def test_ipv6_extension_header_chain():
    frame = eth() / ip6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(
        addresses=["2001:db8::7", "2001:db8::8"]) / IPv6ExtHdrDestOpt() / AH(
        nh=17, payloadlen=4, icv=b"\x00" * 12) / UDP(sport=22, dport=23)
    assert_key(frame, **ETH, **IP6, nw_proto=17, tp_src=22, tp_dst=23)


def test_ipv6_fragments():
    assert_key(eth() / ip6() / IPv6ExtHdrFragment(offset=0, m=1) / UDP(sport=3, dport=4),
               **ETH, **IP6, nw_proto=17, nw_frag=L.FLOW_NW_FRAG_ANY, tp_src=3, tp_dst=4)
    assert_key(eth() / ip6() / IPv6ExtHdrFragment(offset=10, m=1, nh=17) / Raw(b"x" * 8),
               **ETH, **IP6, nw_proto=44, nw_frag=L.FLOW_NW_FRAG_ANY | L.FLOW_NW_FRAG_LATER)
    # An atomic fragment (offset 0, no M) is not a fragment.
    assert_key(eth() / ip6() / IPv6ExtHdrFragment(offset=0, m=0) / UDP(sport=3, dport=4),
               **ETH, **IP6, nw_proto=17, tp_src=3, tp_dst=4)
    # A fragment after a hop-by-hop header.
    assert_key(eth() / ip6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrFragment(offset=1, nh=6)
               / Raw(b"x" * 8),
               **ETH, **IP6, nw_proto=44, nw_frag=L.FLOW_NW_FRAG_ANY | L.FLOW_NW_FRAG_LATER)


def test_ipv6_extension_header_overrunning_payload_keeps_only_addresses():
    frame = bytearray(bytes(eth() / ip6() / IPv6ExtHdrDestOpt() / UDP(sport=1, dport=2)))
    frame[55] = 5  # the option header now claims 48 bytes
    assert_key(frame, **ETH, eth_type=0x86DD, ipv6_src=v6(V6_A), ipv6_dst=v6(V6_B))
    assert coverage.get("flow_extract_ipv6_ext_bad") == 1


def test_neighbour_solicitation_and_advertisement():
    target = "2001:db8::99"
    assert_key(eth() / ip6() / ICMPv6ND_NS(tgt=target)
               / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:55"),
               **ETH, **ND6, nw_proto=58, tp_src=135, nd_target=v6(target),
               arp_sha=mac("02:00:00:00:00:55"), tcp_flags=1)
    assert_key(eth() / ip6() / ICMPv6ND_NA(tgt=target)
               / ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:66"),
               **ETH, **ND6, nw_proto=58, tp_src=136, nd_target=v6(target),
               arp_tha=mac("02:00:00:00:00:66"), tcp_flags=2)
    # Both options, an unknown option between them: TLL first, so the type is 2.
    both = Raw(nd_opt(2, "02:00:00:00:00:02") + b"\x05\x01" + b"\x00" * 6
               + nd_opt(1, "02:00:00:00:00:01"))
    assert_key(eth() / ip6() / ICMPv6ND_NS(tgt=target) / both,
               **ETH, **ND6, nw_proto=58, tp_src=135, nd_target=v6(target),
               arp_sha=mac("02:00:00:00:00:01"), arp_tha=mac("02:00:00:00:00:02"), tcp_flags=2)
    # No options at all.
    assert_key(eth() / ip6() / ICMPv6ND_NS(tgt=target),
               **ETH, **ND6, nw_proto=58, tp_src=135, nd_target=v6(target))


def test_malformed_nd_options():
    target = "2001:db8::98"
    base = eth() / ip6() / ICMPv6ND_NS(tgt=target)
    common = {**ETH, **IP6, "nw_ttl": 255, "nw_proto": 58, "tp_src": 135}
    # A second SLL makes the packet invalid: target and addresses zero, the type stays.
    assert_key(base / Raw(nd_opt(1, "02:00:00:00:00:01") + nd_opt(1, "02:00:00:00:00:03")),
               **common, tcp_flags=1)
    assert coverage.get("flow_extract_nd_dup_opt") == 1
    # A zero-length option ends the walk, keeping what was found before it.
    assert_key(base / Raw(nd_opt(1, "02:00:00:00:00:01") + b"\x02\x00" + b"\x00" * 6),
               **common, nd_target=v6(target), arp_sha=mac("02:00:00:00:00:01"), tcp_flags=1)
    # An SLL option of 16 bytes is skipped (not an Ethernet address).
    assert_key(base / Raw(b"\x01\x02" + b"\x11" * 14), **common, nd_target=v6(target))
    # An option longer than the packet ends the walk.
    assert_key(base / Raw(b"\x01\x02" + b"\x11" * 6), **common, nd_target=v6(target))
    # Code other than 0 is not ND.
    assert_key(eth() / ip6() / ICMPv6ND_NS(tgt=target, code=1) / ICMPv6NDOptSrcLLAddr(),
               **{**common, "tp_dst": 1})


def test_llc_snap_and_plain_802_3():
    assert_key(Dot3(src=MAC_A, dst=MAC_B) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
               / SNAP(OUI=0, code=0x0800) / ip4() / UDP(sport=1, dport=2),
               **ETH, **IP4, nw_proto=17, tp_src=1, tp_dst=2)
    for tail in (LLC(dsap=0x42, ssap=0x42, ctrl=3) / Raw(b"stp-bpdu"),
                 LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0x00000C, code=0x2000),
                 LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x05FF)):
        assert_key(Dot3(src=MAC_A, dst=MAC_B) / tail, **ETH, eth_type=L.DL_TYPE_NONE)
    # Too short for an LLC/SNAP header.
    assert_key(Dot3(src=MAC_A, dst=MAC_B) / Raw(b"\xaa\xaa\x03"), **ETH,
               eth_type=L.DL_TYPE_NONE)


def test_other_ethertypes_stop_after_ethernet():
    assert_key(eth(type=0x8847) / Raw(b"\x00\x01\x41\x40") / ip4() / UDP(), **ETH,
               eth_type=0x8847)
    assert_key(eth(type=0x88CC) / Raw(b"lldp" * 10), **ETH, eth_type=0x88CC)


def test_l4_is_chosen_by_protocol_number_alone():
    """As OVS: ICMP inside IPv6 and ND inside IPv4 are parsed all the same."""
    assert_key(eth() / ip6(nh=1) / ICMP(type=8, code=0), **ETH, **IP6, nw_proto=1, tp_src=8)
    frame = eth() / ip4(proto=58) / ICMPv6ND_NS(tgt="2001:db8::5") / ICMPv6NDOptSrcLLAddr(
        lladdr=MAC_B)
    assert_key(frame, **ETH, **IP4, nw_proto=58, tp_src=135, nd_target=v6("2001:db8::5"),
               arp_sha=mac(MAC_B), tcp_flags=1)


def test_flow_extract_prepends_metadata():
    frame = bytes(eth() / ip4() / UDP(sport=1, dport=2))
    md = tuple(range(1, L.N_MD + 1))
    key = flow_extract(frame, md)
    assert key[:L.N_MD] == md
    assert key[L.N_MD:] == extract_headers(frame)
    assert flow_extract(frame)[:L.N_MD] == DEFAULT_MD == (0,) * L.N_MD


def test_accepts_bytes_bytearray_memoryview():
    frame = bytes(eth() / Dot1Q(vlan=3) / ip6() / IPv6ExtHdrHopByHop() / TCP())
    assert extract_headers(frame) == extract_headers(bytearray(frame)) == extract_headers(
        memoryview(frame))
