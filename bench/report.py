"""Report of a benchmark run: medians/min/max, pyvswitch/OVS ratios, CPU, chart, JSON.

Input is the raw record of one ``bench/run.py`` run (``raw.json``: meta, the micro-benchmark
records of ``micro.py`` and the per-run records of the shared ``tools/runtest.py``).  Output,
in the run's directory: ``report.md`` (the tables), ``summary.json`` (the same numbers for
machines), ``system-runs.jsonl`` (the system runs in the shared kit's format, so that its
``tools/summarize.py`` reads them too) and ``ratios.png`` (matplotlib, when installed).

Ratios compare pyvswitch with the OVS configuration of the **same host offload setting**
in the same run: ``ovs-netdev`` (offloads off) with ``pyvswitch-nooffload``, and
``ovs-netdev-tso`` (offloads on) with ``pyvswitch``.  A ratio is always pyvswitch / OVS;
for RTT and memory lower is better, so there a ratio <= 1 is the win.

``python bench/report.py DIR`` rebuilds the report from ``DIR/raw.json``.

Not a test.  Layer: bench (stdlib; matplotlib optional).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

H, L, N = "higher", "lower", None
# (test, metric, label, unit, better): the rows of issue 6's table first
MAIN = (
    ("tcp1", "gbit_per_s", "TCP, 1 stream", "Gbit/s", H),
    ("udp64", "h2_rx_if_pps", "UDP 64-byte packets delivered", "pkt/s", H),
    ("crr1", "conn_per_s", "TCP connect+close, 1 worker", "conn/s", H),
    ("crr4", "conn_per_s", "TCP connect+close, 4 workers", "conn/s", H),
    ("rr", "trans_per_s", "TCP request/response, 1 connection", "trans/s", H),
    ("ping", "rtt_ms_avg", "ping RTT avg", "ms", L),
    ("ctgrowth", "ct_entries_per_s", "50,000 new UDP flows: ct entries created", "entries/s", H),
    ("ctgrowth", "ct_bytes_per_entry", "memory per ct entry", "bytes", L),
)
EXTRA = (
    ("tcp4", "gbit_per_s", "TCP, 4 streams", "Gbit/s", H),
    ("udp64", "tx_pps", "UDP 64-byte packets offered by h1", "pkt/s", N),
    ("udp64", "rx_pps", "UDP 64-byte datagrams received by iperf3", "pkt/s", H),
    ("rr", "lat_us_p99", "TCP request/response p99 latency", "us", L),
    ("ping", "rtt_ms_p99", "ping RTT p99", "ms", L),
    ("ctgrowth", "received_at_h2", "50,000 new UDP flows: received at h2", "pkts", H),
    ("ctgrowth", "mem_kb_delta", "switch memory growth for the new flows", "KiB", L),
    ("fwcheck", "policy_ok", "policy check (fw blocks outside->inside)", "1=ok", N),
)
SPEC = MAIN + EXTRA
_TICKS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
PAIRS = {"off": ("ovs-netdev", "pyvswitch-nooffload"), "on": ("ovs-netdev-tso", "pyvswitch")}


def fmt(v: float | None) -> str:
    """Three significant digits for small numbers, thousands separators for big ones."""
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def kind_of(sut: str) -> str:
    if sut.startswith("ovs"):
        return "ovs"
    if sut.startswith("pyvswitch"):
        return "pyvswitch"
    return "reference"


def test_key(rec: dict) -> str:
    """ctgrowth runs at different offered rates are different tests."""
    if rec["test"] != "ctgrowth":
        return rec["test"]
    rate = int(rec.get("metrics", {}).get("offered_rate_pps") or 0)
    return f"ctgrowth@{rate or 'unpaced'}"


def derived(rec: dict) -> dict:
    """The run's metrics plus the ones computed from them (bytes per ct entry)."""
    m = dict(rec.get("metrics") or {})
    if rec["test"] == "ctgrowth":
        kb, n = m.get("mem_kb_delta"), m.get("ct_entries_seen")
        if kb is not None and n:
            m["ct_bytes_per_entry"] = round(kb * 1024 / n, 1)
    return m


def stats(vals: list[float]) -> dict | None:
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "n": len(vals)}


def _spec_for(tkey: str):
    base = tkey.split("@")[0]
    return [s for s in SPEC if s[0] == base]


def _label(spec_label: str, tkey: str) -> str:
    if "@" in tkey and not tkey.endswith("@unpaced"):
        return f"{spec_label} (offered {tkey.split('@')[1]}/s)"
    return spec_label


