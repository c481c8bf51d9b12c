"""The datapath's compiled fast paths give exactly what the general executor gives.

Megaflows whose actions have a common shape (one output, a flood, ``ct,recirc``) run
without the general executor, and a ``ct,recirc`` entry remembers where the second pass
went for the last verdict.  These tests pin the shortcuts' corner cases and compare
them, packet for packet, with a datapath that runs everything through ``run_actions``.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from pyvswitch import coverage
from pyvswitch.conntrack.tracker import Conntrack
from pyvswitch.dpif import cache
from pyvswitch.dpif.netdev import MAX_RECIRC_DEPTH
from pyvswitch.errors import DpifError
from pyvswitch.flow import layout as L
from pyvswitch.odp import actions as A
from tests.unit.dpif.helpers import FakeConntrack, make_dp, tcp, udp

FIRST = "recirc_id(0),in_port({p}),eth_type(0x0800),ipv4(frag=no)"


def _st(rid, port, flags):
    return (f"ct_state({flags}),recirc_id({rid:#x}),in_port({port}),eth_type(0x0800),"
            "ipv4(frag=no)")


@pytest.mark.parametrize(("actions", "kind"), [
    ((A.Output(2),), cache.KIND_OUTPUT),
    ((A.Output(2), A.Output(3)), cache.KIND_OUTPUTS),
    ((A.Ct(zone=1), A.Recirc(1)), cache.KIND_CT_RECIRC),
    ((A.Ct(zone=1), A.Output(2)), cache.KIND_CT_OUTPUT),
    ((A.Ct(zone=1, helper="nope"), A.Output(2)), cache.KIND_GENERIC),
    ((A.Ct(zone=1), A.Output(2), A.Output(3)), cache.KIND_GENERIC),
    ((A.Output(2), A.Recirc(1)), cache.KIND_GENERIC),
    ((), cache.KIND_GENERIC),
])
def test_action_shapes(actions, kind):
    assert cache.compile_actions(actions)[0] == kind


def test_changed_actions_recompile():
    dp, sp = make_dp()
    sp.add(lambda f: True, FIRST.format(p=1), "2")
    dp.process(1, [udp()], now=1.0)
    dp.revalidate(lambda f: (A.Output(2), A.Output(3)))
    assert [p for p, _, _ in dp.process(1, [udp()], now=2.0)] == [2, 3]
    dp.revalidate(lambda f: (A.Output(3),))
    assert [p for p, _, _ in dp.process(1, [udp()], now=3.0)] == [3]


def test_recirculated_pass_never_modifies_an_earlier_output():
    """``2,recirc(5)`` then a rewrite: port 2 gets the packet as it was."""
    dp, sp = make_dp()
    sp.add(lambda f: f[L.RECIRC_ID] == 0, FIRST.format(p=1), "2,recirc(0x5)")
    sp.add(lambda f: f[L.RECIRC_ID] == 5, "recirc_id(0x5),in_port(1),eth_type(0x0800)",
           "set(eth(dst=50:54:00:00:00:99)),3")
    orig = udp()
    for now in (1.0, 2.0):  # the miss path, then the cached path
        out = dp.process(1, [bytearray(orig)], now=now)
        assert [(p, bytes(b[:6]).hex()) for p, b, _ in out] == [
            (2, bytes(orig[:6]).hex()), (3, "505400000099")]
        assert bytes(out[0][1]) == bytes(orig)


def test_second_pass_follows_the_verdict_not_the_last_one():
    """The entry's memory of the second pass is keyed by the ct verdict."""
    ct = FakeConntrack()
    dp, sp = make_dp(ct)
    sp.add(lambda f: f[L.RECIRC_ID] == 0, FIRST.format(p=1), "ct(zone=1),recirc(0x1)")
    sp.add(lambda f: f[L.CT_STATE] & L.CS_NEW, _st(1, 1, "+new+trk"), "3")
    sp.add(lambda f: f[L.CT_STATE] & L.CS_ESTABLISHED, _st(1, 1, "+est+trk"), "2")
    assert [p for p, _, _ in dp.process(1, [tcp(flags="S")], now=1.0)] == [3]
    assert [p for p, _, _ in dp.process(1, [tcp(flags="S")], now=1.1)] == [3]
    ct.seen.add((1, 0xC6336401, 0xC6336402, 6, 1234, 80))
    assert [p for p, _, _ in dp.process(1, [tcp(flags="S")] * 2, now=1.2)] == [2, 2]
    ct.seen.clear()
    assert [p for p, _, _ in dp.process(1, [tcp(flags="S")], now=1.3)] == [3]
    assert len(sp.misses) == 3
    # A deleted second-pass megaflow is never used again.
    (est,) = [f for f in dp.flow_dump() if f.key[L.CT_STATE] & L.CS_ESTABLISHED]
    dp.flow_del(est.key, est.mask)
    ct.seen.add((1, 0xC6336401, 0xC6336402, 6, 1234, 80))
    assert [p for p, _, _ in dp.process(1, [tcp(flags="S")], now=1.4)] == [2]
    assert len(sp.misses) == 4


