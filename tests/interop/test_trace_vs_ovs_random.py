"""Megaflow soundness against real OVS, with random packets.

For each random packet A we translate it on our side and take the megaflow mask.  A
second packet B keeps every bit the mask covers and randomizes the rest.  Since our
cached megaflow would forward B exactly like A, real OVS must give B the same datapath
actions as it gives A -- and those must be the ones we computed.  A megaflow that is
too wide (a field consulted but not un-wildcarded) shows up as a mismatch.
"""

from __future__ import annotations

import random

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether

from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import DEFAULT_MD, flow_extract
from pyvswitch.odp.format import format_actions
from pyvswitch.ofproto_dpif.trace import format_megaflow
from pyvswitch.ofproto_dpif.upcall import translation_flow
from pyvswitch.ofproto_dpif.xlate import xlate_actions
from pyvswitch.ofproto_dpif.xlate_ctx import XlateIn

from .test_trace_vs_ovs import (
    DEFAULT_PORTS,
    FIREWALL,
    action_effects,
    our_switch,
    passes,
    real_ovs,
)

pytestmark = pytest.mark.interop
__all__ = ["real_ovs"]

PIPELINES = {
    "l3-l4": [
        "priority=100,ip,nw_dst=198.51.100.0/25,tcp,tp_dst=80,actions=output:2",
        "priority=90,ip,nw_src=203.0.113.0/24,actions=mod_nw_tos:8,output:3",
        "priority=80,udp,udp_dst=53,actions=output:2,output:3",
        "priority=70,tcp,tcp_flags=+syn-ack,actions=output:3",
        "priority=60,ip,nw_ttl=1,actions=drop",
        "priority=50,icmp,icmp_type=8,actions=output:2",
        "priority=40,ipv6,ipv6_dst=2001:db8::/64,actions=output:2",
        "priority=30,arp,arp_op=1,actions=output:3",
        "priority=1,actions=drop",
    ],
    "resubmit-regs": [
        "table=0,ip,actions=move:NXM_OF_IP_DST[24..31]->NXM_NX_REG0[0..7],resubmit(,1)",
        "table=0,priority=1,actions=resubmit(,2)",
        "table=1,reg0=198,tcp,actions=resubmit(,2)",
        "table=1,priority=1,actions=dec_ttl,output:3",
        "table=2,dl_dst=50:54:00:00:00:02,actions=output:2",
        "table=2,priority=1,actions=flood",
    ],
    "rewrite": [
        "tcp,tp_src=1000/0xff00,actions=mod_tp_dst:8080,mod_nw_src:203.0.113.1,output:2",
        "udp,actions=mod_dl_dst:50:54:00:00:00:09,mod_vlan_vid:7,output:3",
        "priority=1,actions=output:2",
    ],
    "normal": ["actions=NORMAL"],
    "firewall": FIREWALL,
    "nat-select": [
        "table=0,priority=10,ip,ct_state=-trk,actions=ct(zone=2,nat,table=1)",
        "table=0,priority=5,arp,actions=group:1",
        "table=1,ip,ct_state=+trk+new,tcp,actions=ct(commit,zone=2,"
        "nat(src=203.0.113.1)),output:2",
        "table=1,ip,ct_state=+trk+new,udp,actions=ct(commit,zone=2),group:2",
    ],
}
GROUPS = {
    "nat-select": ["group_id=1,type=all,bucket=output:2,bucket=output:3",
                   "group_id=2,type=select,bucket=output:2,bucket=output:3"],
}

MACS = ["50:54:00:00:00:01", "50:54:00:00:00:02", "50:54:00:00:00:03",
        "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01"]
V4 = ["198.51.100.1", "198.51.100.2", "198.51.100.200", "203.0.113.7", "203.0.113.250"]
V6 = ["2001:db8::1", "2001:db8::2", "2001:db8:1::5"]
PORTS = [80, 53, 1000, 1001, 4000, 8080]


def random_packet(rng: random.Random) -> bytes:
    eth = Ether(src=rng.choice(MACS[:3]), dst=rng.choice(MACS))
    kind = rng.choice(["tcp", "tcp", "udp", "icmp", "arp", "tcp6"])
    if kind == "arp":
        return bytes(eth / ARP(op=rng.choice([1, 2]), psrc=rng.choice(V4),
                               pdst=rng.choice(V4), hwsrc=eth.src))
    if kind == "tcp6":
        return bytes(eth / IPv6(src=rng.choice(V6), dst=rng.choice(V6))
                     / TCP(sport=rng.choice(PORTS), dport=rng.choice(PORTS)))
    ip = IP(src=rng.choice(V4), dst=rng.choice(V4), ttl=rng.choice([1, 64]),
            tos=rng.choice([0, 4]))
    if kind == "tcp":
        l4 = TCP(sport=rng.choice(PORTS), dport=rng.choice(PORTS),
                 flags=rng.choice(["S", "SA", "A", "PA"]))
    elif kind == "udp":
        l4 = UDP(sport=rng.choice(PORTS), dport=rng.choice(PORTS))
    else:
        l4 = ICMP(type=rng.choice([0, 8]))
    return bytes(eth / ip / l4)


