"""Field values as ``ofproto/trace`` prints them in "NXM_NX_REG0[] is now 0x5" lines.

Layer: ofproto_dpif.  Imports: flow, types.
"""

from __future__ import annotations

import ipaddress

from pyvswitch.flow import layout as L
from pyvswitch.flow.fields import Field, Fmt
from pyvswitch.flow.ofpacts import SubField
from pyvswitch.ofproto_dpif.fieldops import sf_read
from pyvswitch.ofproto_dpif.trace_text import c_hex
from pyvswitch.types import RESERVED_PORT_NAMES


def format_mac(v: int) -> str:
    return ":".join(f"{(v >> s) & 0xFF:02x}" for s in range(40, -1, -8))


def format_ip(v: int) -> str:
    return f"{v >> 24 & 255}.{v >> 16 & 255}.{v >> 8 & 255}.{v & 255}"


def format_ipv6(v: int) -> str:
    return str(ipaddress.IPv6Address(v))


def format_port(v: int) -> str:
    return RESERVED_PORT_NAMES.get(v, str(v))


def format_ct_state(v: int, sep: str = "|") -> str:
    names = [n for bit, n in L.CT_STATE_NAMES if v & bit]
    return sep.join(names) if names else "0"


def format_field_value(field: Field, v: int) -> str:
    f = field.fmt
    if f is Fmt.DECIMAL:
        return str(v)
    if f is Fmt.ETHERNET:
        return format_mac(v)
    if f is Fmt.IPV4:
        return format_ip(v)
    if f is Fmt.IPV6:
        return format_ipv6(v)
    if f is Fmt.OFP_PORT or f is Fmt.OFP_PORT_OXM:
        return format_port(v)
    if f is Fmt.CT_STATE:
        return format_ct_state(v)
    return c_hex(v)


def _hex_bytes(v: int) -> str:
    return "0" if v == 0 else f"{v:#x}"


def format_subfield(sf: SubField) -> str:
    name = sf.field.subfield_name
    if sf.is_whole:
        return f"{name}[]"
    if sf.n_bits == 1:
        return f"{name}[{sf.ofs}]"
    return f"{name}[{sf.ofs}..{sf.ofs + sf.n_bits - 1}]"


def format_subfield_value(flow: list[int], sf: SubField) -> str:
    if sf.ofs == 0 and sf.n_bits >= sf.field.nbits:
        val = format_field_value(sf.field, sf.field.get(flow))
    else:
        val = _hex_bytes(sf_read(flow, sf))
    return f"{format_subfield(sf)} is now {val}"
