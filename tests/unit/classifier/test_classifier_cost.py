"""Tuple-space search cost: a lookup probes each subtable (one hash table per distinct
mask) a bounded number of times, however many rules the subtable holds.  Counted, not
timed: every probe of a subtable's hash tables is recorded."""

from __future__ import annotations

import random

import pytest

from pyvswitch.classifier import DEFAULT_PREFIX_SLOTS, Classifier
from pyvswitch.flow import layout as L
from pyvswitch.flow.match import MatchBuilder

FULL = L.SLOT_FULL
MASKS = [
    [(L.IN_PORT, FULL[L.IN_PORT])],
    [(L.ETH_DST, FULL[L.ETH_DST])],
    [(L.ETH_SRC, FULL[L.ETH_SRC]), (L.IN_PORT, FULL[L.IN_PORT])],
    [(L.ETH_TYPE, 0xFFFF), (L.NW_DST, 0xFFFFFFFF)],
    [(L.ETH_TYPE, 0xFFFF), (L.NW_SRC, 0xFFFFFF00)],
    [(L.ETH_TYPE, 0xFFFF), (L.NW_PROTO, 0xFF), (L.TP_DST, 0xFFFF)],
    [(L.ETH_TYPE, 0xFFFF), (L.NW_PROTO, 0xFF), (L.NW_DST, 0xFFFFFFFF), (L.TP_DST, 0xFFFF)],
    [(L.REG0, 0xFFFFFFFF)],
    [(L.CT_STATE, 0x3F), (L.ETH_TYPE, 0xFFFF), (L.CT_MARK, 0xFFFFFFFF)],
    [(L.VLAN_TCI, 0x1FFF), (L.ETH_DST, FULL[L.ETH_DST])],
]
FIXED = {L.ETH_TYPE: L.ETH_TYPE_IP, L.NW_PROTO: 6, L.CT_STATE: 0x22, L.VLAN_TCI: 0x1005}


class Rule:
    def __init__(self, match, priority):
        self.match = match
        self.priority = priority


class CountingDict(dict):
    probes = 0

    def get(self, key, default=None):
        CountingDict.probes += 1
        return super().get(key, default)

    def __contains__(self, key):
        CountingDict.probes += 1
        return super().__contains__(key)


def low(mask: int) -> int:
    """The lowest bit of a mask: clear in every rule, set in every probing flow, so the
    flows match no rule whatever the random values."""
    return mask & -mask


def build(per_mask: int) -> Classifier:
    """``per_mask`` rules for each mask; every rule of a mask has that mask's priority,
    so both sizes visit their subtables in the same order."""
    rng = random.Random(5)
    cls = Classifier(DEFAULT_PREFIX_SLOTS)
    for i, parts in enumerate(MASKS):
        seen: set[tuple[int, ...]] = set()
        for _ in range(per_mask * 2):  # bounded: random values rarely repeat
            if len(seen) == per_mask:
                break
            values = tuple(FIXED.get(slot, rng.getrandbits(L.SLOT_BITS[slot]) & mask & ~low(mask))
                           for slot, mask in parts)
            if values in seen:
                continue
            seen.add(values)
            b = MatchBuilder()
            for (slot, mask), v in zip(parts, values):
                b.set_slot(slot, v, mask)
            cls.insert(Rule(b.build(), 100 + i))
        assert len(seen) == per_mask
    for st in cls._order:
        st.heads = CountingDict(st.heads)
        st.indices = [CountingDict(d) for d in st.indices]
    return cls


def flows(n: int) -> list[list[int]]:
    rng = random.Random(9)
    out = []
    for _ in range(n):
        f = list(L.EMPTY_FLOW)
        for slot in (L.IN_PORT, L.ETH_SRC, L.ETH_DST, L.NW_SRC, L.NW_DST, L.TP_DST, L.REG0,
                     L.CT_MARK):
            f[slot] = rng.getrandbits(L.SLOT_BITS[slot])
        for parts in MASKS:
            for slot, mask in parts:
                if slot not in FIXED:
                    f[slot] |= low(mask)
        f[L.ETH_TYPE], f[L.NW_PROTO] = L.ETH_TYPE_IP, 6
        out.append(f)
    return out


def probes(cls: Classifier, fs: list[list[int]], with_wc: bool) -> list[int]:
    counts = []
    for f in fs:
        CountingDict.probes = 0
        assert cls.lookup(f, [0] * L.N_FLOW if with_wc else None) is None
        counts.append(CountingDict.probes)
    return counts


@pytest.mark.parametrize("with_wc", [False, True])
def test_lookup_probes_depend_on_masks_not_rules(with_wc):
    small, big = build(10), build(1000)
    assert small.n_subtables == big.n_subtables == len(MASKS)
    assert (len(small), len(big)) == (100, 10_000)
    fs = flows(200)  # they match no rule of either table
    p_small, p_big = probes(small, fs, with_wc), probes(big, fs, with_wc)
    # at most one probe per subtable and lookup stage, a hundred times the rules or not
    bound = sum(st.n_indices + 1 for st in big._order)
    assert max(p_big) <= bound
    # a miss examines every subtable in both; the staged lookup may stop earlier in the
    # small table (fewer distinct prefixes), never later
    assert all(b >= len(MASKS) for b in p_big)
    assert sum(p_big) <= 1.2 * sum(p_small)
