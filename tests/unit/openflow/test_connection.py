"""The sans-I/O OpenFlow connection: HELLO negotiation (bitmaps, legacy hellos, no common
version), automatic echo replies, errors for bad messages that keep the connection up,
sticky framing errors, byte-at-a-time input, the Nicira session state, and a switch and a
controller talking to each other in memory."""

from __future__ import annotations

import pytest

from pyvswitch.errors import LocalProtocolError, OFPError, RemoteProtocolError
from pyvswitch.flow.flow_text import parse_flow_mod
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.codec import decode, encode
from pyvswitch.openflow.connection import (
    NEED_DATA,
    ConnectionClosed,
    MessageReceived,
    MessageRejected,
    NegotiationFailed,
    OFConnection,
    VersionNegotiated,
)
from pyvswitch.openflow.header import parse_header, split_messages

from .vectors import TO_SWITCH


def events(conn: OFConnection) -> list[object]:
    out = []
    while True:
        e = conn.next_event()
        if e is NEED_DATA:
            return out
        out.append(e)
        if isinstance(e, ConnectionClosed):
            return out


def negotiated(peer_hello: bytes, versions=None) -> OFConnection:
    conn = OFConnection("switch") if versions is None else OFConnection("switch", versions)
    conn.initiate()
    conn.receive_data(peer_hello)
    assert isinstance(events(conn)[0], VersionNegotiated)
    return conn


def test_our_hello_offers_10_13_14_in_a_14_header():
    assert OFConnection().initiate().hex() == "05000010000000000001000800000032"
    conn = OFConnection(versions=frozenset((1, 4)))
    assert conn.initiate().hex() == "04000010000000000001000800000012"
    with pytest.raises(LocalProtocolError):
        conn.initiate()


@pytest.mark.parametrize("hello,version", [
    ("0100000800000001", 1),                          # ovs-ofctl default: 1.0, no bitmap
    ("04000010000000010001000800000010", 4),          # -O OpenFlow13
    ("04000010000000010001000800000012", 4),          # -O OpenFlow10,OpenFlow13
    ("05000010000000010001000800000020", 5),          # --bundle: 1.4 only
    ("040000085528c8f0", 4),                          # os-ken: 1.3 header, no bitmap
    ("06000008000000ff", 5),                          # 1.5, no bitmap: 1.0..1.5
    ("06000010000000ff0001000800000042", 1),          # 1.5 offering 1.0 and 1.5 only
    ("07000010000000ff0001000800000092", 4),          # 1.6 offering 1.0, 1.3 and 1.6
])
def test_negotiation_picks_the_highest_common_version(hello, version):
    conn = OFConnection("switch")
    conn.initiate()
    conn.receive_data(bytes.fromhex(hello))
    assert events(conn) == [VersionNegotiated(version)]
    assert conn.version == version


def test_a_later_version_hello_offering_nothing_we_speak_fails():
    conn = OFConnection("switch")
    conn.initiate()
    conn.receive_data(bytes.fromhex("06000010000000ff0001000800000040"))  # 1.5 only
    [ev] = events(conn)
    assert isinstance(ev, NegotiationFailed) and "0x06" in ev.reason
    assert conn.version is None


def test_no_common_version_queues_hello_failed():
    conn = OFConnection("switch", frozenset((1, 4)))
    conn.initiate()
    conn.receive_data(bytes.fromhex("05000010000000010001000800000020"))
    [e] = events(conn)
    assert isinstance(e, NegotiationFailed) and "no common versions" in e.reason
    err = decode(conn.data_to_send())
    assert isinstance(err, M.Error) and err.name == "OFPHFC_INCOMPATIBLE"
    assert b"We support versions 0x01, 0x04, you support versions 0x05" in err.data
    conn.receive_data(bytes.fromhex("0514000800000002"))
    assert events(conn) == []
    with pytest.raises(LocalProtocolError):
        conn.send(M.BarrierReply())


def test_a_first_message_that_is_not_hello_fails_negotiation():
    conn = OFConnection("switch")
    conn.receive_data(bytes.fromhex("0414000800000002"))
    [e] = events(conn)
    assert isinstance(e, NegotiationFailed)
    assert decode(conn.data_to_send()).name == "OFPHFC_EPERM"


def test_echo_requests_are_answered_without_an_event():
    conn = negotiated(bytes.fromhex("0100000800000001"))
    conn.receive_data(bytes.fromhex("010200100000002a") + b"payload!")
    assert events(conn) == []
    reply = conn.data_to_send()
    assert reply == bytes.fromhex("010300100000002a") + b"payload!"
    assert conn.data_to_send() == b""


def test_wrong_version_after_hello_is_bad_version_and_the_connection_stays_up():
    conn = negotiated(bytes.fromhex("04000010000000010001000800000010"))
    bad = bytes.fromhex("0114000800000007")
    conn.receive_data(bad + bytes.fromhex("0414000800000008"))
    [rejected, ok] = events(conn)
    assert isinstance(rejected, MessageRejected) and rejected.xid == 7
    assert rejected.error.name == "OFPBRC_BAD_VERSION"
    err = conn.data_to_send()
    h = parse_header(err)
    assert (h.version, h.xid) == (4, 7)
    assert err[8:12] == bytes.fromhex("00010000") and err[12:] == bad
    assert ok == MessageReceived(M.BarrierRequest(), 8, bytes.fromhex("0414000800000008"))


