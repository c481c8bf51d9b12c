"""OpenFlow 1.0 actions: the standard ones (type 0..11) both ways, and how every ofpact is
spelled in a 1.0 action list.

Decoding keeps the spelling so ``dump-flows`` prints what ovs-ofctl prints for the same
bytes: ``OFPAT_SET_NW_DST`` becomes ``mod_nw_dst``, ``STRIP_VLAN`` ``strip_vlan``,
``SET_VLAN_VID`` ``mod_vlan_vid``.  Encoding picks what ovs-ofctl sends in 1.0 mode: a
``set_field`` to a field with a 1.0 action uses that action, anything else becomes
NXAST_REG_LOAD; ``push_vlan`` has no 1.0 form (the following ``mod_vlan_vid`` pushes);
``goto_table`` becomes ``resubmit(,N)``; instructions 1.0 cannot express are dropped, as
OVS does.

Layer: openflow.  Imports: flow.ofpacts, flow.fields, errors, openflow.*.
"""

from __future__ import annotations

import struct

from pyvswitch.errors import LocalProtocolError, OFPError
from pyvswitch.flow import layout as L
from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.fields import FIELDS
from pyvswitch.openflow import actions_nx as NX
from pyvswitch.openflow.actions_common import ActionCtx, check_output_port
from pyvswitch.types import OFPP_IN_PORT, OFPP_LOCAL, OFPP_MAX

OFPAT10_OUTPUT = 0
OFPAT10_SET_VLAN_VID = 1
OFPAT10_SET_VLAN_PCP = 2
OFPAT10_STRIP_VLAN = 3
OFPAT10_SET_DL_SRC = 4
OFPAT10_SET_DL_DST = 5
OFPAT10_SET_NW_SRC = 6
OFPAT10_SET_NW_DST = 7
OFPAT10_SET_NW_TOS = 8
OFPAT10_SET_TP_SRC = 9
OFPAT10_SET_TP_DST = 10
OFPAT10_ENQUEUE = 11

F = FIELDS
R = A.SetRaw


def _u16(data: bytes) -> int:
    return struct.unpack_from("!H", data, 4)[0]


def _d_output(data: bytes) -> list[object]:
    port, max_len = struct.unpack_from("!HH", data, 4)
    return [A.Output(check_output_port(port), max_len)]


def _d_vlan_vid(data: bytes) -> list[object]:
    vid = _u16(data)
    if vid & ~0xFFF:
        raise OFPError("OFPBAC_BAD_ARGUMENT", f"VLAN VID {vid} out of range")
    return [A.SetVlanVid(vid, True)]


def _d_vlan_pcp(data: bytes) -> list[object]:
    pcp = data[4]
    if pcp & ~7:
        raise OFPError("OFPBAC_BAD_ARGUMENT", f"VLAN PCP {pcp} out of range")
    return [A.SetVlanPcp(pcp, True)]


def _d_mac(name: str, raw: A.SetRaw):
    f = F[name]

    def decode(data: bytes) -> list[object]:
        return [A.SetField(f, int.from_bytes(data[4:10], "big"), f.full_mask, raw)]
    return decode


def _d_ip(name: str, raw: A.SetRaw):
    f = F[name]

    def decode(data: bytes) -> list[object]:
        return [A.SetField(f, struct.unpack_from("!I", data, 4)[0], f.full_mask, raw)]
    return decode


def _d_tos(data: bytes) -> list[object]:
    tos = data[4]
    if tos & ~0xFC:
        raise OFPError("OFPBAC_BAD_ARGUMENT", f"TOS {tos:#x} has ECN bits")
    return [A.SetField(F["nw_tos"], tos, 0xFC, R.MOD_NW_TOS)]


def _d_tp(name: str, raw: A.SetRaw):
    f = F[name]

    def decode(data: bytes) -> list[object]:
        return [A.SetField(f, _u16(data), 0xFFFF, raw)]
    return decode


def _d_enqueue(data: bytes) -> list[object]:
    port, queue = struct.unpack_from("!H6xI", data, 4)
    if port >= OFPP_MAX and port not in (OFPP_IN_PORT, OFPP_LOCAL):
        raise OFPError("OFPBAC_BAD_OUT_PORT", f"cannot enqueue on port {port:#x}")
    return [A.Enqueue(port, queue)]


#: type -> (length, decoder)
DECODERS = {
    OFPAT10_OUTPUT: (8, _d_output),
    OFPAT10_SET_VLAN_VID: (8, _d_vlan_vid),
    OFPAT10_SET_VLAN_PCP: (8, _d_vlan_pcp),
    OFPAT10_STRIP_VLAN: (8, lambda data: [A.PopVlan(A.PopVlanRaw.STRIP_VLAN)]),
    OFPAT10_SET_DL_SRC: (16, _d_mac("eth_src", R.MOD_DL_SRC)),
    OFPAT10_SET_DL_DST: (16, _d_mac("eth_dst", R.MOD_DL_DST)),
    OFPAT10_SET_NW_SRC: (8, _d_ip("ip_src", R.MOD_NW_SRC)),
    OFPAT10_SET_NW_DST: (8, _d_ip("ip_dst", R.MOD_NW_DST)),
    OFPAT10_SET_NW_TOS: (8, _d_tos),
    OFPAT10_SET_TP_SRC: (8, _d_tp("tp_src", R.MOD_TP_SRC)),
    OFPAT10_SET_TP_DST: (8, _d_tp("tp_dst", R.MOD_TP_DST)),
    OFPAT10_ENQUEUE: (16, _d_enqueue),
}


