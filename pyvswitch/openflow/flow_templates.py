"""Decoding flow_mods by template: the fast path for tables loaded flow by flow.

A controller (or ``ovs-ofctl add-flows``) loading a table sends thousands of flow_mods
that differ only in a few values -- addresses, ports, priorities, cookies -- while
everything that decides whether the message is valid and what it means (command,
table, flags, buffer, which fields are matched and how, the Ethernet type and IP
protocol, the actions) stays the same.  A :class:`FlowModTemplate` is made from one
flow_mod the full decoder accepted: it knows which byte ranges are *free* (their value
goes straight into one output and cannot make the message invalid) and holds the
decoded rest.  Another message with the same length and the same bytes outside the free
ranges decodes to the same flow_mod with the free values substituted: two
``struct.unpack_from`` calls instead of walking TLVs and actions, and the actions tuple
is shared by every flow_mod of the template (less memory in the flow table, too).

Free ranges: the xid; the cookie of an ADD; idle and hard timeouts; the priority (but
not for an exact OpenFlow 1.0 match, where it is ignored); the importance of an
OpenFlow 1.4 ADD; and the value of every matched field that maps bit for bit onto one
flow slot, whose whole wire width is valid, and whose value no prerequisite or check
reads (addresses, transport ports but for ICMP, registers, metadata, ...), plus the
OpenFlow 1.1+ ``in_port`` with its range check.  A masked field's value is free, its
mask is not, and a value bit outside the mask sends the message to the full decoder,
which reports the error.  Anything the template cannot vouch for falls back to the full
decoder; the result is always what the full decoder gives (a property test checks it).

Layer: openflow.  Imports: flow, errors, types, openflow.{consts,match_oxm}.
"""

from __future__ import annotations

import struct
from typing import Any

from pyvswitch.flow import layout as L
from pyvswitch.flow.fields import OXM_EXPERIMENTER, field_by_wire
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand
from pyvswitch.flow.match import Match
from pyvswitch.openflow.consts import OFP10_VERSION, OFP14_VERSION
from pyvswitch.openflow.match_oxm import NXM_NX_COOKIE
from pyvswitch.types import OFPP_MAX

#: slots whose values prerequisites and consistency checks read
_SENSITIVE_SLOTS = frozenset((L.ETH_TYPE, L.NW_PROTO, L.VLAN_TCI, L.VLAN2_TCI, L.CT_STATE,
                              L.NW_FRAG, L.IN_PORT))
_ICMP = (L.IPPROTO_ICMP, L.IPPROTO_ICMPV6)
#: struct codes of free ranges by width: (format, number of ints, shift of the first)
_INT_FORMATS = {1: ("B", 1, 0), 2: ("H", 1, 0), 4: ("I", 1, 0), 8: ("Q", 1, 0),
                6: ("HI", 2, 32), 16: ("QQ", 2, 64)}
#: placement kinds
_SLOT, _SLOT_MASKED, _IN_PORT_OXM, _COOKIE, _IDLE, _HARD, _PRIO, _IMPORTANCE, _XID = range(9)

#: templates kept per (version, table-id extension) before they start over
MAX_TEMPLATES = 64
#: templates kept per message length (the newest first)
MAX_PER_LENGTH = 8


