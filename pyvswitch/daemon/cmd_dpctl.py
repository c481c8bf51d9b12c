"""``dpctl/*``: the datapath and its connection tracker, as ``ovs-appctl dpctl/...``.

Layer: daemon (imports ``conntrack.dpctl``, ``conntrack.ops``, ``control.commands``).

The datapath name handling follows OVS's ``lib/dpctl.c``: an optional datapath name
first (``ovs-netdev`` or ``netdev@ovs-netdev``; with the maximum number of arguments
and no valid name the command fails with "datapath not found").  The conntrack
commands' arguments and texts are :mod:`pyvswitch.conntrack.dpctl`'s; this module words
their failures as ``dpctl_error`` does: ``pyvswitchd: <what> (<errno text>)``.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Any

from pyvswitch.conntrack import dpctl as ctl
from pyvswitch.conntrack.ops import TupleNotFound
from pyvswitch.control.commands import CommandError
from pyvswitch.daemon.dpctl_filter import DumpSelection
from pyvswitch.errors import ParseError

if TYPE_CHECKING:
    from pyvswitch.daemon.loop import Daemon

__all__ = ["register"]

PROGRAM = "pyvswitchd"
_MANY = 2**31 - 1


def dpctl_error(err: int, msg: str) -> CommandError:
    return CommandError(f"{PROGRAM}: {msg} ({os.strerror(err)})")


def _dp_names(d: Daemon) -> set[str]:
    dp = d.switch.datapath
    name = getattr(dp, "name", "ovs-netdev")
    kind = getattr(dp, "dp_type", "netdev")
    return {name, f"{kind}@{name}"}


def _dp_arg(d: Daemon, args: list[str], max_args: int) -> list[str]:
    """Strip an optional datapath name (OVS ``opt_dpif_open``); ``max_args`` counts
    the command name, as in C."""
    if args and args[0] in _dp_names(d):
        return args[1:]
    if len(args) + 1 == max_args:
        raise dpctl_error(errno.EINVAL, "datapath not found")
    return args


def register(d: Daemon) -> None:
    t = d.table
    ct = d.switch.conntrack

    def flags(args: list[str]) -> tuple[set[str], list[str]]:
        seen: set[str] = set()
        rest = []
        for a in args:
            if a.startswith("-") and len(a) > 1:
                if a not in ("-m", "--more", "-s", "--statistics", "--names", "--no-names"):
                    raise CommandError(f"Unrecognized option {a}")
                seen.add({"--more": "-m", "--statistics": "-s"}.get(a, a))
            else:
                rest.append(a)
        return seen, rest

    def show(args: list[str]) -> str:
        f, rest = flags(args)
        for name in rest:
            if name not in _dp_names(d):
                raise dpctl_error(errno.ENODEV, f"opening datapath {name} failed")
        return _format_show(d, "-s" in f)

    def dump_flows(args: list[str]) -> str:
        f, rest = flags(args)
        sel = DumpSelection.take(rest)
        rest = _dp_arg(d, rest, 3)
        if rest:
            raise dpctl_error(errno.EINVAL, "datapath not found")
        verbose = "-m" in f
        names = verbose if "--names" not in f and "--no-names" not in f else "--names" in f
        dp = d.switch.datapath
        if sel.trivial:
            return dp.format_flows(verbose=verbose, names=names, now=d.clock())
        return sel.format(dp, verbose=verbose, names=names, now=d.clock())

    def del_flows(args: list[str]) -> None:
        _dp_arg(d, args, 3)
        d.switch.datapath.flow_flush()

    def guarded(fn: Any) -> Any:
        """Run a conntrack command; word its failures as dpctl_error does."""
        def run(args: list[str]) -> str:
            try:
                return fn(args)
            except ParseError as exc:
                code = errno.EPERM if type(exc).__name__ == "ZonesProtected" else errno.EINVAL
                raise dpctl_error(code, exc.msg) from None
            except TupleNotFound:
                raise dpctl_error(errno.ENOENT, "failed to flush conntrack") from None
        return run

    def dump_conntrack(args: list[str]) -> str:
        f, rest = flags(args)
        last = rest[-1] if rest else ""
        ok = last.startswith("zone=") and last[5:].isdigit() and int(last[5:]) <= 0xFFFF
        zone_args = [last] if ok else []
        if zone_args:
            rest = rest[:-1]
        if _dp_arg(d, rest, 2):
            raise dpctl_error(errno.EINVAL, "datapath not found")
        return ctl.dump_conntrack(ct, zone_args, "-m" in f, "-s" in f, now=d.clock())

    def flush_conntrack(args: list[str]) -> str:
        if args and args[0] in _dp_names(d):
            args = args[1:]
        return ctl.flush_conntrack(ct, args, now=d.clock())

    def ct_stats_show(args: list[str]) -> str:
        f, rest = flags(args)
        rest = [a for a in rest if a not in _dp_names(d)]
        return ctl.ct_stats_show(ct, rest, "-m" in f, now=d.clock())

    def set_maxconns(args: list[str]) -> str:
        return ctl.ct_set_maxconns(ct, _dp_arg(d, args, 3))

    def get_maxconns(args: list[str]) -> str:
        _dp_arg(d, args, 2)
        return ctl.ct_get_maxconns(ct)

    def get_nconns(args: list[str]) -> str:
        _dp_arg(d, args, 2)
        return ctl.ct_get_nconns(ct)

    def set_limits(args: list[str]) -> str:
        return ctl.ct_set_limits(ct, args[1:] if args and args[0] in _dp_names(d) else args)

    def get_limits(args: list[str]) -> str:
        return ctl.ct_get_limits(ct, _dp_arg(d, args, 3))

    def del_limits(args: list[str]) -> str:
        return ctl.ct_del_limits(ct, args[1:] if args and args[0] in _dp_names(d) else args)

    def ipf_status(args: list[str]) -> str:
        f, rest = flags(args)
        _dp_arg(d, rest, 2)
        return ct.ipf.format_status("-m" in f)

    def tcp_seq(on: bool) -> Any:
        def run(args: list[str]) -> str:
            _dp_arg(d, args, 2)
            return ctl.ct_set_tcp_seq_chk(ct, on)
        return run

    def get_tcp_seq(args: list[str]) -> str:
        _dp_arg(d, args, 2)
        return ctl.ct_get_tcp_seq_chk(ct)

    def dump_exp(args: list[str]) -> str:
        zone_args = [a for a in args if a.startswith("zone=")]
        return ctl.dump_conntrack_exp(ct, zone_args)

    for name, usage, lo, hi, fn in (
        ("dpctl/show", "[-s] [dp...]", 0, _MANY, show),
        ("dpctl/dump-flows", "[-m] [--names] [dp] [filter=..] [type=..] [pmd=..]", 0, 6,
         dump_flows),
        ("dpctl/del-flows", "[dp] [file]", 0, 2, del_flows),
        ("dpctl/dump-conntrack", "[-m] [-s] [dp] [zone=N]", 0, 4, dump_conntrack),
        ("dpctl/flush-conntrack", "[dp] [zone=N] [ct-orig-tuple] [ct-reply-tuple]", 0, 4,
         flush_conntrack),
        ("dpctl/dump-conntrack-exp", "[dp] [zone=N]", 0, 2, dump_exp),
        ("dpctl/ct-stats-show", "[dp] [zone=N]", 0, 3, ct_stats_show),
        ("dpctl/ct-set-maxconns", "[dp] maxconns", 1, 2, set_maxconns),
        ("dpctl/ct-get-maxconns", "[dp]", 0, 1, get_maxconns),
        ("dpctl/ct-get-nconns", "[dp]", 0, 1, get_nconns),
        ("dpctl/ct-set-limits", "[dp] [default=L] [zone=N,limit=L]...", 0, _MANY, set_limits),
        ("dpctl/ct-get-limits", "[dp] [zone=N1[,N2]...]", 0, 2, get_limits),
        ("dpctl/ct-del-limits", "[dp] zone=N1[,N2]...", 1, 2, del_limits),
        ("dpctl/ct-enable-tcp-seq-chk", "[dp]", 0, 1, tcp_seq(True)),
        ("dpctl/ct-disable-tcp-seq-chk", "[dp]", 0, 1, tcp_seq(False)),
        ("dpctl/ct-get-tcp-seq-chk", "[dp]", 0, 1, get_tcp_seq),
        ("dpctl/ipf-get-status", "[dp]", 0, 2, ipf_status),
    ):
        t.register(name, usage, lo, hi, guarded(fn))


def _format_show(d: Daemon, stats: bool) -> str:
    """``dpctl/show``: one ``port N: NAME (TYPE)`` line per port; system ports print
    no type, internal ones print ``tap`` (the userspace datapath's names)."""
    dp = d.switch.datapath
    lines = [f"{dp.dp_type}@{dp.name}:",
             f"  lookups: hit:{dp.n_hit} missed:{dp.n_missed} lost:{dp.n_lost}",
             f"  flows: {dp.n_flows()}"]
    for p in dp.ports():
        kind = {"internal": "tap", "system": ""}.get(p.type, p.type)
        lines.append(f"  port {p.port_no}: {p.name}" + (f" ({kind})" if kind else ""))
        if stats:
            st = d.ports.get(p.name) if p.port_no else None
            s = st.stats() if st is not None else None
            known = st is not None and st.type != "dummy"

            def q(v: int | None, known: bool = known) -> str:
                return str(v) if known and v is not None else "?"

            rp, rb = (s.rx_packets, s.rx_bytes) if s else (0, 0)
            tp, tb = (s.tx_packets, s.tx_bytes) if s else (0, 0)
            lines.append(f"    RX packets:{rp} errors:{q(s.rx_errors if s else None)} "
                         f"dropped:{q(s.rx_dropped if s else None)} overruns:{q(0)} "
                         f"frame:{q(0)}")
            lines.append(f"    TX packets:{tp} errors:{q(s.tx_errors if s else None)} "
                         f"dropped:{q(s.tx_dropped if s else None)} aborted:{q(0)} "
                         f"carrier:{q(0)}")
            lines.append(f"    collisions:{q(0)}")
            lines.append(f"    RX bytes:{rb}  TX bytes:{tb}")
    return "\n".join(lines) + "\n"
