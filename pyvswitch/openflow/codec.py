"""``decode(bytes) -> message`` and ``encode(message, version, xid) -> bytes``.

The entry points of the OpenFlow codec.  :func:`decode` reads exactly one message (the
connection frames the stream), checks its version and length, and dispatches on the
message type, the Nicira/ONF experimenter subtype or the statistics type; anything it
cannot accept raises :class:`~pyvswitch.errors.OFPError` with the name OVS would answer
(BAD_VERSION, BAD_TYPE, BAD_SUBTYPE, BAD_STAT, BAD_LEN, or the match/action/instruction
error).  :func:`encode` writes a message for a version, choosing the wire form ovs-ofctl
or OVS would use; a value the version cannot express raises
:class:`~pyvswitch.errors.LocalProtocolError`.  Long statistics replies come back as
several messages concatenated.

A :class:`~pyvswitch.openflow.messages.SessionState` carries the Nicira per-connection
settings that change OpenFlow 1.0 (and NXM) encodings.

Layer: openflow.  Imports: flow.flowmod, errors, openflow.*.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from pyvswitch.errors import LocalProtocolError, OFPError
from pyvswitch.flow.flowmod import FlowMod, GroupMod
from pyvswitch.openflow import flow_templates as FT
from pyvswitch.openflow import msg_flow as MF
from pyvswitch.openflow import msg_packet as MP
from pyvswitch.openflow import msg_switch as MS
from pyvswitch.openflow import multipart as MPART
from pyvswitch.openflow.consts import (
    NX_VENDOR_ID,
    NXFF_NXM,
    NXPIF_NXT_PACKET_IN,
    NXPIF_NXT_PACKET_IN2,
    NXT_CT_FLUSH_ZONE,
    NXT_FLOW_MOD,
    NXT_FLOW_MOD_TABLE_ID,
    NXT_FLOW_REMOVED,
    NXT_GROUP_MOD,
    NXT_PACKET_IN,
    NXT_PACKET_IN2,
    NXT_ROLE_REPLY,
    NXT_ROLE_REQUEST,
    NXT_SET_ASYNC_CONFIG,
    NXT_SET_CONTROLLER_ID,
    NXT_SET_FLOW_FORMAT,
    NXT_SET_PACKET_IN_FORMAT,
    OFP10_VERSION,
    OFP13_VERSION,
    OFP14_VERSION,
    OFPHET_VERSIONBITMAP,
    OFPT,
    ONF_VENDOR_ID,
    ONFT_BUNDLE_ADD_MESSAGE,
    ONFT_BUNDLE_CONTROL,
    ONFT_ROLE_STATUS,
    SUPPORTED_VERSIONS,
    ofpt_from_wire,
    wire_type,
)
from pyvswitch.openflow.errors import decode_error_body, error_name
from pyvswitch.openflow.header import HEADER, U32, Header, Reader, pad8, parse_header
from pyvswitch.openflow.match_of10 import of10_expressible
from pyvswitch.openflow.messages import (
    BarrierReply,
    BarrierRequest,
    BundleAdd,
    BundleControl,
    CtFlushZone,
    EchoReply,
    EchoRequest,
    Error,
    FeaturesReply,
    FeaturesRequest,
    FlowModTableId,
    FlowRemoved,
    GetAsyncReply,
    GetAsyncRequest,
    GetConfigReply,
    GetConfigRequest,
    Hello,
    Message,
    PacketIn,
    PacketOut,
    PortMod,
    PortStatus,
    RoleReply,
    RoleRequest,
    RoleStatus,
    SessionState,
    SetAsync,
    SetConfig,
    SetControllerId,
    SetFlowFormat,
    SetPacketInFormat,
    TableMod,
)

Decoder = Callable[[Reader, Header, "SessionState | None"], Message]
BUNDLE_CTRL = struct.Struct("!IHH")
BUNDLE_ADD = struct.Struct("!I2xH")


def _empty(r: Reader) -> None:
    if r.remaining:
        raise OFPError("OFPBRC_BAD_LEN", f"{r.remaining} unexpected bytes in the message")


def _fixed(fn: Callable[[Reader, Header], Message]) -> Decoder:
    """A body of fixed size: nothing may follow it."""
    def decode(r: Reader, h: Header, state: SessionState | None) -> Message:
        m = fn(r, h)
        _empty(r)
        return m
    return decode


def _void(cls) -> Decoder:
    return _fixed(lambda r, h: cls())


# ----------------------------------------------------------------------------- hello
def _d_hello(r: Reader, h: Header, state: SessionState | None) -> Hello:
    versions: set[int] = set()
    found = False
    while r.remaining >= 4:
        etype, elen = struct.unpack_from("!HH", r.data, r.pos)
        if elen < 4 or elen > r.remaining:
            break  # a malformed element: fall back to the header version, as OVS does
        if etype == OFPHET_VERSIONBITMAP:
            found = True
            for i in range(4, elen - 3, 4):
                (word,) = U32.unpack_from(r.data, r.pos + i)
                base = (i // 4 - 1) * 32
                versions.update(base + b for b in range(32) if word >> b & 1)
        r.skip(min(elen + pad8(elen), r.remaining))
    if not found:
        versions = set(range(1, h.version + 1))
    return Hello(frozenset(versions))


def _e_hello(m: Hello, version: int, xid: int) -> bytes:
    if not m.versions:
        return HEADER.pack(version, 0, 8, xid)
    top = min(max(m.versions), 0xFF)
    body = b""
    if m.versions != frozenset(range(1, top + 1)):
        words = [0] * (top // 32 + 1)
        for v in m.versions:
            words[v // 32] |= 1 << (v % 32)
        payload = b"".join(U32.pack(w) for w in words)
        n = 4 + len(payload)
        body = struct.pack("!HH", OFPHET_VERSIONBITMAP, n) + payload + bytes(pad8(n))
    return HEADER.pack(top, 0, 8 + len(body), xid) + body


def _d_error(r: Reader, h: Header, state: SessionState | None) -> Error:
    ec, data = decode_error_body(h.version, r.rest())
    return Error(ec.type, ec.code, data, ec.vendor, error_name(h.version, ec))


# ----------------------------------------------------------------------------- experimenter
def _d_role_nx(cls):
    return _fixed(lambda r, h: MS.decode_role(r, OFP10_VERSION, cls))


_NX_DECODERS: dict[int, Decoder] = {
    NXT_ROLE_REQUEST: _d_role_nx(RoleRequest),
    NXT_ROLE_REPLY: _d_role_nx(RoleReply),
    NXT_SET_FLOW_FORMAT: _fixed(lambda r, h: MS.decode_set_flow_format(r)),
    NXT_FLOW_MOD: lambda r, h, s: MF.decode_nx_flow_mod(r, s),
    NXT_FLOW_REMOVED: lambda r, h, s: MP.decode_flow_removed(r, h.version, nx=True),
    NXT_FLOW_MOD_TABLE_ID: _fixed(lambda r, h: MS.decode_flow_mod_table_id(r)),
    NXT_SET_PACKET_IN_FORMAT: _fixed(lambda r, h: MS.decode_set_packet_in_format(r)),
    NXT_SET_ASYNC_CONFIG: _fixed(lambda r, h: SetAsync(MS.decode_async(r))),
    NXT_SET_CONTROLLER_ID: _fixed(lambda r, h: MS.decode_set_controller_id(r)),
    NXT_CT_FLUSH_ZONE: _fixed(lambda r, h: MS.decode_ct_flush_zone(r)),
    NXT_PACKET_IN2: lambda r, h, s: MP.decode_packet_in2(r),
    NXT_PACKET_IN: lambda r, h, s: MP.decode_nx_packet_in(r),
    NXT_GROUP_MOD: lambda r, h, s: MF.decode_of15_group_mod(r, h.version),
}
#: Nicira messages OVS accepts only in OpenFlow 1.0
_NX_10_ONLY = frozenset((NXT_SET_FLOW_FORMAT, NXT_GROUP_MOD))


def _d_bundle_control(r: Reader, h: Header, state: SessionState | None) -> BundleControl:
    bundle_id, btype, flags = r.unpack(BUNDLE_CTRL, "bundle control")
    return BundleControl(bundle_id, btype, flags, r.rest())


def _d_bundle_add(r: Reader, h: Header, state: SessionState | None) -> BundleAdd:
    bundle_id, flags = r.unpack(BUNDLE_ADD, "bundle add")
    data, pos, end = r.data, r.pos, r.end
    if end - pos < 8:
        raise OFPError("OFPBFC_MSG_BAD_LEN", "bundled message has no header")
    version, _t, length, _x = HEADER.unpack_from(data, pos)
    if length < 8 or length > end - pos:
        raise OFPError("OFPBFC_MSG_BAD_LEN", f"bundled message length {length}")
    if version != h.version:
        raise OFPError("OFPBFC_BAD_VERSION", "bundled message has another version")
    r.pos = end
    return BundleAdd(bundle_id, bytes(data[pos:pos + length]), flags,
                     bytes(data[pos + length:end]))


def _d_experimenter(r: Reader, h: Header, state: SessionState | None) -> Message:
    (vendor,) = r.unpack(U32, "experimenter header")
    (subtype,) = r.unpack(U32, "experimenter header")
    if vendor == NX_VENDOR_ID:
        decoder = _NX_DECODERS.get(subtype)
        if decoder is None or (subtype in _NX_10_ONLY and h.version != OFP10_VERSION):
            raise OFPError("OFPBRC_BAD_SUBTYPE", f"Nicira message subtype {subtype}")
        return decoder(r, h, state)
    if vendor == ONF_VENDOR_ID and h.version == OFP13_VERSION:
        if subtype == ONFT_BUNDLE_CONTROL:
            return _d_bundle_control(r, h, state)
        if subtype == ONFT_BUNDLE_ADD_MESSAGE:
            return _d_bundle_add(r, h, state)
        if subtype == ONFT_ROLE_STATUS:
            return _fixed(lambda r, h: MS.decode_role_status(r))(r, h, state)
        raise OFPError("OFPBRC_BAD_SUBTYPE", f"ONF message subtype {subtype}")
    raise OFPError("OFPBRC_BAD_VENDOR", f"experimenter {vendor:#x}")


# ----------------------------------------------------------------------------- dispatch
def _d_flow_mod(r: Reader, h: Header, state: SessionState | None) -> FlowMod:
    if h.version == OFP10_VERSION:
        return MF.decode_of10_flow_mod(r, state)
    return MF.decode_of13_flow_mod(r, h.version)


def _d_async(cls):
    def decode(r: Reader, h: Header, state: SessionState | None) -> Message:
        if h.version == OFP13_VERSION:
            m = cls(MS.decode_async(r))
            _empty(r)
            return m
        if h.version >= OFP14_VERSION:
            return cls(MS.decode_async14(r))
        raise OFPError("OFPBRC_BAD_TYPE", "async configuration needs OpenFlow 1.3")
    return decode


_DECODERS: dict[OFPT, Decoder] = {
    OFPT.HELLO: _d_hello,
    OFPT.ERROR: _d_error,
    OFPT.ECHO_REQUEST: lambda r, h, s: EchoRequest(r.rest()),
    OFPT.ECHO_REPLY: lambda r, h, s: EchoReply(r.rest()),
    OFPT.EXPERIMENTER: _d_experimenter,
    OFPT.FEATURES_REQUEST: _void(FeaturesRequest),
    OFPT.FEATURES_REPLY: lambda r, h, s: MS.decode_features_reply(r, h.version),
    OFPT.GET_CONFIG_REQUEST: _void(GetConfigRequest),
    OFPT.GET_CONFIG_REPLY: _fixed(lambda r, h: MS.decode_switch_config(r, GetConfigReply)),
    OFPT.SET_CONFIG: _fixed(lambda r, h: MS.decode_switch_config(r, SetConfig)),
    OFPT.PACKET_IN: lambda r, h, s: MP.decode_packet_in(r, h.version),
    OFPT.FLOW_REMOVED: _fixed(lambda r, h: MP.decode_flow_removed(r, h.version)),
    OFPT.PORT_STATUS: _fixed(lambda r, h: MS.decode_port_status(r, h.version)),
    OFPT.PACKET_OUT: lambda r, h, s: MP.decode_packet_out(r, h.version),
    OFPT.FLOW_MOD: _d_flow_mod,
    OFPT.GROUP_MOD: lambda r, h, s: MF.decode_of11_group_mod(r, h.version),
    OFPT.PORT_MOD: _fixed(lambda r, h: MS.decode_port_mod(r, h.version)),
    OFPT.TABLE_MOD: _fixed(lambda r, h: MS.decode_table_mod(r)),
    OFPT.MULTIPART_REQUEST: lambda r, h, s: MPART.decode_request(r, h.version),
    OFPT.MULTIPART_REPLY: lambda r, h, s: MPART.decode_reply(r, h.version),
    OFPT.BARRIER_REQUEST: _void(BarrierRequest),
    OFPT.BARRIER_REPLY: _void(BarrierReply),
    OFPT.ROLE_REQUEST: _fixed(lambda r, h: MS.decode_role(r, h.version, RoleRequest)),
    OFPT.ROLE_REPLY: _fixed(lambda r, h: MS.decode_role(r, h.version, RoleReply)),
    OFPT.GET_ASYNC_REQUEST: _void(GetAsyncRequest),
    OFPT.GET_ASYNC_REPLY: _d_async(GetAsyncReply),
    OFPT.SET_ASYNC: _d_async(SetAsync),
    OFPT.ROLE_STATUS: _fixed(lambda r, h: MS.decode_role_status(r)),
    OFPT.BUNDLE_CONTROL: _d_bundle_control,
    OFPT.BUNDLE_ADD_MESSAGE: _d_bundle_add,
}


_NX_FLOW_MOD_ID = struct.pack("!II", NX_VENDOR_ID, NXT_FLOW_MOD)
_BARRIER_REQUEST = BarrierRequest()
_BARRIER_REQUEST_TYPES = frozenset((v, wire_type(v, OFPT.BARRIER_REQUEST))
                                   for v in SUPPORTED_VERSIONS)
_BARRIER_REPLY_TYPE = {v: wire_type(v, OFPT.BARRIER_REPLY) for v in SUPPORTED_VERSIONS}


def decode(data: bytes | bytearray | memoryview, state: SessionState | None = None) -> Message:
    """Decode one complete OpenFlow message (raises ``OFPError`` on anything invalid).

    Flow_mods go through :mod:`~pyvswitch.openflow.flow_templates` first: a flow_mod
    shaped like an earlier one decodes from that one's template."""
    n = len(data)
    if n == 8 and (data[0], data[1]) in _BARRIER_REQUEST_TYPES:
        return _BARRIER_REQUEST  # one per flow_mod from ovs-ofctl: no need to parse it
    if n > 16:
        version, mtype = data[0], data[1]
        if mtype == 34 and version == OFP14_VERSION and (data[2] << 8 | data[3]) == n:
            # OFPT_BUNDLE_ADD_MESSAGE: one per flow of a bundle
            return _d_bundle_add(Reader(data, 8, n), Header(*HEADER.unpack_from(data)), state)
        if mtype == 14 and version in SUPPORTED_VERSIONS:  # OFPT_FLOW_MOD in every version
            nx = False
        elif mtype == 4 and version == OFP10_VERSION and data[8:16] == _NX_FLOW_MOD_ID:
            nx = True
        else:
            return _decode(data, state)
        tid = version == OFP10_VERSION and state is not None and state.flow_mod_table_id
        cache = FT.cache_for(version, nx, bool(tid))
        fm = cache.decode(data)
        if fm is None:
            fm = _decode(data, state)
            if type(fm) is FlowMod:
                cache.learn(data, fm, version, nx)
        return fm
    return _decode(data, state)


