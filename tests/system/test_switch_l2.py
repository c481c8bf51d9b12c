"""pyvswitchd on veths in namespaces: L2 learning, VLAN access ports, restart, devices
that vanish and come back, the real ovs-appctl against our control socket."""

import re
import subprocess

import pytest

from pyvswitch.daemon.runner import CommandFailed
from pyvswitch.testbed import wait_for
from tests.system import fixtures
from tests.system.fixtures import add_bridge, ping, ping_eventually

switch = fixtures.switch  # the pytest fixture
pytestmark = pytest.mark.netns


def test_l2_learning_three_hosts(testbed, switch):
    hosts = [testbed.add_host(ipv4=[f"198.51.100.{n}/24"]) for n in (1, 2, 3)]
    add_bridge(switch, hosts)
    for h in hosts:  # system ports listen promiscuously
        link = testbed.run_switch(["ip", "-d", "link", "show", h.switch_ifname]).stdout
        assert re.search(r"promiscuity [1-9]", link), link
    assert ping_eventually(testbed, hosts[0], hosts[1].ip)
    for a in hosts:
        for b in hosts:
            if a is not b:
                assert ping(testbed, a, b.ip, count=1), f"{a.name} -> {b.name}"
    fdb = switch.appctl("fdb/show", "br0").splitlines()
    assert fdb[0] == " port  VLAN  MAC                Age"
    learned = {(int(m.group(1)), m.group(2)) for line in fdb[1:]
               if (m := re.match(r"\s+(\d+)\s+0\s+(\S+)\s+\d+$", line))}
    assert {(n, h.mac) for n, h in enumerate(hosts, 1)} <= learned
    # traffic between known MACs is unicast: the megaflows say so
    flows = switch.appctl("dpctl/dump-flows")
    assert re.search(rf"eth\(src={hosts[0].mac},dst={hosts[1].mac}\).*actions:\d+$", flows,
                     re.M)
    assert switch.appctl("fdb/flush", "br0") == "table successfully flushed\n"


def test_vlan_access_ports_isolate_two_pairs(testbed, switch):
    # the same subnet twice: only the tags keep the pairs apart
    hosts = [testbed.add_host(ipv4=[f"198.51.100.{n}/24"]) for n in (1, 2, 3, 4)]
    add_bridge(switch, hosts, tags=[10, 10, 20, 20])
    assert ping_eventually(testbed, hosts[0], hosts[1].ip)
    assert ping_eventually(testbed, hosts[2], hosts[3].ip)
    assert not ping(testbed, hosts[0], hosts[2].ip, count=1)
    assert not ping(testbed, hosts[1], hosts[3].ip, count=1)
    fdb = switch.appctl("fdb/show", "br0")
    assert re.search(rf"\s1\s+10\s+{hosts[0].mac}", fdb)
    assert re.search(rf"\s3\s+20\s+{hosts[2].mac}", fdb)


def test_restart_keeps_bridges_ports_and_numbers(testbed, switch):
    h1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    h2 = testbed.add_host(ipv4=["198.51.100.2/24"])
    switch.vsctl("add-br", "br0", "--", "add-port", "br0", h1.switch_ifname,
                 "--", "add-port", "br0", h2.switch_ifname,
                 "--", "set", "Interface", h2.switch_ifname, "ofport_request=7")
    before = switch.ofctl("show", "br0")
    assert f" 1({h1.switch_ifname}): " in before and f" 7({h2.switch_ifname}): " in before
    assert ping_eventually(testbed, h1, h2.ip)
    switch.stop()
    switch.start()
    after = switch.ofctl("show", "br0")
    assert f" 1({h1.switch_ifname}): " in after and f" 7({h2.switch_ifname}): " in after
    assert ping_eventually(testbed, h1, h2.ip)