def _rand_bits(rng: random.Random, value: int, mask: int, nbits: int) -> int:
    return (value & mask) | (rng.getrandbits(nbits) & ~mask)


def vary(rng: random.Random, pkt: bytes, mask: tuple[int, ...]) -> bytes:
    """A packet agreeing with ``pkt`` on every masked bit, random elsewhere."""
    e = Ether(pkt)
    mac = lambda v: ":".join(f"{(v >> s) & 255:02x}" for s in range(40, -8, -8))  # noqa: E731
    ip4 = lambda v: ".".join(str((v >> s) & 255) for s in (24, 16, 8, 0))  # noqa: E731
    e.src = mac(_rand_bits(rng, int(e.src.replace(":", ""), 16), mask[L.ETH_SRC], 48) & ~(
        1 << 40))
    e.dst = mac(_rand_bits(rng, int(e.dst.replace(":", ""), 16), mask[L.ETH_DST], 48))
    if IP in e:
        ip = e[IP]
        ip.src = ip4(_rand_bits(rng, int.from_bytes(bytes(map(int, ip.src.split("."))), "big"),
                                mask[L.NW_SRC], 32))
        ip.dst = ip4(_rand_bits(rng, int.from_bytes(bytes(map(int, ip.dst.split("."))), "big"),
                                mask[L.NW_DST], 32))
        ip.ttl = _rand_bits(rng, ip.ttl, mask[L.NW_TTL], 8) or 1
        ip.tos = _rand_bits(rng, ip.tos, mask[L.NW_TOS], 8)
        del ip.chksum
        for layer in (TCP, UDP):
            if layer in e:
                lay = e[layer]
                lay.sport = _rand_bits(rng, lay.sport, mask[L.TP_SRC], 16)
                lay.dport = _rand_bits(rng, lay.dport, mask[L.TP_DST], 16)
                del lay.chksum
        if TCP in e:
            e[TCP].flags = _rand_bits(rng, int(e[TCP].flags), mask[L.TCP_FLAGS], 8)
    elif IPv6 in e:
        for layer in (TCP,):
            if layer in e:
                e[layer].sport = _rand_bits(rng, e[layer].sport, mask[L.TP_SRC], 16)
                e[layer].dport = _rand_bits(rng, e[layer].dport, mask[L.TP_DST], 16)
                del e[layer].chksum
    return bytes(e)


def ours_with_megaflow(br, pkt: bytes) -> tuple[str, tuple[int, ...], str]:
    """Our datapath actions, mask and ``Megaflow:`` text for ``pkt`` on port 1."""
    md = list(DEFAULT_MD)
    md[L.IN_PORT] = br.xports[1].dp_port
    key = flow_extract(bytearray(pkt), tuple(md))
    flow = translation_flow(br, key)
    initial = list(flow)
    br.ml.flush()  # as OVS's fdb/flush before each of its traces
    out = xlate_actions(XlateIn(br, flow, 1.0, packet=bytearray(pkt), allow_side_effects=True,
                                for_datapath=True))
    acts = format_actions(out.actions) if out.actions else "drop"
    p = passes(f"Flow: x\nMegaflow: {format_megaflow(initial, out.wc)}\n"
               f"Datapath actions: {acts}\n")[0]
    return p.actions, tuple(out.wc[: L.N_DP]), p.megaflow


def ours(br, pkt: bytes) -> tuple[str, tuple[int, ...]]:
    acts, mask, _ = ours_with_megaflow(br, pkt)
    return acts, mask


def ovs_actions(real_ovs, pkt: bytes) -> str:
    real_ovs.appctl("fdb/flush", "br0")
    return passes(real_ovs.trace("in_port=1", packet=pkt))[0].actions


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_packets_inside_our_megaflow_get_the_same_actions_from_ovs(real_ovs, name):
    flows = PIPELINES[name]
    groups = GROUPS.get(name, [])
    real_ovs.setup(DEFAULT_PORTS, flows, groups, False)
    _sw, br = our_switch(DEFAULT_PORTS, flows, groups)
    rng = random.Random(f"megaflow-{name}")
    for _ in range(20):
        a = random_packet(rng)
        acts, mask = ours(br, a)
        want = action_effects(acts)
        assert action_effects(ovs_actions(real_ovs, a)) == want, (a.hex(), acts)
        b = vary(rng, a, mask)
        got = ovs_actions(real_ovs, b)
        assert action_effects(got) == want, (
            f"packet {b.hex()} differs from {a.hex()} only outside our megaflow, "
            f"yet OVS gives {got!r} and we gave {acts!r}")
