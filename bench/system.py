"""System benchmarks of the one-command suite: the two-namespace topology, real traffic,
pyvswitch and real OVS 3.1 side by side.

Everything that touches the network is the shared benchmark kit, used by path and never
copied (env ``PYVS_SHARED_BENCH``, default ``../shared/bench`` next to the repository):
``bench.sh`` builds the topology (``lib/topo.sh``), starts the switch through a driver
(``sut/*.sh``), runs ``tools/runtest.py`` and tears everything down; ``cleanup.sh``
removes whatever an interrupted run left.  This module finds the drivers, checks and
installs what the runs need, plans one round (configurations interleaved, the OVS and
pyvswitch configurations of one host offload setting next to each other), runs each
configuration as one ``bench.sh`` child in its own process group (so Ctrl-C and timeouts
reach every process it started, and nothing else), and cleans up.

Our own driver is developer H's ``bench/sut/pyvswitch.sh``; until it exists the shared
kit's ``sut/pyvswitch.sh`` stands in, and if ``pyvswitchd`` is not usable the pyvswitch
configurations are skipped with a message while OVS still runs.

Not a test.  Layer: bench (stdlib only; drives shell scripts as root).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NAMESPACES = ("d-h1", "d-h2", "d-sw")
# what the shared scripts call, and the Debian package that provides it
TOOLS = {"ip": "iproute2", "ethtool": "ethtool", "ping": "iputils-ping", "iperf3": "iperf3"}
LINUXBR_TOOLS = {"nft": "nftables", "conntrack": "conntrack"}
OVS_TOOLS = ("ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "ovs-appctl")
OVS_CTL = Path("/usr/share/openvswitch/scripts/ovs-ctl")
PYVS_TOOLS = ("pyvswitchd", "pyvs-vsctl", "pyvs-ofctl", "pyvs-appctl")

FULL_TESTS = ("fwcheck", "ping", "rr", "crr1", "crr4", "tcp1", "udp64")
QUICK_TESTS = ("fwcheck", "ping", "rr", "crr1", "tcp1", "udp64")
DEFAULT_SUTS = ("ovs-netdev", "pyvswitch-nooffload", "ovs-netdev-tso", "pyvswitch")

Log = Callable[[str], None]


def shared_dir() -> Path:
    """Where the shared benchmark kit lives (not part of this repository)."""
    env = os.environ.get("PYVS_SHARED_BENCH")
    return Path(env).resolve() if env else (REPO / ".." / "shared" / "bench").resolve()


# ----------------------------------------------------------------------------- processes
@dataclass
class _Active:
    proc: subprocess.Popen | None = None


_ACTIVE = _Active()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _stop_group(proc: subprocess.Popen, grace: float) -> None:
    """SIGINT the child's whole process group (bench.sh then tears its topology down),
    SIGKILL the group if the child is still there after ``grace`` seconds; then stop
    whatever else is left in the group (a background job that ignores SIGINT, as bash's
    background jobs do).  Daemons that detached (setsid) are not in it: their drivers
    stop them."""
    pgid = proc.pid
    if proc.poll() is None:
        try:
            os.killpg(pgid, signal.SIGINT)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)
    _reap_group(pgid)


def _reap_group(pgid: int) -> None:
    """TERM, then KILL, what is left of a finished child's process group."""
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 2.0)):
        if not _group_alive(pgid):
            return
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        end = time.monotonic() + wait
        while time.monotonic() < end and _group_alive(pgid):
            time.sleep(0.05)


def stop_active(grace: float = 40.0) -> None:
    """Stop the child that is running now, if any (used on Ctrl-C / SIGTERM)."""
    proc = _ACTIVE.proc
    if proc is not None:
        _stop_group(proc, grace)


def _pump(stream, on_line: Callable[[str], None] | None) -> None:
    for line in stream:
        if on_line is not None:
            on_line(line.rstrip("\n"))


