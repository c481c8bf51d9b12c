"""The ``learn(...)`` action in ovs-ofctl text.

``learn(table=N,idle_timeout=N,hard_timeout=N,fin_idle_timeout=N,fin_hard_timeout=N,
priority=N,cookie=N,send_flow_rem,delete_learned,limit=N,result_dst=F[b],SPEC...)`` where
each SPEC is one of

* ``FIELD[a..b]`` -- the new flow matches this subfield with the packet's own value;
* ``FIELD[a..b]=SRC[c..d]`` / ``FIELD=VALUE`` -- matches it with another subfield's value
  or with a constant;
* ``load:SRC[c..d]->DST[a..b]`` / ``load:VALUE->DST[a..b]`` -- the new flow loads it;
* ``output:SRC[c..d]`` -- the new flow outputs to the port held there.

Numbers are read the way OVS reads them here: timeouts and priority with C ``atoi``, the
cookie with ``strtoull``.

Layer: flow.  Imports: flow.ofpacts, flow.values, flow.field_text, errors.
"""

from __future__ import annotations

from pyvswitch.errors import ParseError
from pyvswitch.flow.ct_text import parse_table
from pyvswitch.flow.field_text import (
    field_nbytes,
    format_field_value,
    format_subfield,
    has_nxm_header,
    parse_field_exact,
    parse_subfield,
    parse_subfield_prefix,
)
from pyvswitch.flow.ofpacts import (
    LEARN_F_DELETE_LEARNED,
    LEARN_F_SEND_FLOW_REM,
    LEARN_F_WRITE_RESULT,
    Learn,
    LearnSpec,
    SubField,
)
from pyvswitch.flow.values import (
    IntSyntaxError,
    PortMap,
    PortNames,
    atoi,
    hex_int,
    iter_kv,
    parse_int_string,
    strtoull,
)


def parse_learn(arg: str, port_map: PortMap | None = None) -> Learn:
    """Parse the inside of ``learn(...)``."""
    orig = arg
    table = 1
    priority = 0x8000
    idle = hard = fin_idle = fin_hard = 0
    cookie = 0
    flags = 0
    limit = 0
    result_dst: SubField | None = None
    specs: list[LearnSpec] = []
    for name, value, _pos in iter_kv(arg):
        if name == "table":
            t = parse_table(value)
            if t is None:
                raise ParseError(f'unknown table "{value}"')
            if t == 255:
                raise ParseError(f"{orig}: table id 255 not valid for `learn' action")
            table = t
        elif name == "priority":
            priority = atoi(value) & 0xFFFF
        elif name == "idle_timeout":
            idle = atoi(value) & 0xFFFF
        elif name == "hard_timeout":
            hard = atoi(value) & 0xFFFF
        elif name == "fin_idle_timeout":
            fin_idle = atoi(value) & 0xFFFF
        elif name == "fin_hard_timeout":
            fin_hard = atoi(value) & 0xFFFF
        elif name == "cookie":
            cookie = strtoull(value)[0] or 0
        elif name == "send_flow_rem":
            flags |= LEARN_F_SEND_FLOW_REM
        elif name == "delete_learned":
            flags |= LEARN_F_DELETE_LEARNED
        elif name == "limit":
            limit = atoi(value) & 0xFFFFFFFF
        elif name == "result_dst":
            flags |= LEARN_F_WRITE_RESULT
            result_dst = parse_subfield(value)
            if not result_dst.field.writable:
                raise ParseError(f"{value} is read-only")
            if result_dst.n_bits != 1:
                raise ParseError("result_dst in 'learn' action must be a single bit")
        else:
            specs.append(_parse_spec(orig, name, value, port_map))
    return Learn(table_id=table, priority=priority, idle_timeout=idle, hard_timeout=hard,
                 fin_idle_timeout=fin_idle, fin_hard_timeout=fin_hard, cookie=cookie,
                 flags=flags, specs=tuple(specs), limit=limit, result_dst=result_dst)


def _fits(value: int, sf: SubField) -> bool:
    return not value >> sf.n_bits


