"""OpenFlow 1.3 TABLE_FEATURES entries, and the features this switch reports.

An entry is ``length(2) table_id(1) pad(5) name(32) metadata_match(8) metadata_write(8)
config(4) max_entries(4)`` plus properties ``type(2) length(2) payload`` padded to 8.
ovs-ofctl refuses an entry unless the eight required properties (INSTRUCTIONS,
NEXT_TABLES, WRITE_ACTIONS, APPLY_ACTIONS, MATCH, WILDCARDS, WRITE_SETFIELD,
APPLY_SETFIELD) are each present once, so the encoder always writes them (empty lists are
fine) and the ``*_MISS`` ones only when given.  :func:`default_table_features` describes
what pyvswitch's tables accept, in the spirit of OVS's reply.

Layer: openflow.  Imports: flow.fields, errors, openflow.header, openflow.match_oxm,
openflow.messages.
"""

from __future__ import annotations

import struct

from pyvswitch.errors import OFPError
from pyvswitch.flow.fields import FIELDS
from pyvswitch.openflow.header import Reader, cstr, pad8, put_cstr
from pyvswitch.openflow.match_oxm import header_value, wire_code
from pyvswitch.openflow.messages import TableFeatures

ENTRY = struct.Struct("!HB5x32sQQII")
_PROP = struct.Struct("!HH")

TFPT_INSTRUCTIONS = 0
TFPT_INSTRUCTIONS_MISS = 1
TFPT_NEXT_TABLES = 2
TFPT_NEXT_TABLES_MISS = 3
TFPT_WRITE_ACTIONS = 4
TFPT_WRITE_ACTIONS_MISS = 5
TFPT_APPLY_ACTIONS = 6
TFPT_APPLY_ACTIONS_MISS = 7
TFPT_MATCH = 8
TFPT_WILDCARDS = 10
TFPT_WRITE_SETFIELD = 12
TFPT_WRITE_SETFIELD_MISS = 13
TFPT_APPLY_SETFIELD = 14
TFPT_APPLY_SETFIELD_MISS = 15

#: property type -> (TableFeatures attribute, list kind)
_PROPS: dict[int, tuple[str, str]] = {
    TFPT_INSTRUCTIONS: ("instructions", "ids"),
    TFPT_INSTRUCTIONS_MISS: ("instructions_miss", "ids"),
    TFPT_NEXT_TABLES: ("next_tables", "bytes"),
    TFPT_NEXT_TABLES_MISS: ("next_tables_miss", "bytes"),
    TFPT_WRITE_ACTIONS: ("write_actions", "ids"),
    TFPT_WRITE_ACTIONS_MISS: ("write_actions_miss", "ids"),
    TFPT_APPLY_ACTIONS: ("apply_actions", "ids"),
    TFPT_APPLY_ACTIONS_MISS: ("apply_actions_miss", "ids"),
    TFPT_MATCH: ("match", "oxm"),
    TFPT_WILDCARDS: ("wildcards", "oxm"),
    TFPT_WRITE_SETFIELD: ("write_setfield", "oxm"),
    TFPT_WRITE_SETFIELD_MISS: ("write_setfield_miss", "oxm"),
    TFPT_APPLY_SETFIELD: ("apply_setfield", "oxm"),
    TFPT_APPLY_SETFIELD_MISS: ("apply_setfield_miss", "oxm"),
}
REQUIRED = (TFPT_INSTRUCTIONS, TFPT_NEXT_TABLES, TFPT_WRITE_ACTIONS, TFPT_APPLY_ACTIONS,
            TFPT_MATCH, TFPT_WILDCARDS, TFPT_WRITE_SETFIELD, TFPT_APPLY_SETFIELD)


def _put_list(kind: str, items: tuple[int, ...]) -> bytes:
    out = bytearray()
    for v in items:
        if kind == "bytes":
            out.append(v)
        elif kind == "ids":
            if v >> 32:
                out += struct.pack("!HHI", v >> 32, 8, v & 0xFFFFFFFF)
            else:
                out += struct.pack("!HH", v, 4)
        elif v >> 32:
            out += struct.pack("!Q", v)
        else:
            out += struct.pack("!I", v)
    return bytes(out)


