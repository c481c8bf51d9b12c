"""Scalar values of the ovs-ofctl flow syntax: numbers, addresses, ports, flag sets.

ovs-ofctl reads numbers with C's ``strtoull``/``strtoll`` (so ``0x10``, ``010`` and ``-1``
all mean something), Ethernet and IPv4 addresses with ``scanf``-like patterns, IPv6 with
``inet_pton``, and prints IPv6 with glibc's ``inet_ntop`` (those live in
:mod:`pyvswitch.flow.addr_text` and are re-exported here).  Users paste flows between real
OVS and pyvswitch, so this module reproduces those readers and printers, including their
error wording, rather than leaning on Python's stricter or differently-spelled ones.

It also holds the key/value tokenizer every part of the syntax shares (matches, actions,
``ct(...)``, ``learn(...)``, buckets), which follows ``ofputil_parse_key_value``: keys end at
``:``, ``=``, ``(``, ``,`` or white space, and parenthesised values nest.

Layer: flow.  Imports: errors, types, flow.addr_text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping

from pyvswitch.errors import ParseError
from pyvswitch.flow.addr_text import (  # noqa: F401  (re-exported: values.py is the API)
    format_ipv4,
    format_ipv4_masked,
    format_ipv6,
    format_ipv6_masked,
    format_mac,
    format_mac_masked,
    inet_pton6,
    ipv4_prefix_mask,
    ipv6_prefix_mask,
    parse_ipv4,
    parse_ipv4_masked,
    parse_ipv4_masked_len,
    parse_ipv6_masked,
    parse_ipv6_masked_len,
    parse_mac,
    parse_mac_masked,
    scan_ipv4,
)
from pyvswitch.types import (
    OFPP_ALL,
    OFPP_CONTROLLER,
    OFPP_FLOOD,
    OFPP_IN_PORT,
    OFPP_LOCAL,
    OFPP_MAX,
    OFPP_NONE,
    OFPP_NORMAL,
    OFPP_TABLE,
    OFPP_UNSET,
)

U64_MAX = (1 << 64) - 1
_WS = " \t\n\v\f\r"


# ----------------------------------------------------------------------------- integers
def strtoull(s: str, pos: int = 0, base: int = 0) -> tuple[int | None, int, bool]:
    """C ``strtoull`` from ``s[pos:]``: (value, end, overflowed); value None if no digits.

    Like C, a leading ``-`` negates modulo 2**64 and base 0 picks hex for ``0x``, octal for
    a leading ``0`` and decimal otherwise.
    """
    n = len(s)
    i = pos
    while i < n and s[i] in _WS:
        i += 1
    neg = False
    if i < n and s[i] in "+-":
        neg = s[i] == "-"
        i += 1
    if base in (0, 16) and s[i:i + 2].lower() == "0x" and i + 2 < n and _hexit(s[i + 2]) >= 0:
        base, i = 16, i + 2
    elif base == 0:
        base = 8 if i < n and s[i] == "0" else 10
    start = i
    value = 0
    while i < n:
        d = _hexit(s[i])
        if d < 0 or d >= base:
            break
        value = value * base + d
        i += 1
    if i == start:
        return None, pos, False
    if value > U64_MAX:
        return U64_MAX, i, True
    if neg:
        value = (-value) & U64_MAX
    return value, i, False


def _hexit(c: str) -> int:
    if "0" <= c <= "9":
        return ord(c) - 48
    if "a" <= c <= "f":
        return ord(c) - 87
    if "A" <= c <= "F":
        return ord(c) - 55
    return -1


def str_to_llong(s: str, base: int = 0) -> int | None:
    """C ``strtoll`` over the whole string; None on syntax error, overflow or trailing text."""
    value, end, over = strtoull(s, 0, base)
    if value is None or over or end != len(s):
        return None
    stripped = s.lstrip(_WS)
    if stripped.startswith("-"):
        signed = value - (1 << 64) if value else 0
        if signed < -(1 << 63):
            return None
        return signed
    if value >= 1 << 63:
        return None
    return value


def str_to_int(s: str, base: int = 0) -> int | None:
    """OVS ``str_to_int``: a C ``int`` (32-bit) or None."""
    v = str_to_llong(s, base)
    if v is None or not -(1 << 31) <= v < 1 << 31:
        return None
    return v


def str_to_uint(s: str, base: int = 10) -> int | None:
    """OVS ``str_to_uint``: 0..2**32-1 or None (ports and group ids use base 10)."""
    v = str_to_llong(s, base)
    if v is None or not 0 <= v <= 0xFFFFFFFF:
        return None
    return v


def str_to_u8(s: str, name: str) -> int:
    v = str_to_int(s)
    if v is None or not 0 <= v <= 255:
        raise ParseError(f'invalid {name} "{s}"')
    return v


def str_to_u16(s: str, name: str) -> int:
    v = str_to_int(s)
    if v is None or not 0 <= v <= 65535:
        raise ParseError(f'invalid {name} "{s}"')
    return v


def str_to_u64(s: str) -> int:
    """OVS ``str_to_u64``: strtoull, the whole string, any base prefix."""
    if not s:
        raise ParseError("missing required numeric argument")
    value, end, over = strtoull(s)
    if value is None or over or end != len(s):
        raise ParseError(f"invalid numeric format {s}")
    return value


def str_to_u32(s: str) -> int:
    """OVS ``str_to_u32``: like :func:`str_to_u64` but stored in 32 bits (C truncation)."""
    return str_to_u64(s) & 0xFFFFFFFF


_ATOI = re.compile(r"[ \t\n\v\f\r]*([-+]?\d+)")


def atoi(s: str) -> int:
    """C ``atoi``: the leading decimal number, 0 when there is none."""
    m = _ATOI.match(s)
    return int(m.group(1)) if m else 0


class IntSyntaxError(Exception):
    """Internal: ``parse_int_string`` failed; ``too_large`` mirrors C's ERANGE."""

    def __init__(self, too_large: bool) -> None:
        super().__init__("too large" if too_large else "bad syntax")
        self.too_large = too_large