def test_ct_recirc_loop_is_bounded():
    dp, sp = make_dp(FakeConntrack())
    sp.add(lambda f: True, FIRST.format(p=1), "ct(zone=1),recirc(0x1)")
    sp.add(lambda f: True, "recirc_id(0x1),in_port(1),eth_type(0x0800)",
           "ct(zone=1),recirc(0x1)")
    for now in (1.0, 2.0):
        before = coverage.get("datapath_drop_recirc_error")
        hit, missed = dp.n_hit, dp.n_missed
        assert dp.process(1, [udp()], now=now) == []
        assert coverage.get("datapath_drop_recirc_error") == before + 1
        assert dp.n_hit + dp.n_missed - hit - missed == 1 + MAX_RECIRC_DEPTH


def test_ct_recirc_with_fragments_held_and_released():
    ct = FakeConntrack()
    dp, sp = make_dp(ct)
    sp.add(lambda f: f[L.RECIRC_ID] == 0, FIRST.format(p=1), "ct(zone=1),recirc(0x1)")
    sp.add(lambda f: f[L.RECIRC_ID] == 1, "recirc_id(0x1),in_port(1),eth_type(0x0800)", "2")
    dp.process(1, [udp()], now=1.0)  # installs both megaflows
    ct.result_packets = []
    assert dp.process(1, [udp()], now=2.0) == []
    frags = [udp(sport=7), udp(sport=8)]
    ct.result_packets = [bytes(f) for f in frags]
    out = dp.process(1, [udp()], now=3.0)
    assert [(p, bytes(b)) for p, b, _ in out] == [(2, bytes(f)) for f in frags]


def test_ct_recirc_with_nat_reextracts_the_key():
    dp, sp = make_dp(Conntrack())
    sp.add(lambda f: f[L.RECIRC_ID] == 0 and f[L.IN_PORT] == 1, FIRST.format(p=1),
           "ct(commit,zone=1,nat(src=203.0.113.7)),recirc(0x1)")
    sp.add(lambda f: f[L.RECIRC_ID] == 1,
           "recirc_id(0x1),in_port(1),eth_type(0x0800),ipv4(src=203.0.113.7)", "2")
    for now in (1.0, 2.0):
        (out,) = dp.process(1, [tcp(flags="S", sport=4000)], now=now)
        assert out[0] == 2 and Ether(bytes(out[1]))[IP].src == "203.0.113.7"
        assert sp.misses[-1].flow[L.NW_SRC] == 0xCB007107
    assert len(sp.misses) == 2


# ------------------------------------------------------------------ differential


def _firewall(sp):
    for port, rid in ((1, 1), (2, 2)):
        sp.add(lambda f, p=port: f[L.RECIRC_ID] == 0 and f[L.IN_PORT] == p,
               FIRST.format(p=port), f"ct(zone=1),recirc({rid:#x})")
    sp.add(lambda f: f[L.RECIRC_ID] == 1 and f[L.CT_STATE] & L.CS_NEW, _st(1, 1, "+new+trk"),
           "ct(commit,zone=1),2")
    sp.add(lambda f: f[L.RECIRC_ID] == 1 and f[L.CT_STATE] & L.CS_ESTABLISHED,
           _st(1, 1, "-new+est+trk"), "2,3")
    sp.add(lambda f: f[L.RECIRC_ID] == 1, _st(1, 1, "-new-est+trk"), "drop")
    sp.add(lambda f: f[L.RECIRC_ID] == 2 and f[L.CT_STATE] & L.CS_ESTABLISHED,
           _st(2, 2, "+est+trk"), "1")
    sp.add(lambda f: f[L.RECIRC_ID] == 2, _st(2, 2, "-est+trk"), "drop")


def _frame(to_outside, sport, flags, seq, ack):
    a, b = "198.51.100.1", "198.51.100.2"
    src, dst, sp_, dp_ = (a, b, sport, 80) if to_outside else (b, a, 80, sport)
    return bytearray(bytes(Ether(src="50:54:00:00:00:01", dst="50:54:00:00:00:02")
                           / IP(src=src, dst=dst)
                           / TCP(sport=sp_, dport=dp_, flags=flags, seq=seq, ack=ack)))


def _run(packets, generic):
    dp, sp = make_dp(Conntrack(seed=1))
    _firewall(sp)
    if generic:
        real = cache.compile_actions
        cache.compile_actions = lambda actions: (cache.KIND_GENERIC, None)
    try:
        outs = []
        for i, (port, frame) in enumerate(packets):
            out = dp.process(port, [bytearray(frame)], now=1.0 + i / 8)
            outs.append([(p, bytes(b)) for p, b, _ in out])
    finally:
        if generic:
            cache.compile_actions = real
    flows = sorted((f.key, f.mask, f.n_packets, f.n_bytes, f.tcp_flags, f.used)
                   for f in dp.flow_dump())
    conns = dp.conntrack.dump_conntrack(None, True, False, now=10.0)
    return outs, flows, conns, dp.format_show(), len(sp.misses)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(1000, 1002),
                          st.sampled_from(["S", "SA", "A", "PA", "FA", "R"]),
                          st.sampled_from([0, 1, 101, 501])), min_size=1, max_size=30))
