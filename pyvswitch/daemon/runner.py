"""Run pyvswitchd as a child process and drive it with the CLIs.

Layer: daemon (imports ``daemon.paths``; starts processes, reads the clock).

Used by the demo, the system tests and the benchmark driver: a daemon with its own run,
config and log directories (so it never meets a system-wide instance), optionally
inside a network namespace (``ip netns exec``), stopped by its pid.  Commands go
through the real command-line tools, exactly as a user types them.

    with SwitchProcess(workdir, netns="pv1234-sw") as sw:
        sw.vsctl("add-br", "br0")
        print(sw.ofctl("dump-flows", "br0"))
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from pyvswitch.daemon.paths import Paths

__all__ = ["CommandFailed", "SwitchProcess"]

_TOOLS = {
    "pyvswitchd": "pyvswitch.daemon.main",
    "pyvs-vsctl": "pyvswitch.cli.vsctl",
    "pyvs-ofctl": "pyvswitch.cli.ofctl",
    "pyvs-appctl": "pyvswitch.cli.appctl",
}


class CommandFailed(RuntimeError):
    """A CLI exited with a non-zero status; ``stderr`` holds its one-line message."""

    def __init__(self, argv: Sequence[str], status: int, stdout: str, stderr: str) -> None:
        super().__init__(f"{' '.join(argv)}: exit {status}: {stderr.strip()}")
        self.status = status
        self.stdout = stdout
        self.stderr = stderr


class SwitchProcess:
    """One pyvswitchd with private directories under ``workdir``."""

    def __init__(self, workdir: str, netns: str | None = None,
                 extra_args: Sequence[str] = ("--log-file",)) -> None:
        self.workdir = os.path.abspath(workdir)
        self.paths = Paths(os.path.join(self.workdir, "run"), os.path.join(self.workdir, "db"),
                           os.path.join(self.workdir, "log"))
        self.netns = netns
        self.extra_args = list(extra_args)
        self.proc: subprocess.Popen | None = None
        for d in (self.paths.rundir, self.paths.dbdir, self.paths.logdir):
            os.makedirs(d, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(PYVS_RUNDIR=self.paths.rundir, PYVS_DBDIR=self.paths.dbdir,
                   PYVS_LOGDIR=self.paths.logdir)
        return env

    def argv(self, tool: str, *args: str) -> list[str]:
        """The command line for one of the four programs (run by module, so the
        tools of this source tree are used even when not installed)."""
        return [sys.executable, "-m", _TOOLS[tool], *args]

    # ------------------------------------------------------------------ life cycle
    def start(self, timeout: float = 20.0) -> None:
        argv = self.argv("pyvswitchd", *self.extra_args)
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns, *argv]
        self.proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise RuntimeError(f"pyvswitchd exited with status {self.proc.returncode}: "
                                   f"{err.strip()}")
            if os.path.exists(self.paths.ctl):
                with contextlib.suppress(CommandFailed, subprocess.TimeoutExpired):
                    self.appctl("version", timeout=5)
                    return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"pyvswitchd did not open {self.paths.ctl} in {timeout} s")

    def stop(self, timeout: float = 10.0) -> int | None:
        """``exit`` over the control socket, then SIGTERM, then SIGKILL; the status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(CommandFailed, subprocess.TimeoutExpired):
                self.appctl("exit", timeout=5)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        status = self.proc.returncode
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None
        return status

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the daemon (and anything it started) by process group."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)

    def __enter__(self) -> SwitchProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ commands
    def run(self, tool: str, *args: str, input: str | None = None, timeout: float = 30,
            check: bool = True) -> subprocess.CompletedProcess:
        argv = self.argv(tool, *args)
        r = subprocess.run(argv, env=self.env, input=input, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise CommandFailed([tool, *args], r.returncode, r.stdout, r.stderr)
        return r

    def vsctl(self, *args: str, **kw: object) -> str:
        return self.run("pyvs-vsctl", *args, **kw).stdout  # type: ignore[arg-type]

    def ofctl(self, *args: str, **kw: object) -> str:
        return self.run("pyvs-ofctl", *args, **kw).stdout  # type: ignore[arg-type]

    def appctl(self, *args: str, **kw: object) -> str:
        return self.run("pyvs-appctl", *args, **kw).stdout  # type: ignore[arg-type]

    def log_text(self) -> str:
        try:
            with open(self.paths.log, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""
