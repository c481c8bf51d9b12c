"""A bridge: one OpenFlow switch (``ofproto``) wired to the shared datapath.

:class:`Bridge` owns the OpenFlow side of one bridge -- its ``OFProto`` (tables, groups,
ports as OpenFlow sees them), the MAC learning table NORMAL uses, the per-port
translation view (:class:`~pyvswitch.ofproto_dpif.ports.XPort`) and the queue of events
for its controllers -- and offers the ovs-ofctl-style operations tests, the daemon and
the CLIs use: add/modify/delete/dump flows and groups, ``fdb/show``, ``ofproto/trace``.

Anything that can change forwarding bumps ``OFProto.generation`` (flow, group and port
changes, whoever makes them) or marks the MAC table changed; :meth:`sync` notices and
the switch revalidates its megaflows before the next packet is processed.

Layer: ofproto_dpif.  Imports: ofproto, flow, ofproto_dpif.*.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pyvswitch.flow.flow_text import (
    format_flow_stats,
    format_group_desc,
    parse_flow_mod,
    parse_flow_mods,
    parse_group_mod,
)
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand, FlowStats, GroupMod, GroupModCommand
from pyvswitch.flow.ofpacts import GroupDesc
from pyvswitch.ofproto.ports import OFPPS_LINK_DOWN
from pyvswitch.ofproto_dpif.ports import XPort
from pyvswitch.ofproto_dpif.xlate import MISS_DEFAULT

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
        #: a controller is connected (liveness of buckets watching OFPP_CONTROLLER)
        self.controller_connected = False
        self.table_miss: dict[int, str] = {}
        self.events: deque[object] = deque()
        self._generation = -1

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
        rule = self.ofproto.learn_flow(fm, now, limit=limit)
        self._drain()
        return rule is not None

    def sync(self) -> bool:
        """Catch up with changes made in ofproto (by us or by the OpenFlow layer):
        port config and liveness; True (and revalidation due) if anything changed."""
        gen = self.ofproto.generation
        if gen == self._generation:
            return False
        self._generation = gen
        ports = self.ofproto.ports
        for xp in self.xports.values():
            info = ports.get(xp.ofport)
            if info is not None:
                xp.config = info.config
                xp.may_enable = info.is_live
        self._drain()
        self.changed()
        return True

    def _drain(self) -> None:
        self.events.extend(self.ofproto.drain_events())

    # ------------------------------------------------------------------ ports
    def port_map(self) -> dict[str, int]:
        return {p.name: p.ofport for p in self.xports.values()}

    def port_names(self) -> dict[int, str]:
        return {p.ofport: p.name for p in self.xports.values()}

    def attach_port(self, xport: XPort, ofport_request: int | None, now: float) -> XPort:
        """Give ``xport`` its OpenFlow number (ofproto allocates it) and start using it."""
        info = self.ofproto.add_port(xport.name, ofport_request=ofport_request, now=now)
        xport.ofport = info.ofport
        xport.config = info.config
        xport.may_enable = info.is_live
        self.xports[xport.ofport] = xport
        self.ports_by_name[xport.name] = xport
        self.sync()
        return xport

    def detach_port(self, name: str, now: float) -> XPort:
        xport = self.ports_by_name.pop(name)
        del self.xports[xport.ofport]
        self.ofproto.del_port(xport.ofport, now)
        self.ml.flush_port(xport.ofport)
        self.sync()
        self.mac_table_changed()
        return xport

    def set_port_state(self, name: str, *, config: int | None = None, mask: int | None = None,
                       may_enable: bool | None = None) -> None:
        """A port_mod (``config`` bits under ``mask``) or a link state change."""
        xport = self.ports_by_name[name]
        if config is not None:
            self.ofproto.mod_port(xport.ofport, config, 0xFFFFFFFF if mask is None else mask)
        if may_enable is not None:
            info = self.ofproto.ports[xport.ofport]
            state = info.state & ~OFPPS_LINK_DOWN
            if not may_enable:
                state |= OFPPS_LINK_DOWN
            self.ofproto.set_port_state(xport.ofport, state)
        self.sync()

    # ------------------------------------------------------------------ flows
    def _now(self, now: float | None) -> float:
        return self.switch.now if now is None else now

    def handle_flow_mod(self, fm: FlowMod, now: float | None = None,
                        **kw: Any) -> list[object]:
        """Apply a flow_mod (raises OFPError); its events are queued and returned."""
        events = list(self.ofproto.handle_flow_mod(fm, self._now(now), **kw) or [])
        self.events.extend(events)
        self.sync()
        return events

    def handle_group_mod(self, gm: GroupMod, now: float | None = None) -> list[object]:
        events = list(self.ofproto.handle_group_mod(gm, self._now(now)) or [])
        self.events.extend(events)
        self.sync()
        return events

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
        rules = self.ofproto.collect_rules(fm.table_id, fm.match, cookie=fm.cookie,
                                           cookie_mask=fm.cookie_mask, out_port=fm.out_port,
                                           out_group=fm.out_group)
        return [self.ofproto.flow_stats(r, now) for r in rules]

    def dump_flows(self, text: str | None = None, *, show_stats: bool = True,
                   names: bool = False, now: float | None = None) -> str:
        """``ovs-ofctl dump-flows`` lines (without the reply header), one per flow."""
        pn = self.port_names() if names else None
        stats = self.flow_stats(text, now)
        return "".join(format_flow_stats(s, show_stats=show_stats, port_names=pn) + "\n"
                       for s in stats)

    def dump_groups(self) -> str:
        out = []
        for g in self.ofproto.groups:
            desc = GroupDesc(g.group_id, g.type, tuple(g.buckets), g.selection_method)
            out.append(" " + format_group_desc(desc) + "\n")
        return "".join(out)

    # ------------------------------------------------------------------ fdb
    def fdb_show(self, now: float | None = None) -> str:
        """``ovs-appctl fdb/show``: port numbers, VLAN, MAC, age."""
        return self.ml.format_fdb_show(now=self._now(now))

    def fdb_flush(self) -> None:
        self.ml.flush()
        self.mac_table_changed()

    # ------------------------------------------------------------------ events
    def pop_events(self) -> list[object]:
        """Everything queued for this bridge's controllers, oldest first: PacketIn,
        ofproto's PortStatus and FlowRemoved."""
        self._drain()
        out = list(self.events)
        self.events.clear()
        return out

    # ------------------------------------------------------------------ trace
    def trace(self, flow_text: str, packet: bytes | None = None,
              ct_next: list[str] | tuple[str, ...] = (), now: float | None = None) -> str:
        from pyvswitch.ofproto_dpif.trace import trace_bridge

        self.switch.prepare()
        return trace_bridge(self, flow_text, packet, list(ct_next), self._now(now))


def _default_dpid(name: str) -> int:
    """A stable datapath id from the bridge name (OVS derives it from a MAC)."""
    h = 0
    for ch in name.encode():
        h = (h * 131 + ch) & 0xFFFFFFFFFFFF
    return h | 0x020000000000