def parse_int_string(s: str, nbytes: int, pos: int = 0) -> tuple[int, int]:
    """OVS ``parse_int_string``: hex of any length (``0x...``) or a 64-bit decimal/octal.

    Returns (value, end).  Raises :class:`IntSyntaxError` when there is no number or it
    does not fit ``nbytes`` bytes.
    """
    if s[pos:pos + 2] in ("0x", "0X"):
        i = pos + 2
        n = len(s)
        digits = 0
        value = 0
        while True:
            while i < n and s[i] in " \t\r\n":
                i += 1
            d = _hexit(s[i]) if i < n else -1
            if d < 0:
                break
            if d or digits:
                digits += 1
                if (digits + 1) // 2 > nbytes:
                    raise IntSyntaxError(True)
                value = (value << 4) | d
            i += 1
        return value, i
    value, end, over = strtoull(s, pos)
    if value is None:
        raise IntSyntaxError(False)
    if over or value >> (8 * nbytes):
        raise IntSyntaxError(True)
    return value, end


def hex_int(value: int) -> str:
    """OVS ``ds_put_hex``: ``0x`` and the significant hex digits, or ``0``."""
    return f"{value:#x}" if value else "0"


# ----------------------------------------------------------------------------- tokenizer
def _value_len(s: str, i: int, delims: str) -> int:
    """Length of the value starting at ``s[i]``, skipping over balanced parentheses."""
    n = len(s)
    j = i
    while j < n and s[j] not in delims:
        if s[j] == "(":
            level = 0
            while True:
                if j >= n:
                    return j - i
                c = s[j]
                if c == "(":
                    level += 1
                elif c == ")":
                    level -= 1
                j += 1
                if level <= 0:
                    break
        else:
            j += 1
    return j - i


def iter_kv(s: str) -> Iterator[tuple[str, str, int]]:
    """Yield (key, value, key_offset) pairs as ``ofputil_parse_key_value`` splits ``s``.

    ``key:value`` and ``key=value`` end at a comma or white space; ``key(value)`` ends at the
    matching parenthesis, and ``key(x)->y`` keeps ``x)->y`` as the value (for ``load``).  A
    key alone has the value ``""``.
    """
    n = len(s)
    i = 0
    while True:
        while i < n and s[i] in ", \t\r\n":
            i += 1
        if i >= n:
            return
        kstart = i
        while i < n and s[i] not in ":=(, \t\r\n":
            i += 1
        key = s[kstart:i]
        delim = s[i] if i < n else ""
        if i < n:
            i += 1
        if delim in (":", "="):
            delims = ", \t\r\n"
        elif delim == "(":
            delims = ")"
        else:
            yield key, "", kstart
            continue
        vlen = _value_len(s, i, delims)
        vend = i + vlen
        if delim == "(" and s[vend:vend + 1] == ")" and s[vend + 1:vend + 3] == "->":
            vend += _value_len(s, vend, ", \t\r\n")
        yield key, s[i:vend], kstart
        i = vend + (1 if vend < n else 0)


