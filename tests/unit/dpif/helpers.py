"""Test helpers for the datapath: scapy frames, masks from text, a recording slow path,
and a stand-in connection tracker implementing the documented ``execute`` API."""

from __future__ import annotations

from dataclasses import dataclass

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Dot1Q, Ether

from pyvswitch.dpif.netdev import Datapath
from pyvswitch.dpif.provider import Upcall, UpcallKind, UpcallResult
from pyvswitch.flow import layout as L
from pyvswitch.odp.parse import parse_actions, parse_key

MAC1 = "50:54:00:00:00:01"
MAC2 = "50:54:00:00:00:02"


def udp(src="198.51.100.1", dst="198.51.100.2", sport=1234, dport=5678, vlan=None,
        ttl=64, payload=b"x" * 18) -> bytearray:
    eth = Ether(src=MAC1, dst=MAC2)
    if vlan is not None:
        eth = eth / Dot1Q(vlan=vlan)
    return bytearray(bytes(eth / IP(src=src, dst=dst, ttl=ttl) / UDP(sport=sport, dport=dport)
                           / payload))


def tcp(src="198.51.100.1", dst="198.51.100.2", sport=1234, dport=80, flags="S",
        payload=b"") -> bytearray:
    return bytearray(bytes(Ether(src=MAC1, dst=MAC2) / IP(src=src, dst=dst)
                           / TCP(sport=sport, dport=dport, flags=flags) / payload))


def mask_of(text: str) -> tuple[int, ...]:
    """The mask of a dump-flows key text (the key values are ignored)."""
    return parse_key(text)[1]


class SlowPath:
    """An upcall callback answering every miss from a list of (predicate, mask, actions)
    rules, recording every upcall."""

    def __init__(self, rules=None):
        self.rules = list(rules or [])
        self.misses: list[Upcall] = []
        self.actions: list[Upcall] = []

    def add(self, match, mask_text, actions_text, owner=None):
        self.rules.append((match, mask_of(mask_text) if mask_text else None,
                           parse_actions(actions_text), owner))

    def __call__(self, up: Upcall):
        if up.kind is UpcallKind.ACTION:
            self.actions.append(up)
            return None
        # Keep what the slow path saw: the datapath goes on to modify the packet.
        self.misses.append(Upcall(up.kind, bytearray(up.packet), up.flow, up.now, up.cookie))
        for match, mask, actions, owner in self.rules:
            if match(up.flow):
                return UpcallResult(actions, mask, owner)
        return UpcallResult((), None)


def make_dp(conntrack=None, ports=("p1", "p2", "p3")) -> tuple[Datapath, SlowPath]:
    dp = Datapath(conntrack)
    for name in ports:
        dp.port_add(name, "dummy")
    sp = SlowPath()
    dp.register_upcall_cb(sp)
    return dp, sp


@dataclass
class CtResult:
    ct: tuple[int, ...]
    modified: bool = False
    packets: list | None = None


class FakeConntrack:
    """Commits nothing real: answers +trk+new for a connection's first packet and
    +trk+est afterwards, keyed on the 5-tuple per zone, and records every call."""

    def __init__(self):
        self.calls: list[dict] = []
        self.seen: set = set()
        self.result_packets = None

    def execute(self, pkt, flow, *, zone, commit=False, force=False, nat=None, alg=0,
                mark=None, label=None, now, l4_csum_good=False):
        self.calls.append(dict(zone=zone, commit=commit, nat=nat, alg=alg, mark=mark,
                               ct_state=flow[L.CT_STATE], recirc_id=flow[L.RECIRC_ID],
                               now=now, l4_csum_good=l4_csum_good))
        tup = (zone, flow[L.NW_SRC], flow[L.NW_DST], flow[L.NW_PROTO], flow[L.TP_SRC],
               flow[L.TP_DST])
        state = L.CS_TRACKED | (L.CS_ESTABLISHED if tup in self.seen else L.CS_NEW)
        if commit:
            self.seen.add(tup)
        ct = (state, zone, mark[0] if mark else 0, 0, flow[L.NW_PROTO], flow[L.NW_SRC],
              flow[L.NW_DST], 0, 0, flow[L.TP_SRC], flow[L.TP_DST])
        packets, self.result_packets = self.result_packets, None
        return CtResult(ct, False, packets)
