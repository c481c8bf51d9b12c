"""Generic table commands of ovs-vsctl (``get``, ``set``, ``add``, ``remove``, ``clear``)
and the ``show`` output, over the configuration model.

Layer: config (imports ``config.model``, ``config.schema``, ``pyvswitch.errors``).

Table and column names are matched as OVS matches them: case-insensitively, with ``-``
and ``_`` alike, and a unique prefix is enough.  Records are named by their ``name``.
All functions change the :class:`Config` they are given in place; the caller works on
a copy to get all-or-nothing transactions.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from pyvswitch.config.model import TABLES, Config
from pyvswitch.config.schema import (
    Column,
    ColumnType,
    atom_to_string,
    datum_from_string,
    datum_to_string,
    parse_atom,
    tokenize,
)
from pyvswitch.errors import ConfigError

__all__ = [
    "cmd_add",
    "cmd_clear",
    "cmd_get",
    "cmd_remove",
    "cmd_set",
    "find_column",
    "find_record",
    "find_table",
    "format_show",
    "set_column",
]


def _score(name: str, s: str) -> int:
    """OVS's partial-match score: exact beats a full match modulo case and -/_,
    which beats a prefix (the longer, the better); 0 is no match."""
    if name == s:
        return 1 << 30

    def norm(c: str) -> str:
        return "_" if c == "-" else c.lower()

    if len(s) > len(name):
        return 0
    for i, c in enumerate(s):
        if norm(c) != norm(name[i]):
            return 0
    return (1 << 30) - 1 if len(s) == len(name) else len(s)


def _best(names: list[str], s: str) -> list[str]:
    scores = [(_score(n, s), n) for n in names]
    top = max((sc for sc, _ in scores), default=0)
    return [n for sc, n in scores if sc and sc == top] if top else []


def find_table(name: str) -> str:
    matches = _best(list(TABLES), name)
    if not matches:
        raise ConfigError(f'unknown table "{name}"')
    if len(matches) > 1:
        raise ConfigError(f'"{name}" matches multiple table names: {", ".join(sorted(matches))}')
    return matches[0]


def find_column(table: str, name: str) -> Column:
    matches = _best(list(TABLES[table]), name)
    if not matches:
        raise ConfigError(f'{table} does not contain a column whose name matches "{name}"')
    if len(matches) > 1:
        raise ConfigError(
            f'{table} contains more than one column whose name matches "{name}": '
            f"{', '.join(sorted(matches))}"
        )
    return TABLES[table][matches[0]]


def find_record(cfg: Config, table: str, record: str, must_exist: bool = True) -> Any:
    row = cfg.table(table).get(record)
    if row is None and must_exist:
        raise ConfigError(f'no row "{record}" in table {table}')
    return row


def _parse_column_arg(
    table: str, arg: str, want_value: bool
) -> tuple[Column, str | None, str | None]:
    """Split ``COLUMN[:KEY][=VALUE]`` as ``parse_column_key_value`` does."""
    col_name, p = tokenize(arg, 0)
    if not col_name:
        raise ConfigError(f"{arg}: missing column name")
    col = find_column(table, col_name)
    key = None
    if p < len(arg) and arg[p] == ":":
        key, p = tokenize(arg, p + 1)
    if want_value:
        if not (p < len(arg) and arg[p] == "=" and p + 1 < len(arg)):
            raise ConfigError(f'{arg}: argument does not end in "=" followed by a value.')
        return col, key, arg[p + 1 :]
    if p < len(arg):
        raise ConfigError(f'{arg}: trailing garbage "{arg[p:]}" in argument')
    return col, key, None


def _check_mutable(table: str, col: Column) -> None:
    if not col.mutable:
        raise ConfigError(f"cannot modify read-only column {col.name} in table {table}")


def set_column(table: str, row: Any, arg: str) -> None:
    """Apply one ``COLUMN[:KEY]=VALUE`` to ``row``."""
    col, key, value = _parse_column_arg(table, arg, want_value=True)
    _check_mutable(table, col)
    ctype = col.type
    value = value or ""
    if key is not None:
        if not ctype.is_map:
            raise ConfigError(f"cannot specify key to set for non-map column {col.name}")
        k = parse_atom(ctype.key, key)[0]
        v = parse_atom(ctype.value, value)[0]  # type: ignore[arg-type]
        new = dict(getattr(row, col.name))
        new[k] = v
        setattr(row, col.name, dict(sorted(new.items())))
    else:
        setattr(row, col.name, datum_from_string(ctype, value))


def cmd_set(cfg: Config, args: list[str], if_exists: bool) -> None:
    table = find_table(args[0])
    row = find_record(cfg, table, args[1], must_exist=not if_exists)
    if row is None:
        return
    for arg in args[2:]:
        set_column(table, row, arg)


def cmd_get(cfg: Config, args: list[str], if_exists: bool) -> str:
    table = find_table(args[0])
    row = find_record(cfg, table, args[1], must_exist=not if_exists)
    if row is None:
        return ""
    out = []
    for arg in args[2:]:
        col, key, _ = _parse_column_arg(table, arg, want_value=False)
        datum = getattr(row, col.name)
        if key is not None:
            if not col.type.is_map:
                raise ConfigError(f"cannot specify key to get for non-map column {col.name}")
            k = parse_atom(col.type.key, key)[0]
            if k not in datum:
                if if_exists:
                    out.append("")
                    continue
                raise ConfigError(f'no key "{key}" in {table} record "{args[1]}" column {col.name}')
            out.append(atom_to_string(datum[k]))
        else:
            out.append(datum_to_string(col.type, datum))
    return "".join(line + "\n" for line in out)


def _elements_from_args(
    col: Column, values: list[str], keys_only_ok: bool
) -> list[tuple[Any, Any]]:
    """Parse ``add``/``remove`` arguments: each a datum of the column's type (for a
    map ``remove`` a bare key, or a set of keys, is accepted too)."""
    ctype = col.type
    elems: list[tuple[Any, Any]] = []
    multi = ColumnType(ctype.key, ctype.value, 0, 2**31)
    for v in values:
        try:
            elems.extend(multi.to_elements(datum_from_string(multi, v)))
        except ConfigError:
            if not (keys_only_ok and ctype.is_map):
                raise
            keys = datum_from_string(ColumnType(ctype.key, None, 0, 2**31), v)
            elems.extend((k, None) for k in keys)
    return elems


def _n_check(op: str, table: str, col: Column, n: int) -> None:
    what = "pairs" if col.type.is_map else "values"
    if n > col.type.n_max:
        raise ConfigError(
            f'"{op}" operation would put {n} {what} in column {col.name} of table {table} '
            f"but the maximum number is {col.type.n_max}"
        )
    if n < col.type.n_min:
        raise ConfigError(
            f'"{op}" operation would put {n} {what} in column {col.name} of table {table} '
            f"but the minimum number is {col.type.n_min}"
        )


def cmd_add(cfg: Config, args: list[str], if_exists: bool) -> None:
    table = find_table(args[0])
    row = find_record(cfg, table, args[1], must_exist=not if_exists)
    col = find_column(table, args[2])
    if row is None:
        return
    _check_mutable(table, col)
    have = dict(col.type.to_elements(getattr(row, col.name)))
    for k, v in _elements_from_args(col, args[3:], keys_only_ok=False):
        have[k] = v  # a map key that exists takes the new value, as ovs-vsctl does
    _n_check("add", table, col, len(have))
    setattr(row, col.name, col.type.from_elements(list(have.items())))


def cmd_remove(cfg: Config, args: list[str], if_exists: bool) -> None:
    table = find_table(args[0])
    row = find_record(cfg, table, args[1], must_exist=not if_exists)
    col = find_column(table, args[2])
    if row is None:
        return
    _check_mutable(table, col)
    have = col.type.to_elements(getattr(row, col.name))
    for k, v in _elements_from_args(col, args[3:], keys_only_ok=True):
        have = [(hk, hv) for hk, hv in have if not (hk == k and (v is None or hv == v))]
    _n_check("remove", table, col, len(have))
    setattr(row, col.name, col.type.from_elements(have))


def cmd_clear(cfg: Config, args: list[str], if_exists: bool) -> None:
    table = find_table(args[0])
    row = find_record(cfg, table, args[1], must_exist=not if_exists)
    cols = [find_column(table, a) for a in args[2:]]
    if row is None:
        return
    for col in cols:
        _check_mutable(table, col)
        if col.type.n_min > 0:
            raise ConfigError(
                f'"clear" operation cannot be applied to column {col.name} of table {table}, '
                "which is not allowed to be empty"
            )
        setattr(row, col.name, col.type.empty())


# ------------------------------------------------------------------- show

_SHOW_COLUMNS = {
    "Bridge": ("fail_mode", "datapath_type"),
    "Port": ("tag", "trunks"),
    "Interface": ("type", "options", "error"),
}


def _show_columns(table: str, row: Any, indent: str) -> list[str]:
    lines = []
    for name in _SHOW_COLUMNS[table]:
        col = TABLES[table][name]
        datum = getattr(row, name)
        if datum != col.type.empty() and not (name.endswith("type") and datum == ""):
            lines.append(f"{indent}{name}: {datum_to_string(col.type, datum)}")
    return lines


def format_show(
    cfg: Config, ovs_version: str | None = None, connected: Container[tuple[str, str]] = ()
) -> str:
    """``ovs-vsctl show``: the tree of bridges, controllers, ports and interfaces, with
    only the columns that differ from their defaults.  ``connected`` holds the
    (bridge, target) pairs whose controller connection is up."""
    lines = [cfg.uuid]
    for br in sorted(cfg.bridges.values(), key=lambda b: b.name):
        lines.append(f"    Bridge {atom_to_string(br.name)}")
        for target in br.controller:
            lines.append(f"        Controller {atom_to_string(target)}")
            if (br.name, target) in connected:
                lines.append("            is_connected: true")
        lines.extend(_show_columns("Bridge", br, "        "))
        for pname in br.ports:
            port = cfg.ports[pname]
            lines.append(f"        Port {atom_to_string(port.name)}")
            lines.extend(_show_columns("Port", port, "            "))
            for iname in port.interfaces:
                iface = cfg.interfaces[iname]
                lines.append(f"            Interface {atom_to_string(iface.name)}")
                lines.extend(_show_columns("Interface", iface, "                "))
    if ovs_version is not None:
        lines.append(f"    ovs_version: {atom_to_string(ovs_version)}")
    return "\n".join(lines) + "\n"
