"""Packet-in, packet-out and flow-removed bodies.

PACKET_IN: 1.0 ``buffer_id total_len in_port reason pad data``; 1.3 ``buffer_id total_len
reason table_id cookie match pad(2) data`` where the OXM match carries ``in_port`` and the
pipeline metadata; NXT_PACKET_IN (the same with an NXM match) or NXT_PACKET_IN2
(Nicira, properties) when a 1.0/1.3 controller asked for one of them.  PACKET_OUT:
``buffer_id in_port actions_len [pad] actions data``.  FLOW_REMOVED: 1.0 (40-byte
match), NXT_FLOW_REMOVED (NXM; what a 1.0 controller that chose NXM gets), 1.3 (OXM).

Layer: openflow.  Imports: flow.match, flow.layout, errors, types, openflow.*.
"""

from __future__ import annotations

import struct

from pyvswitch.errors import OFPError
from pyvswitch.flow import layout as L
from pyvswitch.flow.match import Match, MatchBuilder
from pyvswitch.openflow.actions import decode_actions, encode_actions
from pyvswitch.openflow.actions_common import APPLY_ONLY
from pyvswitch.openflow.actions_of13 import port_from_of13
from pyvswitch.openflow.consts import OFP10_VERSION
from pyvswitch.openflow.header import U32, U64, Reader, pad8
from pyvswitch.openflow.match_of10 import OFP10_MATCH_LEN, decode_of10_match, encode_of10_match
from pyvswitch.openflow.match_oxm import (
    decode_match_tlvs,
    encode_match_tlvs,
    pull_nx_match,
    pull_ofp11_match,
    put_nx_match,
    put_ofp11_match,
)
from pyvswitch.openflow.messages import FlowRemoved, PacketIn, PacketOut
from pyvswitch.types import (
    OFPP_CONTROLLER,
    OFPP_LOCAL,
    OFPP_MAX,
    OFPP_NONE,
    ofp_port_to_of13,
)

PACKET_IN_10 = struct.Struct("!IHHBx")
PACKET_IN_13 = struct.Struct("!IHBBQ")
NX_PACKET_IN = struct.Struct("!IHBBQH6x")
PACKET_OUT_10 = struct.Struct("!IHH")
PACKET_OUT_11 = struct.Struct("!IIH6x")
FLOW_REMOVED_10 = struct.Struct("!QHBxIIH2xQQ")
NX_FLOW_REMOVED = struct.Struct("!QHBBIIHHQQ")
FLOW_REMOVED_11 = struct.Struct("!QHBBIIHHQQ")

NXPINT_PACKET = 0
NXPINT_FULL_LEN = 1
NXPINT_BUFFER_ID = 2
NXPINT_TABLE_ID = 3
NXPINT_COOKIE = 4
NXPINT_REASON = 5
NXPINT_METADATA = 6
NXPINT_USERDATA = 7


def _split_in_port(m: Match) -> tuple[int, Match]:
    b = MatchBuilder(m)
    in_port = m.value[L.IN_PORT] if m.mask[L.IN_PORT] else 0
    b.clear_slot(L.IN_PORT)
    return in_port, b.build()


def _with_in_port(m: PacketIn) -> Match:
    b = MatchBuilder(m.metadata)
    b.set_slot(L.IN_PORT, m.in_port, 0xFFFF)
    return b.build()


# ----------------------------------------------------------------------------- packet-in
def decode_packet_in(r: Reader, version: int) -> PacketIn:
    if version == OFP10_VERSION:
        buffer_id, total_len, in_port, reason = r.unpack(PACKET_IN_10, "packet_in")
        return PacketIn(in_port, r.rest(), reason, total_len, buffer_id, 0,
                        0xFFFFFFFFFFFFFFFF)
    buffer_id, total_len, reason, table_id, cookie = r.unpack(PACKET_IN_13, "packet_in")
    in_port, metadata = _split_in_port(pull_ofp11_match(r))
    r.skip(2, "packet_in")
    return PacketIn(in_port, r.rest(), reason, total_len, buffer_id, table_id, cookie,
                    metadata)