# ----------------------------------------------------------------------------- encoding
def _std(atype: int, fmt: str = "", *args: int | bytes) -> bytes:
    body = struct.pack("!" + fmt, *args) if fmt else b""
    n = 4 + len(body)
    n += (8 - n % 8) % 8
    return struct.pack("!HH", atype, n) + body + bytes(n - 4 - len(body))


def put_vlan_vid(vid: int) -> bytes:
    return _std(OFPAT10_SET_VLAN_VID, "H", vid)


def put_vlan_pcp(pcp: int) -> bytes:
    return _std(OFPAT10_SET_VLAN_PCP, "B", pcp)


def _set_field(a: A.SetField) -> bytes:
    """OVS ``set_field_to_legacy_openflow`` for a whole-field write, else reg_load."""
    name, v = a.field.name, a.value
    whole = a.mask == a.field.full_mask
    if a.raw is R.LOAD or not whole:
        if a.raw is R.MOD_NW_TOS and a.field.name == "nw_tos":
            return _std(OFPAT10_SET_NW_TOS, "B", v & 0xFC)
        return NX.put_set_field_nx(a)
    if name == "vlan_tci":
        if v & L.VLAN_CFI:
            return put_vlan_vid(v & 0xFFF) + put_vlan_pcp(v >> 13)
        return _std(OFPAT10_STRIP_VLAN)
    if name == "vlan_vid":
        return put_vlan_vid(v & 0xFFF)
    if name in ("vlan_pcp", "dl_vlan_pcp"):
        return put_vlan_pcp(v)
    if name == "dl_vlan":
        return put_vlan_vid(v)
    if name in ("eth_src", "eth_dst"):
        atype = OFPAT10_SET_DL_SRC if name == "eth_src" else OFPAT10_SET_DL_DST
        return _std(atype, "6s", v.to_bytes(6, "big"))
    if name in ("ip_src", "ip_dst"):
        return _std(OFPAT10_SET_NW_SRC if name == "ip_src" else OFPAT10_SET_NW_DST, "I", v)
    if name == "nw_tos":
        return _std(OFPAT10_SET_NW_TOS, "B", v & 0xFC)
    if name == "ip_dscp":
        return _std(OFPAT10_SET_NW_TOS, "B", (v << 2) & 0xFC)
    if name in ("tcp_src", "udp_src", "tp_src"):
        return _std(OFPAT10_SET_TP_SRC, "H", v)
    if name in ("tcp_dst", "udp_dst", "tp_dst"):
        return _std(OFPAT10_SET_TP_DST, "H", v)
    if a.field.nxm is None and a.field.oxm is None:
        raise LocalProtocolError(f"cannot encode a write to {name}")
    return NX.put_set_field_nx(a)


def encode(a: object, ctx: ActionCtx) -> bytes:
    """One ofpact as OpenFlow 1.0 action bytes (possibly several actions, or none)."""
    t = type(a)
    if t is A.Output:
        return _std(OFPAT10_OUTPUT, "HH", a.port & 0xFFFF, a.max_len)
    if t is A.SetField:
        return _set_field(a)
    if t is A.PopVlan:
        ctx.has_vlan = False
        return _std(OFPAT10_STRIP_VLAN)
    if t is A.SetVlanVid:
        ctx.has_vlan = True
        return put_vlan_vid(a.vid)
    if t is A.SetVlanPcp:
        ctx.has_vlan = True
        return put_vlan_pcp(a.pcp)
    if t is A.PushVlan:
        ctx.has_vlan = True
        return b""
    if t is A.Enqueue:
        return _std(OFPAT10_ENQUEUE, "H6xI", a.port & 0xFFFF, a.queue)
    if t is A.SetQueue:
        return NX.put_u32(NX.NXAST_SET_QUEUE, a.queue_id)
    if t is A.Group:
        return NX.put_u32(NX.NXAST_GROUP, a.group_id)
    if t is A.DecTtl:
        return NX.put_dec_ttl(a, NX.put_simple(NX.NXAST_DEC_TTL))
    if t is A.SetIPTtl:
        return NX.put_reg_load(A.SubField(F["nw_ttl"], 0, 8), a.ttl)
    if t is A.GotoTable:
        return NX.put_goto_table_10(a.table_id)
    if t is A.WriteMetadata:
        return NX.put_write_metadata_10(a)
    if t in (A.ClearActions, A.WriteActions, A.Meter, A.Drop):
        return b""
    raise LocalProtocolError(f"no OpenFlow 1.0 encoding for {t.__name__}")
