"""Nicira vendor actions (``type 0xffff, len, vendor 0x2320, subtype``) other than
conntrack and learn (see :mod:`pyvswitch.openflow.actions_nx_ct`).

The same encodings are used inside OpenFlow 1.0 action lists and OpenFlow 1.3
apply/write-actions instructions.  Each ``decode_*`` takes the whole action (its bytes
from the type field on) and returns ofpacts; each ``put_*`` returns the action's bytes,
padded to a multiple of 8.  Sub-fields travel as an NXM/OXM header plus
``ofs_nbits = ofs << 6 | (n_bits - 1)``.

Errors are the ones OVS reports: a bit range outside its field is BAD_SET_LEN, writing a
read-only field BAD_SET_ARGUMENT, non-zero reserved bytes BAD_ARGUMENT or
NXBRC_MUST_BE_ZERO.

Layer: openflow.  Imports: flow.fields, flow.ofpacts, errors, openflow.header,
openflow.match_oxm, types.
"""

from __future__ import annotations

import struct

from pyvswitch.errors import OFPError
from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.fields import FIELDS, Field
from pyvswitch.openflow.consts import NX_VENDOR_ID
from pyvswitch.openflow.header import U16, U32, Reader, pad8
from pyvswitch.openflow.match_oxm import (
    check_value,
    field_from_header,
    header_for_action,
    pull_entry,
    put_header,
    wire_code,
)
from pyvswitch.types import OFPP_IN_PORT

NX_HDR = struct.Struct("!HHIH")  # type, len, vendor, subtype
NX_HDR_LEN = 10

NXAST_RESUBMIT = 1
NXAST_SET_TUNNEL = 2
NXAST_SET_QUEUE = 4
NXAST_POP_QUEUE = 5
NXAST_REG_MOVE = 6
NXAST_REG_LOAD = 7
NXAST_NOTE = 8
NXAST_SET_TUNNEL64 = 9
NXAST_RESUBMIT_TABLE = 14
NXAST_OUTPUT_REG = 15
NXAST_LEARN = 16
NXAST_EXIT = 17
NXAST_DEC_TTL = 18
NXAST_CONTROLLER = 20
NXAST_DEC_TTL_CNT_IDS = 21
NXAST_WRITE_METADATA = 22
NXAST_OUTPUT_REG2 = 32
NXAST_REG_LOAD2 = 33
NXAST_CT = 35
NXAST_NAT = 36
NXAST_CONTROLLER2 = 37
NXAST_GROUP = 40
NXAST_CT_CLEAR = 43
NXAST_RESUBMIT_TABLE_CT = 44
NXAST_LEARN2 = 45

NXAC2PT_MAX_LEN = 0
NXAC2PT_CONTROLLER_ID = 1
NXAC2PT_REASON = 2
NXAC2PT_USERDATA = 3
NXAC2PT_PAUSE = 4
NXAC2PT_METER_ID = 5
NX_CTLR_NO_METER = 0xFFFFFFFF

_TUN_ID = FIELDS["tun_id"]


def nx_action(subtype: int, body: bytes = b"") -> bytes:
    """A complete Nicira action: the 10-byte prefix, ``body``, zero padding to 8."""
    n = NX_HDR_LEN + len(body)
    n += pad8(n)
    return NX_HDR.pack(0xFFFF, n, NX_VENDOR_ID, subtype) + body + bytes(n - NX_HDR_LEN - len(body))


def ofs_nbits(ofs: int, n_bits: int) -> int:
    return (ofs << 6) | (n_bits - 1)


def check_subfield(sf: A.SubField, dst: bool) -> A.SubField:
    """OVS ``mf_check_src``/``mf_check_dst`` without a match."""
    f = sf.field
    if sf.n_bits <= 0 or sf.ofs >= f.nbits or sf.ofs + sf.n_bits > f.nbits:
        raise OFPError("OFPBAC_BAD_SET_LEN",
                       f"bits {sf.ofs}..{sf.ofs + sf.n_bits - 1} exceed {f.name}")
    if dst and not f.writable:
        raise OFPError("OFPBAC_BAD_SET_ARGUMENT", f"field {f.name} is not writable")
    return sf


