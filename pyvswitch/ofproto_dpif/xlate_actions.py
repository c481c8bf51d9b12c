"""Translating OpenFlow actions one by one (OVS ``do_xlate_actions`` and helpers).

Each ofpact type has a handler ``(ctx, action, is_last, in_group_bucket) -> bool``; a
True return ends the current action list (a ``dec_ttl`` exception, a missing group).
Handlers that look at the packet un-wildcard what they look at; handlers that change
it only edit ``ctx.flow`` and leave it to ``ctx.commit()`` (called before anything
leaves: output, ct, recirc, userspace) to turn the edits into datapath actions.

When translation freezes (recirculation), the rest of the current action list is
copied into the frozen state by :func:`freeze_unroll_actions`, as OVS does, so the
pipeline can continue where it stopped after the datapath hands the packet back.

Layer: ofproto_dpif.  Imports: flow, odp, ofproto_dpif.{xlate_ctx,fieldops,ports,...}.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyvswitch.flow import layout as L
from pyvswitch.flow import ofpacts as of
from pyvswitch.flow.fields import FIELDS
from pyvswitch.odp import actions as dp
from pyvswitch.ofproto_dpif import fieldops as fo
from pyvswitch.ofproto_dpif.events import PacketInReason
from pyvswitch.ofproto_dpif.ports import OFPPC_NO_FLOOD, OFPPC_NO_FWD
from pyvswitch.ofproto_dpif.recirc import FrozenState
from pyvswitch.ofproto_dpif.trace_text import c_hex, format_ofpact, format_ofpacts
from pyvswitch.ofproto_dpif.trace_tree import NodeType
from pyvswitch.ofproto_dpif.trace_values import format_subfield_value
from pyvswitch.ofproto_dpif.xlate_ctx import UnrollXlate, XlateCtx, XlateError, clear_conntrack
from pyvswitch.types import (
    OFPP_ALL,
    OFPP_CONTROLLER,
    OFPP_FLOOD,
    OFPP_IN_PORT,
    OFPP_NONE,
    OFPP_NORMAL,
    OFPP_TABLE,
)

_METADATA_FIELD = FIELDS["metadata"]


@dataclass(frozen=True, slots=True)
class ImplicitMissController:
    """The miss rule's action: a packet-in with reason "implicit miss"."""

    def trace_text(self) -> str:
        return "controller(reason=)"  # OVS prints no name for internal reasons


def _unroll_text(self: UnrollXlate) -> str:
    return f"unroll_xlate(table={self.table_id}, cookie={self.cookie})"


UnrollXlate.trace_text = _unroll_text  # type: ignore[attr-defined]


# ------------------------------------------------------------------------- the loop
def do_xlate_actions(ctx: XlateCtx, ofpacts: tuple[object, ...] | list[object],
                     is_last: bool, group_bucket: bool) -> None:
    if not ofpacts:
        if ctx.trace is not None:
            ctx.report(NodeType.ACTION, "drop")
        return
    n = len(ofpacts)
    i = 0
    handlers = HANDLERS
    while i < n:
        a = ofpacts[i]
        if ctx.error is not _OK:
            break
        if ctx.exit:
            if ctx.freezing:
                freeze_unroll_actions(ctx, ofpacts, i)
            break
        if ctx.trace is not None:
            ctx.report(NodeType.ACTION, format_ofpact(a))
        last = is_last and i == n - 1 and not ctx.action_set
        h = handlers.get(type(a))
        if h is None:
            i += 1
            continue
        r = h(ctx, a, last, group_bucket)
        if r is _CONTINUE:
            # resubmit/goto_table: never re-run them after thawing
            i += 1
            continue
        if r is _SKIP_NEXT:
            i += 1
        elif r:
            return
        if ctx.exit and ctx.error is _OK and not ctx.frozen_actions:
            freeze_unroll_actions(ctx, ofpacts, i)
            break
        i += 1


_CONTINUE = object()
_SKIP_NEXT = object()
_OK = XlateError.OK


def _put_unroll(ctx: XlateCtx) -> None:
    last = None
    for x in reversed(ctx.frozen_actions):
        if isinstance(x, UnrollXlate):
            last = x
            break
    if last is None or last.table_id != ctx.table_id or last.cookie != ctx.rule_cookie:
        ctx.frozen_actions.append(UnrollXlate(ctx.table_id, ctx.rule_cookie))


