"""Smoke tests of the benchmark suite (bench/run.py and friends).

Benchmarks never assert a time: these tests prove that the suite still runs (every
micro-benchmark at a tiny size, end to end through the one command) and that the report
computes what it claims (medians, ratios pyvswitch/OVS per host offload setting, CPU,
bytes per ct entry, JSON, chart) on generated data.  No network, no root needed.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
sys.path.insert(0, str(BENCH))

import micro  # noqa: E402
import report  # noqa: E402
import run  # noqa: E402
import system  # noqa: E402


def test_micro_part_end_to_end(tmp_path):
    out = tmp_path / "res"
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, str(BENCH / "run.py"), "--quick", "--only", "micro",
                        "--out", str(out), "--no-install", "--quiet"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert time.monotonic() - t0 < 60
    raw = json.loads((out / "raw.json").read_text())
    assert raw["system"] == [] and raw["meta"]["quick"] is True
    assert [rec["case"] for rec in raw["micro"]] == list(micro.BY_NAME)
    for rec in raw["micro"]:
        assert "error" not in rec, (rec["case"], rec.get("traceback") or rec["error"])
        declared = {m["key"] for m in rec["metrics"]}
        assert declared <= set(rec["values"]), rec["case"]
        assert all(v > 0 for v in rec["values"].values()), rec
    text = (out / "report.md").read_text()
    summary = json.loads((out / "summary.json").read_text())
    for row in summary["micro"]:
        assert row["label"] in text
        assert row["stats"]["n"] == 1
    # tiny sizes really were used (the memory case must not build 1,000,000 entries)
    mem = next(rec for rec in raw["micro"] if rec["case"] == "ct_memory")
    assert mem["sizes"]["mem_conns"] == micro.QUICK.mem_conns
    assert "5,000 connections" in text
    assert not (out / "tmp").exists()


def _fake_runs(rng: random.Random) -> tuple[list[dict], dict]:
    """Runtest-style records for 5 configurations x 3 rounds, and the raw numbers."""
    suts = {"ovs-netdev": "off", "pyvswitch-nooffload": "off", "ovs-netdev-tso": "on",
            "pyvswitch": "on", "linuxbr": "on"}
    recs, truth = [], {}
    for sut, off in suts.items():
        for mode in ("normal", "fw"):
            for rnd in (1, 2, 3):
                tests = {"tcp1": {"gbit_per_s": rng.uniform(0.5, 10)},
                         "ping": {"rtt_ms_avg": rng.uniform(0.05, 1), "rtt_ms_p99": 1.0},
                         "fwcheck": {"policy_ok": 1}}
                if mode == "fw":
                    seen = rng.randrange(40_000, 50_001)
                    tests["ctgrowth"] = {"offered_rate_pps": 0, "ct_entries_seen": seen,
                                         "ct_entries_per_s": rng.uniform(1e4, 6e4),
                                         "mem_kb_delta": rng.randrange(10_000, 40_000)}
                for test, metrics in tests.items():
                    cpu = None if sut == "linuxbr" else rng.uniform(5, 100)
                    rec = {"sut": sut, "mode": mode, "host_offload": off, "test": test,
                           "run": 1, "round": str(rnd), "metrics": metrics,
                           "bg_busy_pct_before": float(rnd),
                           "cpu": {"machine_busy_pct": 50.0,
                                   **({"switch_cpu_pct": cpu} if cpu is not None else {})}}
                    recs.append(rec)
                    for k, v in metrics.items():
                        truth.setdefault((sut, mode, test, k), []).append(v)
                    truth.setdefault((sut, mode, test, "cpu"), []).append(cpu)
    # one failed run: counted as an error, ignored for the numbers
    recs.append({"sut": "pyvswitch", "mode": "fw", "host_offload": "on", "test": "tcp1",
                 "run": 1, "round": "4", "metrics": {}, "cpu": {"machine_busy_pct": 1.0},
                 "error": "RuntimeError: boom"})
    return recs, truth


def test_report_on_generated_data(tmp_path):
    recs, truth = _fake_runs(random.Random(7))
    raw = {"meta": {"started": "now", "rounds": 3}, "skipped": ["x: not ready"],
           "failures": [], "system": recs,
           "micro": [{"case": "emc_hit", "metrics": micro.describe(micro.BY_NAME["emc_hit"],
                                                                   micro.FULL),
                      "values": {"pps": v}} for v in (400_000.0, 600_000.0, 900_000.0)]}
    text = report.write(tmp_path, raw)
    summary = json.loads((tmp_path / "summary.json").read_text())
    rows = {(r["mode"], r["host_offload"], r["test"], r["metric"]): r
            for r in summary["comparison"]}
    for off, (ovs, pyvs) in report.PAIRS.items():
        for mode in ("normal", "fw"):
            r = rows[(mode, off, "tcp1", "gbit_per_s")]
            assert (r["ovs_sut"], r["pyvs_sut"]) == (ovs, pyvs)
            o = statistics.median(truth[(ovs, mode, "tcp1", "gbit_per_s")])
            p = statistics.median(truth[(pyvs, mode, "tcp1", "gbit_per_s")])
            assert r["ovs"]["median"] == pytest.approx(o)
            assert r["pyvs"]["median"] == pytest.approx(p)
            assert r["ratio"] == pytest.approx(p / o)
            assert r["wins"] is (p >= o)
            assert r["pyvs"]["n"] == 3  # the failed run is not a number
            assert r["ovs_cpu_pct"] == pytest.approx(
                statistics.median(truth[(ovs, mode, "tcp1", "cpu")]))
            # lower is better for the RTT: the win flips
            rt = rows[(mode, off, "ping", "rtt_ms_avg")]
            assert rt["wins"] is (rt["ratio"] <= 1)
        # memory per ct entry: KiB growth * 1024 / entries, per run, then the median
        m = rows[("fw", off, "ctgrowth@unpaced", "ct_bytes_per_entry")]
        per_run = [kb * 1024 / n for kb, n in zip(
            truth[(pyvs, "fw", "ctgrowth", "mem_kb_delta")],
            truth[(pyvs, "fw", "ctgrowth", "ct_entries_seen")])]
        assert m["pyvs"]["median"] == pytest.approx(statistics.median(per_run), abs=0.1)
        assert m["main"] is True
    # the reference switch is in the full table (CPU "kernel"), never in a ratio
    assert all("linuxbr" not in (r["ovs_sut"], r["pyvs_sut"]) for r in summary["comparison"])
    lb = [r for r in summary["system"] if r["sut"] == "linuxbr"]
    assert lb and all(r["switch_cpu_pct"] is None for r in lb)
    assert "| linuxbr | fw | on | ping RTT avg |" in text and "| kernel |" in text
    err = next(r for r in summary["system"] if r["sut"] == "pyvswitch" and r["mode"] == "fw"
               and r["test"] == "tcp1")
    assert err["errors"] == 1 and "boom" in err["error_texts"][0]
    assert rows[("fw", "on", "tcp1", "gbit_per_s")]["pyvs_errors"] == 1
    assert "foreign load" in text and "median 2 %, max 3 %" in text
    assert "skipped: x: not ready" in text
    # micro: median over the rounds and its ratio to the target
    mrow = summary["micro"][0]
    assert mrow["stats"] == {"median": 600_000.0, "min": 400_000.0, "max": 900_000.0, "n": 3}
    assert mrow["vs_target"] == pytest.approx(600_000 / 500_000)
    # raw runs kept as they came, also in the shared kit's JSON-lines format
    assert json.loads((tmp_path / "raw.json").read_text())["system"] == recs
    lines = (tmp_path / "system-runs.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in lines] == recs
    # the short form (for a README): headline rows only, and the micro table
    short = report.render_short(summary)
    assert "| TCP, 1 stream | fw | off (ovs-netdev / pyvswitch-nooffload) |" in short
    assert "<small>" not in short and "ping RTT p99" not in short
    assert "cached fast path" in short
    png = tmp_path / "ratios.png"
    if report._have_matplotlib():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and summary["chart"] == "ratios.png"
        assert "![pyvswitch / OVS ratios](ratios.png)" in text
    else:
        assert not png.exists() and "matplotlib is not installed" in text


def _driver(name: str, offload: str, topo: str = "switch") -> system.Driver:
    return system.Driver(name, Path(f"/x/{name}.sh"), (), name, offload, report.kind_of(name),
                         topo)


def test_plan_round_pairs_and_rotation():
    ds = [_driver("ovs-netdev", "off"), _driver("pyvswitch-nooffload", "off"),
          _driver("ovs-netdev-tso", "on"), _driver("pyvswitch", "on"),
          _driver("direct-veth", "on", "direct")]
    plans = [system.plan_round(ds, r, ("tcp1",), 0) for r in (1, 2, 3)]
    for r, steps in enumerate(plans, 1):
        traffic = [s for s in steps if s.ct_rate is None]
        ct = [s for s in steps if s.ct_rate is not None]
        # every configuration once per mode; no firewall for the switchless ceiling
        assert len(traffic) == 4 * 2 + 1
        assert {(s.driver.name, s.mode) for s in traffic if s.driver.topo == "direct"} == \
            {("direct-veth", "normal")}
        # ctgrowth once per switch, firewall mode, after the traffic steps
        assert sorted(s.driver.name for s in ct) == sorted(d.name for d in ds[:4])
        assert steps[-len(ct):] == ct and all(s.mode == "fw" for s in ct)
        # OVS and pyvswitch of one offload setting and mode run back to back
        for i, s in enumerate(traffic):
            if s.driver.kind == "ovs":
                mate = traffic[i + 1] if r % 2 else traffic[i - 1]
                assert mate.driver.kind == "pyvswitch"
                assert (mate.driver.offload, mate.mode) == (s.driver.offload, s.mode)
    # who goes first alternates, and the order rotates from round to round
    firsts = [[s.driver.kind for s in p if s.ct_rate is None] for p in plans]
    assert firsts[0] != firsts[1]
    assert [s.label for s in plans[0]] != [s.label for s in plans[2]]


def test_interleave_spreads_micro_between_system_steps():
    merged = run._interleave(["s1", "s2", "s3", "s4"], ["m1", "m2"])
    assert merged == ["s1", "m1", "s2", "s3", "m2", "s4"]
    assert run._interleave([], ["m1"]) == ["m1"] and run._interleave(["s"], []) == ["s"]


def test_spawn_time_bound_stops_the_whole_group(tmp_path):
    pidfile = tmp_path / "pid"
    seen = []
    t0 = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        system.spawn(["bash", "-c", f"sleep 60 & echo $! > {pidfile}; echo started; wait"],
                     1.0, seen.append)
    assert time.monotonic() - t0 < 20
    assert seen == ["started"]
    pid = int(pidfile.read_text())
    for _ in range(50):  # the background child of the child is gone too
        if not Path(f"/proc/{pid}").exists() or \
                Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"grandchild {pid} survived the time bound")
    assert system.spawn(["bash", "-c", "echo a; echo b; exit 3"], 10, seen.append) == 3
    assert seen[-2:] == ["a", "b"]


def _kit(root: Path) -> Path:
    (root / "lib").mkdir(parents=True)
    (root / "sut").mkdir()
    (root / "lib" / "topo.sh").write_text("SW_IF_IN=d-sw1\n")
    (root / "sut" / "ovs-netdev.sh").write_text("SUT_NAME=ovs-netdev\nSUT_HOST_OFFLOAD=off\n")
    (root / "sut" / "pyvswitch.sh").write_text(
        'SUT_HOST_OFFLOAD=${PYVS_HOST_OFFLOAD:-on}\n'
        'if [ "$SUT_HOST_OFFLOAD" = on ]; then SUT_NAME=pyvswitch; '
        'else SUT_NAME=pyvswitch-nooffload; fi\n')
    (root / "sut" / "broken.sh").write_text("SUT_NAME=broken\nexit 3\n")
    (root / "sut" / "kitbr.sh").write_text("SUT_NAME=kitbr\n")
    return root


def test_driver_lookup(tmp_path, monkeypatch):
    kit = _kit(tmp_path / "kit")
    monkeypatch.setenv("PYVS_SHARED_BENCH", str(kit))
    monkeypatch.setattr(system, "HERE", tmp_path / "repo-bench")  # no bench/sut/ yet
    shared = system.shared_dir()
    assert shared == kit.resolve()
    d = system.probe_driver("ovs-netdev", shared)
    assert (d.name, d.offload, d.kind) == ("ovs-netdev", "off", "ovs")
    # pyvswitch without offloads: the one driver with PYVS_HOST_OFFLOAD=off
    d = system.probe_driver("pyvswitch-nooffload", shared)
    assert (d.name, d.offload, d.kind, d.env) == \
        ("pyvswitch-nooffload", "off", "pyvswitch", (("PYVS_HOST_OFFLOAD", "off"),))
    assert system.probe_driver("pyvswitch", shared).offload == "on"
    assert "no driver found" in system.probe_driver("nope", shared)
    assert "does not load" in system.probe_driver("broken", shared)
    # developer H's driver in the repository wins over the shared one
    own = tmp_path / "repo-bench" / "sut"
    own.mkdir(parents=True)
    (own / "pyvswitch.sh").write_text("SUT_NAME=pyvswitch\nSUT_HOST_OFFLOAD=on\n")
    assert system.probe_driver("pyvswitch", shared).path == (own / "pyvswitch.sh").resolve()
    # ... but one that cannot turn offloads off is refused for the -nooffload configuration
    assert "ignores PYVS_HOST_OFFLOAD=off" in system.probe_driver("pyvswitch-nooffload",
                                                                   shared)
    assert os.environ["PYVS_SHARED_BENCH"] == str(kit)


FAKE_BENCH_SH = """while getopts "s:m:t:r:d:o:c:k" o; do case $o in o) OUT=$OPTARG;; esac; done
echo '{"sut": "ovs-netdev", "test": "ping", "metrics": {"rtt_ms_avg": 0.2}}' >> "$OUT"
echo "== ping done"
if [ "$BENCH_ROUND" = 2 ]; then
    echo '{"sut": "ovs-netdev", "test": "tcp1", "metrics": {"gbit_per_s": 0.1}}' >> "$OUT"
    sleep 30