def subfield(header: int, ofs_n: int, dst: bool) -> A.SubField:
    f = field_from_header(header)
    return check_subfield(A.SubField(f, ofs_n >> 6, (ofs_n & 0x3F) + 1), dst)


def pull_field_header(r: Reader) -> Field:
    """An NXM/OXM header (4 bytes, 8 for experimenters) naming a field inside an action."""
    (h,) = r.unpack(U32, "field header")
    if h >> 16 == 0xFFFF:
        r.skip(4, "experimenter field header")
        raise OFPError("OFPBMC_BAD_FIELD", f"experimenter field {h:#010x} in action")
    return field_from_header(h, "OFPBMC_BAD_FIELD")


def _zeros(data: bytes, error: str, what: str) -> None:
    if any(data):
        raise OFPError(error, f"{what}: reserved bytes are not zero")


def _body(data: bytes, size: int) -> bytes:
    """The action's bytes after the prefix, requiring the fixed size ``size``."""
    if len(data) != size:
        raise OFPError("OFPBAC_BAD_LEN", f"Nicira action of {len(data)} bytes, expected {size}")
    return data[NX_HDR_LEN:]


# ----------------------------------------------------------------------------- decoding
def _d_resubmit(data: bytes) -> list[object]:
    (port,) = U16.unpack_from(_body(data, 16), 0)
    return [A.Resubmit(None if port == OFPP_IN_PORT else port, None)]


def _d_resubmit_table(data: bytes, ct: bool = False) -> list[object]:
    port, table, pad = struct.unpack_from("!HB3s", _body(data, 16), 0)
    _zeros(pad, "OFPBAC_BAD_ARGUMENT", "resubmit")
    return [A.Resubmit(None if port == OFPP_IN_PORT else port,
                       None if table == 0xFF else table, ct)]


def _d_set_tunnel(data: bytes) -> list[object]:
    _, tun = struct.unpack_from("!2sI", _body(data, 16), 0)
    return [A.SetField(_TUN_ID, tun, _TUN_ID.full_mask)]


def _d_set_tunnel64(data: bytes) -> list[object]:
    _, tun = struct.unpack_from("!6sQ", _body(data, 24), 0)
    return [A.SetField(_TUN_ID, tun, _TUN_ID.full_mask)]


def _d_set_queue(data: bytes) -> list[object]:
    _, queue = struct.unpack_from("!2sI", _body(data, 16), 0)
    return [A.SetQueue(queue)]


def _d_group(data: bytes) -> list[object]:
    _, group = struct.unpack_from("!2sI", _body(data, 16), 0)
    return [A.Group(group)]


def _d_reg_move(data: bytes) -> list[object]:
    if len(data) < 24:
        raise OFPError("OFPBAC_BAD_LEN", "reg_move shorter than 24 bytes")
    n_bits, src_ofs, dst_ofs = struct.unpack_from("!HHH", data, NX_HDR_LEN)
    r = Reader(data, 16, error="OFPBAC_BAD_LEN")
    src_f = pull_field_header(r)
    dst_f = pull_field_header(r)
    _zeros(r.rest(), "NXBRC_MUST_BE_ZERO", "reg_move")
    src = check_subfield(A.SubField(src_f, src_ofs, n_bits), False)
    dst = check_subfield(A.SubField(dst_f, dst_ofs, n_bits), True)
    return [A.Move(src, dst)]


def _d_reg_load(data: bytes) -> list[object]:
    ofs_n, dst_h, value = struct.unpack_from("!HIQ", _body(data, 24), 0)
    dst = subfield(dst_h, ofs_n, True)
    if dst.n_bits < 64 and value >> dst.n_bits:
        raise OFPError("OFPBAC_BAD_ARGUMENT", f"value {value:#x} does not fit {dst.n_bits} bits")
    return [A.SetField(dst.field, value << dst.ofs, dst.mask, A.SetRaw.LOAD)]


