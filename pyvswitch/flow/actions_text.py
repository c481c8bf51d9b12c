"""Actions and instructions in ovs-ofctl text: ``output:2,ct(commit),resubmit(,3)``.

:func:`parse_actions` turns the text after ``actions=`` into a tuple of ofpacts
(:mod:`pyvswitch.flow.ofpacts`); :func:`format_actions` prints them back as OVS prints the
stored ofpacts -- ``load:`` vs ``set_field:`` vs ``mod_*`` by the spelling each came from,
``strip_vlan`` vs ``pop_vlan``, ``CONTROLLER:65535`` vs ``controller(...)``, reserved
ports by name, subfields by NXM name.

What the parser stores for each spelling (so the OpenFlow codec can agree):

* ``set_field:V[/M]->F`` -> ``SetField(F, V, M, SET_FIELD)``; ``load:V->F[a..b]`` ->
  ``SetField(F, V << a, bits a..b, LOAD)``;
* ``mod_dl_src/dst``, ``mod_nw_src/dst``, ``mod_tp_src/dst`` -> ``SetField`` on eth_src,
  ip_src, tp_src... with the matching ``MOD_*`` raw; ``mod_nw_tos:T`` ->
  ``SetField(nw_tos, T, 0xfc, MOD_NW_TOS)`` (the TOS byte); ``mod_nw_ecn:E`` ->
  ``SetField(nw_ecn, E, 3, MOD_NW_ECN)``;
* ``mod_nw_ttl``/``set_nw_ttl`` -> ``SetIPTtl``; ``mod_vlan_vid``/``set_vlan_vid`` ->
  ``SetVlanVid`` (push_vlan_if_needed True for mod_*); likewise ``SetVlanPcp``;
* ``CONTROLLER``, ``CONTROLLER:N``, ``output:CONTROLLER``, ``controller(max_len=N)`` ->
  ``Output(OFPP_CONTROLLER, N)``; any other ``controller(...)`` -> ``Controller``;
* ``drop`` -> nothing (an empty tuple is drop).

Parse-time checks are ovs-ofctl's own (``ofpacts_verify``): instruction order, what may
appear inside ``ct(exec(...))`` and ``write_actions(...)``, ``drop`` alone.  Checks that
need the flow's match (prerequisites) belong to the ofproto layer.

Printing lives in :mod:`pyvswitch.flow.actions_format`; ``format_actions`` and
``format_action`` are re-exported here.

Layer: flow.  Imports: flow.ofpacts, flow.fields, flow.values, flow.field_text,
flow.ct_text, flow.learn_text, flow.actions_format, errors, types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyvswitch.errors import ParseError
from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.actions_format import action_name, format_action, format_actions
from pyvswitch.flow.ct_text import parse_ct, parse_nat, parse_table
from pyvswitch.flow.field_text import (
    field_nbytes,
    format_field_value,
    lookup_action_field,
    parse_field_value,
    parse_subfield,
    parse_subfield_prefix,
)
from pyvswitch.flow.fields import FIELDS, Field
from pyvswitch.flow.learn_text import parse_learn
from pyvswitch.flow.values import (
    IntSyntaxError,
    PortMap,
    atoi,
    hex_int,
    iter_kv,
    parse_hex_bytes,
    parse_int_string,
    parse_ipv4,
    parse_mac,
    parse_port,
    str_to_u8,
    str_to_u16,
    str_to_u32,
    str_to_u64,
)
from pyvswitch.types import OFPP_CONTROLLER, OFPP_IN_PORT

MAX_PARSE_DEPTH = 100

# what an action is nested in (OVS outer_action)
_TOP, _CT, _WRITE = "", "ct", "write_actions"

# OVS instruction classes, in the order a flow must list them
_I_METER, _I_APPLY, _I_CLEAR, _I_WRITE, _I_META, _I_GOTO = range(6)
_INST_NAMES = ("meter", "apply_actions", "clear_actions", "write_actions",
               "write_metadata", "goto_table")
_INST_OF = {A.Meter: _I_METER, A.ClearActions: _I_CLEAR, A.WriteActions: _I_WRITE,
            A.WriteMetadata: _I_META, A.GotoTable: _I_GOTO}

#: actions OVS knows that pyvswitch does not implement
_UNSUPPORTED = frozenset((
    "bundle", "bundle_load", "set_mpls_label", "set_mpls_tc", "set_mpls_ttl",
    "dec_mpls_ttl", "push_mpls", "pop_mpls", "dec_nsh_ttl", "delete_field", "encap",
    "decap", "set_tunnel", "set_tunnel64", "pop_queue", "fin_timeout", "conjunction",
    "multipath", "sample", "unroll_xlate", "output_trunc", "clone", "check_pkt_larger",
    "debug_recirc", "debug_slow", "push", "pop",
))


@dataclass(slots=True)
class _Ctx:
    port_map: PortMap | None
    depth: int = 0


# ----------------------------------------------------------------------------- parsing
def parse_actions(text: str, port_map: PortMap | None = None, *,
                  allow_instructions: bool = True) -> tuple[object, ...]:
    """Parse an action list (what follows ``actions=``) into ofpacts.

    ``allow_instructions`` False restricts the text to actions proper (packet-out,
    group buckets).  Raises :class:`~pyvswitch.errors.ParseError` with ovs-ofctl's
    wording.
    """
    return tuple(_parse(text, _Ctx(port_map), allow_instructions, _TOP))


def _parse(text: str, ctx: _Ctx, allow_instructions: bool, outer: str) -> list[object]:
    if ctx.depth >= MAX_PARSE_DEPTH:
        raise ParseError("Action nested too deeply")
    ctx.depth += 1
    try:
        out: list[object] = []
        drop = False
        for key, value, _pos in iter_kv(text):
            name = key.lower()
            if name == "drop":
                drop = True
                continue
            if name == "apply_actions":
                raise ParseError("apply_actions is the default instruction")
            parser = _PARSERS.get(name)
            if parser is not None:
                out.extend(parser(value, ctx))
            elif name in _UNSUPPORTED:
                raise ParseError(f"action {key} is not supported")
            else:
                port = parse_port(key, ctx.port_map)
                if port is None:
                    raise ParseError(f"unknown action {key}")
                out.append(A.Output(port))
        if drop and out:
            raise ParseError('"drop" must not be accompanied by any other action or '
                             "instruction")
        _verify(out, allow_instructions, outer)
        return out
    finally:
        ctx.depth -= 1


def _p_output(arg: str, ctx: _Ctx) -> list[object]:
    if "port" in arg and "max_len" in arg:
        raise ParseError("action output_trunc is not supported")
    port = parse_port(arg, ctx.port_map)
    if port is not None:
        return [A.Output(port, 0xFFFF if port == OFPP_CONTROLLER else 0)]
    try:
        return [A.OutputReg(parse_subfield(arg), 0xFFFF)]
    except ParseError:
        raise ParseError(f"{arg}: output to unknown port") from None


def _p_controller(arg: str, ctx: _Ctx) -> list[object]:
    reason = A.ControllerReason.ACTION
    controller_id = 0
    max_len = 0xFFFF
    meter_id = 0xFFFFFFFF
    userdata: bytes | None = None
    pause = False
    if arg and arg.isdigit():
        max_len = str_to_u16(arg, "max_len")
    elif arg:
        for key, value, _pos in iter_kv(arg):
            if key == "reason":
                if value:  # OVS takes "" as an internal miss reason we do not have
                    reason = _reason_from_string(value)
            elif key == "max_len":
                max_len = str_to_u16(value, "max_len")
            elif key == "id":
                controller_id = str_to_u16(value, "id")
            elif key == "userdata":
                userdata, rest = parse_hex_bytes(value)
                if rest:
                    raise ParseError("bad hex digit in `controller' action `userdata'")
            elif key == "pause":
                pause = True
            elif key == "meter_id":
                meter_id = str_to_u32(value)
            else:
                raise ParseError(f'unknown key "{key}" parsing controller action')
    if (reason is A.ControllerReason.ACTION and not controller_id and userdata is None
            and not pause and meter_id == 0xFFFFFFFF):
        return [A.Output(OFPP_CONTROLLER, max_len)]
    return [A.Controller(max_len=max_len, reason=reason, controller_id=controller_id,
                         userdata=userdata or b"", pause=pause, meter_id=meter_id,
                         nx_form=True)]


_REASONS = {"no_match": A.ControllerReason.NO_MATCH, "action": A.ControllerReason.ACTION,
            "invalid_ttl": A.ControllerReason.INVALID_TTL,
            "action_set": A.ControllerReason.ACTION_SET, "group": A.ControllerReason.GROUP,
            "packet_out": A.ControllerReason.PACKET_OUT}


def _reason_from_string(s: str) -> A.ControllerReason:
    r = _REASONS.get(s.lower())
    if r is None:
        raise ParseError(f'unknown reason "{s}"')
    return r


def _p_enqueue(arg: str, ctx: _Ctx) -> list[object]:
    i = 0
    while i < len(arg) and arg[i] in ":q,":
        i += 1
    j = i
    while j < len(arg) and arg[j] not in ":q,":
        j += 1
    port_s, queue_s = arg[i:j], arg[j + 1:]
    if not port_s or j >= len(arg) or not queue_s:
        raise ParseError('"enqueue" syntax is "enqueue:PORT:QUEUE" or '
                         '"enqueue(PORT,QUEUE)"')
    port = parse_port(port_s, ctx.port_map)
    if port is None:
        raise ParseError(f"{port_s}: enqueue to unknown port")
    return [A.Enqueue(port, str_to_u32(queue_s))]


def _split_arrow(arg: str) -> tuple[str, str]:
    i = arg.find("->")
    if i < 0:
        raise ParseError(f"{arg}: missing `->'")
    if len(arg) - i <= 2:
        raise ParseError(f"{arg}: missing field name following `->'")
    return arg[:i], arg[i + 2:]


#: value bits OVS accepts for set_field, where narrower than the byte width read
_VALID_BITS = {"nw_tos": 0xFC, "ip_dscp": 0x3F, "nw_ecn": 0x3, "ip_frag": 0x3,
               "tcp_flags": 0xFFF, "arp_op": 0xFF, "dl_vlan": 0xFFF, "vlan_vid": 0x1FFF,
               "dl_vlan_pcp": 0x7, "vlan_pcp": 0x7, "ipv6_label": 0xFFFFF}


def _p_set_field(arg: str, ctx: _Ctx) -> list[object]:
    value_s, key = _split_arrow(arg)
    f = lookup_action_field(key)
    if f is None:
        raise ParseError(f"{key} is not a valid OXM field name")
    if not f.writable:
        raise ParseError(f"{key} is read-only")
    value, mask = parse_field_value(f, value_s, ctx.port_map, clip=False)
    valid = _VALID_BITS.get(f.name)
    if valid is not None and value & ~valid:
        raise ParseError(f"{value_s} is not a valid value for field {key}")
    return [A.SetField(f, value & f.full_mask, mask, A.SetRaw.SET_FIELD)]


def _p_load(arg: str, ctx: _Ctx) -> list[object]:
    value_s, key = _split_arrow(arg)
    dst = parse_subfield(key)
    f = dst.field
    try:
        value, _end = parse_int_string(value_s, field_nbytes(f))
    except IntSyntaxError:
        raise ParseError(f"{arg}: cannot parse integer value") from None
    if value >> dst.n_bits:
        shown = format_field_value(f, value) if value < 1 << f.nbits else hex_int(value)
        raise ParseError(f"{arg}: value {shown} does not fit into {dst.n_bits} bits")
    return [A.SetField(f, value << dst.ofs, dst.mask, A.SetRaw.LOAD)]


def _p_move(arg: str, ctx: _Ctx) -> list[object]:
    src, pos = parse_subfield_prefix(arg)
    if not arg.startswith("->", pos):
        raise ParseError(f"{arg}: missing `->' following source")
    dst = parse_subfield(arg[pos + 2:])
    if src.n_bits != dst.n_bits:
        raise ParseError(f"{arg}: source field is {src.n_bits} bits wide but destination "
                         f"is {dst.n_bits} bits wide")
    return [A.Move(src, dst)]


def _mod(field: str, raw: A.SetRaw, read: Callable[[str], int], mask: int = 0):
    f = FIELDS[field]

    def parse(arg: str, ctx: _Ctx) -> list[object]:
        return [A.SetField(f, read(arg), mask or f.full_mask, raw)]
    return parse


def _read_tos(arg: str) -> int:
    tos = str_to_u8(arg, "TOS")
    if tos & ~0xFC:
        raise ParseError(f"{arg}: not a valid TOS")
    return tos


def _read_ecn(arg: str) -> int:
    ecn = str_to_u8(arg, "ECN")
    if ecn & ~3:
        raise ParseError(f"{arg}: not a valid ECN")
    return ecn


def _vlan_vid(push: bool):
    def parse(arg: str, ctx: _Ctx) -> list[object]:
        vid = str_to_u16(arg, "VLAN VID")
        if vid & ~0xFFF:
            raise ParseError(f"{arg}: not a valid VLAN VID")
        return [A.SetVlanVid(vid, push)]
    return parse


def _vlan_pcp(push: bool):
    def parse(arg: str, ctx: _Ctx) -> list[object]:
        pcp = str_to_u8(arg, "VLAN PCP")
        if pcp & ~7:
            raise ParseError(f"{arg}: not a valid VLAN PCP")
        return [A.SetVlanPcp(pcp, push)]
    return parse


def _p_push_vlan(arg: str, ctx: _Ctx) -> list[object]:
    ethertype = str_to_u16(arg, "ethertype")
    if ethertype not in (0x8100, 0x88A8):
        raise ParseError(f"{arg}: not a valid VLAN ethertype")
    return [A.PushVlan(ethertype)]


def _p_dec_ttl(arg: str, ctx: _Ctx) -> list[object]:
    if not arg:
        return [A.DecTtl()]
    ids = tuple(atoi(t) & 0xFFFF for t in arg.replace(",", " ").split())
    if not ids:
        raise ParseError("dec_ttl_cnt_ids: expected at least one controller id.")
    return [A.DecTtl(ids, explicit_ids=True)]


def _p_resubmit(arg: str, ctx: _Ctx) -> list[object]:
    parts = arg.split(",", 2)
    in_port_s = parts[0]
    table_s = parts[1] if len(parts) > 1 else ""
    ct_s = parts[2] if len(parts) > 2 else ""
    in_port = None
    if in_port_s:
        in_port = parse_port(in_port_s, ctx.port_map)
        if in_port is None:
            raise ParseError(f"{in_port_s}: resubmit to unknown port")
        if in_port == OFPP_IN_PORT:
            in_port = None
    table = None
    if table_s:
        table = parse_table(table_s)
        if table is None:
            raise ParseError(f"{table_s}: resubmit to unknown table")
        if table == 255:
            table = None
    ct_tok = ct_s.split(",")[0]
    if ct_tok and ct_tok != "ct":
        raise ParseError(f"{ct_tok}: unknown parameter")
    if in_port is None and table is None:
        raise ParseError('at least one "in_port" or "table" must be specified on resubmit')
    return [A.Resubmit(in_port, table, bool(ct_tok))]


def _p_note(arg: str, ctx: _Ctx) -> list[object]:
    data, rest = parse_hex_bytes(arg)
    if rest:
        raise ParseError("bad hex digit in `note' argument")
    return [A.Note(data)]


def _p_ct(arg: str, ctx: _Ctx) -> list[object]:
    return [parse_ct(arg, lambda s: _parse(s, ctx, False, _CT))]


def _p_write_actions(arg: str, ctx: _Ctx) -> list[object]:
    return [A.WriteActions(tuple(_parse(arg, ctx, False, _WRITE)))]


def _p_write_metadata(arg: str, ctx: _Ctx) -> list[object]:
    value_s, slash, mask_s = arg.partition("/")
    mask = str_to_u64(mask_s) if slash else (1 << 64) - 1
    return [A.WriteMetadata(str_to_u64(value_s), mask)]


def _p_goto_table(arg: str, ctx: _Ctx) -> list[object]:
    table = parse_table(arg)
    if table is None:
        raise ParseError(f'unknown table "{arg}"')
    return [A.GotoTable(table)]


def _const(*acts: object):
    return lambda arg, ctx: list(acts)


_PARSERS: dict[str, Callable[[str, _Ctx], list[object]]] = {
    "output": _p_output, "output_reg": _p_output,
    "group": lambda arg, ctx: [A.Group(str_to_u32(arg))],
    "controller": _p_controller, "enqueue": _p_enqueue,
    "set_field": _p_set_field, "load": _p_load, "move": _p_move,
    "set_vlan_vid": _vlan_vid(False), "mod_vlan_vid": _vlan_vid(True),
    "set_vlan_pcp": _vlan_pcp(False), "mod_vlan_pcp": _vlan_pcp(True),
    "strip_vlan": _const(A.PopVlan(A.PopVlanRaw.STRIP_VLAN)),
    "pop_vlan": _const(A.PopVlan(A.PopVlanRaw.POP_VLAN)),
    "push_vlan": _p_push_vlan,
    "mod_dl_src": _mod("eth_src", A.SetRaw.MOD_DL_SRC, parse_mac),
    "mod_dl_dst": _mod("eth_dst", A.SetRaw.MOD_DL_DST, parse_mac),
    "mod_nw_src": _mod("ip_src", A.SetRaw.MOD_NW_SRC, parse_ipv4),
    "mod_nw_dst": _mod("ip_dst", A.SetRaw.MOD_NW_DST, parse_ipv4),
    "mod_nw_tos": _mod("nw_tos", A.SetRaw.MOD_NW_TOS, _read_tos),
    "mod_nw_ecn": _mod("nw_ecn", A.SetRaw.MOD_NW_ECN, _read_ecn),
    "mod_tp_src": _mod("tp_src", A.SetRaw.MOD_TP_SRC,
                       lambda s: str_to_u16(s, "source port")),
    "mod_tp_dst": _mod("tp_dst", A.SetRaw.MOD_TP_DST,
                       lambda s: str_to_u16(s, "destination port")),
    "mod_nw_ttl": lambda arg, ctx: [A.SetIPTtl(str_to_u8(arg, "TTL"))],
    "set_nw_ttl": lambda arg, ctx: [A.SetIPTtl(str_to_u8(arg, "TTL"))],
    "dec_ttl": _p_dec_ttl,
    "set_queue": lambda arg, ctx: [A.SetQueue(str_to_u32(arg))],
    "resubmit": _p_resubmit,
    "learn": lambda arg, ctx: [parse_learn(arg, ctx.port_map)],
    "note": _p_note, "exit": _const(A.Exit()),
    "ct": _p_ct, "ct_clear": _const(A.CtClear()),
    "nat": lambda arg, ctx: [parse_nat(arg)],
    "meter": lambda arg, ctx: [A.Meter(str_to_u32(arg))],
    "clear_actions": _const(A.ClearActions()),
    "write_actions": _p_write_actions, "write_metadata": _p_write_metadata,
    "goto_table": _p_goto_table,
}


# ----------------------------------------------------------------------------- checks
def _dst_field(a: object) -> Field | None:
    if isinstance(a, A.SetField) and a.raw in (A.SetRaw.SET_FIELD, A.SetRaw.LOAD):
        return a.field
    if isinstance(a, A.Move):
        return a.dst.field
    return None


def _verify(acts: Sequence[object], allow_instructions: bool, outer: str) -> None:
    """OVS ``ofpacts_verify``: nesting rules and OpenFlow 1.1+ instruction order."""
    inst = _I_METER
    for i, a in enumerate(acts):
        f = _dst_field(a)
        ct_field = f is not None and f.name in ("ct_mark", "ct_label")
        if ct_field and outer != _CT:
            raise ParseError("cannot set CT fields outside of ct action")
        if isinstance(a, A.Nat):
            if outer != _CT:
                raise ParseError('Cannot have NAT action outside of "ct" action')
        elif outer == _CT:
            if f is None:
                raise ParseError(f"ct action doesn't support nested action {action_name(a)}")
            if not ct_field:
                raise ParseError(f"ct action doesn't support nested modification of "
                                 f"{f.name}")
        if outer and isinstance(a, A.Meter):
            raise ParseError(f"{outer} action doesn't support nested action meter")
        nxt = _INST_OF.get(type(a), _I_APPLY)
        if i and (nxt < inst if inst == _I_APPLY else nxt <= inst):
            if nxt == inst:
                raise ParseError(f"duplicate {_INST_NAMES[inst]} instruction not allowed, "
                                 "for OpenFlow 1.1+ compatibility")
            raise ParseError(f"invalid instruction ordering: {_INST_NAMES[nxt]} must appear "
                             f"before {_INST_NAMES[inst]}, for OpenFlow 1.1+ compatibility")
        if not allow_instructions and nxt not in (_I_APPLY, _I_METER):
            raise ParseError(f"{_INST_NAMES[nxt]} instruction not allowed here")
        inst = nxt


__all__ = ["action_name", "format_action", "format_actions", "parse_actions"]