# ----------------------------------------------------------------------------- ports
#: reserved port names as ovs-ofctl prints them (it prints OFPP_NONE as ANY)
PORT_NAMES: dict[int, str] = {
    OFPP_IN_PORT: "IN_PORT", OFPP_TABLE: "TABLE", OFPP_NORMAL: "NORMAL",
    OFPP_FLOOD: "FLOOD", OFPP_ALL: "ALL", OFPP_CONTROLLER: "CONTROLLER",
    OFPP_LOCAL: "LOCAL", OFPP_NONE: "ANY", OFPP_UNSET: "UNSET",
}
_PORTS_BY_NAME: dict[str, int] = {v: k for k, v in PORT_NAMES.items()}
_PORTS_BY_NAME["NONE"] = OFPP_NONE

PortMap = Mapping[str, int]
PortNames = Mapping[int, str]


def parse_port(s: str, port_map: PortMap | None = None) -> int | None:
    """OVS ``ofputil_port_from_string``: a port number (decimal, 16-bit or OpenFlow 1.1
    reserved 32-bit), a reserved name in any case, or a name from ``port_map`` (optionally
    JSON-quoted).  None when it is none of these."""
    if s.startswith("-"):
        return None
    n = str_to_uint(s, 10)
    if n is not None:
        if n < 0x10000:
            return n
        if n < 0xFFFFFF00:
            return None
        return n - 0xFFFF0000
    reserved = _PORTS_BY_NAME.get(s.upper())
    if reserved is not None:
        return reserved
    if not port_map:
        return None
    name = s
    if s.startswith('"'):
        if len(s) < 2 or not s.endswith('"'):
            return None
        try:
            name = json.loads(s)
        except ValueError:
            return None
    port = port_map.get(name)
    return port


def _name_needs_quotes(name: str) -> bool:
    if not name or not (name[0].isascii() and name[0].isalpha()):
        return True
    return not all(c.isascii() and c.isalnum() for c in name[1:])


def format_port(port: int, port_names: PortNames | None = None) -> str:
    """OVS ``ofputil_format_port``: reserved name, else the port's name, else its number."""
    reserved = PORT_NAMES.get(port)
    if reserved is not None:
        return reserved
    if port_names:
        name = port_names.get(port)
        if name is not None:
            return json.dumps(name, ensure_ascii=False) if _name_needs_quotes(name) else name
    return str(port)


def format_output_port(port: int, port_names: PortNames | None = None) -> str:
    """``output:N`` for ordinary ports, the bare name for reserved ones."""
    text = format_port(port, port_names)
    return f"output:{text}" if port < OFPP_MAX else text


# ----------------------------------------------------------------------------- flag sets
FlagNames = tuple[tuple[int, str], ...]


def _flag_name(names: FlagNames, bit: int) -> str | None:
    for b, n in names:
        if b == bit:
            return n
    return None