def _d_reg_load2(data: bytes) -> list[object]:
    r = Reader(data, NX_HDR_LEN, error="OFPBAC_BAD_LEN")
    try:
        f, value, mask, _ = pull_entry(r)
    except OFPError as e:
        if e.name == "OFPBMC_BAD_FIELD":
            raise OFPError("OFPBAC_BAD_SET_TYPE", e.msg) from None
        raise
    _zeros(r.rest(), "OFPBAC_BAD_SET_ARGUMENT", "reg_load2")
    if f is None or not f.writable:
        raise OFPError("OFPBAC_BAD_SET_ARGUMENT", "reg_load2 to a read-only field")
    value = check_value(f, value, "OFPBAC_BAD_SET_ARGUMENT")
    mask &= f.full_mask
    return [A.SetField(f, value & mask, mask)]


def _d_output_reg(data: bytes) -> list[object]:
    ofs_n, src_h, max_len, zero = struct.unpack_from("!HIH6s", _body(data, 24), 0)
    _zeros(zero, "OFPBAC_BAD_ARGUMENT", "output_reg")
    return [A.OutputReg(subfield(src_h, ofs_n, False), max_len)]


def _d_output_reg2(data: bytes) -> list[object]:
    if len(data) != 24:
        raise OFPError("OFPBAC_BAD_LEN", "output_reg2 is not 24 bytes")
    ofs_n, max_len = struct.unpack_from("!HH", data, NX_HDR_LEN)
    r = Reader(data, 14, error="OFPBAC_BAD_LEN")
    f = pull_field_header(r)
    _zeros(r.rest(), "NXBRC_MUST_BE_ZERO", "output_reg2")
    src = check_subfield(A.SubField(f, ofs_n >> 6, (ofs_n & 0x3F) + 1), False)
    return [A.OutputReg(src, max_len)]


def _d_note(data: bytes) -> list[object]:
    return [A.Note(bytes(data[NX_HDR_LEN:]))]


def _d_controller(data: bytes) -> list[object]:
    max_len, cid, reason, _zero = struct.unpack_from("!HHBB", _body(data, 16), 0)
    return [A.Controller(max_len=max_len, reason=_reason(reason), controller_id=cid,
                         nx_form=True)]


def _reason(value: int) -> A.ControllerReason:
    try:
        return A.ControllerReason(value)
    except ValueError:
        raise OFPError("OFPBAC_BAD_ARGUMENT", f"packet-in reason {value}") from None


def _d_controller2(data: bytes) -> list[object]:
    if len(data) < 16:
        raise OFPError("OFPBAC_BAD_LEN", "controller2 shorter than 16 bytes")
    _zeros(data[NX_HDR_LEN:16], "NXBRC_MUST_BE_ZERO", "controller2")
    args: dict[str, object] = {"nx_form": True}
    r = Reader(data, 16, error="OFPBPC_BAD_LEN")
    while r.remaining:
        ptype, plen = r.unpack(struct.Struct("!HH"), "property")
        if plen < 4:
            raise OFPError("OFPBPC_BAD_LEN", f"property length {plen} < 4")
        payload = r.take(plen - 4, "property")
        r.skip(min(pad8(plen), r.remaining))
        # 16-bit properties are 8 bytes long in OpenFlow; OVS accepts any payload >= 2
        if ptype == NXAC2PT_MAX_LEN and len(payload) >= 2:
            args["max_len"] = U16.unpack_from(payload)[0]
        elif ptype == NXAC2PT_CONTROLLER_ID and len(payload) >= 2:
            args["controller_id"] = U16.unpack_from(payload)[0]
        elif ptype == NXAC2PT_REASON and len(payload) >= 1:
            args["reason"] = _reason(payload[0])
        elif ptype == NXAC2PT_USERDATA:
            args["userdata"] = payload
        elif ptype == NXAC2PT_PAUSE:
            args["pause"] = True
        elif ptype == NXAC2PT_METER_ID and len(payload) == 4:
            args["meter_id"] = U32.unpack(payload)[0]
        elif ptype in (NXAC2PT_MAX_LEN, NXAC2PT_CONTROLLER_ID, NXAC2PT_REASON,
                       NXAC2PT_METER_ID):
            raise OFPError("OFPBPC_BAD_LEN", f"controller2 property {ptype} has bad length")
        else:
            raise OFPError("OFPBPC_BAD_TYPE", f"unknown controller2 property {ptype}")
    return [A.Controller(**args)]  # type: ignore[arg-type]


