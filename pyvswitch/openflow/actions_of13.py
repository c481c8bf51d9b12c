"""OpenFlow 1.3 (1.1+) actions: the standard ones both ways, and how every ofpact is spelled
in a 1.3 action list.

Decoding keeps the spelling (``OFPAT_SET_FIELD`` prints as ``set_field:``, ``POP_VLAN`` as
``pop_vlan``, the deprecated OpenFlow 1.1 set actions as ``mod_*``/``set_vlan_*``).
Encoding follows ovs-ofctl: whole-field writes and ``mod_*`` become SET_FIELD (``mod_tp_*``
picks tcp_/udp_/sctp_ from the flow's protocol), partial writes and ``load:`` stay
NXAST_REG_LOAD, ``mod_vlan_vid`` pushes a tag first when the flow has none, ``dec_ttl`` is
DEC_NW_TTL.  Instructions are handled by :mod:`pyvswitch.openflow.instructions`.

Layer: openflow.  Imports: flow.ofpacts, flow.fields, errors, types, openflow.*.
"""

from __future__ import annotations

import struct

from pyvswitch.errors import LocalProtocolError, OFPError
from pyvswitch.flow import layout as L
from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.fields import FIELDS
from pyvswitch.openflow import actions_nx as NX
from pyvswitch.openflow.actions_common import ActionCtx, check_output_port
from pyvswitch.openflow.header import Reader, pad8
from pyvswitch.openflow.match_oxm import check_value, pull_entry, put_header, wire_code
from pyvswitch.types import OFPP_MAX, ofp_port_from_of13, ofp_port_to_of13

OFPAT11_OUTPUT = 0
OFPAT11_SET_VLAN_VID = 1
OFPAT11_SET_VLAN_PCP = 2
OFPAT11_SET_DL_SRC = 3
OFPAT11_SET_DL_DST = 4
OFPAT11_SET_NW_SRC = 5
OFPAT11_SET_NW_DST = 6
OFPAT11_SET_NW_TOS = 7
OFPAT11_SET_NW_ECN = 8
OFPAT11_SET_TP_SRC = 9
OFPAT11_SET_TP_DST = 10
OFPAT11_PUSH_VLAN = 17
OFPAT11_POP_VLAN = 18
OFPAT11_SET_QUEUE = 21
OFPAT11_GROUP = 22
OFPAT11_SET_NW_TTL = 23
OFPAT11_DEC_NW_TTL = 24
OFPAT12_SET_FIELD = 25

F = FIELDS
R = A.SetRaw
_TP_FIELDS = {L.IPPROTO_TCP: ("tcp_src", "tcp_dst"), L.IPPROTO_UDP: ("udp_src", "udp_dst"),
              L.IPPROTO_SCTP: ("sctp_src", "sctp_dst")}


def port_from_of13(port: int, error: str = "OFPBAC_BAD_OUT_PORT") -> int:
    if OFPP_MAX <= port < 0xFFFFFF00:
        raise OFPError(error, f"port {port:#x} is not a valid OpenFlow 1.1+ port")
    return ofp_port_from_of13(port)


def _arg(data: bytes, fmt: str) -> int:
    return struct.unpack_from("!" + fmt, data, 4)[0]


def _d_output(data: bytes) -> list[object]:
    port, max_len = struct.unpack_from("!IH", data, 4)
    return [A.Output(check_output_port(port_from_of13(port)), max_len)]


def _d_vlan_vid(data: bytes) -> list[object]:
    vid = _arg(data, "H")
    if vid & ~0xFFF:
        raise OFPError("OFPBAC_BAD_ARGUMENT", f"VLAN VID {vid} out of range")
    return [A.SetVlanVid(vid, False)]


def _d_vlan_pcp(data: bytes) -> list[object]:
    if data[4] & ~7:
        raise OFPError("OFPBAC_BAD_ARGUMENT", f"VLAN PCP {data[4]} out of range")
    return [A.SetVlanPcp(data[4], False)]


def _d_field(name: str, raw: A.SetRaw, fmt: str, mask: int = 0, check: int = 0):
    f = F[name]

    def decode(data: bytes) -> list[object]:
        v = _arg(data, fmt)
        if fmt == "6s":
            v = int.from_bytes(v, "big")
        if check and v & ~check:
            raise OFPError("OFPBAC_BAD_ARGUMENT", f"{raw.value} value {v:#x} out of range")
        return [A.SetField(f, v, mask or f.full_mask, raw)]
    return decode


