"""Translation: a bridge's OpenFlow pipeline, run on one flow, becomes datapath actions.

:func:`xlate_actions` is OVS's function of the same name: it thaws a recirculated
pipeline or looks the flow up in table 0, runs the actions (``xlate_actions`` module),
executes the action set, finishes any pending freeze, and cleans the wildcards up into
a megaflow mask.  Table lookups (``resubmit``, ``goto_table``) live here too, because
they are where translation recurses and where the resource limits are enforced.

Layer: ofproto_dpif.  Imports: flow, odp, ofproto_dpif.{xlate_ctx,fieldops,trace_tree}.
"""

from __future__ import annotations

from typing import Any

from pyvswitch.flow import layout as L
from pyvswitch.flow.ofpacts import Ct as OfCt
from pyvswitch.flow.ofpacts import (
    CtClear,
    DecTtl,
    Group,
    Output,
    PopVlan,
    PushVlan,
)
from pyvswitch.flow.ofpacts import Resubmit as OfResubmit
from pyvswitch.ofproto_dpif import xlate_actions as XA
from pyvswitch.ofproto_dpif.fieldops import is_ip_any
from pyvswitch.ofproto_dpif.ports import OFPPC_NO_PACKET_IN, OFPPC_NO_RECV
from pyvswitch.ofproto_dpif.trace_text import format_ofpacts, format_rule_match
from pyvswitch.ofproto_dpif.trace_tree import NodeType, report
from pyvswitch.ofproto_dpif.xlate_ctx import (
    MAX_DEPTH,
    MAX_RESUBMITS,
    MAX_STACK,
    XlateCtx,
    XlateError,
    XlateIn,
    XlateOut,
    clear_conntrack,
    restore_frozen_metadata,
)

N_TABLES = 255
TBL_INTERNAL = 254
IN_PORT, NW_FRAG, TP_SRC, TP_DST = L.IN_PORT, L.NW_FRAG, L.TP_SRC, L.TP_DST
_NO_OF_FIELDS = [0] * (L.N_FLOW - L.METADATA)

# table-miss behaviours (``ofputil_table_miss``)
MISS_DEFAULT = "default"
MISS_CONTINUE = "continue"
MISS_CONTROLLER = "controller"
MISS_DROP = "drop"


class _InternalRule:
    """The rules OVS keeps for misses: they have actions but no table entry."""

    __slots__ = ("actions", "cookie", "priority", "match", "is_miss")

    def __init__(self, actions: tuple[object, ...], is_miss: bool) -> None:
        self.actions = actions
        self.cookie = 0
        self.priority = 0
        self.match = None
        self.is_miss = is_miss

    def credit(self, n_packets: int, n_bytes: int, now: float) -> None:
        """Internal rules keep no statistics."""


#: sends the packet to the controllers (reason "implicit miss")
MISS_RULE = _InternalRule((XA.ImplicitMissController(),), True)
#: a miss that drops
NO_PACKET_IN_RULE = _InternalRule((), False)


def rule_is_table_miss(rule: Any) -> bool:
    m = getattr(rule, "match", None)
    return bool(m is not None and rule.priority == 0 and m.is_catchall())


# ----------------------------------------------------------------------- table lookups
def lookup_from_table(ctx: XlateCtx, table_id: int, in_port: int, may_packet_in: bool,
                      honor_table_miss: bool) -> tuple[Any, int]:
    """OVS ``rule_dpif_lookup_from_table``: the rule to run and the table it came from."""
    flow = ctx.flow
    bridge = ctx.bridge
    old_in_port = flow[IN_PORT]
    frag = flow[NW_FRAG] & L.FLOW_NW_FRAG_ANY
    if frag:
        # fragment handling "normal": pretend the transport ports are not there
        old_tp = flow[TP_SRC], flow[TP_DST]
        flow[TP_SRC] = flow[TP_DST] = 0
    flow[IN_PORT] = in_port
    rule = bridge.ofproto.lookup(table_id, flow, ctx.wc)
    tid = table_id
    ctx.out_tables.append((table_id, rule is not None))
    if rule is None:
        rule, tid = _miss(ctx, table_id, old_in_port, may_packet_in, honor_table_miss)
    flow[IN_PORT] = old_in_port
    if frag:
        flow[TP_SRC], flow[TP_DST] = old_tp
    return rule, tid