# ----------------------------------------------------------------------------- system
def aggregate_system(records: list[dict]) -> list[dict]:
    """One row per (configuration, mode, test, metric): median/min/max and CPU medians."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["sut"], r["mode"], r["host_offload"], test_key(r))].append(r)
    rows = []
    for (sut, mode, off, tkey), runs in sorted(groups.items()):
        ok = [r for r in runs if "error" not in r]
        cpu = stats([r["cpu"]["switch_cpu_pct"] for r in ok
                     if r.get("cpu", {}).get("switch_cpu_pct") is not None])
        busy = stats([r["cpu"]["machine_busy_pct"] for r in ok
                      if r.get("cpu", {}).get("machine_busy_pct") is not None])
        metrics = [derived(r) for r in ok]
        for _test, metric, label, unit, better in _spec_for(tkey):
            st = stats([m[metric] for m in metrics if m.get(metric) is not None])
            if st is None and not (len(runs) - len(ok)):
                continue
            rows.append({"sut": sut, "kind": kind_of(sut), "mode": mode, "host_offload": off,
                         "test": tkey, "metric": metric, "label": _label(label, tkey),
                         "unit": unit, "better": better, "stats": st,
                         "switch_cpu_pct": cpu["median"] if cpu else None,
                         "machine_busy_pct": busy["median"] if busy else None,
                         "errors": len(runs) - len(ok),
                         "error_texts": sorted({r["error"] for r in runs if "error" in r})})
    return rows


def wins(ratio: float | None, better: str | None) -> bool | None:
    if ratio is None or better is None:
        return None
    return ratio >= 1.0 if better == H else ratio <= 1.0


def compare(agg: list[dict]) -> list[dict]:
    """pyvswitch next to OVS, per mode, host offload setting and metric."""
    index = {(r["kind"], r["mode"], r["host_offload"], r["test"], r["metric"]): r
             for r in agg if r["kind"] != "reference"}
    order = {(t, m): i for i, (t, m, *_rest) in enumerate(SPEC)}
    keys = sorted({(mode, off, test, metric) for _k, mode, off, test, metric in index},
                  key=lambda k: ({"fw": 0}.get(k[0], 1), k[1],
                                 order.get((k[2].split("@")[0], k[3]), 99), k[2]))
    rows = []
    for mode, off, test, metric in keys:
        o = index.get(("ovs", mode, off, test, metric))
        p = index.get(("pyvswitch", mode, off, test, metric))
        ref = o or p
        ratio = None
        if o and p and o["stats"] and p["stats"] and o["stats"]["median"]:
            ratio = p["stats"]["median"] / o["stats"]["median"]
        rows.append({"mode": mode, "host_offload": off, "test": test, "metric": metric,
                     "label": ref["label"], "unit": ref["unit"], "better": ref["better"],
                     "main": (test.split("@")[0], metric) in {(t, m) for t, m, *_ in MAIN},
                     "ovs_sut": o["sut"] if o else None, "pyvs_sut": p["sut"] if p else None,
                     "ovs": o["stats"] if o else None, "pyvs": p["stats"] if p else None,
                     "ratio": ratio, "wins": wins(ratio, ref["better"]),
                     "ovs_errors": o["errors"] if o else 0,
                     "pyvs_errors": p["errors"] if p else 0,
                     "ovs_cpu_pct": o["switch_cpu_pct"] if o else None,
                     "pyvs_cpu_pct": p["switch_cpu_pct"] if p else None})
    return rows


# ----------------------------------------------------------------------------- micro
def aggregate_micro(records: list[dict]) -> list[dict]:
    """One row per micro-benchmark metric, over the rounds."""
    rows: dict[tuple[str, str], dict] = {}
    vals: dict[tuple[str, str], list[float]] = defaultdict(list)
    errors: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in records:
        for m in r.get("metrics", []):
            k = (r["case"], m["key"])
            rows.setdefault(k, {"case": r["case"], **m})
            if m["key"] in r.get("values", {}):
                vals[k].append(r["values"][m["key"]])
            elif "error" in r:
                errors[k].append(r["error"])
    out = []
    for k, row in rows.items():
        st = stats(vals[k])
        tgt = row.get("target")
        vs = None
        if st and tgt:
            vs = st["median"] / tgt if row["better"] == H else tgt / st["median"] \
                if st["median"] else None
        out.append({**row, "stats": st, "vs_target": vs, "errors": len(errors[k]),
                    "error_texts": sorted(set(errors[k]))})
    return out


# ----------------------------------------------------------------------------- text
def _cell(st: dict | None, errors: int = 0) -> str:
    if not st:
        return f"error ({errors})" if errors else "-"
    if st["n"] == 1:
        return fmt(st["median"])
    return f"{fmt(st['median'])} ({fmt(st['min'])}-{fmt(st['max'])})"


def _ratio(row: dict) -> str:
    if row["ratio"] is None:
        return "-"
    mark = {True: " ✓", False: " ✗", None: ""}[row["wins"]]
    return f"{row['ratio']:.2f}x{mark}"


def foreign_load(records: list[dict]) -> dict | None:
    """Machine busy % in the idle second before each system run: the load of others."""
    return stats([r["bg_busy_pct_before"] for r in records
                  if r.get("bg_busy_pct_before") is not None])


def render_header(raw: dict) -> list[str]:
    meta = raw.get("meta", {})
    out = [f"# pyvswitch benchmark {meta.get('started', '')}", ""]
    bg = meta.get("foreign_load") or foreign_load(raw.get("system", []))
    facts = [("machine", meta.get("machine")), ("pyvswitch commit", meta.get("commit")),
             ("OVS", meta.get("ovs_version")), ("rounds", meta.get("rounds")),
             ("mode", "quick" if meta.get("quick") else "full"),
             ("run duration per test", meta.get("duration") and f"{meta['duration']} s"),
             ("foreign load (machine busy in the idle second before each system run, "
              "2 cores = 200)", bg and f"median {fmt(bg['median'])} %, max {fmt(bg['max'])} %"),
             ("finished", meta.get("finished")), ("command", meta.get("command"))]
    out += [f"* {k}: {v}" for k, v in facts if v not in (None, "")]
    out += [f"* skipped: {s}" for s in raw.get("skipped", [])]
    out += [f"* failed: round {f.get('round')}: {f.get('step')}: {f.get('error')}"
            for f in raw.get("failures", [])]
    return out + [""]


def render_comparison(cmp_rows: list[dict], main_only: bool = False) -> list[str]:
    out = ["| test | mode | host offloads | OVS | pyvswitch | pyvswitch/OVS | unit | "
           "OVS CPU % | pyvswitch CPU % |", "|---|---|---|---|---|---|---|---|---|"]
    for r in cmp_rows:
        if main_only and not r["main"]:
            continue
        lab = r["label"] if r["main"] else f"<small>{r['label']}</small>"
        out.append(f"| {lab} | {r['mode']} | {r['host_offload']} "
                   f"({r['ovs_sut'] or '-'} / {r['pyvs_sut'] or '-'}) | "
                   f"{_cell(r['ovs'], r['ovs_errors'])} | {_cell(r['pyvs'], r['pyvs_errors'])} "
                   f"| {_ratio(r)} | {r['unit']} | {fmt(r['ovs_cpu_pct'])} | "
                   f"{fmt(r['pyvs_cpu_pct'])} |")
    return out + [""]


def render_micro(micro_rows: list[dict]) -> list[str]:
    out = ["| benchmark | median | min | max | unit | n | target | vs target |",
           "|---|---|---|---|---|---|---|---|"]
    for r in micro_rows:
        st = r["stats"] or {}
        tgt = r.get("target")
        tg = "-" if not tgt else (f">= {fmt(tgt)}" if r["better"] == H else f"<= {fmt(tgt)}")
        vs = "-" if r["vs_target"] is None else \
            f"{r['vs_target']:.2f}x {'✓' if r['vs_target'] >= 1 else '✗'}"
        if not st:
            vs = "error: " + "; ".join(r["error_texts"])[:120]
        out.append(f"| {r['label']} | {fmt(st.get('median'))} | {fmt(st.get('min'))} | "
                   f"{fmt(st.get('max'))} | {r['unit']} | {st.get('n', 0)} | {tg} | {vs} |")
    return out + [""]


def render_all_runs(agg: list[dict]) -> list[str]:
    out = ["| config | mode | host offloads | metric | median | min | max | unit | n | "
           "switch CPU % | machine busy % | errors |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in agg:
        st = r["stats"] or {}
        cpu = fmt(r["switch_cpu_pct"]) if r["switch_cpu_pct"] is not None else \
            ("kernel" if r["kind"] == "reference" else "-")
        err = str(r["errors"]) + (f" ({'; '.join(r['error_texts'])[:100]})"
                                  if r["errors"] else "")
        out.append(f"| {r['sut']} | {r['mode']} | {r['host_offload']} | {r['label']} | "
                   f"{fmt(st.get('median'))} | {fmt(st.get('min'))} | {fmt(st.get('max'))} "
                   f"| {r['unit']} | {st.get('n', 0)} | {cpu} | "
                   f"{fmt(r['machine_busy_pct'])} | {err} |")
    return out + [""]


def render(raw: dict, cmp_rows: list[dict], micro_rows: list[dict], agg: list[dict],
           chart: str | None) -> str:
    out = render_header(raw)
    if cmp_rows:
        out += ["## pyvswitch / OVS 3.1, same run, same host offload setting", "",
                "Cells: median (min-max) over the rounds.  Ratio = pyvswitch / OVS; ✓ where "
                "pyvswitch is at least as good (for RTT, latency and memory lower is better). "
                "CPU = the switch process, % of one core (median).", ""]
        out += render_comparison(cmp_rows)
    if chart:
        out += [f"![pyvswitch / OVS ratios]({chart})", ""]
    if micro_rows:
        out += ["## In-process micro-benchmarks (pyvswitch)", ""] + render_micro(micro_rows)
    if agg:
        out += ["## All system runs: median/min/max per metric and configuration", ""]
        out += render_all_runs(agg)
    return "\n".join(out)


def render_short(summary: dict) -> str:
    """The headline tables only (main comparison rows, micro-benchmarks), for a README."""
    raw = {"meta": summary.get("meta", {}), "skipped": summary.get("skipped", []),
           "failures": summary.get("failures", []), "system": []}
    out = render_header(raw)[2:]
    out += render_comparison(summary["comparison"], main_only=True)
    out += render_micro(summary["micro"])
    return "\n".join(out)


# ----------------------------------------------------------------------------- chart
def write_chart(cmp_rows: list[dict], micro_rows: list[dict], path: Path) -> bool:
    """Bars of pyvswitch/OVS (and of the micro-benchmarks against their targets) on a
    log scale around 1.  False when matplotlib is missing or there is nothing to draw."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
    except ImportError:
        return False
    sysr = [r for r in cmp_rows if r["ratio"] and r["main"]]
    mic = [r for r in micro_rows if r["vs_target"]]
    panels = [p for p in (
        ("pyvswitch / OVS 3.1, same run and host offload setting\n"
         "(green: pyvswitch at least as good)",
         [f"{r['label']}{' (lower is better)' if r['better'] == L else ''} "
          f"[{r['mode']}, offloads {r['host_offload']}]" for r in sysr],
         [r["ratio"] for r in sysr], [r["wins"] for r in sysr]),
        ("in-process micro-benchmarks / issue-6 targets\n(green: target met)",
         [r["label"] for r in mic], [r["vs_target"] for r in mic],
         [r["vs_target"] >= 1 for r in mic])) if p[1]]
    if not panels:
        return False
    heights = [max(1.5, 0.32 * len(p[1]) + 0.9) for p in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, sum(heights) + 0.4),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (title, labels, values, ok) in zip(axes[:, 0], panels):
        ys = list(range(len(labels)))[::-1]
        colours = ["#2e8b57" if w else ("#c0392b" if w is False else "#7f8c8d") for w in ok]
        ax.barh(ys, values, color=colours, height=0.65)
        ax.set_xscale("log")
        lo, hi = min(values + [1.0]) / 2, max(values + [1.0]) * 3
        ticks = [t for t in _TICKS if lo <= t <= hi]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}x"))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.axvline(1.0, color="black", linewidth=1)
        ax.set_yticks(ys)
        ax.set_yticklabels(labels, fontsize=8)
        ax.set_title(title, fontsize=10)
        for y, v in zip(ys, values):
            ax.text(v, y, f" {v:.2f}x", va="center", fontsize=7)
        ax.set_xlim(lo, hi)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ----------------------------------------------------------------------------- files
