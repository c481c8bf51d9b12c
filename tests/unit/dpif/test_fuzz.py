"""Properties of the packet path: nothing raises, and the quick key is the real key."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch import coverage
from pyvswitch.dpif.provider import UpcallResult
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import flow_extract
from pyvswitch.odp.parse import parse_actions
from tests.unit.dpif.helpers import FakeConntrack, make_dp, mask_of

ACTION_LISTS = [
    "2",
    "set(ipv4(src=198.51.100.9,ttl=3)),set(tcp(dst=1)),set(udp(src=2)),2",
    "set(eth(src=00:00:00:00:00:01)),push_vlan(vid=3,pcp=1),2,pop_vlan,pop_vlan,3",
    "set(ipv6(src=2001:db8::1,label=0x5)),set(icmpv6(type=1)),set(nd(target=2001:db8::2)),2",
    "set(arp(sip=198.51.100.1,op=2)),set(icmp(code=3)),set(sctp(dst=4)),2",
    "ct(commit,zone=1),ct_clear,hash(l4(0)),recirc(0x1)",
    "trunc(10),2,clone(set(ipv4(dst=198.51.100.1)),3),userspace(pid=0)",
]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=120), which=st.integers(0, len(ACTION_LISTS) - 1),
       cached=st.booleans())
def test_random_bytes_never_raise(data, which, cached):
    dp, sp = make_dp(FakeConntrack())
    actions = parse_actions(ACTION_LISTS[which])
    mask = mask_of("eth_type(0x0800)") if cached else None
    dp.register_upcall_cb(lambda up: UpcallResult(actions, mask))
    for _ in range(2):
        out = dp.process(1, [data, bytearray(data)], now=1.0)
        assert all(isinstance(p, bytearray) for _, p, _ in out)
    # Handled where it happens, not by the last-resort catch at the batch boundary.
    assert coverage.get("datapath_drop_exception") == 0


def _ipv4_frame(ihl_ok, tl_delta, frag, proto, doff, n_extra, ttl, tos, ports, flags):
    tl = 20 + (20 if proto == 6 else 8) + n_extra + tl_delta
    ip = struct.pack("!BBHHHBBHII", 0x45 if ihl_ok else 0x46, tos, tl & 0xFFFF, 7, frag,
                     ttl, proto, 0, 0xC6336401, 0xCB007102)
    if proto == 6:
        l4 = struct.pack("!HHIIHHHH", ports[0], ports[1], 1, 2, doff << 12 | flags, 100, 0, 0)
    else:
        l4 = struct.pack("!HHHH", ports[0], ports[1], 8 + n_extra, 0)
    eth = bytes.fromhex("525400000002525400000001") + b"\x08\x00"
    return eth + ip + l4 + bytes(n_extra)


@settings(max_examples=300, deadline=None)
@given(ihl_ok=st.booleans(), tl_delta=st.integers(-30, 4), frag=st.sampled_from(
    [0, 0x4000, 0x2000, 0x0001]), proto=st.sampled_from([6, 17]), doff=st.integers(0, 15),
    n_extra=st.integers(0, 30), ttl=st.integers(0, 255), tos=st.integers(0, 255),
    ports=st.tuples(st.integers(0, 65535), st.integers(0, 65535)),
    flags=st.integers(0, 0xFFF))
def test_key_given_to_the_slow_path_is_flow_extracts(ihl_ok, tl_delta, frag, proto, doff,
                                                     n_extra, ttl, tos, ports, flags):
    pkt = _ipv4_frame(ihl_ok, tl_delta, frag, proto, doff, n_extra, ttl, tos, ports, flags)
    dp, sp = make_dp()
    sp.add(lambda f: True, "eth_type(0x0800),ipv4(src=198.51.100.1)", "2")
    md = [0] * L.N_MD
    md[L.IN_PORT] = 1
    want = flow_extract(pkt, tuple(md))
    dp.process(1, [bytearray(pkt)], now=1.0)
    assert sp.misses[0].flow == want
    # The cached answer is found again for the same bytes (quick cache or not).
    dp.process(1, [bytearray(pkt)], now=1.0)
    dp.process(1, [bytearray(pkt)], now=1.0)
    assert len(sp.misses) == 1
