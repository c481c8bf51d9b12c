"""Statistics request and reply bodies (OpenFlow 1.0 stats, 1.3 multipart, Nicira NXST):
DESC, FLOW, AGGREGATE, TABLE, PORT_STATS, PORT_DESC, GROUP, GROUP_DESC, GROUP_FEATURES.

Reply bodies are produced as a list of *entries* (bytes) so that
:mod:`pyvswitch.openflow.multipart` can spread them over several messages with the MORE
flag; decoders read one message's entries.  Flow durations travel as seconds plus
nanoseconds rounded to whole milliseconds (ovs-ofctl then prints them like OVS), and the
Nicira ``idle_age``/``hard_age`` are "seconds plus one" (0 = unknown).

Layer: openflow.  Imports: flow.*, errors, types, openflow.*.
"""

from __future__ import annotations

import struct

from pyvswitch.errors import OFPError
from pyvswitch.flow.flowmod import FlowStats
from pyvswitch.flow.ofpacts import GroupDesc
from pyvswitch.openflow.actions_of13 import port_from_of13
from pyvswitch.openflow.consts import OFP10_VERSION, OFP13_VERSION, OFP14_VERSION
from pyvswitch.openflow.header import Reader, cstr, pad8, put_cstr
from pyvswitch.openflow.instructions import decode_flow_actions, encode_flow_actions
from pyvswitch.openflow.match_of10 import OFP10_MATCH_LEN, decode_of10_match, encode_of10_match
from pyvswitch.openflow.match_oxm import (
    pull_nx_match,
    pull_ofp11_match,
    put_nx_match,
    put_ofp11_match,
)
from pyvswitch.openflow.messages import (
    AggregateStatsReply,
    AggregateStatsRequest,
    DescReply,
    FlowStatsRequest,
    GroupFeaturesReply,
    GroupStats,
    PortStats,
    TableStats,
)
from pyvswitch.openflow.msg_flow import (
    group_type,
    pull_group_props,
    pull_of11_buckets,
    pull_of15_buckets,
    put_group_props,
    put_of11_buckets,
    put_of15_buckets,
)
from pyvswitch.types import ofp_port_to_of13

DESC = struct.Struct("!256s256s256s32s256s")
FLOW_REQ_10 = struct.Struct("!BxH")
FLOW_REQ_NX = struct.Struct("!HHB3x")
FLOW_REQ_11 = struct.Struct("!B3xII4xQQ")
AGG_REPLY = struct.Struct("!QQI4x")
FLOW_10 = struct.Struct("!HBx")
FLOW_10_TAIL = struct.Struct("!IIHHH6xQQQ")
FLOW_NX = struct.Struct("!HBxIIHHHHHHQQQ")
FLOW_11 = struct.Struct("!HBxIIHHHHHxxQQQ")
TABLE_10 = struct.Struct("!B3x32sIIIQQ")
TABLE_13 = struct.Struct("!B3xIQQ")
PORT_REQ_10 = struct.Struct("!H6x")
PORT_REQ_11 = struct.Struct("!I4x")
PORT_10 = struct.Struct("!H6x12Q")
PORT_13 = struct.Struct("!I4x12QII")
PORT_14 = struct.Struct("!H2xIII8Q")
PORT_14_ETH = struct.Struct("!HH4x4Q")
GROUP_REQ = struct.Struct("!I4x")
GROUP_STATS = struct.Struct("!H2xII4xQQII")
GROUP_DESC_11 = struct.Struct("!HBxI")
GROUP_DESC_15 = struct.Struct("!HBxIH6x")
GROUP_FEATURES = struct.Struct("!II4I4I")
_PROP = struct.Struct("!HH")


def split_duration(seconds: float) -> tuple[int, int]:
    """(sec, nsec) with nsec a whole number of milliseconds, as OVS reports."""
    sec = int(seconds)
    ms = round((seconds - sec) * 1000)
    if ms >= 1000:
        sec, ms = sec + 1, ms - 1000
    return sec, ms * 1_000_000


def join_duration(sec: int, nsec: int) -> float:
    return (sec * 1_000_000_000 + nsec) / 1_000_000_000


# ----------------------------------------------------------------------------- desc
def decode_desc_reply(r: Reader) -> DescReply:
    return DescReply(*(cstr(s) for s in r.unpack(DESC, "desc reply")))


def encode_desc_reply(m: DescReply) -> bytes:
    return DESC.pack(put_cstr(m.mfr_desc, 256), put_cstr(m.hw_desc, 256),
                     put_cstr(m.sw_desc, 256), put_cstr(m.serial_num, 32),
                     put_cstr(m.dp_desc, 256))