def _decode(data: bytes | bytearray | memoryview, state: SessionState | None) -> Message:
    h = parse_header(data)
    if h.length != len(data):
        raise OFPError("OFPBRC_BAD_LEN", f"header says {h.length} bytes, got {len(data)}")
    if h.version not in SUPPORTED_VERSIONS:
        if h.type == OFPT.HELLO:  # HELLO looks the same in every version
            return _d_hello(Reader(bytes(data), 8, h.length), h, state)
        raise OFPError("OFPBRC_BAD_VERSION", f"OpenFlow version {h.version:#x}")
    t = ofpt_from_wire(h.version, h.type)
    decoder = _DECODERS.get(t) if t is not None else None
    if decoder is None:
        raise OFPError("OFPBRC_BAD_TYPE", f"message type {h.type} in version {h.version:#x}")
    return decoder(Reader(bytes(data), 8, h.length), h, state)


# ----------------------------------------------------------------------------- encoding
def _msg(version: int, t: OFPT, xid: int, body: bytes = b"") -> bytes:
    try:
        mtype = wire_type(version, t)
    except KeyError:
        raise LocalProtocolError(f"{t.name} does not exist in version {version:#x}") from None
    n = 8 + len(body)
    if n > 0xFFFF:
        raise LocalProtocolError(f"{t.name} of {n} bytes exceeds 65535")
    return HEADER.pack(version, mtype, n, xid & 0xFFFFFFFF) + body


