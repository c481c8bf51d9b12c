"""A flow-table entry (OVS ``struct rule``) and questions asked about its actions.

A :class:`Rule` is the classifier's rule object for ``ofproto`` tables: it carries the
match and priority the classifier needs, the actions translation runs, and the state
OpenFlow reports (cookie, timeouts, flags, timestamps, counters).  Translation credits
packets to it with :meth:`Rule.credit`.

Timestamps are seconds on the caller's clock (``now``): ``created`` when the flow was
added (kept across modifies), ``modified`` when it was last added or modified (the hard
timeout and ``hard_age`` count from it), ``used`` when a packet last hit it (the idle
timeout and ``idle_age`` count from it; it starts at ``modified``).

Layer: ofproto.  Imports: flow, types.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pyvswitch.flow.flowmod import (
    OFPFF_CHECK_OVERLAP,
    OFPFF_NO_BYT_COUNTS,
    OFPFF_NO_PKT_COUNTS,
    OFPFF_RESET_COUNTS,
    OFPFF_SEND_FLOW_REM,
)
from pyvswitch.flow.match import Match
from pyvswitch.flow.ofpacts import (
    LEARN_F_DELETE_LEARNED,
    Controller,
    Ct,
    Enqueue,
    Group,
    Learn,
    Output,
    WriteActions,
)
from pyvswitch.types import OFPG_ANY, OFPP_ANY, OFPP_CONTROLLER

#: the flow_mod flags a rule keeps and flow stats report (OVS OFPUTIL_FF_STATE): all of
#: them, check_overlap and reset_counts included ("OpenFlow implies that they should be")
RULE_STATE_FLAGS = (OFPFF_SEND_FLOW_REM | OFPFF_CHECK_OVERLAP | OFPFF_RESET_COUNTS
                    | OFPFF_NO_PKT_COUNTS | OFPFF_NO_BYT_COUNTS)


def iter_flat_actions(actions: tuple[object, ...]) -> Iterator[object]:
    """Every action, descending into the action lists nested in ``write_actions`` and
    ``ct`` (OVS ``OFPACT_FOR_EACH_FLATTENED``)."""
    for a in actions:
        yield a
        if isinstance(a, WriteActions):
            yield from iter_flat_actions(a.actions)
        elif isinstance(a, Ct):
            yield from iter_flat_actions(a.actions)


def actions_output_to_port(actions: tuple[object, ...], port: int) -> bool:
    """Does an output, enqueue or controller action send to ``port``?  (The out_port
    filter of flow_mod and flow stats; FLOOD/ALL/groups do not count, as in OVS.)"""
    if port == OFPP_ANY:
        return True
    for a in iter_flat_actions(actions):
        if isinstance(a, (Output, Enqueue)) and a.port == port:
            return True
        if isinstance(a, Controller) and port == OFPP_CONTROLLER:
            return True
    return False


def actions_output_to_group(actions: tuple[object, ...], group_id: int) -> bool:
    if group_id == OFPG_ANY:
        return True
    return any(isinstance(a, Group) and a.group_id == group_id
               for a in iter_flat_actions(actions))


#: action types that hold other actions, or that the helpers below look for
_SCANNED = frozenset((WriteActions, Ct, Group, Learn))
_NO_GROUPS: frozenset[int] = frozenset()


def _plain(actions: tuple[object, ...]) -> bool:
    """No group, learn or nested action list: true for most flows, checked without
    walking a generator (this runs for every flow_mod)."""
    for a in actions:
        if type(a) in _SCANNED:
            return False
    return True


def action_group_ids(actions: tuple[object, ...]) -> frozenset[int]:
    if _plain(actions):
        return _NO_GROUPS
    return frozenset(a.group_id for a in iter_flat_actions(actions) if isinstance(a, Group))


def learn_delete_cookies(actions: tuple[object, ...]) -> tuple[tuple[int, int], ...]:
    """(cookie, table_id) of every ``learn(..., delete_learned)`` in ``actions``: the
    flows those learn actions add disappear with the last rule holding such a learn."""
    if _plain(actions):
        return ()
    return tuple((a.cookie, a.table_id) for a in iter_flat_actions(actions)
                 if isinstance(a, Learn) and a.flags & LEARN_F_DELETE_LEARNED)


@dataclass(eq=False, slots=True)
class Rule:
    """One flow in one table.  Identity matters: compare rules with ``is``.

    A table may hold a million rules, so a rule is kept small: slots only, the match
    packed (see :func:`pyvswitch.classifier.packed.pack_match`; the OpenFlow layer
    does it when it creates rules), actions shared between rules that have equal
    ones, and ``group_ids`` derived from the actions when asked.
    """

    table_id: int
    priority: int
    match: Match
    actions: tuple[object, ...] = ()
    cookie: int = 0
    idle_timeout: int = 0
    hard_timeout: int = 0
    importance: int = 0
    flags: int = 0
    created: float = 0.0
    modified: float = 0.0
    used: float = 0.0
    n_packets: int = 0
    n_bytes: int = 0

    def credit(self, n_packets: int, n_bytes: int, now: float) -> None:
        """Account packets that hit this rule (translation / revalidation)."""
        self.n_packets += n_packets
        self.n_bytes += n_bytes
        if now > self.used:
            self.used = now

    def set_actions(self, actions: tuple[object, ...]) -> None:
        self.actions = actions

    @property
    def group_ids(self) -> frozenset[int]:
        """The groups the actions refer to."""
        return action_group_ids(self.actions)

    @property
    def send_flow_rem(self) -> bool:
        return bool(self.flags & OFPFF_SEND_FLOW_REM)

    def expiry(self) -> float | None:
        """The earliest time at which a timeout may remove this rule, or None."""
        t = None
        if self.hard_timeout:
            t = self.modified + self.hard_timeout
        if self.idle_timeout:
            i = self.used + self.idle_timeout
            t = i if t is None or i < t else t
        return t

    def has_out_port(self, port: int) -> bool:
        return actions_output_to_port(self.actions, port)

    def has_out_group(self, group_id: int) -> bool:
        return actions_output_to_group(self.actions, group_id)
