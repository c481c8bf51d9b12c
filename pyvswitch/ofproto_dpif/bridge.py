"""A bridge: one OpenFlow switch (``ofproto``) wired to the shared datapath.

:class:`Bridge` owns the OpenFlow side of one bridge -- its ``OFProto`` (tables, groups,
ports as OpenFlow sees them), the MAC learning table NORMAL uses, the per-port
translation view (:class:`~pyvswitch.ofproto_dpif.ports.XPort`) and the queue of events
for its controllers -- and offers the ovs-ofctl-style operations tests, the daemon and
the CLIs use: add/modify/delete/dump flows and groups, ``fdb/show``, ``ofproto/trace``.
Anything that can change forwarding marks the switch for revalidation, which runs
before the next packet is processed.

Layer: ofproto_dpif.  Imports: ofproto, flow, ofproto_dpif.*.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pyvswitch.errors import OFPError
from pyvswitch.flow.flow_text import (
    format_flow_stats,
    format_group_desc,
    parse_flow_mod,
    parse_flow_mods,
    parse_group_mod,
)
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand, FlowStats, GroupMod, GroupModCommand
from pyvswitch.flow.ofpacts import GroupDesc
from pyvswitch.ofproto_dpif.events import PortReason, PortStatus
from pyvswitch.ofproto_dpif.ports import XPort
from pyvswitch.ofproto_dpif.xlate import MISS_DEFAULT
from pyvswitch.types import OFPP_LOCAL

if TYPE_CHECKING:
    from pyvswitch.ofproto_dpif.switch import Switch


class Bridge:
    """One bridge of a :class:`~pyvswitch.ofproto_dpif.switch.Switch`."""

    def __init__(self, switch: Switch, name: str, fail_mode: str = "standalone",
                 dpid: int | None = None, mac_aging: int = 300) -> None:
        self.switch = switch
        self.name = name
        self.fail_mode = fail_mode
        self.dpid = dpid if dpid is not None else _default_dpid(name)
        self.ofproto, self.ml = switch.ofproto_factory(name, self.dpid, mac_aging)
        self.recirc = switch.recirc
        self.xports: dict[int, XPort] = {}
        self.ports_by_name: dict[str, XPort] = {}
        #: True while a controller wants table misses (OpenFlow 1.0 connections)
        self.wants_packet_in_on_miss = False
        self.controller_connected = False
        self.table_miss: dict[int, str] = {}
        self.events: deque[object] = deque()

    # ------------------------------------------------------------------ xlate hooks
    def table_miss_config(self, table_id: int) -> str:
        return self.table_miss.get(table_id, MISS_DEFAULT)

    def mac_table_changed(self) -> None:
        self.switch.need_revalidate_mac = True

    def changed(self) -> None:
        """Something that decides forwarding changed: revalidate before the next packet."""
        self.switch.need_revalidate = True

    def learn_flow(self, fm: FlowMod, limit: int, now: float) -> bool:
        """Install or refresh a flow made by ``learn``; False when ``limit`` is reached."""
        table = self.ofproto.tables[fm.table_id]
        existing = table.classifier.find_exactly(fm.match, fm.priority)
        if existing is not None and tuple(existing.actions) == tuple(fm.actions):
            existing.modified = now
            existing.used = max(existing.used, now)
            return True
        if existing is None and limit:
            n = sum(1 for r in table.classifier if r.cookie == fm.new_cookie)
            if n >= limit:
                return False
        learned = FlowMod(
            command=FlowModCommand.ADD, match=fm.match, priority=fm.priority,
            table_id=fm.table_id, cookie=fm.new_cookie or 0, idle_timeout=fm.idle_timeout,
            hard_timeout=fm.hard_timeout, flags=fm.flags, actions=fm.actions,
        )
        self._queue(self.ofproto.handle_flow_mod(learned, now))
        self.changed()
        return True

    # ------------------------------------------------------------------ ports
    def port_map(self) -> dict[str, int]:
        return {p.name: p.ofport for p in self.xports.values()}

    def port_names(self) -> dict[int, str]:
        return {p.ofport: p.name for p in self.xports.values()}

    def attach_port(self, xport: XPort) -> None:
        self.xports[xport.ofport] = xport
        self.ports_by_name[xport.name] = xport
        self.ofproto.add_port(xport.ofport, xport.name)
        if xport.ofport != OFPP_LOCAL:
            self.events.append(PortStatus(PortReason.ADD, xport.ofport, xport.name,
                                          self._of_port(xport.ofport)))
        self.changed()

    def detach_port(self, name: str) -> XPort:
        xport = self.ports_by_name.pop(name)
        del self.xports[xport.ofport]
        rec = self._of_port(xport.ofport)
        self.ofproto.del_port(xport.ofport)
        self.ml.flush_port(xport.ofport) if hasattr(self.ml, "flush_port") else None
        self.events.append(PortStatus(PortReason.DELETE, xport.ofport, xport.name, rec))
        self.changed()
        self.mac_table_changed()
        return xport

    def _of_port(self, ofport: int) -> Any:
        ports = getattr(self.ofproto, "ports", None)
        return ports.get(ofport) if ports is not None else None

    def set_port_state(self, name: str, *, config: int | None = None,
                       may_enable: bool | None = None) -> None:
        """Port config bits (OFPPC_*) or link state changed (port_mod, carrier)."""
        xport = self.ports_by_name[name]
        if config is not None:
            xport.config = config
        if may_enable is not None:
            xport.may_enable = may_enable
        self.events.append(PortStatus(PortReason.MODIFY, xport.ofport, xport.name,
                                      self._of_port(xport.ofport)))
        self.changed()

    # ------------------------------------------------------------------ flows
    def _now(self, now: float | None) -> float:
        return self.switch.now if now is None else now

    def _queue(self, events: Iterable[object] | None) -> None:
        if events:
            self.events.extend(events)

    def handle_flow_mod(self, fm: FlowMod, now: float | None = None) -> list[object]:
        """Apply a flow_mod (raises OFPError); events go to the queue and are returned."""
        events = self.ofproto.handle_flow_mod(fm, self._now(now)) or []
        self._queue(events)
        self.changed()
        return list(events)

    def handle_group_mod(self, gm: GroupMod, now: float | None = None) -> None:
        self.ofproto.handle_group_mod(gm, self._now(now))
        self.changed()

    def add_flow(self, text: str, now: float | None = None) -> None:
        self.handle_flow_mod(parse_flow_mod(text, FlowModCommand.ADD, self.port_map()), now)

    def add_flows(self, lines: Iterable[str] | str, now: float | None = None) -> None:
        for fm in parse_flow_mods(lines, FlowModCommand.ADD, self.port_map()):
            self.handle_flow_mod(fm, now)

    def mod_flows(self, text: str, strict: bool = False, now: float | None = None) -> None:
        cmd = FlowModCommand.MODIFY_STRICT if strict else FlowModCommand.MODIFY
        self.handle_flow_mod(parse_flow_mod(text, cmd, self.port_map()), now)

    def del_flows(self, text: str | None = None, strict: bool = False,
                  now: float | None = None) -> None:
        cmd = FlowModCommand.DELETE_STRICT if strict else FlowModCommand.DELETE
        self.handle_flow_mod(parse_flow_mod(text or "", cmd, self.port_map()), now)

    def add_group(self, text: str, now: float | None = None) -> None:
        self.handle_group_mod(parse_group_mod(text, GroupModCommand.ADD), now)

    def del_groups(self, text: str | None = None, now: float | None = None) -> None:
        self.handle_group_mod(parse_group_mod(text or "group_id=all", GroupModCommand.DELETE),
                              now)

    def flow_stats(self, text: str | None = None, now: float | None = None) -> list[FlowStats]:
        """The flows ``dump-flows [FLOW]`` shows, with statistics brought up to date."""
        self.switch.push_stats()
        now = self._now(now)
        fm = parse_flow_mod(text or "", FlowModCommand.DELETE, self.port_map())
        rules = self.ofproto.collect_rules(fm.table_id, fm.match, strict=False,
                                           cookie=fm.cookie, cookie_mask=fm.cookie_mask,
                                           out_port=fm.out_port, out_group=fm.out_group)
        return [self._rule_stats(r, now) for r in rules]

    def _rule_stats(self, r: Any, now: float) -> FlowStats:
        return FlowStats(
            table_id=r.table_id, priority=r.priority, match=r.match, actions=r.actions,
            duration=max(0.0, now - r.created), cookie=r.cookie,
            idle_timeout=r.idle_timeout, hard_timeout=r.hard_timeout, flags=r.flags,
            importance=r.importance, packet_count=r.n_packets, byte_count=r.n_bytes,
            idle_age=int(max(0.0, now - r.used)), hard_age=int(max(0.0, now - r.modified)),
        )

    def dump_flows(self, text: str | None = None, *, show_stats: bool = True,
                   names: bool = False, now: float | None = None) -> str:
        """``ovs-ofctl dump-flows`` lines (without the reply header), one per flow."""
        pn = self.port_names() if names else None
        stats = self.flow_stats(text, now)
        return "".join(format_flow_stats(s, show_stats=show_stats, port_names=pn) + "\n"
                       for s in stats)

    def dump_groups(self) -> str:
        out = []
        for gid in sorted(self.ofproto.groups):
            g = self.ofproto.groups[gid]
            desc = GroupDesc(gid, g.type, tuple(g.buckets), getattr(g, "selection_method", ""))
            out.append(" " + format_group_desc(desc) + "\n")
        return "".join(out)

    # ------------------------------------------------------------------ fdb
    def fdb_show(self) -> str:
        return self.ml.format_fdb_show(self.port_names())

    def fdb_flush(self) -> None:
        self.ml.flush()
        self.mac_table_changed()

    # ------------------------------------------------------------------ events
    def pop_events(self) -> list[object]:
        out = list(self.events)
        self.events.clear()
        return out

    # ------------------------------------------------------------------ trace
    def trace(self, flow_text: str, packet: bytes | None = None,
              ct_next: list[str] | tuple[str, ...] = (), now: float | None = None) -> str:
        from pyvswitch.ofproto_dpif.trace import trace_bridge

        return trace_bridge(self, flow_text, packet, list(ct_next), self._now(now))


def _default_dpid(name: str) -> int:
    """A stable datapath id from the bridge name (OVS derives it from a MAC)."""
    h = 0
    for ch in name.encode():
        h = (h * 131 + ch) & 0xFFFFFFFFFFFF
    return h | 0x020000000000


__all__ = ["Bridge", "OFPError"]
