"""The namespace testbed: safe addresses only, and cleanup whatever happens."""

import os
import signal
import subprocess
import sys

import pytest

from pyvswitch.testbed import Testbed, TestbedError, check_address, wait_for

pytestmark = pytest.mark.netns


def netns_with(prefix):
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    return [line.split()[0] for line in out.stdout.splitlines() if line.startswith(prefix)]


@pytest.mark.parametrize(
    "addr",
    [
        "192.0.2.5/24",
        "10.0.0.1/8",
        "198.51.101.1/24",
        "2001:db9::1/64",
        "198.51.100.1/8",
        "2001:db8::1/16",
        "not-an-ip",
    ],
)
def test_unsafe_addresses_are_refused(addr):
    with pytest.raises(TestbedError):
        check_address(addr)


@pytest.mark.parametrize("addr", ["198.51.100.7/24", "203.0.113.1/25", "2001:db8:1::5/64"])
def test_test_ranges_are_accepted(addr):
    assert str(check_address(addr)) == addr


def test_refused_host_leaves_nothing_and_topology_is_right():
    with Testbed() as tb:
        with pytest.raises(TestbedError, match="outside the test ranges"):
            tb.add_host(ipv4=["192.0.2.10/24"])
        h1 = tb.add_host(ipv4=["198.51.100.1/24"], ipv6=["2001:db8::1/64"])
        assert tb.namespaces() == [f"{tb.prefix}-sw", f"{tb.prefix}-h1"]
        addrs = tb.run(h1, ["ip", "-o", "addr", "show", "dev", "eth0"]).stdout
        assert "198.51.100.1/24" in addrs and "2001:db8::1/64" in addrs
        assert tb.run(h1, ["ip", "route", "show", "default"]).stdout == ""
        sw = tb.run_switch(["ip", "-o", "addr", "show", "dev", h1.switch_ifname]).stdout
        assert "inet " not in sw  # switch side carries no IPv4 address
        assert "state UP" in tb.run_switch(["ip", "-o", "link", "show", h1.switch_ifname]).stdout
    assert netns_with(tb.prefix) == []


def test_cleanup_on_exception_kills_processes_by_pid():
    with pytest.raises(RuntimeError, match="boom"):
        with Testbed() as tb:
            h1 = tb.add_host(ipv4=["198.51.100.1/24"])
            proc = tb.popen(h1, "sleep 60 & sleep 60")
            raise RuntimeError("boom")
    assert proc.poll() is not None
    assert netns_with(tb.prefix) == []


def test_cleanup_on_ctrl_c():
    with pytest.raises(KeyboardInterrupt):
        with Testbed() as tb:
            tb.add_host(ipv4=["198.51.100.1/24"])
            raise KeyboardInterrupt
    assert netns_with(tb.prefix) == []


def test_root_namespace_mode_disables_ipv6_and_removes_links():
    with Testbed(switch_ns=False) as tb:
        h1 = tb.add_host(ipv4=["198.51.100.1/24"])
        with open(f"/proc/sys/net/ipv6/conf/{h1.switch_ifname}/disable_ipv6") as f:
            assert f.read().strip() == "1"
        assert tb.namespaces() == [f"{tb.prefix}-h1"]
    assert not os.path.exists(f"/sys/class/net/{h1.switch_ifname}")
    assert netns_with(tb.prefix) == []


SCRIPT = """
import sys, time
from pyvswitch.testbed import Testbed
with Testbed() as tb:
    h = tb.add_host(ipv4=["198.51.100.1/24"])
    p = tb.popen(h, ["sleep", "60"])
    print(tb.prefix, p.pid, flush=True)
    time.sleep(60)
"""


def test_cleanup_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    try:
        prefix, pid = proc.stdout.readline().split()
        assert prefix.startswith("pv") and netns_with(prefix)
        assert os.path.exists(f"/proc/{pid}")
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        assert wait_for(lambda: not netns_with(prefix), 5)
        assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_switch_namespace_context_returns_home():
    with Testbed() as tb:
        before = os.readlink("/proc/thread-self/ns/net")
        with tb.in_switch_ns():
            inside = os.readlink("/proc/thread-self/ns/net")
        assert inside != before
        assert os.readlink("/proc/thread-self/ns/net") == before
