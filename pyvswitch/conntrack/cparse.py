"""C-style number and key=value parsing, as the dpctl conntrack commands read arguments.

ovs-vswitchd parses ``dpctl/*`` arguments with ``strtoull``/``strtoll``, ``ovs_scan`` and
``ofputil_parse_key_value``; which strings are accepted (hex and octal prefixes, signs,
wrap-around, trailing junk) is part of the observable behaviour, so these helpers
reproduce those functions' rules.  They return None instead of raising; callers turn that
into the exact dpctl error message.

Layer: conntrack.  Imports: nothing.
"""

from __future__ import annotations

_WS = " \t\n\v\f\r"


def _digits(s: str, i: int, base: int) -> tuple[int, int, int]:
    """Parse digits of ``base`` at ``i``: (value, end index, number of digits)."""
    value = 0
    n = 0
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9":
            d = ord(c) - 48
        elif "a" <= c.lower() <= "z":
            d = ord(c.lower()) - 87
        else:
            break
        if d >= base:
            break
        value = value * base + d
        n += 1
        i += 1
    return value, i, n


def strtox(s: str, base: int) -> tuple[int, int, bool] | None:
    """C ``strto[u]ll`` core: (signed magnitude, index after the number, negative).

    None when no digits were consumed.  ``base`` 0 detects ``0x`` and leading-0 octal.
    """
    i = 0
    while i < len(s) and s[i] in _WS:
        i += 1
    neg = False
    if i < len(s) and s[i] in "+-":
        neg = s[i] == "-"
        i += 1
    if (base in (0, 16) and s[i:i + 2].lower() == "0x"
            and i + 2 < len(s) and _digits(s, i + 2, 16)[2]):
        base = 16
        i += 2
    elif base == 0:
        base = 8 if s[i:i + 1] == "0" else 10
    value, end, n = _digits(s, i, base)
    if not n:
        return None
    return (-value if neg else value), end, neg


def str_to_ullong(s: str, base: int = 0) -> int | None:
    """``str_to_ullong``: whole string, no overflow; negatives wrap as strtoull does."""
    r = strtox(s, base)
    if r is None or r[1] != len(s):
        return None
    value = r[0]
    if abs(value) > 0xFFFFFFFFFFFFFFFF:
        return None
    return value & 0xFFFFFFFFFFFFFFFF


def str_to_llong(s: str, base: int = 0) -> int | None:
    """``str_to_llong``: whole string, within the signed 64-bit range."""
    r = strtox(s, base)
    if r is None or r[1] != len(s):
        return None
    if not -(1 << 63) <= r[0] < (1 << 63):
        return None
    return r[0]


def str_to_uint_range(s: str, bits: int) -> int | None:
    """``str_to_u8``/``str_to_u16`` (base 0, int range, then 0..2**bits-1)."""
    v = str_to_llong(s, 0)
    if v is None or not -(1 << 31) <= v < (1 << 31) or v < 0 or v >= 1 << bits:
        return None
    return v


def str_to_u32(s: str) -> int | None:
    """``str_to_u32`` of ofp-parse: base 0, at most 2**32-1."""
    if not s:
        return None
    v = str_to_ullong(s, 0)
    if v is None or v > 0xFFFFFFFF:
        return None
    return v


def scan_uint(s: str, bits: int) -> int | None:
    """``ovs_scan(s, "%u")`` into a ``bits``-wide variable: wraps, trailing text ignored."""
    i = 0
    neg = False
    if s[:1] in ("-", "+"):
        neg = s[0] == "-"
        i = 1
    value, _end, n = _digits(s, i, 10)
    if not n:
        return None
    if neg:
        value = -value
    return value & ((1 << bits) - 1)


def parse_key_value(s: str, pos: int) -> tuple[str, str, int] | None:
    """``ofputil_parse_key_value``: the next ``key[=value]`` of ``s`` from ``pos``.

    Returns ``(key, value, new position)`` or None at the end.  A value runs to the next
    comma or white space (``key(value)`` forms run to the matching parenthesis).
    """
    n = len(s)
    while pos < n and s[pos] in ", \t\r\n":
        pos += 1
    if pos >= n:
        return None
    start = pos
    while pos < n and s[pos] not in ":=(, \t\r\n":
        pos += 1
    key = s[start:pos]
    delim = s[pos] if pos < n else ""
    if delim:
        pos += 1
    if delim in (":", "="):
        stops = ", \t\r\n"
    elif delim == "(":
        stops = ")"
    else:
        return key, "", pos
    vstart = pos
    while pos < n and s[pos] not in stops:
        if s[pos] == "(":
            level = 0
            while pos < n:
                if s[pos] == "(":
                    level += 1
                elif s[pos] == ")":
                    level -= 1
                pos += 1
                if level <= 0:
                    break
        else:
            pos += 1
    value = s[vstart:pos]
    if pos < n:
        pos += 1
    return key, value, pos


def parse_int_string(s: str, width: int) -> tuple[int, str] | None:
    """``parse_int_string``: a ``width``-byte value in hex (``0x``, any length that fits)
    or C integer syntax; returns ``(value, rest of the string)`` or None on error.
    """
    if s[:2].lower() == "0x":
        i = 2
        digits: list[int] = []
        while True:
            while i < len(s) and s[i] in " \t\r\n":
                i += 1
            if i >= len(s) or s[i].lower() not in "0123456789abcdef":
                break
            d = int(s[i], 16)
            if d or digits:
                if (len(digits) + 2) // 2 > width:
                    return None
                digits.append(d)
            i += 1
        value = 0
        for d in digits:
            value = value << 4 | d
        return value, s[i:]
    r = strtox(s, 0)
    if r is None:
        return None
    value, end, _neg = r
    if abs(value) > 0xFFFFFFFFFFFFFFFF:
        return None
    return value & ((1 << (8 * width)) - 1) & 0xFFFFFFFFFFFFFFFF, s[end:]
