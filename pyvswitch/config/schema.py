"""Column types of the configuration tables and their text syntax, as ovs-vsctl has them.

Layer: config (imports only the standard library and ``pyvswitch.errors``).

``pyvs-vsctl set/get/clear/remove`` address columns generically, so each column carries
an OVSDB-like type: a key base type (integer, string or boolean, with an optional range
or enumeration), an optional value base type (then it is a map) and the minimum and
maximum number of elements.  Values are written and read with OVSDB's text syntax
(``ovsdb_datum_from_string``/``to_string``): bare words or JSON-quoted strings, sets as
``[a, b]`` or ``a,b``, maps as ``{k=v, k2=v2}``; the error texts are OVS's.

In Python a column value ("datum") is: the atom itself for a required scalar, the atom
or ``None`` for an optional one, a sorted ``list`` for a set and a ``dict`` (sorted by
key) for a map.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pyvswitch.errors import ConfigError

__all__ = [
    "BaseType",
    "Column",
    "ColumnType",
    "atom_to_string",
    "datum_from_string",
    "datum_to_string",
    "parse_atom",
    "string_needs_quotes",
    "tokenize",
]

_DELIMS = ":=, []{}!<>"
_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_BARE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_INT_RE = re.compile(r"^[+-]?[0-9]+$")
_RANGE_RE = re.compile(r"^([+-]?[0-9]+)-([+-]?[0-9]+)$")


@dataclass(frozen=True, slots=True)
class BaseType:
    kind: str  # "integer" | "string" | "boolean"
    min: int = _INT_MIN
    max: int = _INT_MAX
    enum: tuple[str, ...] | None = None

    def check(self, atom: Any) -> None:
        """Raise ConfigError with OVS's "constraint violation" text if out of bounds."""
        if self.enum is not None and atom not in self.enum:
            allowed = ", ".join(atom_to_string(e) for e in sorted(self.enum))
            raise ConfigError(
                f"constraint violation: {atom_to_string(atom)} is not one of the allowed "
                f"values ([{allowed}])"
            )
        if self.kind == "integer" and not self.min <= atom <= self.max:
            if self.min != _INT_MIN and self.max != _INT_MAX:
                raise ConfigError(
                    f"constraint violation: {atom} is not in the valid range "
                    f"{self.min} to {self.max} (inclusive)"
                )
            if self.min != _INT_MIN:
                raise ConfigError(
                    f"constraint violation: {atom} is less than minimum allowed value {self.min}"
                )
            raise ConfigError(
                f"constraint violation: {atom} is greater than maximum allowed value {self.max}"
            )

    def accepts_json(self, value: Any) -> bool:
        """Type check for values read back from the JSON file."""
        if self.kind == "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if self.kind == "boolean":
            return isinstance(value, bool)
        return isinstance(value, str)


@dataclass(frozen=True, slots=True)
class ColumnType:
    key: BaseType
    value: BaseType | None = None
    n_min: int = 1
    n_max: int = 1

    @property
    def is_map(self) -> bool:
        return self.value is not None

    @property
    def is_set(self) -> bool:
        return self.value is None and self.n_max > 1

    @property
    def is_optional(self) -> bool:
        return self.n_min == 0 and self.n_max == 1

    def empty(self) -> Any:
        if self.is_map:
            return {}
        if self.is_set:
            return []
        return None

    def to_elements(self, datum: Any) -> list[tuple[Any, Any]]:
        """The datum as a list of (key, value) pairs (value None for non-maps)."""
        if self.is_map:
            return sorted(datum.items())
        if self.is_set:
            return [(a, None) for a in datum]
        return [] if datum is None else [(datum, None)]

    def from_elements(self, elems: list[tuple[Any, Any]]) -> Any:
        if self.is_map:
            return dict(sorted(elems))
        if self.is_set:
            return sorted(k for k, _ in elems)
        return elems[0][0] if elems else None

    def english(self) -> str:
        if self.is_map:
            return f"map of {self.key.kind}-{self.value.kind} pairs"  # type: ignore[union-attr]
        if self.is_set:
            return f"set of {self.key.kind}s"
        return self.key.kind


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType
    mutable: bool = True


def string_needs_quotes(s: str) -> bool:
    """Whether OVS prints a string atom JSON-quoted: anything but a plain identifier,
    and the words that would read back as something else."""
    return not _BARE_RE.match(s) or s in ("true", "false") or bool(_UUID_RE.match(s))


def atom_to_string(atom: Any) -> str:
    if isinstance(atom, bool):
        return "true" if atom else "false"
    if isinstance(atom, int):
        return str(atom)
    return json.dumps(atom, ensure_ascii=False) if string_needs_quotes(atom) else atom


def datum_to_string(ctype: ColumnType, datum: Any) -> str:
    """``ovsdb_datum_to_string``: brackets for sets, maps and empty optionals only."""
    elems = ctype.to_elements(datum)
    parts = []
    for k, v in elems:
        if ctype.is_map:
            parts.append(f"{atom_to_string(k)}={atom_to_string(v)}")
        else:
            parts.append(atom_to_string(k))
    body = ", ".join(parts)
    if ctype.n_max > 1 or not elems:
        return "{" + body + "}" if ctype.is_map else "[" + body + "]"
    return body