def write(outdir: Path, raw: dict) -> str:
    """Write every output file of a run into ``outdir``; return the markdown report."""
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "raw.json").write_text(json.dumps(raw, indent=1) + "\n")
    with open(outdir / "system-runs.jsonl", "w") as f:
        for r in raw.get("system", []):
            f.write(json.dumps(r) + "\n")
    agg = aggregate_system(raw.get("system", []))
    cmp_rows = compare(agg)
    micro_rows = aggregate_micro(raw.get("micro", []))
    chart = "ratios.png" if write_chart(cmp_rows, micro_rows, outdir / "ratios.png") else None
    summary = {"meta": {**raw.get("meta", {}),
                        "foreign_load": foreign_load(raw.get("system", []))},
               "comparison": cmp_rows, "micro": micro_rows,
               "system": agg, "chart": chart, "skipped": raw.get("skipped", []),
               "failures": raw.get("failures", [])}
    (outdir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    text = render(raw, cmp_rows, micro_rows, agg, chart)
    if chart is None:
        text += "\n(no chart: matplotlib is not installed -- pip install -e '.[bench]')\n" \
            if not _have_matplotlib() else "\n(no chart: no ratios to draw)\n"
    (outdir / "report.md").write_text(text)
    return text


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str]) -> int:
    short = "--short" in argv
    args = [a for a in argv if a != "--short"]
    if len(args) != 1:
        print("usage: report.py [--short] RESULTS_DIR\n  rebuilds the report from "
              "RESULTS_DIR/raw.json; --short prints only the headline tables",
              file=sys.stderr)
        return 2
    d = Path(args[0])
    text = write(d, json.loads((d / "raw.json").read_text()))
    print(render_short(json.loads((d / "summary.json").read_text())) if short else text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
