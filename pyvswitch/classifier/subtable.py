"""One subtable of the tuple-space classifier: every rule that shares one mask.

A subtable hashes rules by their packed masked value (see :mod:`.packed`), so finding
the rules a flow could match costs one dict lookup whatever the number of rules.  To
keep megaflows wide it also supports OVS's *staged* lookup: the mask's slots are split
into stages (metadata, L2, L3, L4, in that order), and for every stage but the last the
subtable keeps a count of the distinct rule prefixes "masked value of the stages so
far".  A lookup that finds no rule prefix equal to the flow's after stage ``i`` can stop
there, having examined only the bits of stages ``0..i``.

The per-mask work (which slots, which masks) is compiled into small functions with
``exec`` when the subtable is created, so the packet path does no loops over masks.

Memory matters here (a table may hold a million rules): per rule the subtable keeps one
entry in ``heads`` (key -> the highest-priority rule with that match) and one in
``order`` (rule -> key, in insertion order); ``multi`` holds the rare keys that several
priorities share.  Index prefixes and prefix-trie values are derived from keys.

Layer: classifier.  Imports: flow.layout, classifier.{packed,prefixset,trie}.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pyvswitch.classifier.packed import SLOT_STAGE, KeyFn, MaskLayout, make_key_fn
from pyvswitch.classifier.prefixset import EqualLengthPrefixSet
from pyvswitch.classifier.trie import cidr_len
from pyvswitch.flow import layout as L

__all__ = ["FoldFn", "KeyFn", "SLOT_STAGE", "Subtable", "make_fold_fn", "make_key_fn"]

FoldFn = Callable[[list], None]


def _compile(src: str, name: str) -> Any:
    ns: dict[str, Any] = {}
    exec(compile(src, f"<classifier {name}>", "exec"), ns)  # noqa: S102 - generated code
    return ns[name]


def make_fold_fn(parts: Sequence[tuple[int, int]]) -> FoldFn:
    """A function OR-ing the masks of ``parts`` into a wildcard list."""
    if not parts:
        return lambda wc: None
    body = "".join(f"    wc[{slot}] |= {mask:#x}\n" for slot, mask in parts)
    return _compile(f"def fold(wc):\n{body}", "fold")


class Subtable:
    """The rules of one mask, hashed by key, with staged-lookup indices.

    ``heads`` maps a key to the highest-priority rule with that exact match (what a
    lookup needs); ``multi`` maps the keys held by several rules to all of them,
    highest priority first.  ``order`` maps every rule to its key, in iteration order.
    ``indices[i]`` counts the distinct keys' prefixes over stages ``0..i`` (one entry
    per distinct match, as OVS counts heads, not rules).
    """

    __slots__ = (
        "mask", "layout", "seq", "key", "prefix_keys", "tails", "folds", "n_indices",
        "heads", "multi", "indices", "order", "prio_count", "max_priority", "n_rules",
        "trie_plen", "trie_stage", "trie_shift", "ports_len", "ports_mask", "ports_trie",
        "ports_shifts", "stage_of_index", "trie_at", "trie_updates",
    )

    def __init__(self, layout: MaskLayout, seq: int,
                 trie_slots: Sequence[tuple[int, int]] = ()) -> None:
        mask = layout.mask
        self.mask = mask
        self.layout = layout
        self.seq = seq  # creation order: ties between equal max priorities
        stages = layout.stages
        #: the OVS stage number each lookup step covers
        self.stage_of_index = tuple(i for i, _ in stages)
        self.n_indices = len(stages) - 1
        cumulative: list[tuple[int, int]] = []
        self.prefix_keys: list[KeyFn] = []
        self.folds: list[FoldFn] = []
        for _, parts in stages:
            cumulative.extend(parts)
            self.prefix_keys.append(make_key_fn(cumulative))
            self.folds.append(make_fold_fn(cumulative))
        self.key: KeyFn = layout.key
        # A step's prefix key is the full key without the bits of the later stages.
        self.tails: list[int] = []
        for i in range(self.n_indices):
            self.tails.append(sum(L.SLOT_BITS[s] for _, parts in stages[i + 1:]
                                  for s, _m in parts))
        self.heads: dict[int, Any] = {}
        self.multi: dict[int, list[Any]] = {}
        self.indices: list[dict[int, int]] = [{} for _ in range(self.n_indices)]
        self.order: dict[Any, int] = {}
        self.prio_count: dict[int, int] = {}
        self.max_priority = -(1 << 63)
        self.n_rules = 0
        # Prefix tries: the CIDR length of this mask on each tracked field (0 = unused),
        # the lookup step at which that field is examined, and its shift in the key.
        self.trie_plen = tuple(cidr_len(mask[slot], width) for slot, width in trie_slots)
        self.trie_stage = tuple(
            self._index_of_stage(SLOT_STAGE[slot]) for slot, _ in trie_slots)
        self.trie_shift = tuple(layout.shifts.get(slot, 0) for slot, _ in trie_slots)
        #: (trie, shift, slot mask, prefix length) of the tries this subtable's keys go in
        #: (set by the classifier, which owns the tries)
        self.trie_updates: tuple[tuple[Any, int, int, int], ...] = ()
        #: per lookup step, the tries to consult first: (trie index, plen, slot, width)
        self.trie_at: tuple[tuple[tuple[int, int, int, int], ...], ...] = tuple(
            tuple((j, plen, trie_slots[j][0], trie_slots[j][1])
                  for j, plen in enumerate(self.trie_plen)
                  if plen and self.trie_stage[j] == step)
            for step in range(self.n_indices + 1))
        # Ports trie: tp_src:tp_dst as one 32-bit value.
        self.ports_mask = (mask[L.TP_SRC] << 16) | mask[L.TP_DST]
        self.ports_shifts = (layout.shifts.get(L.TP_SRC), layout.shifts.get(L.TP_DST))
        if self.ports_mask:
            low = self.ports_mask & -self.ports_mask
            self.ports_len = 32 - (low.bit_length() - 1)
            # one prefix length per subtable: a sorted set answers as a trie would
            self.ports_trie: EqualLengthPrefixSet | None = EqualLengthPrefixSet(32)
        else:
            self.ports_len = 0
            self.ports_trie = None

    def _index_of_stage(self, stage: int) -> int:
        for i, s in enumerate(self.stage_of_index):
            if s == stage:
                return i
        return -1

    def ports_of(self, f: Sequence[int]) -> int:
        """The flow's (or match value's) ports under this subtable's ports mask."""
        return ((f[L.TP_SRC] << 16) | f[L.TP_DST]) & self.ports_mask

    def ports_of_key(self, key: int) -> int:
        """The ports (as :meth:`ports_of`) of a rule, from its key."""
        s_src, s_dst = self.ports_shifts
        src = (key >> s_src) & 0xFFFF if s_src is not None else 0
        dst = (key >> s_dst) & 0xFFFF if s_dst is not None else 0
        return (src << 16) | dst

    def recompute_max(self) -> None:
        self.max_priority = max(self.prio_count) if self.prio_count else -(1 << 63)

    def rules_of_key(self, key: int) -> list[Any]:
        """The rules with exactly this key, highest priority first."""
        many = self.multi.get(key)
        if many is not None:
            return list(many)
        head = self.heads.get(key)
        return [] if head is None else [head]
