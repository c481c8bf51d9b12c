"""The configuration data: bridges, ports, interfaces; JSON form and validation.

Layer: config (imports ``config.schema`` and ``pyvswitch.errors``; no I/O).

The tables and columns follow OVS's ``vswitch.ovsschema`` where a user sees them
(``pyvs-vsctl set Interface p1 ofport_request=5`` means what it means in OVS), trimmed
to what pyvswitch implements.  Rows are plain dataclasses whose attribute names are
the column names; :data:`TABLES` describes each column's type for the generic
``set``/``get`` commands.

As in OVS, ``add-br br0`` also creates a port and an interface named ``br0`` of type
``internal`` (the bridge's local port).  Names are unique per table across all bridges.

Status columns (``ofport``, ``error`` of an interface, ``datapath_id`` of a bridge)
are written by the daemon and read-only for users.  ``ofport`` is persisted so port
numbers survive restarts; ``error`` is runtime-only and never saved.

The JSON file nests interfaces in ports in bridges; :func:`config_from_json` checks it
fully and names the offending place in its ``ConfigError``.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

from pyvswitch.config.schema import BaseType, Column, ColumnType
from pyvswitch.errors import ConfigError
from pyvswitch.types import OFPP_LOCAL, OFPP_MAX

__all__ = [
    "Bridge",
    "Config",
    "FORMAT_VERSION",
    "INTERFACE_TYPES",
    "Interface",
    "Port",
    "TABLES",
    "assign_ofports",
    "config_from_json",
    "config_to_json",
]

FORMAT_VERSION = 1
#: interface types pyvswitch can open ("" means "system", as in OVS)
INTERFACE_TYPES = ("", "dummy", "internal", "pcap", "system", "tap")

_STR = BaseType("string")
_MAP = ColumnType(_STR, _STR, 0, 2**31)


def _opt(base: BaseType) -> ColumnType:
    return ColumnType(base, None, 0, 1)


@dataclass
class Interface:
    name: str
    type: str = ""
    options: dict[str, str] = field(default_factory=dict)
    ofport_request: int | None = None
    mtu_request: int | None = None
    mac: str | None = None
    other_config: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)
    # status, written by the daemon
    ofport: int | None = None
    error: str | None = None


@dataclass
class Port:
    name: str
    interfaces: list[str] = field(default_factory=list)
    tag: int | None = None
    trunks: list[int] = field(default_factory=list)
    vlan_mode: str | None = None
    other_config: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)


@dataclass
class Bridge:
    name: str
    ports: list[str] = field(default_factory=list)
    controller: list[str] = field(default_factory=list)
    fail_mode: str | None = None
    datapath_type: str = ""
    protocols: list[str] = field(default_factory=list)
    other_config: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)
    # status, written by the daemon
    datapath_id: str | None = None


def _columns(*cols: Column) -> dict[str, Column]:
    return {c.name: c for c in cols}


_VLAN = BaseType("integer", 0, 4095)
#: the generic view of each table, for set/get/clear/remove
TABLES: dict[str, dict[str, Column]] = {
    "Bridge": _columns(
        Column("name", ColumnType(_STR), mutable=False),
        Column("controller", ColumnType(_STR, None, 0, 2**31), mutable=False),
        Column("fail_mode", _opt(BaseType("string", enum=("secure", "standalone")))),
        Column("datapath_type", ColumnType(_STR)),
        Column(
            "protocols",
            ColumnType(
                BaseType("string", enum=tuple(f"OpenFlow1{i}" for i in range(6))), None, 0, 2**31
            ),
        ),
        Column("other_config", _MAP),
        Column("external_ids", _MAP),
        Column("datapath_id", _opt(_STR), mutable=False),
    ),
    "Port": _columns(
        Column("name", ColumnType(_STR), mutable=False),
        Column("tag", _opt(_VLAN)),
        Column("trunks", ColumnType(_VLAN, None, 0, 4096)),
        Column(
            "vlan_mode",
            _opt(
                BaseType(
                    "string",
                    enum=("access", "dot1q-tunnel", "native-tagged", "native-untagged", "trunk"),
                )
            ),
        ),
        Column("other_config", _MAP),
        Column("external_ids", _MAP),
    ),
    "Interface": _columns(
        Column("name", ColumnType(_STR), mutable=False),
        Column("type", ColumnType(BaseType("string", enum=INTERFACE_TYPES))),
        Column("options", _MAP),
        Column("ofport_request", _opt(BaseType("integer", 1, 65279))),
        Column("mtu_request", _opt(BaseType("integer", 1))),
        Column("mac", _opt(_STR)),
        Column("other_config", _MAP),
        Column("external_ids", _MAP),
        Column("ofport", _opt(BaseType("integer")), mutable=False),
        Column("error", _opt(_STR), mutable=False),
    ),
}
_ROW_CLASSES = {"Bridge": Bridge, "Port": Port, "Interface": Interface}
# columns not in the generic view but kept in the file (references by name)
_REF_COLUMNS = {"Bridge": ("ports",), "Port": ("interfaces",), "Interface": ()}
_RUNTIME_ONLY = {"Interface": ("error",)}


@dataclass
class Config:
    """The whole configuration: rows by name, per table."""

    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    bridges: dict[str, Bridge] = field(default_factory=dict)
    ports: dict[str, Port] = field(default_factory=dict)
    interfaces: dict[str, Interface] = field(default_factory=dict)

    def copy(self) -> Config:
        return copy.deepcopy(self)

    def table(self, name: str) -> dict[str, Any]:
        return {"Bridge": self.bridges, "Port": self.ports, "Interface": self.interfaces}[name]

    def port_bridge(self, port: str) -> Bridge | None:
        """The bridge holding port ``port``."""
        for br in self.bridges.values():
            if port in br.ports:
                return br
        return None

    def iface_port(self, iface: str) -> Port | None:
        for port in self.ports.values():
            if iface in port.interfaces:
                return port
        return None

    def bridge_interfaces(self, bridge: str) -> list[Interface]:
        """Every interface of ``bridge``, the local one included, in port order."""
        out = []
        for pname in self.bridges[bridge].ports:
            for iname in self.ports[pname].interfaces:
                out.append(self.interfaces[iname])
        return out


# ---------------------------------------------------------------- JSON form


def _row_to_json(table: str, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": row.name}
    for col in TABLES[table].values():
        if col.name == "name" or col.name in _RUNTIME_ONLY.get(table, ()):
            continue
        value = getattr(row, col.name)
        if value != col.type.empty():
            out[col.name] = copy.deepcopy(value)
    return out


def config_to_json(cfg: Config) -> dict[str, Any]:
    bridges = []
    for br in sorted(cfg.bridges.values(), key=lambda b: b.name):
        bj = _row_to_json("Bridge", br)
        bj["ports"] = []
        for pname in br.ports:
            port = cfg.ports[pname]
            pj = _row_to_json("Port", port)
            pj["interfaces"] = [
                _row_to_json("Interface", cfg.interfaces[i]) for i in port.interfaces
            ]
            bj["ports"].append(pj)
        bridges.append(bj)
    return {
        "format": "pyvswitch-config",
        "version": FORMAT_VERSION,
        "uuid": cfg.uuid,
        "bridges": bridges,
    }


def _check_datum(where: str, col: Column, value: Any) -> Any:
    ctype = col.type
    if ctype.is_map:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: column {col.name} must be a JSON object")
        for k, v in value.items():
            if not ctype.value.accepts_json(v):  # type: ignore[union-attr]
                raise ConfigError(f"{where}: column {col.name} key {k!r} must map to a string")
        return dict(sorted(value.items()))
    if ctype.is_set:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: column {col.name} must be a JSON array")
        atoms = value
    else:
        atoms = [value] if value is not None or not ctype.is_optional else []
    for atom in atoms:
        if not ctype.key.accepts_json(atom):
            raise ConfigError(
                f"{where}: column {col.name} must hold {ctype.key.kind} values, not {atom!r}"
            )
        try:
            ctype.key.check(atom)
        except ConfigError as exc:
            raise ConfigError(f"{where}: column {col.name}: {exc}") from None
    if ctype.is_set:
        if len(set(atoms)) != len(atoms):
            raise ConfigError(f"{where}: column {col.name} contains duplicate values")
        return sorted(atoms)
    return value


def _row_from_json(table: str, obj: Any, where: str, refs: str | None) -> tuple[Any, list[Any]]:
    if not isinstance(obj, dict):
        raise ConfigError(f"{where}: must be a JSON object")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f'{where}: missing or empty "name"')
    where = f"{where} ({table} {name})"
    row = _ROW_CLASSES[table](name=name)
    children: list[Any] = []
    for key, value in obj.items():
        if key == "name":
            continue
        if key == refs:
            if not isinstance(value, list):
                raise ConfigError(f"{where}: {refs} must be a JSON array")
            children = value
            continue
        col = TABLES[table].get(key)
        if col is None or key in _RUNTIME_ONLY.get(table, ()):
            raise ConfigError(f'{where}: unknown column "{key}"')
        setattr(row, key, _check_datum(where, col, value))
    if table == "Bridge":
        row.controller = sorted(row.controller)
    return row, children


def config_from_json(obj: Any) -> Config:
    """Build and validate a Config from the decoded file; ConfigError says where."""
    if not isinstance(obj, dict):
        raise ConfigError("top level must be a JSON object")
    for key in obj:
        if key not in ("format", "version", "uuid", "bridges"):
            raise ConfigError(f'unknown top-level member "{key}"')
    if obj.get("format") != "pyvswitch-config":
        raise ConfigError('"format" must be "pyvswitch-config"')
    if obj.get("version") != FORMAT_VERSION:
        raise ConfigError(f"unsupported version {obj.get('version')!r} (expected {FORMAT_VERSION})")
    cfg = Config()
    if isinstance(obj.get("uuid"), str):
        cfg.uuid = obj["uuid"]
    bridges = obj.get("bridges", [])
    if not isinstance(bridges, list):
        raise ConfigError('"bridges" must be a JSON array')
    for bi, bobj in enumerate(bridges):
        br, ports = _row_from_json("Bridge", bobj, f"bridges[{bi}]", "ports")
        if br.name in cfg.bridges:
            raise ConfigError(f"bridges[{bi}]: duplicate bridge name {br.name}")
        cfg.bridges[br.name] = br
        for pi, pobj in enumerate(ports):
            pwhere = f"bridges[{bi}].ports[{pi}]"
            port, ifaces = _row_from_json("Port", pobj, pwhere, "interfaces")
            if port.name in cfg.ports:
                raise ConfigError(f"{pwhere}: duplicate port name {port.name}")
            if not ifaces:
                raise ConfigError(
                    f"{pwhere} (Port {port.name}): a port needs at least one interface"
                )
            cfg.ports[port.name] = port
            br.ports.append(port.name)
            for ii, iobj in enumerate(ifaces):
                iwhere = f"{pwhere}.interfaces[{ii}]"
                iface, _ = _row_from_json("Interface", iobj, iwhere, None)
                if iface.name in cfg.interfaces:
                    raise ConfigError(f"{iwhere}: duplicate interface name {iface.name}")
                cfg.interfaces[iface.name] = iface
                port.interfaces.append(iface.name)
    return cfg


def assign_ofports(cfg: Config, bridge: str) -> dict[str, int]:
    """Give every interface of ``bridge`` an OpenFlow port number; record it in
    ``Interface.ofport`` and return name -> number.

    The bridge's own interface is ``LOCAL``.  Then, in order: a free ``ofport_request``
    is granted; a previously assigned number that is still free is kept (numbers are
    stable across restarts); everyone else gets the lowest free number from 1.
    """
    ifaces = cfg.bridge_interfaces(bridge)
    result: dict[str, int] = {}
    used: set[int] = set()
    for iface in ifaces:
        if iface.name == bridge:
            result[iface.name] = OFPP_LOCAL
    for iface in ifaces:
        req = iface.ofport_request
        if iface.name not in result and req is not None and req not in used:
            result[iface.name] = req
            used.add(req)
    for iface in ifaces:
        old = iface.ofport
        if iface.name not in result and old is not None and 1 <= old < OFPP_MAX and old not in used:
            result[iface.name] = old
            used.add(old)
    next_free = 1
    for iface in ifaces:
        if iface.name not in result:
            while next_free in used:
                next_free += 1
            result[iface.name] = next_free
            used.add(next_free)
    for iface in ifaces:
        iface.ofport = result[iface.name]
    return result
