"""OpenFlow messages as version-independent values.

:func:`pyvswitch.openflow.codec.decode` turns bytes into one of these (or into the shared
:class:`~pyvswitch.flow.flowmod.FlowMod` / :class:`~pyvswitch.flow.flowmod.GroupMod`), and
:func:`~pyvswitch.openflow.codec.encode` turns them back into bytes for a given version.
Fields use one convention whatever the version: ports are internal 16-bit numbers
(``OFPP_LOCAL = 0xfffe``), port features use the OpenFlow 1.1+ bits, roles the OpenFlow 1.2
numbering, durations seconds + nanoseconds.  The few flags that only say which wire form a
message came in (``nx`` on flow statistics) let a reply use the request's form.

:class:`SessionState` is the per-connection state of OVS's Nicira extensions that changes
how OpenFlow 1.0 bytes are read and written (flow format, table-id extension, packet-in
format, miss_send_len).

Layer: openflow.  Imports: flow.match, flow.flowmod, flow.ofpacts, types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from pyvswitch.flow.flowmod import FlowMod, FlowStats, GroupMod
from pyvswitch.flow.match import Match
from pyvswitch.flow.ofpacts import GroupDesc
from pyvswitch.openflow.consts import (
    NXFF_OPENFLOW10,
    NXPIF_STANDARD,
    OFP_DEFAULT_MISS_SEND_LEN,
    OFP_NO_BUFFER,
    OFPTT_ALL,
)
from pyvswitch.types import OFPG_ALL, OFPG_ANY, OFPP_CONTROLLER, OFPP_NONE


@dataclass(slots=True)
class SessionState:
    """Per-connection Nicira extension state (OVS ``ofconn`` protocol and formats)."""

    flow_format: int = NXFF_OPENFLOW10
    flow_mod_table_id: bool = False
    packet_in_format: int = NXPIF_STANDARD
    miss_send_len: int = OFP_DEFAULT_MISS_SEND_LEN
    controller_id: int = 0


# ----------------------------------------------------------------------------- session
@dataclass(frozen=True, slots=True)
class Hello:
    """``versions`` empty means "everything up to the header's version" (no bitmap)."""

    versions: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Error:
    """A received OFPT_ERROR.  ``name`` is the OVS name when the code is known."""

    type: int
    code: int
    data: bytes = b""
    vendor: int = 0
    name: str | None = None


@dataclass(frozen=True, slots=True)
class EchoRequest:
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class EchoReply:
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class BarrierRequest:
    pass


@dataclass(frozen=True, slots=True)
class BarrierReply:
    pass


# ----------------------------------------------------------------------------- switch
@dataclass(frozen=True, slots=True)
class PortDesc:
    """A port as FEATURES_REPLY, PORT_DESC and PORT_STATUS describe it.

    ``config`` uses OFPPC_* (1.0 values are a superset), ``state`` the 1.1+ OFPPS_* bits
    (LINK_DOWN 1, BLOCKED 2, LIVE 4), features the 1.1+ OFPPF_* bits; speeds in kbps.
    """

    port_no: int
    hw_addr: int = 0
    name: str = ""
    config: int = 0
    state: int = 0
    curr: int = 0
    advertised: int = 0
    supported: int = 0
    peer: int = 0
    curr_speed: int = 0
    max_speed: int = 0


@dataclass(frozen=True, slots=True)
class FeaturesRequest:
    pass


@dataclass(frozen=True, slots=True)
class FeaturesReply:
    """``actions`` is the OpenFlow 1.0 supported-actions bitmap; ``ports`` are sent only
    in 1.0 (1.3 controllers ask PORT_DESC)."""

    datapath_id: int
    n_buffers: int = 0
    n_tables: int = 254
    auxiliary_id: int = 0
    capabilities: int = 0
    actions: int = 0
    ports: tuple[PortDesc, ...] = ()


@dataclass(frozen=True, slots=True)
class GetConfigRequest:
    pass


@dataclass(frozen=True, slots=True)
class GetConfigReply:
    flags: int = 0
    miss_send_len: int = OFP_DEFAULT_MISS_SEND_LEN


@dataclass(frozen=True, slots=True)
class SetConfig:
    flags: int = 0
    miss_send_len: int = OFP_DEFAULT_MISS_SEND_LEN


@dataclass(frozen=True, slots=True)
class PortStatus:
    reason: int
    port: PortDesc


@dataclass(frozen=True, slots=True)
class PortMod:
    port_no: int
    hw_addr: int = 0
    config: int = 0
    mask: int = 0
    advertise: int = 0


@dataclass(frozen=True, slots=True)
class TableMod:
    table_id: int
    config: int = 0


class ControllerRole(IntEnum):
    """OpenFlow 1.2 role numbering (Nicira's 1.0 roles are mapped onto it)."""

    NOCHANGE = 0
    EQUAL = 1
    MASTER = 2
    SLAVE = 3


@dataclass(frozen=True, slots=True)
class RoleRequest:
    role: ControllerRole
    generation_id: int = 0


@dataclass(frozen=True, slots=True)
class RoleReply:
    role: ControllerRole
    generation_id: int = 0


@dataclass(frozen=True, slots=True)
class GetAsyncRequest:
    pass


@dataclass(frozen=True, slots=True)
class RoleStatus:
    """The switch tells a controller that its role changed (OpenFlow 1.4 ROLE_STATUS,
    the ONF extension in 1.3); ``reason`` 0 = another controller asked to be master."""

    role: ControllerRole
    reason: int = 0
    generation_id: int = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class AsyncConfig:
    """Masks of packet-in / port-status / flow-removed reasons, for (master/equal, slave).

    OpenFlow 1.4 carries them as properties, and also role-status, table-status and
    request-forward masks; a 1.4 SET_ASYNC may leave some out: those are None (keep the
    current setting)."""

    packet_in_mask: tuple[int | None, int | None] = (0, 0)
    port_status_mask: tuple[int | None, int | None] = (0, 0)
    flow_removed_mask: tuple[int | None, int | None] = (0, 0)
    role_status_mask: tuple[int | None, int | None] = (0, 0)
    table_status_mask: tuple[int | None, int | None] = (0, 0)
    requestforward_mask: tuple[int | None, int | None] = (0, 0)

    def masks(self) -> tuple[tuple[int | None, int | None], ...]:
        """The pairs in OVS's async message type order."""
        return (self.packet_in_mask, self.port_status_mask, self.flow_removed_mask,
                self.role_status_mask, self.table_status_mask, self.requestforward_mask)


@dataclass(frozen=True, slots=True)
class GetAsyncReply:
    config: AsyncConfig = field(default_factory=AsyncConfig)


@dataclass(frozen=True, slots=True)
class SetAsync:
    config: AsyncConfig = field(default_factory=AsyncConfig)


# ----------------------------------------------------------------------------- packets
@dataclass(frozen=True, slots=True)
class PacketIn:
    """A packet sent to the controller.

    ``metadata`` carries the pipeline fields OpenFlow 1.3 reports in the packet-in match
    besides ``in_port`` (tunnel, metadata, registers, conntrack); OpenFlow 1.0 has only
    ``in_port``.  ``userdata`` travels only in NXT_PACKET_IN2.
    """

    in_port: int
    data: bytes
    reason: int = 0
    total_len: int | None = None
    buffer_id: int = OFP_NO_BUFFER
    table_id: int = 0
    cookie: int = 0xFFFFFFFFFFFFFFFF
    metadata: Match = field(default_factory=Match)
    userdata: bytes = b""

    @property
    def full_len(self) -> int:
        return len(self.data) if self.total_len is None else self.total_len


@dataclass(frozen=True, slots=True)
class PacketOut:
    actions: tuple[object, ...] = ()
    data: bytes = b""
    in_port: int = OFPP_CONTROLLER
    buffer_id: int = OFP_NO_BUFFER


@dataclass(frozen=True, slots=True)
class FlowRemoved:
    match: Match
    cookie: int = 0
    priority: int = 0x8000
    reason: int = 0
    table_id: int = 0
    duration_sec: int = 0
    duration_nsec: int = 0
    idle_timeout: int = 0
    hard_timeout: int = 0
    packet_count: int = 0
    byte_count: int = 0


# ----------------------------------------------------------------------------- stats
@dataclass(frozen=True, slots=True)
class DescRequest:
    pass


@dataclass(frozen=True, slots=True)
class DescReply:
    mfr_desc: str = ""
    hw_desc: str = ""
    sw_desc: str = ""
    serial_num: str = ""
    dp_desc: str = ""


@dataclass(frozen=True, slots=True)
class FlowStatsRequest:
    """A flow statistics filter.  ``table_id`` 0xff = all; ``nx`` = Nicira NXST form."""

    match: Match = field(default_factory=Match)
    table_id: int = OFPTT_ALL
    out_port: int = OFPP_NONE
    out_group: int = OFPG_ANY
    cookie: int = 0
    cookie_mask: int = 0
    nx: bool = False


@dataclass(frozen=True, slots=True)
class AggregateStatsRequest:
    match: Match = field(default_factory=Match)
    table_id: int = OFPTT_ALL
    out_port: int = OFPP_NONE
    out_group: int = OFPG_ANY
    cookie: int = 0
    cookie_mask: int = 0
    nx: bool = False


@dataclass(frozen=True, slots=True)
class FlowStatsReply:
    """All flows of a dump; the encoder splits them into several messages (MORE)."""

    flows: tuple[FlowStats, ...] = ()
    nx: bool = False
    #: a part of a reply split over several messages (not the last one)
    more: bool = False


@dataclass(frozen=True, slots=True)
class AggregateStatsReply:
    packet_count: int = 0
    byte_count: int = 0
    flow_count: int = 0
    nx: bool = False


@dataclass(frozen=True, slots=True)
class TableStats:
    table_id: int
    active_count: int = 0
    lookup_count: int = 0
    matched_count: int = 0
    name: str = ""
    wildcards: int = 0x3FFFFF
    max_entries: int = 1000000


@dataclass(frozen=True, slots=True)
class TableStatsRequest:
    pass


@dataclass(frozen=True, slots=True)
class TableStatsReply:
    tables: tuple[TableStats, ...] = ()
    #: a part of a reply split over several messages (not the last one)
    more: bool = False


@dataclass(frozen=True, slots=True)
class PortStats:
    port_no: int
    rx_packets: int = 0
    tx_packets: int = 0
    rx_bytes: int = 0
    tx_bytes: int = 0
    rx_dropped: int = 0
    tx_dropped: int = 0
    rx_errors: int = 0
    tx_errors: int = 0
    rx_frame_err: int = 0
    rx_over_err: int = 0
    rx_crc_err: int = 0
    collisions: int = 0
    duration_sec: int = 0
    duration_nsec: int = 0


@dataclass(frozen=True, slots=True)
class PortStatsRequest:
    port_no: int = OFPP_NONE


@dataclass(frozen=True, slots=True)
class PortStatsReply:
    stats: tuple[PortStats, ...] = ()
    #: a part of a reply split over several messages (not the last one)
    more: bool = False


@dataclass(frozen=True, slots=True)
class PortDescRequest:
    port_no: int = OFPP_NONE


@dataclass(frozen=True, slots=True)
class PortDescReply:
    ports: tuple[PortDesc, ...] = ()
    #: a part of a reply split over several messages (not the last one)
    more: bool = False


@dataclass(frozen=True, slots=True)
class TableFeatures:
    """One table's features (OpenFlow 1.3 TABLE_FEATURES entry).

    Instruction and action lists hold wire type numbers (an experimenter action is
    ``(0xffff << 32) | experimenter_id``); field lists hold OXM/NXM headers (64-bit for
    experimenter fields).  ``*_miss`` lists are optional (None = absent, same as the
    non-miss list).
    """

    table_id: int
    name: str = ""
    metadata_match: int = 0xFFFFFFFFFFFFFFFF
    metadata_write: int = 0xFFFFFFFFFFFFFFFF
    config: int = 3
    max_entries: int = 1000000
    instructions: tuple[int, ...] = ()
    next_tables: tuple[int, ...] = ()
    write_actions: tuple[int, ...] = ()
    apply_actions: tuple[int, ...] = ()
    match: tuple[int, ...] = ()
    wildcards: tuple[int, ...] = ()
    write_setfield: tuple[int, ...] = ()
    apply_setfield: tuple[int, ...] = ()
    instructions_miss: tuple[int, ...] | None = None
    next_tables_miss: tuple[int, ...] | None = None
    write_actions_miss: tuple[int, ...] | None = None
    apply_actions_miss: tuple[int, ...] | None = None
    write_setfield_miss: tuple[int, ...] | None = None
    apply_setfield_miss: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class TableFeaturesRequest:
    """An empty ``tables`` asks for the current features (a body would reconfigure)."""

    tables: tuple[TableFeatures, ...] = ()


@dataclass(frozen=True, slots=True)
class TableFeaturesReply:
    tables: tuple[TableFeatures, ...] = ()
    #: a part of a reply split over several messages (not the last one)
    more: bool = False


@dataclass(frozen=True, slots=True)
class GroupStats:
    group_id: int
    ref_count: int = 0
    packet_count: int = 0
    byte_count: int = 0
    duration_sec: int = 0
    duration_nsec: int = 0
    bucket_stats: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class GroupStatsRequest:
    group_id: int = OFPG_ALL


@dataclass(frozen=True, slots=True)
class GroupStatsReply:
    stats: tuple[GroupStats, ...] = ()
    #: a part of a reply split over several messages (not the last one)
    more: bool = False


@dataclass(frozen=True, slots=True)
class GroupDescRequest:
    group_id: int = OFPG_ALL


@dataclass(frozen=True, slots=True)
class GroupDescReply:
    groups: tuple[GroupDesc, ...] = ()
    #: a part of a reply split over several messages (not the last one)
    more: bool = False


@dataclass(frozen=True, slots=True)
class GroupFeaturesRequest:
    pass


@dataclass(frozen=True, slots=True)
class GroupFeaturesReply:
    types: int = 0
    capabilities: int = 0
    max_groups: tuple[int, int, int, int] = (0, 0, 0, 0)
    actions: tuple[int, int, int, int] = (0, 0, 0, 0)


# ----------------------------------------------------------------------------- Nicira
@dataclass(frozen=True, slots=True)
class SetFlowFormat:
    format: int


@dataclass(frozen=True, slots=True)
class FlowModTableId:
    enable: bool


@dataclass(frozen=True, slots=True)
class SetPacketInFormat:
    format: int


@dataclass(frozen=True, slots=True)
class SetControllerId:
    controller_id: int


@dataclass(frozen=True, slots=True)
class CtFlushZone:
    zone: int


# ----------------------------------------------------------------------------- bundles
@dataclass(frozen=True, slots=True)
class BundleControl:
    bundle_id: int
    type: int
    flags: int = 0
    properties: bytes = b""


@dataclass(frozen=True, slots=True)
class BundleAdd:
    """``message`` is the complete inner message (its own header and xid)."""

    bundle_id: int
    message: bytes
    flags: int = 0
    properties: bytes = b""


#: every message value decode() can return
Message = (
    Hello | Error | EchoRequest | EchoReply | BarrierRequest | BarrierReply
    | FeaturesRequest | FeaturesReply | GetConfigRequest | GetConfigReply | SetConfig
    | PortStatus | PortMod | TableMod | RoleRequest | RoleReply | GetAsyncRequest
    | GetAsyncReply | SetAsync | PacketIn | PacketOut | FlowRemoved | FlowMod | GroupMod
    | DescRequest | DescReply | FlowStatsRequest | AggregateStatsRequest | FlowStatsReply
    | AggregateStatsReply | TableStatsRequest | TableStatsReply | PortStatsRequest
    | PortStatsReply | PortDescRequest | PortDescReply | TableFeaturesRequest
    | TableFeaturesReply | GroupStatsRequest | GroupStatsReply | GroupDescRequest
    | GroupDescReply | GroupFeaturesRequest | GroupFeaturesReply | SetFlowFormat
    | FlowModTableId | SetPacketInFormat | SetControllerId | CtFlushZone | BundleControl
    | BundleAdd
)
