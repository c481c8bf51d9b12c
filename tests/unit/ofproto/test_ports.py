"""Ports: numbering as OVS allocates it, LOCAL, config/state changes, PortStatus."""

from __future__ import annotations

import pytest

from pyvswitch.errors import OFPError
from pyvswitch.ofproto import OFProto, PortReason
from pyvswitch.ofproto.ports import (
    OFPPC_NO_FLOOD,
    OFPPC_PORT_DOWN,
    OFPPS_LINK_DOWN,
    PortAllocator,
)
from pyvswitch.types import OFPP_LOCAL, OFPP_NONE


def test_numbering_local_and_requests():
    ofp = OFProto("br0")
    assert ofp.add_port("br0").ofport == OFPP_LOCAL
    assert ofp.add_port("p1").ofport == 1
    assert ofp.add_port("p2").ofport == 2
    assert ofp.add_port("p10", ofport_request=10).ofport == 10
    assert ofp.add_port("p3").ofport == 3
    assert ofp.add_port("dup", ofport_request=2).ofport == 4  # taken: automatic instead
    assert ofp.port_by_name("p10").ofport == 10
    assert ofp.port_by_name("nope") is None
    assert ofp.port_names() == {OFPP_LOCAL: "br0", 1: "p1", 2: "p2", 10: "p10", 3: "p3",
                                4: "dup"}
    with pytest.raises(OFPError):
        ofp.add_port("p1")


def test_freed_numbers_are_not_reused_for_an_hour():
    ofp = OFProto("br0")
    for name in ("a", "b", "c"):
        ofp.add_port(name, now=0.0)
    ofp.del_port(2, now=10.0)
    assert ofp.add_port("d", now=20.0).ofport == 4
    # A request for the freed number is honoured.
    ofp.del_port(4, now=20.0)
    assert ofp.add_port("e", ofport_request=4, now=21.0).ofport == 4


def test_allocator_prefers_old_frees_then_lru():
    a = PortAllocator(max_ports=6)  # automatic numbers 1..5
    for _ in range(5):
        a.alloc(None, 0.0)
    a.free(3, 100.0)
    a.free(2, 50.0)
    assert a.alloc(None, 200.0) == 2  # all used recently: least recently freed
    assert a.alloc(None, 200.0) == 3
    assert a.alloc(None, 200.0) == OFPP_NONE
    a.free(5, 0.0)
    assert a.alloc(None, 5000.0) == 5  # freed over an hour ago


def test_port_events_config_and_generation():
    ofp = OFProto("br0")
    p = ofp.add_port("p1", hw_addr=0x020000000001)
    ev = ofp.drain_events()
    assert [(e.reason, e.desc.name) for e in ev] == [(PortReason.ADD, "p1")]
    assert ofp.drain_events() == []
    gen = ofp.generation
    q = ofp.mod_port(p.ofport, OFPPC_NO_FLOOD, OFPPC_NO_FLOOD)
    assert q.config == OFPPC_NO_FLOOD and ofp.generation > gen
    q = ofp.mod_port(p.ofport, OFPPC_PORT_DOWN, OFPPC_PORT_DOWN)
    assert q.config == OFPPC_NO_FLOOD | OFPPC_PORT_DOWN and q.state & OFPPS_LINK_DOWN
    assert not q.is_live
    q = ofp.mod_port(p.ofport, 0, OFPPC_PORT_DOWN)
    assert q.state == 0 and q.is_live
    ev = ofp.drain_events()
    assert [e.reason for e in ev] == [PortReason.MODIFY] * 3
    gen = ofp.generation
    ofp.mod_port(p.ofport, 0, 0)  # no change: no event, no new generation
    assert ofp.drain_events() == [] and ofp.generation == gen
    with pytest.raises(OFPError) as e:
        ofp.mod_port(p.ofport, 0, 0, hw_addr=0x020000000002)
    assert e.value.name == "OFPPMFC_BAD_HW_ADDR"
    with pytest.raises(OFPError) as e:
        ofp.mod_port(99, 0, 0)
    assert e.value.name == "OFPPMFC_BAD_PORT"
    ofp.set_port_state(p.ofport, OFPPS_LINK_DOWN)
    assert ofp.ports[p.ofport].state == OFPPS_LINK_DOWN
    assert ofp.del_port(p.ofport).name == "p1" and ofp.del_port(p.ofport) is None
    assert [e.reason for e in ofp.drain_events()] == [PortReason.MODIFY, PortReason.DELETE]
