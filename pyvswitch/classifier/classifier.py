"""Tuple-space search classifier with un-wildcarding (OVS ``lib/classifier.c``).

Rules are any objects with ``.match`` (a :class:`~pyvswitch.flow.match.Match`) and
``.priority`` (an int).  Rules sharing a mask live in one :class:`Subtable`, hashed by
their masked value, so a lookup costs one dict probe per distinct mask, however many
rules there are.  Subtables are visited in decreasing order of the highest priority they
hold; the search stops as soon as no remaining subtable can hold a rule that beats the
best match so far.

Tie rule (what OVS does, and what we pin down): a subtable visited later replaces the
best match only with a *strictly* higher priority.  Among several matching rules of the
same top priority the winner is therefore the one in the first-visited subtable;
subtables are ordered by (highest priority, descending; then creation order).  Within a
subtable two rules with the same priority cannot both match a flow, because identical
matches of equal priority cannot coexist (adding one replaces the other).  OpenFlow
leaves the choice undefined; OVS's is equally arbitrary but also depends on hash order,
ours is deterministic.

Un-wildcarding: ``lookup(flow, wc)`` ORs into ``wc`` (a mutable list of ``N_FLOW`` mask
ints) every bit it examined, so that a megaflow with that mask gives the same verdict
for every packet that agrees with ``flow`` on those bits.  To keep megaflows wide it
implements OVS's three refinements:

* staged lookup -- a subtable proven not to match after its metadata / L2 / L3 stage
  only un-wildcards the stages examined;
* prefix tries on address fields (by default none; ``ofproto`` tables track
  ``nw_dst`` and ``nw_src``, as OVS 3.1 does) -- a subtable whose address
  prefix length is not found in the trie is skipped after examining only the address
  bits the trie needed;
* a ports trie per subtable -- on a final-stage miss only the leading port bits that
  distinguish the flow from every rule are un-wildcarded.

A trie consulted for an address field un-wildcards ``eth_type`` (its prerequisite), so
the result is sound even for callers that do not already match on it (the translation
layer always does, as OVS's does).

Layer: classifier.  Imports: flow.layout, flow.match, classifier.subtable/trie.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from pyvswitch.classifier.packed import mask_layout, match_key
from pyvswitch.classifier.subtable import Subtable
from pyvswitch.classifier.trie import PrefixTrie, prefix_mask
from pyvswitch.flow import layout as L
from pyvswitch.flow.match import Match

_MIN_PRI = -(1 << 63)
_PREFIX32 = tuple(prefix_mask(32, n) for n in range(33))

#: slots a prefix trie may track, with the Ethernet type the field requires (0 = none)
PREFIX_SLOT_PREREQ: dict[int, int] = {
    L.NW_DST: L.ETH_TYPE_IP,
    L.NW_SRC: L.ETH_TYPE_IP,
    L.IPV6_DST: L.ETH_TYPE_IPV6,
    L.IPV6_SRC: L.ETH_TYPE_IPV6,
    L.TUN_SRC: 0,
    L.TUN_DST: 0,
}

#: what OVS 3.1's ofproto uses for every flow table (IPv6 prefixes were added in 3.3)
DEFAULT_PREFIX_SLOTS: tuple[int, ...] = (L.NW_DST, L.NW_SRC)


class RuleLike(Protocol):
    match: Match
    priority: int


class Classifier:
    """A set of rules with highest-priority-match lookup (see module docstring)."""

    def __init__(self, prefix_slots: Sequence[int] = ()) -> None:
        self._by_mask: dict[tuple[int, ...], Subtable] = {}
        # the last (mask object, subtable) looked up: a table loaded flow by flow asks
        # for the same mask object again and again, and hashing 57 ints is not free
        self._last: tuple[object, Subtable | None] = (None, None)
        # The visiting order, a model of OVS's "pvector": the published order, the
        # priority it was published with, and pending changes (None: none).
        self._order: list[Subtable] = []
        self._order_pri: list[int] = []
        self._pending: list[list[Any]] | None = None
        self._deferred = False
        self._n = 0
        self._seq = 0
        self._trie_slots: tuple[tuple[int, int], ...] = ()
        self._trie_prereq: tuple[int, ...] = ()
        self._tries: list[PrefixTrie] = []
        self.set_prefix_slots(prefix_slots)

    # ----------------------------------------------------------------- configuration
    def set_prefix_slots(self, slots: Sequence[int]) -> None:
        """Choose the address fields tracked by prefix tries (rebuilds the index)."""
        for s in slots:
            if s not in PREFIX_SLOT_PREREQ:
                raise ValueError(f"slot {L.SLOT_NAMES[s]} cannot be a prefix field")
        rules = list(self)
        self._by_mask.clear()
        self._last = (None, None)
        self._order.clear()
        self._order_pri.clear()
        self._pending = None
        self._n = 0
        self._trie_slots = tuple((s, L.SLOT_BITS[s]) for s in slots)
        self._trie_prereq = tuple(PREFIX_SLOT_PREREQ[s] for s in slots)
        self._tries = [PrefixTrie(w) for _, w in self._trie_slots]
        for r in rules:
            self.insert(r)

    # ----------------------------------------------------------------- size/iteration
    def __len__(self) -> int:
        return self._n

    @property
    def n_subtables(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[Any]:
        """Rules subtable by subtable in visiting order, each in insertion order (a
        replaced rule keeps its predecessor's place), as OVS's dumps list them."""
        for st in list(self._order):
            yield from list(st.order)

    def _subtable_of(self, rule: RuleLike) -> Subtable | None:
        """The subtable holding ``rule`` (None: the rule is not here)."""
        st = self._get_st(rule.match.mask)
        if st is None or rule not in st.order:
            return None
        return st

    def _get_st(self, mask: tuple[int, ...]) -> Subtable | None:
        last_mask, st = self._last
        if mask is last_mask:
            return st
        st = self._by_mask.get(mask)
        if st is not None:
            self._last = (mask, st)
        return st

    def __contains__(self, rule: object) -> bool:
        match = getattr(rule, "match", None)
        return match is not None and self._subtable_of(rule) is not None  # type: ignore[arg-type]

    # ----------------------------------------------------------------- updates
    def insert(self, rule: RuleLike) -> None:
        """Add ``rule``; an identical match with the same priority must not exist."""
        self._put(rule, False)

    def replace(self, rule: RuleLike) -> Any:
        """Add ``rule``, displacing and returning an identical-match, same-priority rule
        (which gives up its position in iteration order to ``rule``), or None."""
        return self._put(rule, True)

    def _put(self, rule: RuleLike, displace: bool) -> Any:
        match = rule.match
        st = self._get_st(match.mask)
        if st is None:
            st = self._new_subtable(match.mask)
        elif rule in st.order:
            raise ValueError("rule is already in this classifier")
        key = match_key(match, st.layout)
        pri = rule.priority
        heads = st.heads
        head = heads.get(key)
        if head is None:
            heads[key] = rule
            self._add_distinct(st, key)
        else:
            bucket = st.multi.get(key) or [head]
            for i, other in enumerate(bucket):
                if other.priority == pri:
                    if not displace:
                        raise ValueError(
                            "a rule with the same match and priority already exists")
                    bucket[i] = rule
                    heads[key] = bucket[0]
                    if len(bucket) > 1:
                        st.multi[key] = bucket
                    # the new rule takes the old one's place in iteration order
                    st.order = {(rule if r is other else r): k for r, k in st.order.items()}
                    return other
                if other.priority < pri:
                    bucket.insert(i, rule)
                    break
            else:
                bucket.append(rule)
            st.multi[key] = bucket
            heads[key] = bucket[0]
        st.order[rule] = key
        st.n_rules += 1
        self._n += 1
        prio_count = st.prio_count
        prio_count[pri] = prio_count.get(pri, 0) + 1
        if st.n_rules == 1:
            st.max_priority = pri
            self._pv_insert(st, pri)
        elif pri > st.max_priority:
            st.max_priority = pri
            self._pv_change(st, pri)
        if not self._deferred and self._pending is not None:
            self.publish()
        return None

    def remove(self, rule: RuleLike) -> bool:
        """Remove ``rule`` (by identity); False when it is not in the classifier."""
        st = self._get_st(rule.match.mask)
        if st is None:
            return False
        key = st.order.pop(rule, None)
        if key is None:
            return False
        bucket = st.multi.get(key)
        if bucket is None:
            del st.heads[key]
            self._remove_distinct(st, key)
        else:
            for i, other in enumerate(bucket):
                if other is rule:
                    del bucket[i]
                    break
            st.heads[key] = bucket[0]
            if len(bucket) == 1:
                del st.multi[key]
        st.n_rules -= 1
        self._n -= 1
        pri = rule.priority
        left = st.prio_count[pri] - 1
        if left:
            st.prio_count[pri] = left
        else:
            del st.prio_count[pri]
        if st.n_rules == 0:
            del self._by_mask[st.mask]
            self._last = (None, None)
            self._pv_remove(st)
        elif pri == st.max_priority and not left:
            st.recompute_max()
            self._pv_change(st, st.max_priority)
        if not self._deferred and self._pending is not None:
            self.publish()
        return True

    def requeue(self, rule: RuleLike) -> None:
        """Move ``rule`` to the end of its subtable's iteration order, where OVS puts a
        rule that a modify or an identical add replaced."""
        st = self._get_st(rule.match.mask)
        if st is None:
            raise KeyError("the rule is not in this classifier")
        st.order[rule] = st.order.pop(rule)

    def clear(self) -> None:
        """Remove every rule."""
        self._by_mask.clear()
        self._last = (None, None)
        self._order.clear()
        self._order_pri.clear()
        self._pending = None
        self._n = 0
        self._tries = [PrefixTrie(w) for _, w in self._trie_slots]

    # -- internals of updates ---------------------------------------------------------
    def _new_subtable(self, mask: tuple[int, ...]) -> Subtable:
        self._seq += 1
        st = Subtable(mask_layout(mask), self._seq, self._trie_slots)
        # (the tries are replaced only together with every subtable: clear, set_prefix_slots)
        st.trie_updates = tuple((self._tries[j], st.trie_shift[j],
                                 L.SLOT_FULL[self._trie_slots[j][0]], plen)
                                for j, plen in enumerate(st.trie_plen) if plen)
        self._by_mask[st.mask] = st
        return st

    # -- the visiting order (OVS pvector) ------------------------------------------
    # OVS keeps subtables in a vector sorted by priority with a stable sort; an
    # insertion goes after every subtable of equal or higher priority, a removal first
    # moves the last entry into the hole, and a priority change keeps its place when
    # the order allows.  Equal-priority subtables are visited in the resulting order,
    # which decides ties between rules and the exact megaflow; we reproduce it.
    def _pv_insert(self, st: Subtable, pri: int) -> None:
        if self._pending is None and (not self._order_pri or pri <= self._order_pri[-1]):
            self._order.append(st)
            self._order_pri.append(pri)
        else:
            self._pending_vector().append([st, pri])

    def _pv_remove(self, st: Subtable) -> None:
        vec = self._pending_vector()
        i = next(i for i, e in enumerate(vec) if e[0] is st)
        last = vec.pop()
        if i < len(vec):
            vec[i] = last

    def _pv_change(self, st: Subtable, pri: int) -> None:
        if self._pending is not None:
            next(e for e in self._pending if e[0] is st)[1] = pri
            return
        i = self._order.index(st)
        pris = self._order_pri
        old = pris[i]
        if (pri > old and i > 0 and pri > pris[i - 1]) or \
                (pri < old and i < len(pris) - 1 and pri < pris[i + 1]):
            self._pending_vector()[i][1] = pri
        else:
            pris[i] = pri

    def _pending_vector(self) -> list[list[Any]]:
        if self._pending is None:
            self._pending = [[st, p] for st, p in zip(self._order, self._order_pri)]
        return self._pending

    def defer(self) -> None:
        """Batch order changes until :meth:`publish` (OVS ``classifier_defer``; only
        affects how equal-priority subtables end up ordered)."""
        self._deferred = True

    def publish(self) -> None:
        self._deferred = False
        if self._pending is not None:
            vec = self._pending
            self._pending = None
            vec.sort(key=lambda e: -e[1])  # stable, as glibc's merge sort
            self._order = [e[0] for e in vec]
            self._order_pri = [e[1] for e in vec]

    def _add_distinct(self, st: Subtable, key: int) -> None:
        """Index a key that no rule of ``st`` had (staged prefixes, prefix tries)."""
        tails = st.tails
        for i, idx in enumerate(st.indices):
            k = key >> tails[i]
            idx[k] = idx.get(k, 0) + 1
        for trie, shift, full, plen in st.trie_updates:
            trie.insert((key >> shift) & full, plen)
        if st.ports_trie is not None:
            st.ports_trie.insert(st.ports_of_key(key), st.ports_len)

    def _remove_distinct(self, st: Subtable, key: int) -> None:
        tails = st.tails
        for i, idx in enumerate(st.indices):
            k = key >> tails[i]
            n = idx[k] - 1
            if n:
                idx[k] = n
            else:
                del idx[k]
        for trie, shift, full, plen in st.trie_updates:
            trie.remove((key >> shift) & full, plen)
        if st.ports_trie is not None:
            st.ports_trie.remove(st.ports_of_key(key), st.ports_len)

    # ----------------------------------------------------------------- queries
    def find_exactly(self, match: Match, priority: int) -> Any:
        """The rule with exactly ``match`` and ``priority``, or None."""
        st = self._get_st(match.mask)
        if st is None:
            return None
        key = match_key(match, st.layout)
        head = st.heads.get(key)
        if head is None:
            return None
        if head.priority == priority:
            return head
        for r in st.multi.get(key, ()):
            if r.priority == priority:
                return r
            if r.priority < priority:
                break
        return None

    def find_match(self, match: Match) -> list[Any]:
        """All rules whose match is exactly ``match`` (any priority), highest first."""
        st = self._get_st(match.mask)
        if st is None:
            return []
        return st.rules_of_key(match_key(match, st.layout))

    def overlaps(self, match: Match, priority: int) -> bool:
        """Could some packet match both a rule of equal ``priority`` and ``match``?
        (OpenFlow's OFPFF_CHECK_OVERLAP test.)"""
        tv = match.value
        tm = match.mask
        for st in self._order:
            if st.max_priority < priority:
                break
            if priority not in st.prio_count:
                continue
            # Keys pack masked values, so the bits both masks cover compare directly.
            common = st.key(tm)
            want = st.key(tv) & common
            for r, key in st.order.items():
                if r.priority == priority and key & common == want:
                    return True
        return False

    def iter_loose(self, match: Match) -> Iterator[Any]:
        """Rules that ``match`` covers (OpenFlow loose/non-strict semantics): every
        field ``match`` constrains, the rule constrains at least as tightly and to the
        same value.  Iteration order as :meth:`__iter__`."""
        tm = match.mask
        slots = [i for i, m in enumerate(tm) if m]
        if not slots:
            yield from self
            return
        tv = match.value
        for st in list(self._order):
            sm = st.mask
            if any(tm[i] & ~sm[i] for i in slots):
                continue
            kmask = st.key(tm)
            kval = st.key(tv)
            for r, key in list(st.order.items()):
                if key & kmask == kval:
                    yield r

    # ----------------------------------------------------------------- lookup
    def lookup(self, flow: Sequence[int], wc: list[int] | None = None) -> Any:
        """The highest-priority rule matching ``flow`` (see the tie rule above), or
        None.  With ``wc``, OR into it every bit the decision depended on."""
        if wc is not None:
            return self._lookup_wc(flow, wc)
        best = None
        best_pri = _MIN_PRI
        for st in self._order:
            if st.max_priority <= best_pri:
                break
            r = st.heads.get(st.key(flow))
            if r is not None:
                pri = r.priority
                if pri > best_pri:
                    best = r
                    best_pri = pri
        return best

    def _lookup_wc(self, flow: Sequence[int], wc: list[int]) -> Any:
        best = None
        best_pri = _MIN_PRI
        ctx: list[tuple[int, int] | None] = [None] * len(self._tries)
        for st in self._order:
            if st.max_priority <= best_pri:
                break
            r = self._find_wc(st, flow, wc, ctx)
            if r is not None and r.priority > best_pri:
                best = r
                best_pri = r.priority
        return best

    def _find_wc(self, st: Subtable, flow: Sequence[int], wc: list[int],
                 ctx: list[tuple[int, int] | None]) -> Any:
        n = st.n_indices
        trie_at = st.trie_at
        for i in range(n):
            if trie_at[i] and self._skip_by_tries(trie_at[i], flow, wc, ctx):
                if i:
                    st.folds[i - 1](wc)
                return None
            if st.prefix_keys[i](flow) not in st.indices[i]:
                st.folds[i](wc)
                return None
        if trie_at[n] and self._skip_by_tries(trie_at[n], flow, wc, ctx):
            if n:
                st.folds[n - 1](wc)
            return None
        head = st.heads.get(st.key(flow))
        if head is None and st.ports_trie is not None:
            # Examined everything, but only the leading port bits that set this flow
            # apart from every rule's ports need to be in the megaflow.
            old_src, old_dst = wc[L.TP_SRC], wc[L.TP_DST]
            mbits, _ = st.ports_trie.lookup(st.ports_of(flow))
            pm = st.ports_mask & _PREFIX32[mbits]
            st.folds[n](wc)
            wc[L.TP_SRC] = old_src | (pm >> 16)
            wc[L.TP_DST] = old_dst | (pm & 0xFFFF)
            return None
        st.folds[n](wc)
        return head

    def _skip_by_tries(self, checks: tuple[tuple[int, int, int, int], ...],
                       flow: Sequence[int], wc: list[int],
                       ctx: list[tuple[int, int] | None]) -> bool:
        """OVS ``check_tries``: can the prefix tries prove, before this lookup step,
        that no rule of the subtable matches?  If so, un-wildcard what the proof used.
        ``checks`` lists the subtable's (trie, prefix length, slot, width) to consult."""
        for j, plen, slot, width in checks:
            res = ctx[j]
            if res is None:
                prereq = self._trie_prereq[j]
                if prereq:
                    wc[L.ETH_TYPE] = 0xFFFF
                if prereq and flow[L.ETH_TYPE] != prereq:
                    res = (0, -1)  # field absent: every length "may match", never skip
                else:
                    res = self._tries[j].lookup(flow[slot])
                ctx[j] = res
            maskbits, plens = res
            if not (plens >> (plen - 1)) & 1:
                if maskbits <= plen:
                    wc[slot] |= prefix_mask(width, maskbits)
                    return True
                pm = prefix_mask(width, maskbits)
                if wc[slot] & pm == pm:
                    return True
        return False