def _miss(ctx: XlateCtx, table_id: int, old_in_port: int, may_packet_in: bool,
          honor_table_miss: bool) -> tuple[Any, int]:
    """No rule in ``table_id``: continue to later tables or pick a miss rule."""
    bridge = ctx.bridge
    lookup = bridge.ofproto.lookup
    miss_config = MISS_CONTINUE
    tid = table_id
    while True:
        if honor_table_miss:
            miss_config = bridge.table_miss_config(tid)
            if miss_config == MISS_CONTINUE and tid + 1 < N_TABLES:
                tid += 1
                if tid == TBL_INTERNAL:
                    tid += 1
                if tid >= N_TABLES:
                    tid = N_TABLES - 1
                    break
                rule = lookup(tid, ctx.flow, ctx.wc)
                ctx.out_tables.append((tid, rule is not None))
                if rule is not None:
                    return rule, tid
                continue
        break
    rule = NO_PACKET_IN_RULE
    if may_packet_in:
        if miss_config in (MISS_CONTINUE, MISS_CONTROLLER):
            port = bridge.xports.get(old_in_port)
            if port is not None and not port.config & OFPPC_NO_PACKET_IN:
                rule = MISS_RULE
        elif miss_config == MISS_DEFAULT and bridge.wants_packet_in_on_miss:
            rule = MISS_RULE
    return rule, tid


def report_table(ctx: XlateCtx, rule: Any, table_id: int) -> None:
    """Open a table node in the trace; later nodes go inside it."""
    if ctx.trace is None:
        return
    if rule is MISS_RULE:
        text = f'{table_id:2d}. No match, and a "packet-in" is called for.'
    elif rule is NO_PACKET_IN_RULE:
        text = f"{table_id:2d}. No match."
    else:
        m = format_rule_match(rule.match)
        text = f"{table_id:2d}. {m}, priority {rule.priority}" if m else \
            f"{table_id:2d}. priority {rule.priority}"
        if rule.cookie:
            text += f", cookie {rule.cookie:#x}"
    ctx.trace = report(ctx.trace, NodeType.TABLE, text)


def resource_check(ctx: XlateCtx) -> bool:
    if ctx.depth >= MAX_DEPTH:
        ctx.report_error(f"over max translation depth {MAX_DEPTH}")
        ctx.error = XlateError.RECURSION_TOO_DEEP
    elif ctx.resubmits >= MAX_RESUBMITS:
        ctx.report_error(f"over {MAX_RESUBMITS} resubmit actions")
        ctx.error = XlateError.TOO_MANY_RESUBMITS
    elif len(ctx.stack) >= MAX_STACK:
        ctx.report_error("resubmits yielded over 64 kB of stack")
        ctx.error = XlateError.STACK_TOO_DEEP
    else:
        return True
    return False


_TUPLE_SWAP_V4 = ((L.NW_PROTO, L.CT_NW_PROTO), (L.NW_SRC, L.CT_NW_SRC), (L.NW_DST, L.CT_NW_DST),
                  (L.TP_SRC, L.CT_TP_SRC), (L.TP_DST, L.CT_TP_DST))
_TUPLE_SWAP_V6 = ((L.NW_PROTO, L.CT_NW_PROTO), (L.IPV6_SRC, L.CT_IPV6_SRC),
                  (L.IPV6_DST, L.CT_IPV6_DST), (L.TP_SRC, L.CT_TP_SRC), (L.TP_DST, L.CT_TP_DST))


def _tuple_swap(ctx: XlateCtx) -> None:
    pairs = _TUPLE_SWAP_V4 if ctx.flow[L.ETH_TYPE] == L.ETH_TYPE_IP else _TUPLE_SWAP_V6
    for lst in (ctx.flow, ctx.wc):
        for a, b in pairs:
            lst[a], lst[b] = lst[b], lst[a]