def parse_flags(s: str, names: FlagNames, allowed: int, field: str,
                masked: bool = True) -> tuple[int, int | None]:
    """OVS ``parse_flags``: ``V/M`` numbers, ``+a-b`` (masked) or ``a|b|0x4`` (exact).

    Returns (flags, mask); mask is None for the exact forms ("every bit matters").
    """
    if masked:
        flags, end, _ = strtoull(s, 0)
        if flags is not None and s[end:end + 1] == "/":
            mask, end2, _ = strtoull(s, end + 1)
            if mask is not None:
                if flags & ~allowed or mask & ~allowed:
                    raise ParseError(f"{s}: unknown {field} flag(s)")
                return flags, mask
    if masked and s[:1] in ("+", "-"):
        flags = mask = 0
        i = 0
        while i < len(s):
            c = s[i]
            if c not in "+-":
                raise ParseError(f"{s[i:]}: {field} must be preceded by '+' (for SET) or "
                                 "'-' (NOT SET)")
            i += 1
            for bit, name in names:
                end = i + len(name)
                if s.startswith(name, i) and (end == len(s) or s[end] in "+-"):
                    if mask & bit:
                        raise ParseError(f"{s[i:]}: Each {field} flag can be specified "
                                         "only once")
                    if not bit & allowed:
                        raise ParseError(f"{s[i:]}: unknown {field} flag(s)")
                    if c == "+":
                        flags |= bit
                    mask |= bit
                    i = end
                    break
            else:
                raise ParseError(f"{s[i:]}: unknown {field} flag(s)")
        return flags, mask
    result = 0
    i = 0
    while i < len(s):
        value, end, _over = strtoull(s, i, 0)
        if value is not None:
            if value & ~allowed:
                raise ParseError(f"{s}: unknown {field} flag(s)")
            result |= value
            i = end + (1 if s[end:end + 1] == "|" else 0)
            continue
        for bit, name in names:
            end = i + len(name)
            if s.startswith(name, i) and (end == len(s) or s[end] == "|"):
                if not bit & allowed:
                    raise ParseError(f"{s}: unknown {field} flag(s)")
                result |= bit
                i = end + (1 if end < len(s) else 0)
                break
        else:
            raise ParseError(f"{s}: unknown {field} flag(s)")
    return result, None


def format_flags(flags: int, names: FlagNames, delim: str = "|") -> str:
    """OVS ``format_flags``: names of set bits from the lowest, unknown bits as one hex."""
    if not flags:
        return "0"
    out = []
    bad = 0
    bit = 1
    while flags >= bit:
        if flags & bit:
            name = _flag_name(names, bit)
            if name is None:
                bad |= bit
            else:
                out.append(name)
        bit <<= 1
    if bad:
        out.append(f"{bad:#x}")
    return delim.join(out)


def format_flags_masked(flags: int, mask: int, names: FlagNames, max_mask: int) -> str:
    """OVS ``format_flags_masked``: exact sets ``a|b``, partial ones ``+a-b`` in bit order."""
    if mask == max_mask:
        return format_flags(flags, names)
    if not mask:
        return "0/0"
    out = []
    bit = 1
    while mask >= bit:
        if mask & bit:
            name = _flag_name(names, bit)
            out.append(("+" if flags & bit else "-") + (name or "[Unknown]"))
        bit <<= 1
    return "".join(out)


# ----------------------------------------------------------------------------- fragments
_FRAGS: tuple[tuple[str, int, int], ...] = (
    ("no", 3, 0), ("first", 3, 1), ("later", 3, 3),
    ("no", 1, 0), ("yes", 1, 1),
    ("not_later", 2, 0), ("later", 2, 2),
)


def parse_frag(s: str) -> tuple[int, int]:
    """``no|yes|first|later|not_later`` to (value, mask) of the 2-bit nw_frag."""
    for name, mask, value in _FRAGS:
        if s.lower() == name:
            return value, mask
    raise ParseError(f'{s}: unknown fragment type (valid types are "no", "yes", "first", '
                     '"later", "not_later"')


def format_frag(value: int, mask: int) -> str:
    mask &= 3
    value &= mask
    for name, m, v in _FRAGS:
        if m == mask and v == value:
            return name
    return "<error>"


# ----------------------------------------------------------------------------- hex bytes
def parse_hex_bytes(s: str) -> tuple[bytes, str]:
    """OVS ``ofpbuf_put_hex``: pairs of hex digits, ``.`` and white space ignored.

    Returns (data, rest); ``rest`` is what could not be read (empty on success).
    """
    out = bytearray()
    i = 0
    n = len(s)
    while True:
        while i < n and s[i] in " .\t\r\n":
            i += 1
        if i + 1 < n and _hexit(s[i]) >= 0 and _hexit(s[i + 1]) >= 0:
            out.append(int(s[i:i + 2], 16))
            i += 2
        else:
            return bytes(out), s[i:]


def format_hex_bytes(data: bytes) -> str:
    return ".".join(f"{b:02x}" for b in data)