def _d_push_vlan(data: bytes) -> list[object]:
    ethertype = _arg(data, "H")
    if ethertype not in (L.ETH_TYPE_VLAN_8021Q, L.ETH_TYPE_VLAN_8021AD):
        raise OFPError("OFPBAC_BAD_ARGUMENT", f"push_vlan ethertype {ethertype:#x}")
    return [A.PushVlan(ethertype)]


def _d_set_field(data: bytes) -> list[object]:
    r = Reader(data, 4, error="OFPBAC_BAD_LEN")
    try:
        f, value, _mask, masked = pull_entry(r, allow_mask=False)
    except OFPError as e:
        if e.name == "OFPBMC_BAD_MASK":
            raise OFPError("OFPBAC_BAD_SET_MASK", e.msg) from None
        if e.name == "OFPBMC_BAD_FIELD":
            raise OFPError("OFPBAC_BAD_SET_TYPE", e.msg) from None
        raise
    if any(r.rest()):
        raise OFPError("OFPBAC_BAD_SET_ARGUMENT", "set_field: garbage after the OXM")
    if f is None or f.name == "in_port_oxm" or not f.writable:
        raise OFPError("OFPBAC_BAD_SET_ARGUMENT", "set_field to a read-only field")
    value = check_value(f, value, "OFPBAC_BAD_SET_ARGUMENT")
    if f.name == "vlan_vid" and not value & L.VLAN_CFI:
        raise OFPError("OFPBAC_BAD_SET_ARGUMENT", "set_field vlan_vid without 0x1000")
    return [A.SetField(f, value, f.full_mask)]


#: type -> (length or 0 for variable, decoder)
DECODERS = {
    OFPAT11_OUTPUT: (16, _d_output),
    OFPAT11_SET_VLAN_VID: (8, _d_vlan_vid),
    OFPAT11_SET_VLAN_PCP: (8, _d_vlan_pcp),
    OFPAT11_SET_DL_SRC: (16, _d_field("eth_src", R.MOD_DL_SRC, "6s")),
    OFPAT11_SET_DL_DST: (16, _d_field("eth_dst", R.MOD_DL_DST, "6s")),
    OFPAT11_SET_NW_SRC: (8, _d_field("ip_src", R.MOD_NW_SRC, "I")),
    OFPAT11_SET_NW_DST: (8, _d_field("ip_dst", R.MOD_NW_DST, "I")),
    OFPAT11_SET_NW_TOS: (8, _d_field("nw_tos", R.MOD_NW_TOS, "B", 0xFC, 0xFC)),
    OFPAT11_SET_NW_ECN: (8, _d_field("nw_ecn", R.MOD_NW_ECN, "B", 3, 3)),
    OFPAT11_SET_TP_SRC: (8, _d_field("tp_src", R.MOD_TP_SRC, "H", 0xFFFF)),
    OFPAT11_SET_TP_DST: (8, _d_field("tp_dst", R.MOD_TP_DST, "H", 0xFFFF)),
    OFPAT11_PUSH_VLAN: (8, _d_push_vlan),
    OFPAT11_POP_VLAN: (8, lambda data: [A.PopVlan(A.PopVlanRaw.POP_VLAN)]),
    OFPAT11_SET_QUEUE: (8, lambda data: [A.SetQueue(_arg(data, "I"))]),
    OFPAT11_GROUP: (8, lambda data: [A.Group(_arg(data, "I"))]),
    OFPAT11_SET_NW_TTL: (8, lambda data: [A.SetIPTtl(data[4])]),
    OFPAT11_DEC_NW_TTL: (8, lambda data: [A.DecTtl()]),
    OFPAT12_SET_FIELD: (0, _d_set_field),
}


# ----------------------------------------------------------------------------- encoding
def _std(atype: int, fmt: str = "", *args: int | bytes) -> bytes:
    body = struct.pack("!" + fmt, *args) if fmt else b""
    n = 4 + len(body)
    n += pad8(n)
    return struct.pack("!HH", atype, n) + body + bytes(n - 4 - len(body))


def put_set_field(name: str, value: int) -> bytes:
    """OFPAT_SET_FIELD writing the whole field ``name`` (OXM header where one exists)."""
    f = F[name]
    code = wire_code(f, True)
    tlv = bytearray()
    put_header(tlv, code)
    tlv += value.to_bytes(code.nbytes, "big")
    n = 4 + len(tlv)
    n += pad8(n)
    return struct.pack("!HH", OFPAT12_SET_FIELD, n) + tlv + bytes(n - 4 - len(tlv))


def put_output(port: int, max_len: int) -> bytes:
    return _std(OFPAT11_OUTPUT, "IH6x", ofp_port_to_of13(port), max_len)


