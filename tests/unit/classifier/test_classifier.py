"""Classifier: lookup verdicts, tie rule, updates, and un-wildcarding (megaflow width)."""

from __future__ import annotations

import pytest

from pyvswitch.classifier import DEFAULT_PREFIX_SLOTS, Classifier
from pyvswitch.flow import layout as L
from pyvswitch.flow.match import Match, MatchBuilder


class R:
    """A minimal rule: the classifier only needs ``match`` and ``priority``."""

    def __init__(self, match: Match, priority: int, name: str = "") -> None:
        self.match = match
        self.priority = priority
        self.name = name

    def __repr__(self) -> str:
        return f"R({self.name}, {self.priority})"


def m(**fields: tuple[int, int] | int) -> Match:
    b = MatchBuilder()
    for name, spec in fields.items():
        slot = getattr(L, name.upper())
        v, mask = spec if isinstance(spec, tuple) else (spec, L.SLOT_FULL[slot])
        b.set_slot(slot, v, mask)
    return b.build()


def flow(**fields: int) -> list[int]:
    f = list(L.EMPTY_FLOW)
    for name, v in fields.items():
        f[getattr(L, name.upper())] = v
    return f


def lookup_wc(cls: Classifier, f: list[int]) -> tuple[object, dict[str, int]]:
    wc = [0] * L.N_FLOW
    r = cls.lookup(f, wc)
    return r, {L.SLOT_NAMES[i]: v for i, v in enumerate(wc) if v}


IP1 = 0xC6336401  # 198.51.100.1
IP2 = 0xC6336402  # 198.51.100.2
IP3 = 0xC6336403
OTHER = 0xCB007101  # 203.0.113.1


def test_highest_priority_wins_and_remove_falls_back():
    c = Classifier()
    low = R(m(), 0, "low")
    mid = R(m(eth_type=0x800), 10, "mid")
    high = R(m(eth_type=0x800, nw_src=IP1), 20, "high")
    for r in (low, high, mid):
        c.insert(r)
    assert len(c) == 3 and c.n_subtables == 3
    assert c.lookup(flow(eth_type=0x800, nw_src=IP1)) is high
    assert c.lookup(flow(eth_type=0x800, nw_src=IP2)) is mid
    assert c.lookup(flow(eth_type=0x806)) is low
    assert c.remove(high)
    assert not c.remove(high)
    assert c.lookup(flow(eth_type=0x800, nw_src=IP1)) is mid
    assert c.n_subtables == 2
    c.remove(mid)
    c.remove(low)
    assert len(c) == 0 and c.n_subtables == 0
    assert c.lookup(flow()) is None


def test_same_match_different_priorities_share_a_bucket():
    c = Classifier()
    a = R(m(eth_type=0x800), 5, "a")
    b = R(m(eth_type=0x800), 7, "b")
    c.insert(a)
    c.insert(b)
    assert c.n_subtables == 1
    assert c.lookup(flow(eth_type=0x800)) is b
    assert c.find_exactly(m(eth_type=0x800), 5) is a
    assert c.find_exactly(m(eth_type=0x800), 6) is None
    assert c.find_match(m(eth_type=0x800)) == [b, a]
    c.remove(b)
    assert c.lookup(flow(eth_type=0x800)) is a


def test_insert_refuses_duplicate_and_replace_keeps_position():
    c = Classifier()
    first = R(m(in_port=1), 5, "first")
    second = R(m(in_port=2), 5, "second")
    c.insert(first)
    c.insert(second)
    dup = R(m(in_port=1), 5, "dup")
    with pytest.raises(ValueError):
        c.insert(dup)
    assert c.lookup(flow(in_port=1)) is first and len(c) == 2
    assert c.replace(dup) is first
    assert list(c) == [dup, second]
    assert first not in c and dup in c
    assert c.lookup(flow(in_port=1)) is dup and len(c) == 2


def test_tie_first_visited_subtable_wins():
    # Same priority, overlapping rules in two subtables: the subtable that got its
    # priority first is visited first and a later one needs a strictly higher priority
    # to replace its match.
    c = Classifier()
    by_port = R(m(in_port=1), 5, "by_port")
    by_type = R(m(eth_type=0x800), 5, "by_type")
    c.insert(by_port)
    c.insert(by_type)
    f = flow(in_port=1, eth_type=0x800)
    assert c.lookup(f) is by_port
    # Raising the second subtable's max priority moves it in front.
    c.insert(R(m(eth_type=0x806), 9, "arp"))
    assert c.lookup(f) is by_type
    assert c.lookup(f, [0] * L.N_FLOW) is by_type