fi
"""


def test_run_step_collects_runs_and_marks_one_cut_short(tmp_path, monkeypatch):
    kit = _kit(tmp_path / "kit")
    (kit / "bench.sh").write_text(FAKE_BENCH_SH)
    monkeypatch.setenv("PYVS_SHARED_BENCH", str(kit))
    step = system.Step(system.probe_driver("kitbr", system.shared_dir()), "fw", ("ping",))
    sink, lines = [], []
    assert system.run_step(step, duration=1, round_no=1, scratch=tmp_path,
                           on_line=lines.append, sink=sink) is None
    assert lines == ["== ping done"]
    assert (sink[0]["suite_round"], sink[0]["kind"], "error" in sink[0]) == \
        (1, "reference", False)
    # the time bound stops the step: the runs it finished are kept, the one it was in
    # the middle of is marked as partial (it measured a shorter time)
    monkeypatch.setattr(system, "step_timeout", lambda step, duration: 1.0)
    t0 = time.monotonic()
    err = system.run_step(step, duration=1, round_no=2, scratch=tmp_path,
                          on_line=lines.append, sink=sink)
    assert time.monotonic() - t0 < 20
    assert "time bound" in err
    assert [r["test"] for r in sink] == ["ping", "ping", "tcp1"]
    assert "error" not in sink[1] and sink[2]["error"].startswith("partial run")
    assert not list(tmp_path.glob("sys-*"))  # the per-step files are consumed


def test_ovs_runs_with_the_wrong_tso_setting_are_flagged(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "ovs-vsctl"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho \'"false"\'\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    msg = system._check_ovs_setting(_driver("ovs-netdev-tso", "on"))
    assert msg == "OVS ran with userspace-tso-enable=false, this configuration needs true"
    assert system._check_ovs_setting(_driver("ovs-netdev", "off")) is None
    assert system._check_ovs_setting(_driver("pyvswitch", "on")) is None


def test_micro_output_parsing_is_strict():
    assert micro._number(r"([\d,]+) conn/s", "new: 70,572 conn/s (4.72 us)", "x") == 70572
    with pytest.raises(ValueError, match="output format not understood"):
        micro._number(r"([\d,]+) conn/s", "new connections: fast", "bench_new")


def test_cli_rejects_unknown_case():
    with pytest.raises(SystemExit):
        run.parse_args(["--micro", "emc_hit,nope"])
    a = run.parse_args(["--quick"])
    assert (a.rounds, a.duration, a.tests, a.ct_rate) == (1, 1.0, system.QUICK_TESTS, 0)
    a = run.parse_args(["--ct-rate", "none", "--rounds", "2"])
    assert (a.rounds, a.duration, a.ct_rate) == (2, 5.0, None)
