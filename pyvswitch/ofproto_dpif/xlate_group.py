"""Group actions: all, indirect, select and fast-failover (OVS ``xlate_group_action``).

Each bucket runs as if on a clone of the packet: the flow is rolled back afterwards
(the datapath copy is not, so later actions re-set what a bucket changed).  Select
groups without an explicit method use OVS's default: the datapath computes a
symmetric L4 hash (``hash(sym_l4(0))``), recirculates, and the thawed translation maps
the masked hash to a bucket through a table built with the Webster method, so buckets
get hash values in proportion to their weights and one connection (both directions)
always lands on one bucket.  Fast-failover and select skip buckets whose watched port
is down or whose watched group has no live bucket.

Layer: ofproto_dpif.  Imports: flow, types, ofproto_dpif.{xlate_ctx,xlate_actions}.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from pyvswitch.flow import layout as L
from pyvswitch.flow.ofpacts import Bucket, GroupType
from pyvswitch.ofproto_dpif import xlate_actions as XA
from pyvswitch.ofproto_dpif.trace_tree import NodeType, report
from pyvswitch.ofproto_dpif.trace_values import format_port
from pyvswitch.ofproto_dpif.xlate_ctx import XlateCtx, XlateError
from pyvswitch.types import OFPG_ANY, OFPP_ANY, OFPP_CONTROLLER, ofp_port_from_of13

MAX_LIVENESS_RECURSION = 128
MAX_SELECT_HASH_VALUES = 256


def _watch_port(b: Bucket) -> int:
    p = b.watch_port
    return ofp_port_from_of13(p) if p > 0xFFFF else p


def bucket_ids(group: Any) -> list[int]:
    """Bucket ids as OVS numbers them: as given, or by position when not given."""
    ids = [b.bucket_id for b in group.buckets]
    if len(set(ids)) != len(ids):
        ids = list(range(len(ids)))
    return ids


def _group_type(group: Any) -> GroupType:
    return group.type


def group_is_alive(ctx: XlateCtx, group_id: int, depth: int) -> bool:
    group = ctx.bridge.ofproto.groups.get(group_id)
    return group is not None and _first_live(ctx, group, depth, report_dead=False) is not None


def bucket_is_alive(ctx: XlateCtx, group: Any, b: Bucket, depth: int) -> bool:
    if depth >= MAX_LIVENESS_RECURSION:
        ctx.report_error(f"bucket chaining exceeded {MAX_LIVENESS_RECURSION} links")
        return False
    if _group_type(group) is GroupType.SELECT and b.weight == 0:
        return False
    wp = _watch_port(b)
    wg = b.watch_group
    if wp == OFPP_ANY and wg == OFPG_ANY:
        return True
    if wp not in (OFPP_ANY, OFPP_CONTROLLER):
        port = ctx.bridge.xports.get(wp)
        if port is not None and port.may_enable:
            return True
    if wg != OFPG_ANY and group_is_alive(ctx, wg, depth + 1):
        return True
    return wp == OFPP_CONTROLLER and bool(getattr(ctx.bridge, "controller_connected", False))


def _report_not_live(ctx: XlateCtx, b: Bucket, bid: int) -> None:
    if ctx.trace is None:
        return
    parts = []
    wp = _watch_port(b)
    if wp != OFPP_ANY:
        parts.append(f"port {format_port(wp)}")
    if b.watch_group != OFPG_ANY:
        parts.append(f"port {b.watch_group}")
    ctx.report(NodeType.DETAIL, f"bucket {bid}: not live due to {' and '.join(parts)}")


def _first_live(ctx: XlateCtx, group: Any, depth: int, report_dead: bool = True
                ) -> int | None:
    ids = bucket_ids(group)
    for i, b in enumerate(group.buckets):
        if bucket_is_alive(ctx, group, b, depth):
            return i
        if report_dead:
            _report_not_live(ctx, b, ids[i])
    return None


@functools.lru_cache(maxsize=1024)
def _hash_table(buckets: tuple[Bucket, ...]) -> tuple[int, ...] | None:
    """Webster-method map from masked dp_hash to bucket index (None if > 256 slots)."""
    if not buckets:
        return None
    weights = [b.weight for b in buckets]
    total = sum(weights)
    if total == 0:
        return None
    min_w = min((w for w in weights if w > 0), default=1)
    min_slots = -(-total // min_w)
    min_slots2 = max(min_slots, min(len(buckets) * 4, MAX_SELECT_HASH_VALUES))
    n_hash = 1
    while n_hash < min_slots2:
        n_hash <<= 1
    n_hash = max(16, n_hash)
    if n_hash > MAX_SELECT_HASH_VALUES:
        return None
    divisors = [1] * len(buckets)
    values = [float(w) for w in weights]
    table = []
    for _ in range(n_hash):
        win = 0
        for i in range(1, len(buckets)):
            if values[i] > values[win]:
                win = i
        divisors[win] += 2
        values[win] = weights[win] / divisors[win]
        table.append(win)
    return tuple(table)


def _sym_l4_basis(flow: list[int], wc: list[int]) -> int:
    """A symmetric hash of the L2-L4 addresses (the default select method)."""
    for s in (L.ETH_SRC, L.ETH_DST, L.ETH_TYPE, L.VLAN_TCI, L.NW_PROTO, L.NW_SRC, L.NW_DST,
              L.IPV6_SRC, L.IPV6_DST, L.TP_SRC, L.TP_DST):
        wc[s] = L.SLOT_FULL[s]
    a = (flow[L.ETH_SRC], flow[L.NW_SRC], flow[L.IPV6_SRC], flow[L.TP_SRC])
    b = (flow[L.ETH_DST], flow[L.NW_DST], flow[L.IPV6_DST], flow[L.TP_DST])
    lo, hi = (a, b) if a <= b else (b, a)
    data = repr((lo, hi, flow[L.ETH_TYPE], flow[L.VLAN_TCI] & 0xFFF, flow[L.NW_PROTO]))
    return int.from_bytes(hashlib.blake2b(data.encode(), digest_size=4).digest(), "big")


def _best_live(ctx: XlateCtx, group: Any, basis: int) -> int | None:
    ids = bucket_ids(group)
    best = None
    best_score = 0
    for i, b in enumerate(group.buckets):
        if bucket_is_alive(ctx, group, b, 0):
            h = hashlib.blake2b(f"{ids[i]}/{basis}".encode(), digest_size=4).digest()
            score = (int.from_bytes(h, "big") & 0xFFFF) * b.weight
            if score >= best_score:
                best, best_score = i, score
            ctx.report(NodeType.DETAIL, f"bucket {ids[i]}: score {score}")
        else:
            _report_not_live(ctx, b, ids[i])
    return best


def _pick_select(ctx: XlateCtx, group: Any) -> int | None:
    method = getattr(group, "selection_method", "") or ""
    table = _hash_table(tuple(group.buckets)) if method in ("", "dp_hash") else None
    if table is None:
        return _best_live(ctx, group, _sym_l4_basis(ctx.flow, ctx.wc))
    dp_hash = ctx.flow[L.DP_HASH]
    if not dp_hash:
        ctx.trigger_recirculate_with_hash("sym_l4", 0)
        return None
    mask = len(table) - 1
    ctx.wc[L.DP_HASH] |= mask
    buckets = group.buckets
    for i in range(len(table)):
        idx = table[(dp_hash + i) & mask]
        if bucket_is_alive(ctx, group, buckets[idx], 0):
            return idx
    return None


def xlate_group_bucket(ctx: XlateCtx, group: Any, index: int, is_last: bool) -> None:
    old_trace = ctx.trace
    if ctx.trace is not None:
        ctx.trace = report(ctx.trace, NodeType.BUCKET, f"bucket {bucket_ids(group)[index]}")
    action_list = _xlate.execute_action_set(group.buckets[index].actions)
    old_flow = list(ctx.flow)
    ctx.depth += 1
    XA.do_xlate_actions(ctx, action_list, is_last, True)
    ctx.depth -= 1
    if ctx.freezing:
        _xlate.finish_freezing_commit(ctx)
    ctx.flow[:] = old_flow
    ctx.exit = False
    if ctx.error in (XlateError.TOO_MANY_MPLS_LABELS, XlateError.UNSUPPORTED_PACKET_TYPE):
        ctx.error = XlateError.OK
    ctx.trace = old_trace


def xlate_group_action(ctx: XlateCtx, group_id: int, is_last: bool) -> bool:
    """Run group ``group_id``; True when it does not exist (ends the action list)."""
    if not _xlate.resource_check(ctx):
        return False
    group = ctx.bridge.ofproto.groups.get(group_id)
    if group is None:
        ctx.report(NodeType.WARN, f"output to nonexistent group {group_id}")
        return True
    gtype = _group_type(group)
    if gtype in (GroupType.ALL, GroupType.INDIRECT):
        n = len(group.buckets)
        for i in range(n):
            xlate_group_bucket(ctx, group, i, is_last and i == n - 1)
        ctx.out_groups.append((group, None))
        return False
    if gtype is GroupType.SELECT:
        idx = _pick_select(ctx, group)
    else:
        idx = _first_live(ctx, group, 0)
    if idx is not None:
        ctx.report(NodeType.DETAIL, f"using bucket {bucket_ids(group)[idx]}")
        xlate_group_bucket(ctx, group, idx, is_last)
        ctx.out_groups.append((group, idx))
    else:
        ctx.report(NodeType.DETAIL, "no live bucket")
    return False


from pyvswitch.ofproto_dpif import xlate as _xlate  # noqa: E402  (mutual recursion)