def test_visiting_order_follows_ovs_pvector():
    """OVS sorts subtables with a stable sort: a subtable whose priority rises to tie
    with others goes after those already there; an emptied subtable's slot is taken
    by the last one before sorting."""
    c = Classifier()
    a = R(m(in_port=1), 5, "a")
    b = R(m(eth_type=0x800), 3, "b")
    c_ = R(m(eth_src=1), 5, "c")
    for r in (a, b, c_):
        c.insert(r)
    assert [st.mask for st in c._order] == [a.match.mask, c_.match.mask, b.match.mask]
    b5 = R(m(eth_type=0x806), 5, "b5")  # same subtable as b: its priority rises to 5
    c.insert(b5)
    assert [st.mask for st in c._order] == [a.match.mask, c_.match.mask, b.match.mask]
    f = flow(in_port=1, eth_src=1, eth_type=0x806)
    assert c.lookup(f) is a
    c.remove(a)  # the last subtable (b's) fills a's slot, then the stable sort
    assert [st.mask for st in c._order] == [b.match.mask, c_.match.mask]
    assert c.lookup(f) is b5
    assert list(c) == [b, b5, c_]


def test_iteration_order_is_subtable_priority_then_insertion():
    c = Classifier()
    r1 = R(m(in_port=1), 1, "r1")
    r2 = R(m(eth_type=0x800), 9, "r2")
    r3 = R(m(in_port=2), 3, "r3")
    for r in (r1, r2, r3):
        c.insert(r)
    assert list(c) == [r2, r1, r3]


def test_overlaps():
    c = Classifier()
    c.insert(R(m(in_port=1), 5))
    assert c.overlaps(m(eth_type=0x800), 5)  # disjoint fields: a packet can match both
    assert not c.overlaps(m(eth_type=0x800), 6)  # other priority
    assert not c.overlaps(m(in_port=2), 5)  # contradicting values
    assert c.overlaps(m(in_port=1, eth_type=0x800), 5)


def test_iter_loose():
    c = Classifier()
    a = R(m(eth_type=0x800, nw_src=IP1), 5, "a")
    b = R(m(eth_type=0x800), 5, "b")
    d = R(m(eth_type=0x806), 5, "d")
    e = R(m(eth_type=0x800, nw_src=(0xC6336400, 0xFFFFFF00)), 5, "e")
    for r in (a, b, d, e):
        c.insert(r)
    assert set(c.iter_loose(m(eth_type=0x800))) == {a, b, e}
    assert set(c.iter_loose(m(eth_type=0x800, nw_src=(0xC6336400, 0xFFFFFF00)))) == {a, e}
    assert set(c.iter_loose(m(eth_type=0x800, nw_src=IP1))) == {a}
    assert set(c.iter_loose(m())) == {a, b, d, e}


# ------------------------------------------------------------------ un-wildcarding
def test_arp_packet_does_not_unwildcard_ip_source():
    """Staged lookup: the L2 stage (eth_type) already rules the subtable out."""
    c = Classifier()
    for i, ip in enumerate((IP1, IP2, IP3)):
        c.insert(R(m(eth_type=0x800, nw_src=ip), 100, f"ip{i}"))
    c.insert(R(m(), 0, "default"))
    r, wc = lookup_wc(c, flow(eth_type=0x806, nw_src=IP1, in_port=3))
    assert r.name == "default"
    assert wc == {"eth_type": 0xFFFF}


def test_metadata_stage_miss_stops_before_l2():
    c = Classifier()
    c.insert(R(m(in_port=1, eth_src=0x020000000001), 10, "x"))
    c.insert(R(m(), 0, "default"))
    r, wc = lookup_wc(c, flow(in_port=2, eth_src=0x020000000001))
    assert r.name == "default" and wc == {"in_port": 0xFFFFFFFF}


def test_found_rule_unwildcards_its_full_mask():
    c = Classifier()
    c.insert(R(m(in_port=1, eth_type=0x800, nw_src=(0xC6336400, 0xFFFFFF00)), 10))
    _, wc = lookup_wc(c, flow(in_port=1, eth_type=0x800, nw_src=IP1))
    assert wc == {"in_port": 0xFFFFFFFF, "eth_type": 0xFFFF, "nw_src": 0xFFFFFF00}


