"""Property tests: the classifier against a naive linear scan, and megaflow soundness.

The naive model implements the documented tie rule independently: among the matching
rules of the top priority, the winner belongs to the mask group visited first.  Groups
are kept as OVS keeps subtables in its "pvector": a list sorted by the group's highest
priority with a stable sort after every change, a new group appended before sorting, and
an emptied group replaced by the list's last entry before sorting.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.classifier import DEFAULT_PREFIX_SLOTS, Classifier
from pyvswitch.flow import layout as L
from pyvswitch.flow.match import Match, MatchBuilder


class R:
    def __init__(self, match: Match, priority: int, rid: int) -> None:
        self.match = match
        self.priority = priority
        self.rid = rid

    def __repr__(self) -> str:
        return f"R#{self.rid}({self.match}, {self.priority})"


# Small value domains per slot so that rules and packets collide often.
DOMAINS: dict[int, list[int]] = {
    L.IN_PORT: [1, 2, 3],
    L.REG0: [0, 1, 0x10],
    L.ETH_TYPE: [L.ETH_TYPE_IP, L.ETH_TYPE_ARP, L.ETH_TYPE_IPV6],
    L.VLAN_TCI: [0, 0x1005, 0x1006],
    L.NW_SRC: [0xC6336401, 0xC6336402, 0xC6336480, 0xCB007101, 0x0A000001],
    L.NW_DST: [0xC6336401, 0xCB007101, 0xCB0071FF],
    L.IPV6_SRC: [0x20010DB8 << 96, (0x20010DB8 << 96) | 1, (0x20010DB9 << 96) | 7],
    L.NW_PROTO: [1, 6, 17],
    L.TP_SRC: [0, 80, 1024, 65535],
    L.TP_DST: [22, 80, 443, 8080],
    L.TCP_FLAGS: [0, L.TCP_SYN, L.TCP_ACK | L.TCP_PSH],
}


def _mask_choices(slot: int) -> list[int]:
    width = L.SLOT_BITS[slot]
    full = L.SLOT_FULL[slot]
    choices = [full]
    if slot in (L.NW_SRC, L.NW_DST, L.IPV6_SRC):
        choices += [full ^ ((1 << (width - p)) - 1) for p in (1, 5, 8, 24, 25, 31)]
        choices.append(0xFF00FF00 if width == 32 else full >> 64 << 64)
    if slot in (L.TP_SRC, L.TP_DST):
        choices += [0xFF00, 0xFFF0, 0x00FF, 0x8000]
    if slot == L.TCP_FLAGS:
        choices += [L.TCP_SYN, L.TCP_ACK]
    if slot == L.VLAN_TCI:
        choices += [0x1000, 0x0FFF]
    return choices


SLOTS = sorted(DOMAINS)


@st.composite
def matches(draw):
    b = MatchBuilder()
    for slot in draw(st.lists(st.sampled_from(SLOTS), max_size=4, unique=True)):
        value = draw(st.sampled_from(DOMAINS[slot]))
        mask = draw(st.sampled_from(_mask_choices(slot)))
        b.set_slot(slot, value, mask)
    return b.build()


@st.composite
def flows(draw):
    f = list(L.EMPTY_FLOW)
    for slot in SLOTS:
        f[slot] = draw(st.sampled_from(DOMAINS[slot] + [0]))
    return f


# An operation: ("add", match, priority) or ("del", index into live rules).
ops_strategy = st.lists(
    st.one_of(
        st.tuples(st.just("add"), matches(), st.integers(0, 3)),
        st.tuples(st.just("del"), st.integers(0, 1000), st.just(0)),
    ),
    min_size=1,
    max_size=30,
)


class Model:
    """Linear scan with the tie rule spelled out independently of the classifier."""

    def __init__(self) -> None:
        self.rules: list[R] = []
        self.groups: list[list] = []  # [mask, highest priority], in visiting order

    def _group_max(self, mask) -> int | None:
        pris = [r.priority for r in self.rules if r.match.mask == mask]
        return max(pris) if pris else None

    def _regroup(self, mask) -> None:
        new_max = self._group_max(mask)
        idx = next((i for i, g in enumerate(self.groups) if g[0] == mask), None)
        if idx is None:
            self.groups.append([mask, new_max])
        elif new_max is None:
            last = self.groups.pop()
            if idx < len(self.groups):
                self.groups[idx] = last
        else:
            self.groups[idx][1] = new_max
        self.groups.sort(key=lambda g: -g[1])

    def add(self, rule: R) -> R | None:
        for i, r in enumerate(self.rules):
            if r.match == rule.match and r.priority == rule.priority:
                self.rules[i] = rule
                return r
        self.rules.append(rule)
        self._regroup(rule.match.mask)
        return None

    def remove(self, rule: R) -> None:
        self.rules.remove(rule)
        self._regroup(rule.match.mask)

    def lookup(self, f: list[int]) -> R | None:
        hits = [r for r in self.rules if r.match.matches(f)]
        if not hits:
            return None
        top = max(r.priority for r in hits)
        order = [g[0] for g in self.groups]
        return min((r for r in hits if r.priority == top),
                   key=lambda r: order.index(r.match.mask))


def _apply(ops, prefix_slots=()):
    cls = Classifier(prefix_slots)
    model = Model()
    live: list[R] = []
    for n, (op, a, b) in enumerate(ops):
        if op == "add":
            rule = R(a, b, n)
            displaced = cls.replace(rule)
            assert displaced is model.add(rule)
            if displaced is not None:
                live.remove(displaced)
            live.append(rule)
        elif live:
            rule = live.pop(a % len(live))
            assert cls.remove(rule)
            model.remove(rule)
    assert len(cls) == len(model.rules)
    return cls, model


@settings(max_examples=250, deadline=None)
@given(ops=ops_strategy, pkts=st.lists(flows(), min_size=1, max_size=6),
       tries=st.booleans())
def test_same_verdict_as_linear_scan(ops, pkts, tries):
    cls, model = _apply(ops, DEFAULT_PREFIX_SLOTS if tries else ())
    assert sorted(id(r) for r in cls) == sorted(id(r) for r in model.rules)
    for f in pkts:
        expected = model.lookup(f)
        assert cls.lookup(f) is expected
        assert cls.lookup(f, [0] * L.N_FLOW) is expected


@settings(max_examples=250, deadline=None)
@given(ops=ops_strategy, pkts=st.lists(flows(), min_size=1, max_size=4),
       tries=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_megaflow_from_wc_is_sound(ops, pkts, tries, seed):
    """Every flow that agrees with the looked-up flow on the un-wildcarded bits gets
    the same rule."""
    cls, model = _apply(ops, DEFAULT_PREFIX_SLOTS if tries else ())
    rnd = random.Random(seed)
    for f in pkts:
        wc = [0] * L.N_FLOW
        got = cls.lookup(f, wc)
        assert got is model.lookup(f)
        for _ in range(12):
            g = list(f)
            for slot in SLOTS:
                if rnd.random() < 0.5:
                    other = rnd.choice(DOMAINS[slot])
                else:
                    other = rnd.getrandbits(L.SLOT_BITS[slot])
                g[slot] = (f[slot] & wc[slot]) | (other & ~wc[slot] & L.SLOT_FULL[slot])
            assert cls.lookup(g) is got, (f, g, wc)
            assert model.lookup(g) is got


def test_replace_through_many_priorities_keeps_consistent_max():
    cls = Classifier()
    rules = [R(MatchBuilder().build(), p, p) for p in range(10)]
    for r in rules:
        cls.insert(r)
    f = list(L.EMPTY_FLOW)
    for r in reversed(rules):
        assert cls.lookup(f) is r
        cls.remove(r)
    assert cls.lookup(f) is None and cls.n_subtables == 0
