"""Fixtures for the ovs-ofctl interop tests (no tests here).

* :class:`Pyvs`: pyvswitchd in private directories with bridge ``br0`` (datapath type
  dummy: every port, LOCAL included, is an in-memory port) and dummy ports p1..p3 on
  OpenFlow ports 1..3; stopped by pid.
* :class:`RealOvs`: a private Open vSwitch 3.1 (``ovsdb-server`` + ``ovs-vswitchd
  --enable-dummy=override``) with the same bridge, for differential checks; stopped
  by pid, never touching a system instance.
* :func:`ofctl`: the real ``ovs-ofctl`` against either (its own unixctl socket goes to
  the private run directory).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pyvswitch.daemon.runner import SwitchProcess

OVS_OFCTL = shutil.which("ovs-ofctl") or "/usr/bin/ovs-ofctl"
OVS_VSWITCHD = shutil.which("ovs-vswitchd") or "/usr/sbin/ovs-vswitchd"
OVSDB_SERVER = shutil.which("ovsdb-server") or "/usr/sbin/ovsdb-server"
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"

PORTS = ("p1", "p2", "p3")


class Target:
    """Something ``ovs-ofctl`` can talk to: a socket target and a run directory."""

    target: str
    rundir: str

    def ofctl(self, *args: str, input: str | None = None, check: bool = True,
              timeout: float = 30) -> subprocess.CompletedProcess:
        return ofctl(self, *args, input=input, check=check, timeout=timeout)


def _sub(args: list[str], target: str) -> list[str]:
    return [target if a == "BR" else a for a in args]


def ofctl(t: Target, *args: str, input: str | None = None, check: bool = True,
          timeout: float = 30) -> subprocess.CompletedProcess:
    """Run the real ovs-ofctl; the word ``BR`` in ``args`` stands for the switch."""
    env = dict(os.environ, OVS_RUNDIR=t.rundir, OVS_LOGDIR=t.rundir)
    r = subprocess.run([OVS_OFCTL, *_sub(list(args), t.target)], env=env, input=input,
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"ovs-ofctl {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r


class Pyvs(Target):
    def __init__(self, workdir: Path) -> None:
        self.proc = SwitchProcess(str(workdir))
        self.rundir = self.proc.paths.rundir
        self.target = f"unix:{self.rundir}/br0.mgmt"

    def start(self) -> None:
        self.proc.start()
        cmd = ["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy"]
        for i, p in enumerate(PORTS, 1):
            cmd += ["--", "add-port", "br0", p, "--", "set", "interface", p, "type=dummy",
                    f"ofport_request={i}"]
        self.proc.vsctl(*cmd)
        wait_for(lambda: os.path.exists(f"{self.rundir}/br0.mgmt"))

    def stop(self) -> None:
        self.proc.stop()

    def pyvs_ofctl(self, *args: str, input: str | None = None,
                   check: bool = True) -> subprocess.CompletedProcess:
        return self.proc.run("pyvs-ofctl", *_sub(list(args), "br0"), input=input,
                             check=check)

    def reset(self) -> None:
        """Back to one NORMAL flow and no groups."""
        self.ofctl("del-flows", "BR")
        self.ofctl("-O", "OpenFlow13", "del-groups", "BR")
        self.ofctl("-O", "OpenFlow13", "add-flow", "BR", "priority=0,actions=NORMAL")


class RealOvs(Target):
    def __init__(self, base: Path) -> None:
        self.base = base
        self.rundir = str(base)
        self.target = f"unix:{base}/br0.mgmt"
        self.env = dict(os.environ, OVS_RUNDIR=str(base), OVS_DBDIR=str(base),
                        OVS_LOGDIR=str(base), OVS_SYSCONFDIR=str(base))
        self.db = f"unix:{base}/db.sock"
        self.pids: list[int] = []

    def _run(self, *args: str) -> str:
        r = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=30)
        if r.returncode:
            raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def start(self) -> None:
        b = self.base
        self._run("ovsdb-tool", "create", f"{b}/conf.db", SCHEMA)
        self._run(OVSDB_SERVER, f"{b}/conf.db", f"--remote=punix:{b}/db.sock",
                  f"--pidfile={b}/ovsdb-server.pid", "--detach", "--no-chdir",
                  f"--log-file={b}/ovsdb-server.log")
        self.pids.append(int((b / "ovsdb-server.pid").read_text()))
        self._run("ovs-vsctl", f"--db={self.db}", "--no-wait", "init")
        self._run(OVS_VSWITCHD, self.db, "--enable-dummy=override",
                  f"--pidfile={b}/ovs-vswitchd.pid", "--detach", "--no-chdir",
                  f"--log-file={b}/ovs-vswitchd.log")
        self.pids.append(int((b / "ovs-vswitchd.pid").read_text()))
        cmd = ["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy"]
        for i, p in enumerate(PORTS, 1):
            cmd += ["--", "add-port", "br0", p, "--", "set", "interface", p, "type=dummy",
                    f"ofport_request={i}"]
        self._run("ovs-vsctl", f"--db={self.db}", *cmd)
        wait_for(lambda: os.path.exists(f"{b}/br0.mgmt"))

    def stop(self) -> None:
        for pid in reversed(self.pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(200):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.02)
        self.pids.clear()

    def reset(self) -> None:
        self.ofctl("del-flows", "BR")
        self.ofctl("-O", "OpenFlow13", "del-groups", "BR")
        self.ofctl("-O", "OpenFlow13", "add-flow", "BR", "priority=0,actions=NORMAL")


def wait_for(cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


_STATS = re.compile(r"(duration|idle_age|hard_age)=[0-9.]+s?(, )?")


def no_times(text: str) -> str:
    """Drop the time-dependent parts of dump output."""
    return _STATS.sub("", text)


def flow_lines(text: str) -> list[str]:
    """The flow lines of a dump (reply headers dropped), sorted."""
    return sorted(line for line in text.splitlines() if line.startswith(" "))


@pytest.fixture(scope="module")
def pyvs(tmp_path_factory):
    sw = Pyvs(tmp_path_factory.mktemp("pyvs"))
    sw.start()
    try:
        yield sw
    finally:
        sw.stop()


@pytest.fixture(scope="module")
def realovs(tmp_path_factory):
    ovs = RealOvs(tmp_path_factory.mktemp("ovs"))
    try:
        ovs.start()
        yield ovs
    finally:
        ovs.stop()
