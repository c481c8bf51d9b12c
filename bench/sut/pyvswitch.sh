# shellcheck shell=bash
# bench/sut/pyvswitch.sh -- "switch under test" driver for pyvswitch, for the shared
# benchmark (../shared/bench: bench.sh -s <this file>).  Same functions as its
# sut/ovs-netdev.sh; uses only the documented user interface: pyvswitchd, pyvs-vsctl,
# pyvs-ofctl, pyvs-appctl (on PATH after `pip install .`, else run from this checkout).
#
# Env: PYVS_HOST_OFFLOAD=on|off (default on: pyvswitch works with the kernel's default
# offloads; "off" is the like-for-like comparison with ovs-netdev, whose hosts need
# `tx off`).  The daemon gets private run/db/log directories under /tmp/d-pyvs and is
# restarted on every sut_setup, as the OVS drivers restart ovs-vswitchd.
SUT_HOST_OFFLOAD=${PYVS_HOST_OFFLOAD:-on}
if [ "$SUT_HOST_OFFLOAD" = on ]; then SUT_NAME=${SUT_NAME:-pyvswitch}; else SUT_NAME=${SUT_NAME:-pyvswitch-nooffload}; fi
PYVS_BR=${PYVS_BR:-d-br}
export PYVS_RUNDIR=${PYVS_RUNDIR:-/tmp/d-pyvs/run} PYVS_DBDIR=${PYVS_DBDIR:-/tmp/d-pyvs/db} PYVS_LOGDIR=${PYVS_LOGDIR:-/tmp/d-pyvs/log}

_PYVS_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
_pyvs_tool() {  # the installed program, or the module from this checkout
    local prog=$1; shift
    if command -v "$prog" >/dev/null 2>&1; then "$prog" "$@"; return; fi
    local mod
    case $prog in
        pyvswitchd) mod=pyvswitch.daemon.main ;; pyvs-vsctl) mod=pyvswitch.cli.vsctl ;;
        pyvs-ofctl) mod=pyvswitch.cli.ofctl ;; pyvs-appctl) mod=pyvswitch.cli.appctl ;;
    esac
    PYTHONPATH=$_PYVS_SRC${PYTHONPATH:+:$PYTHONPATH} python3 -m "$mod" "$@"
}
_pyvs_pid() { cat "$PYVS_RUNDIR/pyvswitchd.pid" 2>/dev/null; }
_pyvs_stop() {
    local pid i
    pid=$(_pyvs_pid)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    _pyvs_tool pyvs-appctl exit >/dev/null 2>&1 || kill "$pid"
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}
_pyvs_start() {
    _pyvs_stop
    rm -rf "$PYVS_DBDIR"; mkdir -p "$PYVS_RUNDIR" "$PYVS_DBDIR" "$PYVS_LOGDIR"
    _pyvs_tool pyvswitchd --detach --pidfile --log-file >/dev/null 2>&1
    local i; for i in $(seq 1 100); do [ -S "$PYVS_RUNDIR/pyvswitchd.ctl" ] && return 0; sleep 0.1; done
    echo "pyvswitchd did not start" >&2; return 1
}
sut_setup() {
    local mode=${1:-normal}
    _pyvs_start || return 1
    _pyvs_tool pyvs-vsctl add-br "$PYVS_BR" -- set bridge "$PYVS_BR" fail_mode=secure -- \
        add-port "$PYVS_BR" "$SW_IF_IN"  -- set Interface "$SW_IF_IN"  ofport_request=1 -- \
        add-port "$PYVS_BR" "$SW_IF_OUT" -- set Interface "$SW_IF_OUT" ofport_request=2
    # the bridge's own internal tap: keep it silent, as the OVS driver does
    sysctl -qw "net.ipv6.conf.$PYVS_BR.disable_ipv6=1" 2>/dev/null || true
    _pyvs_tool pyvs-ofctl del-flows "$PYVS_BR"
    if [ "$mode" = fw ]; then
        _pyvs_tool pyvs-ofctl add-flows "$PYVS_BR" - <<'F'
table=0,priority=100,arp,actions=NORMAL
table=0,priority=50,in_port=1,ip,actions=ct(commit,zone=1),output:2
table=0,priority=50,in_port=2,ip,actions=ct(zone=1,table=1)
table=0,priority=0,actions=drop
table=1,priority=50,ct_state=+trk+est,ip,actions=output:1
table=1,priority=50,ct_state=+trk+rel,ip,actions=output:1
table=1,priority=0,actions=drop
F
    else
        _pyvs_tool pyvs-ofctl add-flow "$PYVS_BR" "priority=0,actions=NORMAL"
    fi
    _pyvs_tool pyvs-appctl dpctl/flush-conntrack >/dev/null 2>&1 || true
}
sut_teardown()  { _pyvs_tool pyvs-vsctl --if-exists del-br "$PYVS_BR" >/dev/null 2>&1 || true; }
sut_pid()       { _pyvs_pid; }
sut_ct_count()  { _pyvs_tool pyvs-appctl dpctl/ct-get-nconns 2>/dev/null; }
sut_ct_flush()  { _pyvs_tool pyvs-appctl dpctl/flush-conntrack >/dev/null 2>&1; }
sut_ct_dump_lines() { _pyvs_tool pyvs-appctl dpctl/dump-conntrack | wc -l; }
sut_mem_kb()    { awk '/^VmRSS/{print $2}' "/proc/$(_pyvs_pid)/status" 2>/dev/null; }
sut_shutdown()  { sut_teardown; _pyvs_stop; }
