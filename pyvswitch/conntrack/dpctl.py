"""The ``dpctl/*`` conntrack commands: argument parsing, results and messages (§11, §13).

Each function takes the command's arguments as ovs-appctl passes them (the optional
datapath name already removed by the caller) and returns the exact text ovs-vswitchd
replies with, trailing newline included where OVS prints one.  Bad arguments raise
:class:`~pyvswitch.errors.ParseError` whose message is dpctl's, without the errno text:
OVS prints ``<message> (Invalid argument)`` (EINVAL) for all of them;
:class:`ZoneLimitsProtected` is EPERM ("Operation not permitted").  A flush by a complete tuple that
matches nothing raises :class:`~pyvswitch.conntrack.ops.TupleNotFound`, which dpctl reports
as "failed to flush conntrack (No such file or directory)".

Argument-count limits ("command takes at most N arguments") belong to the command table,
which knows the usage strings.

Layer: conntrack.  Imports: conntrack.ops, conntrack.cparse, conntrack.tracker, errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address

from pyvswitch.conntrack.cparse import (
    parse_int_string,
    parse_key_value,
    scan_uint,
    str_to_u32,
    str_to_uint_range,
    str_to_ullong,
)
from pyvswitch.conntrack.ops import CtMatch
from pyvswitch.conntrack.tracker import Conntrack
from pyvswitch.errors import ParseError, SwitchError

#: dpctl's text after each ParseError message, as OVS formats errno EINVAL
EINVAL_TEXT = "Invalid argument"


class ZoneLimitsProtected(SwitchError):
    """Zone limits come from the configuration database: dpctl may not change them.

    dpctl prints the message followed by " (Operation not permitted)" (EPERM).
    """

    errno = 1


def _ipv4(text: str) -> int | None:
    try:
        return int(IPv4Address(text))
    except ValueError:
        return None


def _ipv6(text: str) -> int | None:
    try:
        return int(IPv6Address(text))
    except ValueError:
        return None


def parse_ct_tuple(text: str, match: CtMatch | None = None, reply: bool = False) -> CtMatch:
    """Parse one ``'ct_nw_src=...,ct_tp_dst=...'`` tuple argument into ``match``.

    The orig tuple unless ``reply``; the L3 type and protocol are shared by both
    tuples, as in OVS's ``ofp_ct_tuple_parse``.  Raises ParseError with its messages.
    """
    if match is None:
        match = CtMatch()
    tup = match.reply if reply else match.orig
    notes: list[str] = []  # OVS keeps some messages without failing

    def fail(msg: str) -> ParseError:
        return ParseError("".join(notes) + msg, text)

    pos = 0
    while True:
        kv = parse_key_value(text, pos)
        if kv is None:
            break
        key, value, pos = kv
        if not value:
            raise fail(f"field {key} missing value")
        if key in ("ct_nw_src", "ct_nw_dst"):
            if match.l3 and match.l3 != 4:
                raise fail(f"the L3 protocol does not match {value}")
            src = key[6] == "s"
            if (tup.src if src else tup.dst) is not None:
                raise fail(f"{key} is set multiple times")
            addr = _ipv4(value)
            if addr is None:
                raise fail(f"failed to parse field {key}")
            match.l3 = 4
            if src:
                tup.src = addr
            else:
                tup.dst = addr
        elif key in ("ct_ipv6_src", "ct_ipv6_dst"):
            if match.l3 and match.l3 != 6:
                raise fail(f"the L3 protocol does not match {value}")
            src = key[8] == "s"
            if (tup.src if src else tup.dst) is not None:
                raise fail(f"{key} is set multiple times")
            addr = _ipv6(value)
            if addr is None:
                raise fail(f"failed to parse field {key}")
            match.l3 = 6
            # OVS keeps addresses as IPv6; "::" reads as "not given".
            if src:
                tup.src = addr or None
            else:
                tup.dst = addr or None
        elif key == "ct_nw_proto":
            if match.proto:
                notes.append(f"{key} is set multiple times")
            proto = str_to_uint_range(value, 8)
            if proto is None:
                raise fail(f"failed to parse field {key}")
            match.proto = proto
        elif key in ("ct_tp_src", "ct_tp_dst"):
            port = str_to_uint_range(value, 16)
            if port is None:
                raise fail(f"failed to parse field {key}")
            if key[6] == "s":
                tup.sport = port
            else:
                tup.dport = port
        elif key in ("icmp_type", "icmp_code", "icmp_id"):
            if match.proto not in (1, 58):
                raise fail("invalid L4 fields")
            v = str_to_uint_range(value, 16 if key == "icmp_id" else 8)
            if v is None:
                raise fail(f"failed to parse field {key}")
            if key == "icmp_type":
                tup.icmp_type = v
            elif key == "icmp_code":
                tup.icmp_code = v
            else:
                tup.icmp_id = v
        else:
            raise fail(f"invalid conntrack tuple field: {key}")
    if not match.proto and (tup.sport or tup.dport):
        raise fail("port is set without protocol")
    return match


def _masked(text: str, width: int) -> tuple[int, int] | None:
    parsed = parse_int_string(text, width)
    if parsed is None:
        return None
    value, rest = parsed
    full = (1 << (8 * width)) - 1
    mask = full
    if rest.startswith("/"):
        m = parse_int_string(rest[1:], width)
        if m is not None:
            mask = m[0]
    return value, mask


def parse_flush_args(args: Sequence[str]) -> tuple[int | None, CtMatch]:
    """``[zone=N] [mark=V[/M]] [labels=V[/M]] ['ORIG'] ['REPLY']`` -> (zone, match)."""
    match = CtMatch()
    zone: int | None = None
    i = 0
    n = len(args)
    if i < n and args[i].startswith("zone="):
        zone = scan_uint(args[i][5:], 16)
        if zone is None:
            raise ParseError("failed to parse zone", args[i])
        i += 1
    if i < n and args[i].startswith("mark="):
        m = _masked(args[i][5:], 4)
        if m is None:
            raise ParseError("failed to parse mark", args[i])
        match.mark, match.mark_mask = m
        i += 1
    if i < n and args[i].startswith("labels="):
        m = _masked(args[i][7:], 16)
        if m is None:
            raise ParseError("failed to parse labels", args[i])
        match.labels, match.labels_mask = m
        i += 1
    for reply in (False, True):
        if i >= n:
            break
        if args[i]:
            parse_ct_tuple(args[i], match, reply)
        i += 1
    if i < n:
        raise ParseError("invalid arguments", args[i])
    return zone, match


# ------------------------------------------------------------------ the commands
def flush_conntrack(ct: Conntrack, args: Sequence[str], *, now: float) -> str:
    """``dpctl/flush-conntrack [zone=N] [mark=..] [labels=..] ['TUPLE' ['TUPLE']]``."""
    zone, match = parse_flush_args(args)
    ct.flush_match(zone, match, now=now)
    return ""


def _zone_arg(args: Sequence[str]) -> tuple[int | None, Sequence[str]]:
    """A trailing ``zone=N`` (ovs_scan "zone=%hu"), as dump commands take it."""
    if args:
        last = args[-1]
        if last.startswith("zone="):
            zone = scan_uint(last[5:], 16)
            if zone is not None:
                return zone, args[:-1]
    return None, args


def dump_conntrack(ct: Conntrack, args: Sequence[str] = (), verbose: bool = False,
                   stats: bool = False, *, now: float) -> str:
    """``dpctl/dump-conntrack [-m] [-s] [zone=N]`` (``-m``/``-s`` given as flags)."""
    zone, _rest = _zone_arg(args)
    return "".join(line + "\n" for line in ct.dump_conntrack(zone, verbose, stats, now=now))


def dump_conntrack_exp(ct: Conntrack, args: Sequence[str] = ()) -> str:
    """``dpctl/dump-conntrack-exp [zone=N]``."""
    zone, _rest = _zone_arg(args)
    return "".join(line + "\n" for line in ct.dump_expectations(zone))


def ct_stats_show(ct: Conntrack, args: Sequence[str] = (), verbose: bool = False, *,
                  now: float) -> str:
    """``dpctl/ct-stats-show [-m] [zone=N]`` (also the old ``verbose`` word)."""
    zone = None
    rest = list(args)
    changed = True
    while rest and changed:
        changed = False
        if rest[-1].startswith("verbose"):
            verbose = True
            rest.pop()
            changed = True
        elif rest[-1].startswith("zone="):
            z = scan_uint(rest[-1][5:], 16)
            if z is not None:
                zone = z
                rest.pop()
                changed = True
    return ct.format_stats(zone, verbose, now=now)


def ct_set_maxconns(ct: Conntrack, args: Sequence[str]) -> str:
    value = scan_uint(args[-1], 32) if args else None
    if value is None:
        raise ParseError("maxconns missing or malformed", args[-1] if args else "")
    ct.set_maxconns(value)
    return "setting maxconns successful"


def ct_get_maxconns(ct: Conntrack) -> str:
    return f"{ct.get_maxconns()}\n"


def ct_get_nconns(ct: Conntrack) -> str:
    return f"{ct.get_nconns()}\n"


def ct_set_tcp_seq_chk(ct: Conntrack, enabled: bool) -> str:
    ct.set_tcp_seq_chk(enabled)
    return f"{'enabling' if enabled else 'disabling'} TCP sequence checking successful"


def ct_get_tcp_seq_chk(ct: Conntrack) -> str:
    return f"TCP sequence checking: {'enabled' if ct.get_tcp_seq_chk() else 'disabled'}\n"


def ct_set_sweep_interval(ct: Conntrack, args: Sequence[str]) -> str:
    ms = scan_uint(args[-1], 32) if args else None
    if not ms:
        raise ParseError("invalid sweep value", args[-1] if args else "")
    ct.set_sweep_interval(ms)
    return "setting sweep interval successful"


def ct_get_sweep_interval(ct: Conntrack) -> str:
    return f"{ct.get_sweep_interval()}"


def parse_zone_limit(text: str) -> tuple[int, int]:
    """``zone=Z,limit=L`` (ct_dpif_parse_zone_limit_tuple)."""
    zone = limit = None
    pos = 0
    while True:
        kv = parse_key_value(text, pos)
        if kv is None:
            break
        key, value, pos = kv
        if not value:
            raise ParseError(f"field {key} missing value", text)
        if key == "zone":
            zone = str_to_uint_range(value, 16)
            if zone is None:
                raise ParseError(f"failed to parse field {key}", text)
        elif key == "limit":
            limit = str_to_u32(value)
            if limit is None:
                raise ParseError(f"failed to parse field {key}", text)
        else:
            raise ParseError(f"invalid zone limit field: {key}", text)
    if zone is None or limit is None:
        raise ParseError("failed to parse zone limit", text)
    return zone, limit


def parse_limit_zones(text: str) -> list[int]:
    """``zone=Z[,Z...]`` of ct-get-limits / ct-del-limits."""
    if not text.startswith("zone="):
        raise ParseError(f"invalid argument {text}", text)
    zones = []
    for part in text[5:].split(","):
        if not part:
            continue  # strtok skips empty fields
        z = scan_uint(part, 16)
        if z is None:
            raise ParseError("invalid zone", text)
        zones.append(z)
    return zones


def ct_set_limits(ct: Conntrack, args: Sequence[str]) -> str:
    """``dpctl/ct-set-limits [default=D] [zone=Z,limit=L]...``."""
    if not args:
        raise ParseError("too few arguments")
    i = 0
    default = None
    if args[0].startswith("default="):
        default = str_to_ullong(args[0][8:], 10)
        if default is None or default > 0xFFFFFFFF:
            raise ParseError("invalid default limit", args[0])
        i = 1
    zones: dict[int, int] = {}
    for arg in args[i:]:
        zone, limit = parse_zone_limit(arg)
        zones[zone] = limit
    if ct.zone_limits_protected:
        raise ZoneLimitsProtected("the zone limits are set via database, "
                                  "use 'ovs-vsctl set-zone-limit <...>' instead.")
    ct.set_limits(default, zones)
    return ""


def ct_del_limits(ct: Conntrack, args: Sequence[str]) -> str:
    """``dpctl/ct-del-limits [default] [zone=Z[,Z...]]``."""
    if not args:
        raise ParseError("too few arguments")
    i = 0
    default = False
    if args[0] == "default":
        default = True
        i = 1
    zones = parse_limit_zones(args[i]) if len(args) > i else []
    if ct.zone_limits_protected:
        raise ZoneLimitsProtected("the zone limits are set via database, "
                                  "use 'ovs-vsctl del-zone-limit <...>' instead.")
    ct.del_limits(zones, default)
    return ""


def ct_get_limits(ct: Conntrack, args: Sequence[str] = ()) -> str:
    """``dpctl/ct-get-limits [zone=Z[,Z...]]``."""
    zones = parse_limit_zones(args[0]) if args else None
    return ct.format_limits(zones)


# ------------------------------------------------------------------ fragment reassembly
def _family(arg: str) -> bool | None:
    """``ovs_scan("%2s")`` then v4/v6: True for IPv6, None when neither."""
    word = arg.strip().split()[0][:2] if arg.strip() else ""
    if word == "v4":
        return False
    if word == "v6":
        return True
    return None


def ipf_set_enabled(ct: Conntrack, args: Sequence[str], enabled: bool) -> str:
    """``dpctl/ipf-set-enabled|ipf-set-disabled v4|v6``."""
    v6 = _family(args[-1]) if args else None
    if v6 is None:
        raise ParseError("parameter missing: 'v4' for IPv4 or 'v6' for IPv6")
    ct.ipf.set_enabled(v6, enabled)
    return f"{'enabling' if enabled else 'disabling'} fragmentation reassembly successful"


def ipf_set_min_frag(ct: Conntrack, args: Sequence[str]) -> str:
    """``dpctl/ipf-set-min-frag v4|v6 N``."""
    v6 = _family(args[-2]) if len(args) >= 2 else None
    if v6 is None:
        raise ParseError("parameter missing: v4 for IPv4 or v6 for IPv6")
    size = scan_uint(args[-1], 32)
    if size is None:
        raise ParseError("parameter missing for minimum fragment size", args[-1])
    try:
        ct.ipf.set_min_frag(v6, size)
    except SwitchError:
        raise ParseError("requested minimum fragment size too small; see documentation",
                         args[-1]) from None
    return "setting minimum fragment size successful"


def ipf_set_max_nfrags(ct: Conntrack, args: Sequence[str]) -> str:
    """``dpctl/ipf-set-max-nfrags N``."""
    n = scan_uint(args[-1], 32) if args else None
    if n is None:
        raise ParseError("parameter missing for maximum fragments")
    try:
        ct.ipf.set_max_nfrags(n)
    except SwitchError:
        raise ParseError("setting maximum fragments failed", args[-1]) from None
    return "setting maximum fragments successful"


def ipf_get_status(ct: Conntrack, verbose: bool = False) -> str:
    """``dpctl/ipf-get-status [-m]``."""
    return ct.ipf.format_status(verbose)
