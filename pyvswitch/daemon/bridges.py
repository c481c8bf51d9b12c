"""Configuration to running switch: bridges and ports brought in line with ``conf.json``.

Layer: daemon (imports ``config.model``, ``daemon.ports``, ``daemon.switchio``,
``daemon.vlog``, ``packet.headers``, ``errors``, ``types``).

:meth:`Bridges.apply` compares the wanted configuration with what runs and makes the
smallest set of changes, in an order that never clashes: ports that go away or change
kind are removed first, then bridges are removed and added, then ports added, then
VLAN settings updated in place.  OpenFlow port numbers come from
:func:`pyvswitch.config.model.assign_ofports` (a request wins, a number used before is
kept), so a restart brings every port back under the same number.

A device that cannot be opened does not stop the others: the port is still added to
the switch (its numbers stay reserved), the error is shown on the interface and the
port table retries.  Only when a vsctl transaction *adds* a ``system`` port whose
device does not exist is the whole transaction refused (``strict``), before anything
changed, so ``pyvs-vsctl add-port br0 typo`` fails cleanly instead of leaving a dead
port behind.

Bridges with ``datapath_type=dummy`` open their device ports (system, internal, tap) as
``dummy`` netdevs, as OVS does with ``--enable-dummy=override``: a bridge for traces and
tests that needs no devices.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

from pyvswitch.config.model import Config, Interface, Port, assign_ofports
from pyvswitch.daemon.ports import PortState, PortTable, open_error_text
from pyvswitch.daemon.vlog import Vlog
from pyvswitch.errors import ConfigError, NetdevError, SwitchError
from pyvswitch.netdev.provider import NetdevProvider, open_netdev
from pyvswitch.packet import headers
from pyvswitch.types import OFPP_LOCAL

__all__ = ["Bridges", "DEFAULT_VLAN_LIMIT"]

#: OVS's default ``other_config:vlan-limit``
DEFAULT_VLAN_LIMIT = 1


@dataclass(frozen=True)
class _PortSig:
    """What, when changed, needs the port closed and opened again."""

    bridge: str
    type: str
    options: tuple[tuple[str, str], ...]
    ofport: int


@dataclass(frozen=True)
class _VlanSig:
    tag: int | None
    trunks: tuple[int, ...]
    vlan_mode: str | None


def _netdev_type(iface: Interface, dp_type: str) -> str:
    ntype = iface.type or "system"
    if dp_type == "dummy" and ntype in ("system", "internal", "tap"):
        return "dummy"  # devices are simulated; pcap and dummy ports stay what they are
    return ntype


def _netdev_options(iface: Interface, ntype: str) -> dict[str, str]:
    opts = dict(iface.options)
    if ntype in ("internal", "tap"):
        if iface.mtu_request is not None:
            opts.setdefault("mtu", str(iface.mtu_request))
        if iface.mac:
            opts.setdefault("mac", iface.mac)
    return opts


class Bridges:
    """Keeps a switch, and the daemon's ports, matching a :class:`Config`."""

    def __init__(self, switch: Any, ports: PortTable, vlog: Vlog) -> None:
        self.switch = switch
        self.ports = ports
        self.vlog = vlog
        self.fail_modes: dict[str, str] = {}
        self._sigs: dict[str, _PortSig] = {}
        self._vlans: dict[str, _VlanSig] = {}
        #: interface name -> why the switch refused the port (shown like a device error)
        self.refused: dict[str, str] = {}
        self.vlan_limit = DEFAULT_VLAN_LIMIT
        headers.set_vlan_limit(self.vlan_limit)

    # ------------------------------------------------------------------ desired state
    def _wanted(self, cfg: Config) -> dict[str, tuple[Interface, Port, _PortSig, _VlanSig]]:
        out = {}
        for br in cfg.bridges.values():
            ofports = assign_ofports(cfg, br.name)
            for pname in br.ports:
                port = cfg.ports[pname]
                for iname in port.interfaces:
                    if iname == br.name:
                        continue
                    iface = cfg.interfaces[iname]
                    ntype = _netdev_type(iface, br.datapath_type)
                    opts = _netdev_options(iface, ntype)
                    sig = _PortSig(br.name, ntype, tuple(sorted(opts.items())), ofports[iname])
                    vsig = _VlanSig(port.tag, tuple(port.trunks), port.vlan_mode)
                    out[iname] = (iface, port, sig, vsig)
        return out

    # ------------------------------------------------------------------ apply
    def apply(self, cfg: Config, strict: bool = False) -> None:
        """Bring the switch in line with ``cfg`` (whose ``ofport`` columns are filled
        in).  With ``strict``, a new system port without a device raises ConfigError
        before anything changes."""
        wanted = self._wanted(cfg)
        preopened = self._preopen(wanted, strict)
        try:
            self._apply(cfg, wanted, preopened)
        finally:
            for nd, _ in preopened.values():
                if nd is not None and not any(p.netdev is nd for p in self.ports):
                    nd.close()
        self._set_vlan_limit(cfg)

    def _preopen(self, wanted: dict, strict: bool
                 ) -> dict[str, tuple[NetdevProvider | None, NetdevError | None]]:
        """Open the devices of brand-new ports; refuse (strict) a missing system device."""
        opened: dict[str, tuple[NetdevProvider | None, NetdevError | None]] = {}
        for name, (_iface, _port, sig, _v) in wanted.items():
            if name in self._sigs:
                continue
            try:
                opened[name] = (open_netdev(name, sig.type, dict(sig.options)), None)
            except NetdevError as exc:
                if strict and sig.type == "system" and exc.errno == errno.ENODEV:
                    for nd, _ in opened.values():
                        if nd is not None:
                            nd.close()
                    raise ConfigError(
                        f"Error detected while setting up '{name}': "
                        f"{open_error_text(name, exc)}.  See pyvswitchd log for details."
                    ) from None
                opened[name] = (None, exc)
        return opened

    def _apply(self, cfg: Config, wanted: dict, preopened: dict) -> None:
        sw = self.switch
        # 1. ports that go away or change kind
        for name, sig in list(self._sigs.items()):
            if name not in wanted or wanted[name][2] != sig:
                self._remove_port(name)
        self.refused = {}
        # 2. bridges that go away
        for name in list(self.fail_modes):
            if name not in cfg.bridges:
                for port in self.ports:
                    if port.bridge == name:
                        self.ports.remove(port.name)
                        self._sigs.pop(port.name, None)
                        self._vlans.pop(port.name, None)
                sw.del_bridge(name)
                del self.fail_modes[name]
                self.vlog.info("bridge", f"bridge {name}: deleted")
        # 3. bridges that arrive or change fail mode
        for br in sorted(cfg.bridges.values(), key=lambda b: b.name):
            mode = br.fail_mode or "standalone"
            if br.name not in self.fail_modes:
                self._add_bridge(br.name, mode, br.datapath_type)
            elif self.fail_modes[br.name] != mode:
                self._set_fail_mode(br.name, mode, flush=not _has_primary(br.controller))
        # 4. ports that arrive
        for name, (iface, port, sig, vsig) in wanted.items():
            if name in self._sigs:
                continue
            self._add_port(iface, port, sig, vsig, preopened.get(name, (None, None)))
        # 5. VLAN settings of ports that stay
        for name, (_iface, port, _sig, vsig) in wanted.items():
            if name in self._vlans and self._vlans[name] != vsig:
                try:
                    sw.set_port_vlan(name, port.tag, port.trunks or None, port.vlan_mode)
                    self._vlans[name] = vsig
                except SwitchError as exc:
                    self.vlog.warn("bridge", f"{name}: {exc}")

    def _add_bridge(self, name: str, mode: str, dp_type: str) -> None:
        self.switch.add_bridge(name, fail_mode=mode,
                               datapath_type="dummy" if dp_type == "dummy" else "netdev")
        self.fail_modes[name] = mode
        ntype = "dummy" if dp_type == "dummy" else "internal"
        xp = self.switch.port(name)
        state = PortState(name=name, bridge=name, type=ntype, options={}, ofport=OFPP_LOCAL,
                          dp_port=xp.dp_port)
        self.ports.add(state)
        self.vlog.info("bridge", f"bridge {name}: added")

    def _set_fail_mode(self, name: str, mode: str, flush: bool = True) -> None:
        # As OVS (connmgr_set_fail_mode): without a controller a fail-mode change flushes
        # the flow table, and a standalone bridge gets its NORMAL flow back; with a
        # controller configured the flows stay.
        br = self.switch.bridge(name)
        br.fail_mode = mode
        if flush:
            br.del_flows("")
            if mode == "standalone":
                br.add_flow("priority=0,actions=NORMAL")
        self.fail_modes[name] = mode

    def _add_port(self, iface: Interface, port: Port, sig: _PortSig, vsig: _VlanSig,
                  pre: tuple[NetdevProvider | None, NetdevError | None]) -> None:
        try:
            ofport, dp_port = self.switch.add_port(
                sig.bridge, iface.name, type=sig.type, ofport_request=sig.ofport,
                options=dict(sig.options), tag=port.tag, trunks=port.trunks or None,
                vlan_mode=port.vlan_mode)
        except SwitchError as exc:
            self.refused[iface.name] = str(exc)
            self.vlog.warn("bridge", f"{iface.name}: {exc}")
            if pre[0] is not None:
                pre[0].close()
            return
        state = PortState(name=iface.name, bridge=sig.bridge, type=sig.type,
                          options=dict(sig.options), ofport=ofport, dp_port=dp_port)
        self.ports.add(state, netdev=pre[0], error=pre[1])
        self._sigs[iface.name] = sig
        self._vlans[iface.name] = vsig
        self.vlog.info("bridge", f"bridge {sig.bridge}: added interface {iface.name} on port "
                                 f"{ofport}")

    def _remove_port(self, name: str) -> None:
        port = self.ports.remove(name)
        self._sigs.pop(name, None)
        self._vlans.pop(name, None)
        try:
            self.switch.del_port(name)
        except SwitchError as exc:
            self.vlog.warn("bridge", f"{name}: {exc}")
        if port is not None:
            self.vlog.info("bridge", f"bridge {port.bridge}: deleted interface {name} on port "
                                     f"{port.ofport}")

    def _set_vlan_limit(self, cfg: Config) -> None:
        limit = DEFAULT_VLAN_LIMIT
        for br in sorted(cfg.bridges.values(), key=lambda b: b.name):
            text = br.other_config.get("vlan-limit")
            if text is not None:
                try:
                    limit = max(0, int(text))
                except ValueError:
                    self.vlog.warn("bridge", f"{br.name}: invalid vlan-limit {text!r}")
                break
        if limit != self.vlan_limit:
            headers.set_vlan_limit(limit)  # 0 is OVS's "as many as flows hold"
            self.vlan_limit = limit
            self.switch.datapath.flow_flush()

    # ------------------------------------------------------------------ status
    def fill_status(self, cfg: Config) -> Config:
        """A copy of ``cfg`` with each interface's runtime ``error`` filled in."""
        out = cfg.copy()
        for iface in out.interfaces.values():
            port = self.ports.get(iface.name)
            iface.error = port.error if port is not None else self.refused.get(iface.name)
        return out

    def shutdown(self) -> None:
        self.ports.close_all()


def _has_primary(targets: list[str]) -> bool:
    """Whether a bridge's controller targets include an active one (``tcp:``,
    ``unix:``): OVS's primary controllers; listeners (``ptcp:``) do not count."""
    from pyvswitch.ofserver.targets import parse_target

    for t in targets:
        try:
            if not parse_target(t).passive:
                return True
        except ConfigError:
            continue
    return False
