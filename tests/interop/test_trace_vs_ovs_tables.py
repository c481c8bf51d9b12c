"""Random flow tables, random packets: our datapath actions and megaflows (exactly, as
``Megaflow:`` text) against real OVS's, and every packet that our megaflow covers
forwarded as OVS forwards it.

Tables are drawn from a small grammar (matches on ports, addresses, prefixes,
transport ports and TCP flags; actions that output, rewrite, resubmit, learn nothing,
drop) so lookups overlap in the ways that stress un-wildcarding: priorities, prefix
lengths, staged lookups, several tables."""

from __future__ import annotations

import random

import pytest

from .test_trace_vs_ovs import DEFAULT_PORTS, action_effects, our_switch, passes, real_ovs
from .test_trace_vs_ovs_random import ours_with_megaflow, ovs_actions, random_packet, vary

pytestmark = pytest.mark.interop
__all__ = ["real_ovs"]

MATCHES = [
    "", "ip", "tcp", "udp", "icmp", "arp", "ipv6", "in_port=1", "in_port=2",
    "ip,nw_src=198.51.100.0/24", "ip,nw_src=198.51.100.1", "ip,nw_dst=198.51.100.128/25",
    "ip,nw_dst=203.0.113.0/24", "tcp,tp_dst=80", "tcp,tp_src=1000", "tcp,tp_dst=8080",
    "udp,udp_dst=53", "tcp,tcp_flags=+syn-ack", "tcp,tcp_flags=+ack", "ip,nw_ttl=1",
    "dl_dst=ff:ff:ff:ff:ff:ff", "dl_src=50:54:00:00:00:01", "icmp,icmp_type=8",
    "arp,arp_op=1", "ip,nw_tos=4", "ipv6,ipv6_src=2001:db8::/64",
]
ACTIONS = [
    "output:1", "output:2", "output:3", "drop", "output:2,output:3", "in_port",
    "mod_nw_dst:198.51.100.9,output:2", "mod_tp_src:999,output:3",
    "mod_dl_dst:50:54:00:00:00:09,output:1", "dec_ttl,output:2", "mod_vlan_vid:9,output:3",
    "resubmit(,1)", "resubmit(,2)", "resubmit(,1),output:3", "load:0x1->NXM_NX_REG0[],resubmit(,2)",
    "NORMAL", "flood",
]
TABLE1 = ["reg0=1", "tcp", "ip,nw_dst=198.51.100.2", "udp", ""]


def random_table(rng: random.Random) -> list[str]:
    flows = []
    for table in (0, 1, 2):
        for _ in range(rng.randint(2, 6) if table == 0 else rng.randint(0, 4)):
            match = rng.choice(MATCHES if table != 2 else MATCHES + TABLE1)
            acts = rng.choice(ACTIONS)
            if table == 2:
                acts = acts.replace("resubmit(,2)", "output:1").replace(
                    "resubmit(,1)", "output:2")
            prio = rng.randint(1, 5) * 10
            flows.append(f"table={table},priority={prio}" + (f",{match}" if match else "")
                         + f",actions={acts}")
    return flows


@pytest.mark.parametrize("seed", range(12))
def test_random_tables_match_ovs(real_ovs, seed):
    rng = random.Random(f"tables-{seed}")
    flows = random_table(rng)
    real_ovs.setup(DEFAULT_PORTS, flows, [], False)
    _sw, br = our_switch(DEFAULT_PORTS, flows, [])
    for _ in range(6):
        a = random_packet(rng)
        real_ovs.appctl("fdb/flush", "br0")  # each packet meets an empty MAC table
        theirs = real_ovs.trace("in_port=1", packet=a)
        acts, mask, mega = ours_with_megaflow(br, a)
        first = passes(theirs)[0]
        want = action_effects(first.actions)
        assert action_effects(acts) == want, f"{flows}\n{a.hex()}\nOVS:\n{theirs}\nours: {acts}"
        assert mega == first.megaflow, f"{flows}\n{a.hex()}\nOVS:  {first.megaflow}\nours: {mega}"
        b = vary(rng, a, mask)
        assert action_effects(ovs_actions(real_ovs, b)) == want, \
            f"{flows}\npacket {b.hex()} inside the megaflow of {a.hex()}"