_PIN_TYPES = (of.OutputReg, of.Group, of.Output, of.Controller, of.DecTtl)


def freeze_unroll_actions(ctx: XlateCtx, ofpacts: tuple[object, ...] | list[object],
                          start: int) -> None:
    """Copy ``ofpacts[start:]`` into the frozen actions (OVS ``freeze_unroll_actions``)."""
    fa = ctx.frozen_actions
    for a in ofpacts[start:]:
        t = type(a)
        if t in _PIN_TYPES:
            _put_unroll(ctx)
        elif t is of.Resubmit:
            if a.table is None:
                _put_unroll(ctx)
        elif t is of.GotoTable:
            fa.append(of.Resubmit(None, a.table_id))
            continue
        elif t is of.WriteMetadata:
            fa.append(of.SetField(_METADATA_FIELD, a.metadata & a.mask, a.mask))
            continue
        elif t is of.Note:
            continue
        fa.append(a)


# ------------------------------------------------------------------------- output
def compose_output(ctx: XlateCtx, ofport: int) -> None:
    xport = ctx.bridge.xports.get(ofport)
    if xport is None:
        ctx.report(NodeType.WARN, "Nonexistent output port")
        return
    if xport.config & OFPPC_NO_FWD:
        ctx.report(NodeType.DETAIL, "OFPPC_NO_FWD set, skipping output")
        return
    ctx.commit()
    ctx.odp.append(dp.Output(xport.dp_port))


def flood_packets(ctx: XlateCtx, all_ports: bool) -> None:
    in_port = ctx.flow[L.IN_PORT]
    for ofport, xport in sorted(ctx.bridge.xports.items()):
        if ofport == in_port:
            continue
        if all_ports or not xport.config & OFPPC_NO_FLOOD:
            compose_output(ctx, ofport)


def xlate_output(ctx: XlateCtx, port: int, controller_len: int, may_packet_in: bool,
                 is_last: bool, group_bucket: bool) -> None:
    flow = ctx.flow
    if port == OFPP_IN_PORT:
        compose_output(ctx, flow[L.IN_PORT])
    elif port == OFPP_TABLE:
        _xlate.xlate_table_action(ctx, flow[L.IN_PORT], 0, may_packet_in, True, False, False)
    elif port == OFPP_NORMAL:
        _normal.xlate_normal(ctx)
    elif port == OFPP_FLOOD:
        flood_packets(ctx, False)
    elif port == OFPP_ALL:
        flood_packets(ctx, True)
    elif port == OFPP_CONTROLLER:
        if ctx.in_packet_out:
            reason = PacketInReason.PACKET_OUT
        elif group_bucket:
            reason = PacketInReason.GROUP
        elif ctx.in_action_set:
            reason = PacketInReason.ACTION_SET
        else:
            reason = PacketInReason.ACTION
        xlate_controller(ctx, controller_len, reason, 0, b"")
    elif port == OFPP_NONE:
        pass
    elif port != flow[L.IN_PORT]:
        compose_output(ctx, port)
    else:
        ctx.report(NodeType.WARN, "skipping output to input port")


def xlate_controller(ctx: XlateCtx, max_len: int, reason: PacketInReason,
                     controller_id: int, userdata: bytes) -> None:
    ctx.commit()
    if (reason is PacketInReason.ACTION and ctx.rule is not None
            and _xlate.rule_is_table_miss(ctx.rule)):
        reason = PacketInReason.EXPLICIT_MISS
    state = FrozenState(
        bridge=ctx.bridge.name, table_id=ctx.table_id, metadata=ctx.frozen_metadata(),
        conntracked=ctx.conntracked, stack=tuple(ctx.stack), userdata=userdata,
    )
    rid = ctx.bridge.recirc.alloc(state)
    ctx.out_recircs.append(rid)
    dont_send = not (ctx.xin.allow_side_effects or ctx.xin.for_datapath)
    ctx.put_controller_action(dont_send, False, rid, max_len, reason, controller_id, userdata)


# ------------------------------------------------------------------------- handlers
def _h_output(ctx, a, last, gb):
    xlate_output(ctx, a.port, a.max_len, True, last, gb)


