#!/usr/bin/env bash
# bench/run_system.sh -- pyvswitch and real Open vSwitch 3.1 (userspace datapath) on
# the shared benchmark topology, in the same run, and the table of results.
#
# usage: bench/run_system.sh [-t TESTS] [-r RUNS] [-d SECONDS] [-s "SUTS"]
#   TESTS   comma list for bench.sh (default fwcheck,ping,rr,crr1,tcp1,udp64)
#   SUTS    DRIVER:MODE words (default: pyvswitch and ovs-netdev and ovs-netdev-tso,
#           each normal and fw); "pyvswitch" means this checkout's bench/sut driver
# Env: BENCH_DIR (default /work/shared/bench: bench.sh, lib/, tools/).  Needs root.
# Results: bench/results/system-<date>.jsonl; the median table is printed at the end.
# Safety: the shared scripts use only 198.51.100.0/24 and d-* names; every run is
# bounded (timeout per configuration).  Refuses to start if d-* namespaces exist
# (someone else's benchmark is running).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=${BENCH_DIR:-/work/shared/bench}
TESTS=fwcheck,ping,rr,crr1,tcp1,udp64 RUNS=1 DUR=3
SUTS="pyvswitch:normal pyvswitch:fw ovs-netdev:normal ovs-netdev:fw ovs-netdev-tso:normal ovs-netdev-tso:fw"
while getopts "t:r:d:s:" o; do
    case $o in
        t) TESTS=$OPTARG ;; r) RUNS=$OPTARG ;; d) DUR=$OPTARG ;; s) SUTS=$OPTARG ;;
        *) sed -n '2,14p' "$0"; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "run_system.sh: needs root (namespaces, veths)" >&2; exit 1; }
[ -x "$BENCH_DIR/bench.sh" ] || { echo "run_system.sh: no $BENCH_DIR/bench.sh" >&2; exit 1; }
if ip netns list | grep -q '^d-'; then
    echo "run_system.sh: d-* namespaces exist: another benchmark is running" >&2; exit 1
fi
mkdir -p "$HERE/results"
OUT=$HERE/results/system-$(date +%Y%m%d-%H%M%S).jsonl
for s in $SUTS; do
    drv=${s%%:*} mode=${s##*:}
    [ "$drv" = pyvswitch ] && drv=$HERE/sut/pyvswitch.sh
    timeout 900 "$BENCH_DIR/bench.sh" -s "$drv" -m "$mode" -t "$TESTS" -r "$RUNS" -d "$DUR" \
        -o "$OUT" || echo "run_system.sh: $s failed (continuing)" >&2
done
# stop the OVS daemons the ovs-netdev drivers started, and the pyvswitchd of ours
( . "$HERE/sut/pyvswitch.sh"; _pyvs_stop ) || true
"$BENCH_DIR/cleanup.sh" --stop-ovs >/dev/null 2>&1 || true
echo
python3 "$BENCH_DIR/tools/summarize.py" "$OUT"
echo "results: $OUT"