# ----------------------------------------------------------------------------- flow requests
def decode_flow_request(r: Reader, version: int, nx: bool, cls):
    """FlowStatsRequest / AggregateStatsRequest (``cls``) from any of the three forms."""
    if nx:
        out_port, match_len, table_id = r.unpack(FLOW_REQ_NX, "flow stats request")
        match, cookie, cookie_mask = pull_nx_match(r, match_len, allow_cookie=True)
        return cls(match, table_id, out_port, cookie=cookie & cookie_mask,
                   cookie_mask=cookie_mask, nx=True)
    if version == OFP10_VERSION:
        r.need(OFP10_MATCH_LEN + FLOW_REQ_10.size, "flow stats request")
        match = decode_of10_match(r.data, r.pos)
        r.skip(OFP10_MATCH_LEN)
        table_id, out_port = r.unpack(FLOW_REQ_10)
        return cls(match, table_id, out_port)
    table_id, out_port, out_group, cookie, cookie_mask = r.unpack(FLOW_REQ_11,
                                                                  "flow stats request")
    match = pull_ofp11_match(r)
    return cls(match, table_id, port_from_of13(out_port, "OFPBRC_BAD_PORT"), out_group,
               cookie & cookie_mask, cookie_mask)


def encode_flow_request(m: FlowStatsRequest | AggregateStatsRequest, version: int,
                        nx: bool) -> bytes:
    if nx:
        match = bytearray()
        match_len = put_nx_match(match, m.match, m.cookie, m.cookie_mask)
        return FLOW_REQ_NX.pack(m.out_port & 0xFFFF, match_len, m.table_id) + match
    if version == OFP10_VERSION:
        return encode_of10_match(m.match) + FLOW_REQ_10.pack(m.table_id, m.out_port & 0xFFFF)
    out = bytearray(FLOW_REQ_11.pack(m.table_id, ofp_port_to_of13(m.out_port), m.out_group,
                                     m.cookie & m.cookie_mask, m.cookie_mask))
    put_ofp11_match(out, m.match)
    return bytes(out)


def decode_aggregate_reply(r: Reader, nx: bool) -> AggregateStatsReply:
    packets, nbytes, flows = r.unpack(AGG_REPLY, "aggregate reply")
    return AggregateStatsReply(packets, nbytes, flows, nx)


def encode_aggregate_reply(m: AggregateStatsReply) -> bytes:
    return AGG_REPLY.pack(m.packet_count, m.byte_count, m.flow_count)


# ----------------------------------------------------------------------------- flow stats
def _age(value: int | None) -> int:
    return 0 if value is None else min(value + 1, 0xFFFF)


def encode_flow_entry(fs: FlowStats, version: int, nx: bool) -> bytes:
    sec, nsec = split_duration(fs.duration)
    if nx:
        match = bytearray()
        match_len = put_nx_match(match, fs.match)
        acts = encode_flow_actions(fs.actions, OFP10_VERSION, fs.match)
        length = FLOW_NX.size + len(match) + len(acts)
        return FLOW_NX.pack(length, fs.table_id, sec, nsec, fs.priority, fs.idle_timeout,
                            fs.hard_timeout, match_len, _age(fs.idle_age), _age(fs.hard_age),
                            fs.cookie, fs.packet_count, fs.byte_count) + match + acts
    if version == OFP10_VERSION:
        acts = encode_flow_actions(fs.actions, version, fs.match)
        length = FLOW_10.size + OFP10_MATCH_LEN + FLOW_10_TAIL.size + len(acts)
        return (FLOW_10.pack(length, fs.table_id) + encode_of10_match(fs.match)
                + FLOW_10_TAIL.pack(sec, nsec, fs.priority, fs.idle_timeout, fs.hard_timeout,
                                    fs.cookie, fs.packet_count, fs.byte_count) + acts)
    body = bytearray()
    put_ofp11_match(body, fs.match)
    body += encode_flow_actions(fs.actions, version, fs.match)
    importance = fs.importance if version >= OFP14_VERSION else 0
    return FLOW_11.pack(FLOW_11.size + len(body), fs.table_id, sec, nsec, fs.priority,
                        fs.idle_timeout, fs.hard_timeout, fs.flags, importance, fs.cookie,
                        fs.packet_count, fs.byte_count) + body


