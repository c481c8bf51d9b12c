"""The in-process switch: one datapath, one connection tracker, several bridges.

:class:`Switch` is what tests, the daemon and the demo drive.  It owns the userspace
:class:`~pyvswitch.dpif.datapath.Datapath` (shared by all bridges, as OVS's
``ovs-netdev``), the :class:`~pyvswitch.conntrack.tracker.Conntrack` the datapath's
``ct`` actions use, the recirculation-id table and the bridges.  Packets enter with
:meth:`receive` and leave as ``(port name, bytes)``; time only moves when a caller
passes ``now``.  Before every batch it revalidates the cached megaflows if flows,
groups, ports or MAC entries changed, so a change is visible to the very next packet.

Layer: ofproto_dpif.  Imports: dpif, conntrack, flow, ofproto_dpif.*.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyvswitch.conntrack.tracker import Conntrack
from pyvswitch.dpif.datapath import Datapath
from pyvswitch.errors import ConfigError
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import DEFAULT_MD, extract_headers
from pyvswitch.ofproto_dpif.bridge import Bridge
from pyvswitch.ofproto_dpif.ports import XPort, make_vlan_config
from pyvswitch.ofproto_dpif.recirc import RecircTable
from pyvswitch.ofproto_dpif.revalidate import push_stats, revalidate
from pyvswitch.ofproto_dpif.upcall import MegaflowOwner, UpcallHandler
from pyvswitch.ofproto_dpif.xlate import xlate_actions
from pyvswitch.ofproto_dpif.xlate_ctx import XlateIn
from pyvswitch.packet.headers import set_vlan_limit
from pyvswitch.types import OFPP_LOCAL, OFPP_MAX

#: when more frozen states than this exist, run() frees the unused ones
RECIRC_GC_THRESHOLD = 4096

#: port types a bridge accepts (as ``pyvs-vsctl`` spells them)
PORT_TYPES = ("dummy", "dummy-internal", "system", "internal", "tap", "pcap")


class Switch:
    """Bridges over one userspace datapath (OVS's ``dpif_backer``)."""

    def __init__(self, *, conntrack: Conntrack | None = None,
                 datapath: Datapath | None = None, ofproto_factory=None,
                 vlan_limit: int | None = None) -> None:
        if vlan_limit is not None:
            # process-wide, as OVS's other_config:vlan-limit (whose default is 1)
            set_vlan_limit(vlan_limit)
        #: makes a bridge's (OFProto, MacLearning); replaceable for tests
        self.ofproto_factory = ofproto_factory or _default_ofproto
        self.conntrack = conntrack if conntrack is not None else Conntrack()
        self.datapath = datapath if datapath is not None else Datapath(self.conntrack)
        self.recirc = RecircTable()
        self.bridges: dict[str, Bridge] = {}
        #: port name -> (bridge, xport)
        self._ports: dict[str, tuple[Bridge, XPort]] = {}
        #: datapath port -> (bridge, ofport)
        self._by_dp: dict[int, tuple[Bridge, int]] = {}
        self._dp_names: dict[int, str] = {}
        self._need_revalidate = False
        self.need_revalidate_mac = False
        self.now = 0.0
        self.upcall = UpcallHandler(self)
        self.datapath.register_upcall_cb(self.upcall)

    @property
    def need_revalidate(self) -> bool:
        """Flows, groups or ports changed since the last revalidation -- through the
        bridges or directly in a bridge's ofproto (the OpenFlow layer)."""
        if self._need_revalidate:
            return True
        for br in self.bridges.values():
            if br.ofproto.generation != br._generation:
                return True
        return False

    @need_revalidate.setter
    def need_revalidate(self, value: bool) -> None:
        self._need_revalidate = value

    # ------------------------------------------------------------------ bridges
    def add_bridge(self, name: str, fail_mode: str = "standalone",
                   dpid: int | None = None, datapath_type: str = "dummy") -> Bridge:
        """Add a bridge with its LOCAL port.  ``datapath_type`` "dummy" (the in-process
        default) makes the LOCAL port a simulated ``dummy-internal`` one numbered as in
        OVS's tests (br0 -> 100); "netdev" makes it an ``internal`` device port."""
        if name in self.bridges:
            raise ConfigError(f"a bridge named {name} already exists")
        if name in self._ports:
            raise ConfigError(f"{name} is already a port")
        if fail_mode not in ("standalone", "secure"):
            raise ConfigError(f"fail_mode must be standalone or secure, not '{fail_mode}'")
        br = Bridge(self, name, fail_mode, dpid)
        self.bridges[name] = br
        local_type = "dummy-internal" if datapath_type == "dummy" else "internal"
        self._add_port(br, name, local_type, None, None, None, None, None)
        if fail_mode != "secure":
            br.add_flow("priority=0,actions=NORMAL", now=self.now)
        return br

    def del_bridge(self, name: str) -> None:
        br = self._bridge(name)
        for pname in [p for p, (b, _x) in self._ports.items() if b is br]:
            self._del_port(pname)
        del self.bridges[name]
        self.recirc.free_bridge(name)
        self.need_revalidate = True
        self.revalidate()

    def _bridge(self, name: str | Bridge) -> Bridge:
        if isinstance(name, Bridge):
            return name
        br = self.bridges.get(name)
        if br is None:
            raise ConfigError(f"no bridge named {name}")
        return br

    def bridge(self, name: str) -> Bridge:
        return self._bridge(name)

    # ------------------------------------------------------------------ ports
    def add_port(self, bridge: str | Bridge, name: str, type: str = "dummy",
                 ofport_request: int | None = None, options: dict[str, str] | None = None,
                 tag: int | None = None, trunks: Iterable[int] | None = None,
                 vlan_mode: str | None = None) -> tuple[int, int]:
        """Add a port; returns (OpenFlow port, datapath port)."""
        br = self._bridge(bridge)
        if name in self._ports or name in self.bridges:
            raise ConfigError(f"cannot create a port named {name} because a port named "
                              f"{name} already exists")
        if type not in PORT_TYPES:
            raise ConfigError(f"unknown port type '{type}'")
        if ofport_request is not None and not 1 <= ofport_request < OFPP_MAX:
            raise ConfigError(f"ofport_request {ofport_request} is out of range")
        xp = self._add_port(br, name, type, ofport_request, options, tag,
                            list(trunks) if trunks is not None else None, vlan_mode)
        return xp.ofport, xp.dp_port

    def _add_port(self, br: Bridge, name: str, type: str, ofport_request: int | None,
                  options: dict[str, str] | None, tag: int | None,
                  trunks: list[int] | None, vlan_mode: str | None) -> XPort:
        mode, vlan, tset = make_vlan_config(tag, trunks, vlan_mode)
        dp_port = self.datapath.port_add(name, type)
        xp = XPort(name=name, ofport=0, dp_port=dp_port, type=type, vlan_mode=mode,
                   vlan=vlan, trunks=tset, options=dict(options or {}))
        try:
            br.attach_port(xp, ofport_request, self.now)
        except Exception:
            self.datapath.port_del(dp_port)
            raise
        self._ports[name] = (br, xp)
        self._by_dp[dp_port] = (br, xp.ofport)
        self._dp_names[dp_port] = name
        return xp

    def set_port_vlan(self, name: str, tag: int | None = None,
                      trunks: Iterable[int] | None = None, vlan_mode: str | None = None) -> None:
        br, xp = self._port(name)
        xp.vlan_mode, xp.vlan, xp.trunks = make_vlan_config(
            tag, list(trunks) if trunks is not None else None, vlan_mode)
        br.changed()
        br.fdb_flush()

    def del_port(self, name: str) -> None:
        br, xp = self._port(name)
        if xp.ofport == OFPP_LOCAL:
            raise ConfigError(f"cannot delete {name}: it is the local port of bridge {br.name}")
        self._del_port(name)
        self.revalidate()

    def _del_port(self, name: str) -> None:
        br, xp = self._ports.pop(name)
        self._by_dp.pop(xp.dp_port, None)
        self._dp_names.pop(xp.dp_port, None)
        br.detach_port(name, self.now)
        self.datapath.port_del(xp.dp_port)

    def _port(self, name: str) -> tuple[Bridge, XPort]:
        ent = self._ports.get(name)
        if ent is None:
            raise ConfigError(f"no port named {name}")
        return ent

    def port(self, name: str) -> XPort:
        return self._port(name)[1]

    def port_to_bridge(self, name: str) -> str:
        return self._port(name)[0].name

    def bridge_of_dp_port(self, dp_port: int) -> Bridge | None:
        ent = self._by_dp.get(dp_port)
        return None if ent is None else ent[0]

    def dp_to_ofport(self, dp_port: int) -> int | None:
        ent = self._by_dp.get(dp_port)
        return None if ent is None else ent[1]

    def dp_port_name(self, dp_port: int) -> str | None:
        return self._dp_names.get(dp_port)

    # ------------------------------------------------------------------ packets
    def _dp_port_of(self, port: str | int) -> int:
        if isinstance(port, int):
            return port
        return self._port(port)[1].dp_port

    def receive(self, port: str | int, packets: Sequence[bytes | bytearray], now: float
                ) -> list[tuple[str, bytes]]:
        """Process packets received on ``port`` (name or datapath number); returns the
        transmissions as (output port name, packet bytes), in order."""
        self.now = now
        self.prepare()
        out = self.datapath.process(self._dp_port_of(port), packets, now)
        return self._names(out)

    def prepare(self) -> None:
        """Pick up configuration changes and revalidate before packets flow."""
        for br in self.bridges.values():
            br.sync()
        if self.need_revalidate or self.need_revalidate_mac:
            self.revalidate()

    def _names(self, out: Iterable[tuple]) -> list[tuple[str, bytes]]:
        names = self._dp_names
        return [(names.get(item[0]) or str(item[0]), bytes(item[1])) for item in out]

    def packet_out(self, bridge: str | Bridge, in_port: int, actions: Sequence[object],
                   packet: bytes | bytearray, now: float) -> list[tuple[str, bytes]]:
        """Execute OpenFlow ``actions`` on ``packet`` as if it came in on ``in_port``
        (an OpenFlow port, OFPP_CONTROLLER/OFPP_NONE/OFPP_LOCAL allowed)."""
        br = self._bridge(bridge)
        self.now = now
        self.prepare()
        xp = br.xports.get(in_port)
        dp_in = xp.dp_port if xp is not None else 0
        md = list(DEFAULT_MD)
        md[L.IN_PORT] = dp_in
        pkt = bytearray(packet)
        key = tuple(md) + extract_headers(pkt)
        flow = list(key)
        flow.extend([0] * (L.N_FLOW - L.N_DP))
        flow[L.IN_PORT] = in_port
        xin = XlateIn(br, flow, now, packet=pkt, allow_side_effects=True, ofpacts=tuple(actions),
                      in_packet_out=True, for_datapath=True)
        xout = xlate_actions(xin)
        out = self.datapath.execute(pkt, key, xout.actions, now)
        return self._names(out)

    def trace(self, bridge: str | Bridge, flow_text: str, packet: bytes | None = None,
              ct_next: Sequence[str] = (), now: float | None = None) -> str:
        """``ovs-appctl ofproto/trace BRIDGE FLOW [PACKET] [--ct-next STATE]...``."""
        return self._bridge(bridge).trace(flow_text, packet, list(ct_next), now)

    # ------------------------------------------------------------------ maintenance
    def push_stats(self) -> None:
        push_stats(self)

    def revalidate(self) -> int:
        for br in self.bridges.values():
            br.sync()
        return revalidate(self)

    def run(self, now: float) -> None:
        """Periodic work: statistics, flow timeouts, MAC aging, conntrack expiry."""
        self.now = now
        push_stats(self)
        for br in list(self.bridges.values()):
            br.events.extend(br.ofproto.run(now))
            if br.ml.expire(now):
                br.mac_table_changed()
        self.conntrack.run(now)
        self.prepare()
        if len(self.recirc) > RECIRC_GC_THRESHOLD:
            self.collect_recirc_ids()

    def collect_recirc_ids(self) -> int:
        """Free the recirculation ids no cached megaflow leads to any more (their
        frozen states can be made again if a packet needs them); returns how many."""
        live: set[int] = set()
        for f in self.datapath.flow_dump():
            owner = f.owner
            if isinstance(owner, MegaflowOwner):
                live.update(owner.recircs)
        dead = {rid for rid in self.recirc.ids() if rid not in live}
        if dead:
            # megaflows keyed on a freed id are unreachable; drop them so a later
            # state that gets the same id never inherits them
            self.datapath.revalidate(
                lambda f: "delete" if f.key[L.RECIRC_ID] in dead else "keep")
            for rid in dead:
                self.recirc.free(rid)
        return len(dead)

    def pop_events(self, bridge: str) -> list[object]:
        return self._bridge(bridge).pop_events()


def _default_ofproto(name: str, dpid: int, mac_aging: int):
    from pyvswitch.ofproto.mac_learning import MacLearning
    from pyvswitch.ofproto.ofproto import OFProto

    return OFProto(name, dpid), MacLearning(max_age=mac_aging)


__all__ = ["Switch", "Bridge"]