class FlowModTemplate:
    """One template (see the module docstring).  Its :meth:`decode` is generated code:
    straight-line unpacking, no loop over the free ranges."""

    __slots__ = ("length", "fm", "decode")

    def __init__(self, data: bytes, fm: FlowMod, free: list[tuple[int, int, int, Any]]) -> None:
        """``free``: (offset, width, kind, arg) of each free range in ``data``."""
        self.length = len(data)
        # a copy: the caller owns (and may change) the flow_mod it was given
        self.fm = src = FlowMod(fm.command, fm.match, fm.priority, fm.table_id, fm.cookie,
                                fm.cookie_mask, fm.new_cookie, fm.idle_timeout,
                                fm.hard_timeout, fm.importance, fm.flags, fm.out_port,
                                fm.out_group, fm.buffer_id, tuple(fm.actions),
                                fm.modify_may_add)
        const_fmt, free_fmt = ["!"], ["!"]
        const_vals: list[bytes] = []
        body: list[str] = []
        outs = {_COOKIE: "src.cookie", _IDLE: "src.idle_timeout", _HARD: "src.hard_timeout",
                _PRIO: "src.priority", _IMPORTANCE: "src.importance"}
        pos = n_ints = 0
        base = list(fm.match.value)
        for ofs, width, kind, arg in sorted(free, key=lambda f: f[0]):
            if ofs > pos:
                const_fmt.append(f"{ofs - pos}s")
                const_vals.append(bytes(data[pos:ofs]))
                free_fmt.append(f"{ofs - pos}x")
            const_fmt.append(f"{width}x")
            pos = ofs + width
            if kind == _XID:
                free_fmt.append(f"{width}x")
                continue
            codes, n, shift = _INT_FORMATS[width]
            free_fmt.append(codes)
            x = f"t{n_ints}" if n == 1 else f"((t{n_ints} << {shift}) | t{n_ints + 1})"
            n_ints += n
            if kind == _SLOT:
                slot, check = arg
                base[slot] = 0
                if check:  # a value bit outside the mask: the decoder's error
                    body.append(f"    if {x} & {check:#x}:\n        return None\n")
                body.append(f"    v[{slot}] = {x}\n")
            elif kind == _SLOT_MASKED:
                slot, mask = arg
                base[slot] = 0
                if mask:
                    body.append(f"    v[{slot}] = {x} & {mask:#x}\n")
            elif kind == _IN_PORT_OXM:
                slot = arg[0]
                base[slot] = 0
                body.append(f"    x = {x}\n    if {OFPP_MAX:#x} <= x < 0xffffff00:\n"
                            "        return None\n"
                            f"    v[{slot}] = x - 0xffff0000 if x >= 0xffffff00 else x\n")
            else:
                outs[kind] = x
        if pos < len(data):
            const_fmt.append(f"{len(data) - pos}s")
            const_vals.append(bytes(data[pos:]))
        unpack = (f"    {', '.join(f't{i}' for i in range(n_ints))}, = free(data)\n"
                  if n_ints else "")
        src_text = (
            "def decode(data):\n"
            "    if const(data) != const_vals:\n        return None\n"
            + unpack + "    v = base.copy()\n" + "".join(body)
            + "    m = new(Match)\n    m.value = tuple(v)\n    m.mask = mask\n"
            "    m._hash = None\n"
            f"    return FlowMod(src.command, m, {outs[_PRIO]}, src.table_id, {outs[_COOKIE]},"
            f" src.cookie_mask, src.new_cookie, {outs[_IDLE]}, {outs[_HARD]},"
            f" {outs[_IMPORTANCE]}, src.flags, src.out_port, src.out_group, src.buffer_id,"
            " src.actions, src.modify_may_add)\n")
        ns: dict[str, Any] = {
            "const": struct.Struct("".join(const_fmt)).unpack_from,
            "const_vals": tuple(const_vals),
            "free": struct.Struct("".join(free_fmt)).unpack_from,
            "base": base, "mask": fm.match.mask, "src": src, "new": Match.__new__,
            "Match": Match, "FlowMod": FlowMod,
        }
        exec(compile(src_text, "<flow_mod template>", "exec"), ns)  # noqa: S102 - generated
        self.decode = ns["decode"]


class TemplateCache:
    """Templates of one decoding context (version, table-id extension), by length."""

    __slots__ = ("by_len", "n")

    def __init__(self) -> None:
        self.by_len: dict[int, list[FlowModTemplate]] = {}
        self.n = 0

    def decode(self, data: bytes | bytearray) -> FlowMod | None:
        for t in self.by_len.get(len(data), ()):
            fm = t.decode(data)
            if fm is not None:
                return fm
        return None

    def learn(self, data: bytes | bytearray, fm: FlowMod, version: int, nx: bool) -> None:
        """Make a template from a flow_mod the full decoder produced from ``data``."""
        free = _free_ranges(data, fm, version, nx)
        if free is None:
            return
        if self.n >= MAX_TEMPLATES:
            self.by_len.clear()
            self.n = 0
        lst = self.by_len.setdefault(len(data), [])
        lst.insert(0, FlowModTemplate(bytes(data), fm, free))
        self.n += 1
        if len(lst) > MAX_PER_LENGTH:  # a miss tries them all: keep the newest few
            lst.pop()
            self.n -= 1


_CACHES: dict[tuple[int, bool, bool], TemplateCache] = {}


def cache_for(version: int, nx: bool, table_id_ext: bool) -> TemplateCache:
    key = (version, nx, table_id_ext)
    c = _CACHES.get(key)
    if c is None:
        c = _CACHES[key] = TemplateCache()
    return c


