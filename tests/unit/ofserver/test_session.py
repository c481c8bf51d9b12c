"""Session-level behaviour: handshake, echo, config, features, errors and ordering."""

from __future__ import annotations

import struct

from pyvswitch.flow.flow_text import parse_flow_mod
from pyvswitch.flow.flowmod import FlowModCommand
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.consts import OFP10_VERSION, OFP13_VERSION, OFP14_VERSION
from pyvswitch.types import OFPP_LOCAL
from tests.unit.ofserver.helpers import Peer, make_mgr


def errors(peer: Peer, xid: int) -> list[M.Error]:
    return [m for m in peer.replies(xid) if isinstance(m, M.Error)]


def test_negotiates_highest_common_version():
    mgr = make_mgr()
    assert Peer(mgr, {OFP10_VERSION}).version == OFP10_VERSION
    assert Peer(mgr, {OFP10_VERSION, OFP13_VERSION}).version == OFP13_VERSION
    assert Peer(mgr, {OFP13_VERSION, OFP14_VERSION}).version == OFP14_VERSION


def test_no_common_version_sends_hello_failed_and_closes():
    mgr = make_mgr()
    conn = mgr.accepted("x", 0.0)
    # an OpenFlow 1.3 HELLO whose bitmap offers only 1.1 and 1.2
    hello = struct.pack("!BBHIHHI", 4, 0, 16, 1, 1, 8, (1 << 2) | (1 << 3))
    conn.receive(hello, 0.0)
    out = conn.data_to_send()
    # our HELLO, then OFPT_ERROR type HELLO_FAILED code INCOMPATIBLE
    first_len = struct.unpack_from("!H", out, 2)[0]
    err = out[first_len:]
    assert err[1] == 1 and struct.unpack_from("!HH", err, 8) == (0, 0)
    assert conn.close_after_flush
    conn.run(0.5)  # the peer gets the time to fail too and send its own error, as in OVS
    assert not conn.closed
    conn.run(1.0)
    assert conn.closed
    # a peer that closes first ends it at once
    conn = mgr.accepted("y", 0.0)
    conn.receive(hello, 0.0)
    conn.receive(b"", 0.1)
    assert conn.closed


def test_echo_is_answered_with_same_payload():
    p = Peer(make_mgr())
    xid = p.send(M.EchoRequest(b"hello"))
    assert p.replies(xid) == [M.EchoReply(b"hello")]


def test_features_and_port_descriptions():
    p10 = Peer(make_mgr(), {OFP10_VERSION})
    fr = p10.request(M.FeaturesRequest())
    assert fr.n_tables == 254 and fr.n_buffers == 0
    assert [pd.port_no for pd in fr.ports] == [1, 2, OFPP_LOCAL]
    assert [pd.name for pd in fr.ports] == ["p1", "p2", "br0"]
    p13 = Peer(make_mgr())
    assert p13.request(M.FeaturesRequest()).ports == ()
    ports = p13.request(M.PortDescRequest()).ports
    assert [pd.name for pd in ports] == ["p1", "p2", "br0"]
    assert all(pd.state & 4 for pd in ports)  # LIVE
    assert len({pd.hw_addr for pd in ports}) == 3


def test_config_miss_send_len_round_trip():
    p = Peer(make_mgr())
    assert p.request(M.GetConfigRequest()).miss_send_len == 0  # service connection
    p.send(M.SetConfig(0, 0xFFFF))
    assert p.request(M.GetConfigRequest()).miss_send_len == 0xFFFF


def test_error_then_barrier_in_order_and_table_unchanged():
    mgr = make_mgr()
    p = Peer(mgr)
    before = mgr.bridge.dump_flows(show_stats=False)
    # goto_table backwards is refused by validation (OFPBIC_BAD_TABLE_ID in 1.3)
    fm = parse_flow_mod("table=3,priority=5,ip,actions=goto_table:1", FlowModCommand.ADD)
    bad = p.send(fm)
    barrier = p.send(M.BarrierRequest())
    got = p.take()
    assert [x for _, x in got] == [bad, barrier]
    assert isinstance(got[0][0], M.Error) and isinstance(got[1][0], M.BarrierReply)
    assert mgr.bridge.dump_flows(show_stats=False) == before


def test_add_flow_then_dump_shows_it():
    mgr = make_mgr()
    p = Peer(mgr)
    fm = parse_flow_mod("table=1,priority=100,ip,in_port=1,actions=output:2",
                        FlowModCommand.ADD)
    xid = p.send(fm)
    assert p.replies(xid) == []
    reply = p.request(M.FlowStatsRequest(table_id=1))
    assert len(reply.flows) == 1
    assert reply.flows[0].priority == 100 and reply.flows[0].table_id == 1


def test_table_0xff_add_refused_in_13():
    mgr = make_mgr()
    p = Peer(mgr)
    fm = parse_flow_mod("priority=7,actions=drop", FlowModCommand.ADD)
    fm.table_id = 0xFF
    xid = p.send(fm)
    errs = errors(p, xid)
    assert errs and errs[0].name == "OFPFMFC_BAD_TABLE_ID"


def test_received_reply_type_is_bad_type():
    p = Peer(make_mgr())
    xid = p.send(M.BarrierReply())
    errs = errors(p, xid)
    assert errs and errs[0].name == "OFPBRC_BAD_TYPE"


def test_framing_violation_closes_only_that_connection():
    mgr = make_mgr()
    good = Peer(mgr)
    bad = Peer(mgr)
    bad.send_raw(struct.pack("!BBHI", 4, 2, 4, 9))  # length 4 < 8
    assert bad.conn.closed
    assert good.request(M.EchoRequest(b"x")) == M.EchoReply(b"x")


def test_undecodable_message_gets_error_with_xid_and_data():
    p = Peer(make_mgr())
    # a FLOW_MOD truncated to its header + 4 bytes
    raw = struct.pack("!BBHI", 4, 14, 12, 77) + b"\0\0\0\0"
    p.send_raw(raw)
    got = p.replies(77)
    assert len(got) == 1 and isinstance(got[0], M.Error)
    assert got[0].data.startswith(raw[:12])
    assert not p.conn.closed