def _nx(version: int, subtype: int, xid: int, body: bytes = b"") -> bytes:
    return _msg(version, OFPT.EXPERIMENTER, xid, U32.pack(NX_VENDOR_ID) + U32.pack(subtype)
                + body)


def _e_error(m: Error, version: int, xid: int) -> bytes:
    if not m.vendor:
        return _msg(version, OFPT.ERROR, xid, struct.pack("!HH", m.type, m.code) + m.data)
    if version == OFP10_VERSION:
        return _msg(version, OFPT.ERROR, xid, struct.pack("!HHIHH", 0xB0C2, 0, m.vendor,
                                                          m.type, m.code) + m.data)
    return _msg(version, OFPT.ERROR, xid, struct.pack("!HHI", 0xFFFF, m.type, m.vendor)
                + m.data)


def _e_flow_mod(m: FlowMod, version: int, xid: int, state: SessionState | None) -> bytes:
    if version != OFP10_VERSION:
        return _msg(version, OFPT.FLOW_MOD, xid, MF.encode_of13_flow_mod(m, version))
    tid = MF.legacy_tid(m, state)
    if MF.use_nxm(m, state):
        return _nx(version, NXT_FLOW_MOD, xid, MF.encode_nx_flow_mod(m, tid))
    return _msg(version, OFPT.FLOW_MOD, xid, MF.encode_of10_flow_mod(m, tid))


