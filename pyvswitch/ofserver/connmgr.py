"""The connection manager of one bridge (OVS ``connmgr``), without any I/O.

It knows the bridge's targets -- the management socket and ``ptcp:``/``punix:``
listeners (service connections), and active ``tcp:``/``unix:`` controllers (primary
connections, each with its own :class:`~pyvswitch.ofserver.rconn.Reconnect` clock) --
and its live :class:`~pyvswitch.ofserver.ofconn.OFConn` sessions.  The socket shell
asks :meth:`run` what to do (connect to a controller now, give up an attempt), tells it
what happened (:meth:`accepted`, :meth:`connected`, :meth:`connect_failed`,
:meth:`closed`) and moves bytes.

Besides dispatching requests to the :class:`~pyvswitch.ofserver.handler.Handler`, it
owns what is shared between a bridge's connections:

* asynchronous messages: the bridge's queued events are sent to every connection whose
  role, async config and controller id want them (:meth:`flush_events`);
* roles: at most one master; the master election generation id;
* ``wants_packet_in_on_miss``: an OpenFlow 1.0 connection that may receive packet-ins
  makes table misses go to the controller (OVS's pre-1.3 table-miss rule);
* fail-open: in ``standalone`` mode, once every configured controller has been
  unreachable (not connected-and-admitted) for three probe intervals, the flow table
  is flushed and a hidden ``priority=0xf0f0f0 actions=NORMAL`` rule makes the bridge a
  learning switch until a controller is back; ``secure`` mode never adds flows.

Layer: ofserver.  Imports: ofproto_dpif (the switch, duck-typed), openflow, ofserver.*.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from pyvswitch import coverage
from pyvswitch.errors import ConfigError
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand
from pyvswitch.flow.match import Match
from pyvswitch.flow.ofpacts import Output
from pyvswitch.ofserver import asyncmsg as A
from pyvswitch.ofserver.handler import ADMITTING, Handler
from pyvswitch.ofserver.ofconn import ConnKind, OFConn
from pyvswitch.ofserver.rconn import (
    DEFAULT_MAX_BACKOFF,
    DEFAULT_PROBE_INTERVAL,
    MGMT_PROBE_INTERVAL,
    Reconnect,
)
from pyvswitch.ofserver.targets import Target, parse_target
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.consts import OFP13_VERSION
from pyvswitch.types import OFPP_LOCAL, OFPP_NORMAL

#: priority of the hidden fail-open rule (above anything OpenFlow can install)
FAIL_OPEN_PRIORITY = 0xF0F0F0
#: port state bit: the port can forward (OpenFlow 1.1+)
OFPPS_LIVE = 4
#: a counter the switch does not keep ("?" in ovs-ofctl)
UNKNOWN = 0xFFFFFFFFFFFFFFFF


class Host(Protocol):
    """What the connection manager needs from whoever runs it (the daemon)."""

    def transmit(self, outputs: list[tuple[str, bytes]], now: float) -> None:
        """Send packet-out results: ``(port name, frame)`` pairs."""

    def port_counters(self, bridge: str, port: str) -> dict[str, int] | None:
        """rx/tx counters of a port (names as ``PortStats`` fields), None if unknown."""

    def port_hw_addr(self, bridge: str, port: str) -> int | None:
        """The Ethernet address of a port's device, None if unknown."""

    def log(self, level: str, msg: str) -> None:
        """A log line (levels: info, warn, err, dbg)."""


