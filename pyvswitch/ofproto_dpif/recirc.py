"""Recirculation ids and the frozen translation state they stand for.

When translation must stop in the middle of a pipeline (``ct(table=N)``, a select group
that needs the datapath's hash, a controller action), it *freezes*: what is needed to go
on later -- the bridge, the table to resume at, the OpenFlow metadata and registers, the
action set, the actions still to run -- becomes a :class:`FrozenState`, and the datapath
gets ``recirc(id)``.  A packet coming back with that ``recirc_id`` is translated by
thawing the state.  As OVS does, equal states share one id, so every connection that
recirculates from the same place lands in the same post-recirculation megaflows.

Layer: ofproto_dpif.  Imports: nothing below it but plain values.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ids are 32-bit and 0 means "not recirculated"
_FIRST_ID = 1
_MAX_ID = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class FrozenState:
    """Everything translation needs to resume a pipeline (OVS ``frozen_state``).

    ``metadata`` holds the OpenFlow-only and pipeline metadata the datapath does not
    carry: (in_port as an OpenFlow port, metadata, reg0..reg15, tun_id, tun_src, tun_dst).
    """

    bridge: str
    table_id: int
    metadata: tuple[int, ...]
    conntracked: bool = False
    actions: tuple[object, ...] = ()
    action_set: tuple[object, ...] = ()
    stack: tuple[int, ...] = ()
    userdata: bytes = b""
    #: a frozen controller action's own fields (packet-in metadata), else None
    controller: object = None


class RecircTable:
    """Allocates recirculation ids for frozen states, one id per distinct state."""

    __slots__ = ("_by_state", "_by_id", "_next")

    def __init__(self) -> None:
        self._by_state: dict[FrozenState, int] = {}
        self._by_id: dict[int, FrozenState] = {}
        self._next = _FIRST_ID

    def alloc(self, state: FrozenState) -> int:
        """The id for ``state``, reusing the id of an equal state."""
        rid = self._by_state.get(state)
        if rid is not None:
            return rid
        rid = self._next
        while rid in self._by_id:
            rid = rid + 1 if rid < _MAX_ID else _FIRST_ID
        self._next = rid + 1 if rid < _MAX_ID else _FIRST_ID
        self._by_state[state] = rid
        self._by_id[rid] = state
        return rid

    def find(self, recirc_id: int) -> FrozenState | None:
        return self._by_id.get(recirc_id)

    def free(self, recirc_id: int) -> None:
        state = self._by_id.pop(recirc_id, None)
        if state is not None:
            del self._by_state[state]

    def free_bridge(self, bridge: str) -> list[int]:
        """Forget every state frozen in ``bridge`` (the bridge is going away)."""
        ids = [rid for rid, st in self._by_id.items() if st.bridge == bridge]
        for rid in ids:
            self.free(rid)
        return ids

    def ids(self) -> list[int]:
        return list(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)
