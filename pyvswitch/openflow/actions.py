"""Action lists <-> ofpacts, for OpenFlow 1.0 and 1.3 (both with Nicira actions).

:func:`decode_actions` walks ``type(2) len(2) ...`` actions: standard types go to the
version's table (:mod:`~pyvswitch.openflow.actions_of10` /
:mod:`~pyvswitch.openflow.actions_of13`), vendor actions to the Nicira decoders; the result
is checked with OVS's nesting and ordering rules.  Bad lengths are BAD_LEN, unknown types
BAD_TYPE, unknown vendors BAD_VENDOR, unknown Nicira subtypes BAD_VENDOR_TYPE (shown as
BAD_EXP_TYPE in 1.3).  :func:`encode_actions` writes ofpacts the way ovs-ofctl does for
the version, given the flow's match as context.

Layer: openflow.  Imports: flow.ofpacts, flow.match, errors, openflow.*.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pyvswitch.errors import LocalProtocolError, OFPError
from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.match import Match
from pyvswitch.openflow import actions_nx as NX
from pyvswitch.openflow import actions_nx_ct as NXCT
from pyvswitch.openflow import actions_of10, actions_of13
from pyvswitch.openflow.actions_common import (
    ALL_INSTRUCTIONS,
    APPLY_ONLY,
    OUTER_CT,
    OUTER_NONE,
    ActionCtx,
    verify_actions,
)
from pyvswitch.openflow.consts import NX_VENDOR_ID, OFP10_VERSION

_ACTION_HDR = struct.Struct("!HH")
MAX_NESTING = 16


def decode_actions(data: bytes, version: int, outer: str = OUTER_NONE,
                   allowed: frozenset[int] = ALL_INSTRUCTIONS,
                   depth: int = 0) -> tuple[object, ...]:
    """Decode a whole action list (``data`` is exactly the list)."""
    if depth > MAX_NESTING:
        raise OFPError("OFPBAC_BAD_ARGUMENT", "actions nested too deeply")
    std = actions_of10.DECODERS if version == OFP10_VERSION else actions_of13.DECODERS
    out: list[object] = []
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 8:
            raise OFPError("OFPBAC_BAD_LEN", f"{end - pos} bytes left for an action")
        atype, alen = _ACTION_HDR.unpack_from(data, pos)
        if alen < 8 or alen % 8 or alen > end - pos:
            raise OFPError("OFPBAC_BAD_LEN", f"action length {alen} is invalid")
        act = data[pos:pos + alen]
        pos += alen
        if atype == 0xFFFF:
            out.extend(_decode_vendor(act, version, depth))
            continue
        entry = std.get(atype)
        if entry is None:
            raise OFPError("OFPBAC_BAD_TYPE", f"unknown action type {atype}")
        size, decoder = entry
        if size and alen != size:
            raise OFPError("OFPBAC_BAD_LEN", f"action {atype} has length {alen}, not {size}")
        out.extend(decoder(act))
    verify_actions(out, outer, allowed)
    return tuple(out)


def _decode_vendor(act: bytes, version: int, depth: int) -> list[object]:
    if len(act) < 16:
        raise OFPError("OFPBAC_BAD_LEN", "vendor action shorter than 16 bytes")
    vendor, subtype = struct.unpack_from("!IH", act, 4)
    if vendor != NX_VENDOR_ID:
        raise OFPError("OFPBAC_BAD_VENDOR", f"unknown action vendor {vendor:#x}")
    decoder = NX.DECODERS.get(subtype)
    if decoder is not None:
        return decoder(act)
    if subtype == NX.NXAST_CT:
        return NXCT.decode_ct(act, lambda data: decode_actions(
            data, version, OUTER_CT, APPLY_ONLY, depth + 1))
    if subtype == NX.NXAST_NAT:
        return NXCT.decode_nat(act)
    if subtype in (NX.NXAST_LEARN, NX.NXAST_LEARN2):
        return NXCT.decode_learn(act, subtype == NX.NXAST_LEARN2)
    raise OFPError("OFPBAC_BAD_VENDOR_TYPE", f"unsupported Nicira action {subtype}")


def encode_actions(acts: Sequence[object], version: int, match: Match | None = None,
                   ctx: ActionCtx | None = None) -> bytes:
    """Encode ofpacts as a plain action list (no instructions) for ``version``."""
    if ctx is None:
        ctx = ActionCtx.for_match(version, match)
    std = actions_of10.encode if version == OFP10_VERSION else actions_of13.encode
    out = bytearray()
    for a in acts:
        out += encode_action(a, ctx, std)
    return bytes(out)


def encode_action(a: object, ctx: ActionCtx, std=None) -> bytes:
    t = type(a)
    if t is A.Resubmit:
        return NX.put_resubmit(a)
    if t is A.Ct:
        inner_ctx = ActionCtx(ctx.version, ctx.nw_proto, ctx.has_vlan)
        return NXCT.put_ct(a, lambda acts: encode_actions(acts, ctx.version, ctx=inner_ctx))
    if t is A.Nat:
        return NXCT.put_nat(a)
    if t is A.CtClear:
        return NX.put_simple(NX.NXAST_CT_CLEAR)
    if t is A.Learn:
        return NXCT.put_learn(a)
    if t is A.Controller:
        return NX.put_controller(a)
    if t is A.OutputReg:
        return NX.put_output_reg(a)
    if t is A.Move:
        return NX.put_move(a)
    if t is A.Note:
        return NX.put_note(a)
    if t is A.Exit:
        return NX.put_simple(NX.NXAST_EXIT)
    if std is None:
        std = actions_of10.encode if ctx.version == OFP10_VERSION else actions_of13.encode
    try:
        return std(a, ctx)
    except OFPError as e:  # pragma: no cover - encoders raise LocalProtocolError
        raise LocalProtocolError(e.msg) from None