class NullHost:
    """A host that drops transmissions (in-process use and tests keep them)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.logs: list[tuple[str, str]] = []

    def transmit(self, outputs: list[tuple[str, bytes]], now: float) -> None:
        self.sent.extend(outputs)

    def port_counters(self, bridge: str, port: str) -> dict[str, int] | None:
        return None

    def port_hw_addr(self, bridge: str, port: str) -> int | None:
        return None

    def log(self, level: str, msg: str) -> None:
        self.logs.append((level, msg))


@dataclass(slots=True)
class Controller:
    """An active target and its reconnect clock; ``conn`` while connected."""

    target: Target
    reconnect: Reconnect
    probe_interval: float
    conn: OFConn | None = None


class ConnManager:
    """See the module docstring."""

    def __init__(self, switch: Any, bridge: str, host: Host | None = None,
                 now: float = 0.0, fail_mode: str = "standalone",
                 probe_interval: float = DEFAULT_PROBE_INTERVAL,
                 max_backoff: float = DEFAULT_MAX_BACKOFF) -> None:
        self.switch = switch
        self.bridge_name = bridge
        self.host: Host = host if host is not None else NullHost()
        self.created = now
        self.fail_mode = fail_mode
        self.probe_interval = probe_interval
        self.max_backoff = max_backoff
        self.handler = Handler(self)
        self.conns: list[OFConn] = []
        self.controllers: dict[str, Controller] = {}
        #: passive targets (service connections) other than the management socket
        self.services: dict[str, Target] = {}
        self.frag_handling = 0
        self._election_id: int | None = None
        self.fail_open_active = False
        self._port_created: dict[int, float] = {}
        #: answer a request that hits a bug of ours with an error instead of raising
        #: (the daemon sets it; tests want the exception)
        self.catch_bugs = False
        #: a flow add that only inserts a rule may be finished after the replies to the
        #: requests that came with it were sent; the shell that sets this calls
        #: :meth:`complete` once it has sent them, before anything else runs
        self.defer_adds = False
        self._deferred: list[Any] = []

    @property
    def bridge(self) -> Any:
        bridges = getattr(self.switch, "bridges", None)
        br = bridges.get(self.bridge_name) if bridges is not None else None
        return br if br is not None else self.switch.bridge(self.bridge_name)

    # ================================================================== configuration
    def set_controllers(self, targets: list[str], now: float) -> None:
        """The configured controller targets (``set-controller``); unchanged targets
        keep their connections.  Raises ConfigError for a bad target."""
        parsed = [parse_target(t) for t in targets]
        had_controllers = self.has_controllers()
        active = {t.text: t for t in parsed if not t.passive}
        passive = {t.text: t for t in parsed if t.passive}
        for text in list(self.controllers):
            if text not in active:
                ctl = self.controllers.pop(text)
                if ctl.conn is not None:
                    ctl.conn.close("controller removed from the configuration")
        for text, t in active.items():
            if text not in self.controllers:
                self.controllers[text] = Controller(
                    t, Reconnect(now, self.max_backoff), self.probe_interval)
        for text in list(self.services):
            if text not in passive:
                del self.services[text]
                for c in self.conns:
                    if c.target == text:
                        c.close("listener removed from the configuration")
        self.services.update(passive)
        if not self.controllers and self.fail_open_active:
            self._fail_open_recover()
        if had_controllers != self.has_controllers():
            self.flush_flows(now)

    def flush_flows(self, now: float) -> None:
        """Delete every flow; a standalone bridge without controllers gets its NORMAL
        flow back (OVS ``ofproto_flush_flows`` + ``connmgr_flushed``).  OVS does this
        whenever a bridge gains its first controller or loses its last one."""
        br = self.bridge
        br.handle_flow_mod(FlowMod(command=FlowModCommand.DELETE, table_id=0xFF), now)
        if not self.controllers and self.fail_mode == "standalone":
            br.handle_flow_mod(FlowMod(command=FlowModCommand.ADD, table_id=0, priority=0,
                                       actions=(Output(OFPP_NORMAL),)), now)
        self.fail_open_active = False

    def set_fail_mode(self, mode: str, now: float, flush: bool = True) -> None:
        """Change the fail mode; as OVS, a bridge without controllers is flushed (and
        gets its NORMAL flow back when standalone).  ``flush`` False: the caller did
        that already."""
        if mode not in ("standalone", "secure"):
            raise ConfigError(f"fail_mode must be standalone or secure, not '{mode}'")
        if mode == self.fail_mode:
            return
        self.fail_mode = mode
        if mode == "secure" and self.fail_open_active:
            self._fail_open_recover()
        if flush and not self.controllers:
            self.flush_flows(now)

    def has_controllers(self) -> bool:
        return bool(self.controllers)

    # ================================================================== connections
    def accepted(self, name: str, now: float, target: str | None = None,
                 probe_interval: float | None = None) -> OFConn:
        """A connection accepted on a listening target (a service connection)."""
        interval = MGMT_PROBE_INTERVAL if probe_interval is None else probe_interval
        conn = OFConn(self, name, ConnKind.SERVICE, now, interval, target=target)
        self.conns.append(conn)
        return conn

    def connected(self, target: str, now: float) -> OFConn:
        """An active controller connection was established."""
        ctl = self.controllers[target]
        ctl.reconnect.connected(now)
        conn = OFConn(self, target, ConnKind.PRIMARY, now, ctl.probe_interval, target=target)
        ctl.conn = conn
        self.conns.append(conn)
        self._update_bridge_flags()
        self.host.log("info", f"{self.bridge_name}<->{target}: connected")
        return conn

    def connect_failed(self, target: str, now: float, reason: str = "") -> None:
        ctl = self.controllers.get(target)
        if ctl is None:
            return
        ctl.reconnect.connect_failed(now)
        self.host.log("info", f"{self.bridge_name}<->{target}: connection failed"
                              + (f" ({reason})" if reason else ""))

    def closed(self, conn: OFConn, now: float) -> None:
        """The shell closed ``conn`` (or saw it close): forget it."""
        self.complete(now)
        conn.close(conn.close_reason or "closed")
        if conn in self.conns:
            self.conns.remove(conn)
        for ctl in self.controllers.values():
            if ctl.conn is conn:
                ctl.conn = None
                ctl.reconnect.disconnected(now)
                self.host.log("info", f"{self.bridge_name}<->{ctl.target.text}: "
                                      f"connection dropped ({conn.close_reason})")
        self._update_bridge_flags()

    def negotiated(self, conn: OFConn, now: float) -> None:
        self._update_bridge_flags()

    def close_all(self) -> None:
        for c in self.conns:
            c.close("bridge shutting down")

    # ================================================================== requests
    def defer_insert(self, rule: Any) -> None:
        """A checked rule to insert in :meth:`complete`."""
        self._deferred.append(rule)

    def complete(self, now: float) -> None:
        """Do the work deferred while handling requests (see ``defer_adds``).  Every
        request but a barrier does this first, so requests still see each other's
        effects in order."""
        if not self._deferred:
            return
        rules, self._deferred = self._deferred, []
        br = self.bridge
        ofp = br.ofproto
        for rule in rules:
            ofp.insert_rule(rule)
        br.sync()

    def handle(self, conn: OFConn, msg: object, xid: int, raw: bytes, now: float) -> None:
        if self._deferred and type(msg) is not M.BarrierRequest:
            self.complete(now)
        if conn.kind is ConnKind.PRIMARY and type(msg) in ADMITTING and conn.target:
            ctl = self.controllers.get(conn.target)
            if ctl is not None and ctl.conn is conn:
                ctl.reconnect.admit(now)
                if self.fail_open_active:
                    self._fail_open_recover()
        self.handler.handle(conn, msg, xid, raw, now)

    def transmit(self, outputs: list[tuple[str, bytes]], now: float) -> None:
        if outputs:
            self.host.transmit(outputs, now)

    def conn_changed(self, conn: OFConn) -> None:
        """A connection's version, miss_send_len or controller id changed."""
        self._update_bridge_flags()

    # -- roles ------------------------------------------------------------------------
    def set_role(self, conn: OFConn, role: M.ControllerRole) -> None:
        """A new master demotes the old one, which is told with a ROLE_STATUS
        (OpenFlow 1.3 and later, whatever its async config, as OVS)."""
        if role == M.ControllerRole.MASTER and conn.role != role:
            for other in self.conns:
                if other is not conn and other.role == M.ControllerRole.MASTER:
                    other.role = M.ControllerRole.SLAVE
                    if other.version >= OFP13_VERSION:
                        other.send_async(M.RoleStatus(M.ControllerRole.SLAVE, 0,
                                                      self.election_id()))
        conn.role = role

    def set_election_id(self, gen: int) -> bool:
        """Record a master election generation id; False when it is stale (older than
        the last one, in 64-bit wrap-around arithmetic)."""
        if self._election_id is not None:
            diff = (gen - self._election_id) & 0xFFFFFFFFFFFFFFFF
            if diff >= 1 << 63:
                return False
        self._election_id = gen
        return True

    def election_id(self) -> int:
        return UNKNOWN if self._election_id is None else self._election_id

    # ================================================================== async messages
    def flush_events(self, now: float, source: OFConn | None = None) -> int:
        """Send the bridge's queued events to the connections that want them;
        returns how many events there were."""
        br = self.bridge
        if not br.events and not br.ofproto.has_events():
            return 0
        events = br.pop_events()
        for ev in events:
            kind = A.event_kind(ev)
            if kind is None:
                continue
            if kind == A.PACKET_IN:
                self._send_packet_in(ev)
            elif kind == A.PORT_STATUS:
                self._note_port(ev, now)
                info = getattr(ev, "desc", None) or getattr(ev, "port", None)
                msg = M.PortStatus(int(ev.reason), self.port_desc(info))
                self._send_to_all(A.PORT_STATUS, int(ev.reason), msg, source)
            else:
                self._send_to_all(A.FLOW_REMOVED, int(ev.reason),
                                  A.flow_removed_message(ev), None)
        return len(events)

    def _send_packet_in(self, ev: Any) -> None:
        reason = A.internal_reason(ev)
        cid = int(getattr(ev, "controller_id", 0))
        by_version: dict[int, M.PacketIn] = {}
        for c in self.conns:
            if c.controller_id != cid or not c.wants_async(A.PACKET_IN, reason):
                continue
            msg = by_version.get(c.version)
            if msg is None:
                msg = by_version[c.version] = A.packet_in_message(ev, c.version)
            if c.send_async(msg):
                coverage.inc("ofconn_packet_in")

    def _send_to_all(self, kind: int, reason: int, msg: object, source: OFConn | None) -> None:
        for c in self.conns:
            if c is source and c.version < 6:
                continue  # before OpenFlow 1.5, a port_mod's sender is not told
            if c.wants_async(kind, reason):
                c.send_async(msg)

    def _note_port(self, ev: Any, now: float) -> None:
        info = getattr(ev, "desc", None) or getattr(ev, "port", None)
        ofport = getattr(info, "ofport", None)
        if ofport is None:
            ofport = getattr(ev, "ofport", None)
        if ofport is None:
            return
        if int(ev.reason) == 0:
            self._port_created[ofport] = now
        elif int(ev.reason) == 1:
            self._port_created.pop(ofport, None)

    # ================================================================== periodic
    def run(self, now: float) -> list[tuple[str, str]]:
        """Timers: controller (re)connections, inactivity probes, fail-open, and the
        bridge's queued events.  Returns actions for the shell: ("connect", target)
        to start an attempt, ("abort", target) to give one up."""
        self.complete(now)
        actions: list[tuple[str, str]] = []
        for text, ctl in self.controllers.items():
            what = ctl.reconnect.run(now)
            if what == "connect":
                actions.append(("connect", text))
            elif what == "timeout":
                actions.append(("abort", text))
                ctl.reconnect.disconnected(now)
        for c in list(self.conns):
            c.run(now)
        self._fail_open_run(now)
        self.flush_events(now)
        return actions

    def next_deadline(self) -> float | None:
        times = [t for ctl in self.controllers.values()
                 if (t := ctl.reconnect.next_deadline()) is not None]
        times += [t for c in self.conns if (t := c.next_deadline()) is not None]
        t = self._fail_open_deadline()
        if t is not None:
            times.append(t)
        return min(times) if times else None

    # -- bridge flags ------------------------------------------------------------------
    def _update_bridge_flags(self) -> None:
        br = self.bridge
        want = any(c.is_open and c.version < OFP13_VERSION and c.controller_id == 0
                   and (c.kind is ConnKind.PRIMARY or c.miss_send_len)
                   for c in self.conns)
        if want != br.wants_packet_in_on_miss:
            br.wants_packet_in_on_miss = want
            br.changed()
        connected = any(ctl.conn is not None and not ctl.conn.closed
                        for ctl in self.controllers.values())
        if connected != br.controller_connected:
            br.controller_connected = connected
            br.changed()

    # -- fail-open ---------------------------------------------------------------------
    def _trigger(self) -> float:
        return max(ctl.probe_interval for ctl in self.controllers.values()) * 3

    def _failure_duration(self, now: float) -> float:
        """Seconds for which every controller has been failed (0: one is fine)."""
        return min(ctl.reconnect.failure_duration(now) for ctl in self.controllers.values())

    def _fail_open_deadline(self) -> float | None:
        """When fail-open will start if nothing changes (None: not pending)."""
        if not self.controllers or self.fail_mode != "standalone" or self.fail_open_active:
            return None
        starts = []
        for ctl in self.controllers.values():
            if ctl.reconnect.admitted:
                return None
            starts.append(ctl.reconnect.last_admitted)
        return max(starts) + self._trigger()

    def _fail_open_run(self, now: float) -> None:
        if not self.controllers or self.fail_mode != "standalone":
            return
        failed_for = self._failure_duration(now)
        if not self.fail_open_active:
            if failed_for > 0 and failed_for >= self._trigger():
                self.host.log("warn", f"{self.bridge_name}: Could not connect to controller "
                                      f"(or switch failed controller's post-connection "
                                      f"admission control policy) for {int(failed_for)} "
                                      "seconds, failing open")
                self._fail_open_enter(now)
        elif any(ctl.reconnect.is_admitted(now) for ctl in self.controllers.values()):
            self._fail_open_recover()

    def _fail_open_enter(self, now: float) -> None:
        """Flush every flow and put in the hidden NORMAL rule (OVS ``fail_open_run``
        then ``fail_open_flushed``)."""
        br = self.bridge
        br.handle_flow_mod(FlowMod(command=FlowModCommand.DELETE, table_id=0xFF), now)
        br.handle_flow_mod(FlowMod(command=FlowModCommand.ADD, table_id=0,
                                   priority=FAIL_OPEN_PRIORITY,
                                   actions=(Output(OFPP_NORMAL),)), now)
        self.fail_open_active = True
        coverage.inc("fail_open_enter")

    def _fail_open_recover(self) -> None:
        br = self.bridge
        br.handle_flow_mod(FlowMod(command=FlowModCommand.DELETE_STRICT, table_id=0,
                                   match=Match(), priority=FAIL_OPEN_PRIORITY))
        self.fail_open_active = False
        self.host.log("warn", f"{self.bridge_name}: No longer in fail-open mode")

    def n_hidden_rules(self) -> int:
        return 1 if self.fail_open_active else 0

    # ================================================================== ports
    def port_desc(self, info: Any) -> M.PortDesc:
        """How a port is described to controllers: the device's address (a stable
        made-up one for in-memory ports, the datapath id's for LOCAL, as OVS), and
        the LIVE state bit when it can forward."""
        d = A.port_desc(info)
        hw = d.hw_addr or self.host.port_hw_addr(self.bridge_name, d.name)
        if not hw:
            hw = (self.bridge.dpid & 0xFFFFFFFFFFFF if d.port_no == OFPP_LOCAL
                  else 0xAA55AA550000 | (d.port_no & 0xFFFF))
        state = d.state
        if getattr(info, "is_live", True):
            state |= OFPPS_LIVE
        return dataclasses.replace(d, hw_addr=hw, state=state)

    def port_descs(self, port_no: int | None = None) -> list[M.PortDesc]:
        ports = self.bridge.ofproto.ports
        return [self.port_desc(ports[n]) for n in sorted(ports)
                if port_no is None or n == port_no]

    def port_stats(self, ofport: int, now: float) -> M.PortStats:
        br = self.bridge
        info = br.ofproto.ports.get(ofport)
        name = getattr(info, "name", "")
        counters = self.host.port_counters(self.bridge_name, name) or {}
        created = self._port_created.setdefault(ofport, self.created)
        age = max(0.0, now - created)
        sec = int(age)
        nsec = int(round((age - sec) * 1000)) * 1000000
        if nsec >= 1000000000:
            sec, nsec = sec + 1, 0

        def c(field: str, default: int = UNKNOWN) -> int:
            v = counters.get(field)
            return default if v is None else int(v)

        return M.PortStats(
            port_no=ofport, rx_packets=c("rx_packets", 0), tx_packets=c("tx_packets", 0),
            rx_bytes=c("rx_bytes", 0), tx_bytes=c("tx_bytes", 0),
            rx_dropped=c("rx_dropped"), tx_dropped=c("tx_dropped"),
            rx_errors=c("rx_errors"), tx_errors=c("tx_errors"),
            rx_frame_err=c("rx_frame_err"), rx_over_err=c("rx_over_err"),
            rx_crc_err=c("rx_crc_err"), collisions=c("collisions"),
            duration_sec=sec, duration_nsec=nsec)


__all__ = ["ConnManager", "Controller", "FAIL_OPEN_PRIORITY", "Host", "NullHost"]