def test_priority_skips_lower_subtables_entirely():
    c = Classifier()
    c.insert(R(m(in_port=1), 50, "port"))
    c.insert(R(m(eth_type=0x800, nw_src=IP1), 10, "ip"))
    r, wc = lookup_wc(c, flow(in_port=1, eth_type=0x800, nw_src=IP1))
    assert r.name == "port" and wc == {"in_port": 0xFFFFFFFF}


# Facts observed with the real OVS 3.1 (ofproto/trace "Megaflow:" lines) for the same
# tables; the translation layer adds recirc_id/in_port/eth_type/nw_frag itself.
def test_prefix_trie_megaflow_matches_ovs():
    """ip,nw_src=198.51.100.1 / .2 at priority 100 plus a catch-all: OVS traces
    nw_src=203.0.113.1 with nw_src=200.0.0.0/5 and .3 with the full address."""
    c = Classifier(DEFAULT_PREFIX_SLOTS)
    c.insert(R(m(eth_type=0x800, nw_src=IP1), 100))
    c.insert(R(m(eth_type=0x800, nw_src=IP2), 100))
    c.insert(R(m(), 0, "default"))
    r, wc = lookup_wc(c, flow(eth_type=0x800, nw_src=OTHER))
    assert r.name == "default" and wc == {"eth_type": 0xFFFF, "nw_src": 0xF8000000}
    r, wc = lookup_wc(c, flow(eth_type=0x800, nw_src=IP3))
    assert r.name == "default" and wc == {"eth_type": 0xFFFF, "nw_src": 0xFFFFFFFF}
    # Without prefix tries the whole address is examined.
    plain = Classifier()
    for rule in list(c):
        plain.insert(R(rule.match, rule.priority, rule.name))
    _, wc = lookup_wc(plain, flow(eth_type=0x800, nw_src=OTHER))
    assert wc["nw_src"] == 0xFFFFFFFF


def test_ports_trie_megaflow_matches_ovs():
    """tcp,tp_dst=80 at priority 10: OVS traces tcp,tp_dst=443 with tp_dst=0x100/0xff00."""
    c = Classifier()
    c.insert(R(m(eth_type=0x800, nw_proto=6, tp_dst=80), 10))
    c.insert(R(m(), 0, "default"))
    r, wc = lookup_wc(c, flow(eth_type=0x800, nw_proto=6, tp_dst=443))
    assert r.name == "default"
    assert wc == {"eth_type": 0xFFFF, "nw_proto": 0xFF, "tp_dst": 0xFF00}


def test_final_stage_miss_keeps_other_l4_bits():
    """OVS fix 489553b1c: tcp_flags sharing the last stage with the ports must be in the
    megaflow when the miss was decided by them."""
    c = Classifier()
    c.insert(R(m(eth_type=0x800, nw_proto=6, tp_dst=80, tcp_flags=(L.TCP_PSH, L.TCP_PSH)),
               10, "drop_data"))
    c.insert(R(m(), 0, "default"))
    r, wc = lookup_wc(c, flow(eth_type=0x800, nw_proto=6, tp_dst=80, tcp_flags=L.TCP_SYN))
    assert r.name == "default"
    assert wc["tcp_flags"] == L.TCP_PSH and wc["tp_dst"] == 0xFFFF


@pytest.mark.parametrize("with_wc", [False, True])
def test_later_subtable_needs_strictly_higher_priority(with_wc):
    """Subtable A (max 10) is visited before B (max 7); both hold a matching rule of
    priority 5, A's priority-10 rule does not match: A's priority-5 rule must win."""
    c = Classifier()
    c.insert(R(m(in_port=1, eth_type=0x806), 10, "a10"))
    a5 = R(m(in_port=1, eth_type=0x800), 5, "a5")
    c.insert(a5)
    c.insert(R(m(eth_type=0x800, nw_proto=17), 7, "b7"))
    c.insert(R(m(eth_type=0x800, nw_proto=6), 5, "b5"))
    f = flow(in_port=1, eth_type=0x800, nw_proto=6)
    assert c.lookup(f, [0] * L.N_FLOW if with_wc else None) is a5