def encode_packet_in(m: PacketIn, version: int) -> bytes:
    if version == OFP10_VERSION:
        return PACKET_IN_10.pack(m.buffer_id, m.full_len, m.in_port & 0xFFFF,
                                 m.reason) + m.data
    out = bytearray(PACKET_IN_13.pack(m.buffer_id, m.full_len, m.reason, m.table_id,
                                      m.cookie))
    put_ofp11_match(out, _with_in_port(m))
    out += b"\0\0" + m.data
    return bytes(out)


def decode_nx_packet_in(r: Reader) -> PacketIn:
    """NXT_PACKET_IN (OVS ``nx_packet_in``): the pipeline metadata as an NXM match,
    then two bytes of padding and the frame."""
    buffer_id, total_len, reason, table_id, cookie, match_len = r.unpack(
        NX_PACKET_IN, "nx_packet_in")
    match, _cookie, _mask = pull_nx_match(r, match_len)
    in_port, metadata = _split_in_port(match)
    r.skip(2, "nx_packet_in")
    return PacketIn(in_port, r.rest(), reason, total_len, buffer_id, table_id, cookie,
                    metadata)


def encode_nx_packet_in(m: PacketIn) -> bytes:
    """NXT_PACKET_IN: what a controller that chose the Nicira packet-in format (1) gets,
    in any version; the metadata travels as NXM, as OVS writes it."""
    match = bytearray()
    match_len = put_nx_match(match, _with_in_port(m))
    return (NX_PACKET_IN.pack(m.buffer_id, m.full_len, m.reason, m.table_id, m.cookie,
                              match_len) + bytes(match) + b"\0\0" + m.data)


def _prop(out: bytearray, ptype: int, payload: bytes) -> None:
    n = 4 + len(payload)
    out += struct.pack("!HH", ptype, n) + payload + bytes(pad8(n))


def encode_packet_in2(m: PacketIn) -> bytes:
    """NXT_PACKET_IN2 properties (the packet, its length, table, cookie, reason, the
    pipeline metadata as NXM/OXM, and the controller action's userdata)."""
    out = bytearray()
    _prop(out, NXPINT_PACKET, m.data)
    if m.full_len != len(m.data):
        _prop(out, NXPINT_FULL_LEN, U32.pack(m.full_len))
    if m.buffer_id != 0xFFFFFFFF:
        _prop(out, NXPINT_BUFFER_ID, U32.pack(m.buffer_id))
    _prop(out, NXPINT_TABLE_ID, bytes((m.table_id,)))
    _prop(out, NXPINT_COOKIE, bytes(4) + U64.pack(m.cookie))
    _prop(out, NXPINT_REASON, bytes((m.reason,)))
    _prop(out, NXPINT_METADATA, encode_match_tlvs(_with_in_port(m), oxm=True))
    if m.userdata:
        _prop(out, NXPINT_USERDATA, m.userdata)
    return bytes(out)


def decode_packet_in2(r: Reader) -> PacketIn:
    args: dict[str, object] = {"data": b"", "in_port": 0}
    r.error = "OFPBPC_BAD_LEN"
    while r.remaining:
        ptype, plen = r.unpack(struct.Struct("!HH"), "packet_in2 property")
        if plen < 4:
            raise OFPError("OFPBPC_BAD_LEN", f"property length {plen}")
        payload = r.take(plen - 4, "packet_in2 property")
        r.skip(min(pad8(plen), r.remaining))
        if ptype == NXPINT_PACKET:
            args["data"] = payload
        elif ptype == NXPINT_FULL_LEN and len(payload) == 4:
            args["total_len"] = U32.unpack(payload)[0]
        elif ptype == NXPINT_BUFFER_ID and len(payload) == 4:
            args["buffer_id"] = U32.unpack(payload)[0]
        elif ptype == NXPINT_TABLE_ID and len(payload) == 1:
            args["table_id"] = payload[0]
        elif ptype == NXPINT_COOKIE and len(payload) == 12:
            args["cookie"] = U64.unpack_from(payload, 4)[0]
        elif ptype == NXPINT_REASON and len(payload) == 1:
            args["reason"] = payload[0]
        elif ptype == NXPINT_METADATA:
            args["in_port"], args["metadata"] = _split_in_port(decode_match_tlvs(payload)[0])
        elif ptype == NXPINT_USERDATA:
            args["userdata"] = payload
        elif ptype <= NXPINT_USERDATA:
            raise OFPError("OFPBPC_BAD_LEN", f"packet_in2 property {ptype} length")
        # other properties (continuations...) are for NXT_RESUME, which we do not do
    return PacketIn(**args)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- packet-out
