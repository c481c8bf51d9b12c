"""One subtable of the tuple-space classifier: every rule that shares one mask.

A subtable hashes rules by their masked value, so finding the rules a flow could match
costs one dict lookup whatever the number of rules.  To keep megaflows wide it also
supports OVS's *staged* lookup: the mask's slots are split into stages (metadata, L2,
L3, L4, in that order), and for every stage but the last the subtable keeps a count of
the distinct rule prefixes "masked value of the stages so far".  A lookup that finds no
rule prefix equal to the flow's after stage ``i`` can stop there, having examined only
the bits of stages ``0..i``.

The per-mask work (which slots, which masks) is compiled into small functions with
``exec`` when the subtable is created, so the packet path does no loops over masks.

Layer: classifier.  Imports: flow.layout, classifier.trie.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pyvswitch.classifier.trie import PrefixTrie, cidr_len
from pyvswitch.flow import layout as L

# Stage of every slot, following OVS's flow segments: metadata | L2 | L3 | L4.
_STAGE_L2 = (L.ETH_SRC, L.ETH_DST, L.VLAN_TPID, L.VLAN_TCI, L.VLAN2_TPID, L.VLAN2_TCI,
             L.ETH_TYPE)
_STAGE_L3 = (L.NW_SRC, L.NW_DST, L.CT_NW_SRC, L.CT_NW_DST, L.IPV6_SRC, L.IPV6_DST,
             L.CT_IPV6_SRC, L.CT_IPV6_DST, L.IPV6_LABEL, L.NW_PROTO, L.NW_TOS, L.NW_TTL,
             L.NW_FRAG)
_STAGE_L4 = (L.ND_TARGET, L.ARP_SHA, L.ARP_THA, L.TCP_FLAGS, L.TP_SRC, L.TP_DST,
             L.CT_TP_SRC, L.CT_TP_DST)


def _stage_table() -> tuple[int, ...]:
    stages = [0] * L.N_FLOW
    for stage, slots in ((1, _STAGE_L2), (2, _STAGE_L3), (3, _STAGE_L4)):
        for s in slots:
            stages[s] = stage
    return tuple(stages)


#: stage (0 metadata, 1 L2, 2 L3, 3 L4) of each flow slot
SLOT_STAGE: tuple[int, ...] = _stage_table()
N_STAGES = 4

KeyFn = Callable[[Sequence[int]], int]
FoldFn = Callable[[list], None]


def _compile(src: str, name: str) -> Any:
    ns: dict[str, Any] = {}
    exec(compile(src, f"<classifier {name}>", "exec"), ns)  # noqa: S102 - generated code
    return ns[name]


def make_key_fn(parts: Sequence[tuple[int, int]]) -> KeyFn:
    """A function packing ``flow[slot] & mask`` for ``parts`` into one int.

    The masked values are concatenated at their slots' widths, so the packing is
    injective; an int key hashes and compares with fewer memory touches than a tuple,
    which is what keeps lookups in huge subtables as fast as in small ones.  Slots
    masked with their full width skip the ``&``: flows never carry bits beyond a slot's
    width, and match values are stored pre-masked.
    """
    if not parts:
        return lambda f: 0
    terms = []
    shift = 0
    for slot, mask in reversed(parts):
        term = f"f[{slot}]" if mask == L.SLOT_FULL[slot] else f"(f[{slot}] & {mask:#x})"
        terms.append(f"({term} << {shift})" if shift else term)
        shift += L.SLOT_BITS[slot]
    return _compile(f"def key(f):\n    return {' | '.join(terms)}\n", "key")


def make_fold_fn(parts: Sequence[tuple[int, int]]) -> FoldFn:
    """A function OR-ing the masks of ``parts`` into a wildcard list."""
    if not parts:
        return lambda wc: None
    body = "".join(f"    wc[{slot}] |= {mask:#x}\n" for slot, mask in parts)
    return _compile(f"def fold(wc):\n{body}", "fold")


class Subtable:
    """The rules of one mask, hashed by masked value, with staged-lookup indices.

    ``rules`` maps a masked-value key to the rules with that exact match, highest
    priority first, and ``heads`` maps it to the first of them (what a lookup needs).
    ``indices[i]`` counts the distinct keys' prefixes over stages ``0..i`` (one entry
    per distinct match, as OVS counts heads, not rules).
    """

    __slots__ = (
        "mask", "seq", "key", "prefix_keys", "folds", "n_indices", "rules", "indices",
        "heads", "order", "prio_count", "max_priority", "n_rules", "trie_plen", "trie_stage",
        "ports_len", "ports_mask", "ports_trie", "stage_of_index", "trie_at",
    )

    def __init__(self, mask: tuple[int, ...], seq: int,
                 trie_slots: Sequence[tuple[int, int]] = ()) -> None:
        self.mask = mask
        self.seq = seq  # creation order: ties between equal max priorities
        by_stage: list[list[tuple[int, int]]] = [[] for _ in range(N_STAGES)]
        for slot, m in enumerate(mask):
            if m:
                by_stage[SLOT_STAGE[slot]].append((slot, m))
        stages = [(i, parts) for i, parts in enumerate(by_stage) if parts]
        if not stages:
            stages = [(N_STAGES - 1, [])]
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
        self.key: KeyFn = self.prefix_keys[-1]
        self.rules: dict[int, list[Any]] = {}
        self.heads: dict[int, Any] = {}
        self.indices: list[dict[int, int]] = [{} for _ in range(self.n_indices)]
        #: rules in insertion order (for iteration/dumps): seq -> rule
        self.order: dict[int, Any] = {}
        self.prio_count: dict[int, int] = {}
        self.max_priority = -(1 << 63)
        self.n_rules = 0
        # Prefix tries: the CIDR length of this mask on each tracked field (0 = unused),
        # and the lookup step at which that field is examined.
        self.trie_plen = tuple(cidr_len(mask[slot], width) for slot, width in trie_slots)
        self.trie_stage = tuple(
            self._index_of_stage(SLOT_STAGE[slot]) for slot, _ in trie_slots)
        #: per lookup step, the tries to consult first: (trie index, plen, slot, width)
        self.trie_at: tuple[tuple[tuple[int, int, int, int], ...], ...] = tuple(
            tuple((j, plen, trie_slots[j][0], trie_slots[j][1])
                  for j, plen in enumerate(self.trie_plen)
                  if plen and self.trie_stage[j] == step)
            for step in range(self.n_indices + 1))
        # Ports trie: tp_src:tp_dst as one 32-bit value.
        self.ports_mask = (mask[L.TP_SRC] << 16) | mask[L.TP_DST]
        if self.ports_mask:
            low = self.ports_mask & -self.ports_mask
            self.ports_len = 32 - (low.bit_length() - 1)
            self.ports_trie: PrefixTrie | None = PrefixTrie(32)
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

    def recompute_max(self) -> None:
        self.max_priority = max(self.prio_count) if self.prio_count else -(1 << 63)
