"""Round trips ``decode(encode(m)) == m`` of every message kind, per version, for values
the version can carry (hypothesis), plus the codec's header checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.errors import LocalProtocolError, OFPError
from pyvswitch.flow.actions_text import parse_actions
from pyvswitch.flow.flowmod import (
    OFPFF_RESET_COUNTS,
    FlowMod,
    FlowModCommand,
    FlowStats,
    GroupMod,
    GroupModCommand,
)
from pyvswitch.flow.match import Match
from pyvswitch.flow.match_text import parse_match
from pyvswitch.flow.ofpacts import Bucket, GroupDesc, GroupType
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.codec import decode, encode
from pyvswitch.openflow.header import split_messages
from pyvswitch.openflow.instructions import decode_flow_actions, encode_flow_actions
from pyvswitch.openflow.match_of10 import of10_expressible
from pyvswitch.openflow.match_oxm import decode_match_tlvs, encode_match_tlvs
from pyvswitch.openflow.msg_switch import _speed_kbps
from pyvswitch.openflow.multipart import merge_replies

from .gen import random_actions_text, random_match_text

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, 0xFFFFFFFFFFFFFFFF)
text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=15)
NXM10 = M.SessionState(flow_format=2, flow_mod_table_id=True)


def round_trip(msg, version: int, state: M.SessionState | None = None):
    data = encode(msg, version, 0x1234, state)
    parts = []
    rest = data
    while rest:
        msgs, rest = split_messages(rest)
        parts.extend(msgs)
    assert all(len(p) <= 0xFFFF for p in parts)
    decoded = [decode(p, state) for p in parts]
    return merge_replies(decoded) if len(decoded) > 1 else decoded[0]


def check(msg, version: int, state: M.SessionState | None = None):
    assert round_trip(msg, version, state) == msg


@st.composite
def matches(draw, nxm: bool = True, oxm: bool = False):
    """A random match as a decoder of that encoding returns it (OXM has no "no VLAN with
    PCP bits" form)."""
    rnd = draw(st.randoms(use_true_random=False))
    m = parse_match(random_match_text(rnd, nxm)[0])[0]
    return decode_match_tlvs(encode_match_tlvs(m, oxm))[0]


@st.composite
def match_and_actions(draw, version: int):
    rnd = draw(st.randoms(use_true_random=False))
    mtext, proto = random_match_text(rnd, nxm=True)
    table = rnd.randrange(200)
    match = parse_match(mtext)[0]
    acts = parse_actions(random_actions_text(rnd, mtext, proto, version, table))
    # what a decoder produces: the spelling this version gives each action
    acts = decode_flow_actions(encode_flow_actions(acts, version, match), version)
    return match, acts, table


@st.composite
def ports(draw, version: int):
    port_no = draw(u16)
    if version == 1:
        f = st.integers(0, 0xFFFF).map(lambda x: x & 0xF87F)
        curr = draw(f)
        return M.PortDesc(port_no, draw(st.integers(0, (1 << 48) - 1)), draw(text), draw(u32),
                          draw(st.sampled_from([0, 1])), curr, draw(f), draw(f), draw(f),
                          _speed_kbps(curr), 0)
    return M.PortDesc(port_no, draw(st.integers(0, (1 << 48) - 1)), draw(text),
                      draw(u32) & 0x65, draw(u32), draw(u32), draw(u32), draw(u32), draw(u32),
                      draw(u32), draw(u32))


VERSIONS = st.sampled_from([1, 4, 5])


@settings(max_examples=60, deadline=None)
@given(VERSIONS, st.data())
def test_session_messages(version, data):
    d = data.draw
    check(M.Hello(d(st.frozensets(st.integers(1, 40), min_size=1))), version)
    check(M.EchoRequest(d(st.binary(max_size=64))), version)
    check(M.EchoReply(d(st.binary(max_size=64))), version)
    for cls in (M.BarrierRequest, M.BarrierReply, M.FeaturesRequest, M.GetConfigRequest,
                M.DescRequest, M.TableStatsRequest, M.PortDescRequest, M.GroupFeaturesRequest):
        check(cls(), version)
    check(M.SetConfig(d(u16) & 3, d(u16)), version)
    check(M.GetConfigReply(d(u16) & 3, d(u16)), version)
    error = M.Error(d(u16) & 0x7FFF, d(u16), d(st.binary(max_size=40)))
    got = round_trip(error, version)
    assert (got.type, got.code, got.data, got.vendor) == (error.type, error.code, error.data, 0)
    check(M.SetPacketInFormat(d(st.integers(0, 2))), version)
    check(M.SetControllerId(d(u16)), version)
    check(M.CtFlushZone(d(u16)), version)
    check(M.FlowModTableId(d(st.booleans())), version)
    role = d(st.sampled_from(list(M.ControllerRole)[1:] if version != 1 else
                             [M.ControllerRole.EQUAL, M.ControllerRole.MASTER,
                              M.ControllerRole.SLAVE]))
    gen = d(u64) if version != 1 else 0
    check(M.RoleRequest(role, gen), version)
    check(M.RoleReply(role, gen), version)
    async_config = M.AsyncConfig((d(u32), d(u32)), (d(u32), d(u32)), (d(u32), d(u32)))
    if version == 4:
        check(M.GetAsyncRequest(), version)
        check(M.GetAsyncReply(async_config), version)
    if version in (1, 4):
        check(M.SetAsync(async_config), version)
    if version == 5:  # properties: every mask, or only some of them in a SET_ASYNC
        masks = [(d(u32), d(u32)) for _ in range(6)]
        check(M.GetAsyncRequest(), version)
        check(M.GetAsyncReply(M.AsyncConfig(*masks)), version)
        check(M.SetAsync(M.AsyncConfig(*((d(st.sampled_from([None, p])),
                                          d(st.sampled_from([None, s])))
                                         for p, s in masks))), version)
    if version != 1:
        check(M.RoleStatus(d(st.sampled_from(list(M.ControllerRole))), d(u8), d(u64)),
              version)
    if version == 1:
        check(M.SetFlowFormat(d(st.sampled_from([0, 2]))), version)
    if version != 1:
        check(M.BundleControl(d(u32), d(st.integers(0, 7)), d(u16) & 3), version)
        inner = encode(M.BarrierRequest(), version, d(u32))
        check(M.BundleAdd(d(u32), inner, d(u16) & 3), version)


@settings(max_examples=60, deadline=None)
@given(VERSIONS, st.data())
def test_switch_description_messages(version, data):
    d = data.draw
    ps = tuple(d(st.lists(ports(version), max_size=4)))
    caps = d(u32) & {1: 0xE7, 4: 0x16F, 5: 0x36F}[version]  # 1.4 adds BUNDLES
    check(M.FeaturesReply(d(u64), d(u32), d(u8), 0 if version == 1 else d(u8), caps,
                          d(u32) if version == 1 else 0, ps if version == 1 else ()), version)
    check(M.PortDescReply(ps), version)
    check(M.PortStatus(d(st.integers(0, 2)), d(ports(version))), version)
    check(M.DescReply(d(text), d(text), d(text), d(text), d(text)), version)
    check(M.PortStatsRequest(d(u16)), version)
    stats = tuple(M.PortStats(d(u16), *(d(u64) for _ in range(12)),
                              *((d(u32), d(u32)) if version != 1 else (0, 0)))
                  for _ in range(d(st.integers(0, 3))))
    check(M.PortStatsReply(stats), version)
    tables = tuple(M.TableStats(i, d(u32), d(u64), d(u64),
                                *((d(text), d(u32), d(u32)) if version == 1 else ()))
                   for i in range(d(st.integers(0, 5))))
    check(M.TableStatsReply(tables), version)
    check(M.AggregateStatsReply(d(u64), d(u64), d(u32), nx=version == 1 and d(st.booleans())),
          version)
    check(M.TableMod(d(u8), d(u32)) if version != 1 else M.PortMod(
        d(u16), d(st.integers(0, (1 << 48) - 1)), d(u32), d(u32),
        d(u16) & 0xF87F), version)
    if version == 4:
        check(M.PortMod(d(u16), d(st.integers(0, (1 << 48) - 1)), d(u32), d(u32), d(u32)),
              version)


@settings(max_examples=50, deadline=None)
@given(VERSIONS, st.data())
def test_packet_messages(version, data):
    d = data.draw
    match, acts, _ = d(match_and_actions(1 if version == 1 else 4))
    in_port = d(st.sampled_from([1, 2, 77, 0xFFFD, 0xFFFE, 0xFFFF]))
    packet = d(st.binary(max_size=200))
    check(M.PacketOut(acts if not any(type(a).__name__ in ("GotoTable", "WriteMetadata")
                                      for a in acts) else (),
                      packet, in_port, d(u32)), version)
    if version == 1:
        pin = M.PacketIn(d(u16), packet, d(u8), d(u16), d(u32))
    else:
        meta = parse_match(f"reg0={d(u32)},metadata={d(u64)},tun_id={d(u64)}")[0] \
            if d(st.booleans()) else Match()
        pin = M.PacketIn(d(u16), packet, d(u8), d(u16), d(u32), d(u8), d(u64), meta)
    check(pin, version)
    full = None if pin.total_len == len(packet) else pin.total_len  # no FULL_LEN property
    check(M.PacketIn(pin.in_port, packet, pin.reason, full, pin.buffer_id,
                     d(u8), d(u64), pin.metadata, d(st.binary(max_size=20))), version,
          M.SessionState(packet_in_format=2))
    m = d(matches(nxm=version != 1, oxm=version != 1))
    if version == 1 and not of10_expressible(m):
        m = Match()
    fr = M.FlowRemoved(m, d(u64), d(u16), d(st.integers(0, 3)),
                       0 if version == 1 else d(u8), d(u32), d(u32), d(u16),
                       0 if version == 1 else d(u16), d(u64), d(u64))
    check(fr, version)
    if version == 1:
        check(M.FlowRemoved(d(matches()), fr.cookie, fr.priority, fr.reason, d(u8) % 254,
                            fr.duration_sec, fr.duration_nsec, fr.idle_timeout, 0,
                            fr.packet_count, fr.byte_count), version, NXM10)


def _canonical_flow_mod(d, version: int) -> FlowMod:
    match, acts, table = d(match_and_actions(1 if version == 1 else 4))
    match = decode_match_tlvs(encode_match_tlvs(match, version != 1))[0]
    command = d(st.sampled_from(list(FlowModCommand)))
    fm = FlowMod(command=command, match=match, priority=d(u16), idle_timeout=d(u16),
                 hard_timeout=d(u16), buffer_id=d(u32), out_port=d(u16))
    fm.flags = d(u16) & (3 if version == 1 else 0x1F)
    if version == 1 and command is FlowModCommand.ADD:
        fm.flags |= OFPFF_RESET_COUNTS  # every OpenFlow 1.0 add resets counters (OVS)
    delete = command in (FlowModCommand.DELETE, FlowModCommand.DELETE_STRICT)
    fm.table_id = d(st.sampled_from([None, table])) if delete else table
    fm.actions = () if delete else acts
    if command is FlowModCommand.ADD:
        fm.cookie = d(u64)
        if version == 5:
            fm.importance = d(u16)
    elif version != 1:
        mask = d(u64)
        fm.cookie, fm.cookie_mask = d(u64) & mask, mask
        if delete:
            fm.out_group = d(u32)
    else:
        mask = d(st.sampled_from([0, d(u64)]))
        fm.cookie, fm.cookie_mask = d(u64) & mask, mask
        if not delete:
            fm.new_cookie = d(u64)
            fm.modify_may_add = not mask
    return fm


@settings(max_examples=70, deadline=None)
@given(VERSIONS, st.data())
def test_flow_and_group_mods(version, data):
    d = data.draw
    fm = _canonical_flow_mod(d, version)
    check(fm, version, NXM10 if version == 1 else None)
    gtype = d(st.sampled_from(list(GroupType)))
    command = d(st.sampled_from([GroupModCommand.ADD, GroupModCommand.MODIFY,
                                 GroupModCommand.DELETE]))
    _, acts, _ = d(match_and_actions(1 if version == 1 else 4))
    acts = tuple(a for a in acts if type(a).__name__ not in ("GotoTable", "WriteMetadata"))
    buckets = () if command is GroupModCommand.DELETE else tuple(
        Bucket(acts, d(u16) if gtype is GroupType.SELECT else 0,
               d(st.sampled_from([0xFFFFFFFF, 1, 7])), d(st.sampled_from([0xFFFFFFFF, 3])),
               i if version != 1 else d(st.integers(0, 0xFFFFFF00)))
        for i in range(d(st.integers(0, 3))))
    method = d(st.sampled_from(["", "hash", "dp_hash"])) if version == 1 else ""
    check(GroupMod(command, d(u32), gtype, buckets, method), version)
    check(M.GroupDescReply((GroupDesc(d(u32), gtype, buckets, method),)), version)


def _flow_stats(d, version: int, nx: bool) -> FlowStats:
    match, acts, table = d(match_and_actions(1 if version == 1 else 4))
    match = decode_match_tlvs(encode_match_tlvs(match, version != 1))[0]
    if version == 1 and not nx and not of10_expressible(match):
        match = Match()
    return FlowStats(table, d(u16), match, acts, d(st.integers(0, 10**6)) / 1000.0, d(u64),
                     d(u16), d(u16), 0 if version == 1 else d(u16) & 0x1F,
                     d(u16) if version == 5 else 0, d(u64), d(u64),
                     d(st.one_of(st.none(), st.integers(0, 0xFFFE))) if nx else None,
                     d(st.one_of(st.none(), st.integers(0, 0xFFFE))) if nx else None)


@settings(max_examples=60, deadline=None)
@given(VERSIONS, st.data())
def test_flow_statistics(version, data):
    d = data.draw
    nx = version == 1 and d(st.booleans())
    flows = tuple(_flow_stats(d, version, nx) for _ in range(d(st.integers(0, 4))))
    check(M.FlowStatsReply(flows, nx), version)
    m = d(matches(nxm=version != 1 or nx, oxm=version != 1))
    if version == 1 and not nx and not of10_expressible(m):
        m = Match()
    if version == 1:
        mask = d(u64) if nx else 0
        req = dict(table_id=d(u8), out_port=d(u16), cookie=d(u64) & mask, cookie_mask=mask,
                   nx=nx)
    else:
        mask = d(u64)
        req = dict(table_id=d(u8), out_port=d(u16), out_group=d(u32), cookie=d(u64) & mask,
                   cookie_mask=mask)
    check(M.FlowStatsRequest(m, **req), version)
    check(M.AggregateStatsRequest(m, **req), version)


@settings(max_examples=40, deadline=None)
@given(VERSIONS, st.data())
def test_group_and_table_feature_statistics(version, data):
    d = data.draw
    check(M.GroupStatsRequest(d(u32)), version)
    check(M.GroupStatsReply(tuple(
        M.GroupStats(d(u32), d(u32), d(u64), d(u64), d(u32), d(u32),
                     tuple((d(u64), d(u64)) for _ in range(d(st.integers(0, 3)))))
        for _ in range(d(st.integers(0, 3))))), version)
    check(M.GroupDescRequest(d(u32)) if version == 1 else M.GroupDescRequest(), version)
    check(M.GroupFeaturesReply(d(u32), d(u32), (d(u32), d(u32), d(u32), d(u32)),
                               (d(u32), d(u32), d(u32), d(u32))), version)
    if version != 1:
        ids = st.lists(st.one_of(u16, st.integers(0, 0xFFFFFFFF).map(
            lambda e: (0xFFFF << 32) | e)), max_size=4).map(tuple)
        oxms = st.lists(st.one_of(u32.filter(lambda h: h >> 16 != 0xFFFF),
                                  u32.map(lambda e: (0xFFFF5400 << 32) | e)),
                        max_size=4).map(tuple)
        tf = M.TableFeatures(d(st.integers(0, 254)), d(text), d(u64), d(u64), d(u32),
                             d(u32), d(ids), tuple(d(st.lists(u8, max_size=5))), d(ids),
                             d(ids), d(oxms), d(oxms), d(oxms), d(oxms),
                             d(st.one_of(st.none(), ids)))
        check(M.TableFeaturesReply((tf,)), version)
        check(M.TableFeaturesRequest((tf,)), version)
        check(M.TableFeaturesRequest(), version)


# ----------------------------------------------------------------------------- codec checks
def test_header_checks():
    barrier = encode(M.BarrierRequest(), 4, 7)
    with pytest.raises(OFPError, match="header says") as e:
        decode(barrier + b"\0")
    assert e.value.name == "OFPBRC_BAD_LEN"
    with pytest.raises(OFPError) as e:
        decode(b"\x07" + barrier[1:])
    assert e.value.name == "OFPBRC_BAD_VERSION"
    with pytest.raises(OFPError) as e:
        decode(bytes.fromhex("0418000800000001"))  # type 24 is ROLE_REQUEST but short
    assert e.value.name == "OFPBRC_BAD_LEN"
    with pytest.raises(OFPError) as e:
        decode(bytes.fromhex("011800080000000"
                             "1"))  # type 24 does not exist in 1.0
    assert e.value.name == "OFPBRC_BAD_TYPE"
    with pytest.raises(OFPError) as e:
        decode(bytes.fromhex("0414000c0000000100000000"))  # barrier with a body
    assert e.value.name == "OFPBRC_BAD_LEN"


def test_experimenter_and_statistics_dispatch_errors():
    def err(hexdata: str) -> str:
        with pytest.raises(OFPError) as e:
            decode(bytes.fromhex(hexdata))
        return e.value.name
    assert err("040400100000000100001234000000ff") == "OFPBRC_BAD_VENDOR"
    assert err("040400100000000100002320000000ff") == "OFPBRC_BAD_SUBTYPE"
    assert err("040400140000000100002320" "0000000c00000002") == "OFPBRC_BAD_SUBTYPE"
    assert err("0412001000000001007700000000" "0000") == "OFPBRC_BAD_STAT"
    assert err("0110000c0000000100060000") == "OFPBRC_BAD_STAT"
    assert err("0110001800000001ffff0000000023200000006300000000") == "OFPBRC_BAD_SUBTYPE"
    assert err("0104001400000001000023200000000c00000001") == "OFPBRC_EPERM"


def test_encoding_what_a_version_cannot_carry_is_a_local_error():
    with pytest.raises(LocalProtocolError):
        encode(M.TableFeaturesRequest(), 1, 1)
    with pytest.raises(LocalProtocolError):
        encode(M.GetAsyncRequest(), 1, 1)
    with pytest.raises(LocalProtocolError):
        encode(M.BundleControl(1, 0), 1, 1)
    fm = FlowMod(match=parse_match("ct_state=+trk")[0])
    with pytest.raises(LocalProtocolError):
        encode(fm, 1, 1, M.SessionState())
    assert encode(fm, 1, 1)[1] == 4  # without a session state it picks NXM by itself
