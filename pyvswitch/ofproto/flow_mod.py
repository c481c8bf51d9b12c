"""OpenFlow flow_mod semantics: add, modify (loose/strict), delete (loose/strict).

Follows OVS ``ofproto.c``:

* ADD replaces a rule with the same match and priority in its table (the new one
  takes the flow_mod's cookie, timeouts and flags, restarts ``created``, and keeps the
  counters unless OFPFF_RESET_COUNTS); ``check_overlap`` refuses a same-priority rule
  that some packet could match along with an existing one.
* MODIFY / MODIFY_STRICT change the actions of the selected rules (and the cookie when
  the flow_mod carries a new one); timeouts, flags, importance and ``created`` stay.
  With nothing selected, ``modify_may_add`` (OpenFlow 1.0/NXM) adds the flow instead.
* DELETE / DELETE_STRICT remove the selected rules; rules with OFPFF_SEND_FLOW_REM
  produce :class:`~pyvswitch.ofproto.events.FlowRemoved`.
* Selection: loose = the request's match covers the rule, strict = same match and
  priority; the cookie under ``cookie_mask``; for deletes also ``out_port`` and
  ``out_group`` (an output/enqueue/controller or group action, also inside
  write_actions and ct).  ``table_id`` None or 0xff means every visible table (for ADD:
  table 0).  Read-only tables (254) cannot be changed by OpenFlow: OFPBRC_EPERM.

Rules are modified in place, so a translation holding a rule keeps crediting the
current one; like OVS's replacement rules, a modified or re-added rule moves to the end
of its subtable in dumps.

Layer: ofproto.  Imports: classifier.packed, flow, errors, types,
ofproto.{rule,table,validate,events}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvswitch.classifier.packed import pack_match
from pyvswitch.errors import OFPError
from pyvswitch.flow.flowmod import (
    OFPFF_CHECK_OVERLAP,
    OFPFF_RESET_COUNTS,
    FlowMod,
    FlowModCommand,
)
from pyvswitch.flow.match import Match
from pyvswitch.ofproto import validate
from pyvswitch.ofproto.events import FlowRemoved, FlowRemovedReason
from pyvswitch.ofproto.rule import RULE_STATE_FLAGS, Rule
from pyvswitch.ofproto.table import N_TABLES, OFTable
from pyvswitch.types import OFPG_ANY, OFPP_ANY, OFPTT_ALL

if TYPE_CHECKING:
    from pyvswitch.ofproto.ofproto import OFProto

_NO_COOKIE = 0xFFFFFFFFFFFFFFFF
#: one int object per priority value, shared by the rules that have it
_PRIORITIES: dict[int, int] = {}


def _template_table(ofp: OFProto, table_id: int | None, allow_readonly: bool) -> OFTable:
    """The table an ADD (or a MODIFY that may add) goes to (OVS ``add_flow_init``)."""
    if table_id is None or table_id == OFPTT_ALL:
        tid = 0
    elif 0 <= table_id < N_TABLES:
        tid = table_id
    else:
        raise OFPError("OFPBRC_BAD_TABLE_ID", f"table {table_id} does not exist")
    table = ofp.tables[tid]
    if table.readonly and not allow_readonly:
        raise OFPError("OFPBRC_EPERM", f"table {tid} is read-only")
    return table


def matching_tables(ofp: OFProto, table_id: int | None) -> list[OFTable]:
    """Tables a request names: one table, or every visible table for None/0xff."""
    if table_id is None or table_id == OFPTT_ALL:
        return [t for t in ofp.tables if not t.hidden]
    if 0 <= table_id < N_TABLES:
        return [ofp.tables[table_id]]
    raise OFPError("OFPBRC_BAD_TABLE_ID", f"table {table_id} does not exist")


def collect_rules(ofp: OFProto, table_id: int | None, match: Match | None, *,
                  strict: bool = False, priority: int = 0, cookie: int = 0,
                  cookie_mask: int = 0, out_port: int = OFPP_ANY, out_group: int = OFPG_ANY,
                  writable: bool = False) -> list[Rule]:
    """Rules selected by a flow_mod or a stats request (OVS ``collect_rules_loose`` /
    ``collect_rules_strict``).  With ``writable``, rules of read-only tables are left
    out, and finding only such rules is OFPBRC_EPERM."""
    if match is None:
        match = Match()
    out: list[Rule] = []
    n_readonly = 0
    for table in matching_tables(ofp, table_id):
        if strict:
            r = table.cls.find_exactly(match, priority)
            candidates = [r] if r is not None else []
        else:
            candidates = table.cls.iter_loose(match)
        for r in candidates:
            if (r.cookie ^ cookie) & cookie_mask:
                continue
            if out_port != OFPP_ANY and not r.has_out_port(out_port):
                continue
            if out_group != OFPG_ANY and not r.has_out_group(out_group):
                continue
            if writable and table.readonly:
                n_readonly += 1
                continue
            out.append(r)
    if not out and n_readonly:
        raise OFPError("OFPBRC_EPERM", "the selected flows are read-only")
    return out


def handle_flow_mod(ofp: OFProto, fm: FlowMod, now: float, *,
                    strict_consistency: bool = False, allow_readonly: bool = False,
                    prechecked: bool = False) -> list[FlowRemoved]:
    """Validate and apply ``fm``; returns the FlowRemoved events it caused.
    ``prechecked``: the caller already ran ``check_match`` and ``check_actions`` on it
    with the same ``strict_consistency`` (bundles check messages as they are added)."""
    cmd = fm.command
    if not isinstance(cmd, FlowModCommand):
        raise OFPError("OFPFMFC_BAD_COMMAND", f"unknown flow_mod command {cmd!r}")
    if not prechecked:
        validate.check_match(fm.match)
    if cmd in (FlowModCommand.DELETE, FlowModCommand.DELETE_STRICT):
        rules = collect_rules(
            ofp, fm.table_id, fm.match, strict=cmd is FlowModCommand.DELETE_STRICT,
            priority=fm.priority, cookie=fm.cookie, cookie_mask=fm.cookie_mask,
            out_port=fm.out_port, out_group=fm.out_group, writable=not allow_readonly)
        return ofp.delete_rules(rules, FlowRemovedReason.DELETE, now)

    if not prechecked:
        check_table = None if fm.table_id in (None, OFPTT_ALL) else fm.table_id
        validate.check_actions(fm.actions, fm.match, table_id=check_table,
                               n_tables=N_TABLES, strict_consistency=strict_consistency)
    table = _template_table(ofp, fm.table_id, allow_readonly)
    if cmd is FlowModCommand.ADD:
        validate.check_groups_exist(fm.actions, ofp.groups.__contains__)
        add_flow(ofp, table, fm, now)
        return ofp.flush_learned_cookies(now)
    rules = collect_rules(
        ofp, fm.table_id, fm.match, strict=cmd is FlowModCommand.MODIFY_STRICT,
        priority=fm.priority, cookie=fm.cookie, cookie_mask=fm.cookie_mask,
        writable=not allow_readonly)
    if rules:
        validate.check_groups_exist(fm.actions, ofp.groups.__contains__)
        modify_rules(ofp, rules, fm, now)
    elif fm.modify_may_add and not fm.cookie_mask and fm.new_cookie != _NO_COOKIE:
        validate.check_groups_exist(fm.actions, ofp.groups.__contains__)
        add_flow(ofp, table, fm, now)
    return ofp.flush_learned_cookies(now)


def _new_cookie(fm: FlowMod) -> int:
    return fm.new_cookie if fm.new_cookie is not None else fm.cookie


def prepare_add(ofp: OFProto, fm: FlowMod, now: float, *, strict_consistency: bool = False,
                allow_readonly: bool = False, prechecked: bool = False) -> Rule | None:
    """Check an ADD exactly as :func:`handle_flow_mod` does (raises OFPError), and when
    it is a pure insertion -- no identical rule to replace -- return the new rule, for
    ``ofp.insert_rule`` to add later with nothing left to fail.  None: the add replaces
    a rule; apply it with :func:`handle_flow_mod`.

    This lets the OpenFlow layer answer a barrier before doing the insertion work (see
    ``ConnManager.complete``); nothing may change the tables in between."""
    if fm.command is not FlowModCommand.ADD:
        raise ValueError("prepare_add takes an ADD")
    if not prechecked:
        validate.check_match(fm.match)
        check_table = None if fm.table_id in (None, OFPTT_ALL) else fm.table_id
        validate.check_actions(fm.actions, fm.match, table_id=check_table,
                               n_tables=N_TABLES, strict_consistency=strict_consistency)
    table = _template_table(ofp, fm.table_id, allow_readonly)
    validate.check_groups_exist(fm.actions, ofp.groups.__contains__)
    match = pack_match(fm.match)  # packed once: the lookup below uses its key
    if table.cls.find_exactly(match, fm.priority) is not None:
        return None
    if fm.flags & OFPFF_CHECK_OVERLAP and table.cls.overlaps(fm.match, fm.priority):
        raise OFPError("OFPFMFC_OVERLAP", "the flow overlaps an existing flow")
    return _new_rule(table, fm, now, match)


def _new_rule(table: OFTable, fm: FlowMod, now: float, match: Match | None = None) -> Rule:
    pri = fm.priority
    return Rule(table.table_id, _PRIORITIES.setdefault(pri, pri),
                pack_match(fm.match) if match is None else match,
                fm.actions, _new_cookie(fm), fm.idle_timeout, fm.hard_timeout,
                fm.importance, fm.flags & RULE_STATE_FLAGS, now, now, now)


def add_flow(ofp: OFProto, table: OFTable, fm: FlowMod, now: float) -> Rule:
    """OVS ``add_flow_start``: insert, or replace the identical rule in place."""
    old = table.cls.find_exactly(fm.match, fm.priority)
    if old is None:
        if fm.flags & OFPFF_CHECK_OVERLAP and table.cls.overlaps(fm.match, fm.priority):
            raise OFPError("OFPFMFC_OVERLAP", "the flow overlaps an existing flow")
        rule = _new_rule(table, fm, now)
        ofp.insert_rule(rule)
        return rule
    ofp.unlink_rule(old)
    cookie = _new_cookie(fm)
    if cookie != _NO_COOKIE:
        old.cookie = cookie
    old.set_actions(fm.actions)
    old.idle_timeout = fm.idle_timeout
    old.hard_timeout = fm.hard_timeout
    old.importance = fm.importance
    old.flags = fm.flags & RULE_STATE_FLAGS
    old.created = old.modified = now
    if fm.flags & OFPFF_RESET_COUNTS:
        old.n_packets = old.n_bytes = 0
    table.cls.requeue(old)
    ofp.link_rule(old)
    return old


def modify_rules(ofp: OFProto, rules: list[Rule], fm: FlowMod, now: float) -> None:
    """OVS ``modify_flows_start__`` + ``replace_rule_start`` for non-ADD commands."""
    new_cookie = fm.new_cookie
    change_cookie = new_cookie is not None and new_cookie != _NO_COOKIE
    for r in rules:
        ofp.unlink_rule(r)
        r.set_actions(fm.actions)
        if change_cookie:
            r.cookie = new_cookie
        r.modified = now
        if fm.flags & OFPFF_RESET_COUNTS:
            r.n_packets = r.n_bytes = 0
        ofp.tables[r.table_id].cls.requeue(r)
        ofp.link_rule(r)


def learn_flow(ofp: OFProto, fm: FlowMod, now: float, *, limit: int = 0) -> Rule | None:
    """Install a flow computed by a ``learn`` action (OVS ``ofproto_flow_mod_learn``).

    An identical flow (same match, priority, actions, timeouts, importance, flags and
    cookie) is only refreshed: its ``modified`` time moves to ``now``, restarting its
    hard timeout, and nothing else changes.  Otherwise the flow is added, or an
    existing flow with the same match and priority is modified (keeping its timeouts,
    as a MODIFY_STRICT does).  With ``limit``, no flow is added while the table already
    holds ``limit`` flows with this cookie; then None is returned.
    """
    tid = fm.table_id if fm.table_id not in (None, OFPTT_ALL) else 0
    table = ofp.tables[tid]
    cookie = _new_cookie(fm)
    rule = table.cls.find_exactly(fm.match, fm.priority)
    if rule is not None:
        if (rule.idle_timeout == fm.idle_timeout and rule.hard_timeout == fm.hard_timeout
                and rule.importance == fm.importance
                and rule.flags == fm.flags & RULE_STATE_FLAGS
                and rule.cookie == cookie and rule.actions == fm.actions):
            rule.modified = now
            return rule
        modify_rules(ofp, [rule], fm, now)
        if cookie != _NO_COOKIE:
            rule.cookie = cookie
        return rule
    if limit:
        n = sum(1 for r in table.cls.iter_loose(Match()) if r.cookie == cookie)
        if n >= limit:
            return None
    return add_flow(ofp, table, fm, now)