def _h_output_reg(ctx, a, last, gb):
    port = fo.sf_read(ctx.flow, a.src)
    if port <= 0xFFFF:
        ctx.report(NodeType.DETAIL, f"output port is {port}")
        fo.sf_unwildcard(ctx.wc, a.src)
        xlate_output(ctx, port, a.max_len, False, last, gb)
    else:
        ctx.report(NodeType.WARN, f"output port {port} is out of range")


def _h_enqueue(ctx, a, last, gb):
    xlate_output(ctx, a.port, 0, False, last, gb)


def _h_controller(ctx, a, last, gb):
    if a.pause:
        ctx.pause = a
        ctx.trigger_freeze()
        return _SKIP_NEXT
    reason = PacketInReason(a.reason.value)
    xlate_controller(ctx, a.max_len, reason, a.controller_id, a.userdata)


def _h_implicit_miss(ctx, a, last, gb):
    xlate_controller(ctx, 0xFFFF, PacketInReason.IMPLICIT_MISS, 0, b"")


def _h_group(ctx, a, last, gb):
    return _group.xlate_group_action(ctx, a.group_id, last)


def _h_resubmit(ctx, a, last, gb):
    in_port = a.in_port
    if in_port is None or in_port == OFPP_IN_PORT:
        in_port = ctx.flow[L.IN_PORT]
    table_id = ctx.table_id if a.table is None else a.table
    internal = ctx.rule is not None and getattr(ctx.rule, "table_id", 0) == 254
    _xlate.xlate_table_action(ctx, in_port, table_id, internal, internal, a.with_ct_orig, last)
    return _CONTINUE


def _h_goto_table(ctx, a, last, gb):
    _xlate.xlate_table_action(ctx, ctx.flow[L.IN_PORT], a.table_id, True, True, False, last)
    return _CONTINUE


def _h_exit(ctx, a, last, gb):
    ctx.exit = True


def _h_note(ctx, a, last, gb):
    return None


def _h_set_vlan_vid(ctx, a, last, gb):
    flow = ctx.flow
    ctx.wc[L.VLAN_TCI] |= L.VLAN_VID_MASK | L.VLAN_CFI
    if flow[L.VLAN_TCI] & L.VLAN_CFI or a.push_vlan_if_needed:
        if not flow[L.VLAN_TPID]:
            flow[L.VLAN_TPID] = L.ETH_TYPE_VLAN_8021Q
        flow[L.VLAN_TCI] = (flow[L.VLAN_TCI] & ~L.VLAN_VID_MASK) | (a.vid & 0xFFF) | L.VLAN_CFI


def _h_set_vlan_pcp(ctx, a, last, gb):
    flow = ctx.flow
    ctx.wc[L.VLAN_TCI] |= L.VLAN_PCP_MASK | L.VLAN_CFI
    if flow[L.VLAN_TCI] & L.VLAN_CFI or a.push_vlan_if_needed:
        if not flow[L.VLAN_TPID]:
            flow[L.VLAN_TPID] = L.ETH_TYPE_VLAN_8021Q
        flow[L.VLAN_TCI] = ((flow[L.VLAN_TCI] & ~L.VLAN_PCP_MASK) | ((a.pcp & 7) << 13)
                            | L.VLAN_CFI)


def _n_vlans(flow: list[int]) -> int:
    if not flow[L.VLAN_TCI] & L.VLAN_CFI:
        return 0
    return 2 if flow[L.VLAN2_TCI] & L.VLAN_CFI else 1


def _h_pop_vlan(ctx, a, last, gb):
    flow, wc = ctx.flow, ctx.wc
    n = _n_vlans(flow)
    if n > 1:
        wc[L.VLAN2_TPID] = 0xFFFF
        wc[L.VLAN2_TCI] = 0xFFFF
        flow[L.VLAN_TPID], flow[L.VLAN_TCI] = flow[L.VLAN2_TPID], flow[L.VLAN2_TCI]
        flow[L.VLAN2_TPID] = flow[L.VLAN2_TCI] = 0
    elif n == 1:
        flow[L.VLAN_TPID] = flow[L.VLAN_TCI] = 0


