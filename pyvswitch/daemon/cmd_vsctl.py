"""The hidden ``vsctl`` control method: ``pyvs-vsctl`` commands run inside the daemon.

Layer: daemon (imports ``config.vsctl``, ``control.commands``).

``pyvs-vsctl`` sends its command words (after its own global options) as the params.
The daemon parses them (``config.vsctl.parse_commands``), applies the transaction to
the running switch and stores it atomically (:meth:`Daemon.transact`), all or nothing.
Read-only transactions (``show``, ``list-br``, ``get`` ...) see the runtime status too,
so ``show`` prints the ``error`` of an interface whose device is missing and
``is_connected: true`` under a controller with a live OpenFlow connection.

The reply is JSON in the result string: ``{"outputs": [...]}`` with each command's
output, or ``{"exit": N}`` when a command ends the run with a status and no text
(``br-exists``).  Errors are ordinary error replies with ovs-vsctl's one-line text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pyvswitch import __version__
from pyvswitch.config.dbctl import format_show
from pyvswitch.config.vsctl import COMMANDS, VsctlExit, execute, parse_commands
from pyvswitch.control.commands import CommandError
from pyvswitch.errors import ConfigError

if TYPE_CHECKING:
    from pyvswitch.daemon.loop import Daemon

__all__ = ["register"]


def register(d: Daemon) -> None:
    def vsctl(args: list[str]) -> str:
        try:
            commands = parse_commands(args)
            if all(not COMMANDS[c.name].writes for c in commands):
                status = d.status_config()
                _, outputs, _ = execute(status, commands)
                connected = _connected(d)
                outputs = [format_show(status, ovs_version=__version__, connected=connected)
                           if c.name == "show"
                           else out for c, out in zip(commands, outputs)]
            else:
                outputs = d.transact(commands)
        except VsctlExit as exc:
            return json.dumps({"exit": exc.status})
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        return json.dumps({"outputs": outputs})

    d.table.register("vsctl", None, 0, 2**31 - 1, vsctl)


def _connected(d: Daemon) -> set[tuple[str, str]]:
    """(bridge, target) of the controllers with a live connection (``is_connected``)."""
    out: set[tuple[str, str]] = set()
    server = getattr(d, "openflow", None)
    for name, mgr in (getattr(server, "mgrs", None) or {}).items():
        for text, ctl in getattr(mgr, "controllers", {}).items():
            if getattr(ctl, "conn", None) is not None:
                out.add((name, text))
    return out
