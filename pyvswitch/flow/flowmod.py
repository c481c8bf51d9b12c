"""Version-independent flow_mod and group_mod requests (OVS ``ofputil_flow_mod``).

Both the text parser (``add-flow`` strings) and the OpenFlow codec produce these; the
``ofproto`` layer applies them.  Keeping one shape for both means a flow typed on the
command line and the same flow sent by a controller are handled by the same code.

Layer: flow.  Imports: flow.match, flow.ofpacts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from pyvswitch.flow.match import Match
from pyvswitch.flow.ofpacts import Bucket, GroupType
from pyvswitch.types import OFPG_ANY, OFPP_NONE


class FlowModCommand(Enum):
    ADD = 0
    MODIFY = 1
    MODIFY_STRICT = 2
    DELETE = 3
    DELETE_STRICT = 4


# flow_mod flags (OpenFlow 1.3 numbering)
OFPFF_SEND_FLOW_REM = 1 << 0
OFPFF_CHECK_OVERLAP = 1 << 1
OFPFF_RESET_COUNTS = 1 << 2
OFPFF_NO_PKT_COUNTS = 1 << 3
OFPFF_NO_BYT_COUNTS = 1 << 4

DEFAULT_PRIORITY = 0x8000


@dataclass(slots=True)
class FlowMod:
    """One flow table modification.

    ``table_id`` None means "not given": table 0 for ADD, all tables for MODIFY/DELETE
    (as OpenFlow 1.0 and ovs-ofctl without ``table=``).  ``cookie_mask`` non-zero makes
    MODIFY/DELETE filter on ``cookie``; for ADD, ``cookie`` is the new flow's cookie.
    ``modify_cookie``: MODIFY also replaces cookies (OpenFlow 1.0/NXM semantics when no
    cookie mask is given).
    """

    command: FlowModCommand = FlowModCommand.ADD
    match: Match = field(default_factory=Match)
    priority: int = DEFAULT_PRIORITY
    table_id: int | None = None
    cookie: int = 0
    cookie_mask: int = 0
    new_cookie: int | None = None
    idle_timeout: int = 0
    hard_timeout: int = 0
    importance: int = 0
    flags: int = 0
    out_port: int = OFPP_NONE
    out_group: int = OFPG_ANY
    buffer_id: int = 0xFFFFFFFF
    actions: tuple[object, ...] = ()
    #: OpenFlow 1.0/NXM MODIFY adds the flow when nothing matches; 1.1+ does not
    modify_may_add: bool = False


class GroupModCommand(Enum):
    ADD = 0
    MODIFY = 1
    DELETE = 2
    INSERT_BUCKET = 3
    REMOVE_BUCKET = 4
    ADD_OR_MOD = 0x8000


@dataclass(slots=True)
class GroupMod:
    command: GroupModCommand
    group_id: int
    type: GroupType = GroupType.ALL
    buckets: tuple[Bucket, ...] = ()
    selection_method: str = ""


@dataclass(slots=True)
class FlowStats:
    """One flow's statistics as a flow-stats reply carries them and ``dump-flows`` prints.

    ``idle_age``/``hard_age`` are whole seconds (None = not reported: only Nicira replies
    carry them).  ``duration`` is seconds as a float (printed with 3 decimals).
    """

    table_id: int
    priority: int
    match: Match
    actions: tuple[object, ...]
    duration: float = 0.0
    cookie: int = 0
    idle_timeout: int = 0
    hard_timeout: int = 0
    flags: int = 0
    importance: int = 0
    packet_count: int = 0
    byte_count: int = 0
    idle_age: int | None = None
    hard_age: int | None = None
