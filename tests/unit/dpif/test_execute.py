"""Datapath actions on packets: conntrack + recirculation, copies, clone, trunc, VLANs."""

from __future__ import annotations

import ipaddress

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether

from pyvswitch import coverage
from pyvswitch.dpif.execute import hash_5tuple
from pyvswitch.dpif.netdev import MAX_RECIRC_DEPTH
from pyvswitch.dpif.provider import UpcallKind
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import flow_extract
from pyvswitch.netdev.offload import F_DATA_VALID, F_NEEDS_CSUM, VnetHdr, finish_offload
from pyvswitch.odp import actions as A
from pyvswitch.odp.parse import parse_actions
from pyvswitch.packet.checksum import csum
from tests.unit.dpif.helpers import FakeConntrack, make_dp, tcp, udp

FIRST_PASS = "recirc_id(0),in_port(1),eth_type(0x0800),ipv4(frag=no)"
NEW = "ct_state(+new+trk),recirc_id(0x1),in_port(1),eth_type(0x0800),ipv4(frag=no)"
EST = "ct_state(-new+est+trk),recirc_id(0x1),in_port(1),eth_type(0x0800),ipv4(frag=no)"


def _firewall(dp, sp):
    sp.add(lambda f: f[L.RECIRC_ID] == 0, FIRST_PASS, "ct(zone=1),recirc(0x1)")
    sp.add(lambda f: f[L.CT_STATE] & L.CS_NEW, NEW, "ct(commit,zone=1),2")
    sp.add(lambda f: f[L.CT_STATE] & L.CS_ESTABLISHED, EST, "2")


def test_conntrack_and_recirculation_build_the_usual_three_megaflows():
    ct = FakeConntrack()
    dp, sp = make_dp(ct)
    _firewall(dp, sp)
    out = dp.process(1, [tcp(flags="S")], now=1.0)
    assert [p for p, _, _ in out] == [2]
    # The second pass saw the verdict and the recirc id in its key.
    second = sp.misses[1].flow
    assert second[L.RECIRC_ID] == 1
    assert second[L.CT_STATE] == L.CS_TRACKED | L.CS_NEW and second[L.CT_ZONE] == 1
    assert [c["commit"] for c in ct.calls] == [False, True]
    # The next packets of the connection never leave the datapath.
    out = dp.process(1, [tcp(flags="A"), tcp(flags="PA", payload=b"hi")], now=2.0)
    assert [p for p, _, _ in out] == [2, 2] and len(sp.misses) == 3
    assert dp.format_flows(now=2.5) == (
        "flow-dump from the main thread:\n"
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no),"
        " packets:2, bytes:110, used:0.500s, flags:P., actions:ct(zone=1),recirc(0x1)\n"
        "ct_state(+new+trk),recirc_id(0x1),in_port(1),packet_type(ns=0,id=0),"
        "eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never,"
        " actions:ct(commit,zone=1),2\n"
        "ct_state(-new+est+trk),recirc_id(0x1),in_port(1),packet_type(ns=0,id=0),"
        "eth_type(0x0800),ipv4(frag=no), packets:1, bytes:56, used:0.500s, flags:P.,"
        " actions:2\n")
    assert "lookups: hit:3 missed:3 lost:0" in dp.format_show()


def test_recirculation_depth_is_bounded():
    dp, sp = make_dp(FakeConntrack())
    sp.add(lambda f: True, FIRST_PASS, "recirc(0x7)")
    sp.add(lambda f: True, "recirc_id(0x7),in_port(1),eth_type(0x0800)", "recirc(0x7)")
    assert dp.process(1, [udp()], now=1.0) == []
    assert coverage.get("datapath_drop_recirc_error") == 1
    # The first pass plus MAX_RECIRC_DEPTH recirculations were looked up.
    assert dp.n_hit + dp.n_missed == 1 + MAX_RECIRC_DEPTH