def _push_if_needed(push: bool, ctx: ActionCtx) -> bytes:
    out = b""
    if push and not ctx.has_vlan:
        out = _std(OFPAT11_PUSH_VLAN, "H2x", L.ETH_TYPE_VLAN_8021Q)
    ctx.has_vlan = True
    return out


def _mod(a: A.SetField, ctx: ActionCtx) -> bytes:
    raw, v = a.raw, a.value
    if raw in (R.MOD_DL_SRC, R.MOD_DL_DST, R.MOD_NW_SRC, R.MOD_NW_DST):
        return put_set_field(a.field.name, v)
    if raw is R.MOD_NW_TOS:
        return put_set_field("ip_dscp", (v >> 2) if a.field.name == "nw_tos" else v)
    if raw is R.MOD_NW_ECN:
        return put_set_field("nw_ecn", v & 3)
    if raw is R.MOD_NW_TTL:
        return _std(OFPAT11_SET_NW_TTL, "B3x", v)
    if raw in (R.MOD_TP_SRC, R.MOD_TP_DST):
        names = _TP_FIELDS.get(ctx.nw_proto)
        src = raw is R.MOD_TP_SRC
        if names is None:
            return _std(OFPAT11_SET_TP_SRC if src else OFPAT11_SET_TP_DST, "H2x", v)
        return put_set_field(names[0] if src else names[1], v)
    if raw is R.MOD_VLAN_VID:
        return _push_if_needed(True, ctx) + put_set_field("vlan_vid", (v & 0xFFF) | 0x1000)
    if raw is R.MOD_VLAN_PCP:
        pcp = v >> 13 if a.field.name == "vlan_tci" else v
        return _push_if_needed(True, ctx) + put_set_field("vlan_pcp", pcp & 7)
    raise LocalProtocolError(f"unknown set_field spelling {raw}")  # pragma: no cover


def _set_field(a: A.SetField, ctx: ActionCtx) -> bytes:
    if a.raw not in (R.SET_FIELD, R.LOAD):
        return _mod(a, ctx)
    f = a.field
    if f.name in ("tp_src", "tp_dst"):
        names = _TP_FIELDS.get(ctx.nw_proto)
        if names is None:
            raise LocalProtocolError(f"{f.name} needs a TCP, UDP or SCTP match")
        f = F[names[0] if f.name == "tp_src" else names[1]]
        a = A.SetField(f, a.value, a.mask, a.raw)
    if f.name in ("vlan_tci", "vlan_vid", "dl_vlan"):
        ctx.has_vlan = bool(a.value & L.VLAN_CFI) or f.name == "dl_vlan"
    if a.raw is R.SET_FIELD and a.mask == f.full_mask:
        if f.name == "dl_vlan":
            return put_set_field("vlan_vid", a.value | L.VLAN_CFI)
        if f.name == "dl_vlan_pcp":
            return put_set_field("vlan_pcp", a.value)
        if f.oxm is None and f.nxm is None:
            raise LocalProtocolError(f"cannot encode a write to {f.name}")
        return put_set_field(f.name, a.value)
    return NX.put_set_field_nx(a)


def encode(a: object, ctx: ActionCtx) -> bytes:
    """One ofpact as OpenFlow 1.3 action bytes (instructions are not actions here)."""
    t = type(a)
    if t is A.Output:
        return put_output(a.port, a.max_len)
    if t is A.SetField:
        return _set_field(a, ctx)
    if t is A.PopVlan:
        ctx.has_vlan = False
        return _std(OFPAT11_POP_VLAN)
    if t is A.PushVlan:
        ctx.has_vlan = True
        return _std(OFPAT11_PUSH_VLAN, "H2x", a.ethertype)
    if t is A.SetVlanVid:
        return (_push_if_needed(a.push_vlan_if_needed, ctx)
                + put_set_field("vlan_vid", a.vid | L.VLAN_CFI))
    if t is A.SetVlanPcp:
        return _push_if_needed(a.push_vlan_if_needed, ctx) + put_set_field("vlan_pcp", a.pcp)
    if t is A.Enqueue:
        return _std(OFPAT11_SET_QUEUE, "I", a.queue) + put_output(a.port, 0xFFFF)
    if t is A.SetQueue:
        return _std(OFPAT11_SET_QUEUE, "I", a.queue_id)
    if t is A.Group:
        return _std(OFPAT11_GROUP, "I", a.group_id)
    if t is A.DecTtl:
        return NX.put_dec_ttl(a, _std(OFPAT11_DEC_NW_TTL))
    if t is A.SetIPTtl:
        return _std(OFPAT11_SET_NW_TTL, "B3x", a.ttl)
    if t is A.Drop:
        return b""
    raise LocalProtocolError(f"no OpenFlow 1.3 action encoding for {t.__name__}")
