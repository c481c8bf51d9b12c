"""The Switch's configuration API: bridges, ports and their numbers, VLAN settings,
errors, and several bridges sharing one datapath."""

import pytest
from scapy.layers.l2 import Dot1Q, Ether

from pyvswitch.errors import ConfigError
from pyvswitch.ofproto.events import PortReason, PortStatus
from pyvswitch.ofproto_dpif.switch import Switch
from pyvswitch.types import OFPP_LOCAL

from .conftest import eth, ports, udp


def test_bridge_has_local_port_and_normal_flow():
    sw = Switch()
    br = sw.add_bridge("br0")
    assert br.xports[OFPP_LOCAL].name == "br0"
    assert sw.port("br0").dp_port == 100  # "br0" -> 100 + 0 as OVS numbers it
    assert br.dump_flows(show_stats=False) == " priority=0 actions=NORMAL\n"
    assert Switch().add_bridge("br1", fail_mode="secure").dump_flows() == ""


def test_port_numbers_follow_requests_and_names():
    sw = Switch()
    sw.add_bridge("br0")
    assert sw.add_port("br0", "eth7") == (1, 7)
    assert sw.add_port("br0", "p9", ofport_request=20) == (20, 9)
    assert sw.add_port("br0", "x") == (2, 1)
    assert sw.port_to_bridge("x") == "br0"


def test_errors():
    sw = Switch()
    sw.add_bridge("br0")
    sw.add_port("br0", "p1")
    with pytest.raises(ConfigError, match="already exists"):
        sw.add_bridge("br0")
    with pytest.raises(ConfigError, match="a port named p1 already exists"):
        sw.add_port("br0", "p1")
    with pytest.raises(ConfigError, match="no bridge named br9"):
        sw.add_port("br9", "p2")
    with pytest.raises(ConfigError, match="no port named p7"):
        sw.del_port("p7")
    with pytest.raises(ConfigError, match="local port"):
        sw.del_port("br0")
    with pytest.raises(ConfigError, match="unknown port type"):
        sw.add_port("br0", "p3", type="bogus")
    with pytest.raises(ConfigError, match="fail_mode"):
        sw.add_bridge("br2", fail_mode="open")


def test_port_status_events():
    sw = Switch()
    br = sw.add_bridge("br0")
    br.pop_events()
    sw.add_port("br0", "p1", ofport_request=1)
    sw.del_port("p1")
    evs = [e for e in br.pop_events() if isinstance(e, PortStatus)]
    assert [(e.reason, e.desc.name) for e in evs] == [(PortReason.ADD, "p1"),
                                                      (PortReason.DELETE, "p1")]


def test_two_bridges_share_the_datapath_but_not_their_tables():
    sw = Switch()
    sw.add_bridge("br0")
    sw.add_bridge("br1", fail_mode="secure")
    for i in (1, 2):
        sw.add_port("br0", f"p{i}", ofport_request=i)
    for i in (3, 4):
        sw.add_port("br1", f"p{i}", ofport_request=i - 2)
    sw.bridge("br1").add_flow("in_port=1,actions=output:2")
    assert sorted(ports(sw.receive("p1", [udp(1, 2)], 1.0))) == ["br0", "p2"]
    assert ports(sw.receive("p3", [udp(1, 2)], 1.0)) == ["p4"]
    assert ports(sw.receive("p4", [udp(1, 2)], 1.0)) == []
    sw.del_bridge("br1")
    assert "br1" not in sw.bridges and len(sw.datapath.ports()) == 4  # ovs-netdev, br0, p1, p2
    assert sorted(ports(sw.receive("p1", [udp(1, 2)], 1.1))) == ["br0", "p2"]


def test_changing_a_ports_vlan_applies_at_once():
    sw = Switch()
    sw.add_bridge("br0")
    for i in (1, 2, 3):
        sw.add_port("br0", f"p{i}", ofport_request=i)
    assert sorted(ports(sw.receive("p1", [eth(1, "ff:ff:ff:ff:ff:ff")], 1.0))) == \
        ["br0", "p2", "p3"]
    sw.set_port_vlan("p1", tag=10)
    sw.set_port_vlan("p2", tag=10)
    out = dict(sw.receive("p1", [eth(1, "ff:ff:ff:ff:ff:ff")], 1.1))
    assert sorted(out) == ["br0", "p2", "p3"]
    assert Dot1Q not in Ether(out["p2"]) and Ether(out["p3"])[Dot1Q].vlan == 10


def test_switch_trace_names_the_bridge():
    sw = Switch()
    sw.add_bridge("br0")
    sw.add_port("br0", "p1", ofport_request=1)
    text = sw.trace("br0", "in_port=1,dl_dst=ff:ff:ff:ff:ff:ff")
    assert 'bridge("br0")' in text and text.endswith("Datapath actions: 100\n")
    with pytest.raises(ConfigError, match="no bridge named br9"):
        sw.trace("br9", "in_port=1")
