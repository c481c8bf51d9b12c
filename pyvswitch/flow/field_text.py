"""Field values and subfields in ovs-ofctl text (OVS ``mf_parse``/``mf_format`` and
``mf_parse_subfield``/``mf_format_subfield``).

A field's value is read and printed according to its :class:`~pyvswitch.flow.fields.Fmt`
(decimal, hex, Ethernet, IPv4/IPv6 with masks, port, fragment type, flag sets), and a
*subfield* is a field name with an optional bit range, ``NXM_NX_REG0[0..15]``, as used by
``load``, ``move``, ``output:``, ``learn`` and ``ct(zone=...)``.

Names follow OVS: matches and ``set_field`` accept a field's canonical name and aliases
only; subfields also accept the NXM/OXM names (with an optional ``_W`` suffix).

Layer: flow.  Imports: flow.fields, flow.ofpacts, flow.values, errors.
"""

from __future__ import annotations

import re

from pyvswitch.errors import ParseError
from pyvswitch.flow import layout as L
from pyvswitch.flow.fields import FIELDS, Field, Fmt
from pyvswitch.flow.ofpacts import SubField
from pyvswitch.flow.values import (
    IntSyntaxError,
    PortMap,
    PortNames,
    format_flags_masked,
    format_frag,
    format_ipv4_masked,
    format_ipv6_masked,
    format_mac_masked,
    format_port,
    hex_int,
    parse_flags,
    parse_frag,
    parse_int_string,
    parse_ipv4_masked,
    parse_ipv6_masked,
    parse_mac_masked,
    parse_port,
)

_BY_NAME: dict[str, Field] = {}
_BY_NXM: dict[str, Field] = {}
for _f in FIELDS.values():
    for _n in (_f.name, *_f.aliases):
        _BY_NAME.setdefault(_n, _f)
    for _n in (_f.nxm_name, _f.oxm_name):
        if _n:
            _BY_NXM.setdefault(_n, _f)

#: byte widths OVS uses for values where they differ from our bit widths
_OVS_NBYTES = {"arp_op": 2, "ipv6_label": 4}


def field_nbytes(f: Field) -> int:
    """How many bytes OVS reads for the field's value (range checks use it)."""
    return _OVS_NBYTES.get(f.name, f.nbytes)


#: names our registry keeps as separate fields that OVS treats as aliases of another
#: field when they name a field to write or read (``set_field:80->tp_dst`` is tcp_dst)
_ACTION_ALIASES = {"tp_src": "tcp_src", "tp_dst": "tcp_dst"}


def lookup_field(name: str) -> Field | None:
    """A field by canonical name or alias, as OVS ``mf_from_name`` (case-sensitive)."""
    return _BY_NAME.get(name)


def lookup_action_field(name: str) -> Field | None:
    """Like :func:`lookup_field`, for fields that actions write or read."""
    return _BY_NAME.get(_ACTION_ALIASES.get(name, name))


def full_mask_of(f: Field) -> int:
    """The exact-match mask of ``f`` as a match stores it."""
    return f.full_mask


# ----------------------------------------------------------------------------- values
def parse_field_value(f: Field, s: str, port_map: PortMap | None = None,
                      clip: bool = True) -> tuple[int, int]:
    """Read ``s`` as a (possibly masked) value of ``f``: (value, mask).

    ``*`` means "any" (mask 0).  An exact value gets the field's full mask and, when
    ``clip``, loses the bits the field does not have (as a match would store it).  Errors
    use OVS's wording and name the offending text.
    """
    if s == "*":
        return 0, 0
    fmt = f.fmt
    nbytes = field_nbytes(f)
    all_ones = (1 << (8 * nbytes)) - 1
    mask: int | None
    if fmt in (Fmt.DECIMAL, Fmt.HEX):
        value, mask = _parse_integer(f, s, nbytes)
    elif fmt is Fmt.CT_STATE:
        value, mask = parse_flags(s, L.CT_STATE_NAMES, 0xFF, "ct_state")
    elif fmt is Fmt.ETHERNET:
        value, mask = parse_mac_masked(s)
        all_ones = (1 << 48) - 1
    elif fmt is Fmt.IPV4:
        value, mask = parse_ipv4_masked(s)
    elif fmt is Fmt.IPV6:
        value, mask = parse_ipv6_masked(s)
    elif fmt in (Fmt.OFP_PORT, Fmt.OFP_PORT_OXM):
        port = parse_port(s, port_map)
        if port is None:
            if fmt is Fmt.OFP_PORT:
                raise ParseError(f"{s}: invalid or unknown port for {f.name}")
            raise ParseError(f"{s}: port value out of range for {f.name}")
        value, mask = port, None
    elif fmt is Fmt.FRAG:
        value, mask = parse_frag(s)
        if mask == 3:
            mask = None
        else:
            all_ones = 3
    elif fmt is Fmt.TCP_FLAGS:
        value, mask = parse_flags(s, L.TCP_FLAG_NAMES, 0x0FFF, "TCP")
    else:  # pragma: no cover - every Fmt is handled above
        raise ParseError(f"{s}: cannot parse {f.name}")
    if mask is None or mask == all_ones:
        return (value & f.full_mask if clip else value), f.full_mask
    if not f.maskable and mask:
        raise ParseError(f"{s}: invalid mask for field {f.name}")
    return value & mask, mask


