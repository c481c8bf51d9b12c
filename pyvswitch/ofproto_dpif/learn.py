"""The ``learn`` action: a packet adds or refreshes a flow (OVS ``learn_execute``).

Translation un-wildcards every source field a learn spec reads, and -- only when a real
packet is being processed -- builds the new flow from the packet's values and hands
it to the bridge, which installs it through ofproto.  A trace without a packet only
reports that it suppressed the side effect, as OVS does.  Megaflows whose translation
learned are not cached (``avoid_caching``), so every packet learns again and keeps the
learned flow fresh.

Layer: ofproto_dpif.  Imports: flow, types, ofproto_dpif.{xlate_ctx,fieldops}.
"""

from __future__ import annotations

from pyvswitch.errors import OFPError
from pyvswitch.flow.flowmod import OFPFF_SEND_FLOW_REM, FlowMod, FlowModCommand
from pyvswitch.flow.match import MatchBuilder
from pyvswitch.flow.ofpacts import (
    LEARN_F_SEND_FLOW_REM,
    LEARN_F_WRITE_RESULT,
    Learn,
    Output,
    SetField,
    SetRaw,
)
from pyvswitch.ofproto_dpif import fieldops as fo
from pyvswitch.ofproto_dpif import xlate_actions as _XA
from pyvswitch.ofproto_dpif.trace_text import format_ofpacts, format_rule_match
from pyvswitch.ofproto_dpif.trace_tree import NodeType
from pyvswitch.ofproto_dpif.xlate_ctx import XlateCtx
from pyvswitch.types import OFPP_ALL, OFPP_FLOOD, OFPP_IN_PORT, OFPP_LOCAL, OFPP_MAX


def learn_mask(learn: Learn, wc: list[int]) -> None:
    for spec in learn.specs:
        if spec.src is not None:
            fo.sf_unwildcard(wc, spec.src)


def learn_execute(learn: Learn, flow: list[int]) -> FlowMod:
    """The flow_mod ``learn`` makes for a packet whose flow is ``flow``."""
    mb = MatchBuilder()
    actions: list[object] = []
    for spec in learn.specs:
        n = spec.n_bits
        value = fo.sf_read(flow, spec.src) if spec.src is not None else spec.imm
        value &= (1 << n) - 1
        if spec.kind == "match":
            dst = spec.dst
            mb.set_field(dst.field, value << dst.ofs, dst.mask)
        elif spec.kind == "load":
            dst = spec.dst
            actions.append(SetField(dst.field, value << dst.ofs, dst.mask, SetRaw.LOAD))
        elif spec.kind == "output":
            port = value
            if port < OFPP_MAX or port in (OFPP_IN_PORT, OFPP_FLOOD, OFPP_LOCAL, OFPP_ALL):
                actions.append(Output(port))
    flags = OFPFF_SEND_FLOW_REM if learn.flags & LEARN_F_SEND_FLOW_REM else 0
    return FlowMod(
        command=FlowModCommand.MODIFY_STRICT, match=mb.build(), priority=learn.priority,
        table_id=learn.table_id, new_cookie=learn.cookie, cookie=learn.cookie,
        idle_timeout=learn.idle_timeout, hard_timeout=learn.hard_timeout, flags=flags,
        actions=tuple(actions), modify_may_add=True,
    )


def format_learned(fm: FlowMod) -> str:
    s = f"table={fm.table_id} "
    m = format_rule_match(fm.match)
    if m:
        s += m
    s = s.rstrip(" ")
    s += f" priority={fm.priority}"
    if fm.new_cookie:
        s += f" cookie={fm.new_cookie:#x}"
    if fm.idle_timeout:
        s += f" idle={fm.idle_timeout}"
    if fm.hard_timeout:
        s += f" hard={fm.hard_timeout}"
    if fm.flags & OFPFF_SEND_FLOW_REM:
        s += " send_flow_rem"
    return s + " actions=" + format_ofpacts(fm.actions)


def xlate_learn(ctx: XlateCtx, learn: Learn) -> None:
    learn_mask(learn, ctx.wc)
    if not ctx.xin.allow_side_effects:
        ctx.report(NodeType.WARN, "suppressing side effects, so learn action ignored")
        return
    fm = learn_execute(learn, ctx.flow)
    if ctx.trace is not None:
        ctx.report(NodeType.DETAIL, format_learned(fm))
    ctx.avoid_caching = True
    success = True
    try:
        success = ctx.bridge.learn_flow(fm, learn.limit, ctx.now)
    except OFPError as e:
        ctx.report_error(f"LEARN action execution failed ({e.msg}).")
        return
    if learn.flags & LEARN_F_WRITE_RESULT and learn.result_dst is not None:
        dst = learn.result_dst
        fo.sf_unwildcard(ctx.wc, dst)
        fo.sf_write(ctx.flow, dst, 1 if success else 0)
        _XA.report_subfield(ctx, dst)
    if not success:
        ctx.report(NodeType.DETAIL, "Limit exceeded, learn failed")
