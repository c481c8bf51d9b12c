#!/usr/bin/env bash
# Install what pyvswitch, its tests and its demo need: Debian tools (as root) and the
# Python package with its test extras.  Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    need=()
    for p in iproute2 ethtool iputils-ping iperf3 netcat-openbsd tcpdump vsftpd lftp \
             openvswitch-common openvswitch-switch procps; do
        dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
    done
    # a fresh Debian has python3 but no pip
    python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
    if [ ${#need[@]} -gt 0 ]; then
        echo "setup: installing ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${need[@]}" >/dev/null
    fi
fi
if ! python3 -c 'import pyvswitch, scapy, hypothesis, ovs, pyroute2, os_ken, importlinter, ruff' >/dev/null 2>&1 \
   || [ "${PYVS_SETUP_FORCE:-0}" = 1 ]; then
    echo "setup: installing pyvswitch and its test dependencies"
    pip_args=()
    # Debian's own python3 refuses pip installs (PEP 668) unless told otherwise; this is
    # a test machine, so the packages go next to the system's
    if python3 -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'
    then
        pip_args+=(--break-system-packages)
    fi
    python3 -m pip install -q --disable-pip-version-check "${pip_args[@]}" -e '.[test]'
fi
