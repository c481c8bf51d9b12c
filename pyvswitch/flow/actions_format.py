"""Printing actions and instructions as ovs-ofctl does (OVS ``ofpacts_format``).

Each ofpact prints the way OVS prints the *stored* action, which depends on the spelling
it came from: a ``SetField`` prints as ``load:`` (one per contiguous run of bits, NXM
subfield names), ``set_field:V->name`` or ``mod_*:V`` according to its ``raw``; ``PopVlan``
as ``strip_vlan`` or ``pop_vlan``; an output to the controller as ``CONTROLLER:N``;
reserved ports by name; ``ct(...)`` with OVS's argument order.  An empty list is ``drop``.

Layer: flow.  Imports: flow.ofpacts, flow.values, flow.field_text, flow.ct_text,
flow.learn_text, types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.ct_text import format_ct, format_nat
from pyvswitch.flow.field_text import format_field_value, format_subfield
from pyvswitch.flow.learn_text import format_learn
from pyvswitch.flow.values import (
    PortNames,
    format_hex_bytes,
    format_ipv4,
    format_mac,
    format_output_port,
    format_port,
    hex_int,
)
from pyvswitch.types import OFPP_CONTROLLER


def action_name(a: object) -> str:
    """The name OVS uses for ``a``'s kind in error messages (``ofpact_name``)."""
    if isinstance(a, A.SetField):
        return "set_field" if a.raw in (A.SetRaw.SET_FIELD, A.SetRaw.LOAD) else a.raw.value
    names = {A.Output: "output", A.OutputReg: "output_reg", A.Controller: "controller",
             A.Group: "group", A.Enqueue: "enqueue", A.SetQueue: "set_queue",
             A.Exit: "exit", A.Note: "note", A.Move: "move", A.DecTtl: "dec_ttl",
             A.SetIPTtl: "mod_nw_ttl", A.PushVlan: "push_vlan", A.PopVlan: "strip_vlan",
             A.SetVlanVid: "set_vlan_vid", A.SetVlanPcp: "set_vlan_pcp",
             A.Resubmit: "resubmit", A.Ct: "ct", A.CtClear: "ct_clear", A.Nat: "nat",
             A.Learn: "learn", A.Meter: "meter", A.ClearActions: "clear_actions",
             A.WriteActions: "write_actions", A.WriteMetadata: "write_metadata",
             A.GotoTable: "goto_table"}
    return names.get(type(a), type(a).__name__.lower())


def format_actions(actions: Sequence[object], port_names: PortNames | None = None) -> str:
    """``actions`` as ovs-ofctl prints them after ``actions=`` (``drop`` when empty)."""
    if not actions:
        return "drop"
    return ",".join(format_action(a, port_names) for a in actions)


def format_action(a: object, port_names: PortNames | None = None) -> str:
    """One ofpact in ovs-ofctl syntax."""
    fmt = _FORMATTERS.get(type(a))
    if fmt is None:
        return action_name(a)
    return fmt(a, port_names)


def _f_output(a: A.Output, pn: PortNames | None) -> str:
    text = format_output_port(a.port, pn)
    return f"{text}:{a.max_len}" if a.port == OFPP_CONTROLLER else text


def _f_controller(a: A.Controller, pn: PortNames | None) -> str:
    if (a.reason is A.ControllerReason.ACTION and not a.controller_id and not a.userdata
            and not a.pause and a.meter_id == 0xFFFFFFFF):
        return f"CONTROLLER:{a.max_len}"
    parts = []
    if a.reason is not A.ControllerReason.ACTION:
        parts.append(f"reason={a.reason.name.lower()}")
    if a.max_len != 0xFFFF:
        parts.append(f"max_len={a.max_len}")
    if a.controller_id:
        parts.append(f"id={a.controller_id}")
    if a.userdata:
        parts.append(f"userdata={format_hex_bytes(a.userdata)}")
    if a.pause:
        parts.append("pause")
    if a.meter_id != 0xFFFFFFFF:
        parts.append(f"meter_id={a.meter_id}")
    return f"controller({','.join(parts)})"