def test_compiled_paths_match_the_general_executor(steps):
    packets = [(1 if out else 2, _frame(out, sport, flags, seq, seq + 400))
               for out, sport, flags, seq in steps]
    assert _run(packets, generic=False) == _run(packets, generic=True)


# ------------------------------------------------------------------ EMC insertion


def _quick_entries(dp):
    return sum(len(q) for q in dp._quick.values()) + len(dp._emc)


@pytest.mark.parametrize("vlan", [None, 5])  # quick-key cache, full-key EMC
def test_emc_insertion_probability(vlan):
    dp, sp = make_dp()
    sp.add(lambda f: True, "recirc_id(0),in_port(1)", "2")
    dp.process(1, [udp(vlan=vlan)], now=1.0)
    assert dp.emc_insert_inv_prob == 100  # OVS's default
    # A lasting flow gets in within 2N-1 megaflow hits; then it stays.
    for _ in range(199):
        dp.process(1, [udp(vlan=vlan)], now=2.0)
        if _quick_entries(dp):
            break
    assert _quick_entries(dp) == 1
    # Flows seen once mostly stay out.
    dp.process(1, [udp(sport=s, vlan=vlan) for s in range(2000, 3000)], now=3.0)
    assert 2 <= _quick_entries(dp) <= 40
    dp.set_emc_insert_inv_prob(0)
    dp.flow_flush()
    dp.process(1, [udp(vlan=vlan)] * 300, now=4.0)
    assert _quick_entries(dp) == 0 and dp.n_flows() == 1
    dp.set_emc_insert_inv_prob(1)
    dp.process(1, [udp(sport=s, vlan=vlan) for s in range(10)], now=5.0)
    assert _quick_entries(dp) == 10
    # Whatever the caches hold, every packet was forwarded and counted.
    (flow,) = dp.flow_dump()
    assert flow.n_packets == 309


def test_emc_insertion_probability_range():
    dp, _ = make_dp()
    with pytest.raises(DpifError):
        dp.set_emc_insert_inv_prob(-1)


# ------------------------------------------------------------------ offloaded checksums


@pytest.mark.parametrize("actions", [
    "ct(commit,zone=1,nat(src=203.0.113.7:2000)),2",  # ct,output shape
    "ct(commit,zone=1,nat(src=203.0.113.7:2000)),recirc(0x1)",  # ct,recirc shape
    "ct(commit,zone=1,nat(src=203.0.113.7:2000)),set(eth(dst=50:54:00:00:00:09)),2",
])
def test_nat_keeps_an_offloaded_checksum_completable(actions):
    """A frame whose checksum the device completes (virtio-net NEEDS_CSUM) keeps its
    offload info through the datapath and NAT, and completes to a correct checksum; a
    GSO frame's info passes on untouched (forwarded whole)."""
    from pyvswitch.netdev.offload import F_NEEDS_CSUM, GSO_TCPV4, VnetHdr, finish_offload
    from pyvswitch.packet.checksum import csum, pseudo_header_v4
    from tests.unit.conntrack.ctutil import scapy_checksums_ok

    dp, sp = make_dp(Conntrack(seed=1))
    sp.add(lambda f: f[L.RECIRC_ID] == 0, FIRST.format(p=1), actions)
    sp.add(lambda f: f[L.RECIRC_ID] == 1, "recirc_id(0x1),in_port(1),eth_type(0x0800)", "2")
    dp.set_emc_insert_inv_prob(1)
    for i, sport in enumerate((1000, 1000, 1001)):  # the miss path, then the caches
        pkt = tcp(sport=sport, flags="S" if i != 1 else "A", payload=b"x" * 100)
        n = len(pkt) - 34
        start = pseudo_header_v4(bytes(pkt[26:30]), bytes(pkt[30:34]), 6, n)
        pkt[50:52] = csum(b"", start).to_bytes(2, "big")
        gso = i == 2
        info = VnetHdr(F_NEEDS_CSUM, GSO_TCPV4 if gso else 0, 54 if gso else 0,
                       40 if gso else 0, 34, 16)
        (out,) = dp.process(1, [pkt], now=1.0 + i, offloads=[info])
        port, frame, off = out
        assert port == 2 and off is info
        (done,) = finish_offload(bytearray(frame), off) if not gso else (None,)
        if not gso:
            p = Ether(bytes(done))
            assert (p[IP].src, p[TCP].sport) == ("203.0.113.7", 2000)
            assert scapy_checksums_ok(done)
        else:
            assert len(frame) == len(pkt)  # whole, not segmented
            segs = finish_offload(bytearray(frame), off)
            assert len(segs) == 3 and all(scapy_checksums_ok(s) for s in segs)
