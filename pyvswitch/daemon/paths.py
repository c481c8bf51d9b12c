"""Where pyvswitchd keeps its files: run dir (pidfile, sockets), config dir, log dir.

Layer: daemon (standard library only).  The CLIs import it too, so a daemon and the
tools started with the same environment always agree on the control socket.

Defaults follow INTERFACE.md: as root ``/var/run/pyvswitch``, ``/etc/pyvswitch`` and
``/var/log/pyvswitch``; as anyone else everything moves under ``$XDG_RUNTIME_DIR``
(run dir) and ``~/.local/state/pyvswitch``.  ``PYVS_RUNDIR``, ``PYVS_DBDIR`` and
``PYVS_LOGDIR`` override each one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["CTL_NAME", "PID_NAME", "LOG_NAME", "CONF_NAME", "Paths", "default_paths"]

CTL_NAME = "pyvswitchd.ctl"
PID_NAME = "pyvswitchd.pid"
LOG_NAME = "pyvswitchd.log"
CONF_NAME = "conf.json"


@dataclass(frozen=True)
class Paths:
    rundir: str
    dbdir: str
    logdir: str

    @property
    def ctl(self) -> str:
        return os.path.join(self.rundir, CTL_NAME)

    @property
    def pidfile(self) -> str:
        return os.path.join(self.rundir, PID_NAME)

    @property
    def conf(self) -> str:
        return os.path.join(self.dbdir, CONF_NAME)

    @property
    def log(self) -> str:
        return os.path.join(self.logdir, LOG_NAME)

    def mgmt(self, bridge: str) -> str:
        """The bridge's OpenFlow management socket (``<br>.mgmt``, as OVS)."""
        return os.path.join(self.rundir, f"{bridge}.mgmt")


def default_paths(environ: Mapping[str, str] | None = None, euid: int | None = None) -> Paths:
    """The three directories for this user and environment."""
    env = os.environ if environ is None else environ
    root = (os.geteuid() if euid is None else euid) == 0
    if root:
        run, db, log = "/var/run/pyvswitch", "/etc/pyvswitch", "/var/log/pyvswitch"
    else:
        home = env.get("HOME") or os.path.expanduser("~")
        state = os.path.join(home, ".local", "state", "pyvswitch")
        xdg = env.get("XDG_RUNTIME_DIR")
        run = os.path.join(xdg, "pyvswitch") if xdg else state
        db = log = state
    return Paths(
        rundir=env.get("PYVS_RUNDIR") or run,
        dbdir=env.get("PYVS_DBDIR") or db,
        logdir=env.get("PYVS_LOGDIR") or log,
    )
