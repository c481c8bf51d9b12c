"""OpenFlow 1.1+ instructions <-> ofpacts, and the version switch for flow actions.

A 1.3 flow carries instructions (``type(2) len(2) ...``): GOTO_TABLE 1, WRITE_METADATA 2,
WRITE_ACTIONS 3, APPLY_ACTIONS 4, CLEAR_ACTIONS 5, METER 6.  As in OVS they become one
ofpact list: ``Meter``, the apply-actions, then ``ClearActions``, ``WriteActions``,
``WriteMetadata``, ``GotoTable``, whatever their order on the wire.  An empty list is drop
and is sent as no instruction at all.  An OpenFlow 1.0 flow carries a plain action list in
which Nicira actions stand for the instructions (:func:`decode_flow_actions` and
:func:`encode_flow_actions` hide the difference).

Layer: openflow.  Imports: flow.ofpacts, flow.match, errors, openflow.*.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pyvswitch.errors import OFPError
from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.match import Match
from pyvswitch.openflow.actions import decode_actions, encode_action, encode_actions
from pyvswitch.openflow.actions_common import (
    APPLY_ONLY,
    OUTER_WRITE,
    ActionCtx,
    instruction_class,
    verify_actions,
)
from pyvswitch.openflow.consts import OFP10_VERSION

OFPIT_GOTO_TABLE = 1
OFPIT_WRITE_METADATA = 2
OFPIT_WRITE_ACTIONS = 3
OFPIT_APPLY_ACTIONS = 4
OFPIT_CLEAR_ACTIONS = 5
OFPIT_METER = 6
OFPIT_EXPERIMENTER = 0xFFFF

_FIXED_LEN = {OFPIT_GOTO_TABLE: 8, OFPIT_WRITE_METADATA: 24, OFPIT_CLEAR_ACTIONS: 8,
              OFPIT_METER: 8}
_INST_HDR = struct.Struct("!HH")


def decode_instructions(data: bytes, version: int) -> tuple[object, ...]:
    """Decode a 1.1+ instruction list into ofpacts in OVS's canonical order."""
    found: dict[int, bytes] = {}
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 8:
            raise OFPError("OFPBIC_BAD_LEN", f"{end - pos} bytes left for an instruction")
        itype, ilen = _INST_HDR.unpack_from(data, pos)
        if ilen < 8 or ilen % 8 or ilen > end - pos:
            raise OFPError("OFPBIC_BAD_LEN", f"instruction length {ilen} is invalid")
        if itype == OFPIT_EXPERIMENTER:
            raise OFPError("OFPBIC_BAD_EXPERIMENTER", "experimenter instruction")
        if itype not in (*_FIXED_LEN, OFPIT_WRITE_ACTIONS, OFPIT_APPLY_ACTIONS):
            raise OFPError("OFPBIC_UNKNOWN_INST", f"unknown instruction type {itype}")
        if itype in _FIXED_LEN and ilen != _FIXED_LEN[itype]:
            raise OFPError("OFPBIC_BAD_LEN", f"instruction {itype} has length {ilen}")
        if itype in found:
            raise OFPError("OFPBIC_DUP_INST", f"instruction {itype} given twice")
        found[itype] = data[pos:pos + ilen]
        pos += ilen
    out: list[object] = []
    if OFPIT_METER in found:
        out.append(A.Meter(struct.unpack_from("!I", found[OFPIT_METER], 4)[0]))
    if OFPIT_APPLY_ACTIONS in found:
        out.extend(decode_actions(found[OFPIT_APPLY_ACTIONS][8:], version,
                                  allowed=APPLY_ONLY))
    if OFPIT_CLEAR_ACTIONS in found:
        out.append(A.ClearActions())
    if OFPIT_WRITE_ACTIONS in found:
        acts = decode_actions(found[OFPIT_WRITE_ACTIONS][8:], version, OUTER_WRITE,
                              APPLY_ONLY)
        out.append(A.WriteActions(acts))
    if OFPIT_WRITE_METADATA in found:
        metadata, mask = struct.unpack_from("!4xQQ", found[OFPIT_WRITE_METADATA], 4)
        out.append(A.WriteMetadata(metadata, mask))
    if OFPIT_GOTO_TABLE in found:
        out.append(A.GotoTable(found[OFPIT_GOTO_TABLE][4]))
    verify_actions(out)
    return tuple(out)


def encode_instructions(acts: Sequence[object], version: int,
                        match: Match | None = None) -> bytes:
    """ofpacts as 1.1+ instructions: consecutive actions share one APPLY_ACTIONS."""
    ctx = ActionCtx.for_match(version, match)
    out = bytearray()
    apply = bytearray()
    for a in acts:
        if instruction_class(a) == 1:
            apply += encode_action(a, ctx)
            continue
        if apply:
            _put_actions_inst(out, OFPIT_APPLY_ACTIONS, bytes(apply))
            apply = bytearray()
        t = type(a)
        if t is A.Meter:
            out += struct.pack("!HHI", OFPIT_METER, 8, a.meter_id)
        elif t is A.ClearActions:
            out += struct.pack("!HH4x", OFPIT_CLEAR_ACTIONS, 8)
        elif t is A.WriteActions:
            inner = ActionCtx(version, ctx.nw_proto, ctx.has_vlan)
            _put_actions_inst(out, OFPIT_WRITE_ACTIONS,
                              encode_actions(a.actions, version, ctx=inner))
        elif t is A.WriteMetadata:
            out += struct.pack("!HH4xQQ", OFPIT_WRITE_METADATA, 24, a.metadata, a.mask)
        elif t is A.GotoTable:
            out += struct.pack("!HHB3x", OFPIT_GOTO_TABLE, 8, a.table_id)
    if apply:
        _put_actions_inst(out, OFPIT_APPLY_ACTIONS, bytes(apply))
    return bytes(out)


def _put_actions_inst(out: bytearray, itype: int, actions: bytes) -> None:
    out += struct.pack("!HH4x", itype, 8 + len(actions)) + actions


def decode_flow_actions(data: bytes, version: int) -> tuple[object, ...]:
    """A flow's actions: a plain list in 1.0, instructions in 1.1+."""
    if version == OFP10_VERSION:
        return decode_actions(data, version)
    return decode_instructions(data, version)


def encode_flow_actions(acts: Sequence[object], version: int,
                        match: Match | None = None) -> bytes:
    if version == OFP10_VERSION:
        return encode_actions(acts, version, match)
    return encode_instructions(acts, version, match)