def decode_flow_entries(r: Reader, version: int, nx: bool) -> tuple[FlowStats, ...]:
    flows = []
    while r.remaining:
        if r.remaining < 2:
            raise OFPError("OFPBRC_BAD_LEN", "flow stats entry truncated")
        (length,) = struct.unpack_from("!H", r.data, r.pos)
        if length < 8 or length > r.remaining:
            raise OFPError("OFPBRC_BAD_LEN", f"flow stats entry length {length}")
        e = r.sub(length)
        flows.append(_decode_flow_entry(e, version, nx))
    return tuple(flows)


def _decode_flow_entry(e: Reader, version: int, nx: bool) -> FlowStats:
    if nx:
        (_, table_id, sec, nsec, prio, idle, hard, match_len, idle_age, hard_age, cookie,
         packets, nbytes) = e.unpack(FLOW_NX, "flow stats entry")
        match = pull_nx_match(e, match_len)[0]
        return FlowStats(table_id, prio, match, decode_flow_actions(e.rest(), OFP10_VERSION),
                         join_duration(sec, nsec), cookie, idle, hard, 0, 0, packets, nbytes,
                         idle_age - 1 if idle_age else None, hard_age - 1 if hard_age else None)
    if version == OFP10_VERSION:
        _, table_id = e.unpack(FLOW_10, "flow stats entry")
        e.need(OFP10_MATCH_LEN, "flow stats entry")
        match = decode_of10_match(e.data, e.pos)
        e.skip(OFP10_MATCH_LEN)
        sec, nsec, prio, idle, hard, cookie, packets, nbytes = e.unpack(FLOW_10_TAIL)
        return FlowStats(table_id, prio, match, decode_flow_actions(e.rest(), version),
                         join_duration(sec, nsec), cookie, idle, hard, 0, 0, packets, nbytes)
    (_, table_id, sec, nsec, prio, idle, hard, flags, importance, cookie, packets,
     nbytes) = e.unpack(FLOW_11, "flow stats entry")
    match = pull_ofp11_match(e)
    return FlowStats(table_id, prio, match, decode_flow_actions(e.rest(), version),
                     join_duration(sec, nsec), cookie, idle, hard, flags,
                     importance if version >= OFP14_VERSION else 0, packets, nbytes)


# ----------------------------------------------------------------------------- tables
def encode_table_entry(t: TableStats, version: int) -> bytes:
    if version == OFP10_VERSION:
        return TABLE_10.pack(t.table_id, put_cstr(t.name, 32), t.wildcards, t.max_entries,
                             t.active_count, t.lookup_count, t.matched_count)
    return TABLE_13.pack(t.table_id, t.active_count, t.lookup_count, t.matched_count)


def decode_table_entries(r: Reader, version: int) -> tuple[TableStats, ...]:
    out = []
    while r.remaining:
        if version == OFP10_VERSION:
            tid, name, wc, max_entries, active, lookup, matched = r.unpack(TABLE_10, "table")
            out.append(TableStats(tid, active, lookup, matched, cstr(name), wc, max_entries))
        else:
            tid, active, lookup, matched = r.unpack(TABLE_13, "table stats")
            out.append(TableStats(tid, active, lookup, matched))
    return tuple(out)


# ----------------------------------------------------------------------------- ports
def decode_port_request(r: Reader, version: int) -> int:
    if version == OFP10_VERSION:
        return r.unpack(PORT_REQ_10, "port stats request")[0]
    return port_from_of13(r.unpack(PORT_REQ_11, "port stats request")[0], "OFPBRC_BAD_PORT")


def encode_port_request(port_no: int, version: int) -> bytes:
    if version == OFP10_VERSION:
        return PORT_REQ_10.pack(port_no & 0xFFFF)
    return PORT_REQ_11.pack(ofp_port_to_of13(port_no))


def encode_port_entry(s: PortStats, version: int) -> bytes:
    c12 = (s.rx_packets, s.tx_packets, s.rx_bytes, s.tx_bytes, s.rx_dropped, s.tx_dropped,
           s.rx_errors, s.tx_errors, s.rx_frame_err, s.rx_over_err, s.rx_crc_err,
           s.collisions)
    if version == OFP10_VERSION:
        return PORT_10.pack(s.port_no & 0xFFFF, *c12)
    if version == OFP13_VERSION:
        return PORT_13.pack(ofp_port_to_of13(s.port_no), *c12, s.duration_sec, s.duration_nsec)
    eth = PORT_14_ETH.pack(0, PORT_14_ETH.size, *c12[8:])
    return PORT_14.pack(PORT_14.size + len(eth), ofp_port_to_of13(s.port_no),
                        s.duration_sec, s.duration_nsec, *c12[:8]) + eth


