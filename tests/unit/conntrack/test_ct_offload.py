"""NAT and FTP rewrites of frames whose L4 checksum is offloaded.

A frame from a local stack with checksum offload carries, in its checksum field, the
positive pseudo-header sum; the device (or the receiving kernel) completes it over the
L4 bytes from ``csum_start``.  After our rewrites, completing it the way the kernel does
(:func:`pyvswitch.netdev.offload.finish_offload`) must give a correct checksum.
"""

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import raw

from pyvswitch.conntrack import Conntrack
from pyvswitch.flow.ofpacts import NAT_F_DST, NAT_F_SRC, Nat
from pyvswitch.netdev.offload import F_NEEDS_CSUM, VnetHdr, finish_offload
from pyvswitch.packet.checksum import csum, pseudo_header_v4, pseudo_header_v6

from .ctutil import eth, flow_of, ip4, scapy_checksums_ok

OUT_IP = "203.0.113.7"


def partial(pkt_layers, v6=False) -> tuple[bytearray, VnetHdr]:
    """The frame as a stack with checksum offload hands it over: the L4 checksum field
    holds the positive pseudo-header sum."""
    pkt = bytearray(raw(eth() / pkt_layers))
    l3, l4 = 14, 14 + (40 if v6 else 20)
    proto = pkt[l3 + 6] if v6 else pkt[l3 + 9]
    at = l4 + (16 if proto == 6 else 6)
    n = len(pkt) - l4
    if v6:
        start = pseudo_header_v6(bytes(pkt[l3 + 8:l3 + 24]), bytes(pkt[l3 + 24:l3 + 40]),
                                 proto, n)
    else:
        start = pseudo_header_v4(bytes(pkt[l3 + 12:l3 + 16]), bytes(pkt[l3 + 16:l3 + 20]),
                                 proto, n)
    pkt[at:at + 2] = csum(b"", start).to_bytes(2, "big")
    return pkt, VnetHdr(F_NEEDS_CSUM, 0, 0, 0, l4, at - l4)


def finished(pkt: bytearray, info: VnetHdr) -> bytearray:
    (out,) = finish_offload(bytearray(pkt), info)
    return out


CASES = {
    "tcp4": (IP(src="198.51.100.1", dst="198.51.100.2") / TCP(sport=40000, dport=80,
                                                              flags="S") / b"hello", False),
    "udp4": (IP(src="198.51.100.1", dst="198.51.100.2") / UDP(sport=40000, dport=53)
             / b"query", False),
    "tcp6": (IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP(sport=40000, dport=80,
                                                              flags="S") / b"x", True),
    "udp6": (IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=40000, dport=53)
             / b"query", True),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("ports", [False, True], ids=["addr", "addr+port"])
def test_snat_then_reply_keep_an_offloaded_checksum_completable(case, ports):
    layers, v6 = CASES[case]
    ct = Conntrack(seed=3)
    if v6:
        to = int.from_bytes(bytes.fromhex("20010db8000000000000000000000007"), "big")
        nat = Nat(NAT_F_SRC, False, to, to, 2000 if ports else None, 2000 if ports else None)
    else:
        nat = Nat(NAT_F_SRC, False, ip4(OUT_IP), ip4(OUT_IP), 2000 if ports else None,
                  2000 if ports else None)
    pkt, info = partial(layers, v6)
    assert scapy_checksums_ok(finished(pkt, info))  # the starting point is sound
    r = ct.execute(pkt, flow_of(pkt), zone=0, now=1.0, commit=True, nat=nat,
                   l4_csum_good=True, l4_csum_partial=True)
    assert r.modified and r.ct[0] & 0x40
    out = finished(pkt, info)
    assert scapy_checksums_ok(out)
    p = Ether(bytes(out))
    assert (p[IPv6] if v6 else p[IP]).src in (OUT_IP, "2001:db8::7")
    assert p.payload.payload.sport == (2000 if ports else 40000)
    # the reply, offloaded too, is translated back
    src, dst = (p[IPv6].dst, p[IPv6].src) if v6 else (p[IP].dst, p[IP].src)
    l4 = p.payload.payload
    back_l3 = (IPv6 if v6 else IP)(src=src, dst=dst)
    back_l4 = (TCP(sport=l4.dport, dport=l4.sport, flags="SA") if isinstance(l4, TCP)
               else UDP(sport=l4.dport, dport=l4.sport))
    reply, rinfo = partial(back_l3 / back_l4 / b"answer", v6)
    ct.execute(reply, flow_of(reply), zone=0, now=1.0, nat=Nat(), l4_csum_good=True,
               l4_csum_partial=True)
    out = finished(reply, rinfo)
    assert scapy_checksums_ok(out)
    q = Ether(bytes(out))
    assert (q[IPv6] if v6 else q[IP]).dst in ("198.51.100.1", "2001:db8::1")
    assert q.payload.payload.dport == 40000


def test_dnat_port_forward_offloaded():
    ct = Conntrack(seed=3)
    nat = Nat(NAT_F_DST, False, ip4("198.51.100.9"), ip4("198.51.100.9"), 8080, 8080)
    pkt, info = partial(IP(src="203.0.113.5", dst="203.0.113.1") / TCP(sport=5555, dport=80,
                                                                       flags="S"))
    ct.execute(pkt, flow_of(pkt), zone=0, now=1.0, commit=True, nat=nat, l4_csum_good=True,
               l4_csum_partial=True)
    p = Ether(bytes(finished(pkt, info)))
    assert (p[IP].dst, p[TCP].dport) == ("198.51.100.9", 8080)
    assert scapy_checksums_ok(bytes(p))


def test_full_checksums_unchanged_by_the_flag_default():
    """Without the flag a frame with a full checksum stays correct (the usual path)."""
    ct = Conntrack(seed=3)
    pkt = bytearray(raw(eth() / IP(src="198.51.100.1", dst="198.51.100.2")
                        / TCP(sport=1, dport=2, flags="S")))
    ct.execute(pkt, flow_of(pkt), zone=0, now=1.0, commit=True,
               nat=Nat(NAT_F_SRC, False, ip4(OUT_IP), ip4(OUT_IP), 3000, 3000))
    assert scapy_checksums_ok(pkt) and Ether(bytes(pkt))[TCP].sport == 3000


def test_ftp_port_rewrite_of_an_offloaded_segment():
    """The FTP helper changes the payload and its length: the pseudo-header sum it
    leaves must be for the new length."""
    from .ctutil import A, B, run, tcp

    ct = Conntrack(seed=5)
    snat = Nat(NAT_F_SRC, False, ip4("203.0.113.100"), ip4("203.0.113.100"))
    kw = {"commit": True, "alg": 21, "nat": snat}
    run(ct, tcp(A, B, 40000, 21, "S", 1000), **kw)
    run(ct, tcp(B, "203.0.113.100", 21, 40000, "SA", 5000, 1001), commit=True, nat=Nat())
    run(ct, tcp(A, B, 40000, 21, "A", 1001, 5001), **kw)
    port = b"PORT 198,51,100,1,39,16\r\n"
    pkt, info = partial(IP(src=A, dst=B) / TCP(sport=40000, dport=21, flags="PA", seq=1001,
                                               ack=5001) / port)
    r = ct.execute(pkt, flow_of(pkt), zone=0, now=0.0, l4_csum_good=True,
                   l4_csum_partial=True, **kw)
    assert r.modified
    out = finished(pkt, info)
    p = Ether(bytes(out))
    assert bytes(p[TCP].payload) == b"PORT 203,0,113,100,39,16\r\n"
    assert scapy_checksums_ok(out)