# ----------------------------------------------------------------------------- layout
def _free_ranges(data: bytes | bytearray, fm: FlowMod, version: int,
                 nx: bool) -> list[tuple[int, int, int, Any]] | None:
    """The free ranges of a decoded flow_mod's bytes, or None if none can be trusted."""
    add = fm.command is FlowModCommand.ADD
    free: list[tuple[int, int, int, Any]] = [(4, 4, _XID, None)]
    m = fm.match
    icmp = m.mask[L.NW_PROTO] and m.value[L.NW_PROTO] in _ICMP
    if version == OFP10_VERSION and not nx:
        # ofp10_match at 8, then cookie(8) command(2) idle(2) hard(2) priority(2) ...
        wildcards = struct.unpack_from("!I", data, 8)[0]
        for ofs, width, slot in ((12, 2, L.IN_PORT), (14, 6, L.ETH_SRC), (20, 6, L.ETH_DST),
                                 (36, 4, L.NW_SRC), (40, 4, L.NW_DST), (44, 2, L.TP_SRC),
                                 (46, 2, L.TP_DST)):
            if slot in (L.TP_SRC, L.TP_DST) and icmp:
                continue
            # the decoder keeps value & mask and drops fields without prerequisites
            free.append((ofs, width, _SLOT, (slot, 0)))
        _fixed(free, 48, add, exact=not wildcards & ((1 << 22) - 1))
        return _masked_slots(free, fm)
    if version == OFP10_VERSION:
        # NX header(16), cookie(8) command(2) idle(2) hard(2) priority(2) buffer(4)
        # out_port(2) flags(2) match_len(2) pad(6), the NXM match
        _fixed(free, 16, add)
        match_len = struct.unpack_from("!H", data, 40)[0]
        return _tlv_ranges(data, 48, 48 + match_len, free, icmp)
    # OpenFlow 1.1+: cookie(8) cookie_mask(8) table(1) command(1) idle(2) hard(2)
    # priority(2) buffer(4) out_port(4) out_group(4) flags(2) importance(2), ofp_match
    if add:
        free.append((8, 8, _COOKIE, None))
    free += [(26, 2, _IDLE, None), (28, 2, _HARD, None), (30, 2, _PRIO, None)]
    if add and version >= OFP14_VERSION:
        free.append((46, 2, _IMPORTANCE, None))
    mlen = struct.unpack_from("!H", data, 50)[0]
    return _tlv_ranges(data, 52, 48 + mlen, free, icmp)


def _fixed(free: list, ofs: int, add: bool, exact: bool = False) -> None:
    """cookie, idle, hard, priority of the OpenFlow 1.0 / NXM fixed part at ``ofs``."""
    if add:
        free.append((ofs, 8, _COOKIE, None))
    free += [(ofs + 10, 2, _IDLE, None), (ofs + 12, 2, _HARD, None)]
    if not exact:
        free.append((ofs + 14, 2, _PRIO, None))


def _masked_slots(free: list, fm: FlowMod) -> list:
    """OpenFlow 1.0 values land in the flow as ``value & mask`` (the mask comes from the
    wildcards): turn the slot entries' check into that mask."""
    out = []
    for ofs, width, kind, arg in free:
        if kind == _SLOT:
            slot = arg[0]
            out.append((ofs, width, _SLOT_MASKED, (slot, fm.match.mask[slot])))
        else:
            out.append((ofs, width, kind, arg))
    return out


def _tlv_ranges(data: bytes | bytearray, pos: int, end: int, free: list,
                icmp: bool) -> list | None:
    """Add the free value ranges of the NXM/OXM TLVs in ``data[pos:end]``."""
    while pos < end:
        if end - pos < 4:
            return None
        header = struct.unpack_from("!I", data, pos)[0]
        cls, num, hasmask, length = header >> 16, (header >> 9) & 0x7F, header & 0x100, \
            header & 0xFF
        if cls == OXM_EXPERIMENTER or (cls == NXM_NX_COOKIE.cls and num == NXM_NX_COOKIE.num):
            pos += 4 + length
            continue
        width = length // 2 if hasmask else length
        f = field_by_wire(cls, num)
        if f is not None and width in _INT_FORMATS:
            ofs = pos + 4
            if f.name == "in_port_oxm" and not hasmask:
                free.append((ofs, width, _IN_PORT_OXM, (L.IN_PORT, 0)))
            elif f.name == "in_port" and not hasmask:
                free.append((ofs, width, _SLOT, (L.IN_PORT, 0)))
            elif _is_free(f, width, icmp):
                wire_full = (1 << 8 * width) - 1
                mask = (int.from_bytes(data[ofs + width:ofs + 2 * width], "big")
                        if hasmask else wire_full)
                free.append((ofs, width, _SLOT, (f.slot, ~mask & wire_full)))
        pos += 4 + length
    return free if pos == end else None


def _is_free(f: Any, width: int, icmp: bool) -> bool:
    if len(f.parts) != 1 or f.parts[0][1] != 0 or f.match_implied or f.mask_extra:
        return False
    if f.nbits != 8 * width or f.usable:
        return False
    slot = f.slot
    if slot in _SENSITIVE_SLOTS:
        return False
    return not (icmp and slot in (L.TP_SRC, L.TP_DST))

