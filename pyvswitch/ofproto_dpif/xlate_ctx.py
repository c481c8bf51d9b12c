"""The state of one translation (OVS ``xlate_in``/``xlate_ctx``/``xlate_out``).

Translation walks a bridge's OpenFlow tables for one flow and produces datapath
actions plus the wildcard mask of everything it looked at.  :class:`XlateCtx` carries
the walk's state: the flow being modified (``flow``), what the datapath's copy of the
packet looks like so far (``base``), the wildcards (``wc``), the datapath actions
emitted, the action set, freezing state for recirculation, resource counters and the
trace tree when tracing.  It also records what the result was built from -- rules,
group buckets, MAC learning inputs -- so statistics and revalidation can find their
way back.

The bridge is duck-typed (see :class:`XBridge`) so translation can be tested with a
small stand-in and so ``ofproto_dpif.bridge`` can import translation, not the reverse.

Layer: ofproto_dpif.  Imports: flow, odp, ofproto_dpif.{trace_tree,commit,recirc}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from pyvswitch.flow import layout as L
from pyvswitch.odp import actions as dp
from pyvswitch.ofproto_dpif.commit import commit_actions
from pyvswitch.ofproto_dpif.events import ControllerCookie, PacketInReason
from pyvswitch.ofproto_dpif.recirc import FrozenState, RecircTable
from pyvswitch.ofproto_dpif.trace_text import c_hex
from pyvswitch.ofproto_dpif.trace_tree import NodeType, TraceNode, report

MAX_DEPTH = 64
MAX_RESUBMITS = MAX_DEPTH * MAX_DEPTH
MAX_STACK = 65536


class XlateError(Enum):
    """Why a translation failed; ``str()`` is OVS's ``xlate_strerror`` text."""

    OK = "OK"
    BRIDGE_NOT_FOUND = "Bridge not found"
    RECURSION_TOO_DEEP = "Recursion too deep"
    TOO_MANY_RESUBMITS = "Too many resubmits"
    STACK_TOO_DEEP = "Stack too deep"
    NO_RECIRCULATION_CONTEXT = "No recirculation context"
    RECIRCULATION_CONFLICT = "Recirculation conflict"
    TOO_MANY_MPLS_LABELS = "Too many MPLS labels"
    INVALID_TUNNEL_METADATA = "Invalid tunnel metadata"
    UNSUPPORTED_PACKET_TYPE = "Unsupported packet type"
    CONGESTION_DROP = "Congestion Drop"
    FORWARDING_DISABLED = "Forwarding is disabled"

    def __str__(self) -> str:
        return self.value


class XBridge(Protocol):
    """What translation needs from a bridge (implemented by ``bridge.Bridge``)."""

    name: str
    ofproto: Any
    xports: dict[int, Any]
    ml: Any
    recirc: RecircTable
    wants_packet_in_on_miss: bool

    def table_miss_config(self, table_id: int) -> str: ...


@dataclass(frozen=True, slots=True)
class UnrollXlate:
    """Internal action left in frozen actions: restore the table and cookie that a
    later packet-in should report (OVS ``OFPACT_UNROLL_XLATE``)."""

    table_id: int
    cookie: int


@dataclass(slots=True)
class XlateIn:
    bridge: XBridge
    #: the flow to translate: ``layout.N_FLOW`` ints, IN_PORT an OpenFlow port
    flow: list[int]
    now: float = 0.0
    #: the packet itself when one is being processed (enables side effects)
    packet: bytearray | None = None
    allow_side_effects: bool = False
    #: the result goes into the datapath (upcall, revalidation), not just a trace
    for_datapath: bool = False
    #: actions to run instead of a table lookup (packet-out)
    ofpacts: tuple[object, ...] | None = None
    in_packet_out: bool = False
    #: trace root (a list that receives the bridge node) or None
    trace: list[TraceNode] | None = None
    #: trace only: where forked recirculations are queued
    recirc_queue: list[Any] | None = None
    #: ct_state already conntracked (set by the caller for packet-out of tracked packets)
    tcp_flags: int = 0