def _load_segments(a: A.SetField) -> list[str]:
    """OVS prints a load as one ``load:`` per contiguous run of mask bits (<= 64 bits)."""
    out = []
    mask = a.mask
    ofs = 0
    nbits = a.field.nbits
    while ofs < nbits:
        if not mask >> ofs & 1:
            ofs += 1
            continue
        end = ofs
        while end < nbits and end - ofs < 64 and mask >> end & 1:
            end += 1
        n = end - ofs
        value = (a.value >> ofs) & ((1 << n) - 1)
        out.append(f"load:{hex_int(value)}->{format_subfield(A.SubField(a.field, ofs, n))}")
        ofs = end
    return out


def _f_set_field(a: A.SetField, pn: PortNames | None) -> str:
    raw = a.raw
    R = A.SetRaw
    if raw is R.LOAD:
        return ",".join(_load_segments(a))
    if raw is R.SET_FIELD:
        return f"set_field:{format_field_value(a.field, a.value, a.mask, pn)}->{a.field.name}"
    if raw in (R.MOD_DL_SRC, R.MOD_DL_DST):
        return f"{raw.value}:{format_mac(a.value)}"
    if raw in (R.MOD_NW_SRC, R.MOD_NW_DST):
        return f"{raw.value}:{format_ipv4(a.value)}"
    value = a.value
    if raw is R.MOD_NW_TOS and a.field.name == "ip_dscp":
        value <<= 2
    elif raw is R.MOD_VLAN_VID:
        value &= 0xFFF
    elif raw is R.MOD_VLAN_PCP and a.field.name == "vlan_tci":
        value >>= 13
    return f"{raw.value}:{value}"


def _f_resubmit(a: A.Resubmit, pn: PortNames | None) -> str:
    if a.in_port is not None and a.table is None:
        return f"resubmit:{format_port(a.in_port, pn)}"
    port = "" if a.in_port is None else format_port(a.in_port, pn)
    table = "" if a.table is None else str(a.table)
    return f"resubmit({port},{table}{',ct' if a.with_ct_orig else ''})"


def _f_write_metadata(a: A.WriteMetadata, pn: PortNames | None) -> str:
    text = f"write_metadata:{hex_int(a.metadata)}"
    return text if a.mask == (1 << 64) - 1 else f"{text}/{hex_int(a.mask)}"


_FORMATTERS: dict[type, Callable] = {
    A.Output: _f_output,
    A.OutputReg: lambda a, pn: f"output:{format_subfield(a.src)}",
    A.Controller: _f_controller,
    A.Group: lambda a, pn: f"group:{a.group_id}",
    A.Enqueue: lambda a, pn: f"enqueue:{format_port(a.port, pn)}:{a.queue}",
    A.SetQueue: lambda a, pn: f"set_queue:{a.queue_id}",
    A.Exit: lambda a, pn: "exit",
    A.Drop: lambda a, pn: "drop",
    A.Note: lambda a, pn: f"note:{format_hex_bytes(a.data)}",
    A.SetField: _f_set_field,
    A.Move: lambda a, pn: f"move:{format_subfield(a.src)}->{format_subfield(a.dst)}",
    A.DecTtl: lambda a, pn: (f"dec_ttl({','.join(map(str, a.controller_ids))})"
                             if a.explicit_ids else "dec_ttl"),
    A.SetIPTtl: lambda a, pn: f"mod_nw_ttl:{a.ttl}",
    A.PushVlan: lambda a, pn: f"push_vlan:{a.ethertype:#x}",
    A.PopVlan: lambda a, pn: a.raw.value,
    A.SetVlanVid: lambda a, pn: (f"{'mod' if a.push_vlan_if_needed else 'set'}_vlan_vid:"
                                 f"{a.vid}"),
    A.SetVlanPcp: lambda a, pn: (f"{'mod' if a.push_vlan_if_needed else 'set'}_vlan_pcp:"
                                 f"{a.pcp}"),
    A.Resubmit: _f_resubmit,
    A.Ct: lambda a, pn: format_ct(a, lambda acts: format_actions(acts, pn)),
    A.Nat: lambda a, pn: format_nat(a),
    A.CtClear: lambda a, pn: "ct_clear",
    A.Learn: lambda a, pn: format_learn(a, pn),
    A.ClearActions: lambda a, pn: "clear_actions",
    A.WriteActions: lambda a, pn: f"write_actions({format_actions(a.actions, pn)})",
    A.WriteMetadata: _f_write_metadata,
    A.GotoTable: lambda a, pn: f"goto_table:{a.table_id}",
    A.Meter: lambda a, pn: f"meter:{a.meter_id}",
}
