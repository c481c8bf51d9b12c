"""Sample frames for the packet and key-extraction tests, built with scapy.

Every protocol and extension header the extractor handles appears at least once, with
the test address ranges only (198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).
"""

from __future__ import annotations

import ipaddress
import struct

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.ipsec import AH
from scapy.layers.l2 import ARP, LLC, SNAP, Dot1AD, Dot1Q, Dot3, Ether
from scapy.layers.sctp import SCTP
from scapy.packet import Raw

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
V4_A = "198.51.100.1"
V4_B = "203.0.113.2"
V6_A = "2001:db8::1"
V6_B = "2001:db8:0:1::2"


def mac(text: str) -> int:
    return int(text.replace(":", ""), 16)


def v4(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def v6(text: str) -> int:
    return int(ipaddress.IPv6Address(text))


#: the key slots (by name) the helpers below fill in, as extraction should report them
ETH = {"eth_src": mac(MAC_A), "eth_dst": mac(MAC_B)}
IP4 = {"eth_type": 0x0800, "nw_src": v4(V4_A), "nw_dst": v4(V4_B), "nw_ttl": 64}
IP6 = {"eth_type": 0x86DD, "ipv6_src": v6(V6_A), "ipv6_dst": v6(V6_B), "nw_ttl": 64}


def eth(**kw) -> Ether:
    return Ether(src=MAC_A, dst=MAC_B, **kw)


def ip4(**kw) -> IP:
    return IP(src=V4_A, dst=V4_B, **kw)


def ip6(**kw) -> IPv6:
    return IPv6(src=V6_A, dst=V6_B, **kw)


def igmp(type_: int = 0x16, code: int = 100) -> Raw:
    return Raw(bytes([type_, code]) + b"\x00\x00" + bytes([224, 0, 0, 9]))


def nd_opt(type_: int, mac: str) -> bytes:
    return bytes([type_, 1]) + bytes.fromhex(mac.replace(":", ""))


def samples() -> list[tuple[str, bytes]]:
    """(name, frame) pairs covering every header the extractor knows."""
    pay = Raw(b"payload!")
    pkts = {
        "udp": eth() / ip4(tos=0xB9, ttl=7) / UDP(sport=5353, dport=53) / pay,
        "tcp": eth() / ip4() / TCP(sport=40000, dport=80, flags="SA") / pay,
        "tcp_opts": eth() / ip4() / TCP(sport=1, dport=2, flags="PA",
                                       options=[("MSS", 1460), ("NOP", None)]),
        "tcp_all_flags": eth() / ip4() / TCP(flags=0x1FF, reserved=7),
        "ip_opts_udp": eth() / ip4(options=b"\x94\x04\x00\x00") / UDP(sport=7, dport=9),
        "icmp": eth() / ip4() / ICMP(type=3, code=4),
        "igmp": eth() / ip4(proto=2) / igmp(),
        "sctp": eth() / ip4() / SCTP(sport=3868, dport=2905),
        "ip_unknown": eth() / ip4(proto=99) / pay,
        "ip_df": eth() / ip4(flags="DF") / UDP(sport=1, dport=2),
        "frag_first": eth() / ip4(flags="MF", id=7) / UDP(sport=11, dport=12) / pay,
        "frag_later": eth() / ip4(frag=3, id=7, proto=17) / pay,
        "frag_last": eth() / ip4(frag=3, flags=0, id=7, proto=6) / pay,
        "udp_padded": eth() / ip4() / UDP(sport=1, dport=2) / Raw(b"\x00" * 3),
        "vlan": eth() / Dot1Q(vlan=100, prio=5) / ip4() / UDP(sport=1, dport=2),
        "vlan0": eth() / Dot1Q(vlan=0, prio=0) / ip4() / TCP(),
        "qinq": eth() / Dot1AD(vlan=10, prio=1) / Dot1Q(vlan=20, prio=6) / ip4() / TCP(),
        "qinq_8100": eth() / Dot1Q(vlan=1) / Dot1Q(vlan=2) / ip6() / UDP(),
        "three_tags": eth() / Dot1AD(vlan=1) / Dot1Q(vlan=2) / Dot1Q(vlan=3) / ip4() / UDP(),
        "vlan_arp": eth() / Dot1Q(vlan=7) / ARP(op=2, hwsrc=MAC_A, psrc=V4_A, pdst=V4_B,
                                              hwdst=MAC_B),
        "arp": eth() / ARP(op=1, hwsrc=MAC_A, psrc=V4_A, pdst=V4_B),
        "rarp": eth(type=0x8035) / ARP(op=3, hwsrc=MAC_A, hwdst=MAC_B, psrc=V4_A, pdst=V4_B),
        "arp_op_big": eth() / ARP(op=0x1234, hwsrc=MAC_A, psrc=V4_A, pdst=V4_B),
        "arp_hrd6": eth() / ARP(hwtype=6, hwsrc=MAC_A, psrc=V4_A, pdst=V4_B),
        "ipv6_tcp": eth() / ip6(tc=0x2E, fl=0x12345, hlim=3) / TCP(sport=443, dport=5,
                                                                   flags="R"),
        "ipv6_udp": eth() / ip6() / UDP(sport=546, dport=547) / pay,
        "ipv6_sctp": eth() / ip6() / SCTP(sport=9, dport=10),
        "icmp6_echo": eth() / ip6() / ICMPv6EchoRequest(id=1, seq=2),
        "nd_ns_sll": eth() / ip6() / ICMPv6ND_NS(tgt="2001:db8::99")
        / ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:55"),
        "nd_na_tll": eth() / ip6() / ICMPv6ND_NA(tgt="2001:db8::98", R=0, S=1, O=1)
        / ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:66"),
        "nd_ns_both": eth() / ip6() / ICMPv6ND_NS(tgt="2001:db8::97")
        / Raw(nd_opt(2, "02:00:00:00:00:02") + b"\x05\x01" + b"\x00" * 6
              + nd_opt(1, "02:00:00:00:00:01")),
        "nd_dup_sll": eth() / ip6() / ICMPv6ND_NS(tgt="2001:db8::96")
        / Raw(nd_opt(1, "02:00:00:00:00:01") + nd_opt(1, "02:00:00:00:00:03")),
        "nd_zero_len_opt": eth() / ip6() / ICMPv6ND_NS(tgt="2001:db8::95")
        / Raw(nd_opt(1, "02:00:00:00:00:01") + b"\x02\x00" + b"\x00" * 6),
        "nd_long_sll": eth() / ip6() / ICMPv6ND_NA(tgt="2001:db8::94")
        / Raw(b"\x01\x02" + b"\x11" * 14 + nd_opt(2, "02:00:00:00:00:07")),
        "nd_code1": eth() / ip6() / ICMPv6ND_NS(tgt="2001:db8::93", code=1),
        "ipv6_ext_chain": eth() / ip6() / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting(
            addresses=["2001:db8::7"]) / IPv6ExtHdrDestOpt() / AH(nh=6, payloadlen=4,
                                                                  icv=b"\x00" * 12)
        / TCP(sport=22, dport=23, flags="F"),
        "ipv6_frag_first": eth() / ip6() / IPv6ExtHdrFragment(offset=0, m=1, id=5)
        / UDP(sport=31, dport=32) / pay,
        "ipv6_frag_later": eth() / ip6() / IPv6ExtHdrFragment(offset=10, m=0, id=5, nh=17)
        / pay,
        "ipv6_atomic_frag": eth() / ip6() / IPv6ExtHdrFragment(offset=0, m=0, id=5)
        / UDP(sport=33, dport=34),
        "ipv6_unknown": eth() / ip6(nh=99) / pay,
        "llc_snap_ip": Dot3(src=MAC_A, dst=MAC_B) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
        / SNAP(OUI=0, code=0x0800) / ip4() / UDP(sport=1, dport=2),
        "llc_snap_small_type": Dot3(src=MAC_A, dst=MAC_B) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
        / SNAP(OUI=0, code=0x0100) / pay,
        "llc_snap_oui": Dot3(src=MAC_A, dst=MAC_B) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3)
        / SNAP(OUI=0x00000C, code=0x2000) / pay,
        "llc_stp": Dot3(src=MAC_A, dst=MAC_B) / LLC(dsap=0x42, ssap=0x42, ctrl=3) / pay,
        "mpls": eth(type=0x8847) / Raw(b"\x00\x01\x41\x40") / ip4() / UDP(),
    }
    out = [(name, bytes(p)) for name, p in pkts.items()]
    # A short IPv4 packet in a minimum-size frame: the padding is not L4 payload.
    small = bytes(eth() / ip4() / ICMP(type=0, code=0))
    out.append(("icmp_min_frame", small + b"\xee" * (60 - len(small))))
    return out