def spawn(cmd: list[str], timeout: float, on_line: Callable[[str], None] | None = None,
          env: dict[str, str] | None = None) -> int:
    """Run ``cmd`` in a new session (its own process group), pass each output line to
    ``on_line``, stop the whole group after ``timeout`` seconds.  Returns the exit status
    (negative for a signal) and raises ``subprocess.TimeoutExpired`` when the bound was
    hit.  Whatever the child leaves in its group when it ends is stopped too."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env=env, bufsize=1)
    _ACTIVE.proc = proc
    reader = threading.Thread(target=_pump, args=(proc.stdout, on_line), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    expired = False
    try:
        while True:
            try:
                proc.wait(max(0.05, min(1.0, deadline - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    expired = True
                    break
    finally:
        _stop_group(proc, 30.0)  # a no-op for the child itself when it has ended
        _ACTIVE.proc = None
    reader.join(5.0)  # a detached daemon holding the pipe must not block us
    if expired:
        raise subprocess.TimeoutExpired(cmd, timeout)
    return proc.returncode


def _sh(script: str, timeout: float = 60.0, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          timeout=timeout, env=env)


# ----------------------------------------------------------------------------- drivers
@dataclass(frozen=True)
class Driver:
    """A switch-under-test driver as ``bench.sh -s`` takes it."""

    key: str                 # what was asked for: "ovs-netdev", "pyvswitch-nooffload", ...
    path: Path
    env: tuple[tuple[str, str], ...]
    name: str                # its SUT_NAME (the label in the results)
    offload: str             # its SUT_HOST_OFFLOAD: on|off
    kind: str                # "ovs", "pyvswitch" or "reference"
    topo: str = "switch"     # its SUT_TOPO (direct = no switch at all)

    def environ(self) -> dict[str, str]:
        return {**os.environ, **dict(self.env)}

    def call(self, shared: Path, fn: str, timeout: float = 60.0) -> str:
        """Call one of the driver's shell functions (sut_pid, sut_shutdown, ...)."""
        r = _sh(f'. "{shared}/lib/topo.sh"; . "{self.path}"; {fn}', timeout, self.environ())
        return r.stdout.strip()


def _kind(name: str) -> str:
    if name.startswith("ovs"):
        return "ovs"
    if name.startswith("pyvswitch"):
        return "pyvswitch"
    return "reference"


def _driver_file(key: str, shared: Path) -> tuple[Path | None, dict[str, str]]:
    """The file (and extra environment) for a driver name or path.  pyvswitch's comes from
    the repository's ``bench/sut/`` first (developer H's), then from the shared kit."""
    p = Path(key)
    if p.suffix == ".sh" and p.is_file():
        return p.resolve(), {}
    if key.startswith("pyvswitch"):
        off = key.endswith("-nooffload")
        for d in (HERE / "sut", shared / "sut"):
            if (d / f"{key}.sh").is_file():
                return (d / f"{key}.sh").resolve(), {}
            if off and (d / "pyvswitch.sh").is_file():
                return (d / "pyvswitch.sh").resolve(), {"PYVS_HOST_OFFLOAD": "off"}
        return None, {}
    f = shared / "sut" / f"{key}.sh"
    return (f.resolve(), {}) if f.is_file() else (None, {})


def probe_driver(key: str, shared: Path, pyvs_env: dict[str, str] | None = None
                 ) -> Driver | str:
    """A usable ``Driver`` or the reason it is not.  ``pyvs_env`` (run, database and log
    directories) goes to pyvswitch's drivers, so that our daemon never meets another one."""
    path, env = _driver_file(key, shared)
    if path is not None and key.startswith("pyvswitch") and pyvs_env:
        env = {**pyvs_env, **env}
    if path is None:
        where = "bench/sut/ or the shared kit's sut/" if key.startswith("pyvswitch") else \
            f"{shared}/sut/"
        return f"{key}: no driver found in {where}"
    r = _sh(f'. "{shared}/lib/topo.sh"; . "{path}"; '
            'echo "${SUT_NAME:-?}|${SUT_HOST_OFFLOAD:-on}|${SUT_TOPO:-switch}"',
            30, {**os.environ, **env})
    if r.returncode != 0 or "|" not in r.stdout:
        return f"{key}: driver {path} does not load: {r.stderr.strip()[-200:]}"
    name, offload, topo = r.stdout.strip().splitlines()[-1].split("|")
    if key.endswith("-nooffload") and offload != "off":
        return f"{key}: driver {path} ignores PYVS_HOST_OFFLOAD=off"
    return Driver(key, path, tuple(sorted(env.items())), name, offload, _kind(name), topo)


