"""Classifier lookup cost: it must grow with the number of distinct masks, not rules.

Builds two classifiers whose rules use the same 10 masks -- one with 100 rules, one with
100,000 -- and times the same lookups (plain, and with un-wildcarding) in both.

    python bench/bench_classifier.py [--rules N] [--lookups N]

Prints both timings per lookup and the ratio big/small (the goal is <= 1.5).
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyvswitch.classifier import DEFAULT_PREFIX_SLOTS, Classifier  # noqa: E402
from pyvswitch.flow import layout as L  # noqa: E402
from pyvswitch.flow.match import MatchBuilder  # noqa: E402


class Rule:
    __slots__ = ("match", "priority")

    def __init__(self, match, priority):
        self.match = match
        self.priority = priority


# Ten masks, typical of OpenFlow pipelines: (slot, mask) lists.
FULL = L.SLOT_FULL
MASKS = [
    [(L.IN_PORT, FULL[L.IN_PORT])],
    [(L.ETH_DST, FULL[L.ETH_DST])],
    [(L.ETH_SRC, FULL[L.ETH_SRC]), (L.IN_PORT, FULL[L.IN_PORT])],
    [(L.ETH_TYPE, 0xFFFF), (L.NW_DST, 0xFFFFFFFF)],
    [(L.ETH_TYPE, 0xFFFF), (L.NW_SRC, 0xFFFFFF00)],
    [(L.ETH_TYPE, 0xFFFF), (L.NW_PROTO, 0xFF), (L.TP_DST, 0xFFFF)],
    [(L.ETH_TYPE, 0xFFFF), (L.NW_PROTO, 0xFF), (L.NW_DST, 0xFFFFFFFF),
     (L.TP_DST, 0xFFFF)],
    [(L.REG0, 0xFFFFFFFF)],
    [(L.CT_STATE, 0x3F), (L.ETH_TYPE, 0xFFFF)],
    [(L.VLAN_TCI, 0x1FFF), (L.ETH_DST, FULL[L.ETH_DST])],
]

FIXED = {L.ETH_TYPE: L.ETH_TYPE_IP, L.NW_PROTO: 6, L.CT_STATE: 0x22, L.VLAN_TCI: 0x1005}


def build(n_rules: int, rnd: random.Random) -> tuple[Classifier, list[Rule]]:
    cls = Classifier(DEFAULT_PREFIX_SLOTS)
    rules = []
    seen = set()
    i = 0
    while len(rules) < n_rules:
        parts = MASKS[i % len(MASKS)]
        i += 1
        b = MatchBuilder()
        for slot, mask in parts:
            v = FIXED.get(slot, rnd.getrandbits(L.SLOT_BITS[slot]))
            b.set_slot(slot, v, mask)
        match = b.build()
        # One priority per mask (as pipelines usually have): the visiting order and
        # the early exits are then the same whatever the number of rules.
        prio = 100 + 10 * (i % len(MASKS))
        if (match, prio) in seen:
            continue
        seen.add((match, prio))
        r = Rule(match, prio)
        cls.insert(r)
        rules.append(r)
    cls.insert(Rule(MatchBuilder().build(), 0))  # table-miss flow
    return cls, rules


def packets(rules: list[Rule], n: int, rnd: random.Random) -> list[tuple[int, ...]]:
    """Half the packets hit some rule (built from its match), half are random."""
    out = []
    for k in range(n):
        f = [rnd.getrandbits(b) for b in L.SLOT_BITS]
        f[L.ETH_TYPE] = L.ETH_TYPE_IP
        f[L.NW_PROTO] = 6
        if k % 2 == 0:
            m = rnd.choice(rules).match
            f = [(fv & ~mk) | v for fv, v, mk in zip(f, m.value, m.mask)]
        out.append(tuple(f))
    return out


def time_lookups(cls: Classifier, pkts, with_wc: bool) -> float:
    """Seconds per lookup for one pass over ``pkts``."""
    lookup = cls.lookup
    t0 = time.perf_counter()
    if with_wc:
        n = L.N_FLOW
        for f in pkts:
            lookup(f, [0] * n)
    else:
        for f in pkts:
            lookup(f)
    return (time.perf_counter() - t0) / len(pkts)


def compare(small, small_rules, big, big_rules, n: int, with_wc: bool,
            rounds: int = 7) -> tuple[float, float]:
    """Best-of-``rounds`` for both tables, measured alternately so that load from
    other processes hits both alike.  Every round uses fresh packets (the same mix
    for both tables), so no per-packet result can be reused from a previous round."""
    ts = tb = float("inf")
    for k in range(rounds):
        ps = packets(small_rules, n, random.Random(100 + k))
        pb = packets(big_rules, n, random.Random(100 + k))
        ts = min(ts, time_lookups(small, ps, with_wc))
        tb = min(tb, time_lookups(big, pb, with_wc))
    return ts, tb


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", type=int, default=100_000)
    ap.add_argument("--small", type=int, default=100)
    ap.add_argument("--lookups", type=int, default=20_000)
    args = ap.parse_args()
    rnd = random.Random(1)
    t0 = time.perf_counter()
    small, small_rules = build(args.small, rnd)
    big, big_rules = build(args.rules, rnd)
    print(f"built {len(small)} and {len(big)} rules ({small.n_subtables} and "
          f"{big.n_subtables} subtables) in {time.perf_counter() - t0:.1f}s")
    # The rules are long-lived, as in a running switch: keep the cyclic GC from
    # rescanning them during the timed loops.
    gc.collect()
    gc.freeze()
    ok = True
    for with_wc in (False, True):
        ts, tb = compare(small, small_rules, big, big_rules, args.lookups, with_wc)
        ratio = tb / ts
        ok &= ratio <= 1.5
        label = "lookup with wc" if with_wc else "lookup        "
        print(f"{label}: {args.small:>7} rules {ts * 1e6:7.2f} us   "
              f"{args.rules:>7} rules {tb * 1e6:7.2f} us   ratio {ratio:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