def _check_in_port(port: int) -> int:
    if port >= OFPP_MAX and port not in (OFPP_LOCAL, OFPP_NONE, OFPP_CONTROLLER):
        raise OFPError("OFPBRC_BAD_PORT", f"packet_out in_port {port:#x}")
    return port


def decode_packet_out(r: Reader, version: int) -> PacketOut:
    if version == OFP10_VERSION:
        buffer_id, in_port, alen = r.unpack(PACKET_OUT_10, "packet_out")
    else:
        buffer_id, in_port, alen = r.unpack(PACKET_OUT_11, "packet_out")
        in_port = port_from_of13(in_port, "OFPBRC_BAD_PORT")
    if alen > r.remaining:
        raise OFPError("OFPBRC_BAD_LEN", f"actions_len {alen} exceeds the message")
    acts = decode_actions(r.take(alen), version, allowed=APPLY_ONLY)
    return PacketOut(acts, r.rest(), _check_in_port(in_port), buffer_id)


def encode_packet_out(m: PacketOut, version: int) -> bytes:
    acts = encode_actions(m.actions, version)
    if version == OFP10_VERSION:
        head = PACKET_OUT_10.pack(m.buffer_id, m.in_port & 0xFFFF, len(acts))
    else:
        head = PACKET_OUT_11.pack(m.buffer_id, ofp_port_to_of13(m.in_port), len(acts))
    return head + acts + m.data


# ----------------------------------------------------------------------------- flow removed
def decode_flow_removed(r: Reader, version: int, nx: bool = False) -> FlowRemoved:
    if nx:
        (cookie, prio, reason, table_id, sec, nsec, idle, match_len, packets,
         nbytes) = r.unpack(NX_FLOW_REMOVED, "flow_removed")
        match = pull_nx_match(r, match_len)[0]
        return FlowRemoved(match, cookie, prio, reason, max(table_id - 1, 0), sec, nsec,
                           idle, 0, packets, nbytes)
    if version == OFP10_VERSION:
        r.need(OFP10_MATCH_LEN, "flow_removed")
        match = decode_of10_match(r.data, r.pos)
        r.skip(OFP10_MATCH_LEN)
        cookie, prio, reason, sec, nsec, idle, packets, nbytes = r.unpack(
            FLOW_REMOVED_10, "flow_removed")
        return FlowRemoved(match, cookie, prio, reason, 0, sec, nsec, idle, 0, packets,
                           nbytes)
    (cookie, prio, reason, table_id, sec, nsec, idle, hard, packets,
     nbytes) = r.unpack(FLOW_REMOVED_11, "flow_removed")
    return FlowRemoved(pull_ofp11_match(r), cookie, prio, reason, table_id, sec, nsec, idle,
                       hard, packets, nbytes)


def encode_flow_removed(m: FlowRemoved, version: int, nx: bool = False) -> bytes:
    if nx:
        match = bytearray()
        match_len = put_nx_match(match, m.match)
        return NX_FLOW_REMOVED.pack(m.cookie, m.priority, m.reason, m.table_id + 1,
                                    m.duration_sec, m.duration_nsec, m.idle_timeout,
                                    match_len, m.packet_count, m.byte_count) + match
    if version == OFP10_VERSION:
        return encode_of10_match(m.match) + FLOW_REMOVED_10.pack(
            m.cookie, m.priority, m.reason, m.duration_sec, m.duration_nsec,
            m.idle_timeout, m.packet_count, m.byte_count)
    out = bytearray(FLOW_REMOVED_11.pack(m.cookie, m.priority, m.reason, m.table_id,
                                         m.duration_sec, m.duration_nsec, m.idle_timeout,
                                         m.hard_timeout, m.packet_count, m.byte_count))
    put_ofp11_match(out, m.match)
    return bytes(out)