def decode_port_entries(r: Reader, version: int) -> tuple[PortStats, ...]:
    out = []
    while r.remaining:
        if version == OFP10_VERSION:
            port_no, *c = r.unpack(PORT_10, "port stats")
            out.append(PortStats(port_no, *c))
        elif version == OFP13_VERSION:
            port_no, *c = r.unpack(PORT_13, "port stats")
            out.append(PortStats(port_from_of13(port_no, "OFPBRC_BAD_PORT"), *c))
        else:
            length, port_no, sec, nsec, *c8 = r.unpack(PORT_14, "port stats")
            if length < PORT_14.size:
                raise OFPError("OFPBRC_BAD_LEN", f"port stats length {length}")
            props = r.sub(length - PORT_14.size, "port stats properties")
            extra = [0, 0, 0, 0]
            while props.remaining:
                ptype, plen = props.unpack(_PROP, "port stats property")
                if plen < 4:
                    raise OFPError("OFPBPC_BAD_LEN", f"port stats property length {plen}")
                payload = props.take(plen - 4, "port stats property")
                props.skip(min(pad8(plen), props.remaining))
                if ptype == 0 and len(payload) == PORT_14_ETH.size - 4:
                    extra = list(struct.unpack_from("!4x4Q", payload))
            out.append(PortStats(port_from_of13(port_no, "OFPBRC_BAD_PORT"), *c8, *extra,
                                 sec, nsec))
    return tuple(out)


# ----------------------------------------------------------------------------- groups
def encode_group_stats_entry(g: GroupStats) -> bytes:
    buckets = b"".join(struct.pack("!QQ", p, b) for p, b in g.bucket_stats)
    return GROUP_STATS.pack(GROUP_STATS.size + len(buckets), g.group_id, g.ref_count,
                            g.packet_count, g.byte_count, g.duration_sec,
                            g.duration_nsec) + buckets


def decode_group_stats_entries(r: Reader) -> tuple[GroupStats, ...]:
    out = []
    while r.remaining:
        (length, gid, ref, packets, nbytes, sec, nsec) = r.unpack(GROUP_STATS, "group stats")
        n = length - GROUP_STATS.size
        if n < 0 or n % 16 or n > r.remaining:
            raise OFPError("OFPBRC_BAD_LEN", f"group stats length {length}")
        buckets = tuple(struct.unpack_from("!QQ", r.take(16)) for _ in range(n // 16))
        out.append(GroupStats(gid, ref, packets, nbytes, sec, nsec, buckets))
    return tuple(out)


def encode_group_desc_entry(g: GroupDesc, version: int) -> bytes:
    if version == OFP10_VERSION:
        buckets = bytearray()
        put_of15_buckets(buckets, g.buckets, g.type, version)
        props = bytearray()
        put_group_props(props, g.selection_method)
        return GROUP_DESC_15.pack(GROUP_DESC_15.size + len(buckets) + len(props),
                                  g.type.value, g.group_id, len(buckets)) + buckets + props
    buckets = bytearray()
    put_of11_buckets(buckets, g.buckets, version)
    return GROUP_DESC_11.pack(GROUP_DESC_11.size + len(buckets), g.type.value,
                              g.group_id) + buckets


def decode_group_desc_entries(r: Reader, version: int) -> tuple[GroupDesc, ...]:
    out = []
    while r.remaining:
        if r.remaining < 2:
            raise OFPError("OFPBRC_BAD_LEN", "group desc entry truncated")
        (length,) = struct.unpack_from("!H", r.data, r.pos)
        if length < 8 or length > r.remaining:
            raise OFPError("OFPBRC_BAD_LEN", f"group desc length {length}")
        e = r.sub(length)
        if version == OFP10_VERSION:
            _, gtype, gid, blen = e.unpack(GROUP_DESC_15, "group desc")
            gt = group_type(gtype)
            if blen > e.remaining:
                raise OFPError("OFPBRC_BAD_LEN", "group desc bucket list too long")
            buckets = pull_of15_buckets(e.sub(blen), gt, version)
            out.append(GroupDesc(gid, gt, buckets, pull_group_props(e)))
        else:
            _, gtype, gid = e.unpack(GROUP_DESC_11, "group desc")
            out.append(GroupDesc(gid, group_type(gtype), pull_of11_buckets(e, version)))
    return tuple(out)


def decode_group_features(r: Reader) -> GroupFeaturesReply:
    v = r.unpack(GROUP_FEATURES, "group features")
    return GroupFeaturesReply(v[0], v[1], tuple(v[2:6]), tuple(v[6:10]))  # type: ignore[arg-type]


def encode_group_features(m: GroupFeaturesReply) -> bytes:
    return GROUP_FEATURES.pack(m.types, m.capabilities, *m.max_groups, *m.actions)

