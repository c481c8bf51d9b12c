"""Carrying the tracker's NAT of a reassembled packet back into its fragments."""

import pytest
from scapy.layers.inet import IP, UDP, defragment
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, defragment6
from scapy.layers.l2 import Ether

from pyvswitch.conntrack.ipf import Ipf, IpfStatus
from tests.unit.conntrack.test_ipf import MAC, v4_frags, v6_frags


def complete(frames):
    ipf = Ipf()
    pkts = [bytearray(f) for f in frames]
    res = [ipf.process(p, 0, 0, 0.0) for p in reversed(pkts)][-1]
    assert res.status is IpfStatus.COMPLETE and res.reassembled is not None
    return ipf, res


def ipv4_checksum_ok(frame: bytes) -> bool:
    ip = Ether(frame)[IP]
    fresh = ip.copy()
    del fresh.chksum
    return IP(bytes(fresh)).chksum == ip.chksum


def test_v4_snat_reaches_every_fragment():
    frames = v4_frags(size=5000)
    ipf, res = complete(frames)
    # What the tracker would make of the reassembled packet with SNAT to 203.0.113.5:5000.
    natted = Ether(bytes(res.reassembled))
    natted[IP].src = "203.0.113.5"
    natted[UDP].sport = 5000
    del natted[IP].chksum
    del natted[UDP].chksum
    natted_bytes = bytes(natted)
    ipf.postprocess(res.frags, bytearray(natted_bytes))
    out = [bytes(f) for f in res.frags]
    assert [len(f) for f in out] == [len(f) for f in frames]  # boundaries unchanged
    for f in out:
        assert Ether(f)[IP].src == "203.0.113.5"
        assert Ether(f)[IP].dst == "198.51.100.2"
        assert ipv4_checksum_ok(f)
    assert Ether(out[0])[UDP].sport == 5000
    # The fragments now reassemble into exactly the translated datagram, whose UDP
    # checksum (carried in the first fragment) is valid.
    (whole,) = defragment([Ether(f) for f in out])
    assert bytes(whole) == natted_bytes
    # Later fragments' payload is untouched.
    assert [f[34:] for f in out[1:]] == [f[34:] for f in frames[1:]]


def test_v6_dnat_reaches_every_fragment():
    frames = v6_frags(size=3000)
    ipf, res = complete(frames)
    natted = Ether(bytes(res.reassembled))
    natted[IPv6].dst = "2001:db8::99"
    icmp = natted[IPv6].payload
    del icmp.cksum
    natted_bytes = bytes(natted)
    ipf.postprocess(res.frags, bytearray(natted_bytes))
    out = [bytes(f) for f in res.frags]
    assert [len(f) for f in out] == [len(f) for f in frames]
    for f in out:
        assert Ether(f)[IPv6].dst == "2001:db8::99"
        assert IPv6ExtHdrFragment in Ether(f)
    rebuilt = Ether(**MAC) / defragment6([Ether(f)[IPv6] for f in out])
    assert bytes(rebuilt) == natted_bytes


@pytest.mark.parametrize("make", [v4_frags, v6_frags])
def test_untranslated_packets_leave_fragments_alone(make):
    frames = make()
    ipf, res = complete(frames)
    ipf.postprocess(res.frags, res.reassembled)
    assert [bytes(f) for f in res.frags] == frames


def test_nothing_to_do_without_fragments():
    ipf = Ipf()
    whole = bytearray(v4_frags()[0])
    ipf.postprocess([], whole)  # a purged datagram: no fragments
    assert whole == v4_frags()[0]