def _alive(pid: str) -> bool:
    return pid.isdigit() and Path(f"/proc/{pid}").exists()


def _ovs_running() -> bool:
    pidfile = Path("/var/run/openvswitch/ovsdb-server.pid")
    try:
        return _alive(pidfile.read_text().strip())
    except OSError:
        return False


def _pyvswitch_ready() -> str | None:
    """None when pyvswitchd and its CLIs are usable, else why not."""
    cmd = ["pyvswitchd", "--version"]
    env = None
    if any(shutil.which(t) is None for t in PYVS_TOOLS):
        # Not installed: developer H's driver falls back to the modules of this checkout.
        if not (HERE / "sut" / "pyvswitch.sh").is_file():
            return "pyvswitchd and its CLIs are not on PATH (pip install -e .)"
        cmd = [sys.executable, "-m", "pyvswitch.daemon.main", "--version"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"pyvswitchd --version failed: {e}"
    if r.returncode != 0:
        return f"pyvswitchd --version failed: {(r.stderr or r.stdout).strip()[-200:]}"
    return None


def _apt_install(pkgs: list[str], log: Log) -> bool:
    if not pkgs:
        return True
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    log(f"installing from Debian: {' '.join(pkgs)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *pkgs]
    for attempt in range(2):
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if r.returncode == 0:
            return True
        if attempt == 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env,
                           timeout=600)
    log(f"apt-get install failed: {r.stderr.strip()[-300:]}")
    return False


def ovs_version() -> str:
    try:
        r = subprocess.run(["ovs-vswitchd", "--version"], capture_output=True, text=True,
                           timeout=20)
        return r.stdout.splitlines()[0].strip() if r.stdout else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


@dataclass
class Preflight:
    drivers: list[Driver] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # one clear message per skip
    started: list[Driver] = field(default_factory=list)  # ours to shut down at the end
    meta: dict = field(default_factory=dict)
    fatal: str | None = None                          # the whole system part cannot run


def pyvswitch_dirs(logdir: Path) -> dict[str, str]:
    """Private directories for the pyvswitchd this run starts (short paths: the control
    socket lives in the run directory); the log goes with the results."""
    base = Path(f"/tmp/d-bench-pyvs-{os.getpid()}")
    return {"PYVS_RUNDIR": str(base / "run"), "PYVS_DBDIR": str(base / "db"),
            "PYVS_LOGDIR": str(logdir)}


def preflight(keys: list[str], *, install: bool, reuse_running: bool, log: Log,
              pyvs_env: dict[str, str] | None = None) -> Preflight:
    """Check (and install, if allowed) everything the system part needs, and decide which
    drivers run.  Never starts a switch."""
    pf = Preflight()
    shared = shared_dir()
    if os.geteuid() != 0:
        pf.fatal = "system benchmarks need root (network namespaces, veths)"
        return pf
    for f in ("bench.sh", "cleanup.sh", "lib/topo.sh", "tools/runtest.py"):
        if not (shared / f).is_file():
            pf.fatal = f"shared benchmark kit incomplete: {shared / f} missing " \
                       "(set PYVS_SHARED_BENCH)"
            return pf
    left = [ns for ns in _netns_list() if ns.startswith("d-")]
    if left:
        pf.fatal = (f"namespaces {', '.join(left)} exist: another benchmark is running, or a "
                    f"run was killed -- if so, run {shared}/cleanup.sh first")
        return pf
    tools = dict(TOOLS)
    if any(k.startswith("linuxbr") for k in keys):
        tools.update(LINUXBR_TOOLS)
    if any(_kind(k) == "ovs" for k in keys) and \
            (any(shutil.which(t) is None for t in OVS_TOOLS) or not OVS_CTL.exists()):
        tools["ovs-vswitchd"] = "openvswitch-switch"
    missing = sorted({pkg for t, pkg in tools.items()
                      if t == "ovs-vswitchd" or shutil.which(t) is None})
    if missing and not (install and _apt_install(missing, log)):
        pf.fatal = f"missing tools (Debian packages {', '.join(missing)}); install them " \
                   "or run without --no-install"
        return pf
    pf.meta["ovs_version"] = ovs_version()
    pf.meta["shared_bench"] = str(shared)
    pyvs_why = _pyvswitch_ready() if any(_kind(k) == "pyvswitch" for k in keys) else None
    for key in keys:
        d = probe_driver(key, shared, pyvs_env)
        if isinstance(d, str):
            pf.skipped.append(d)
            continue
        if d.kind == "pyvswitch" and pyvs_why:
            pf.skipped.append(f"{key}: pyvswitch is not ready ({pyvs_why}); its "
                              "configurations are skipped, OVS still runs")
            continue
        running = _alive(d.call(shared, "sut_pid", 30)) or (d.kind == "ovs" and _ovs_running())
        if running and not reuse_running:
            pf.skipped.append(f"{key}: its switch is already running (not started by this "
                              "benchmark); pass --reuse-running if it is a leftover of ours")
            continue
        pf.drivers.append(d)
        if not running and d.kind != "reference":
            pf.started.append(d)
    if any(d.kind == "ovs" for d in pf.drivers) and not pf.meta["ovs_version"].endswith("3.1.0"):
        log(f"note: the OVS here is {pf.meta['ovs_version']!r}, the reference is 3.1")
    return pf


# ----------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Step:
    """One ``bench.sh`` invocation: one driver, one mode, some tests."""

    driver: Driver
    mode: str
    tests: tuple[str, ...]
    ct_rate: int | None = None

    @property
    def label(self) -> str:
        what = f"ctgrowth@{self.ct_rate or 'unpaced'}" if self.ct_rate is not None else \
            ",".join(self.tests)
        return f"{self.driver.name}/{self.mode} [{what}]"


def plan_round(drivers: list[Driver], round_no: int, tests: tuple[str, ...],
               ct_rate: int | None) -> list[Step]:
    """The configurations of one round.  OVS and pyvswitch with the same host offload
    setting run back to back (their ratio sees the same machine state), which of the two
    goes first alternates per round, and the order of the pairs rotates per round, so a
    burst of foreign load never always lands on the same configuration."""
    by_off: dict[str, list[Driver]] = {}
    refs = []
    for d in drivers:
        (refs if d.kind == "reference" else by_off.setdefault(d.offload, [])).append(d)
    groups: list[list[tuple[Driver, str]]] = []
    for mode in ("fw", "normal"):
        for off in sorted(by_off):
            pair = sorted(by_off[off], key=lambda d: (d.kind != "ovs", d.name))
            if round_no % 2 == 0:
                pair.reverse()
            groups.append([(d, mode) for d in pair])
        groups.extend([[(d, mode)] for d in refs if d.topo != "direct" or mode == "normal"])
    if groups:
        k = (round_no - 1) % len(groups)
        groups = groups[k:] + groups[:k]
    steps = [Step(d, mode, tests) for g in groups for d, mode in g]
    if ct_rate is not None:
        ct = [Step(d, "fw", ("ctgrowth",), ct_rate) for d in drivers if d.topo != "direct"]
        if round_no % 2 == 0:
            ct.reverse()
        steps += ct
    return steps


def step_timeout(step: Step, duration: float) -> float:
    """A generous bound on one bench.sh run (each test is bounded inside runtest.py too)."""
    per = 90.0 if step.ct_rate is not None else duration + 45.0
    return 120.0 + per * len(step.tests)


def estimate(step: Step, duration: float) -> float:
    """Expected seconds of a step, for the progress line's time left."""
    if step.ct_rate is not None:
        return 25.0
    per = {"fwcheck": 6.0, "ping": 5.0}
    return 12.0 + sum(per.get(t, duration + 4.0) for t in step.tests)


# ----------------------------------------------------------------------------- run
def run_step(step: Step, *, duration: float, round_no: int, scratch: Path,
             on_line: Callable[[str], None], sink: list[dict]) -> str | None:
    """Run one configuration through the shared ``bench.sh``; append its run records
    (``runtest.py``'s JSON lines, annotated) to ``sink`` -- also those finished before a
    Ctrl-C -- and return an error text if it failed as a whole."""
    shared = shared_dir()
    out = scratch / f"sys-{round_no}-{step.driver.name}-{step.mode}-{time.monotonic_ns()}.jsonl"
    cmd = ["bash", str(shared / "bench.sh"), "-s", str(step.driver.path), "-m", step.mode,
           "-t", ",".join(step.tests), "-r", "1", "-d", f"{duration:g}", "-o", str(out)]
    if step.ct_rate is not None:
        cmd += ["-c", str(step.ct_rate)]
    env = {**step.driver.environ(), "BENCH_ROUND": str(round_no), "PYTHON": sys.executable}
    tail: list[str] = []

    def line(s: str) -> None:
        tail.append(s)
        del tail[:-8]
        on_line(s)

    err = None
    cut_short = False  # stopped by the time bound or Ctrl-C, not ended by itself
    n = len(sink)
    try:
        rc = spawn(cmd, step_timeout(step, duration), line, env)
        if rc != 0:
            err = f"bench.sh exited with status {rc}: " + " | ".join(tail[-3:])
    except subprocess.TimeoutExpired:
        err = f"bench.sh stopped after {step_timeout(step, duration):.0f} s (time bound)"
        cut_short = True
    except KeyboardInterrupt:
        err, cut_short = "interrupted", True
        raise
    finally:
        checked = _check_ovs_setting(step.driver)
        if out.exists():
            for text in out.read_text().splitlines():
                try:
                    r = json.loads(text)
                except ValueError:
                    continue
                r.update(suite_round=round_no, driver=str(step.driver.path),
                         driver_env=dict(step.driver.env), kind=step.driver.kind)
                if checked:
                    r.setdefault("error", checked)
                sink.append(r)
            out.unlink()
        if cut_short and len(sink) > n and "error" not in sink[-1]:
            # the run in progress when the step was cut short measured a shorter time
            sink[-1]["error"] = f"partial run: {err}"
    if err and len(sink) == n:
        err = "no results: " + err
    return err


def _check_ovs_setting(d: Driver) -> str | None:
    """The OVS drivers apply userspace-tso-enable with a 5 s ovs-vsctl that a busy
    machine can miss, and then go on with the previous setting: such runs measured the
    other configuration, so say so (None when fine or not OVS)."""
    if d.kind != "ovs" or shutil.which("ovs-vsctl") is None:
        return None
    want = "true" if d.offload == "on" else "false"
    try:
        r = subprocess.run(["ovs-vsctl", "--timeout=10", "get", "Open_vSwitch", ".",
                            "other_config:userspace-tso-enable"],
                           capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    got = r.stdout.strip().strip('"')
    if r.returncode != 0 or got == want:
        return None
    return f"OVS ran with userspace-tso-enable={got}, this configuration needs {want}"


def _netns_list() -> list[str]:
    try:
        r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [ln.split()[0] for ln in r.stdout.splitlines() if ln.strip()]


def cleanup(started: list[Driver], log: Log) -> None:
    """Remove everything the benchmark may have left: processes inside its namespaces
    (by pid), the switches it started (their driver's ``sut_shutdown``), and the
    namespaces, veths and bridge (the shared ``cleanup.sh``)."""
    shared = shared_dir()
    present = set(_netns_list())
    for ns in NAMESPACES:
        if ns not in present:
            continue
        r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True,
                           timeout=20)
        pids = [int(p) for p in r.stdout.split() if p.isdigit() and int(p) != os.getpid()]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if sig == signal.SIGTERM and pids:
                time.sleep(1.0)
    done: set[str] = set()
    for d in started:
        if d.kind in done:  # ovs-netdev and ovs-netdev-tso share one set of daemons
            continue
        done.add(d.kind)
        try:
            d.call(shared, "sut_shutdown", 120)
        except subprocess.TimeoutExpired:
            log(f"cleanup: {d.name}: sut_shutdown timed out")
    for d in started:  # the private run/database directories of our pyvswitchd
        run = dict(d.env).get("PYVS_RUNDIR", "")
        if run.startswith("/tmp/d-bench-pyvs-"):
            shutil.rmtree(Path(run).parent, ignore_errors=True)
    try:
        r = subprocess.run(["bash", str(shared / "cleanup.sh")], capture_output=True,
                           text=True, timeout=180)
        if r.returncode != 0 or "left" in r.stderr:
            log(f"cleanup: {r.stderr.strip()[-300:]}")
    except (OSError, subprocess.TimeoutExpired) as e:
        log(f"cleanup: cleanup.sh failed: {e}")
