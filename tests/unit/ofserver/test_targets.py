"""OpenFlow target strings, as ovs-vsctl set-controller and ovs-ofctl accept them."""

from __future__ import annotations

import pytest

from pyvswitch.errors import ConfigError
from pyvswitch.ofserver.targets import OFP_TCP_PORT, mgmt_target, parse_target


@pytest.mark.parametrize("text,passive,kind,host,port,path", [
    ("tcp:198.51.100.9:6633", False, "tcp", "198.51.100.9", 6633, ""),
    ("tcp:198.51.100.9", False, "tcp", "198.51.100.9", OFP_TCP_PORT, ""),
    ("tcp:[2001:db8::1]:6653", False, "tcp", "2001:db8::1", 6653, ""),
    ("ptcp:", True, "tcp", "", OFP_TCP_PORT, ""),
    ("ptcp:6634", True, "tcp", "", 6634, ""),
    ("ptcp:6634:127.0.0.1", True, "tcp", "127.0.0.1", 6634, ""),
    ("ptcp:0:[::1]", True, "tcp", "::1", 0, ""),
    ("unix:/run/ctl.sock", False, "unix", "", 0, "/run/ctl.sock"),
    ("punix:/run/br0.snoop", True, "unix", "", 0, "/run/br0.snoop"),
])
def test_parse(text, passive, kind, host, port, path):
    t = parse_target(text)
    assert (t.passive, t.kind, t.host, t.port, t.path) == (passive, kind, host, port, path)
    assert t.is_primary is (not passive)


@pytest.mark.parametrize("text,msg", [
    ("tcp", "not a valid OpenFlow target"),
    ("tcp:", "missing IP address"),
    ("tcp:198.51.100.9:70000", "bad port number"),
    ("tcp:not-an-ip:6653", "bad IP address"),
    ("ssl:198.51.100.9:6653", "SSL connections are not supported"),
    ("udp:198.51.100.9:6653", 'unknown connection type "udp"'),
    ("unix:", "missing socket path"),
])
def test_bad_targets(text, msg):
    with pytest.raises(ConfigError, match=msg):
        parse_target(text)


def test_management_socket():
    t = mgmt_target("/var/run/pyvswitch", "br0")
    assert t.passive and t.path == "/var/run/pyvswitch/br0.mgmt"
