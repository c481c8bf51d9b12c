"""In-process micro-benchmarks of the one-command suite: thin adapters over ``bench_*.py``.

Each case runs in a fresh interpreter (``python bench/micro.py --case NAME --json-out F``)
so that one case's memory, caches and garbage cannot colour the next one -- the memory
per connection is an RSS growth and needs a clean process.  ``run_case`` is the parent
side; ``bench/run.py`` calls it between the system benchmarks.

The measuring code stays in the other developers' scripts (``bench_datapath.py``,
``bench_pipeline.py``, ``bench_classifier.py``, ``bench_conntrack.py``); this module only
picks sizes, calls their functions and turns what they return (or print) into numbers.

Not a test: numbers depend on the machine.  Layer: bench (imports the bench scripts,
which import pyvswitch); stdlib only otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import json
import os
import re
import resource
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@dataclass(frozen=True)
class Sizes:
    """How big each case is: the full suite, or tiny for ``--quick`` and the smoke test."""

    seconds: float          # timed seconds per rate measurement (split into best-of runs)
    cls_rules: int          # classifier scaling: the big table
    cls_small: int          # ... and the small one (same 10 masks)
    cls_lookups: int        # lookups per timing pass
    cls_rounds: int         # alternating passes, best kept
    ct_packets: int         # established packets per tracker timing
    ct_conns: int           # handshakes for the tracker's new-connection rate
    mem_conns: int          # committed connections for the memory figure
    repeat: int             # rate measurements per case; the best is kept


FULL = Sizes(seconds=3.0, cls_rules=100_000, cls_small=100, cls_lookups=20_000, cls_rounds=7,
             ct_packets=200_000, ct_conns=30_000, mem_conns=1_000_000, repeat=3)
QUICK = Sizes(seconds=0.1, cls_rules=2_000, cls_small=100, cls_lookups=500, cls_rounds=2,
              ct_packets=2_000, ct_conns=500, mem_conns=5_000, repeat=1)


@dataclass(frozen=True)
class Metric:
    """One number a case reports; ``label`` may name sizes as ``{cls_rules}`` etc."""

    key: str
    label: str
    unit: str
    better: str                  # "higher" or "lower"
    target: float | None = None  # issue 6's target, if it sets one


@dataclass(frozen=True)
class Case:
    name: str
    metrics: tuple[Metric, ...]
    fn: Callable[[Sizes], dict[str, float]]


def _mod(name: str):
    return importlib.import_module(name)


def _best_rate(fn: Callable[[float], float], s: Sizes) -> float:
    """Best of a few shorter runs: foreign load on a shared machine only ever slows one down."""
    return max(fn(s.seconds / s.repeat) for _ in range(s.repeat))


def _captured(fn: Callable, *args) -> tuple[object, str]:
    """Run a benchmark function that prints its result; return (value, printed text)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        value = fn(*args)
    return value, buf.getvalue()


def _number(pattern: str, text: str, what: str) -> float:
    m = re.search(pattern, text)
    if m is None:
        raise ValueError(f"{what}: output format not understood: {text.strip()[:200]!r}")
    return float(m.group(1).replace(",", ""))


# ----------------------------------------------------------------------------- cases
def _emc(s: Sizes) -> dict[str, float]:
    return {"pps": _best_rate(_mod("bench_datapath").bench_emc, s)}


def _megaflow(s: Sizes) -> dict[str, float]:
    dp = _mod("bench_datapath")
    fn = getattr(dp, "bench_megaflow", None) or dp._cold_rate
    return {"pps": _best_rate(fn, s)}


def _dp_ct_stub(s: Sizes) -> dict[str, float]:
    dp = _mod("bench_datapath")
    return {"pps": _best_rate(dp.bench_ct_recirc, s),
            "pps_real": _best_rate(dp.bench_ct_real, s)}


def _dp_upcall(s: Sizes) -> dict[str, float]:
    return {"pps": _best_rate(_mod("bench_datapath").bench_upcall, s)}


def _pipeline(fn_name: str) -> Callable[[Sizes], dict[str, float]]:
    def run(s: Sizes) -> dict[str, float]:
        bp = _mod("bench_pipeline")
        best = getattr(bp, "best", None)
        fn = getattr(bp, fn_name)
        return {"rate": best(fn, s.seconds, s.repeat) if best else _best_rate(fn, s)}
    return run