@dataclass(slots=True)
class XlateOut:
    actions: tuple[object, ...]
    #: the wildcards, ``layout.N_FLOW`` ints, after OVS's final clean-up
    wc: list[int]
    error: XlateError
    #: the flow after translation (for "Final flow:")
    flow: list[int]
    slow: bool = False
    #: rules whose statistics this translation's megaflow feeds
    rules: list[Any] = field(default_factory=list)
    #: (group, bucket index or None for all buckets)
    groups: list[tuple[Any, int | None]] = field(default_factory=list)
    #: (in_ofport, dl_src, vlan) that NORMAL learned from
    normal: list[tuple[int, int, int]] = field(default_factory=list)
    #: recirculation ids the actions use
    recircs: list[int] = field(default_factory=list)
    #: translation had side effects that a cached megaflow would skip (learn)
    avoid_caching: bool = False
    #: (table id, matched) of every table lookup, for the tables' counters
    tables: list[tuple[int, bool]] = field(default_factory=list)


class XlateCtx:
    """Mutable state of one translation.  Action handlers live in ``xlate_actions``."""

    __slots__ = (
        "xin", "bridge", "flow", "base", "wc", "odp", "trace", "depth", "resubmits",
        "table_id", "rule", "rule_cookie", "exit", "error", "freezing", "frozen_actions",
        "pause", "recirc_update_dp_hash", "dp_hash_alg", "dp_hash_basis", "conntracked",
        "ct_nat_action", "action_set", "action_set_has_group", "actset_output",
        "in_action_set", "in_packet_out", "stack", "frozen_state", "slow", "out_rules",
        "out_groups", "out_normal", "out_recircs", "avoid_caching", "now", "orig", "out_tables",
    )

    def __init__(self, xin: XlateIn) -> None:
        self.xin = xin
        self.bridge = xin.bridge
        self.flow = xin.flow
        self.orig = tuple(xin.flow)
        self.base = base = list(xin.flow)
        if base[L.TUN_DST] or base[L.TUN_ID]:
            # the datapath does not keep tunnel metadata unless an action sets it again
            base[L.TUN_ID] = base[L.TUN_SRC] = base[L.TUN_DST] = 0
        self.wc = [0] * L.N_FLOW
        self.odp: list[object] = []
        self.trace = xin.trace
        self.depth = 0
        self.resubmits = 0
        self.table_id = 0
        self.rule: Any = None
        self.rule_cookie = 0xFFFFFFFFFFFFFFFF
        self.exit = False
        self.error = XlateError.OK
        self.freezing = False
        self.frozen_actions: list[object] = []
        self.pause: Any = None
        self.recirc_update_dp_hash = False
        self.dp_hash_alg = "l4"
        self.dp_hash_basis = 0
        self.conntracked = False
        self.ct_nat_action: Any = None
        self.action_set: list[object] = []
        self.action_set_has_group = False
        self.actset_output = 0xFFF7  # OFPP_UNSET
        self.in_action_set = False
        self.in_packet_out = xin.in_packet_out
        self.stack: list[int] = []
        self.frozen_state: FrozenState | None = None
        self.slow = False
        self.out_rules: list[Any] = []
        self.out_groups: list[tuple[Any, int | None]] = []
        self.out_normal: list[tuple[int, int, int]] = []
        self.out_recircs: list[int] = []
        self.out_tables: list[tuple[int, bool]] = []
        self.avoid_caching = False
        self.now = xin.now

    # ------------------------------------------------------------------ trace helpers
    def report(self, type: NodeType, text: str) -> list[TraceNode] | None:
        if self.trace is None:
            return None
        return report(self.trace, type, text)

    def report_error(self, text: str) -> None:
        if self.trace is not None:
            report(self.trace, NodeType.ERROR, text)

    # ------------------------------------------------------------------ datapath side
    def commit(self) -> None:
        """Emit set/push/pop actions for every header change made so far."""
        if commit_actions(self.flow, self.base, self.wc, self.odp):
            self.slow = True

    def output_dp(self, dp_port: int) -> None:
        self.odp.append(dp.Output(dp_port))

    # ------------------------------------------------------------------ freezing
    def trigger_freeze(self) -> None:
        self.exit = True
        self.freezing = True

    def trigger_recirculate_with_hash(self, alg: str, basis: int) -> None:
        self.exit = True
        self.freezing = True
        self.recirc_update_dp_hash = True
        self.dp_hash_alg = alg
        self.dp_hash_basis = basis

    def cancel_freeze(self) -> None:
        if self.freezing:
            self.freezing = False
            self.recirc_update_dp_hash = False
            self.frozen_actions = []
            self.pause = None

    def frozen_metadata(self) -> tuple[int, ...]:
        f = self.flow
        return (f[L.IN_PORT], f[L.METADATA], *f[L.REG0:L.REG0 + L.N_REGS],
                f[L.TUN_ID], f[L.TUN_SRC], f[L.TUN_DST])

    def finish_freezing(self, table_id: int) -> int:
        """Freeze the pipeline for resumption at ``table_id``; emit hash/recirc.

        Returns the recirculation id (0 if the caller must not output anything)."""
        pause = self.pause
        state = FrozenState(
            bridge=self.bridge.name,
            table_id=table_id,
            metadata=self.frozen_metadata(),
            conntracked=self.conntracked,
            actions=tuple(self.frozen_actions),
            action_set=tuple(self.action_set),
            stack=tuple(self.stack),
            userdata=pause.userdata if pause is not None else b"",
        )
        rid = self.bridge.recirc.alloc(state)
        self.out_recircs.append(rid)
        if pause is not None:
            # controller(pause): the packet goes up as a continuation instead
            if not (self.xin.allow_side_effects or self.xin.for_datapath):
                return 0
            self.put_controller_action(False, True, rid, pause.max_len,
                                       PacketInReason(pause.reason.value),
                                       pause.controller_id, pause.userdata)
        else:
            if self.recirc_update_dp_hash:
                self.odp.append(dp.Hash(self.dp_hash_basis, self.dp_hash_alg))
            self.odp.append(dp.Recirc(rid))
        self.cancel_freeze()
        return rid

    def put_controller_action(self, dont_send: bool, continuation: bool, recirc_id: int,
                              max_len: int, reason: PacketInReason, controller_id: int,
                              userdata: bytes) -> None:
        """A ``userspace(controller(...))`` action: the packet-in as the datapath sees it."""
        cookie = ControllerCookie(
            bridge=self.bridge.name, reason=reason, dont_send=dont_send,
            continuation=continuation, recirc_id=recirc_id, rule_cookie=self.rule_cookie,
            controller_id=controller_id, max_len=max_len, table_id=self.table_id,
            userdata=userdata,
        )
        text = (f"controller(reason={int(reason)},dont_send={int(dont_send)},"
                f"continuation={int(continuation)},recirc_id={recirc_id},"
                f"rule_cookie={c_hex(self.rule_cookie)},controller_id={controller_id},"
                f"max_len={max_len})")
        self.odp.append(dp.Userspace(cookie, text))


def restore_frozen_metadata(flow: list[int], metadata: tuple[int, ...]) -> None:
    flow[L.IN_PORT] = metadata[0]
    flow[L.METADATA] = metadata[1]
    flow[L.REG0:L.REG0 + L.N_REGS] = metadata[2:2 + L.N_REGS]
    flow[L.TUN_ID], flow[L.TUN_SRC], flow[L.TUN_DST] = metadata[2 + L.N_REGS:]


def clear_conntrack(flow: list[int]) -> None:
    """Forget the ct verdict (OVS ``flow_clear_conntrack``)."""
    for s in range(L.CT_STATE, L.CT_TP_DST + 1):
        flow[s] = 0
