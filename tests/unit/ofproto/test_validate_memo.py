"""The memoised validation gives the verdicts of the plain checks.

Validation verdicts are memoised on the match's mask and the few values prerequisites
read.  If the key missed a value some check reads, a match differing from a memoised
one only in that value would get the stale verdict; so every case is checked against
the plain checks for the match itself and for variants that keep the mask and change
values -- those outside the key freely, and the keyed ones too (new memo entries).
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.errors import OFPError
from pyvswitch.flow import layout as L
from pyvswitch.flow.actions_text import parse_actions
from pyvswitch.flow.match import Match
from pyvswitch.flow.match_text import parse_match
from pyvswitch.ofproto import validate

from ..openflow.gen import random_actions_text, random_match_text


def verdict(fn, *args, **kw) -> str | None:
    try:
        fn(*args, **kw)
    except OFPError as e:
        return f"{e.name}: {e.msg}"
    return None


def variant(m: Match, rnd: random.Random) -> Match:
    value = list(m.value)
    for slot, mask in enumerate(m.mask):
        if mask and rnd.random() < 0.5:
            value[slot] = rnd.getrandbits(L.SLOT_BITS[slot]) & mask
    return Match(value, m.mask)


@st.composite
def cases(draw):
    rnd = draw(st.randoms(use_true_random=False))
    text, proto = random_match_text(rnd, nxm=True)
    m = parse_match(text)[0]
    acts = parse_actions(random_actions_text(rnd, text, proto, 4, rnd.randrange(10)))
    if rnd.random() < 0.3:  # actions of another flow: inconsistent ones too
        other, oproto = random_match_text(rnd, nxm=True)
        acts = parse_actions(random_actions_text(rnd, other, oproto, 1))
    return m, acts, rnd


@settings(max_examples=300, deadline=None)
@given(case=cases(), table=st.sampled_from([None, 0, 3]), strict=st.booleans())
def test_memo_agrees_with_the_checks(case, table, strict):
    m, acts, rnd = case
    for mm in [m, m] + [variant(m, rnd) for _ in range(4)]:
        assert verdict(validate.check_match, mm) == verdict(validate._check_match, mm)
        kw = {"table_id": table, "n_tables": 255, "max_ports": 0xFF00,
              "strict_consistency": strict}
        assert verdict(validate.check_actions, acts, mm, **kw) == \
            verdict(validate._check_actions, acts, mm, table, 255, 0xFF00, strict)


def test_memo_is_bounded():
    validate._MATCH_MEMO.clear()
    for i in range(validate.MEMO_MAX + 10):
        validate.check_match(parse_match(f"in_port={i % 60000 + 1},dl_vlan={i % 4096}")[0])
    assert 0 < len(validate._MATCH_MEMO) <= validate.MEMO_MAX
