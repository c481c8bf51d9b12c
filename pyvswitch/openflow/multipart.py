"""Statistics (OpenFlow 1.0) and multipart (1.3) messages: their headers, which body
codec each type uses, and the splitting of long replies.

1.0 stats: ``header type(2) flags(2) body``; Nicira stats add ``vendor(4) subtype(4)
pad(4)`` after type 0xffff.  1.3 multipart: ``header type(2) flags(2) pad(4) body``.  A
reply whose entries do not fit in 65535 bytes is sent as several messages with the same
xid, all but the last flagged MORE; :func:`merge_replies` joins the parts a client
receives.

Layer: openflow.  Imports: errors, openflow.*.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Sequence

from pyvswitch.errors import LocalProtocolError, OFPError
from pyvswitch.openflow import stats as S
from pyvswitch.openflow import table_features as TF
from pyvswitch.openflow.consts import (
    NX_VENDOR_ID,
    NXFF_NXM,
    NXST_AGGREGATE,
    NXST_FLOW,
    NXST_GROUP,
    NXST_GROUP_DESC,
    NXST_GROUP_FEATURES,
    OFP10_VERSION,
    OFP_MAX_MSG_LEN,
    OFPMP,
    OFPMPF_MORE,
    OFPT,
    wire_type,
)
from pyvswitch.openflow.header import HEADER, Reader
from pyvswitch.openflow.match_of10 import of10_expressible
from pyvswitch.openflow.messages import (
    AggregateStatsReply,
    AggregateStatsRequest,
    DescReply,
    DescRequest,
    FlowStatsReply,
    FlowStatsRequest,
    GroupDescReply,
    GroupDescRequest,
    GroupFeaturesReply,
    GroupFeaturesRequest,
    GroupStatsReply,
    GroupStatsRequest,
    PortDescReply,
    PortDescRequest,
    PortStatsReply,
    PortStatsRequest,
    SessionState,
    TableFeaturesReply,
    TableFeaturesRequest,
    TableStatsReply,
    TableStatsRequest,
)
from pyvswitch.openflow.msg_switch import decode_ports, encode_port
from pyvswitch.types import OFPG_ALL

_STAT_HDR_10 = struct.Struct("!HH")
_STAT_HDR_13 = struct.Struct("!HH4x")
_NX_STAT = struct.Struct("!II4x")

_NX_TYPES = {NXST_FLOW: OFPMP.FLOW, NXST_AGGREGATE: OFPMP.AGGREGATE,
             NXST_GROUP: OFPMP.GROUP, NXST_GROUP_DESC: OFPMP.GROUP_DESC,
             NXST_GROUP_FEATURES: OFPMP.GROUP_FEATURES}
_TO_NX = {v: k for k, v in _NX_TYPES.items()}
#: 1.0 has groups only as Nicira stats
_NX_ONLY_10 = (OFPMP.GROUP, OFPMP.GROUP_DESC, OFPMP.GROUP_FEATURES)


def _empty(r: Reader) -> None:
    if r.remaining:
        raise OFPError("OFPBRC_BAD_LEN", f"{r.remaining} unexpected bytes in the request")


def _pull_header(r: Reader, version: int) -> tuple[OFPMP, int, bool]:
    """(type, flags, nicira) of a stats/multipart message."""
    if version == OFP10_VERSION:
        stype, flags = r.unpack(_STAT_HDR_10, "stats header")
    else:
        stype, flags = r.unpack(_STAT_HDR_13, "multipart header")
    if stype == 0xFFFF:
        vendor, subtype = r.unpack(struct.Struct("!II") if version != OFP10_VERSION
                                   else _NX_STAT, "stats vendor header")
        if vendor != NX_VENDOR_ID:
            raise OFPError("OFPBRC_BAD_VENDOR", f"stats vendor {vendor:#x}")
        t = _NX_TYPES.get(subtype)
        if t is None or version != OFP10_VERSION:
            raise OFPError("OFPBRC_BAD_SUBTYPE", f"Nicira stats subtype {subtype}")
        return t, flags, True
    try:
        t = OFPMP(stype)
    except ValueError:
        raise OFPError("OFPBRC_BAD_STAT", f"stats type {stype}") from None
    if version == OFP10_VERSION and t in _NX_ONLY_10:
        raise OFPError("OFPBRC_BAD_STAT", f"stats type {stype} needs Nicira stats in 1.0")
    return t, flags, False


def decode_request(r: Reader, version: int):
    t, _flags, nx = _pull_header(r, version)
    if t is OFPMP.DESC:
        _empty(r)
        return DescRequest()
    if t in (OFPMP.FLOW, OFPMP.AGGREGATE):
        cls = FlowStatsRequest if t is OFPMP.FLOW else AggregateStatsRequest
        m = S.decode_flow_request(r, version, nx, cls)
        _empty(r)
        return m
    if t is OFPMP.TABLE:
        _empty(r)
        return TableStatsRequest()
    if t is OFPMP.PORT_STATS:
        m = PortStatsRequest(S.decode_port_request(r, version))
        _empty(r)
        return m
    if t is OFPMP.PORT_DESC:
        _empty(r)
        return PortDescRequest()
    if t is OFPMP.TABLE_FEATURES:
        return TableFeaturesRequest(TF.decode_entries(r))
    if t is OFPMP.GROUP:
        (gid,) = r.unpack(S.GROUP_REQ, "group stats request")
        _empty(r)
        return GroupStatsRequest(gid)
    if t is OFPMP.GROUP_DESC:
        gid = OFPG_ALL
        if nx:
            (gid,) = r.unpack(S.GROUP_REQ, "group desc request")
        _empty(r)
        return GroupDescRequest(gid)
    if t is OFPMP.GROUP_FEATURES:
        _empty(r)
        return GroupFeaturesRequest()
    raise OFPError("OFPBRC_BAD_STAT", f"{t.name} statistics are not supported")


def decode_reply(r: Reader, version: int):
    t, flags, nx = _pull_header(r, version)
    more = bool(flags & OFPMPF_MORE)
    if t is OFPMP.DESC:
        return S.decode_desc_reply(r)
    if t is OFPMP.FLOW:
        return FlowStatsReply(S.decode_flow_entries(r, version, nx), nx, more)
    if t is OFPMP.AGGREGATE:
        return S.decode_aggregate_reply(r, nx)
    if t is OFPMP.TABLE:
        return TableStatsReply(S.decode_table_entries(r, version), more)
    if t is OFPMP.PORT_STATS:
        return PortStatsReply(S.decode_port_entries(r, version), more)
    if t is OFPMP.PORT_DESC:
        return PortDescReply(decode_ports(r, version), more)
    if t is OFPMP.TABLE_FEATURES:
        return TableFeaturesReply(TF.decode_entries(r), more)
    if t is OFPMP.GROUP:
        return GroupStatsReply(S.decode_group_stats_entries(r), more)
    if t is OFPMP.GROUP_DESC:
        return GroupDescReply(S.decode_group_desc_entries(r, version), more)
    if t is OFPMP.GROUP_FEATURES:
        return S.decode_group_features(r)
    raise OFPError("OFPBRC_BAD_STAT", f"{t.name} statistics are not supported")


# ----------------------------------------------------------------------------- encoding
def _stats_header(version: int, xid: int, reply: bool, t: OFPMP, nx: bool,
                  flags: int = 0) -> bytes:
    mtype = wire_type(version, OFPT.MULTIPART_REPLY if reply else OFPT.MULTIPART_REQUEST)
    head = HEADER.pack(version, mtype, 0, xid & 0xFFFFFFFF)
    if version == OFP10_VERSION:
        if nx:
            return head + _STAT_HDR_10.pack(0xFFFF, flags) + _NX_STAT.pack(NX_VENDOR_ID,
                                                                           _TO_NX[t])
        return head + _STAT_HDR_10.pack(t.value, flags)
    if nx:
        raise LocalProtocolError("Nicira statistics exist only in OpenFlow 1.0")
    return head + _STAT_HDR_13.pack(t.value, flags)


def _message(head: bytes, body: bytes) -> bytes:
    msg = bytearray(head + body)
    if len(msg) > OFP_MAX_MSG_LEN:
        raise LocalProtocolError(f"statistics message of {len(msg)} bytes")
    struct.pack_into("!H", msg, 2, len(msg))
    return bytes(msg)


def split_reply(version: int, xid: int, t: OFPMP, nx: bool,
                entries: Sequence[bytes]) -> bytes:
    """Reply messages carrying ``entries``, as many as needed to stay under 64 KiB."""
    room = OFP_MAX_MSG_LEN - len(_stats_header(version, xid, True, t, nx))
    parts: list[list[bytes]] = [[]]
    used = 0
    for e in entries:
        if len(e) > room:
            raise LocalProtocolError(f"statistics entry of {len(e)} bytes cannot be sent")
        if used + len(e) > room:
            parts.append([])
            used = 0
        parts[-1].append(e)
        used += len(e)
    out = bytearray()
    for i, part in enumerate(parts):
        flags = OFPMPF_MORE if i < len(parts) - 1 else 0
        out += _message(_stats_header(version, xid, True, t, nx, flags), b"".join(part))
    return bytes(out)


def _flow_nx(m: FlowStatsRequest | AggregateStatsRequest, version: int,
             state: SessionState | None) -> bool:
    if version != OFP10_VERSION:
        return False
    if m.nx or (state is not None and state.flow_format == NXFF_NXM):
        return True
    return bool(m.cookie_mask) or not of10_expressible(m.match)


def encode_request(m, version: int, xid: int, state: SessionState | None) -> bytes:
    nx_groups = version == OFP10_VERSION
    if isinstance(m, DescRequest):
        return _message(_stats_header(version, xid, False, OFPMP.DESC, False), b"")
    if isinstance(m, (FlowStatsRequest, AggregateStatsRequest)):
        t = OFPMP.FLOW if isinstance(m, FlowStatsRequest) else OFPMP.AGGREGATE
        nx = _flow_nx(m, version, state)
        return _message(_stats_header(version, xid, False, t, nx),
                        S.encode_flow_request(m, version, nx))
    if isinstance(m, TableStatsRequest):
        return _message(_stats_header(version, xid, False, OFPMP.TABLE, False), b"")
    if isinstance(m, PortStatsRequest):
        return _message(_stats_header(version, xid, False, OFPMP.PORT_STATS, False),
                        S.encode_port_request(m.port_no, version))
    if isinstance(m, PortDescRequest):
        return _message(_stats_header(version, xid, False, OFPMP.PORT_DESC, False), b"")
    if isinstance(m, TableFeaturesRequest):
        if version == OFP10_VERSION:
            raise LocalProtocolError("TABLE_FEATURES needs OpenFlow 1.3")
        return _message(_stats_header(version, xid, False, OFPMP.TABLE_FEATURES, False),
                        b"".join(TF.encode_entry(t) for t in m.tables))
    if isinstance(m, GroupStatsRequest):
        return _message(_stats_header(version, xid, False, OFPMP.GROUP, nx_groups),
                        S.GROUP_REQ.pack(m.group_id))
    if isinstance(m, GroupDescRequest):
        body = S.GROUP_REQ.pack(m.group_id) if nx_groups else b""
        return _message(_stats_header(version, xid, False, OFPMP.GROUP_DESC, nx_groups), body)
    if isinstance(m, GroupFeaturesRequest):
        return _message(_stats_header(version, xid, False, OFPMP.GROUP_FEATURES, nx_groups),
                        b"")
    raise LocalProtocolError(f"not a statistics request: {type(m).__name__}")


def encode_reply(m, version: int, xid: int) -> bytes:
    nx_groups = version == OFP10_VERSION
    if isinstance(m, DescReply):
        return _message(_stats_header(version, xid, True, OFPMP.DESC, False),
                        S.encode_desc_reply(m))
    if isinstance(m, FlowStatsReply):
        nx = m.nx and version == OFP10_VERSION
        return split_reply(version, xid, OFPMP.FLOW, nx,
                           [S.encode_flow_entry(f, version, nx) for f in m.flows])
    if isinstance(m, AggregateStatsReply):
        nx = m.nx and version == OFP10_VERSION
        return _message(_stats_header(version, xid, True, OFPMP.AGGREGATE, nx),
                        S.encode_aggregate_reply(m))
    if isinstance(m, TableStatsReply):
        return split_reply(version, xid, OFPMP.TABLE, False,
                           [S.encode_table_entry(t, version) for t in m.tables])
    if isinstance(m, PortStatsReply):
        return split_reply(version, xid, OFPMP.PORT_STATS, False,
                           [S.encode_port_entry(s, version) for s in m.stats])
    if isinstance(m, PortDescReply):
        return split_reply(version, xid, OFPMP.PORT_DESC, False,
                           [encode_port(p, version) for p in m.ports])
    if isinstance(m, TableFeaturesReply):
        if version == OFP10_VERSION:
            raise LocalProtocolError("TABLE_FEATURES needs OpenFlow 1.3")
        return split_reply(version, xid, OFPMP.TABLE_FEATURES, False,
                           [TF.encode_entry(t) for t in m.tables])
    if isinstance(m, GroupStatsReply):
        return split_reply(version, xid, OFPMP.GROUP, nx_groups,
                           [S.encode_group_stats_entry(g) for g in m.stats])
    if isinstance(m, GroupDescReply):
        return split_reply(version, xid, OFPMP.GROUP_DESC, nx_groups,
                           [S.encode_group_desc_entry(g, version) for g in m.groups])
    if isinstance(m, GroupFeaturesReply):
        return _message(_stats_header(version, xid, True, OFPMP.GROUP_FEATURES, nx_groups),
                        S.encode_group_features(m))
    raise LocalProtocolError(f"not a statistics reply: {type(m).__name__}")


# ----------------------------------------------------------------------------- merging
_LIST_FIELD: dict[type, str] = {
    FlowStatsReply: "flows", TableStatsReply: "tables", PortStatsReply: "stats",
    PortDescReply: "ports", TableFeaturesReply: "tables", GroupStatsReply: "stats",
    GroupDescReply: "groups",
}


def merge_replies(parts: Sequence[object]) -> object:
    """Join the parts of a reply received with MORE into one value."""
    first = parts[0]
    name = _LIST_FIELD.get(type(first))
    if name is None:
        return first
    items: list[object] = []
    for p in parts:
        items.extend(getattr(p, name))
    return dataclasses.replace(first, **{name: tuple(items), "more": False})


#: message classes the multipart encoders handle
REQUEST_TYPES: tuple[type, ...] = (
    DescRequest, FlowStatsRequest, AggregateStatsRequest, TableStatsRequest,
    PortStatsRequest, PortDescRequest, TableFeaturesRequest, GroupStatsRequest,
    GroupDescRequest, GroupFeaturesRequest)
REPLY_TYPES: tuple[type, ...] = (
    DescReply, FlowStatsReply, AggregateStatsReply, TableStatsReply, PortStatsReply,
    PortDescReply, TableFeaturesReply, GroupStatsReply, GroupDescReply, GroupFeaturesReply)