def _classifier(s: Sizes) -> dict[str, float]:
    import gc
    import random

    bc = _mod("bench_classifier")
    rnd = random.Random(1)
    small, small_rules = bc.build(s.cls_small, rnd)
    big, big_rules = bc.build(s.cls_rules, rnd)
    # Long-lived rules, as in a running switch: keep the cyclic GC off them while timing.
    gc.collect()
    gc.freeze()
    out: dict[str, float] = {}
    for wc, pre in ((False, "plain"), (True, "wc")):
        ts, tb = bc.compare(small, small_rules, big, big_rules, s.cls_lookups, wc,
                            rounds=s.cls_rounds)
        out[f"{pre}_small_us"] = ts * 1e6
        out[f"{pre}_big_us"] = tb * 1e6
        out[f"{pre}_ratio"] = tb / ts
    return out


def _ct_established(s: Sizes) -> dict[str, float]:
    value, text = _captured(_mod("bench_conntrack").bench_established, s.ct_packets)
    out = {}
    for size in ("64", "1500"):
        for good in ("False", "True"):
            us = _number(rf"established {size}-byte\s+l4_csum_good={good}\s+([\d.]+) us/pkt",
                         text, "bench_conntrack.bench_established")
            out[f"pps_{size}_{'good' if good == 'True' else 'check'}"] = 1e6 / us
    return out


def _ct_new(s: Sizes) -> dict[str, float]:
    value, text = _captured(_mod("bench_conntrack").bench_new, s.ct_conns)
    if isinstance(value, int | float):
        return {"cps": float(value)}
    return {"cps": _number(r"([\d,]+) conn/s", text, "bench_conntrack.bench_new")}


def _ct_memory(established: bool) -> Callable[[Sizes], dict[str, float]]:
    def run(s: Sizes) -> dict[str, float]:
        fn = _mod("bench_conntrack").bench_memory
        # Older versions of the script measure SYN_SENT entries only, without the flag.
        takes_flag = "established" in inspect.signature(fn).parameters
        if established and not takes_flag:
            raise ValueError("bench_conntrack.bench_memory has no established variant")
        value, text = _captured(fn, s.mem_conns, *((established,) if takes_flag else ()))
        if isinstance(value, int | float):
            return {"bytes_per_conn": float(value)}
        where = "bench_conntrack.bench_memory"
        return {"bytes_per_conn": _number(r"([\d,]+) bytes/connection", text, where),
                "rss_mib": _number(r"RSS \+([\d,]+) MiB", text, where)}
    return run


H, L = "higher", "lower"
CASES: tuple[Case, ...] = (
    Case("emc_hit", (Metric("pps", "cached fast path: EMC hit, 1 output, 64-byte UDP",
                            "pkt/s", H, 500_000),), _emc),
    Case("megaflow_hit", (Metric("pps", "megaflow hit, EMC cold", "pkt/s", H, 200_000),),
         _megaflow),
    Case("upcall_pipeline", (Metric("rate", "upcall: 3-table pipeline, new megaflow each",
                                    "flows/s", H, 20_000),), _pipeline("bench_upcalls")),
    Case("classifier_scaling", (
        Metric("plain_small_us", "classifier lookup, {cls_small} rules / 10 masks", "us", L),
        Metric("plain_big_us", "classifier lookup, {cls_rules} rules / 10 masks", "us", L),
        Metric("plain_ratio", "classifier lookup time ratio {cls_rules} / {cls_small} rules",
               "x", L, 1.5),
        Metric("wc_small_us", "classifier lookup + un-wildcarding, {cls_small} rules", "us", L),
        Metric("wc_big_us", "classifier lookup + un-wildcarding, {cls_rules} rules", "us", L),
        Metric("wc_ratio", "classifier lookup + un-wildcarding ratio {cls_rules} / {cls_small}",
               "x", L, 1.5),
    ), _classifier),
    Case("ct_established_fw", (Metric("rate", "established TCP through the firewall "
                                      "(ct + recirc + 2nd lookup)", "pkt/s", H, 200_000),),
         _pipeline("bench_established")),
    Case("ct_new_fw", (Metric("rate", "new TCP connections through the firewall "
                              "(SYN commit, SYN-ACK, ACK)", "conn/s", H, 30_000),),
         _pipeline("bench_new_connections")),
    Case("dp_ct_recirc", (
        Metric("pps", "datapath share of ct + recirc (stub tracker, UDP)", "pkt/s", H),
        Metric("pps_real", "ct + recirc with the real tracker (UDP +est)", "pkt/s", H),
    ), _dp_ct_stub),
    Case("dp_upcall", (Metric("pps", "datapath upcall, trivial callback + install", "pkt/s",
                              H),), _dp_upcall),
    Case("ct_tracker_established", (
        Metric("pps_64_check", "tracker alone: established TCP, 64-byte, checksum checked",
               "pkt/s", H, 200_000),
        Metric("pps_64_good", "tracker alone: established TCP, 64-byte, l4_csum_good",
               "pkt/s", H, 200_000),
        Metric("pps_1500_check", "tracker alone: established TCP, 1500-byte, checksum checked",
               "pkt/s", H),
        Metric("pps_1500_good", "tracker alone: established TCP, 1500-byte, l4_csum_good",
               "pkt/s", H),
    ), _ct_established),
    Case("ct_tracker_new", (Metric("cps", "tracker alone: new connections (SYN commit, "
                                   "SYN-ACK, ACK)", "conn/s", H, 30_000),), _ct_new),
    Case("ct_memory", (Metric("bytes_per_conn", "memory per connection at {mem_conns} "
                              "connections, SYN_SENT (RSS growth)", "bytes", L, 1024),),
         _ct_memory(False)),
    Case("ct_memory_established", (Metric("bytes_per_conn", "memory per connection at "
                                          "{mem_conns} connections, ESTABLISHED (RSS growth)",
                                          "bytes", L, 1024),), _ct_memory(True)),
)
BY_NAME = {c.name: c for c in CASES}