def _d_dec_ttl_cnt_ids(data: bytes) -> list[object]:
    if len(data) < 16:
        raise OFPError("OFPBAC_BAD_LEN", "dec_ttl_cnt_ids shorter than 16 bytes")
    n, zeros = struct.unpack_from("!H4s", data, NX_HDR_LEN)
    _zeros(zeros, "NXBRC_MUST_BE_ZERO", "dec_ttl_cnt_ids")
    ids_len = len(data) - 16
    if ids_len < 2 * n:
        raise OFPError("OFPBAC_BAD_LEN", "dec_ttl_cnt_ids lists fewer ids than it says")
    ids = struct.unpack_from(f"!{n}H", data, 16)
    _zeros(data[16 + 2 * n:], "NXBRC_MUST_BE_ZERO", "dec_ttl_cnt_ids")
    return [A.DecTtl(tuple(ids), explicit_ids=True)]


def _d_write_metadata(data: bytes) -> list[object]:
    zeros, metadata, mask = struct.unpack_from("!6sQQ", _body(data, 32), 0)
    _zeros(zeros, "NXBRC_MUST_BE_ZERO", "write_metadata")
    return [A.WriteMetadata(metadata & mask, mask)]


def _fixed(size: int, *acts: object):
    def decode(data: bytes) -> list[object]:
        _body(data, size)
        return list(acts)
    return decode


#: subtype -> decoder of the whole action
DECODERS = {
    NXAST_RESUBMIT: _d_resubmit,
    NXAST_SET_TUNNEL: _d_set_tunnel,
    NXAST_SET_QUEUE: _d_set_queue,
    NXAST_REG_MOVE: _d_reg_move,
    NXAST_REG_LOAD: _d_reg_load,
    NXAST_NOTE: _d_note,
    NXAST_SET_TUNNEL64: _d_set_tunnel64,
    NXAST_RESUBMIT_TABLE: _d_resubmit_table,
    NXAST_RESUBMIT_TABLE_CT: lambda data: _d_resubmit_table(data, True),
    NXAST_OUTPUT_REG: _d_output_reg,
    NXAST_OUTPUT_REG2: _d_output_reg2,
    NXAST_EXIT: _fixed(16, A.Exit()),
    NXAST_DEC_TTL: _fixed(16, A.DecTtl()),
    NXAST_CONTROLLER: _d_controller,
    NXAST_CONTROLLER2: _d_controller2,
    NXAST_DEC_TTL_CNT_IDS: _d_dec_ttl_cnt_ids,
    NXAST_WRITE_METADATA: _d_write_metadata,
    NXAST_REG_LOAD2: _d_reg_load2,
    NXAST_GROUP: _d_group,
    NXAST_CT_CLEAR: _fixed(16, A.CtClear()),
}


# ----------------------------------------------------------------------------- encoding
def put_resubmit(a: A.Resubmit) -> bytes:
    port = OFPP_IN_PORT if a.in_port is None else a.in_port
    table = 0xFF if a.table is None else a.table
    subtype = NXAST_RESUBMIT_TABLE_CT if a.with_ct_orig else NXAST_RESUBMIT_TABLE
    return nx_action(subtype, struct.pack("!HB3x", port, table))


def put_goto_table_10(table_id: int) -> bytes:
    """OpenFlow 1.0 has no goto_table: OVS sends resubmit(,N)."""
    return nx_action(NXAST_RESUBMIT_TABLE, struct.pack("!HB3x", OFPP_IN_PORT, table_id))


def put_reg_load(dst: A.SubField, value: int) -> bytes:
    return nx_action(NXAST_REG_LOAD, struct.pack(
        "!HIQ", ofs_nbits(dst.ofs, dst.n_bits), header_for_action(dst.field), value))


