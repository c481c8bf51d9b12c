"""The operator's view of the tracker (spec §11, §13): dumps, flushes, limits, statistics.

Text comes out exactly as ``ovs-appctl dpctl/dump-conntrack``, ``dump-conntrack-exp``,
``ct-stats-show`` and ``ct-get-limits`` print it.  :class:`ConntrackOps` is mixed into
:class:`~pyvswitch.conntrack.tracker.Conntrack`; argument parsing for the dpctl commands is
in :mod:`pyvswitch.conntrack.dpctl`.

Layer: conntrack.  Imports: conntrack.conn, conntrack.tcp, conntrack.alg_ftp (address
text), errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyvswitch.conntrack.alg_ftp import format_ipv6
from pyvswitch.conntrack.conn import ICMP4_REVERSE, ICMP6_REVERSE, V6, Conn
from pyvswitch.conntrack.tcp import FIN_WAIT_2, SYN_RECV, TCP_STATE_NAMES, TIME_WAIT, TcpConn
from pyvswitch.errors import SwitchError

if TYPE_CHECKING:
    from pyvswitch.conntrack.expect import Expectation, Expectations
    from pyvswitch.conntrack.limits import ZoneLimits

_PROTO_NAMES = {1: "icmp", 58: "icmpv6", 6: "tcp", 17: "udp", 132: "sctp", 136: "udplite",
                33: "dccp", 2: "igmp"}
_TCP_FLAG_NAMES = ((1, "WINDOW_SCALE"), (2, "SACK_PERM"), (4, "CLOSE_INIT"), (8, "BE_LIBERAL"),
                   (16, "DATA_UNACKNOWLEDGED"), (32, "MAXACK_SET"))


class TupleNotFound(SwitchError):
    """A flush by complete tuple matched no connection (dpctl: "failed to flush
    conntrack (No such file or directory)"; the switch logs "Tuple not found")."""

    errno = 2


def format_addr(addr: int, v6: bool) -> str:
    if v6:
        return format_ipv6(addr)
    return f"{addr >> 24}.{addr >> 16 & 0xFF}.{addr >> 8 & 0xFF}.{addr & 0xFF}"


def format_proto(proto: int) -> str:
    return _PROTO_NAMES.get(proto) or str(proto)


def format_tuple(key: tuple[int, ...]) -> str:
    """``src=A,dst=B,sport=P,dport=Q`` or, for ICMP/ICMPv6, ``...,id=I,type=T,code=C``."""
    v6 = bool(key[1] & V6)
    proto = key[1] & 0xFF
    text = f"src={format_addr(key[2], v6)},dst={format_addr(key[4], v6)}"
    if proto == 1 or proto == 58:
        sport = key[3]
        return f"{text},id={sport & 0xFFFF},type={sport >> 16 & 0xFF},code={sport >> 24 & 0xFF}"
    return f"{text},sport={key[3]},dport={key[5]}"


def _tcp_state(st: int) -> str:
    return TCP_STATE_NAMES[st] if 0 <= st < len(TCP_STATE_NAMES) else f"[{st}]"


def _tcp_flags(flags: int) -> str:
    names = [name for bit, name in _TCP_FLAG_NAMES if flags & bit]
    return "|".join(names) if names else "0"


def coalesced_tcp_state(conn: TcpConn) -> int:
    """The one state a non-verbose dump shows: the larger, FIN_WAIT_2 as TIME_WAIT."""
    st = max(conn.st0, conn.st1)
    if st == FIN_WAIT_2:
        return TIME_WAIT
    if st == SYN_RECV:
        return 4
    return st


def format_conn(conn: Conn, verbose: bool = False, stats: bool = False, now: float = 0.0) -> str:
    """One ``dpctl/dump-conntrack`` line (``-m`` = verbose, ``-s`` = stats)."""
    fwd = conn.fwd
    parts = [format_proto(fwd[1] & 0xFF), ",orig=(", format_tuple(fwd), "),reply=(",
             format_tuple(conn.rev), ")"]
    if verbose:
        parts.append(",id=0")
    if fwd[0]:
        parts.append(f",zone={fwd[0]}")
    if verbose:
        parts.append(",status=0")
    if stats:
        ms = round((conn.exp - now) * 1000)
        parts.append(f",timeout={ms // 1000 if ms > 0 else 0}")
    if conn.mark:
        parts.append(f",mark={conn.mark}")
    if conn.label:
        parts.append(f",labels=0x{conn.label:x}")
    if isinstance(conn, TcpConn):
        if verbose:
            st0, st1, ws0, ws1, f0, f1 = conn.protoinfo()
            scale = f",wscale_orig={ws0},wscale_reply={ws1}" if ws0 or ws1 else ""
            parts.append(
                f",protoinfo=(state_orig={_tcp_state(st0)},state_reply={_tcp_state(st1)}"
                f"{scale},flags_orig={_tcp_flags(f0)},flags_reply={_tcp_flags(f1)})"
            )
        else:
            parts.append(f",protoinfo=(state={_tcp_state(coalesced_tcp_state(conn))})")
    info = conn.alg
    if info is not None:
        if info.helper:
            parts.append(f",helper={info.helper}")
        if verbose and info.related and info.parent is not None:
            parts.append(f",parent=({format_tuple(info.parent)})")
    return "".join(parts)


def format_expectation(exp: Expectation) -> str:
    """One ``dpctl/dump-conntrack-exp`` line."""
    key = exp.key
    parts = [format_proto(key[1] & 0xFF), ",orig=(", format_tuple(key), ")"]
    if key[0]:
        parts.append(f",zone={key[0]}")
    if exp.mark:
        parts.append(f",mark={exp.mark}")
    if exp.label:
        parts.append(f",labels=0x{exp.label:x}")
    parts.append(f",parent=({format_tuple(exp.parent)})")
    return "".join(parts)


# ---------------------------------------------------------------- flush tuples
@dataclass
class CtTuple:
    """One direction of a flush request (OVS ``ofp_ct_tuple``); None = not given."""

    src: int | None = None
    dst: int | None = None
    sport: int = 0
    dport: int = 0
    icmp_id: int = 0
    icmp_type: int = 0
    icmp_code: int = 0

    def is_zero(self, proto: int) -> bool:
        zero = self.src is None and self.dst is None
        if proto not in (1, 58):
            zero = zero and not self.sport and not self.dport
        return zero

    def is_five_tuple(self, proto: int) -> bool:
        full = self.src is not None and self.dst is not None
        if proto not in (1, 58):
            full = full and bool(self.sport) and bool(self.dport)
        return full


@dataclass
class CtMatch:
    """What ``flush-conntrack``/``ct-flush`` select (OVS ``ofp_ct_match``).

    ``l3`` is 0 (any), 4 or 6; ``proto`` 0 means any.  Masks of 0 mean "not given".
    """

    l3: int = 0
    proto: int = 0
    orig: CtTuple = field(default_factory=CtTuple)
    reply: CtTuple = field(default_factory=CtTuple)
    mark: int = 0
    mark_mask: int = 0
    labels: int = 0
    labels_mask: int = 0

    def is_zero(self) -> bool:
        return (not self.proto and not self.l3 and self.orig.is_zero(self.proto)
                and self.reply.is_zero(self.proto) and not self.mark_mask
                and not self.labels_mask)

    def is_five_tuple(self) -> bool:
        return (self.orig.is_five_tuple(self.proto) and self.reply.is_zero(self.proto)
                and not self.mark_mask and not self.labels_mask)

    def key(self, zone: int) -> tuple[int, ...] | None:
        """The connection key of a complete orig tuple (None: ICMP type without reply)."""
        o = self.orig
        l3p = self.proto | (V6 if self.l3 == 6 else 0)
        assert o.src is not None and o.dst is not None
        if self.proto in (1, 58):
            rtype = (ICMP6_REVERSE if self.proto == 58 else ICMP4_REVERSE).get(o.icmp_type)
            if rtype is None:
                return None
            sport = o.icmp_id | o.icmp_type << 16 | o.icmp_code << 24
            dport = o.icmp_id | rtype << 16 | o.icmp_code << 24
            return (zone, l3p, o.src, sport, o.dst, dport)
        return (zone, l3p, o.src, o.sport, o.dst, o.dport)

    def matches(self, conn: Conn) -> bool:
        """Every given field equals the entry's (mark/labels under mask)."""
        fwd = conn.fwd
        if self.l3 and self.l3 != (6 if fwd[1] & V6 else 4):
            return False
        if self.proto and self.proto != fwd[1] & 0xFF:
            return False
        if not self._tuple_ok(self.orig, fwd) or not self._tuple_ok(self.reply, conn.rev):
            return False
        if (self.mark & self.mark_mask) != (conn.mark & self.mark_mask):
            return False
        return (self.labels & self.labels_mask) == (conn.label & self.labels_mask)

    def _tuple_ok(self, t: CtTuple, key: tuple[int, ...]) -> bool:
        if t.src is not None and t.src != key[2]:
            return False
        if t.dst is not None and t.dst != key[4]:
            return False
        if self.proto in (1, 58):
            sport = key[3]
            return (t.icmp_id == sport & 0xFFFF and t.icmp_type == sport >> 16 & 0xFF
                    and t.icmp_code == sport >> 24 & 0xFF)
        if t.sport and t.sport != key[3]:
            return False
        return not (t.dport and t.dport != key[5])


# ---------------------------------------------------------------- the mixin
class ConntrackOps:
    """Operator functions of :class:`~pyvswitch.conntrack.tracker.Conntrack`."""

    _conns: dict[tuple[int, ...], Conn]
    n_conns: int
    maxconns: int
    tcp_seq_chk: bool
    sweep_interval: float
    limits: ZoneLimits
    exps: Expectations
    #: set while zone limits come from the configuration database (dpctl may not change them)
    zone_limits_protected: bool = False

    def _clean(self, conn: Conn) -> None:  # provided by Conntrack
        raise NotImplementedError

    def shadowed(self) -> list[Conn]:  # provided by Conntrack
        raise NotImplementedError

    # -- dumps
    def dump(self, zone: int | None = None, *, now: float) -> list[Conn]:
        """Live connections (of ``zone`` if given), each once."""
        out = [c for k, c in self._conns.items()
               if k == c.fwd and now < c.exp and (zone is None or k[0] == zone)]
        for c in self.shadowed():
            # one that lost its FWD key to a newer connection is still there
            if self._conns.get(c.fwd) is not c and now < c.exp and (
                    zone is None or c.fwd[0] == zone):
                out.append(c)
        return out

    def format_conn(self, conn: Conn, verbose: bool = False, stats: bool = False,
                    now: float = 0.0) -> str:
        return format_conn(conn, verbose, stats, now)

    def dump_conntrack(self, zone: int | None = None, verbose: bool = False,
                       stats: bool = False, *, now: float) -> list[str]:
        """The lines of ``dpctl/dump-conntrack [-m] [-s] [zone=N]``."""
        return [format_conn(c, verbose, stats, now) for c in self.dump(zone, now=now)]

    def dump_expectations(self, zone: int | None = None) -> list[str]:
        """The lines of ``dpctl/dump-conntrack-exp [zone=N]``."""
        return [format_expectation(e) for e in self.exps.dump(zone)]

    # -- flush
    def flush(self, zone: int | None = None, orig_tuple: CtTuple | None = None,
              reply_tuple: CtTuple | None = None, mark: tuple[int, int] | None = None,
              labels: tuple[int, int] | None = None, *, l3: int = 0, proto: int = 0,
              now: float) -> int:
        """Remove connections; returns how many.  Raises TupleNotFound (see the class).

        No criteria: everything (or the whole ``zone``).  A complete orig tuple alone is a
        direct lookup matching either direction, in ``zone`` (default 0).  Otherwise every
        live connection (of ``zone`` if given) whose fields equal all given ones.
        """
        match = CtMatch(l3, proto, orig_tuple or CtTuple(), reply_tuple or CtTuple())
        if mark is not None:
            match.mark, match.mark_mask = mark
        if labels is not None:
            match.labels, match.labels_mask = labels
        return self.flush_match(zone, match, now=now)

    def flush_match(self, zone: int | None, match: CtMatch, *, now: float) -> int:
        if match.is_zero():
            victims = [c for k, c in self._conns.items()
                       if k == c.fwd and (zone is None or k[0] == zone)]
            victims += [c for c in self.shadowed() if self._conns.get(c.fwd) is not c
                        and (zone is None or c.fwd[0] == zone)]
        elif match.is_five_tuple():
            key = match.key(zone or 0)
            conn = self._conns.get(key) if key is not None else None
            if conn is None or not now < conn.exp:
                raise TupleNotFound("Tuple not found")
            victims = [conn]
        else:
            victims = [c for c in self.dump(zone, now=now) if match.matches(c)]
        for conn in victims:
            self._clean(conn)
        return len(victims)

    # -- statistics
    def format_stats(self, zone: int | None = None, verbose: bool = False, *,
                     now: float) -> str:
        """The text of ``dpctl/ct-stats-show [-m] [zone=N]``."""
        total = 0
        per_proto: dict[str, int] = {}
        tcp_states = [0] * len(TCP_STATE_NAMES)
        for conn in self.dump(zone, now=now):
            total += 1
            proto = conn.fwd[1] & 0xFF
            name = {6: "TCP", 17: "UDP", 136: "UDPLITE", 132: "SCTP", 1: "ICMP",
                    58: "ICMPV6", 33: "DCCP", 2: "IGMP"}.get(proto, "Other")
            per_proto[name] = per_proto.get(name, 0) + 1
            if isinstance(conn, TcpConn):
                tcp_states[coalesced_tcp_state(conn)] += 1
        lines = ["Connections Stats:", f"    Total: {total}"]
        if per_proto.get("TCP"):
            lines.append(f"  TCP: {per_proto['TCP']}")
            if verbose:
                lines.append("    Conn per TCP states:")
                for st, n in enumerate(tcp_states):
                    if n:
                        lines.append(f"\t  [{TCP_STATE_NAMES[st]}]={n}")
        # ICMPv6 is counted but, as in OVS, never printed.
        for name, label in (("UDP", "UDP"), ("UDPLITE", "UDPLITE"), ("SCTP", "SCTP"),
                            ("ICMP", "ICMP"), ("DCCP", "DCCP"), ("IGMP", "IGMP"),
                            ("Other", "Other")):
            if per_proto.get(name):
                lines.append(f"  {label}: {per_proto[name]}")
        return "\n".join(lines) + "\n"

    # -- global settings
    def set_maxconns(self, n: int) -> None:
        self.maxconns = n & 0xFFFFFFFF

    def get_maxconns(self) -> int:
        return self.maxconns

    def get_nconns(self) -> int:
        """Connections in the table, including expired ones not yet swept."""
        return self.n_conns

    def set_tcp_seq_chk(self, enabled: bool) -> None:
        self.tcp_seq_chk = enabled

    def get_tcp_seq_chk(self) -> bool:
        return self.tcp_seq_chk

    def set_sweep_interval(self, ms: int) -> None:
        self.sweep_interval = ms / 1000.0

    def get_sweep_interval(self) -> int:
        return round(self.sweep_interval * 1000)

    # -- zone limits
    def set_limits(self, default: int | None = None,
                   zones: dict[int, int] | None = None) -> None:
        """``ct-set-limits``: the default (0 deletes it) first, then each zone's limit."""
        if default is not None:
            self.limits.set_default(default)
        for zone, limit in (zones or {}).items():
            self.limits.set_zone(zone, limit)

    def del_limits(self, zones: list[int] | tuple[int, ...] = (), default: bool = False) -> None:
        """``ct-del-limits``: drop the default and/or the given zones' explicit limits."""
        if default:
            self.limits.del_default()
        for zone in zones:
            self.limits.del_zone(zone)

    def get_limits(self, zones: list[int] | None = None) -> list[tuple[int, int, int]]:
        """``(zone, limit, count)`` of the given zones, or of every explicit one."""
        if zones is None:
            zones = self.limits.explicit_zones()
        return [(z, *self.limits.get(z)[1:]) for z in zones]

    def format_limits(self, zones: list[int] | None = None) -> str:
        """The text of ``ct-get-limits [zone=Z[,Z...]]`` (ends with a newline)."""
        lines = [f"default limit={self.limits.default}"]
        lines += [f"zone={z},limit={lim},count={n}" for z, lim, n in self.get_limits(zones)]
        return "\n".join(lines) + "\n"
