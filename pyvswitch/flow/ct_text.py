"""The ``ct(...)`` and ``nat(...)`` actions in ovs-ofctl text.

``ct([commit][,force][,table=N][,zone=N|zone=FIELD[a..b]][,nat[(...)]][,exec(...)]
[,alg=ftp|tftp])`` and, inside it, ``nat[(src|dst[=ADDR[-ADDR][:PORT[-PORT]]]
[,persistent][,hash|random])]``.  Printing follows OVS: ``commit``, ``force``, ``table``,
``zone``, then a leading ``nat`` outside ``exec(...)``, the other nested actions inside
it, and ``alg`` last.

The nested ``exec`` actions are parsed and printed by the general action syntax
(:mod:`pyvswitch.flow.actions_text`), which hands its parser and printer in, so this
module does not import it back.

Layer: flow.  Imports: flow.ofpacts, flow.values, flow.field_text, errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pyvswitch.errors import ParseError
from pyvswitch.flow.field_text import format_subfield, parse_subfield
from pyvswitch.flow.ofpacts import (
    CT_F_COMMIT,
    CT_F_FORCE,
    NAT_F_DST,
    NAT_F_PERSISTENT,
    NAT_F_PROTO_HASH,
    NAT_F_PROTO_RANDOM,
    NAT_F_SRC,
    NX_CT_RECIRC_NONE,
    Ct,
    Nat,
)
from pyvswitch.flow.values import (
    format_ipv4,
    format_ipv6,
    inet_pton6,
    iter_kv,
    scan_ipv4,
    str_to_u16,
    str_to_uint,
)

ALG_FTP = 21
ALG_TFTP = 69

NestedParser = Callable[[str], list[object]]
NestedFormatter = Callable[[Sequence[object]], str]


def parse_table(s: str) -> int | None:
    """OVS ``ofputil_table_from_string`` without table names: 0..255 in decimal."""
    if s.startswith("-"):
        return None
    n = str_to_uint(s, 10)
    if n is None or n > 255:
        return None
    return n


def parse_ct(arg: str, parse_exec: NestedParser) -> Ct:
    """Parse the inside of ``ct(...)``; ``parse_exec`` parses the ``exec(...)`` actions."""
    flags = 0
    zone_imm = 0
    zone_src = None
    table = NX_CT_RECIRC_NONE
    alg = 0
    actions: list[object] = []
    for key, value, _pos in iter_kv(arg):
        if key == "commit":
            flags |= CT_F_COMMIT
        elif key == "force":
            flags |= CT_F_FORCE
        elif key == "table":
            t = parse_table(value)
            if t is None:
                raise ParseError(f"unknown table {value}")
            if t == NX_CT_RECIRC_NONE:
                raise ParseError(f"invalid table {t:#x}")
            table = t
        elif key == "zone":
            try:
                zone_imm = str_to_u16(value, "zone")
            except ParseError:
                zone_src = parse_subfield(value)
        elif key == "alg":
            if value == "ftp":
                alg = ALG_FTP
            elif value == "tftp":
                alg = ALG_TFTP
            else:
                raise ParseError(f'invalid conntrack helper "{value}"')
        elif key == "nat":
            actions.append(parse_nat(value))
        elif key == "exec":
            actions.extend(parse_exec(value))
        else:
            raise ParseError(f'invalid argument to "ct" action: `{key}\'')
    if flags & CT_F_FORCE and not flags & CT_F_COMMIT:
        raise ParseError('"force" flag requires "commit" flag.')
    return Ct(flags=flags, zone_imm=zone_imm, zone_src=zone_src, recirc_table=table,
              alg=alg, actions=tuple(actions))


_IPV6_SCAN = re.compile(r"[0-9a-fA-F:.]{1,46}")
_PORT = re.compile(r"\d{1,5}")


def _scan_nat_addr(s: str, n: int) -> tuple[int | None, bool, int] | None:
    """One address of a NAT range at ``s[n:]``: (addr, ipv6, end), or None if nothing
    scans.  As in OVS, text that scans as IPv6 characters but is no address is consumed
    with no address (addr None)."""
    r = scan_ipv4(s, n)
    if r is not None:
        return r[0], False, r[1]
    m = _IPV6_SCAN.match(s, n)
    if m is not None:
        return inet_pton6(m.group()), True, m.end()
    if s[n:n + 1] == "[":
        m = _IPV6_SCAN.match(s, n + 1)
        if m is not None and s[m.end():m.end() + 1] == "]":
            return inet_pton6(m.group()), True, m.end() + 1
    return None


def _nat_range(s: str) -> tuple[bool, int | None, int | None, int | None, int | None]:
    """``ADDR[-ADDR][:PORT[-PORT]]``: (ipv6, addr_min, addr_max, port_min, port_max)."""
    bad = ParseError(f'invalid nat range "{s}"')
    ipv6 = False
    amin = amax = pmin = pmax = None
    n = 0
    first = _scan_nat_addr(s, 0)
    if first is not None:
        amin, ipv6, n = first
    if amin is not None:
        if s[n:n + 1] == "-":
            second = _scan_nat_addr(s, n + 1)
            if (second is None or second[0] is None or second[1] != ipv6
                    or second[0] < amin):
                raise bad
            amax, _, n = second
        if s[n:n + 1] == ":":
            m = _PORT.match(s, n + 1)
            if m is None or int(m.group()) > 0xFFFF:
                raise bad
            pmin, n = int(m.group()), m.end()
            if s[n:n + 1] == "-":
                m = _PORT.match(s, n + 1)
                if m is None or not pmin <= int(m.group()) <= 0xFFFF:
                    raise bad
                pmax, n = int(m.group()), m.end()
    else:
        ipv6 = False
    if n != len(s):
        raise ParseError(f'garbage ({s[n:]}) after nat range "{s}" (pos: {n})')
    if amax == amin:
        amax = None
    if pmax == pmin:
        pmax = None
    if pmin == 0:
        pmin = None
    return ipv6, amin, amax, pmin, pmax


def parse_nat(arg: str) -> Nat:
    """Parse the inside of ``nat(...)`` (empty for a bare ``nat``)."""
    flags = 0
    rng: tuple[bool, int | None, int | None, int | None, int | None] = (
        False, None, None, None, None)
    for key, value, _pos in iter_kv(arg):
        if key in ("src", "dst"):
            flags |= NAT_F_SRC if key == "src" else NAT_F_DST
            rng = _nat_range(value)
        elif key == "persistent":
            flags |= NAT_F_PERSISTENT
        elif key == "hash":
            flags |= NAT_F_PROTO_HASH
        elif key == "random":
            flags |= NAT_F_PROTO_RANDOM
        else:
            raise ParseError(f'invalid key "{key}" in "nat" argument')
    if flags & NAT_F_SRC and flags & NAT_F_DST:
        raise ParseError('May only specify one of "src" or "dst".')
    if not flags & (NAT_F_SRC | NAT_F_DST):
        if flags:
            raise ParseError('Flags allowed only with "src" or "dst".')
    if flags & NAT_F_PROTO_HASH and flags & NAT_F_PROTO_RANDOM:
        raise ParseError('Both "hash" and "random" are not allowed.')
    ipv6, amin, amax, pmin, pmax = rng
    return Nat(flags=flags, ipv6=ipv6, addr_min=amin, addr_max=amax, port_min=pmin,
               port_max=pmax)


def format_nat(nat: Nat) -> str:
    """``nat``, ``nat(src)`` or ``nat(dst=10.0.0.1-10.0.0.9:80-90,random)``."""
    if not nat.flags & (NAT_F_SRC | NAT_F_DST):
        return "nat"
    parts = ["src" if nat.flags & NAT_F_SRC else "dst"]
    if nat.addr_min is not None:
        pmin = nat.port_min or 0
        if nat.ipv6:
            text = format_ipv6(nat.addr_min)
            if pmin:
                text = f"[{text}]"
            if nat.addr_max and nat.addr_max != nat.addr_min:
                hi = format_ipv6(nat.addr_max)
                text += f"-[{hi}]" if pmin else f"-{hi}"
        else:
            text = format_ipv4(nat.addr_min)
            if nat.addr_max and nat.addr_max != nat.addr_min:
                text += f"-{format_ipv4(nat.addr_max)}"
        if pmin:
            text += f":{pmin}"
            if nat.port_max and nat.port_max != pmin:
                text += f"-{nat.port_max}"
        parts[0] += "=" + text
        if nat.flags & NAT_F_PERSISTENT:
            parts.append("persistent")
        if nat.flags & NAT_F_PROTO_HASH:
            parts.append("hash")
        if nat.flags & NAT_F_PROTO_RANDOM:
            parts.append("random")
    return f"nat({','.join(parts)})"


def format_ct(ct: Ct, format_exec: NestedFormatter) -> str:
    """``ct(commit,table=2,zone=2,nat(dst=10.0.0.10:8080))`` in OVS's argument order."""
    parts = []
    if ct.flags & CT_F_COMMIT:
        parts.append("commit")
    if ct.flags & CT_F_FORCE:
        parts.append("force")
    if ct.recirc_table != NX_CT_RECIRC_NONE:
        parts.append(f"table={ct.recirc_table}")
    if ct.zone_src is not None:
        parts.append(f"zone={format_subfield(ct.zone_src)}")
    elif ct.zone_imm:
        parts.append(f"zone={ct.zone_imm}")
    rest = list(ct.actions)
    if rest and isinstance(rest[0], Nat):
        parts.append(format_nat(rest.pop(0)))
    if rest:
        parts.append(f"exec({format_exec(rest)})")
    if ct.alg == ALG_FTP:
        parts.append("alg=ftp")
    elif ct.alg == ALG_TFTP:
        parts.append("alg=tftp")
    elif ct.alg:
        parts.append(f"alg={ct.alg}")
    return f"ct({','.join(parts)})"
