"""Addresses in the ovs-ofctl flow syntax: Ethernet, IPv4 and IPv6, plain or masked.

ovs-ofctl reads Ethernet and IPv4 addresses with ``scanf`` patterns (so ``10.0.0.0/8``,
``10.0.0.0/255.0.0.0`` and ``01:00:00:00:00:00/01:00:00:00:00:00`` all work), exact action
arguments with ``inet_pton``, and prints IPv6 with glibc's ``inet_ntop`` (``::ffff:1.2.3.4``
style for mapped addresses), which Python's ``ipaddress`` does not reproduce.  Masks that
are CIDR prefixes print as ``/N``.

Layer: flow.  Imports: errors.
"""

from __future__ import annotations

import re

from pyvswitch.errors import ParseError


def _hexit(c: str) -> int:
    if "0" <= c <= "9":
        return ord(c) - 48
    if "a" <= c <= "f":
        return ord(c) - 87
    if "A" <= c <= "F":
        return ord(c) - 55
    return -1


# ----------------------------------------------------------------------------- ethernet
_HHX = r"\s*([-+]?)(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)"
_MAC_RE = re.compile(":".join([_HHX] * 6))


def _scan_mac(s: str, pos: int = 0) -> tuple[int, int] | None:
    """Six ``%hhx`` separated by colons, as ``scanf`` reads them (each keeps 8 bits)."""
    m = _MAC_RE.match(s, pos)
    if not m:
        return None
    v = 0
    groups = m.groups()
    for sign, digits in zip(groups[::2], groups[1::2]):
        b = int(digits, 16)
        v = (v << 8) | ((-b if sign == "-" else b) & 0xFF)
    return v, m.end()


def parse_mac(s: str) -> int:
    """An exact Ethernet address (``mod_dl_src:``); OVS ``str_to_mac`` wording on error."""
    r = _scan_mac(s)
    if r is None:
        raise ParseError(f"invalid mac address {s}")
    return r[0]


def parse_mac_masked(s: str) -> tuple[int, int]:
    """``xx:xx:xx:xx:xx:xx`` or ``xx:...:xx/xx:...:xx`` (OVS ``mf_from_ethernet_string``)."""
    r = _scan_mac(s)
    if r is not None:
        v, end = r
        if end == len(s):
            return v, (1 << 48) - 1
        if s[end] == "/":
            r2 = _scan_mac(s, end + 1)
            if r2 is not None and r2[1] == len(s):
                return v, r2[0]
    raise ParseError(f"{s}: invalid Ethernet address")


def format_mac(v: int) -> str:
    return ":".join(f"{(v >> s) & 0xFF:02x}" for s in range(40, -8, -8))


def format_mac_masked(v: int, mask: int | None) -> str:
    if mask is None or mask == (1 << 48) - 1:
        return format_mac(v)
    return f"{format_mac(v)}/{format_mac(mask)}"


# ----------------------------------------------------------------------------- IPv4
_HHU = r"\s*([-+]?\d+)"
_IP_RE = re.compile(r"\.".join([_HHU] * 4))


def scan_ipv4(s: str, pos: int = 0) -> tuple[int, int] | None:
    """``A.B.C.D`` read as ``scanf("%hhu.%hhu.%hhu.%hhu")`` does: each number keeps its
    low 8 bits (OVS accepts ``10.0.0.300`` as 10.0.0.44)."""
    m = _IP_RE.match(s, pos)
    if not m:
        return None
    v = 0
    for g in m.groups():
        v = (v << 8) | (int(g) & 0xFF)
    return v, m.end()


def ipv4_prefix_mask(bits: int) -> int:
    return (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF if bits else 0


def parse_ipv4(s: str) -> int:
    """An exact IPv4 address as ``inet_pton`` reads it (``mod_nw_dst:``)."""
    parts = s.split(".")
    if len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) <= 255
                               and (p == "0" or not p.startswith("0")) for p in parts):
        v = 0
        for p in parts:
            v = (v << 8) | int(p)
        return v
    raise ParseError(f"{s}: could not convert to IP address")


def parse_ipv4_masked_len(s: str, pos: int = 0) -> tuple[int, int, int]:
    """``A.B.C.D``, ``A.B.C.D/M.M.M.M`` or ``A.B.C.D/N`` from ``s[pos:]``: (ip, mask, end)."""
    r = scan_ipv4(s, pos)
    if r is None:
        raise ParseError(f"{s}: invalid IP address")
    ip, end = r
    if s[end:end + 1] == "/":
        r2 = scan_ipv4(s, end + 1)
        if r2 is not None:
            return ip, r2[0], r2[1]
        m = re.compile(r"[-+]?\d+").match(s, end + 1)
        if m:
            prefix = int(m.group())
            if not 0 <= prefix <= 32:
                raise ParseError(f"{s}: IPv4 network prefix bits not between 0 and 32, "
                                 "inclusive")
            return ip, ipv4_prefix_mask(prefix), m.end()
    return ip, 0xFFFFFFFF, end


def parse_ipv4_masked(s: str) -> tuple[int, int]:
    ip, mask, end = parse_ipv4_masked_len(s)
    if end != len(s):
        raise ParseError(f"{s}: invalid IP address")
    return ip, mask


def format_ipv4(v: int) -> str:
    return f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}"


