"""The control commands of pyvswitchd that are not about flows, conntrack or config.

Layer: daemon (imports ``control.commands``, ``coverage``, ``daemon.*``).

:func:`register_all` fills the daemon's one :class:`~pyvswitch.control.commands.CommandTable`
(which the real ``ovs-appctl -t …/pyvswitchd.ctl`` and ``pyvs-appctl`` both reach) from
this module and its siblings: ``cmd_dpctl`` (datapath and conntrack), ``cmd_trace``
(``ofproto/trace``, ``netdev-dummy/receive``), ``cmd_ofctl`` and ``cmd_vsctl`` (the
hidden methods behind ``pyvs-ofctl`` and ``pyvs-vsctl``).  Outputs and error texts are
OVS's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvswitch import coverage
from pyvswitch.control.commands import CommandError
from pyvswitch.daemon.vlog import VlogError
from pyvswitch.errors import SwitchError

if TYPE_CHECKING:
    from pyvswitch.daemon.loop import Daemon

__all__ = ["find_bridge", "register_all"]

_MANY = 2**31 - 1


def find_bridge(d: Daemon, name: str, error: str = "no such bridge") -> Any:
    """The switch's bridge ``name``, or CommandError with ``error``."""
    br = d.switch.bridges.get(name)
    if br is None:
        raise CommandError(error)
    return br


def register_all(d: Daemon) -> None:
    from pyvswitch.daemon import cmd_dpctl, cmd_ofctl, cmd_trace, cmd_vsctl

    _register_basic(d)
    cmd_dpctl.register(d)
    cmd_trace.register(d)
    cmd_ofctl.register(d)
    cmd_vsctl.register(d)
    for cmd in list(d.table):
        d.table.unregister(cmd.name)
        d.table.register(cmd.name, cmd.usage, cmd.min_args, cmd.max_args,
                         _guard(d, cmd.name, cmd.handler))


def _guard(d: Daemon, name: str, handler: Any) -> Any:
    """A bug in a handler must not leave the client waiting: log it, answer an error."""

    def run(args: list[str]) -> Any:
        try:
            return handler(args)
        except SwitchError:
            raise
        except Exception as exc:
            d._bug(f"command {name}")
            raise CommandError(f"{name}: internal error ({type(exc).__name__}: {exc})") from None

    return run


def _register_basic(d: Daemon) -> None:
    t = d.table

    def exit_(args: list[str]) -> None:
        if args and args[0] != "--cleanup":
            raise CommandError(f'"exit" command has unknown option "{args[0]}"')
        d.exiting = True

    def vlog_set(args: list[str]) -> None:
        try:
            for spec in args:
                d.vlog.set_spec(spec)
        except VlogError as exc:
            raise CommandError(str(exc)) from None

    def vlog_reopen(args: list[str]) -> None:
        if d.vlog.log_path is None:
            raise CommandError("Logging to file not configured")
        try:
            d.vlog.reopen()
        except VlogError as exc:
            raise CommandError(str(exc)) from None

    def vlog_close(args: list[str]) -> None:
        d.vlog.close_file()

    def memory_show(args: list[str]) -> str:
        sw = d.switch
        n_rules = 0
        for br in sw.bridges.values():
            n_rules += br.ofproto.n_flows
        n_ports = sum(1 for _ in d.ports)
        n_conns = sw.conntrack.get_nconns() if hasattr(sw.conntrack, "get_nconns") else 0
        n_flows = sw.datapath.n_flows() if hasattr(sw.datapath, "n_flows") else 0
        return (f"conntrack:{n_conns} ports:{n_ports} rules:{n_rules} "
                f"udpif keys:{n_flows}\n")

    def ofproto_list(args: list[str]) -> str:
        return "".join(f"{name}\n" for name in sorted(d.switch.bridges))

    def fdb_show(args: list[str]) -> str:
        return find_bridge(d, args[0]).fdb_show()

    def fdb_flush(args: list[str]) -> str:
        if args:
            find_bridge(d, args[0]).fdb_flush()
        else:
            for br in d.switch.bridges.values():
                br.fdb_flush()
        return "table successfully flushed\n"

    t.register("exit", "[--cleanup]", 0, 1, exit_)
    t.register("vlog/set", "{spec | PATTERN:destination:pattern}", 0, _MANY, vlog_set)
    t.register("vlog/list", "", 0, 0, lambda args: d.vlog.format_list())
    t.register("vlog/reopen", "", 0, 0, vlog_reopen)
    t.register("vlog/close", "", 0, 0, vlog_close)
    t.register("coverage/show", "", 0, 0, lambda args: coverage.format_show())
    t.register("memory/show", "", 0, 0, memory_show)
    t.register("ofproto/list", "", 0, 0, ofproto_list)
    t.register("fdb/show", "bridge", 1, 1, fdb_show)
    t.register("fdb/flush", "[bridge]", 0, 1, fdb_flush)
