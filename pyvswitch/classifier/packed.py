"""Packed masks and matches: a match's masked value as one int.

A :class:`~pyvswitch.flow.match.Match` holds two tuples of ``N_FLOW`` ints, about 1 KiB
per match.  A flow table keeps one match per rule, and most of that memory says nothing:
a rule typically constrains five of the 57 slots.  The classifier already packs a rule's
masked value into one int to hash it (the concatenation, at each slot's width, of the
slots its mask covers), so a rule only needs that int and the mask tuple, which all
rules of a subtable share.

* :class:`MaskLayout` -- per distinct mask: which slots it covers, in the order of the
  classifier's lookup stages, and the generated functions packing a flow (or a match
  value) into the key and unpacking a key back into a value tuple.  Layouts are cached
  by mask, so equal masks share one canonical tuple.
* :class:`PackedMatch` -- a ``Match`` that stores the key and the canonical mask; its
  ``value`` tuple is rebuilt when read (dumps, traces, flow-removed messages: not the
  packet path, which works on keys).  It compares, hashes and prints as the ``Match``
  it came from.

Because the key packs the stages in order, with the last slot in the low bits, the key
of the first ``i`` stages is the full key shifted right by the width of the later
stages, and any slot's masked value can be read back with a shift and a mask: the
classifier maintains its staged-lookup indices and prefix tries from keys alone.

Layer: classifier.  Imports: flow.layout, flow.match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pyvswitch.flow import layout as L
from pyvswitch.flow.match import Match

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


def _compile(src: str, name: str) -> Any:
    ns: dict[str, Any] = {"EMPTY": list(L.EMPTY_FLOW)}
    exec(compile(src, f"<classifier {name}>", "exec"), ns)  # noqa: S102 - generated code
    return ns[name]


def make_key_fn(parts: Sequence[tuple[int, int]]) -> KeyFn:
    """A function packing ``flow[slot] & mask`` for ``parts`` into one int.

    The masked values are concatenated at their slots' widths (the last part in the
    low bits), so the packing is injective; an int key hashes and compares with fewer
    memory touches than a tuple, which is what keeps lookups in huge subtables as fast
    as in small ones.  Slots masked with their full width skip the ``&``: flows never
    carry bits beyond a slot's width, and match values are stored pre-masked.
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


def _make_unpack_fn(parts: Sequence[tuple[int, int]]) -> Callable[[int], tuple[int, ...]]:
    body = ["def unpack(k):\n", "    v = EMPTY.copy()\n"]
    shift = 0
    for slot, _mask in reversed(parts):
        full = L.SLOT_FULL[slot]
        body.append(f"    v[{slot}] = (k >> {shift}) & {full:#x}\n" if shift
                    else f"    v[{slot}] = k & {full:#x}\n")
        shift += L.SLOT_BITS[slot]
    body.append("    return tuple(v)\n")
    return _compile("".join(body), "unpack")


class MaskLayout:
    """How the keys of one mask are laid out (see the module docstring).

    ``stages`` lists ``(OVS stage number, parts)`` for the stages the mask covers (at
    least one), ``parts`` being ``(slot, mask)`` pairs in slot order; ``parts`` is
    their concatenation, the key's layout from its high bits down.
    """

    __slots__ = ("mask", "stages", "parts", "key", "unpack", "shifts", "__weakref__")

    def __init__(self, mask: tuple[int, ...]) -> None:
        self.mask = mask
        by_stage: list[list[tuple[int, int]]] = [[] for _ in range(N_STAGES)]
        for slot, m in enumerate(mask):
            if m:
                by_stage[SLOT_STAGE[slot]].append((slot, m))
        stages = [(i, parts) for i, parts in enumerate(by_stage) if parts]
        if not stages:
            stages = [(N_STAGES - 1, [])]
        self.stages: list[tuple[int, list[tuple[int, int]]]] = stages
        self.parts: list[tuple[int, int]] = [p for _, parts in stages for p in parts]
        self.key: KeyFn = make_key_fn(self.parts)
        self.unpack = _make_unpack_fn(self.parts)
        #: slot -> its shift in the key (slots the mask covers)
        self.shifts: dict[int, int] = {}
        shift = 0
        for slot, _m in reversed(self.parts):
            self.shifts[slot] = shift
            shift += L.SLOT_BITS[slot]

    def slot_of_key(self, key: int, slot: int) -> int:
        """The masked value of ``slot`` in a key (0 for slots the mask leaves out)."""
        shift = self.shifts.get(slot)
        if shift is None:
            return 0
        return (key >> shift) & L.SLOT_FULL[slot]


#: mask tuple -> its layout; also the canonical copy of each mask tuple
_LAYOUTS: dict[tuple[int, ...], MaskLayout] = {}
#: distinct masks remembered before the cache starts over (layouts are rebuilt on demand)
MAX_LAYOUTS = 1 << 16


#: the last (mask object, layout) asked for (see ``Classifier._get_st``)
_last: tuple[object, MaskLayout | None] = (None, None)


def mask_layout(mask: tuple[int, ...]) -> MaskLayout:
    """The (cached) layout of ``mask``."""
    global _last
    last_mask, layout = _last
    if mask is last_mask and layout is not None:
        return layout
    layout = _LAYOUTS.get(mask)
    if layout is None:
        if len(_LAYOUTS) >= MAX_LAYOUTS:
            _LAYOUTS.clear()
        layout = _LAYOUTS[mask] = MaskLayout(tuple(mask))
    _last = (mask, layout)
    return layout


class PackedMatch(Match):
    """A :class:`Match` stored as its packed key and the shared mask tuple.

    Immutable like every Match; ``value`` is rebuilt on each read.
    """

    __slots__ = ("key",)

    def __init__(self, key: int, mask: tuple[int, ...]) -> None:  # noqa: D107
        self.mask = mask
        self.key = key
        self._hash = None

    @property  # type: ignore[override]
    def value(self) -> tuple[int, ...]:  # noqa: D102
        return mask_layout(self.mask).unpack(self.key)

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackedMatch, (self.key, self.mask))


def pack_match(match: Match) -> Match:
    """An equal match that takes little memory (itself if it is already packed)."""
    if type(match) is PackedMatch:
        return match
    layout = mask_layout(match.mask)
    return PackedMatch(layout.key(match.value), layout.mask)


def match_key(match: Match, layout: MaskLayout) -> int:
    """The key of ``match`` under ``layout`` (whose mask is ``match``'s)."""
    if type(match) is PackedMatch:
        return match.key
    return layout.key(match.value)


__all__ = ["MaskLayout", "PackedMatch", "SLOT_STAGE", "make_key_fn", "mask_layout",
           "match_key", "pack_match"]
