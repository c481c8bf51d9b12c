"""Packed matches, and the classifier's queries (loose, strict, overlap) against a linear
scan, with rules whose matches are packed or not."""

from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.classifier import DEFAULT_PREFIX_SLOTS, Classifier
from pyvswitch.classifier.packed import PackedMatch, mask_layout, pack_match
from pyvswitch.flow import layout as L
from pyvswitch.flow.match import Match, MatchBuilder

from .test_classifier_props import R, flows, matches


@settings(max_examples=200, deadline=None)
@given(m=matches())
def test_packed_match_is_the_same_match(m):
    p = pack_match(m)
    assert type(p) is PackedMatch and pack_match(p) is p
    assert p == m and m == p and hash(p) == hash(m)
    assert p.value == m.value and p.mask == m.mask
    assert p.mask is mask_layout(m.mask).mask  # one mask tuple per mask
    assert repr(p) == repr(m) and p.is_catchall() == m.is_catchall()
    assert pickle.loads(pickle.dumps(p)) == m


@settings(max_examples=200, deadline=None)
@given(m=matches(), f=flows())
def test_key_reads_back_every_slot(m, f):
    layout = mask_layout(m.mask)
    key = layout.key(m.value)
    for slot in range(L.N_FLOW):
        assert layout.slot_of_key(key, slot) == m.value[slot]
    # a flow's key is the key of the flow's masked value
    masked = [v & k for v, k in zip(f, m.mask)]
    assert layout.key(f) == layout.key(masked)


def _overlap(a: Match, b: Match) -> bool:
    return all((av ^ bv) & am & bm == 0
               for av, am, bv, bm in zip(a.value, a.mask, b.value, b.mask))


rules_strategy = st.lists(st.tuples(matches(), st.integers(0, 3), st.booleans()),
                          min_size=1, max_size=25)


@settings(max_examples=200, deadline=None)
@given(specs=rules_strategy, queries=st.lists(st.tuples(matches(), st.integers(0, 3)),
                                              min_size=1, max_size=6),
       tries=st.booleans(), drop=st.integers(0, 30))
def test_queries_same_as_linear_scan(specs, queries, tries, drop):
    cls = Classifier(DEFAULT_PREFIX_SLOTS if tries else ())
    live: list[R] = []
    for n, (m, pri, packed) in enumerate(specs):
        rule = R(pack_match(m) if packed else m, pri, n)
        if cls.find_exactly(m, pri) is not None:
            continue
        cls.insert(rule)
        live.append(rule)
    if drop < len(live):  # removal through a packed or plain rule alike
        assert cls.remove(live.pop(drop))
    order = list(cls)
    assert sorted(id(r) for r in order) == sorted(id(r) for r in live)
    for r in live:
        assert r in cls
        assert cls.find_exactly(r.match, r.priority) is r
        assert cls.find_exactly(Match(r.match.value, r.match.mask), r.priority) is r
    for q, pri in queries:
        assert list(cls.iter_loose(q)) == [r for r in order if q.covers(r.match)]
        assert cls.overlaps(q, pri) == any(r.priority == pri and _overlap(q, r.match)
                                           for r in live)
        exact = [r for r in live if r.match == q]
        assert cls.find_match(q) == sorted(exact, key=lambda r: -r.priority)


def test_requeue_and_replace_keep_order_semantics():
    cls = Classifier()
    b = MatchBuilder()
    b.set_slot(L.IN_PORT, 1, 0xFFFF)
    m1 = b.build()
    b.set_slot(L.IN_PORT, 2, 0xFFFF)
    m2 = b.build()
    r1, r2, r3 = R(m1, 5, 1), R(pack_match(m2), 5, 2), R(m1, 7, 3)
    for r in (r1, r2, r3):
        cls.insert(r)
    assert list(cls) == [r1, r2, r3]
    cls.requeue(r1)
    assert list(cls) == [r2, r3, r1]
    r4 = R(pack_match(m2), 5, 4)
    assert cls.replace(r4) is r2  # the new rule takes the old one's place
    assert list(cls) == [r4, r3, r1] and r2 not in cls
    assert cls.find_match(m1) == [r3, r1]
    assert cls.remove(r3) and cls.find_match(m1) == [r1]
    assert not cls.remove(r3)
