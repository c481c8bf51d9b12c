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
    python3 -m pip install -q --disable-pip-version-check -e '.[test]'
fi
