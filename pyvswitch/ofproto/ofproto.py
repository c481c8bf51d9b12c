"""``OFProto``: the OpenFlow switch of one bridge (OVS ``struct ofproto``).

It owns the flow tables, the group table and the OpenFlow ports, applies flow_mods,
group_mods and port changes with OpenFlow's semantics, expires flows, and answers the
statistics requests.  It never sees wire bytes and never touches the datapath: the
translation layer (``ofproto_dpif``) looks rules up here, credits their counters, and
watches :attr:`OFProto.generation` -- bumped by every change that can alter forwarding
(flows, groups, ports, port config) -- to know when its cached megaflows may be stale.

Events: :meth:`handle_flow_mod`, :meth:`handle_group_mod` and :meth:`run` return the
:class:`FlowRemoved` events they cause; port changes (and flows removed as a side
effect of learning) are queued and handed out by :meth:`drain_events`.

Layer: ofproto.  Imports: classifier, flow, errors, types, ofproto.*.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from pyvswitch.errors import OFPError
from pyvswitch.flow.flowmod import DEFAULT_PRIORITY, FlowMod, FlowStats, GroupMod
from pyvswitch.flow.match import Match
from pyvswitch.ofproto import flow_mod as _fm
from pyvswitch.ofproto.events import FlowRemoved, FlowRemovedReason, PortReason, PortStatus
from pyvswitch.ofproto.groups import GroupStats, GroupTable
from pyvswitch.ofproto.ports import OFPPC_PORT_DOWN, OFPPS_LINK_DOWN, PortAllocator, PortInfo
from pyvswitch.ofproto.rule import Rule, learn_delete_cookies
from pyvswitch.ofproto.table import (
    N_TABLES,
    N_VISIBLE_TABLES,
    TBL_INTERNAL,
    AggregateStats,
    OFTable,
    TableStats,
)
from pyvswitch.types import OFPG_ANY, OFPP_ANY, OFPP_LOCAL, OFPP_NONE


def age_secs(age: float) -> int:
    """Seconds as OpenFlow ages are reported: whole, clamped to 0..65535."""
    if age < 0:
        return 0
    return min(int(age), 0xFFFF)


class OFProto:
    """The OpenFlow view of one bridge.  See the module docstring."""

    N_TABLES = N_TABLES
    N_VISIBLE_TABLES = N_VISIBLE_TABLES

    def __init__(self, name: str, dpid: int = 0) -> None:
        self.name = name
        self.dpid = dpid
        self.tables: list[OFTable] = [OFTable(i) for i in range(N_TABLES)]
        internal = self.tables[TBL_INTERNAL]
        internal.readonly = internal.hidden = True
        self.groups = GroupTable()
        self.ports: dict[int, PortInfo] = {}
        self._port_by_name: dict[str, int] = {}
        self._port_alloc = PortAllocator()
        self.generation = 0
        self._expirable: dict[int, Rule] = {}
        self._learned: dict[tuple[int, int], int] = {}
        self._maybe_dead: set[tuple[int, int]] = set()
        self._events: list[object] = []

    # ================================================================== flows
    def handle_flow_mod(self, fm: FlowMod, now: float, *, strict_consistency: bool = False,
                        allow_readonly: bool = False,
                        prechecked: bool = False) -> list[FlowRemoved]:
        """Validate and apply one flow_mod; raises OFPError (nothing changed) on
        refusal.  ``strict_consistency`` applies OpenFlow 1.1+'s match/action
        consistency rules; ``allow_readonly`` lets the switch itself change the
        internal table; ``prechecked``: the match and actions were already checked."""
        return _fm.handle_flow_mod(self, fm, now, strict_consistency=strict_consistency,
                                   allow_readonly=allow_readonly, prechecked=prechecked)

    def prepare_add(self, fm: FlowMod, now: float, *, strict_consistency: bool = False,
                    allow_readonly: bool = False, prechecked: bool = False) -> Rule | None:
        """Check an ADD; the rule to :meth:`insert_rule` when it is a pure insertion,
        None when it replaces a rule (see :func:`pyvswitch.ofproto.flow_mod.prepare_add`).
        ``prechecked`` as for :meth:`handle_flow_mod`."""
        return _fm.prepare_add(self, fm, now, strict_consistency=strict_consistency,
                               allow_readonly=allow_readonly, prechecked=prechecked)

    def learn_flow(self, fm: FlowMod, now: float, *, limit: int = 0) -> Rule | None:
        """Install or refresh a flow built by a ``learn`` action (see
        :func:`pyvswitch.ofproto.flow_mod.learn_flow`)."""
        rule = _fm.learn_flow(self, fm, now, limit=limit)
        self._events.extend(self.flush_learned_cookies(now))
        return rule

    def lookup(self, table_id: int, flow: Sequence[int],
               wc: list[int] | None = None) -> Rule | None:
        """The highest-priority rule of ``table_id`` matching ``flow`` (None: table
        miss); with ``wc``, un-wildcards what the lookup examined."""
        return self.tables[table_id].cls.lookup(flow, wc)

    def count_lookup(self, table_id: int, matched: bool, n: int = 1) -> None:
        """Translation reports each table lookup here (``dump-tables`` counters)."""
        self.tables[table_id].count_lookup(matched, n)

    @property
    def n_flows(self) -> int:
        return sum(len(t.cls) for t in self.tables)

    def rules(self, table_id: int | None = None) -> list[Rule]:
        """Every rule (of one table, or of all tables including the internal one), in
        table order."""
        tables = self.tables if table_id is None else [self.tables[table_id]]
        return [r for t in tables for r in t.cls]

    # -- bookkeeping used by flow_mod -------------------------------------------------
    def insert_rule(self, rule: Rule) -> None:
        self.tables[rule.table_id].cls.insert(rule)
        self.link_rule(rule)

    def link_rule(self, rule: Rule) -> None:
        """Register what a rule's actions and timeouts imply (after insert/change)."""
        self.groups.add_rule_refs(rule)
        if rule.idle_timeout or rule.hard_timeout:
            self._expirable[id(rule)] = rule
        for key in learn_delete_cookies(rule.actions):
            self._learned[key] = self._learned.get(key, 0) + 1
        self.generation += 1

    def unlink_rule(self, rule: Rule) -> None:
        """Undo :meth:`link_rule` (before the rule changes or goes away)."""
        self.groups.remove_rule_refs(rule)
        self._expirable.pop(id(rule), None)
        for key in learn_delete_cookies(rule.actions):
            self._learned[key] -= 1
            self._maybe_dead.add(key)

    def delete_rules(self, rules: Sequence[Rule], reason: FlowRemovedReason,
                     now: float) -> list[FlowRemoved]:
        """Remove ``rules``; FlowRemoved for those that asked (and for the flows their
        ``learn(delete_learned)`` actions had added)."""
        events: list[FlowRemoved] = []
        batch = len(rules) > 1
        touched: set[int] = set()
        for r in rules:
            cls = self.tables[r.table_id].cls
            if batch and r.table_id not in touched:
                touched.add(r.table_id)
                cls.defer()  # as OVS removes a batch of rules
            if not cls.remove(r):
                continue
            self.unlink_rule(r)
            self.generation += 1
            if r.send_flow_rem:
                events.append(self.flow_removed(r, reason, now))
        for tid in touched:
            self.tables[tid].cls.publish()
        events.extend(self.flush_learned_cookies(now))
        return events

    def flush_learned_cookies(self, now: float) -> list[FlowRemoved]:
        """Delete the flows learned with a cookie no ``learn(delete_learned)`` uses any
        more (OVS ``learned_cookies_flush``)."""
        events: list[FlowRemoved] = []
        while self._maybe_dead:
            key = self._maybe_dead.pop()
            if self._learned.get(key, 0) > 0:
                continue
            self._learned.pop(key, None)
            cookie, table_id = key
            doomed = _fm.collect_rules(self, table_id, None, cookie=cookie,
                                       cookie_mask=0xFFFFFFFFFFFFFFFF, writable=True)
            events.extend(self.delete_rules(doomed, FlowRemovedReason.DELETE, now))
        return events

    @staticmethod
    def flow_removed(rule: Rule, reason: FlowRemovedReason, now: float) -> FlowRemoved:
        return FlowRemoved(rule.table_id, rule.priority, rule.match, rule.cookie, reason,
                           max(0.0, now - rule.created), rule.idle_timeout,
                           rule.hard_timeout, rule.n_packets, rule.n_bytes)

    # -- timeouts -------------------------------------------------------------------
    def run(self, now: float) -> list[FlowRemoved]:
        """Expire flows whose hard timeout (since added/modified) or idle timeout
        (since last used) has passed; FlowRemoved for those that asked."""
        events: list[FlowRemoved] = []
        for rule in list(self._expirable.values()):
            reason = None
            if rule.hard_timeout and now > rule.modified + rule.hard_timeout:
                reason = FlowRemovedReason.HARD_TIMEOUT
            elif rule.idle_timeout and now > rule.used + rule.idle_timeout:
                reason = FlowRemovedReason.IDLE_TIMEOUT
            if reason is not None:
                events.extend(self.delete_rules([rule], reason, now))
        return events

    def next_timeout(self) -> float | None:
        """When :meth:`run` may next have something to expire (None: never)."""
        times = [t for r in self._expirable.values() if (t := r.expiry()) is not None]
        return min(times) if times else None

    def reduce_timeouts(self, rule: Rule, idle_timeout: int, hard_timeout: int) -> None:
        """Lower a rule's timeouts (never raise them; 0 = none): ``fin_timeout``."""
        changed = False
        if idle_timeout and (not rule.idle_timeout or rule.idle_timeout > idle_timeout):
            rule.idle_timeout = idle_timeout
            changed = True
        if hard_timeout and (not rule.hard_timeout or rule.hard_timeout > hard_timeout):
            rule.hard_timeout = hard_timeout
            changed = True
        if changed and rule in self.tables[rule.table_id].cls:
            self._expirable[id(rule)] = rule

    # -- statistics -----------------------------------------------------------------
    def collect_rules(self, table_id: int | None = None, match: Match | None = None,
                      strict: bool = False, priority: int = DEFAULT_PRIORITY,
                      cookie: int = 0, cookie_mask: int = 0, out_port: int = OFPP_ANY,
                      out_group: int = OFPG_ANY) -> list[Rule]:
        """The rules a flow-stats / aggregate request selects (loose by default;
        ``table_id`` None or 0xff = all visible tables).  Raises OFPBRC_BAD_TABLE_ID."""
        return _fm.collect_rules(self, table_id, match, strict=strict, priority=priority,
                                 cookie=cookie, cookie_mask=cookie_mask, out_port=out_port,
                                 out_group=out_group)

    @staticmethod
    def flow_stats(rule: Rule, now: float) -> FlowStats:
        return FlowStats(
            table_id=rule.table_id, priority=rule.priority, match=rule.match,
            actions=rule.actions, duration=max(0.0, now - rule.created), cookie=rule.cookie,
            idle_timeout=rule.idle_timeout, hard_timeout=rule.hard_timeout, flags=rule.flags,
            importance=rule.importance, packet_count=rule.n_packets, byte_count=rule.n_bytes,
            idle_age=age_secs(now - rule.used), hard_age=age_secs(now - rule.modified))

    def aggregate_stats(self, table_id: int | None = None, match: Match | None = None,
                        strict: bool = False, priority: int = DEFAULT_PRIORITY,
                        cookie: int = 0, cookie_mask: int = 0, out_port: int = OFPP_ANY,
                        out_group: int = OFPG_ANY) -> AggregateStats:
        rules = self.collect_rules(table_id, match, strict, priority, cookie, cookie_mask,
                                   out_port, out_group)
        return AggregateStats(sum(r.n_packets for r in rules),
                              sum(r.n_bytes for r in rules), len(rules))

    def table_stats(self) -> list[TableStats]:
        """Per visible table: active flows, lookups, matches."""
        return [TableStats(t.table_id, len(t.cls), t.n_lookup, t.n_matched, t.name)
                for t in self.tables if not t.hidden]

    # ================================================================== groups
    def handle_group_mod(self, gm: GroupMod, now: float) -> list[FlowRemoved]:
        """Apply a group_mod; deleting a group deletes the flows that use it
        (reason GROUP_DELETE).  Raises OFPError on refusal."""
        deleted = self.groups.apply(gm, now)
        self.generation += 1
        events: list[FlowRemoved] = []
        for g in deleted:
            events.extend(self.delete_rules(list(g.rules.values()),
                                            FlowRemovedReason.GROUP_DELETE, now))
        return events

    def group_stats(self, group_id: int, now: float) -> list[GroupStats]:
        return self.groups.stats(group_id, now)

    # ================================================================== ports
    def add_port(self, name: str, *, ofport_request: int | None = None, hw_addr: int = 0,
                 config: int = 0, state: int = 0, curr: int = 0, advertised: int = 0,
                 supported: int = 0, peer: int = 0, curr_speed: int = 0, max_speed: int = 0,
                 now: float = 0.0) -> PortInfo:
        """Add an OpenFlow port.  The port named like the bridge is LOCAL; others get
        ``ofport_request`` when free, else an automatic number (see ``ports``).
        Queues a PortStatus ADD."""
        if name in self._port_by_name:
            raise OFPError("OFPPMFC_BAD_PORT", f"port {name} already exists")
        if name == self.name:
            ofport = OFPP_LOCAL
            if ofport in self.ports:
                raise OFPError("OFPPMFC_BAD_PORT", "the bridge already has a LOCAL port")
            self._port_alloc.claim(ofport)
        else:
            ofport = self._port_alloc.alloc(ofport_request, now)
            if ofport == OFPP_NONE:
                raise OFPError("OFPPMFC_BAD_PORT", "no OpenFlow port number left")
        port = PortInfo(ofport, name, hw_addr, config, state, curr, advertised, supported,
                        peer, curr_speed, max_speed)
        self.ports[ofport] = port
        self._port_by_name[name] = ofport
        self.generation += 1
        self._events.append(PortStatus(PortReason.ADD, port))
        return port

    def del_port(self, ofport: int, now: float = 0.0) -> PortInfo | None:
        """Remove a port (its number is not reused for an hour if avoidable);
        queues a PortStatus DELETE."""
        port = self.ports.pop(ofport, None)
        if port is None:
            return None
        del self._port_by_name[port.name]
        self._port_alloc.free(ofport, now)
        self.generation += 1
        self._events.append(PortStatus(PortReason.DELETE, port))
        return port

    def port_by_name(self, name: str) -> PortInfo | None:
        ofport = self._port_by_name.get(name)
        return self.ports.get(ofport) if ofport is not None else None

    def port_names(self) -> dict[int, str]:
        return {p.ofport: p.name for p in self.ports.values()}

    def mod_port(self, ofport: int, config: int, mask: int, *, hw_addr: int | None = None,
                 advertise: int | None = None) -> PortInfo:
        """OFPT_PORT_MOD: set the ``mask`` bits of the port's config to ``config``.
        OFPPC_PORT_DOWN also takes the link down (and up), as bringing the device
        down does.  Queues a PortStatus MODIFY when something changed."""
        port = self.ports.get(ofport)
        if port is None:
            raise OFPError("OFPPMFC_BAD_PORT", f"no port {ofport}")
        if hw_addr is not None and hw_addr != port.hw_addr:
            raise OFPError("OFPPMFC_BAD_HW_ADDR", f"port {ofport} has another address")
        new_config = (port.config & ~mask) | (config & mask)
        state = port.state
        if (new_config ^ port.config) & OFPPC_PORT_DOWN:
            if new_config & OFPPC_PORT_DOWN:
                state |= OFPPS_LINK_DOWN
            else:
                state &= ~OFPPS_LINK_DOWN
        changes: dict[str, int] = {"config": new_config, "state": state}
        if advertise:
            changes["advertised"] = advertise
        return self._update_port(port, changes)

    def set_port_state(self, ofport: int, state: int) -> PortInfo:
        """The device's link state changed (OFPPS_* bits)."""
        port = self.ports.get(ofport)
        if port is None:
            raise OFPError("OFPPMFC_BAD_PORT", f"no port {ofport}")
        return self._update_port(port, {"state": state})

    def _update_port(self, port: PortInfo, changes: dict[str, int]) -> PortInfo:
        new = dataclasses.replace(port, **changes)
        if new != port:
            self.ports[port.ofport] = new
            self.generation += 1
            self._events.append(PortStatus(PortReason.MODIFY, new))
        return new

    # ================================================================== events
    def has_events(self) -> bool:
        """Whether :meth:`drain_events` has anything."""
        return bool(self._events)

    def drain_events(self) -> list[object]:
        """Queued events (PortStatus, FlowRemoved from learning), oldest first."""
        events, self._events = self._events, []
        return events