def _e_group_mod(m: GroupMod, version: int, xid: int, state: SessionState | None) -> bytes:
    if version == OFP10_VERSION:
        return _nx(version, NXT_GROUP_MOD, xid, MF.encode_of15_group_mod(m, version))
    return _msg(version, OFPT.GROUP_MOD, xid, MF.encode_of11_group_mod(m, version))


def _e_packet_in(m: PacketIn, version: int, xid: int, state: SessionState | None) -> bytes:
    if state is not None and state.packet_in_format == NXPIF_NXT_PACKET_IN2:
        return _nx(version, NXT_PACKET_IN2, xid, MP.encode_packet_in2(m))
    if state is not None and state.packet_in_format == NXPIF_NXT_PACKET_IN:
        return _nx(version, NXT_PACKET_IN, xid, MP.encode_nx_packet_in(m))
    return _msg(version, OFPT.PACKET_IN, xid, MP.encode_packet_in(m, version))


def _e_flow_removed(m: FlowRemoved, version: int, xid: int,
                    state: SessionState | None) -> bytes:
    if version == OFP10_VERSION and ((state is not None and state.flow_format == NXFF_NXM)
                                     or not of10_expressible(m.match)):
        return _nx(version, NXT_FLOW_REMOVED, xid, MP.encode_flow_removed(m, version, True))
    return _msg(version, OFPT.FLOW_REMOVED, xid, MP.encode_flow_removed(m, version))