def xlate_table_action(ctx: XlateCtx, in_port: int, table_id: int, may_packet_in: bool,
                       honor_table_miss: bool, with_ct_orig: bool, is_last: bool) -> None:
    if (ctx.depth >= MAX_DEPTH or ctx.resubmits >= MAX_RESUBMITS
            or len(ctx.stack) >= MAX_STACK):
        resource_check(ctx)
        return
    old_table_id = ctx.table_id
    ctx.table_id = table_id
    if with_ct_orig:
        if ctx.flow[L.CT_NW_PROTO] == 0 or not is_ip_any(ctx.flow):
            ctx.report_error("resubmit(ct) with non-tracked or non-IP packet!")
            ctx.table_id = old_table_id
            return
        _tuple_swap(ctx)
    rule, ctx.table_id = lookup_from_table(ctx, table_id, in_port, may_packet_in,
                                           honor_table_miss)
    if with_ct_orig:
        _tuple_swap(ctx)
    ctx.out_rules.append(rule)
    old_trace = ctx.trace
    if old_trace is not None:
        report_table(ctx, rule, table_id)
    # xlate_recursively, inlined: this is the hot path of every resubmit
    old_rule, old_cookie = ctx.rule, ctx.rule_cookie
    ctx.resubmits += 1
    deepens = table_id <= old_table_id
    if deepens:
        ctx.depth += 1
    ctx.rule = rule
    ctx.rule_cookie = rule.cookie
    XA.do_xlate_actions(ctx, rule.actions, is_last, False)
    ctx.rule_cookie = old_cookie
    ctx.rule = old_rule
    if deepens:
        ctx.depth -= 1
    ctx.trace = old_trace
    ctx.table_id = old_table_id


# ----------------------------------------------------------------------- action sets
_SLOT_ORDER = (PopVlan, PushVlan, DecTtl)  # single-instance actions, in spec order
_FINAL_ORDER = (OfCt, CtClear, OfResubmit, Output, Group)  # later wins


def execute_action_set(action_set: list[object] | tuple[object, ...]) -> list[object]:
    """The action list an action set stands for (OVS ``ofpacts_execute_action_set``)."""
    slots: dict[type, object] = {}
    set_or_move: list[object] = []
    final = None
    final_class = -1
    for a in action_set:
        t = type(a)
        if t in _SLOT_ORDER:
            slots[t] = a
        elif t in _FINAL_ORDER:
            c = _FINAL_ORDER.index(t)
            if c >= final_class:
                final, final_class = a, c
        elif t in XA.SET_OR_MOVE_TYPES:
            set_or_move.append(a)
    if final is None:
        return []
    out = [slots[t] for t in _SLOT_ORDER if t in slots]
    out.extend(set_or_move)
    out.append(final)
    return out


def xlate_action_set(ctx: XlateCtx) -> None:
    action_list = execute_action_set(ctx.action_set)
    ctx.action_set = []
    if action_list:
        ctx.in_action_set = True
        old_trace = ctx.trace
        if ctx.trace is not None:
            ctx.trace = report(ctx.trace, NodeType.TABLE, "--. Executing action set:")
        XA.do_xlate_actions(ctx, action_list, True, False)
        ctx.trace = old_trace
        ctx.in_action_set = False


def finish_freezing_commit(ctx: XlateCtx) -> None:
    """Freeze at the end of the current actions (OVS ``finish_freezing``)."""
    ctx.commit()
    ctx.finish_freezing(0)


# ----------------------------------------------------------------------- entry point
def xlate_actions(xin: XlateIn) -> XlateOut:
    ctx = XlateCtx(xin)
    flow = ctx.flow
    wc = ctx.wc
    bridge = ctx.bridge
    wc[IN_PORT] = 0xFFFFFFFF
    wc[L.ETH_TYPE] = 0xFFFF
    wc[L.RECIRC_ID] = 0xFFFFFFFF
    dl_type = flow[L.ETH_TYPE]
    if dl_type == L.ETH_TYPE_IP or dl_type == L.ETH_TYPE_IPV6:
        wc[NW_FRAG] = L.FLOW_NW_FRAG_MASK
    if xin.trace is not None:
        ctx.trace = report(xin.trace, NodeType.BRIDGE, f'bridge("{bridge.name}")')
    ofpacts = xin.ofpacts
    in_xport = bridge.xports.get(flow[IN_PORT])
    if flow[L.RECIRC_ID]:
        if not _thaw(ctx):
            return _finish(ctx)
        ofpacts = ctx.frozen_state.actions or None
    elif flow[L.CT_STATE] & L.CS_TRACKED:
        ctx.conntracked = True
    rule = None
    if ofpacts is None:
        rule, ctx.table_id = lookup_from_table(ctx, ctx.table_id, flow[IN_PORT], True, True)
        ctx.out_rules.append(rule)
        if ctx.trace is not None:
            report_table(ctx, rule, ctx.table_id)
    if in_xport is None or not in_xport.config & OFPPC_NO_RECV:
        if ofpacts is None:
            ctx.rule = rule
            ctx.rule_cookie = rule.cookie
            ofpacts = rule.actions
        XA.do_xlate_actions(ctx, ofpacts, True, False)
        if ctx.error is XlateError.OK:
            if not ctx.freezing and ctx.action_set:
                xlate_action_set(ctx)
            if ctx.freezing:
                finish_freezing_commit(ctx)
    return _finish(ctx)


