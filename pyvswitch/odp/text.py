"""Small value formatters shared by the datapath key and action printers.

OVS prints datapath flows with a handful of C ``printf`` idioms (``%#x`` prints ``0``
for zero, MACs in lower-case hex, IPv6 as glibc's ``inet_ntop``); these helpers give the
same strings so :mod:`pyvswitch.odp.format` can stay a description of *what* appears.
The sub-field printers (``ip4_field`` ...) are OVS's ``format_*`` helpers, shared by key
attributes and ``set(...)`` actions.

Layer: odp.  Imports: the standard library only.
"""

from __future__ import annotations

import ipaddress


def hex0(v: int) -> str:
    """C's ``%#x``: ``0`` for zero, ``0x1f`` otherwise."""
    return f"0x{v:x}" if v else "0"


def fmt_mac(v: int) -> str:
    b = v.to_bytes(6, "big")
    return b.hex(":")


def fmt_ip4(v: int) -> str:
    return f"{v >> 24 & 0xFF}.{v >> 16 & 0xFF}.{v >> 8 & 0xFF}.{v & 0xFF}"


def fmt_ip6(v: int) -> str:
    """IPv6 text as glibc's ``inet_ntop`` writes it.

    Python's ``ipaddress`` agrees with glibc except for the addresses glibc prints with
    a dotted IPv4 tail (a leading run of six zero words, or five and ``ffff``).
    """
    words = [(v >> (112 - 16 * i)) & 0xFFFF for i in range(8)]
    lead = 0
    while lead < 8 and words[lead] == 0:
        lead += 1
    if lead == 6 or (lead == 5 and words[5] == 0xFFFF):
        # glibc only does this when the leading run is the longest run of zeros,
        # which it is: at most two words remain.
        tail = fmt_ip4(v & 0xFFFFFFFF)
        return "::ffff:" + tail if lead == 5 else "::" + tail
    return ipaddress.IPv6Address(v).compressed


def hex_u128(v: int) -> str:
    """OVS's ``ds_put_hex`` of a 128-bit big-endian value: ``0`` or ``0x`` + digits."""
    return f"0x{v:x}" if v else "0"


def format_flags_masked(
    flags: int, mask: int, max_mask: int, names: dict[int, str], sep: str = "|"
) -> str:
    """OVS ``format_flags_masked``: ``+a-b`` over the mask's bits, plain list when the
    mask is full, ``0/0`` when it is empty."""
    if mask == max_mask:
        return format_flags(flags, names, sep)
    if not mask:
        return "0/0"
    out = []
    bit = 1
    while mask:
        if mask & bit:
            out.append(("+" if flags & bit else "-") + names.get(bit, "[Unknown]"))
            mask &= ~bit
        bit <<= 1
    return "".join(out)


def format_flags(flags: int, names: dict[int, str], sep: str = "|") -> str:
    """OVS ``format_flags``: names of the set bits, low bit first; ``0`` when none."""
    if not flags:
        return "0"
    out = []
    bad = 0
    bit = 1
    while flags:
        if flags & bit:
            name = names.get(bit)
            if name is None:
                bad |= bit
            else:
                out.append(name)
            flags &= ~bit
        bit <<= 1
    if bad:
        out.append(f"0x{bad:x}")
    return sep.join(out)


def format_tcp_flags_stats(flags: int) -> str:
    """The ``flags:`` of a flow dump (OVS ``packet_format_tcp_flags``): ``S``, ``SFP.``."""
    if not flags:
        return "none"
    out = []
    for bit, ch in (
        (0x002, "S"), (0x001, "F"), (0x008, "P"), (0x004, "R"), (0x020, "U"),
        (0x010, "."), (0x040, "E"), (0x080, "C"), (0x100, "N"),
        (0x200, "[200]"), (0x400, "[400]"), (0x800, "[800]"),
    ):
        if flags & bit:
            out.append(ch)
    return "".join(out)


# ------------------------------------------------------------------ sub-field printers
# OVS's format_* helpers: each returns "name=value[/mask]," or "" (empty mask, not
# verbose).  ``m`` None means the attribute has no mask (printed as exact).
FULL48 = (1 << 48) - 1
FULL128 = (1 << 128) - 1
FRAG_NAMES = ("no", "first", "later")
VLAN_CFI = 0x1000


def eth_field(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == FULL48:
        return f"{name}={fmt_mac(k)},"
    return f"{name}={fmt_mac(k)}/{fmt_mac(m)},"


def ip4_field(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == 0xFFFFFFFF:
        return f"{name}={fmt_ip4(k)},"
    return f"{name}={fmt_ip4(k)}/{fmt_ip4(m)},"


def ip6_field(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == FULL128:
        return f"{name}={fmt_ip6(k)},"
    return f"{name}={fmt_ip6(k)}/{fmt_ip6(m)},"


def label_field(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m & 0xFFFFF == 0xFFFFF:
        return f"{name}={hex0(k)},"
    return f"{name}={hex0(k)}/{hex0(m)},"


def u8x_field(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == 0xFF:
        return f"{name}={hex0(k)},"
    return f"{name}={hex0(k)}/{hex0(m)},"


def u8u_field(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == 0xFF:
        return f"{name}={k},"
    return f"{name}={k}/{hex0(m)},"


def be16_field(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == 0xFFFF:
        return f"{name}={k},"
    return f"{name}={k}/{hex0(m)},"


def be16x_field(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == 0xFFFF:
        return f"{name}={hex0(k)},"
    return f"{name}={hex0(k)}/{hex0(m)},"


def frag_field(k: int, m: int | None) -> str:
    # The datapath frag field is an enumeration: its mask is all or nothing, and an
    # empty mask hides it even in verbose output.
    if m == 0:
        return ""
    if m is not None and m != 0xFF:
        return f"error: partial mask not supported for frag ({hex0(m)}),"
    return f"frag={FRAG_NAMES[k] if k < 3 else k},"


def vlan_tci_text(tci: int, mask: int, verbose: bool) -> str:
    out = ""
    vid, vmask = tci & 0xFFF, mask & 0xFFF
    if verbose or vid or vmask:
        out += f"vid={vid}"
        if vmask != 0xFFF:
            out += f"/0x{vmask:x}"
        out += ","
    pcp, pmask = tci >> 13 & 7, mask >> 13 & 7
    if verbose or pcp or pmask:
        out += f"pcp={pcp}"
        if pmask != 7:
            out += f"/0x{pmask:x}"
        out += ","
    if not tci & VLAN_CFI:
        out += "cfi=0,"
    return out.rstrip(",")


def u32_text(k: int, m: int | None) -> str:
    if m is None or m == 0xFFFFFFFF:
        return hex0(k)
    return f"{hex0(k)}/{hex0(m)}"


def join_fields(*parts: str) -> str:
    return "".join(parts).rstrip(",")