def _pull_list(kind: str, payload: bytes) -> tuple[int, ...]:
    out = []
    r = Reader(payload, error="OFPBPC_BAD_LEN")
    while r.remaining:
        if kind == "bytes":
            out.append(r.take(1)[0])
        elif kind == "ids":
            t, n = r.unpack(_PROP, "id")
            if n < 4:
                raise OFPError("OFPBPC_BAD_LEN", f"table feature id length {n}")
            body = r.take(n - 4, "id")
            out.append((t << 32) | struct.unpack_from("!I", body)[0] if t == 0xFFFF
                       and len(body) >= 4 else t)
        else:
            (h,) = r.unpack(struct.Struct("!I"), "OXM header")
            if h >> 16 == 0xFFFF:
                (exp,) = r.unpack(struct.Struct("!I"), "OXM header")
                h = (h << 32) | exp
            out.append(h)
    return tuple(out)


def encode_entry(t: TableFeatures) -> bytes:
    props = bytearray()
    for ptype, (attr, kind) in _PROPS.items():
        items = getattr(t, attr)
        if items is None:
            continue
        payload = _put_list(kind, items)
        n = 4 + len(payload)
        props += _PROP.pack(ptype, n) + payload + bytes(pad8(n))
    return ENTRY.pack(ENTRY.size + len(props), t.table_id, put_cstr(t.name, 32),
                      t.metadata_match, t.metadata_write, t.config, t.max_entries) + props


def decode_entries(r: Reader) -> tuple[TableFeatures, ...]:
    out = []
    while r.remaining:
        if r.remaining < ENTRY.size:
            raise OFPError("OFPBPC_BAD_LEN", "table features entry truncated")
        (length,) = struct.unpack_from("!H", r.data, r.pos)
        if length < ENTRY.size or length % 8 or length > r.remaining:
            raise OFPError("OFPBPC_BAD_LEN", f"table features length {length}")
        e = r.sub(length)
        _, table_id, name, mmatch, mwrite, config, max_entries = e.unpack(ENTRY)
        if table_id == 0xFF:
            raise OFPError("OFPTFFC_BAD_TABLE", "table features for table 255")
        fields: dict[str, object] = {}
        seen: set[int] = set()
        while e.remaining:
            ptype, plen = e.unpack(_PROP, "table feature property")
            if plen < 4:
                raise OFPError("OFPBPC_BAD_LEN", f"property length {plen}")
            payload = e.take(plen - 4, "table feature property")
            e.skip(min(pad8(plen), e.remaining))
            if ptype in seen:
                raise OFPError("OFPTFFC_BAD_FEATURES", f"property {ptype} given twice")
            seen.add(ptype)
            spec = _PROPS.get(ptype)
            if spec is None:
                raise OFPError("OFPBPC_BAD_TYPE", f"unknown table feature property {ptype}")
            fields[spec[0]] = _pull_list(spec[1], payload)
        if any(p not in seen for p in REQUIRED):
            raise OFPError("OFPTFFC_BAD_FEATURES", "table features without a required property")
        out.append(TableFeatures(table_id, cstr(name), mmatch, mwrite, config, max_entries,
                                 **fields))  # type: ignore[arg-type]
    return tuple(out)


# ----------------------------------------------------------------------------- ours
#: instruction types our tables accept: goto, write_metadata, write, apply, clear, meter
_INSTRUCTIONS = (1, 2, 3, 4, 5)
#: OpenFlow 1.3 standard actions we execute: output, push/pop vlan, set_queue, group,
#: set_nw_ttl, dec_nw_ttl, set_field; Nicira actions travel as experimenter actions
_ACTIONS = (0, 17, 18, 21, 22, 23, 24, 25, (0xFFFF << 32) | 0x00002320)


def _field_headers(writable: bool) -> tuple[int, ...]:
    seen: list[int] = []
    for f in FIELDS.values():
        if f.nxm is None and f.oxm is None:
            continue
        if writable and not f.writable:
            continue
        h = header_value(wire_code(f, True))
        if h not in seen:
            seen.append(h)
    return tuple(seen)


def default_table_features(n_tables: int = 254,
                           max_entries: int = 1000000) -> tuple[TableFeatures, ...]:
    """One TableFeatures per table, describing what pyvswitch supports."""
    match = _field_headers(False)
    setfield = _field_headers(True)
    return tuple(
        TableFeatures(table_id=i, max_entries=max_entries, instructions=_INSTRUCTIONS,
                      next_tables=tuple(range(i + 1, n_tables)), write_actions=_ACTIONS,
                      apply_actions=_ACTIONS, match=match, wildcards=match,
                      write_setfield=setfield, apply_setfield=setfield)
        for i in range(n_tables))
