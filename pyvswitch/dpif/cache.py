"""The userspace datapath's flow caches: megaflows in tuple-space subtables.

A *megaflow* is (key, mask) -> actions, installed by the slow path after a miss.  As in
OVS's ``dpcls``, megaflows are grouped by mask into *subtables*: one dict per distinct
mask, keyed by the packet key ANDed with that mask, so a lookup costs one masked-key
build and one dict probe per subtable.  The masked-key builder of each subtable is a
small function generated once from the mask's non-zero slots.  Every datapath port has
its own classifier (``in_port`` is always matched exactly, so it is left out of the
subtable keys), and subtables are kept sorted by recent hits so the busiest is probed
first.

The exact-match cache in front of this (full key -> megaflow) lives in the datapath
facade; a megaflow that is deleted is marked ``dead`` so the EMC never returns it.

Each megaflow also carries its action list *compiled* to a shape the datapath's hot loop
dispatches on without walking the list (:data:`KIND_OUTPUT`, :data:`KIND_OUTPUTS`,
:data:`KIND_CT_RECIRC`, :data:`KIND_CT_OUTPUT`, else :data:`KIND_GENERIC`, the general
executor).

Layer: dpif.  Imports: flow.layout, odp.actions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence

from pyvswitch.flow import layout as L
from pyvswitch.odp import actions as A

#: a datapath key's slots whose masks are forced exact for every megaflow
_FULL32 = 0xFFFFFFFF
#: OVS's mask for the outer VLAN TCI when translation left it wildcarded: tagged and
#: untagged frames must never share a megaflow
VLAN_TCI_MIN_MASK = L.VLAN_VID_MASK | L.VLAN_CFI

_RESORT_EVERY = 1024
RECIRC_ID = L.RECIRC_ID

#: action shapes the datapath runs without the general executor
KIND_GENERIC = 0
#: a lone ``Output``: ``out_port`` is the port
KIND_OUTPUT = 1
#: only ``Output`` actions (a flood): ``arg`` is the tuple of ports
KIND_OUTPUTS = 2
#: ``ct(...)`` then ``recirc(id)``, the first pass of every stateful pipeline: ``arg`` is
#: (the Ct action, the recirculation id, then the action's zone, commit, force, nat, alg
#: port, mark and label, unpacked once)
KIND_CT_RECIRC = 3
#: ``ct(...)`` then one ``Output`` (a one-pass stateful rule, e.g. ``ct(commit),output``):
#: ``arg`` as for :data:`KIND_CT_RECIRC` with the output port in place of the recirc id
KIND_CT_OUTPUT = 4
_ALG_PORTS = {"": 0, "ftp": 21, "tftp": 69}


def compile_actions(actions: tuple) -> tuple[int, object]:
    """The (kind, argument) shape of an action list, for the datapath's dispatch."""
    types = [type(a) for a in actions]
    if types and all(t is A.Output for t in types):
        if len(actions) == 1:
            return KIND_OUTPUT, actions[0].port
        return KIND_OUTPUTS, tuple(a.port for a in actions)
    if len(types) == 2 and types[0] is A.Ct and actions[0].helper in _ALG_PORTS:
        a = actions[0]
        if types[1] is A.Recirc:
            return KIND_CT_RECIRC, (a, actions[1].recirc_id, a.zone, a.commit, a.force,
                                    a.nat, _ALG_PORTS[a.helper], a.mark, a.label)
        if types[1] is A.Output:
            return KIND_CT_OUTPUT, (a, actions[1].port, a.zone, a.commit, a.force, a.nat,
                                    _ALG_PORTS[a.helper], a.mark, a.label)
    return KIND_GENERIC, None


def normalize_mask(mask: Sequence[int]) -> tuple[int, ...]:
    """The mask a megaflow is really installed with (OVS dpif-netdev's rules).

    ``in_port`` and ``recirc_id`` are always exact; a wildcarded outer VLAN TCI becomes
    vid+present exact; values are clipped to the slot widths.
    """
    m = [v & full for v, full in zip(mask[: L.N_DP], L.SLOT_FULL)]
    m += [0] * (L.N_DP - len(m))
    m[L.IN_PORT] = _FULL32
    m[L.RECIRC_ID] = _FULL32
    if not m[L.VLAN_TCI]:
        m[L.VLAN_TCI] = VLAN_TCI_MIN_MASK
    return tuple(m)


def _make_masker(mask: tuple[int, ...]) -> Callable[[Sequence[int]], tuple]:
    """Generate ``lambda k: (k[a], k[b] & M, ...)`` over the mask's non-zero slots."""
    terms = []
    for slot, m in enumerate(mask):
        if not m or slot == L.IN_PORT:
            continue
        terms.append(f"k[{slot}]" if m == L.SLOT_FULL[slot] else f"k[{slot}] & {m}")
    src = "lambda k: (" + ", ".join(terms) + ("," if len(terms) == 1 else "") + ")"
    return eval(src, {"__builtins__": {}})  # the source holds only slot numbers and ints