def test_undecodable_messages_get_an_error_with_their_xid_and_bytes():
    conn = negotiated(bytes.fromhex("0100000800000001"))
    unknown = bytes.fromhex("011e000800000055")  # type 30 does not exist in 1.0
    conn.receive_data(unknown)
    [e] = events(conn)
    assert isinstance(e, MessageRejected) and e.error.name == "OFPBRC_BAD_TYPE"
    reply = decode(conn.data_to_send())
    assert reply.name == "OFPBRC_BAD_TYPE" and reply.data == unknown
    # the ct tuple without a valid ct_state (ovs-ofctl sends it, OVS refuses it): in 1.0
    # the match error travels as a Nicira vendor error
    fm = parse_flow_mod("ip,ct_state=+trk,ct_nw_src=198.51.100.1,actions=drop",
                        FlowModCommand.ADD)
    request = encode(fm, 1, 9)
    conn.receive_data(request)
    [e] = events(conn)
    assert isinstance(e, MessageRejected) and e.xid == 9
    assert e.error.name == "OFPBMC_BAD_PREREQ"
    out = conn.data_to_send()
    assert out[8:16] == bytes.fromhex("b0c2000000002320") and out[16:20] == bytes.fromhex(
        "00010104")
    reply = decode(out)
    assert reply.name == "OFPBMC_BAD_PREREQ" and reply.data == request


def test_framing_violations_are_sticky():
    conn = negotiated(bytes.fromhex("0100000800000001"))
    conn.receive_data(bytes.fromhex("0114000400000001"))
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    with pytest.raises(RemoteProtocolError):
        conn.next_event()
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(b"more")


def test_byte_at_a_time_input_gives_the_same_events():
    stream = (bytes.fromhex("04000010000000010001000800000010")
              + encode(M.FeaturesRequest(), 4, 2) + encode(M.EchoRequest(b"x"), 4, 3)
              + encode(M.PortDescRequest(), 4, 4) + encode(M.BarrierRequest(), 4, 5))
    whole = OFConnection("switch")
    whole.initiate()
    whole.receive_data(stream)
    expected = events(whole)
    conn = OFConnection("switch")
    conn.initiate()
    got = []
    for i in range(len(stream)):
        conn.receive_data(stream[i:i + 1])
        got += events(conn)
    assert got == expected
    assert [type(e).__name__ for e in got] == ["VersionNegotiated", "MessageReceived",
                                               "MessageReceived", "MessageReceived"]
    assert conn.data_to_send() == whole.data_to_send() == encode(M.EchoReply(b"x"), 4, 3)


def test_end_of_stream_is_connection_closed():
    conn = negotiated(bytes.fromhex("0100000800000001"))
    conn.receive_data(encode(M.BarrierRequest(), 1, 4) + b"\x01\x12")
    conn.receive_data(b"")
    evs = events(conn)
    assert [type(e) for e in evs] == [MessageReceived, ConnectionClosed]
    assert isinstance(conn.next_event(), ConnectionClosed)


def test_the_switch_follows_the_nicira_session_state():
    """ovs-ofctl's NXM + table-id setup, then a flow_mod that needs it to decode."""
    m = next(m for m in TO_SWITCH if m.file == "of10/12_add_flow_ct_new_exec_mark_label.json"
             and m.type == "NXT_FLOW_MOD")
    conn = negotiated(bytes.fromhex("0100000800000005"))
    conn.receive_data(bytes.fromhex("0104001400000006000023200000000c00000002"))
    conn.receive_data(bytes.fromhex("0104001800000008000023200000000f0100000000000000"))
    conn.receive_data(encode(M.SetConfig(0, 0xFFFF), 1, 9))
    conn.receive_data(m.data)
    evs = events(conn)
    assert conn.session.flow_format == 2 and conn.session.flow_mod_table_id
    assert conn.session.miss_send_len == 0xFFFF
    fm = evs[-1].msg
    assert isinstance(fm, FlowMod) and fm.table_id == 1


def test_a_controller_and_a_switch_in_memory():
    switch, ctl = OFConnection("switch"), OFConnection("controller", frozenset((1,)))
    ctl.receive_data(switch.initiate())
    switch.receive_data(ctl.initiate())
    assert events(switch) == [VersionNegotiated(1)]
    assert events(ctl) == [VersionNegotiated(1)]
    fm = parse_flow_mod("table=3,priority=7,ip,ct_state=+trk,actions=ct(commit),output:2",
                        FlowModCommand.ADD)
    wire = b"".join(ctl.send(m) for m in (M.SetFlowFormat(2), M.FlowModTableId(True)))
    wire += ctl.send(fm, xid=42) + ctl.send(M.BarrierRequest(), xid=43)
    switch.receive_data(wire)
    got = [e.msg for e in events(switch)]
    assert got[:2] == [M.SetFlowFormat(2), M.FlowModTableId(True)]
    assert got[2].table_id == 3 and got[2].match == fm.match and got[2].actions == fm.actions
    assert got[3] == M.BarrierRequest()
    ctl.receive_data(switch.send(M.BarrierReply(), 43))
    assert events(ctl) == [MessageReceived(M.BarrierReply(), 43, encode(M.BarrierReply(), 1,
                                                                        43))]


def test_send_before_negotiation_and_bad_roles_are_local_errors():
    with pytest.raises(LocalProtocolError):
        OFConnection("switch").send(M.BarrierReply())
    with pytest.raises(LocalProtocolError):
        OFConnection("router")
    with pytest.raises(LocalProtocolError):
        OFConnection("switch", frozenset((2,)))


def test_send_error_answers_a_request():
    conn = negotiated(bytes.fromhex("04000010000000010001000800000010"))
    request = encode(M.BarrierRequest(), 4, 77)
    data = conn.send_error(OFPError("OFPFMFC_OVERLAP"), 77, request)
    err = decode(data)
    assert err.name == "OFPFMFC_OVERLAP" and err.data == request
    assert parse_header(data).xid == 77
    assert split_messages(data) == ([data], b"")
