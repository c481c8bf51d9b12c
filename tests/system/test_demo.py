"""The demo as root: namespaces, real traffic, every verdict as expected, nothing left."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.netns


def netns():
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def test_demo_with_namespaces():
    before = netns()
    r = subprocess.run([sys.executable, "-m", "pyvswitch.demo", "--no-color", "--size", "5"],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    out = r.stdout
    assert "Running in-process" not in out
    assert "TCP transfer inside -> outside: PASSES (as expected)" in out
    assert "new TCP connection outside -> inside: BLOCKED (as expected)" in out
    assert "zone=1,protoinfo=(state=" in out  # the conntrack table was shown
    assert "ct_state(+est+trk),recirc_id(0x" in out  # and the megaflows
    assert out.rstrip().endswith("Every verdict was the expected one.")
    assert netns() == before