def test_recirculated_key_reuses_headers_and_follows_rewrites():
    dp, sp = make_dp(FakeConntrack())
    sp.add(lambda f: f[L.RECIRC_ID] == 0, FIRST_PASS,
           "set(ipv4(dst=198.51.100.9)),set(udp(dst=53)),push_vlan(vid=4,pcp=0),recirc(0x2)")
    sp.add(lambda f: True, "recirc_id(0x2),in_port(1),eth_type(0x8100)", "pop_vlan,3")
    (out,) = dp.process(1, [udp()], now=1.0)
    inner = sp.misses[1]
    md = list(inner.flow[: L.N_MD])
    assert inner.flow == flow_extract(bytes(inner.packet), tuple(md))
    assert inner.flow[L.VLAN_TCI] == 0x1004 and inner.flow[L.TP_DST] == 53
    pkt = Ether(bytes(out[1]))
    assert out[0] == 3 and Dot1Q not in pkt
    assert pkt[IP].dst == "198.51.100.9" and pkt[UDP].dport == 53


def test_outputs_share_bytes_until_a_later_modification():
    dp, sp = make_dp()
    sp.add(lambda f: True, FIRST_PASS,
           "2,set(ipv4(dst=198.51.100.7)),3,set(ipv4(ttl=9)),1")
    orig = udp()
    out = dp.process(1, [bytearray(orig)], now=1.0)
    assert [p for p, _, _ in out] == [2, 3, 1]
    assert bytes(out[0][1]) == bytes(orig)
    second, third = IP(bytes(out[1][1])[14:]), IP(bytes(out[2][1])[14:])
    assert (second.dst, second.ttl) == ("198.51.100.7", 64)
    assert (third.dst, third.ttl) == ("198.51.100.7", 9)
    for p in (out[1][1], out[2][1]):
        ip = Ether(bytes(p))[IP]
        assert ip.chksum == IP(bytes(ip.copy().__class__(bytes(ip)))).chksum
        rebuilt = Ether(bytes(p))
        del rebuilt[IP].chksum, rebuilt[UDP].chksum
        assert bytes(Ether(bytes(rebuilt))) == bytes(p)
    # Unmodified fan-out: one object, no copies.
    sp.rules.clear()
    sp.add(lambda f: True, "recirc_id(0),in_port(2),eth_type(0x0800)", "1,3")
    a, b = dp.process(2, [udp()], now=1.0)
    assert a[1] is b[1]


def test_clone_and_trunc():
    dp, sp = make_dp()
    sp.add(lambda f: True, FIRST_PASS,
           "clone(set(ipv4(dst=198.51.100.8)),3),trunc(20),1,2")
    orig = udp()
    out = dp.process(1, [bytearray(orig)], now=1.0)
    assert [(p, len(b)) for p, b, _ in out] == [(3, len(orig)), (1, 20), (2, len(orig))]
    assert IP(bytes(out[0][1])[14:]).dst == "198.51.100.8"
    assert bytes(out[2][1]) == bytes(orig)


def test_userspace_action_calls_back_with_cookie_and_a_copy():
    dp, sp = make_dp()
    cookie = ("controller", 1)
    sp.add(lambda f: True, FIRST_PASS, "2")
    sp.rules[0] = (sp.rules[0][0], sp.rules[0][1],
                   (A.Userspace(cookie, "controller(reason=1)"), A.Output(2)), None)
    pkt = udp()
    out = dp.process(1, [pkt], now=1.0)
    (up,) = sp.actions
    assert up.kind is UpcallKind.ACTION and up.cookie == cookie and up.now == 1.0
    assert bytes(up.packet) == bytes(out[0][1]) and up.packet is not out[0][1]


def test_held_and_released_fragments():
    ct = FakeConntrack()
    dp, sp = make_dp(ct)
    sp.add(lambda f: f[L.RECIRC_ID] == 0, FIRST_PASS, "ct(zone=1),2")
    ct.result_packets = []
    assert dp.process(1, [udp()], now=1.0) == []
    frags = [udp(sport=1), udp(sport=2)]
    ct.result_packets = [bytearray(f) for f in frags]
    out = dp.process(1, [udp()], now=2.0)
    assert [(p, bytes(b)) for p, b, _ in out] == [(2, bytes(f)) for f in frags]


