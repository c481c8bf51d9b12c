"""Facts the OpenFlow layer reports to its controllers: removed flows, port changes.

These are values (frozen dataclasses); the connection manager turns them into
OFPT_FLOW_REMOVED / OFPT_PORT_STATUS messages for the controllers that asked for them.

Layer: ofproto.  Imports: flow.match, ofproto.ports.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from pyvswitch.flow.match import Match
from pyvswitch.ofproto.ports import PortInfo


class FlowRemovedReason(IntEnum):
    """OFPRR_* (OpenFlow 1.3 numbering; 1.4 added the last two)."""

    IDLE_TIMEOUT = 0
    HARD_TIMEOUT = 1
    DELETE = 2
    GROUP_DELETE = 3
    METER_DELETE = 4
    EVICTION = 5


@dataclass(frozen=True, slots=True)
class FlowRemoved:
    """A flow with OFPFF_SEND_FLOW_REM left its table (OVS ``ofputil_flow_removed``).

    ``duration`` is seconds since the flow was added (a modify keeps it; an add that
    replaces a flow restarts it).
    """

    table_id: int
    priority: int
    match: Match
    cookie: int
    reason: FlowRemovedReason
    duration: float
    idle_timeout: int
    hard_timeout: int
    packet_count: int
    byte_count: int


class PortReason(IntEnum):
    """OFPPR_*."""

    ADD = 0
    DELETE = 1
    MODIFY = 2


@dataclass(frozen=True, slots=True)
class PortStatus:
    """A port was added, deleted, or changed its config or state."""

    reason: PortReason
    desc: PortInfo