def labels(case: Case, sizes: Sizes) -> dict[str, str]:
    """The metric labels of a case with its sizes filled in (``100000`` -> ``100,000``)."""
    subst = {k: f"{v:,}" for k, v in vars(sizes).items() if isinstance(v, int)}
    return {m.key: m.label.format(**subst) for m in case.metrics}


def describe(case: Case, sizes: Sizes) -> list[dict]:
    """The declared metrics of a case as plain dicts, for the report."""
    names = labels(case, sizes)
    return [{"key": m.key, "label": names[m.key], "unit": m.unit, "better": m.better,
             "target": m.target} for m in case.metrics]


# ----------------------------------------------------------------------------- child side
def measure(name: str, quick: bool) -> dict:
    """Run one case in this process and return its record (never raises for a case error:
    a broken benchmark script must not stop the rest of the suite)."""
    case = BY_NAME[name]
    sizes = QUICK if quick else FULL
    t0, c0 = time.perf_counter(), time.process_time()
    rec: dict = {"case": name, "quick": quick, "sizes": vars(sizes),
                 "metrics": describe(case, sizes), "values": {}}
    try:
        rec["values"] = {k: float(v) for k, v in case.fn(sizes).items()}
    except Exception as e:  # noqa: BLE001 -- recorded in the results and shown in the report
        rec["error"] = f"{type(e).__name__}: {e}"
        rec["traceback"] = traceback.format_exc(limit=6)
    rec["wall_s"] = round(time.perf_counter() - t0, 3)
    rec["cpu_s"] = round(time.process_time() - c0, 3)
    rec["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run one in-process micro-benchmark case.")
    ap.add_argument("--case", choices=sorted(BY_NAME), help="the case (default: list them)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    ap.add_argument("--json-out", help="write the record there instead of stdout")
    a = ap.parse_args(argv)
    if not a.case:
        for c in CASES:
            print(c.name)
        return 0
    rec = measure(a.case, a.quick)
    text = json.dumps(rec)
    if a.json_out:
        Path(a.json_out).write_text(text + "\n")
    else:
        print(text)
    return 1 if "error" in rec else 0


# ----------------------------------------------------------------------------- parent side
Spawn = Callable[[list[str], float], int]


def _plain_spawn(cmd: list[str], timeout: float) -> int:
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, timeout=timeout).returncode


def case_timeout(name: str, quick: bool) -> float:
    """Generous wall-clock bound of one case (a hung case must not hang the suite)."""
    if quick:
        return 120.0
    return 900.0 if name.startswith("ct_memory") or name == "classifier_scaling" else 300.0


def run_case(name: str, quick: bool, scratch: Path, spawn: Spawn | None = None) -> dict:
    """Run one case in a fresh interpreter; always returns a record (``error`` on failure)."""
    out = scratch / f"micro-{name}-{os.getpid()}-{time.monotonic_ns()}.json"
    cmd = [sys.executable, str(HERE / "micro.py"), "--case", name, "--json-out", str(out)]
    if quick:
        cmd.append("--quick")
    t0 = time.perf_counter()
    try:
        rc = (spawn or _plain_spawn)(cmd, case_timeout(name, quick))
    except subprocess.TimeoutExpired:
        rc = None
    rec: dict
    if out.exists():
        rec = json.loads(out.read_text())
        out.unlink()
    else:
        sizes = QUICK if quick else FULL
        why = "timed out" if rc is None else f"exited with status {rc} and no result"
        rec = {"case": name, "quick": quick, "sizes": vars(sizes),
               "metrics": describe(BY_NAME[name], sizes), "values": {},
               "error": f"micro-benchmark process {why}"}
    rec["date"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    rec["parent_wall_s"] = round(time.perf_counter() - t0, 3)
    return rec


if __name__ == "__main__":
    sys.exit(main())