def test_missing_device_refused_and_vanished_device_reopened(testbed, switch):
    h1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    h2 = testbed.add_host(ipv4=["198.51.100.2/24"])
    add_bridge(switch, [h1, h2])
    before = switch.vsctl("show")
    with pytest.raises(CommandFailed) as exc:
        switch.vsctl("add-port", "br0", "nosuchdev9")
    assert exc.value.stderr == (
        "pyvs-vsctl: Error detected while setting up 'nosuchdev9': could not open network "
        "device nosuchdev9 (No such device).  See pyvswitchd log for details.\n")
    assert switch.vsctl("show") == before
    assert ping_eventually(testbed, h1, h2.ip)

    # h2's cable is pulled out: its port shows the error, the others keep working
    testbed.run_switch(["ip", "link", "del", h2.switch_ifname])
    assert wait_for(lambda: "No such device" in switch.vsctl("show"), timeout=15)
    show = switch.vsctl("show")
    assert (f"            Interface {h2.switch_ifname}\n"
            f'                error: "could not open network device {h2.switch_ifname} '
            '(No such device)"') in show
    assert switch.appctl("version")
    # ... and plugged back in: reopened without any command
    testbed.run_switch(["ip", "link", "add", h2.switch_ifname, "type", "veth", "peer", "name",
                        "eth0", "netns", h2.ns])
    testbed.run(h2, ["ip", "link", "set", "eth0", "address", h2.mac])
    testbed.run(h2, ["ip", "addr", "add", h2.ipv4[0], "dev", "eth0"])
    testbed.run(h2, ["ip", "link", "set", "eth0", "up"])
    testbed.run_switch(["ip", "link", "set", h2.switch_ifname, "up"])
    assert wait_for(lambda: "error" not in switch.vsctl("show"), timeout=15)
    assert ping_eventually(testbed, h1, h2.ip)


@pytest.mark.parametrize("kind", ["internal", "tap"])
def test_internal_and_tap_ports_carry_traffic(testbed, switch, kind):
    """A port of type internal or tap is a device the switch creates (in its own
    namespace here): the host reaches an address on it through the bridge, and the
    device goes away with the port."""
    h1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    add_bridge(switch, [h1])
    name = f"{testbed.prefix}{kind[:3]}"

    def link() -> str | None:
        r = testbed.run_switch(["ip", "-o", "link", "show", name], check=False)
        return r.stdout if r.returncode == 0 else None

    switch.vsctl("add-port", "br0", name, "--", "set", "Interface", name, f"type={kind}",
                 "ofport_request=7")
    assert wait_for(lambda: ",UP" in (link() or ""), timeout=5), link()
    assert " 7(" + name + "): " in switch.ofctl("show", "br0")
    testbed.run_switch(["ip", "addr", "add", "198.51.100.254/24", "dev", name])
    assert ping_eventually(testbed, h1, "198.51.100.254")
    switch.vsctl("del-port", "br0", name)
    assert wait_for(lambda: link() is None, timeout=5), "the device outlived its port"


def test_real_ovs_appctl_traces_through_our_socket(testbed, switch):
    h1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    h2 = testbed.add_host(ipv4=["198.51.100.2/24"])
    add_bridge(switch, [h1, h2], fail_mode="secure")
    switch.ofctl("add-flow", "br0", "priority=10,in_port=1,ip,actions=output:2")
    r = subprocess.run(["ovs-appctl", "-t", switch.paths.ctl, "ofproto/trace", "br0",
                        f"in_port=1,ip,nw_src={h1.ip},nw_dst={h2.ip}"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert " 0. ip,in_port=1, priority 10\n    output:2\n" in r.stdout
    dp2 = re.search(rf"port (\d+): {h2.switch_ifname}\n", switch.appctl("dpctl/show")).group(1)
    assert r.stdout.endswith(f"Datapath actions: {dp2}\n")
    r = subprocess.run(["ovs-appctl", "-t", switch.paths.ctl, "ofproto/trace", "br9",
                        "in_port=1"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and r.stderr.startswith("br9: unknown bridge\n")