def _h_push_vlan(ctx, a, last, gb):
    flow, wc = ctx.flow, ctx.wc
    n = _n_vlans(flow)
    if n:
        wc[L.VLAN_TPID] = wc[L.VLAN_TCI] = 0xFFFF
        if n > 1:
            wc[L.VLAN2_TPID] = wc[L.VLAN2_TCI] = 0xFFFF
    flow[L.VLAN2_TPID], flow[L.VLAN2_TCI] = flow[L.VLAN_TPID], flow[L.VLAN_TCI]
    flow[L.VLAN_TPID] = a.ethertype
    flow[L.VLAN_TCI] = L.VLAN_CFI


def _h_set_field(ctx, a, last, gb):
    flow, wc = ctx.flow, ctx.wc
    raw = a.raw
    field = a.field
    R = of.SetRaw
    if raw is R.SET_FIELD or raw is R.LOAD:
        if fo.prereqs_ok(field, flow, wc):
            fo.set_mask_l3_prereqs(field, flow, wc)
            fo.field_unwildcard(wc, field, a.mask)
            field.set(flow, a.value, a.mask)
            if field.slot == L.VLAN_TCI and flow[L.VLAN_TCI] and not flow[L.VLAN_TPID]:
                flow[L.VLAN_TPID] = L.ETH_TYPE_VLAN_8021Q
        else:
            ctx.report(NodeType.WARN, f"unmet prerequisites for {field.name}, set_field ignored")
        return None
    if raw is R.MOD_DL_SRC or raw is R.MOD_DL_DST:
        fo.field_unwildcard(wc, field, a.mask)
        field.set(flow, a.value, a.mask)
    elif raw is R.MOD_NW_SRC or raw is R.MOD_NW_DST:
        if flow[L.ETH_TYPE] == L.ETH_TYPE_IP:
            fo.field_unwildcard(wc, field, a.mask)
            wc[L.NW_PROTO] = 0xFF
            field.set(flow, a.value, a.mask)
    elif raw is R.MOD_NW_TOS or raw is R.MOD_NW_ECN or raw is R.MOD_NW_TTL:
        if fo.is_ip_any(flow):
            wc[L.NW_PROTO] = 0xFF
            fo.field_unwildcard(wc, field, a.mask)
            field.set(flow, a.value, a.mask)
    elif raw is R.MOD_TP_SRC or raw is R.MOD_TP_DST:
        if fo.is_ip_any(flow) and not flow[L.NW_FRAG] & L.FLOW_NW_FRAG_LATER:
            wc[L.NW_PROTO] = 0xFF
            fo.field_unwildcard(wc, field, a.mask)
            field.set(flow, a.value, a.mask)
    elif raw is R.MOD_VLAN_VID:
        _h_set_vlan_vid(ctx, of.SetVlanVid(a.value & 0xFFF), last, gb)
    elif raw is R.MOD_VLAN_PCP:
        _h_set_vlan_pcp(ctx, of.SetVlanPcp(a.value & 7), last, gb)
    return None


def _h_set_ip_ttl(ctx, a, last, gb):
    if fo.is_ip_any(ctx.flow):
        ctx.wc[L.NW_PROTO] = 0xFF
        ctx.wc[L.NW_TTL] = 0xFF
        ctx.flow[L.NW_TTL] = a.ttl & 0xFF


def _h_move(ctx, a, last, gb):
    flow, wc = ctx.flow, ctx.wc
    src, dst = a.src, a.dst
    if fo.prereqs_ok(dst.field, flow, wc) and fo.prereqs_ok(src.field, flow, wc):
        fo.sf_unwildcard(wc, src)
        fo.sf_unwildcard(wc, dst)
        fo.sf_write(flow, dst, fo.sf_read(flow, src))
    report_subfield(ctx, dst)


def report_subfield(ctx: XlateCtx, sf: of.SubField) -> None:
    if ctx.trace is not None:
        ctx.report(NodeType.DETAIL, format_subfield_value(ctx.flow, sf))


def _h_dec_ttl(ctx, a, last, gb):
    flow = ctx.flow
    ctx.wc[L.NW_TTL] = 0xFF
    ctx.wc[L.NW_PROTO] = 0xFF
    if not fo.is_ip_any(flow):
        return None
    if flow[L.NW_TTL] > 1:
        flow[L.NW_TTL] -= 1
        return None
    for cid in a.controller_ids:
        xlate_controller(ctx, 0xFFFF, PacketInReason.INVALID_TTL, cid, b"")
    v = 4 if flow[L.ETH_TYPE] == L.ETH_TYPE_IP else 6
    ctx.report(NodeType.WARN, f"IPv{v} decrement TTL exception")
    return True