def _e_role(t: OFPT, nx_subtype: int):
    def encode(m, version: int, xid: int, state: SessionState | None) -> bytes:
        if version == OFP10_VERSION:
            return _nx(version, nx_subtype, xid, MS.encode_role(m, version))
        return _msg(version, t, xid, MS.encode_role(m, version))
    return encode


def _e_async(t: OFPT):
    def encode(m, version: int, xid: int, state: SessionState | None) -> bytes:
        if version == OFP10_VERSION and t is OFPT.SET_ASYNC:
            return _nx(version, NXT_SET_ASYNC_CONFIG, xid, MS.encode_async(m.config))
        if version >= OFP14_VERSION:
            return _msg(version, t, xid, MS.encode_async14(m.config))
        if version != OFP13_VERSION:
            raise LocalProtocolError(f"{t.name} does not exist in OpenFlow 1.0")
        return _msg(version, t, xid, MS.encode_async(m.config))
    return encode


def _e_role_status(m: RoleStatus, version: int, xid: int,
                   state: SessionState | None) -> bytes:
    if version >= OFP14_VERSION:
        return _msg(version, OFPT.ROLE_STATUS, xid, MS.encode_role_status(m))
    if version == OFP13_VERSION:
        return _msg(version, OFPT.EXPERIMENTER, xid, U32.pack(ONF_VENDOR_ID)
                    + U32.pack(ONFT_ROLE_STATUS) + MS.encode_role_status(m))
    raise LocalProtocolError("role status needs OpenFlow 1.3 or later")


