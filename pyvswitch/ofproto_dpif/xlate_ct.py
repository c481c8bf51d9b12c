"""Translating ``ct(...)``: the connection tracker as a datapath action.

``ct`` commits pending header changes, runs its nested actions (``nat``, and
``set_field``/``load`` into ct_mark/ct_label, which become the action's mark and label
with the masks those actions wrote), and emits a datapath ``ct``.  With ``table=N`` the
pipeline forks: a recirculation resumes at table N with the tracker's verdict in the
ct_* fields, while the current action list goes on -- with the ct fields cleared,
because a verdict is only visible after recirculation.

Layer: ofproto_dpif.  Imports: flow, odp, ofproto_dpif.{xlate_ctx,xlate_actions,fieldops}.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyvswitch.flow import layout as L
from pyvswitch.flow.ofpacts import NX_CT_RECIRC_NONE, Ct, Nat
from pyvswitch.odp import actions as dp
from pyvswitch.ofproto_dpif import fieldops as fo
from pyvswitch.ofproto_dpif import xlate_actions as XA
from pyvswitch.ofproto_dpif.trace_tree import NodeType
from pyvswitch.ofproto_dpif.xlate_ctx import XlateCtx, clear_conntrack

_HELPERS = {21: "ftp", 69: "tftp"}
#: fields frozen with the pipeline (registers, metadata, in_port, tunnel)
_FROZEN_SLOTS = frozenset((L.IN_PORT, L.METADATA, L.TUN_ID, L.TUN_SRC, L.TUN_DST,
                           *range(L.REG0, L.REG0 + L.N_REGS)))


@dataclass(slots=True)
class TraceRecirc:
    """A recirculation ``ofproto/trace`` follows after the current pass."""

    recirc_id: int
    flow: list[int]
    nat: Nat | None
    packet: bytearray | None
    conntrack: bool = True


def compose_conntrack(ctx: XlateCtx, ofc: Ct, is_last: bool) -> None:
    flow, wc = ctx.flow, ctx.wc
    if ofc.zone_src is not None:
        zone = fo.sf_read(flow, ofc.zone_src)
        if ctx.frozen_state is None or ofc.zone_src.field.slot not in _FROZEN_SLOTS:
            fo.sf_unwildcard(wc, ofc.zone_src)
    else:
        zone = ofc.zone_imm
    old_mark_mask, old_label_mask = wc[L.CT_MARK], wc[L.CT_LABEL]
    ctx.commit()
    ctx.ct_nat_action = None
    wc[L.CT_MARK] = 0
    wc[L.CT_LABEL] = 0
    XA.do_xlate_actions(ctx, ofc.actions, is_last, False)
    mm, lm = wc[L.CT_MARK], wc[L.CT_LABEL]
    mark = (flow[L.CT_MARK] & mm, mm) if mm else None
    label = (flow[L.CT_LABEL] & lm, lm) if lm else None
    helper = ""
    if ofc.alg:
        helper = _HELPERS.get(ofc.alg, "")
        if not helper:
            ctx.report_error(f"cannot serialize ct_helper {ofc.alg}")
    ctx.odp.append(dp.Ct(zone=zone, commit=ofc.commit, force=ofc.force, mark=mark,
                         label=label, helper=helper, nat=ctx.ct_nat_action))
    wc[L.CT_MARK] = old_mark_mask
    wc[L.CT_LABEL] = old_label_mask
    if ofc.recirc_table != NX_CT_RECIRC_NONE:
        ctx.conntracked = True
        _recirculate_and_fork(ctx, ofc.recirc_table, zone)
    ctx.ct_nat_action = None
    clear_conntrack(flow)
    ctx.report(NodeType.DETAIL,
               "Sets the packet to an untracked state, and clears all the conntrack fields.")
    ctx.conntracked = False


def _recirculate_and_fork(ctx: XlateCtx, table: int, zone: int) -> None:
    ctx.freezing = True
    rid = ctx.finish_freezing(table)
    queue = ctx.xin.recirc_queue
    if ctx.trace is not None and rid and queue is not None:
        f = list(ctx.flow)
        f[L.RECIRC_ID] = rid
        f[L.CT_ZONE] = zone
        queue.append(TraceRecirc(rid, f, ctx.ct_nat_action, ctx.xin.packet))
        ctx.report(NodeType.DETAIL, "A clone of the packet is forked to recirculate. "
                   f"The forked pipeline will be resumed at table {table}.")