def megaflow_ufid(key: tuple[int, ...], mask: tuple[int, ...]) -> str:
    """A stable flow id in UUID form (OVS hashes the key; the value is opaque)."""
    h = hashlib.blake2b(repr((key, mask)).encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Megaflow:
    """One cached datapath flow with its statistics."""

    __slots__ = (
        "key", "mask", "actions", "owner", "_ufid", "n_packets", "n_bytes",
        "used", "tcp_flags", "dead", "out_port", "subtable", "created", "kind", "arg",
    )

    def __init__(self, key: tuple[int, ...], mask: tuple[int, ...], actions: tuple,
                 owner: object, ufid: str | None, now: float) -> None:
        self.key = key
        self.mask = mask
        self.actions = actions
        self.owner = owner
        self._ufid = ufid
        self.n_packets = 0
        self.n_bytes = 0
        self.used: float | None = None
        self.tcp_flags = 0
        self.dead = False
        self.out_port = -1
        self.kind = KIND_GENERIC
        self.arg: object = None
        self.subtable: Subtable | None = None
        self.created = now
        self.set_actions(actions)

    @property
    def ufid(self) -> str:
        """The flow id, made on first use (dumps): an upcall should not pay for it."""
        if self._ufid is None:
            self._ufid = megaflow_ufid(self.key, self.mask)
        return self._ufid

    def set_actions(self, actions: tuple) -> None:
        """Replace the actions (and their compiled shape: the change takes effect on
        the very next packet, through any cache that points here)."""
        self.kind, self.arg = compile_actions(actions)
        self.out_port = self.arg if self.kind == KIND_OUTPUT else -1
        self.actions = actions


class Subtable:
    """All megaflows of one mask.

    ``rids`` counts the megaflows per recirculation id: the id is always matched
    exactly, so a lookup skips, for one dict probe, a subtable holding only other
    passes of the pipeline (the first pass never probes the second's masks).
    """

    __slots__ = ("mask", "masker", "flows", "hits", "rids")

    def __init__(self, mask: tuple[int, ...]) -> None:
        self.mask = mask
        self.masker = _make_masker(mask)
        self.flows: dict[tuple, Megaflow] = {}
        self.hits = 0
        self.rids: dict[int, int] = {}


class PortClassifier:
    """The megaflow classifier of one input port."""

    __slots__ = ("subtables", "by_mask", "lookups")

    def __init__(self) -> None:
        self.subtables: list[Subtable] = []
        self.by_mask: dict[tuple[int, ...], Subtable] = {}
        self.lookups = 0

    def lookup(self, key: Sequence[int]) -> Megaflow | None:
        self.lookups += 1
        if not self.lookups % _RESORT_EVERY:
            self._resort()
        rid = key[RECIRC_ID]
        for st in self.subtables:
            if rid in st.rids:
                mf = st.flows.get(st.masker(key))
                if mf is not None:
                    st.hits += 1
                    return mf
        return None

    def find_exact(self, key: Sequence[int], mask: tuple[int, ...]) -> Megaflow | None:
        st = self.by_mask.get(mask)
        return None if st is None else st.flows.get(st.masker(key))

    def insert(self, mf: Megaflow) -> Megaflow | None:
        """Add ``mf``; returns the megaflow it replaced (same mask and masked key)."""
        st = self.by_mask.get(mf.mask)
        if st is None:
            st = self.by_mask[mf.mask] = Subtable(mf.mask)
            self.subtables.append(st)
        k = st.masker(mf.key)
        old = st.flows.get(k)
        st.flows[k] = mf
        if old is None:
            rid = mf.key[RECIRC_ID]
            st.rids[rid] = st.rids.get(rid, 0) + 1
        mf.subtable = st
        return old

    def remove(self, mf: Megaflow) -> bool:
        st = mf.subtable
        if st is None:
            return False
        k = st.masker(mf.key)
        if st.flows.get(k) is not mf:
            return False
        del st.flows[k]
        rid = mf.key[RECIRC_ID]
        if st.rids[rid] > 1:
            st.rids[rid] -= 1
        else:
            del st.rids[rid]
        if not st.flows:
            del self.by_mask[st.mask]
            self.subtables.remove(st)
        mf.subtable = None
        return True

    def __iter__(self) -> Iterator[Megaflow]:
        for st in self.subtables:
            yield from st.flows.values()

    def __len__(self) -> int:
        return sum(len(st.flows) for st in self.subtables)

    def _resort(self) -> None:
        self.subtables.sort(key=lambda st: st.hits, reverse=True)
        for st in self.subtables:
            st.hits >>= 1
