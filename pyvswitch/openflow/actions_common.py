"""What the per-version action encoders and decoders share: the encoding context (what
the flow's match says, which changes how OVS spells some actions), the output-port check,
and OVS's ``ofpacts_verify`` nesting and instruction-order rules with their error codes.

Layer: openflow.  Imports: flow.ofpacts, flow.match, flow.layout, errors, types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyvswitch.errors import OFPError
from pyvswitch.flow import layout as L
from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.match import Match
from pyvswitch.types import (
    OFPP_ALL,
    OFPP_CONTROLLER,
    OFPP_FLOOD,
    OFPP_IN_PORT,
    OFPP_LOCAL,
    OFPP_MAX,
    OFPP_NORMAL,
    OFPP_TABLE,
)

_OUTPUT_OK = frozenset((OFPP_IN_PORT, OFPP_TABLE, OFPP_NORMAL, OFPP_FLOOD, OFPP_ALL,
                        OFPP_CONTROLLER, OFPP_LOCAL))


@dataclass(slots=True)
class ActionCtx:
    """Encoding context: the flow's IP protocol picks tcp_/udp_/sctp_ set_field for
    ``mod_tp_*``, and whether a VLAN tag is present decides if ``mod_vlan_vid`` needs a
    push_vlan first in OpenFlow 1.1+ (tracked through the action list)."""

    version: int
    nw_proto: int = 0
    has_vlan: bool = False

    @classmethod
    def for_match(cls, version: int, match: Match | None) -> ActionCtx:
        if match is None:
            return cls(version)
        proto = match.value[L.NW_PROTO] if match.mask[L.NW_PROTO] else 0
        tci, tmask = match.value[L.VLAN_TCI], match.mask[L.VLAN_TCI]
        return cls(version, proto, bool(tci & tmask & L.VLAN_CFI))


def check_output_port(port: int) -> int:
    """OVS ``ofpact_check_output_port``: a physical port or a usable reserved port."""
    if port < OFPP_MAX or port in _OUTPUT_OK:
        return port
    raise OFPError("OFPBAC_BAD_OUT_PORT", f"cannot output to port {port:#x}")


# instruction classes in the order OpenFlow 1.1+ requires
_I_METER, _I_APPLY, _I_CLEAR, _I_WRITE, _I_META, _I_GOTO = range(6)
_INST_OF = {A.Meter: _I_METER, A.ClearActions: _I_CLEAR, A.WriteActions: _I_WRITE,
            A.WriteMetadata: _I_META, A.GotoTable: _I_GOTO}
ALL_INSTRUCTIONS = frozenset(range(6))
APPLY_ONLY = frozenset((_I_APPLY,))

OUTER_NONE, OUTER_CT, OUTER_WRITE = "", "ct", "write_actions"


def instruction_class(a: object) -> int:
    return _INST_OF.get(type(a), _I_APPLY)


def _dst_field(a: object):
    if isinstance(a, A.SetField) and a.raw in (A.SetRaw.SET_FIELD, A.SetRaw.LOAD):
        return a.field
    if isinstance(a, A.Move):
        return a.dst.field
    return None


def verify_actions(acts: Sequence[object], outer: str = OUTER_NONE,
                   allowed: frozenset[int] = ALL_INSTRUCTIONS) -> None:
    """Nesting and ordering rules of decoded actions (OVS ``ofpacts_verify``)."""
    inst = _I_METER
    for i, a in enumerate(acts):
        f = _dst_field(a)
        ct_field = f is not None and f.name in ("ct_mark", "ct_label")
        if ct_field and outer != OUTER_CT:
            raise OFPError("OFPBAC_BAD_SET_ARGUMENT", "cannot set CT fields outside of ct")
        if isinstance(a, A.Nat):
            if outer != OUTER_CT:
                raise OFPError("OFPBAC_BAD_SET_ARGUMENT", "nat outside of ct")
        elif outer == OUTER_CT and not ct_field:
            raise OFPError("OFPBAC_BAD_ARGUMENT", "ct supports only nat and ct_mark/ct_label")
        elif outer and isinstance(a, A.Meter):
            raise OFPError("OFPBAC_BAD_ARGUMENT", f"{outer} does not support meter")
        nxt = instruction_class(a)
        if i and (nxt < inst if inst == _I_APPLY else nxt <= inst):
            raise OFPError("OFPBAC_UNSUPPORTED_ORDER", "instructions out of order")
        if nxt not in allowed:
            raise OFPError("OFPBIC_UNSUP_INST", "instruction not allowed here")
        inst = nxt
