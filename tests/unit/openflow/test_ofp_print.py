"""Our encodings checked by the real ovs-ofctl decoder (``ofp-parse-pcap``): every reply
type the switch sends, in OpenFlow 1.0, 1.3 and 1.4, must decode without error and say
what we put in; long flow-stats and table-features replies are split with MORE; every
error name encodes to the code ovs-ofctl names the same way."""

from __future__ import annotations

import re

import pytest

from pyvswitch.flow.flow_text import format_flow_stats, parse_flow_mod
from pyvswitch.flow.flowmod import FlowModCommand, FlowStats
from pyvswitch.flow.match_text import parse_match
from pyvswitch.flow.ofpacts import Bucket, GroupDesc, GroupType, Output
from pyvswitch.openflow.codec import decode, encode
from pyvswitch.openflow.errors import _SPEC, encode_error, error_code, error_name
from pyvswitch.openflow.header import parse_header, split_messages
from pyvswitch.openflow.messages import (
    AggregateStatsReply,
    AsyncConfig,
    BundleControl,
    ControllerRole,
    DescReply,
    FeaturesReply,
    FlowRemoved,
    FlowStatsReply,
    GetAsyncReply,
    GetConfigReply,
    GroupDescReply,
    GroupFeaturesReply,
    GroupStats,
    GroupStatsReply,
    PacketIn,
    PortDesc,
    PortDescReply,
    PortStats,
    PortStatsReply,
    PortStatus,
    RoleReply,
    SessionState,
    TableFeaturesReply,
    TableStats,
    TableStatsReply,
)
from pyvswitch.openflow.multipart import merge_replies
from pyvswitch.openflow.table_features import default_table_features

from .ofprint import OVS_OFCTL, ofp_print_many
from .vectors import ALL


@pytest.fixture(autouse=True)
def _needs_ovs_ofctl():
    """The real ovs-ofctl is the oracle here; scripts/setup.sh installs it.  Missing, the
    test fails instead of silently passing."""
    assert OVS_OFCTL is not None, "ovs-ofctl is not installed (run scripts/setup.sh)"

VERSIONS = (1, 4, 5)
PORTS = (PortDesc(1, 0x020000000001, "p1", 0, 4, 0x840, 0, 0, 0, 10_000_000, 0),
         PortDesc(2, 0x020000000002, "p2", 0, 4, 0x840, 0, 0, 0, 10_000_000, 0),
         PortDesc(0xFFFE, 0xAABBCCDDEEFF, "br0", 1, 1, 0, 0, 0, 0, 0, 0))


def _parts(data: bytes) -> list[bytes]:
    msgs, rest = split_messages(data)
    assert not rest
    return msgs


def _replies(v: int) -> list[tuple[str, object, SessionState | None, list[str]]]:
    fr = FlowRemoved(parse_match("tcp,tp_dst=80")[0], 5, 100, 0, 2, 3, 4_000_000, 60, 0,
                     10, 1000)
    group = GroupDesc(1, GroupType.SELECT, (Bucket((Output(1),), 10, bucket_id=0),
                                            Bucket((Output(2),), 20, bucket_id=1)))
    cases = [
        ("FEATURES_REPLY", FeaturesReply(0xAABBCCDDEEFF, 0, 254, 0, 0x4F, 0xFFF, PORTS), None,
         ["dpid:0000aabbccddeeff", "n_tables:254"]
         + (["1(p1): addr:02:00:00:00:00:01", "LOCAL(br0)"] if v == 1 else [])),
        ("PORT_DESC reply", PortDescReply(PORTS), None,
         ["1(p1): addr:02:00:00:00:00:01", "2(p2)", "LOCAL(br0): addr:aa:bb:cc:dd:ee:ff",
          "10GB-FD COPPER", "PORT_DOWN"]),
        ("PORT_STATUS", PortStatus(2, PORTS[1]), None, ["MOD: 2(p2)"]),
        ("DESC reply", DescReply("Nicira, Inc.", "Open vSwitch", "3.1.0", "None", "br0"),
         None, ["Manufacturer: Nicira, Inc.", "DP Description: br0"]),
        ("TABLE reply", TableStatsReply(tuple(TableStats(i, 3, 4, 5) for i in range(254))),
         None, ["active=3, lookup=4, matched=5", "tables 1...253: ditto"]),
        ("PORT reply", PortStatsReply((PortStats(1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                 42, 5_000_000),)), None,
         ["rx pkts=1, bytes=3, drop=5, errs=7, frame=9, over=10, crc=11",
          "tx pkts=2, bytes=4, drop=6, errs=8, coll=12"]),
        ("GET_CONFIG_REPLY", GetConfigReply(0, 128), None, ["miss_send_len=128"]),
        ("AGGREGATE reply", AggregateStatsReply(1, 2, 3, nx=v == 1), None,
         ["packet_count=1 byte_count=2 flow_count=3"]),
        ("PACKET_IN", PacketIn(1, bytes(range(60)), 0, None, 0xFFFFFFFF, 3, 0x1234), None,
         ["in_port=1 (via no_match) data_len=60"]),
        ("NXT_PACKET_IN2", PacketIn(2, bytes(60), 1, 100, table_id=3, cookie=0x1234,
                                    userdata=b"\x01\x02"), SessionState(packet_in_format=2),
         ["table_id=3 cookie=0x1234 total_len=100 in_port=2 (via action)", "userdata=01.02"]),
        ("FLOW_REMOVED", fr, None,
         ["priority=100,tcp,tp_dst=80 reason=idle", "cookie:0x5 duration3.004s idle60 "
          "pkts10 bytes1000"]),
        ("GROUP_DESC reply", GroupDescReply((group,)), None,
         ["group_id=1,type=select,bucket=", "weight:10,actions=output:1",
          "weight:20,actions=output:2"]),
        ("GROUP reply", GroupStatsReply((GroupStats(1, 0, 1, 2, 3, 4, ((1, 2), (3, 4))),)),
         None, ["group_id=1,", "bucket1:packet_count=3,byte_count=4"]),
        ("GROUP_FEATURES reply", GroupFeaturesReply(0xF, 7, (1, 2, 3, 4), (1, 1, 1, 1)), None,
         ["Types:  0xf", "max_groups=0x4"]),
        ("ROLE_REPLY", RoleReply(ControllerRole.MASTER, 5), None, ["role=primary"]),
    ]
    if v == 1:
        cases.append(("NXT_FLOW_REMOVED", fr, SessionState(flow_format=2), ["table_id=2"]))
    if v >= 4:
        cases.append(("BUNDLE_CONTROL", BundleControl(7, 1, 3), None,
                      ["bundle_id=0x7 type=OPEN_REPLY flags=atomic ordered"]))
    if v == 4:
        cases.append(("GET_ASYNC_REPLY", GetAsyncReply(AsyncConfig((1, 2), (3, 4), (5, 6))),
                      None, ["PACKET_IN: no_match", "PORT_STATUS: modify"]))
    return cases