def _h_write_metadata(ctx, a, last, gb):
    flow = ctx.flow
    flow[L.METADATA] = (flow[L.METADATA] & ~a.mask) | (a.metadata & a.mask)


def write_actions(ctx: XlateCtx, actions: tuple[object, ...]) -> None:
    if not ctx.action_set_has_group:
        for x in actions:
            if type(x) is of.Output:
                ctx.actset_output = x.port
            elif type(x) is of.Group:
                ctx.actset_output = 0xFFF7
                ctx.action_set_has_group = True
                break
    ctx.action_set.extend(actions)


def _report_action_set(ctx: XlateCtx, verb: str) -> None:
    if ctx.trace is None:
        return
    lst = _xlate.execute_action_set(ctx.action_set)
    if lst:
        ctx.report(NodeType.DETAIL, f"action set {verb}: {format_ofpacts(lst)}")
    else:
        ctx.report(NodeType.DETAIL, f"action set {verb} empty")


def _h_write_actions(ctx, a, last, gb):
    write_actions(ctx, a.actions)
    _report_action_set(ctx, "is")


def _h_clear_actions(ctx, a, last, gb):
    _report_action_set(ctx, "was")
    ctx.action_set = []
    ctx.actset_output = 0xFFF7
    ctx.action_set_has_group = False


def _h_learn(ctx, a, last, gb):
    _learn.xlate_learn(ctx, a)


def _h_ct(ctx, a, last, gb):
    _ct.compose_conntrack(ctx, a, last)


def _h_ct_clear(ctx, a, last, gb):
    if ctx.conntracked:
        ctx.conntracked = False
        clear_conntrack(ctx.flow)
        ctx.odp.append(dp.CtClear())


def _h_nat(ctx, a, last, gb):
    ctx.ct_nat_action = a


def _h_unroll(ctx, a, last, gb):
    ctx.table_id = a.table_id
    ctx.rule_cookie = a.cookie
    ctx.report(NodeType.THAW, f"restored state: table={a.table_id}, cookie={c_hex(a.cookie)}")


def _h_noop(ctx, a, last, gb):
    return None


HANDLERS = {
    of.Output: _h_output,
    of.OutputReg: _h_output_reg,
    of.Enqueue: _h_enqueue,
    of.Controller: _h_controller,
    ImplicitMissController: _h_implicit_miss,
    of.Group: _h_group,
    of.Resubmit: _h_resubmit,
    of.GotoTable: _h_goto_table,
    of.Exit: _h_exit,
    of.Note: _h_note,
    of.SetVlanVid: _h_set_vlan_vid,
    of.SetVlanPcp: _h_set_vlan_pcp,
    of.PopVlan: _h_pop_vlan,
    of.PushVlan: _h_push_vlan,
    of.SetField: _h_set_field,
    of.SetIPTtl: _h_set_ip_ttl,
    of.Move: _h_move,
    of.DecTtl: _h_dec_ttl,
    of.WriteMetadata: _h_write_metadata,
    of.WriteActions: _h_write_actions,
    of.ClearActions: _h_clear_actions,
    of.Learn: _h_learn,
    of.Ct: _h_ct,
    of.CtClear: _h_ct_clear,
    of.Nat: _h_nat,
    of.SetQueue: _h_noop,
    of.Meter: _h_noop,
    of.Drop: _h_noop,
    UnrollXlate: _h_unroll,
}

#: actions an action set applies in order (all of them, not just the last)
SET_OR_MOVE_TYPES = frozenset(
    (of.SetField, of.Move, of.SetIPTtl, of.SetVlanVid, of.SetVlanPcp, of.SetQueue)
)

# The modules below call back into this one (mutual recursion through the pipeline);
# they are bound here, after everything they use from this module exists.
from pyvswitch.ofproto_dpif import learn as _learn  # noqa: E402
from pyvswitch.ofproto_dpif import normal as _normal  # noqa: E402
from pyvswitch.ofproto_dpif import xlate as _xlate  # noqa: E402
from pyvswitch.ofproto_dpif import xlate_ct as _ct  # noqa: E402
from pyvswitch.ofproto_dpif import xlate_group as _group  # noqa: E402