def fix_ip_lengths(frame: bytes) -> bytes:
    """Rewrite the IPv4 total length / IPv6 payload length to end at the end of ``frame``.

    Cutting a frame normally breaks the IP length check first; with the lengths fixed, a
    cut reaches the transport and extension headers too.
    """
    ofs = 12
    eth_type = struct.unpack_from("!H", frame, ofs)[0] if len(frame) >= 14 else 0
    while eth_type in (0x8100, 0x88A8) and len(frame) >= ofs + 6:
        ofs += 4
        eth_type = struct.unpack_from("!H", frame, ofs)[0]
    ofs += 2
    buf = bytearray(frame)
    if eth_type == 0x0800 and len(buf) >= ofs + 20:
        struct.pack_into("!H", buf, ofs + 2, len(buf) - ofs)
    elif eth_type == 0x86DD and len(buf) >= ofs + 40:
        struct.pack_into("!H", buf, ofs + 4, len(buf) - ofs - 40)
    return bytes(buf)


def truncations(frame: bytes) -> list[bytes]:
    """Every prefix of ``frame``, raw and with the IP length fields fixed up."""
    out = []
    for n in range(len(frame) + 1):
        cut = frame[:n]
        out.append(cut)
        fixed = fix_ip_lengths(cut)
        if fixed != cut:
            out.append(fixed)
    return out