def test_replies_decode_in_ovs_ofctl():
    wire, expect = [], []
    for v in VERSIONS:
        for i, (name, msg, state, texts) in enumerate(_replies(v)):
            parts = _parts(encode(msg, v, 0x100 + i, state))
            assert len(parts) == 1
            wire.extend(parts)
            expect.append((v, name, texts))
    printed = ofp_print_many(wire)
    assert len(printed) == len(expect)
    for text, (v, name, texts) in zip(printed, expect):
        first = text.split("\n")[0]
        assert name in first, text
        assert "error" not in text.lower() or "errs=" in text, text
        for t in texts:
            assert t in text, (v, name, t, text)


def _dump_flows() -> list[FlowStats]:
    """The flows of the captured dumps, as ovs-ofctl parsed them from the command lines."""
    flows = []
    for m in ALL:
        argv = m.record.get("command", [])
        if (m.dir == "ofctl->switch" and "add-flow" in argv and m.type.endswith("FLOW_MOD")
                and not m.file.startswith("traps/")):
            text = argv[-1]
            if "out_port" in text:
                continue
            fm = parse_flow_mod(text, FlowModCommand.ADD, {"p1": 1, "p2": 2, "br0": 0xFFFE})
            flows.append(FlowStats(fm.table_id or 0, fm.priority, fm.match, fm.actions,
                                   1.25, fm.cookie, fm.idle_timeout, fm.hard_timeout,
                                   fm.flags, 0, 3, 300, 2, 1))
    return flows


@pytest.mark.parametrize("version,nx", [(1, True), (4, False), (5, False)])
def test_flow_stats_split_with_more_print_as_dump_flows(version, nx):
    base = _dump_flows()
    assert len(base) > 30
    flows = []
    for i in range(40):
        flows.extend(FlowStats(f.table_id, (f.priority + i) & 0xFFFF, f.match, f.actions,
                               f.duration + i, f.cookie, f.idle_timeout, f.hard_timeout,
                               f.flags, f.importance, f.packet_count, f.byte_count,
                               f.idle_age if nx else None, f.hard_age if nx else None)
                     for f in base if version != 1 or _of10_ok(f))
    parts = _parts(encode(FlowStatsReply(tuple(flows), nx=nx), version, 7))
    assert len(parts) > 1
    assert all(len(p) <= 0xFFFF for p in parts)
    assert all(parse_header(p).xid == 7 for p in parts)
    printed = ofp_print_many(parts)
    assert all("flags=[more]" in t.split("\n")[0] for t in printed[:-1])
    assert "flags=[more]" not in printed[-1].split("\n")[0]
    lines = [ln for t in printed for ln in t.split("\n")[1:]]
    ours = merge_replies([decode(p) for p in parts])
    assert len(ours.flows) == len(flows)
    assert lines == [format_flow_stats(f) for f in ours.flows]


def _of10_ok(f: FlowStats) -> bool:
    from pyvswitch.flow import ofpacts as A
    return not any(isinstance(a, (A.WriteActions, A.ClearActions, A.PushVlan))
                   or (isinstance(a, A.SetField) and a.field.name == "vlan_vid")
                   for a in f.actions)


def test_table_features_of_254_tables_are_accepted():
    tables = default_table_features(254)
    for v in (4, 5):
        parts = _parts(encode(TableFeaturesReply(tables), v, 3))
        assert len(parts) > 1
        printed = ofp_print_many(parts)
        assert not any("decode error" in t or "bad" in t.lower() for t in printed)
        first_tables = [int(re.search(r"table (\d+):", t).group(1)) for t in printed]
        assert first_tables[0] == 0 and first_tables == sorted(first_tables)
        assert "tables 250...253: ditto" in printed[-1] or "table 253:" in printed[-1]
        assert "next tables: 1-253" in printed[0]


def test_every_error_name_reaches_ovs_ofctl_with_its_name():
    wire, expect = [], []
    for v in VERSIONS:
        for name in _SPEC:
            xid = len(wire) + 1
            wire.append(encode_error(name, v, xid, b"\x01\x14\x00\x08\x00\x00\x00\x09"))
            expect.append(error_name(v, error_code(name, v)))
    printed = ofp_print_many(wire)
    assert len(printed) == len(expect)
    for text, name in zip(printed, expect):
        assert text.split("\n")[0].endswith(f": {name}"), (name, text)