def _e_bundle(m: BundleControl | BundleAdd, version: int, xid: int,
              state: SessionState | None) -> bytes:
    if isinstance(m, BundleControl):
        body = BUNDLE_CTRL.pack(m.bundle_id, m.type, m.flags) + m.properties
        onf, t = ONFT_BUNDLE_CONTROL, OFPT.BUNDLE_CONTROL
    else:
        body = BUNDLE_ADD.pack(m.bundle_id, m.flags) + m.message + m.properties
        onf, t = ONFT_BUNDLE_ADD_MESSAGE, OFPT.BUNDLE_ADD_MESSAGE
    if version == OFP13_VERSION:
        return _msg(version, OFPT.EXPERIMENTER, xid, U32.pack(ONF_VENDOR_ID) + U32.pack(onf)
                    + body)
    if version >= OFP14_VERSION:
        return _msg(version, t, xid, body)
    raise LocalProtocolError("bundles need OpenFlow 1.3 or later")


def _simple(t: OFPT, body: Callable[[object, int], bytes] | None = None):
    def encode(m, version: int, xid: int, state: SessionState | None) -> bytes:
        return _msg(version, t, xid, body(m, version) if body else b"")
    return encode


def _nx_simple(subtype: int, body: Callable[[object], bytes]):
    def encode(m, version: int, xid: int, state: SessionState | None) -> bytes:
        return _nx(version, subtype, xid, body(m))
    return encode


