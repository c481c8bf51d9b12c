"""Nicira ``ct`` (NXAST_CT 35) with nested ``nat`` (36) and exec actions, and ``learn``
(NXAST_LEARN 16 / LEARN2 45).

``ct``: ``flags(2) zone_src(4) zone(2) recirc_table(1) pad(3) alg(2)`` then nested actions
in the same encoding as the enclosing list; the nested list may hold only a NAT action
and writes to ct_mark/ct_label, and anything but an argument-less ``nat`` needs ``commit``
(OVS refuses the rest with BAD_ARGUMENT).  ``nat``: ``pad(2) flags(2) range_present(2)``
then the present range fields in a fixed order.  ``learn``: a fixed part, then
``flow_mod_spec`` items until the end (a zero header ends the list early).

Layer: openflow.  Imports: flow.ofpacts, flow.fields, errors, openflow.header,
openflow.actions_nx, openflow.match_oxm.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from pyvswitch.errors import OFPError
from pyvswitch.flow import ofpacts as A
from pyvswitch.openflow.actions_nx import (
    NX_HDR_LEN,
    NXAST_CT,
    NXAST_LEARN,
    NXAST_LEARN2,
    NXAST_NAT,
    check_subfield,
    nx_action,
    ofs_nbits,
    pull_field_header,
    subfield,
)
from pyvswitch.openflow.header import U16, U32, Reader
from pyvswitch.openflow.match_oxm import field_from_header, header_for_action

NX_CT = struct.Struct("!HIHB3sH")  # flags, zone_src, zone, recirc_table, pad, alg
NX_CT_LEN = 24
CT_F_MASK = A.CT_F_COMMIT | A.CT_F_FORCE

NAT_RANGE_IPV4_MIN = 0x01
NAT_RANGE_IPV4_MAX = 0x02
NAT_RANGE_IPV6_MIN = 0x04
NAT_RANGE_IPV6_MAX = 0x08
NAT_RANGE_PROTO_MIN = 0x10
NAT_RANGE_PROTO_MAX = 0x20
NAT_F_MASK = 0x1F

NX_LEARN = struct.Struct("!HHHQHBBHH")
NX_LEARN_LEN = 32
NX_LEARN2_LEN = 40
LEARN_N_BITS_MASK = 0x3FF
LEARN_SRC_IMMEDIATE = 1 << 13
LEARN_DST_SHIFT = 11
_LEARN_KINDS = {0: "match", 1: "load", 2: "output"}
_LEARN_KIND_BITS = {v: k for k, v in _LEARN_KINDS.items()}

#: decodes a nested action list: (data) -> ofpacts
NestedDecoder = Callable[[bytes], tuple[object, ...]]
NestedEncoder = Callable[[tuple[object, ...]], bytes]


def _bad(msg: str) -> OFPError:
    return OFPError("OFPBAC_BAD_ARGUMENT", msg)


# ----------------------------------------------------------------------------- ct
def decode_ct(data: bytes, nested: NestedDecoder) -> list[object]:
    if len(data) < NX_CT_LEN:
        raise OFPError("OFPBAC_BAD_LEN", "ct action shorter than 24 bytes")
    flags, zone_src_h, zone, table, _pad, alg = NX_CT.unpack_from(data, NX_HDR_LEN)
    if flags & A.CT_F_FORCE and not flags & A.CT_F_COMMIT:
        raise _bad("ct: force requires commit")
    zone_src = None
    zone_imm = 0
    if zone_src_h:
        zone_src = subfield(zone_src_h, zone, False)
        if zone_src.n_bits != 16:
            raise OFPError("OFPBAC_BAD_SET_LEN", "ct zone field must be 16 bits")
    else:
        zone_imm = zone
    actions = nested(bytes(data[NX_CT_LEN:]))
    if not flags & A.CT_F_COMMIT:
        for a in actions:
            if not isinstance(a, A.Nat) or a.flags or a.addr_min is not None:
                raise _bad("ct: actions other than a bare nat require commit")
    return [A.Ct(flags=flags, zone_imm=zone_imm, zone_src=zone_src, recirc_table=table,
                 alg=alg, actions=actions)]


def put_ct(a: A.Ct, nested: NestedEncoder) -> bytes:
    if a.zone_src is not None:
        zone_src = header_for_action(a.zone_src.field)
        zone = ofs_nbits(a.zone_src.ofs, a.zone_src.n_bits)
    else:
        zone_src, zone = 0, a.zone_imm
    body = NX_CT.pack(a.flags, zone_src, zone, a.recirc_table, b"\0\0\0", a.alg)
    inner = nested(a.actions)
    head = nx_action(NXAST_CT, body)  # 24 bytes, already a multiple of 8
    return head[:2] + U16.pack(len(head) + len(inner)) + head[4:] + inner


# ----------------------------------------------------------------------------- nat
def decode_nat(data: bytes) -> list[object]:
    if len(data) < 16:
        raise OFPError("OFPBAC_BAD_LEN", "nat action shorter than 16 bytes")
    _pad, flags, present = struct.unpack_from("!2sHH", data, NX_HDR_LEN)
    if (flags & ~NAT_F_MASK or (flags & A.NAT_F_SRC and flags & A.NAT_F_DST)
            or (flags & A.NAT_F_PROTO_HASH and flags & A.NAT_F_PROTO_RANDOM)):
        raise _bad(f"nat: bad flags {flags:#x}")
    r = Reader(data, 16, error="OFPBAC_BAD_ARGUMENT")
    ipv6 = False
    amin = amax = pmin = pmax = None
    if present & NAT_RANGE_IPV4_MIN:
        if present & (NAT_RANGE_IPV6_MIN | NAT_RANGE_IPV6_MAX):
            raise _bad("nat: both IPv4 and IPv6 ranges")
        (amin,) = r.unpack(U32, "nat range")
        if not amin:
            raise _bad("nat: zero IPv4 address")
        if present & NAT_RANGE_IPV4_MAX:
            (amax,) = r.unpack(U32, "nat range")
            if amax < amin:
                raise _bad("nat: IPv4 range max below min")
    elif present & NAT_RANGE_IPV4_MAX:
        raise _bad("nat: IPv4 max without min")
    elif present & NAT_RANGE_IPV6_MIN:
        ipv6 = True
        amin = int.from_bytes(r.take(16, "nat range"), "big")
        if not amin:
            raise _bad("nat: zero IPv6 address")
        if present & NAT_RANGE_IPV6_MAX:
            amax = int.from_bytes(r.take(16, "nat range"), "big")
            if amax < amin:
                raise _bad("nat: IPv6 range max below min")
    elif present & NAT_RANGE_IPV6_MAX:
        raise _bad("nat: IPv6 max without min")
    if present & NAT_RANGE_PROTO_MIN:
        if amin is None:
            raise _bad("nat: port range without address")
        (pmin,) = r.unpack(U16, "nat range")
        if not pmin:
            raise _bad("nat: zero port")
        if present & NAT_RANGE_PROTO_MAX:
            (pmax,) = r.unpack(U16, "nat range")
            if pmax < pmin:
                raise _bad("nat: port range max below min")
    elif present & NAT_RANGE_PROTO_MAX:
        raise _bad("nat: port max without min")
    return [A.Nat(flags=flags, ipv6=ipv6, addr_min=amin, addr_max=amax, port_min=pmin,
                  port_max=pmax)]


def put_nat(a: A.Nat) -> bytes:
    present = 0
    opts = bytearray()
    if a.addr_min:
        width = 16 if a.ipv6 else 4
        opts += a.addr_min.to_bytes(width, "big")
        present |= NAT_RANGE_IPV6_MIN if a.ipv6 else NAT_RANGE_IPV4_MIN
        if a.addr_max:
            opts += a.addr_max.to_bytes(width, "big")
            present |= NAT_RANGE_IPV6_MAX if a.ipv6 else NAT_RANGE_IPV4_MAX
        if a.port_min:
            opts += U16.pack(a.port_min)
            present |= NAT_RANGE_PROTO_MIN
            if a.port_max:
                opts += U16.pack(a.port_max)
                present |= NAT_RANGE_PROTO_MAX
    return nx_action(NXAST_NAT, struct.pack("!2xHH", a.flags, present) + bytes(opts))


# ----------------------------------------------------------------------------- learn
def decode_learn(data: bytes, v2: bool = False) -> list[object]:
    fixed = NX_LEARN2_LEN if v2 else NX_LEARN_LEN
    if len(data) < fixed:
        raise OFPError("OFPBAC_BAD_LEN", f"learn action shorter than {fixed} bytes")
    (idle, hard, priority, cookie, flags, table, pad, fin_idle,
     fin_hard) = NX_LEARN.unpack_from(data, NX_HDR_LEN)
    if pad:
        raise _bad("learn: pad is not zero")
    if table == 0xFF:
        raise _bad("learn: table 255")
    limit = 0
    result_dst = None
    r = Reader(data, fixed, error="OFPBAC_BAD_LEN")
    if v2:
        limit, dst_ofs, pad2 = struct.unpack_from("!IHH", data, 32)
        if pad2:
            raise OFPError("NXBAC_MUST_BE_ZERO", "learn2: pad is not zero")
        if flags & A.LEARN_F_WRITE_RESULT:
            f = pull_field_header(r)
            if not f.writable:
                raise OFPError("OFPBAC_BAD_SET_ARGUMENT", f"{f.name} is not writable")
            result_dst = check_subfield(A.SubField(f, dst_ofs, 1), True)
        elif dst_ofs:
            raise _bad("learn2: result offset without write_result")
    elif flags & ~(A.LEARN_F_SEND_FLOW_REM | A.LEARN_F_DELETE_LEARNED):
        raise _bad(f"learn: bad flags {flags:#x}")
    specs = []
    while r.remaining >= 2:
        (header,) = r.unpack(U16)
        if not header:
            break
        specs.append(_pull_spec(r, header))
    if any(r.rest()):
        raise _bad("learn: garbage after the specs")
    return [A.Learn(table_id=table, priority=priority, idle_timeout=idle,
                    hard_timeout=hard, fin_idle_timeout=fin_idle, fin_hard_timeout=fin_hard,
                    cookie=cookie, flags=flags, specs=tuple(specs), limit=limit,
                    result_dst=result_dst)]


def _pull_spec(r: Reader, header: int) -> A.LearnSpec:
    n_bits = header & LEARN_N_BITS_MASK
    immediate = bool(header & LEARN_SRC_IMMEDIATE)
    kind = _LEARN_KINDS.get((header >> LEARN_DST_SHIFT) & 3)
    if kind is None or (kind == "output" and immediate) or header & 0xC000:
        raise _bad(f"learn: bad spec header {header:#06x}")
    src = None
    imm = 0
    if immediate:
        raw = r.take(2 * ((n_bits + 15) // 16), "learn spec")
        imm = int.from_bytes(raw[len(raw) - (n_bits + 7) // 8:], "big")
    else:
        h, ofs = r.unpack(struct.Struct("!IH"), "learn spec")
        src = A.SubField(field_from_header(h), ofs, n_bits)
    dst = None
    if kind != "output":
        h, ofs = r.unpack(struct.Struct("!IH"), "learn spec")
        dst = A.SubField(field_from_header(h), ofs, n_bits)
    return A.LearnSpec(kind, src, imm, dst, n_bits)


def put_learn(a: A.Learn) -> bytes:
    v2 = a.limit != 0 or bool(a.flags & A.LEARN_F_WRITE_RESULT)
    body = bytearray(NX_LEARN.pack(a.idle_timeout, a.hard_timeout, a.priority, a.cookie,
                                   a.flags, a.table_id, 0, a.fin_idle_timeout,
                                   a.fin_hard_timeout))
    if v2:
        ofs = a.result_dst.ofs if a.result_dst is not None else 0
        body += struct.pack("!IHH", a.limit, ofs, 0)
        if a.flags & A.LEARN_F_WRITE_RESULT and a.result_dst is not None:
            body += U32.pack(header_for_action(a.result_dst.field))
    for spec in a.specs:
        header = spec.n_bits | _LEARN_KIND_BITS[spec.kind] << LEARN_DST_SHIFT
        if spec.src is None:
            header |= LEARN_SRC_IMMEDIATE
        body += U16.pack(header)
        if spec.src is None:
            body += spec.imm.to_bytes(2 * ((spec.n_bits + 15) // 16), "big")
        else:
            body += struct.pack("!IH", header_for_action(spec.src.field), spec.src.ofs)
        if spec.kind != "output" and spec.dst is not None:
            body += struct.pack("!IH", header_for_action(spec.dst.field), spec.dst.ofs)
    return nx_action(NXAST_LEARN2 if v2 else NXAST_LEARN, bytes(body))