def _parse_spec(orig: str, name: str, value: str, port_map: PortMap | None) -> LearnSpec:
    try:
        dst = parse_subfield(name)
    except ParseError:
        dst = None
    if dst is not None:
        if not has_nxm_header(dst.field):
            raise ParseError(f"{orig}: experimenter OXM field '{name}' not supported")
        if not value:
            return LearnSpec("match", dst, 0, dst, dst.n_bits)
        try:
            src = parse_subfield(value)
        except ParseError as e:
            imm = _parse_immediate(orig, name, value, dst, str(e), port_map)
            return LearnSpec("match", None, imm, dst, dst.n_bits)
        if src.n_bits != dst.n_bits:
            raise ParseError(f"{orig}: bit widths of {name} ({src.n_bits}) and {value} "
                             f"({dst.n_bits}) differ")
        return LearnSpec("match", src, 0, dst, dst.n_bits)
    if name == "load":
        arrow = value.find("->")
        if arrow == 0:
            raise ParseError(f"{name}: missing source before `->' in `{value}'")
        if arrow < 0:
            raise ParseError(f"{name}: missing `->' in `{value}'")
        try:
            imm, end = parse_int_string(value, 128)
        except IntSyntaxError:
            end = -1
        if end > 0:
            if end != arrow:
                raise ParseError(f"{name}: garbage before `->' in `{value}'")
            ldst = parse_subfield(value[arrow + 2:])
            if not has_nxm_header(ldst.field):
                raise ParseError(f"{value}: experimenter OXM field '{value[arrow + 2:]}' "
                                 "not supported")
            if not _fits(imm, ldst):
                raise ParseError(f"{value}: value does not fit into {ldst.n_bits} bits")
            return LearnSpec("load", None, imm, ldst, ldst.n_bits)
        src, pos = parse_subfield_prefix(value)
        if not value.startswith("->", pos):
            raise ParseError(f"{value}: missing `->' following source")
        ldst = parse_subfield(value[pos + 2:])
        if src.n_bits != ldst.n_bits:
            raise ParseError(f"{value}: source field is {src.n_bits} bits wide but "
                             f"destination is {ldst.n_bits} bits wide")
        return LearnSpec("load", src, 0, ldst, src.n_bits)
    if name == "output":
        src = parse_subfield(value)
        return LearnSpec("output", src, 0, None, src.n_bits)
    raise ParseError(f"{orig}: unknown keyword {name}")


def _parse_immediate(orig: str, name: str, value: str, dst: SubField, sub_error: str,
                     port_map: PortMap | None) -> int:
    f = dst.field
    try:
        if dst.is_whole:
            return parse_field_exact(f, value, port_map)
        try:
            imm, end = parse_int_string(value, field_nbytes(f))
            if end != len(value):
                raise IntSyntaxError(False)
        except IntSyntaxError:
            raise ParseError(f"{orig}: cannot parse integer value") from None
        if not _fits(imm, dst):
            shown = format_field_value(f, imm) if imm < 1 << f.nbits else hex_int(imm)
            raise ParseError(f"{orig}: value {shown} does not fit into {dst.n_bits} bits")
        return imm
    except ParseError as e:
        raise ParseError(f"{orig}: {name} value {value} cannot be parsed as a subfield "
                         f"({sub_error}) or an immediate value ({e})") from None


def format_learn(learn: Learn, port_names: PortNames | None = None) -> str:
    """``learn(table=10,idle_timeout=60,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],...)``."""
    out = [f"learn(table={learn.table_id}"]
    if learn.idle_timeout:
        out.append(f",idle_timeout={learn.idle_timeout}")
    if learn.hard_timeout:
        out.append(f",hard_timeout={learn.hard_timeout}")
    if learn.fin_idle_timeout:
        out.append(f",fin_idle_timeout={learn.fin_idle_timeout}")
    if learn.fin_hard_timeout:
        out.append(f",fin_hard_timeout={learn.fin_hard_timeout}")
    if learn.priority != 0x8000:
        out.append(f",priority={learn.priority}")
    if learn.flags & LEARN_F_SEND_FLOW_REM:
        out.append(",send_flow_rem")
    if learn.flags & LEARN_F_DELETE_LEARNED:
        out.append(",delete_learned")
    if learn.cookie:
        out.append(f",cookie={learn.cookie:#x}")
    if learn.limit:
        out.append(f",limit={learn.limit}")
    if learn.flags & LEARN_F_WRITE_RESULT and learn.result_dst is not None:
        out.append(f",result_dst={format_subfield(learn.result_dst)}")
    for spec in learn.specs:
        out.append("," + _format_spec(spec, port_names))
    out.append(")")
    return "".join(out)


def _format_spec(spec: LearnSpec, port_names: PortNames | None) -> str:
    src, dst = spec.src, spec.dst
    if spec.kind == "match" and dst is not None:
        if src is None:
            if dst.is_whole:
                value = format_field_value(dst.field, spec.imm, None, port_names)
                return f"{dst.field.name}={value}"
            return f"{format_subfield(dst)}={hex_int(spec.imm)}"
        text = format_subfield(dst)
        if src.field != dst.field or src.ofs != dst.ofs:
            text += f"={format_subfield(src)}"
        return text
    if spec.kind == "load" and dst is not None:
        what = hex_int(spec.imm) if src is None else format_subfield(src)
        return f"load:{what}->{format_subfield(dst)}"
    if spec.kind == "output" and src is not None:
        return f"output:{format_subfield(src)}"
    return f"<bad learn spec {spec.kind}>"  # pragma: no cover - parser never builds one