def test_ct_clear_and_hash_and_skb_mark():
    dp, sp = make_dp(FakeConntrack())
    sp.add(lambda f: f[L.RECIRC_ID] == 0, FIRST_PASS,
           "ct(zone=3),ct_clear,hash(sym_l4(0)),set(skb_mark(0x5)),recirc(0x4)")
    sp.add(lambda f: True, "recirc_id(0x4),in_port(1)", "2")
    dp.process(1, [udp()], now=1.0)
    key = sp.misses[1].flow
    assert key[L.CT_STATE] == 0 and key[L.CT_ZONE] == 0
    assert key[L.PKT_MARK] == 5 and key[L.DP_HASH] == hash_5tuple(key, 0, True)
    rev = list(key)
    rev[L.NW_SRC], rev[L.NW_DST] = key[L.NW_DST], key[L.NW_SRC]
    rev[L.TP_SRC], rev[L.TP_DST] = key[L.TP_DST], key[L.TP_SRC]
    assert hash_5tuple(rev, 0, True) == key[L.DP_HASH] != hash_5tuple(rev, 0, False)


def test_set_on_a_missing_header_is_counted_and_skipped():
    dp, sp = make_dp()
    sp.add(lambda f: True, FIRST_PASS, "set(tcp(dst=1)),2")
    pkt = udp()
    (out,) = dp.process(1, [bytearray(pkt)], now=1.0)
    assert bytes(out[1]) == bytes(pkt)
    assert coverage.get("datapath_set_no_header") == 1


def test_parse_actions_text_used_by_tests_is_what_the_executor_gets():
    assert parse_actions("ct(zone=1),recirc(0x1)") == (A.Ct(zone=1), A.Recirc(1))


def _partial_tcp() -> tuple[bytearray, VnetHdr]:
    """A TCP frame as a veth hands it over with offloads on: the checksum field holds
    only the folded pseudo-header sum, the device finishes it."""
    pkt = tcp(flags="PA", payload=b"offloaded payload")
    ip = IP(bytes(pkt)[14:])
    pseudo = (int(ipaddress.IPv4Address(ip.src)) + int(ipaddress.IPv4Address(ip.dst))
              + 6 + len(pkt) - 34)
    pseudo = csum(b"", pseudo)
    pkt[50:52] = pseudo.to_bytes(2, "big")
    return pkt, VnetHdr(F_NEEDS_CSUM, 0, 0, 0, 34, 16)


def test_partial_checksum_frames_stay_finishable_after_rewrites():
    ct = FakeConntrack()
    dp, sp = make_dp(ct)
    sp.add(lambda f: f[L.RECIRC_ID] == 0, FIRST_PASS,
           "ct(zone=1),set(ipv4(src=203.0.113.5,dst=198.51.100.99)),set(tcp(dst=8080)),"
           "push_vlan(vid=7,pcp=0),2")
    pkt, off = _partial_tcp()
    ((port, out, out_off),) = dp.process(1, [pkt], now=1.0, offloads=[off])
    assert ct.calls[0]["l4_csum_good"] is True
    assert out_off.csum_start == 38  # moved with the pushed tag
    (wire,) = finish_offload(bytearray(out), out_off)
    p = Ether(bytes(wire))
    assert (p[IP].src, p[IP].dst, p[TCP].dport) == ("203.0.113.5", "198.51.100.99", 8080)
    del p[IP].chksum, p[TCP].chksum
    assert bytes(Ether(bytes(p))) == bytes(wire)


def test_plain_frames_are_not_vouched_for():
    ct = FakeConntrack()
    dp, sp = make_dp(ct)
    sp.add(lambda f: True, FIRST_PASS, "ct(zone=1),2")
    dp.process(1, [tcp(), tcp()], now=1.0, offloads=[None, VnetHdr(F_DATA_VALID, 0, 0, 0, 0, 0)])
    assert [c["l4_csum_good"] for c in ct.calls] == [False, True]