def _thaw(ctx: XlateCtx) -> bool:
    """Restore a frozen pipeline for a recirculated packet; False on failure."""
    flow = ctx.flow
    state = ctx.bridge.recirc.find(flow[L.RECIRC_ID])
    if state is None:
        ctx.report_error(f"Recirculation context not found for ID {flow[L.RECIRC_ID]:x}")
        ctx.error = XlateError.NO_RECIRCULATION_CONTEXT
        return False
    ctx.frozen_state = state
    old_trace = ctx.trace
    if old_trace is not None:
        ctx.trace = report(old_trace, NodeType.THAW, "thaw")
    if ctx.xin.ofpacts:
        ctx.report_error("Recirculation conflict (actions)!")
        ctx.error = XlateError.RECIRCULATION_CONFLICT
        return False
    ctx.table_id = state.table_id
    ctx.report(NodeType.THAW, f"Resuming from table {state.table_id}")
    ctx.conntracked = state.conntracked
    if not state.conntracked:
        clear_conntrack(flow)
    restore_frozen_metadata(flow, state.metadata)
    ctx.stack = list(state.stack)
    if state.action_set:
        if ctx.trace is not None:
            ctx.report(NodeType.THAW, "Restoring action set: "
                       + format_ofpacts(state.action_set))
        ctx.actset_output = 0xFFF7
        XA.write_actions(ctx, state.action_set)
    if state.actions and ctx.trace is not None:
        ctx.report(NodeType.THAW, "Restoring actions: " + format_ofpacts(state.actions))
    ctx.trace = old_trace
    return True


def _finish(ctx: XlateCtx) -> XlateOut:
    """OVS ``xlate_wc_finish`` plus the error convention (errors drop)."""
    wc = ctx.wc
    flow = ctx.flow
    upcall = ctx.orig
    # non-packet fields are never part of a megaflow
    wc[L.METADATA:] = _NO_OF_FIELDS
    proto = flow[L.NW_PROTO]
    dl_type = flow[L.ETH_TYPE]
    if (dl_type == L.ETH_TYPE_IP and proto == L.IPPROTO_ICMP) or (
            dl_type == L.ETH_TYPE_IPV6 and proto == L.IPPROTO_ICMPV6):
        wc[L.TP_SRC] &= 0xFF
        wc[L.TP_DST] &= 0xFF
    if wc[L.VLAN_TCI]:
        wc[L.VLAN_TCI] |= L.VLAN_CFI
    if wc[L.VLAN2_TCI]:
        wc[L.VLAN2_TCI] |= L.VLAN_CFI
    if flow[L.NW_FRAG] & L.FLOW_NW_FRAG_LATER:
        wc[L.TP_SRC] = 0
        wc[L.TP_DST] = 0
    if upcall[L.VLAN_TPID] not in (L.ETH_TYPE_VLAN_8021Q, L.ETH_TYPE_VLAN_8021AD):
        wc[L.VLAN_TPID] = wc[L.VLAN_TCI] = 0
    if upcall[L.VLAN2_TPID] not in (L.ETH_TYPE_VLAN_8021Q, L.ETH_TYPE_VLAN_8021AD):
        wc[L.VLAN2_TPID] = wc[L.VLAN2_TCI] = 0
    if not upcall[L.TUN_DST]:
        wc[L.TUN_ID] = wc[L.TUN_SRC] = wc[L.TUN_DST] = 0
    if ctx.error is not XlateError.OK:
        actions: tuple[object, ...] = ()
        ctx.slow = False
    else:
        actions = tuple(ctx.odp)
    return XlateOut(
        actions=actions, wc=wc, error=ctx.error, flow=flow, slow=ctx.slow,
        rules=ctx.out_rules, groups=ctx.out_groups, normal=ctx.out_normal,
        recircs=ctx.out_recircs, avoid_caching=ctx.avoid_caching, tables=ctx.out_tables,
    )
