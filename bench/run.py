"""The benchmark suite in one command: pyvswitch side by side with real OVS 3.1.

    python3 bench/run.py [--quick] [--rounds N] [--only micro|system] [--out DIR]

Runs, interleaved round by round, (a) the in-process micro-benchmarks (``micro.py``: cached
fast path, megaflow hit, upcall, classifier scaling, conntrack established/new, memory per
connection) and (b) the system benchmarks on the two-namespace topology (``system.py``,
the shared kit's ``bench.sh``) against pyvswitch and real OVS 3.1 with NORMAL and with the
firewall, at both host offload settings.  Writes ``report.md``, ``summary.json``,
``raw.json``, ``system-runs.jsonl`` and ``ratios.png`` under
``bench/results/<timestamp>/`` and prints the report.

Safety: every flood is bounded (by the shared tools and again by a time bound per step);
on exit, Ctrl-C or SIGTERM every process, namespace and veth the run started is removed
(the shared ``cleanup.sh``; switches stopped by their drivers, processes by pid).

Not a test: it never asserts a time.  Layer: bench (stdlib; matplotlib for the chart).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import micro  # noqa: E402
import report  # noqa: E402
import system  # noqa: E402


class Progress:
    """One line per step with elapsed time and an estimate of the time left."""

    def __init__(self, total_estimate: float, quiet: bool = False) -> None:
        self.t0 = time.monotonic()
        self.left = total_estimate
        self.quiet = quiet

    def say(self, text: str) -> None:
        if not self.quiet:
            el = time.monotonic() - self.t0
            print(f"[{int(el // 60):02d}:{int(el % 60):02d}] {text}", flush=True)

    def step(self, k: int, n: int, rnd: int, rounds: int, what: str) -> None:
        eta = f", ~{self.left / 60:.0f} min left" if self.left >= 60 else ""
        self.say(f"({k}/{n}{eta}) round {rnd}/{rounds}: {what}")

    def detail(self, text: str) -> None:
        if not self.quiet:
            print(f"        {text}", flush=True)

    def done(self, estimate: float) -> None:
        self.left = max(0.0, self.left - estimate)


def _interleave(a: list, b: list) -> list:
    """Spread the items of ``b`` evenly between those of ``a`` (both keep their order)."""
    keyed = [((i + 0.5) / len(a), 0, x) for i, x in enumerate(a)]
    keyed += [((j + 0.5) / len(b), 1, y) for j, y in enumerate(b)]
    return [x for _p, _s, x in sorted(keyed, key=lambda t: (t[0], t[1]))]


def _machine() -> str:
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}, " \
           f"Python {platform.python_version()}"


def _commit() -> str:
    try:
        r = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def ensure_matplotlib(install: bool, say) -> None:
    """The chart needs matplotlib (the ``bench`` extra); install it on demand."""
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass
    if not install:
        say("matplotlib missing: no chart (pip install -e '.[bench]')")
        return
    say("installing matplotlib for the chart (the 'bench' extra)")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", "matplotlib>=3.5"],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        say(f"matplotlib install failed, no chart: {r.stderr.strip()[-200:]}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="tiny sizes and 1-second runs: proves the suite works, in minutes")
    ap.add_argument("--rounds", type=int, help="rounds (default 3; 1 with --quick)")
    ap.add_argument("--only", choices=("micro", "system"), help="run one part only")
    ap.add_argument("--out", help="output directory (default bench/results/<timestamp>)")
    ap.add_argument("--suts", default=",".join(system.DEFAULT_SUTS),
                    help="switch drivers, comma-separated: names in bench/sut/ or the shared "
                         "kit's sut/ (e.g. linuxbr, direct) or paths (default: %(default)s)")
    ap.add_argument("--tests", help="system tests, comma-separated (default: "
                    f"{','.join(system.FULL_TESTS)}; --quick: {','.join(system.QUICK_TESTS)})")
    ap.add_argument("--duration", type=float, help="seconds per system test run "
                    "(default 5; 1 with --quick)")
    ap.add_argument("--ct-rate", default="0", help="offered rate of the 50k-UDP-flow conntrack "
                    "test, flows/s (0 = unpaced, the default; 'none' = skip it)")
    ap.add_argument("--micro", help="micro-benchmark cases, comma-separated (default: all: "
                    f"{','.join(micro.BY_NAME)})")
    ap.add_argument("--no-install", action="store_true",
                    help="never install anything (OVS, tools, matplotlib)")
    ap.add_argument("--reuse-running", action="store_true",
                    help="use a switch daemon that is already running (a leftover of ours)")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    a = ap.parse_args(argv)
    a.rounds = a.rounds or (1 if a.quick else 3)
    a.duration = a.duration or (1.0 if a.quick else 5.0)
    a.tests = tuple(a.tests.split(",")) if a.tests else \
        (system.QUICK_TESTS if a.quick else system.FULL_TESTS)
    a.ct_rate = None if a.ct_rate == "none" else int(a.ct_rate)
    a.micro = a.micro.split(",") if a.micro else list(micro.BY_NAME)
    bad = [c for c in a.micro if c not in micro.BY_NAME]
    if bad:
        ap.error(f"unknown micro-benchmark {bad[0]!r} (known: {', '.join(micro.BY_NAME)})")
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    return a


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(a.out) if a.out else HERE / "results" / stamp
    out.mkdir(parents=True, exist_ok=True)
    scratch = out / "tmp"
    scratch.mkdir(exist_ok=True)
    raw: dict = {"meta": {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                          "machine": _machine(), "commit": _commit(), "rounds": a.rounds,
                          "quick": a.quick, "duration": a.duration,
                          "command": shlex.join([sys.argv[0], *(argv if argv is not None
                                                                else sys.argv[1:])])},
                 "skipped": [], "failures": [], "micro": [], "system": []}
    prog = Progress(0.0, a.quiet)
    old_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with it ignored
    pf = system.Preflight()
    interrupted = False
    try:
        if not a.no_install:
            ensure_matplotlib(True, prog.say)
        cases = a.micro if a.only != "system" else []
        if a.only != "micro":
            prog.say("system part: checking root, tools, OVS and the switch drivers")
            pf = system.preflight(a.suts.split(","), install=not a.no_install,
                                  reuse_running=a.reuse_running, log=prog.say,
                                  pyvs_env=system.pyvswitch_dirs(out / "pyvswitchd-log"))
            raw["meta"].update(pf.meta)
            if pf.fatal:
                raw["skipped"].append(f"system benchmarks: {pf.fatal}")
            raw["skipped"] += pf.skipped
            for s in raw["skipped"]:
                prog.say(f"SKIPPED {s}")
        drivers = pf.drivers if not pf.fatal else []
        plan = []
        for rnd in range(1, a.rounds + 1):
            steps = system.plan_round(drivers, rnd, a.tests, a.ct_rate)
            k = (rnd - 1) % len(cases) if cases else 0
            plan += [(rnd, x) for x in _interleave(steps, cases[k:] + cases[:k])]

        def est(x) -> float:
            return system.estimate(x, a.duration) if isinstance(x, system.Step) else \
                (3.0 if a.quick else 25.0)

        prog.left = sum(est(x) for _r, x in plan)
        for i, (rnd, x) in enumerate(plan, 1):
            if isinstance(x, system.Step):
                prog.step(i, len(plan), rnd, a.rounds, f"system {x.label}")
                err = system.run_step(x, duration=a.duration, round_no=rnd, scratch=scratch,
                                      on_line=prog.detail, sink=raw["system"])
                if err:
                    raw["failures"].append({"round": rnd, "step": x.label, "error": err})
                    prog.detail(f"FAILED: {err}")
            else:
                prog.step(i, len(plan), rnd, a.rounds, f"micro {x}")
                rec = micro.run_case(x, a.quick, scratch, spawn=_spawn_quiet)
                rec["suite_round"] = rnd
                raw["micro"].append(rec)
                for m in rec["metrics"]:
                    v = rec["values"].get(m["key"])
                    if v is not None:
                        prog.detail(f"{m['label']}: {report.fmt(v)} {m['unit']}")
                if "error" in rec:
                    prog.detail(f"FAILED: {rec['error']}")
            prog.done(est(x))
            (out / "raw.json").write_text(json.dumps(raw) + "\n")  # keep what we have
    except KeyboardInterrupt:
        interrupted = True
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the cleanup finish
        prog.say("interrupted: stopping the running step and cleaning up")
        system.stop_active()
        raw["failures"].append({"round": None, "step": "run", "error": "interrupted"})
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if a.only != "micro" and not pf.fatal and pf.drivers:
            prog.say("cleanup: namespaces, veths, switch processes")
            system.cleanup(pf.started, prog.say)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, old_term)
    raw["meta"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        scratch.rmdir()
    except OSError:
        pass
    text = report.write(out, raw)
    if not a.quiet:
        print()
        print(text)
    prog.say(f"results in {out}")
    return 130 if interrupted else 0


def _spawn_quiet(cmd: list[str], timeout: float) -> int:
    """Micro-benchmark children run in their own process group too (Ctrl-C stops them)."""
    return system.spawn(cmd, timeout, on_line=None)


if __name__ == "__main__":
    sys.exit(main())