def _parse_integer(f: Field, s: str, nbytes: int) -> tuple[int, int | None]:
    what = "value"
    name = _ACTION_ALIASES.get(f.name, f.name)
    try:
        value, end = parse_int_string(s, nbytes)
        if end != len(s) and s[end] != "/":
            raise IntSyntaxError(False)
        if end == len(s):
            return value, None
        what = "mask"
        mask, end = parse_int_string(s, nbytes, end + 1)
        if end != len(s):
            raise IntSyntaxError(False)
        return value, mask
    except IntSyntaxError as e:
        if e.too_large:
            raise ParseError(f"{s}: {what} too large for {nbytes}-byte field {name}") \
                from None
        raise ParseError(f"{s}: bad syntax for {name} {what}") from None


def parse_field_exact(f: Field, s: str, port_map: PortMap | None = None) -> int:
    """A value of ``f`` that must not be masked (OVS ``mf_parse_value``)."""
    value, mask = parse_field_value(f, s, port_map)
    if mask != f.full_mask:
        raise ParseError(f"{s}: wildcards not allowed here")
    return value


def format_field_value(f: Field, value: int, mask: int | None = None,
                       port_names: PortNames | None = None) -> str:
    """Print a value of ``f`` as ``set_field``/``learn`` do (OVS ``mf_format``)."""
    if mask is not None:
        if not mask:
            return "ANY"
        if mask & f.full_mask == f.full_mask:
            mask = None
    fmt = f.fmt
    if fmt in (Fmt.OFP_PORT, Fmt.OFP_PORT_OXM) and mask is None:
        return format_port(value, port_names)
    if fmt in (Fmt.DECIMAL, Fmt.OFP_PORT, Fmt.OFP_PORT_OXM):
        return str(value) + (f"/{hex_int(mask)}" if mask is not None else "")
    if fmt is Fmt.HEX:
        return hex_int(value) + (f"/{hex_int(mask)}" if mask is not None else "")
    if fmt is Fmt.CT_STATE:
        return format_flags_masked(value, 0xFF if mask is None else mask,
                                   L.CT_STATE_NAMES, 0xFF)
    if fmt is Fmt.ETHERNET:
        return format_mac_masked(value, mask)
    if fmt is Fmt.IPV4:
        return format_ipv4_masked(value, 0xFFFFFFFF if mask is None else mask)
    if fmt is Fmt.IPV6:
        return format_ipv6_masked(value, mask)
    if fmt is Fmt.FRAG:
        return format_frag(value, 3 if mask is None else mask)
    if fmt is Fmt.TCP_FLAGS:
        return format_flags_masked(value, 0xFFF if mask is None else mask & 0xFFF,
                                   L.TCP_FLAG_NAMES, 0xFFF)
    return hex_int(value)  # pragma: no cover - every Fmt is handled above


# ----------------------------------------------------------------------------- subfields
_RANGE = re.compile(r"\[\s*([-+]?\d+)\.\.\s*([-+]?\d+)\]")
_BIT = re.compile(r"\[\s*([-+]?\d+)\]")


def _subfield_name(name: str) -> Field | None:
    base = name[:-2] if len(name) > 2 and name.endswith("_W") else name
    f = _BY_NXM.get(base)
    if f is None:
        f = lookup_action_field(name)
    return f


def parse_subfield_prefix(s: str, pos: int = 0) -> tuple[SubField, int]:
    """Read ``NAME[a..b]``/``NAME[a]``/``NAME[]``/``NAME`` at ``s[pos:]``: (subfield, end)."""
    text = s[pos:]
    m = re.match(r"[^\[\-]*", text)
    name = m.group() if m else ""
    f = _subfield_name(name)
    if f is None:
        raise ParseError(f"{text}: unknown field `{name}'")
    i = len(name)
    start, end = 0, f.nbits - 1
    if text[i:i + 1] == "[":
        if text.startswith("[]", i):
            pass
        elif (rm := _RANGE.match(text, i)) is not None:
            start, end = int(rm.group(1)), int(rm.group(2))
        elif (bm := _BIT.match(text, i)) is not None:
            start = end = int(bm.group(1))
        else:
            raise ParseError(f"{text}: syntax error expecting [] or [<bit>] or "
                             "[<start>..<end>]")
        i = text.index("]", i) + 1
    if start > end:
        raise ParseError(f"{text}: starting bit {start} is after ending bit {end}")
    if start >= f.nbits:
        raise ParseError(f"{text}: starting bit {start} is not valid because field is only "
                         f"{f.nbits} bits wide")
    if end >= f.nbits:
        raise ParseError(f"{text}: ending bit {end} is not valid because field is only "
                         f"{f.nbits} bits wide")
    return SubField(f, start, end - start + 1), pos + i


def parse_subfield(s: str) -> SubField:
    """A subfield that must be the whole of ``s``."""
    sf, end = parse_subfield_prefix(s)
    if end != len(s):
        raise ParseError("unexpected input following field syntax")
    return sf


def format_subfield(sf: SubField) -> str:
    """``NXM_NX_REG0[]``, ``NXM_NX_REG0[5]`` or ``NXM_NX_REG0[0..15]`` (NXM names first)."""
    name = sf.field.subfield_name
    if sf.ofs == 0 and sf.n_bits == sf.field.nbits:
        return f"{name}[]"
    if sf.n_bits == 1:
        return f"{name}[{sf.ofs}]"
    return f"{name}[{sf.ofs}..{sf.ofs + sf.n_bits - 1}]"


def has_nxm_header(f: Field) -> bool:
    """Whether ``f`` has an NXM or standard OXM header (``learn`` needs one)."""
    if f.nxm is not None:
        return True
    return f.oxm is not None and not f.oxm.experimenter