_ENCODERS: dict[type, Callable[..., bytes]] = {
    Hello: lambda m, v, x, s: _e_hello(m, v, x),
    Error: lambda m, v, x, s: _e_error(m, v, x),
    EchoRequest: _simple(OFPT.ECHO_REQUEST, lambda m, v: m.data),
    EchoReply: _simple(OFPT.ECHO_REPLY, lambda m, v: m.data),
    BarrierRequest: _simple(OFPT.BARRIER_REQUEST),
    BarrierReply: _simple(OFPT.BARRIER_REPLY),
    FeaturesRequest: _simple(OFPT.FEATURES_REQUEST),
    FeaturesReply: _simple(OFPT.FEATURES_REPLY, MS.encode_features_reply),
    GetConfigRequest: _simple(OFPT.GET_CONFIG_REQUEST),
    GetConfigReply: _simple(OFPT.GET_CONFIG_REPLY, lambda m, v: MS.encode_switch_config(m)),
    SetConfig: _simple(OFPT.SET_CONFIG, lambda m, v: MS.encode_switch_config(m)),
    PortStatus: _simple(OFPT.PORT_STATUS, MS.encode_port_status),
    PortMod: _simple(OFPT.PORT_MOD, MS.encode_port_mod),
    TableMod: _simple(OFPT.TABLE_MOD, lambda m, v: MS.encode_table_mod(m)),
    PacketOut: _simple(OFPT.PACKET_OUT, MP.encode_packet_out),
    PacketIn: _e_packet_in,
    FlowRemoved: _e_flow_removed,
    FlowMod: _e_flow_mod,
    GroupMod: _e_group_mod,
    RoleRequest: _e_role(OFPT.ROLE_REQUEST, NXT_ROLE_REQUEST),
    RoleReply: _e_role(OFPT.ROLE_REPLY, NXT_ROLE_REPLY),
    GetAsyncRequest: lambda m, v, x, s: _msg(v, OFPT.GET_ASYNC_REQUEST, x),
    GetAsyncReply: _e_async(OFPT.GET_ASYNC_REPLY),
    SetAsync: _e_async(OFPT.SET_ASYNC),
    RoleStatus: _e_role_status,
    SetFlowFormat: _nx_simple(NXT_SET_FLOW_FORMAT, lambda m: U32.pack(m.format)),
    FlowModTableId: _nx_simple(NXT_FLOW_MOD_TABLE_ID,
                               lambda m: struct.pack("!B7x", int(m.enable))),
    SetPacketInFormat: _nx_simple(NXT_SET_PACKET_IN_FORMAT, lambda m: U32.pack(m.format)),
    SetControllerId: _nx_simple(NXT_SET_CONTROLLER_ID,
                                lambda m: struct.pack("!6xH", m.controller_id)),
    CtFlushZone: _nx_simple(NXT_CT_FLUSH_ZONE, lambda m: struct.pack("!6xH", m.zone)),
    BundleControl: _e_bundle,
    BundleAdd: _e_bundle,
}
for _cls in MPART.REQUEST_TYPES:
    _ENCODERS[_cls] = lambda m, v, x, s: MPART.encode_request(m, v, x, s)
for _cls in MPART.REPLY_TYPES:
    _ENCODERS[_cls] = lambda m, v, x, s: MPART.encode_reply(m, v, x)


def encode(msg: object, version: int, xid: int, state: SessionState | None = None) -> bytes:
    """The bytes of ``msg`` in ``version`` (several messages for split replies)."""
    t = type(msg)
    if t is BarrierReply and version in _BARRIER_REPLY_TYPE:
        return HEADER.pack(version, _BARRIER_REPLY_TYPE[version], 8, xid & 0xFFFFFFFF)
    if version not in SUPPORTED_VERSIONS:
        raise LocalProtocolError(f"unsupported OpenFlow version {version:#x}")
    encoder = _ENCODERS.get(t)
    if encoder is None:
        raise LocalProtocolError(f"cannot encode {type(msg).__name__}")
    return encoder(msg, version, xid & 0xFFFFFFFF, state)


__all__ = ["decode", "encode"]