def tokenize(s: str, pos: int) -> tuple[str, int]:
    """One token from ``s[pos:]``: up to an unquoted delimiter; quotes are kept so the
    atom parser can tell a quoted string from a bare one (``ovsdb_token_parse``)."""
    out = []
    in_quotes = False
    i = pos
    while i < len(s):
        c = s[i]
        i += 1
        if c == "\\":
            if in_quotes:
                out.append("\\")
            if i >= len(s):
                raise ConfigError(f"{s[pos:]}: backslash at end of argument")
            out.append(s[i])
            i += 1
        elif not in_quotes and c in _DELIMS:
            i -= 1
            break
        else:
            out.append(c)
            if c == '"':
                in_quotes = not in_quotes
    if in_quotes:
        raise ConfigError(f"{s[pos:]}: quoted string extends past end of argument")
    return "".join(out), i


def parse_atom(base: BaseType, text: str, allow_range: bool = False) -> list[Any]:
    """A token as atoms of ``base`` (several for an integer range ``1-5``), checked."""
    if base.kind == "integer":
        m = _RANGE_RE.match(text) if allow_range else None
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if hi < lo:
                raise ConfigError(
                    f'"{text}" is not a valid range. Range end cannot be before start.'
                )
            atoms: list[Any] = list(range(lo, hi + 1))
        elif _INT_RE.match(text) and _INT_MIN <= int(text) <= _INT_MAX:
            atoms = [int(text)]
        else:
            raise ConfigError(f'"{text}" is not a valid integer or range')
    elif base.kind == "boolean":
        if text in ("true", "yes", "on", "1"):
            atoms = [True]
        elif text in ("false", "no", "off", "0"):
            atoms = [False]
        else:
            raise ConfigError(f'"{text}" is not a valid boolean (use "true" or "false")')
    else:
        if not text:
            raise ConfigError(
                'An empty string is not valid as input; use "" to represent the empty string'
            )
        if text.startswith('"'):
            if len(text) < 2 or not text.endswith('"'):
                raise ConfigError(f"{text}: missing quote at end of quoted string")
            try:
                atoms = [json.loads(text)]
            except ValueError as exc:
                raise ConfigError(f"{text}: {exc.args[0].split(':')[0]}") from None
        else:
            atoms = [text]
    for atom in atoms:
        base.check(atom)
    return atoms


def _skip_spaces(s: str, i: int) -> int:
    while i < len(s) and s[i].isspace():
        i += 1
    return i


def datum_from_string(ctype: ColumnType, s: str) -> Any:
    """``ovsdb_datum_from_string``: parse a whole column value, with OVS's errors."""
    is_map = ctype.is_map
    p = _skip_spaces(s, 0)
    end_delim = ""
    if p < len(s) and s[p] == ("{" if is_map else "["):
        end_delim = "}" if is_map else "]"
        p = _skip_spaces(s, p + 1)
    elif p >= len(s):
        raise ConfigError(
            'use "{}" to specify the empty map' if is_map else 'use "[]" to specify the empty set'
        )
    elems: list[tuple[Any, Any]] = []
    while p < len(s) and s[p] != end_delim:
        if s[p] in _DELIMS:
            raise ConfigError(f'{s}: unexpected "{s[p]}" parsing {ctype.english()}')
        start = p
        token, p = tokenize(s, p)
        keys = parse_atom(ctype.key, token, allow_range=not is_map and ctype.n_max > 1)
        if is_map:
            p = _skip_spaces(s, p)
            if p >= len(s) or s[p] != "=":
                at = s[p] if p < len(s) else ""
                raise ConfigError(f'{s[start:]}: syntax error at "{at}" expecting "="')
            p = _skip_spaces(s, p + 1)
            vtoken, p = tokenize(s, p)
            value = parse_atom(ctype.value, vtoken)[0]  # type: ignore[arg-type]
            elems.append((keys[0], value))
        else:
            elems.extend((k, None) for k in keys)
        p = _skip_spaces(s, p)
        if p < len(s) and s[p] == ",":
            p = _skip_spaces(s, p + 1)
    if (s[p] if p < len(s) else "") != end_delim:
        raise ConfigError(f'{s}: missing "{end_delim}" at end of data')
    if end_delim:
        p = _skip_spaces(s, p + 1)
        if p < len(s):
            raise ConfigError(f'{s}: trailing garbage after "{end_delim}"')
    what = "pair(s)" if is_map else "value(s)"
    if len(elems) < ctype.n_min:
        raise ConfigError(
            f"{s}: {len(elems)} {what} specified but the minimum number is {ctype.n_min}"
        )
    if len(elems) > ctype.n_max:
        raise ConfigError(
            f"{s}: {len(elems)} {what} specified but the maximum number is {ctype.n_max}"
        )
    keys_seen = [k for k, _ in elems]
    if len(set(keys_seen)) != len(keys_seen):
        raise ConfigError(
            f"{s}: map contains duplicate key" if is_map else f"{s}: set contains duplicate value"
        )
    return ctype.from_elements(elems)