def _cidr_bits(mask: int, width: int) -> int | None:
    """Prefix length when ``mask`` is a CIDR mask of ``width`` bits, else None."""
    inv = ~mask & ((1 << width) - 1)
    if inv & (inv + 1):
        return None
    return width - inv.bit_length()


def format_ipv4_masked(v: int, mask: int) -> str:
    if mask == 0xFFFFFFFF:
        return format_ipv4(v)
    bits = _cidr_bits(mask, 32)
    if bits is not None:
        return f"{format_ipv4(v)}/{bits}"
    return f"{format_ipv4(v)}/{format_ipv4(mask)}"


# ----------------------------------------------------------------------------- IPv6
_IPV6_CHARS = re.compile(r"[0-9a-fA-F:.]{1,46}")


def inet_pton6(s: str) -> int | None:
    """IPv6 text to a 128-bit int as glibc ``inet_pton`` accepts it, else None."""
    tail_v4 = None
    if "." in s:
        idx = s.rfind(":")
        if idx < 0:
            return None
        try:
            tail_v4 = parse_ipv4(s[idx + 1:])
        except ParseError:
            return None
        s = s[:idx + 1] + "0:0"
    if s.count("::") > 1 or ":::" in s:
        return None
    if "::" in s:
        left, right = s.split("::")
        lw = left.split(":") if left else []
        rw = right.split(":") if right else []
        if len(lw) + len(rw) > 7:
            return None
        words = lw + ["0"] * (8 - len(lw) - len(rw)) + rw
    else:
        words = s.split(":")
        if len(words) != 8:
            return None
    v = 0
    for w in words:
        if not 1 <= len(w) <= 4 or any(_hexit(c) < 0 for c in w):
            return None
        v = (v << 16) | int(w, 16)
    if tail_v4 is not None:
        v = (v & ~0xFFFFFFFF) | tail_v4
    return v


def ipv6_prefix_mask(bits: int) -> int:
    return ((1 << 128) - 1) ^ ((1 << (128 - bits)) - 1)


def parse_ipv6_masked_len(s: str, pos: int = 0) -> tuple[int, int, int]:
    """``ADDR``, ``ADDR/N`` or ``ADDR/MASK`` from ``s[pos:]``: (addr, mask, end)."""
    full = (1 << 128) - 1
    m = _IPV6_CHARS.match(s, pos)
    addr = inet_pton6(m.group()) if m else None
    if m is None or addr is None:
        raise ParseError(f"{s}: invalid IPv6 address")
    end = m.end()
    if s[end:end + 1] == "/":
        pm = re.compile(r"[-+]?\d+").match(s, end + 1)
        mm = _IPV6_CHARS.match(s, end + 1)
        if pm and mm and mm.end() > pm.end() and inet_pton6(mm.group()) is not None:
            # A mask such as "0:0:1::" starts with digits; OVS's scanf would read it as
            # prefix 0 and then fail on what OVS itself prints, so read the whole mask.
            pm = None
        if pm:
            prefix = int(pm.group())
            if not 0 <= prefix <= 128:
                raise ParseError(f"{s}: IPv6 network prefix bits not between 0 and 128, "
                                 "inclusive")
            return addr, ipv6_prefix_mask(prefix), pm.end()
        mm = _IPV6_CHARS.match(s, end + 1)
        if mm:
            mask = inet_pton6(mm.group())
            if mask is None:
                raise ParseError(f"{s}: Invalid IPv6 mask")
            return addr, mask, mm.end()
    return addr, full, end


def parse_ipv6_masked(s: str) -> tuple[int, int]:
    addr, mask, end = parse_ipv6_masked_len(s)
    if end != len(s):
        raise ParseError(f"{s}: invalid IPv6 address")
    return addr, mask


def format_ipv6(v: int) -> str:
    """glibc ``inet_ntop(AF_INET6)``: longest zero run (>= 2 words) as ``::``, and the
    ``::a.b.c.d`` / ``::ffff:a.b.c.d`` forms for IPv4-compatible and -mapped addresses."""
    words = [(v >> (112 - 16 * i)) & 0xFFFF for i in range(8)]
    best_base, best_len = -1, 0
    cur_base, cur_len = -1, 0
    for i, w in enumerate(words):
        if w == 0:
            if cur_base < 0:
                cur_base, cur_len = i, 1
            else:
                cur_len += 1
            if cur_len > best_len:
                best_base, best_len = cur_base, cur_len
        else:
            cur_base = -1
    if best_len < 2:
        best_base = -1
    out: list[str] = []
    i = 0
    while i < 8:
        if best_base >= 0 and best_base <= i < best_base + best_len:
            if i == best_base:
                out.append(":")
            i += 1
            continue
        if i:
            out.append(":")
        if i == 6 and best_base == 0 and (best_len == 6 or (best_len == 5
                                                            and words[5] == 0xFFFF)):
            out.append(format_ipv4(v & 0xFFFFFFFF))
            break
        out.append(f"{words[i]:x}")
        i += 1
    if best_base >= 0 and best_base + best_len == 8:
        out.append(":")
    return "".join(out)


def format_ipv6_masked(v: int, mask: int | None) -> str:
    full = (1 << 128) - 1
    if mask is None or mask == full:
        return format_ipv6(v)
    bits = _cidr_bits(mask, 128)
    if bits is not None:
        return f"{format_ipv6(v)}/{bits}"
    return f"{format_ipv6(v)}/{format_ipv6(mask)}"