def put_load_segments(f: Field, value: int, mask: int) -> bytes:
    """A field write as NXAST_REG_LOADs, one per run of mask bits (at most 64 each)."""
    out = bytearray()
    ofs = 0
    while ofs < f.nbits:
        if not mask >> ofs & 1:
            ofs += 1
            continue
        end = ofs
        while end < f.nbits and end - ofs < 64 and mask >> end & 1:
            end += 1
        n = end - ofs
        out += put_reg_load(A.SubField(f, ofs, n), (value >> ofs) & ((1 << n) - 1))
        ofs = end
    return bytes(out)


def put_reg_load2(f: Field, value: int, mask: int) -> bytes:
    tlv = bytearray()
    code = wire_code(f, False)
    masked = mask != f.full_mask
    put_header(tlv, code, masked)
    tlv += (value & mask).to_bytes(code.nbytes, "big")
    if masked:
        tlv += mask.to_bytes(code.nbytes, "big")
    return nx_action(NXAST_REG_LOAD2, bytes(tlv))


def put_set_field_nx(a: A.SetField) -> bytes:
    """OVS ``set_field_to_nxast``: reg_load segments, reg_load2 when no NXM header."""
    code = a.field.nxm or a.field.oxm
    if code is None or code.experimenter:
        return put_reg_load2(a.field, a.value, a.mask)
    return put_load_segments(a.field, a.value, a.mask)


def put_move(a: A.Move) -> bytes:
    body = struct.pack("!HHHII", a.src.n_bits, a.src.ofs, a.dst.ofs,
                       header_for_action(a.src.field), header_for_action(a.dst.field))
    return nx_action(NXAST_REG_MOVE, body)


def put_output_reg(a: A.OutputReg) -> bytes:
    return nx_action(NXAST_OUTPUT_REG, struct.pack(
        "!HIH6x", ofs_nbits(a.src.ofs, a.src.n_bits), header_for_action(a.src.field),
        a.max_len))


def put_controller(a: A.Controller) -> bytes:
    if not (a.userdata or a.pause or a.meter_id != NX_CTLR_NO_METER):
        return nx_action(NXAST_CONTROLLER, struct.pack(
            "!HHBx", a.max_len, a.controller_id, a.reason.value))
    props = bytearray(bytes(6))
    if a.max_len != 0xFFFF:
        _prop(props, NXAC2PT_MAX_LEN, U16.pack(a.max_len) + b"\0\0")
    if a.controller_id:
        _prop(props, NXAC2PT_CONTROLLER_ID, U16.pack(a.controller_id) + b"\0\0")
    if a.reason is not A.ControllerReason.ACTION:
        _prop(props, NXAC2PT_REASON, bytes((a.reason.value,)))
    if a.userdata:
        _prop(props, NXAC2PT_USERDATA, a.userdata)
    if a.pause:
        _prop(props, NXAC2PT_PAUSE, b"")
    if a.meter_id != NX_CTLR_NO_METER:
        _prop(props, NXAC2PT_METER_ID, U32.pack(a.meter_id))
    return nx_action(NXAST_CONTROLLER2, bytes(props))


def _prop(out: bytearray, ptype: int, payload: bytes) -> None:
    n = 4 + len(payload)
    out += struct.pack("!HH", ptype, n) + payload + bytes(pad8(n))


def put_dec_ttl(a: A.DecTtl, standard: bytes) -> bytes:
    """``standard`` is the version's plain decrement (NX 18 in 1.0, DEC_NW_TTL in 1.3)."""
    if not a.explicit_ids and a.controller_ids == (0,):
        return standard
    ids = struct.pack(f"!{len(a.controller_ids)}H", *a.controller_ids)
    ids += bytes(pad8(len(ids)))
    return nx_action(NXAST_DEC_TTL_CNT_IDS,
                     struct.pack("!H4x", len(a.controller_ids)) + ids)


def put_write_metadata_10(a: A.WriteMetadata) -> bytes:
    return nx_action(NXAST_WRITE_METADATA, struct.pack("!6xQQ", a.metadata, a.mask))


def put_note(a: A.Note) -> bytes:
    return nx_action(NXAST_NOTE, a.data)


def put_simple(subtype: int) -> bytes:
    return nx_action(subtype, bytes(6))


def put_u32(subtype: int, value: int) -> bytes:
    return nx_action(subtype, struct.pack("!2xI", value))
