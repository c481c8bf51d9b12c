"""The FTP control-channel helper: parsing PORT/EPRT/227/229, NAT rewrite, sequence skew.

Conntrack's FTP ALG (spec conntrack.md §8.3, §8.4) needs three things from a control
packet's TCP payload, all provided here as pure functions on bytes and ints:

* :func:`parse_ftp_message` -- is this a message announcing a data connection, and which
  address/port does it announce?  Returns an :class:`FtpMessage`, ``None`` (not a message
  of interest) or :data:`INVALID` (a message of interest that does not parse; the caller
  marks the packet ``inv``, logs "Invalid FTP control packet format" and creates no
  expectation).
* :func:`ftp_address_allowed` / :func:`ftp_nat_address` -- the anti-bounce check on the
  announced address and the address to write when the connection is NAT'ed.
* :func:`rewrite_ftp_address` (payload) and :func:`rewrite_ftp_packet` (whole frame:
  payload, IP length, IPv4 header checksum) -- the NAT rewrite, returning the length
  delta; plus the sequence-skew arithmetic :func:`adjust_seq`, :func:`adjust_ack`,
  :func:`apply_seq_skew` and :func:`fix_tcp_checksum`.

The skew rule (§8.4), which the tracker applies to every packet of a NAT'ed FTP control
connection with a non-zero cumulative skew S recorded for direction D:

* a packet travelling in direction D gets ``seq += S`` *after* TCP tracking;
* a packet travelling in the other direction gets ``ack -= S`` *before* TCP tracking;
* a packet whose text was rewritten is itself shifted by the old S, then
  ``S = S + delta`` and D becomes that packet's direction.

So the TCP tracker always sees sequence numbers in the sender's own space.  After any of
these edits the TCP checksum must be recomputed (:func:`fix_tcp_checksum`).

What is accepted mirrors OVS's parser byte for byte (its quirks included): only the first
``min(len, 128) - 1`` payload bytes up to the first NUL are looked at; prefixes are
case-insensitive; for IPv4 the message must start with ``PORT``, ``EPRT``, ``227`` or
``229`` -- whatever the packet's direction, so ``reply`` is only recorded; for IPv6 it must
start with ``EPRT`` or contain ``EXTENDED PASSIVE`` anywhere.  Then: skip to the first space
(IPv4) and the first digit; PORT/227 addresses have four decimal octets separated by commas
(the first three commas are read as dots, the text must be a valid dotted quad without
leading zeros), followed by ``p1,p2`` with ``p1`` of at most four digits and both ``<=
255``; EPRT carries the address family ``1`` (IPv4) or ``2`` (IPv6) as a single digit;
extended ports have at most six digits and must be ``<= 65535``.

Deliberate difference from OVS master: an IPv4 EPRT address is rewritten in dotted form
(``|1|198.51.100.9|port|``, RFC 2428); master writes it with commas as for PORT.

Layer: conntrack (pure helper; the tracker core calls it).  Imports: standard library and
``pyvswitch.packet`` only -- nothing else from ``conntrack``, so there is no cycle.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from typing import Final

from pyvswitch.packet.checksum import (
    csum,
    csum_replace16,
    l4_checksum_v4,
    l4_checksum_v6,
    pseudo_header_v4,
    pseudo_header_v6,
)
from pyvswitch.packet.headers import ETH_TYPE_IP

__all__ = [
    "INVALID",
    "FTP_PORT",
    "FtpKind",
    "FtpMessage",
    "Invalid",
    "adjust_ack",
    "adjust_seq",
    "apply_seq_skew",
    "fix_tcp_checksum",
    "format_ipv6",
    "ftp_address_allowed",
    "ftp_nat_address",
    "parse_ftp_message",
    "parse_ipv4",
    "parse_ipv6",
    "rewrite_ftp_address",
    "rewrite_ftp_packet",
    "tcp_payload_offset",
]

#: the well-known FTP control port (the helper is also guessed from it without alg=ftp)
FTP_PORT: Final = 21

#: how much of the payload OVS copies for parsing (it keeps one byte less: a C string)
LARGEST_FTP_MSG_OF_INTEREST: Final = 128
_MAX_PORT_DIGITS: Final = 3  # PORT/227 p1: OVS's digit loop admits one more than this
_MAX_EXT_PORT_DIGITS: Final = 5  # EPRT/229: likewise, six digits pass the loop
_EXTENDED_PASSIVE: Final = b"EXTENDED PASSIVE"

_DIGITS = frozenset(b"0123456789")
_V6_CHARS = frozenset(b"0123456789abcdefABCDEF:.")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_IPPROTO_TCP = 6


class FtpKind(Enum):
    """Which FTP message announced the data connection."""

    PORT = "PORT"  # active, IPv4, "PORT h1,h2,h3,h4,p1,p2"
    EPRT = "EPRT"  # active, extended: "EPRT |1|a.b.c.d|port|" or "EPRT |2|ipv6|port|"
    PASV = "PASV"  # passive reply "227 ... (h1,h2,h3,h4,p1,p2)"
    EPSV = "EPSV"  # passive reply "229 ... (|||port|)" (IPv6: any "EXTENDED PASSIVE")

    @property
    def active(self) -> bool:
        """Active messages come from the client; the data connection comes from the server."""
        return self is FtpKind.PORT or self is FtpKind.EPRT


@dataclass(frozen=True, slots=True)
class FtpMessage:
    """An announcement of a data connection found in a control packet.

    ``addr`` is the announced address as an int (IPv4 or IPv6 by ``ipv6``), None for
    EPSV (which announces a port only).  ``addr_span`` is ``(start, end)`` of the
    address text in the TCP payload, None when there is no address to rewrite.
    ``reply`` records the direction the caller said the packet travelled in; the parser
    itself does not use it (OVS classifies by text alone).
    """

    kind: FtpKind
    addr: int | None
    port: int
    addr_span: tuple[int, int] | None
    ipv6: bool
    reply: bool = False


class Invalid(Enum):
    """Type of :data:`INVALID` (an enum so that ``is INVALID`` checks type-check)."""

    INVALID = "INVALID"

    def __repr__(self) -> str:
        return "INVALID"


#: result of :func:`parse_ftp_message` for a malformed message of interest; test with ``is``
INVALID: Final = Invalid.INVALID


# --- address text -------------------------------------------------------------------


def parse_ipv4(text: bytes) -> int | None:
    """Dotted-quad text to an int, as strict as glibc's ``inet_pton(AF_INET)``.

    Exactly four decimal parts, each 0..255 and without leading zeros; None otherwise.
    OVS relies on this strictness to reject malformed PORT/227 addresses.
    """
    parts = text.split(b".")
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not part or len(part) > 3 or not all(c in _DIGITS for c in part):
            return None
        if len(part) > 1 and part[0] == 0x30:
            return None
        octet = int(part)
        if octet > 255:
            return None
        value = (value << 8) | octet
    return value


def parse_ipv6(text: bytes) -> int | None:
    """IPv6 text to an int, with glibc's ``inet_pton(AF_INET6)`` rules; None if invalid.

    Accepts ``::`` compression (once), up to four hex digits per group and a trailing
    dotted quad, nothing else (no zone ids, no brackets).
    """
    n = len(text)
    if n == 0:
        return None
    i = 0
    if text[0] == 0x3A:  # ':' must open '::'
        if n < 2 or text[1] != 0x3A:
            return None
        i = 1
    groups: list[int] = []
    gap = -1  # index in groups where '::' stands
    cur_start = i
    ndigits = 0
    val = 0
    while i < n:
        c = text[i]
        i += 1
        d = _hex_value(c)
        if d >= 0:
            if ndigits == 4:
                return None
            val = (val << 4) | d
            ndigits += 1
            continue
        if c == 0x3A:  # ':'
            cur_start = i
            if ndigits == 0:
                if gap >= 0:
                    return None
                gap = len(groups)
                continue
            if i == n or len(groups) >= 8:
                return None
            groups.append(val)
            ndigits = 0
            val = 0
            continue
        if c == 0x2E and len(groups) <= 6:  # '.' of a trailing IPv4 address
            v4 = parse_ipv4(text[cur_start:])
            if v4 is None:
                return None
            groups.append(v4 >> 16)
            groups.append(v4 & 0xFFFF)
            ndigits = 0
            break
        return None
    if ndigits:
        if len(groups) >= 8:
            return None
        groups.append(val)
    if gap >= 0:
        if len(groups) == 8:
            return None
        groups[gap:gap] = [0] * (8 - len(groups))
    if len(groups) != 8:
        return None
    value = 0
    for g in groups:
        value = (value << 16) | g
    return value


def _hex_value(c: int) -> int:
    if 0x30 <= c <= 0x39:
        return c - 0x30
    if 0x61 <= c <= 0x66:
        return c - 0x57
    if 0x41 <= c <= 0x46:
        return c - 0x37
    return -1


def _format_ipv4(addr: int, sep: str = ".") -> str:
    return sep.join(str((addr >> s) & 0xFF) for s in (24, 16, 8, 0))


def format_ipv6(addr: int) -> str:
    """IPv6 text exactly as glibc's ``inet_ntop`` writes it (what OVS puts in EPRT).

    Lower-case hex, the longest run (first on ties) of two or more zero groups
    compressed, and ``::a.b.c.d`` / ``::ffff:a.b.c.d`` for IPv4-compatible and
    IPv4-mapped addresses.
    """
    words = [(addr >> (112 - 16 * i)) & 0xFFFF for i in range(8)]
    best_base, best_len = -1, 0
    cur_base, cur_len = -1, 0
    for i, w in enumerate(words):
        if w == 0:
            if cur_base < 0:
                cur_base, cur_len = i, 1
            else:
                cur_len += 1
        elif cur_base >= 0:
            if best_base < 0 or cur_len > best_len:
                best_base, best_len = cur_base, cur_len
            cur_base = -1
    if cur_base >= 0 and (best_base < 0 or cur_len > best_len):
        best_base, best_len = cur_base, cur_len
    if best_base >= 0 and best_len < 2:
        best_base = -1
    out: list[str] = []
    for i, w in enumerate(words):
        if best_base >= 0 and best_base <= i < best_base + best_len:
            if i == best_base:
                out.append(":")
            continue
        if i:
            out.append(":")
        if i == 6 and best_base == 0 and (best_len == 6 or (best_len == 5 and words[5] == 0xFFFF)):
            out.append(_format_ipv4(addr & 0xFFFFFFFF))
            break
        out.append(f"{w:x}")
    else:
        if best_base >= 0 and best_base + best_len == 8:
            out.append(":")
    return "".join(out)


# --- parsing --------------------------------------------------------------------------


def _ctl_msg(payload: bytes | bytearray | memoryview) -> bytes:
    """The part of the payload OVS parses: a C-string copy of at most 127 bytes."""
    n = min(len(payload), LARGEST_FTP_MSG_OF_INTEREST)
    if n == 0:
        return b""
    msg = bytes(payload[: n - 1])
    nul = msg.find(b"\0")
    return msg if nul < 0 else msg[:nul]


def _skip_non_digits(buf: bytearray, i: int) -> int:
    while buf[i] and buf[i] not in _DIGITS:
        i += 1
    return i


def _take_number(buf: bytearray, i: int, max_digits: int) -> tuple[int, int]:
    """Digits at ``i`` (at most ``max_digits + 1``, OVS's loop bound), NUL-terminated there.

    Returns ``(value or -1 when there is no digit, index of the terminator)``.
    """
    start = i
    while buf[i] in _DIGITS and i - start <= max_digits:
        i += 1
    text = bytes(buf[start:i])
    buf[i] = 0
    return (int(text) if text else -1), i


def _parse_v4(msg: bytes, reply: bool) -> FtpMessage | Invalid:
    buf = bytearray(msg) + bytes(16)  # NUL tail: the C code may step just past the end
    n = len(msg)
    head = msg[:4].upper()
    if head == b"PORT":
        kind, i = FtpKind.PORT, 4
    elif head == b"EPRT":
        kind, i = FtpKind.EPRT, 4
    elif msg[:3] == b"229":
        kind, i = FtpKind.EPSV, 3
    else:
        kind, i = FtpKind.PASV, 3
    extended = kind is FtpKind.EPRT or kind is FtpKind.EPSV
    space = msg.find(b" ", i)
    if space < 0:
        return INVALID
    i = _skip_non_digits(buf, space)
    if not buf[i]:
        return INVALID
    if kind is FtpKind.EPRT:
        if buf[i] != 0x31 or buf[i + 1] in _DIGITS:  # address family 1, one digit
            return INVALID
        i = _skip_non_digits(buf, i + 1)
        if not buf[i]:
            return INVALID
    addr: int | None = None
    span: tuple[int, int] | None = None
    if kind is not FtpKind.EPSV:
        start = i
        commas = 0
        j = i
        while j < n and commas < 3:  # the first three commas stand for dots
            if buf[j] == 0x2C:
                buf[j] = 0x2E
                commas += 1
            j += 1
        while buf[i] in _DIGITS or buf[i] == 0x2E:
            i += 1
        addr = parse_ipv4(bytes(buf[start:i]))
        buf[i] = 0
        i += 1
        if addr is None:
            return INVALID
        span = (start, i - 1)
    if not extended:
        hi, i = _take_number(buf, i, _MAX_PORT_DIGITS)
        if hi < 0 or hi > 255:
            return INVALID
        i += 1  # whatever separates p1 from p2
        start = i
        while buf[i] in _DIGITS:
            i += 1
        if i == start:
            return INVALID
        lo = int(bytes(buf[start:i]))
        if lo > 255:
            return INVALID
        port = (hi << 8) | lo
    else:
        port, i = _take_number(buf, i, _MAX_EXT_PORT_DIGITS)
        if port < 0 or port > 0xFFFF:
            return INVALID
    return FtpMessage(kind, addr, port, span, False, reply)


def _parse_v6(msg: bytes, reply: bool) -> FtpMessage | Invalid:
    buf = bytearray(msg) + bytes(16)
    addr: int | None = None
    span: tuple[int, int] | None = None
    if msg[:4].upper() == b"EPRT":
        kind = FtpKind.EPRT
        i = _skip_non_digits(buf, 4)
        if buf[i] != 0x32 or buf[i + 1] in _DIGITS:  # address family 2, one digit
            return INVALID
        i += 2  # the family digit and the delimiter after it
        start = i
        while buf[i] in _V6_CHARS:
            i += 1
        addr = parse_ipv6(bytes(buf[start:i]))
        if addr is None:
            return INVALID
        span = (start, i)
        buf[i] = 0
        i += 1
    else:
        kind = FtpKind.EPSV
        paren = msg.find(b"(")
        i = _skip_non_digits(buf, len(msg) if paren < 0 else paren)
        if buf[i] not in _DIGITS:
            return INVALID
    port, i = _take_number(buf, i, _MAX_EXT_PORT_DIGITS)
    if port < 0 or port > 0xFFFF:
        return INVALID
    return FtpMessage(kind, addr, port, span, True, reply)


def parse_ftp_message(
    payload: bytes | bytearray | memoryview, reply: bool, ipv6: bool
) -> FtpMessage | Invalid | None:
    """Parse an FTP control packet's TCP payload (Ethernet padding excluded).

    ``None``: not a message announcing a data connection (most control traffic, empty
    ACKs).  :data:`INVALID`: a PORT/EPRT/227/229 (IPv6: EPRT/"EXTENDED PASSIVE") message
    that does not parse.  Otherwise the announced address and port.  ``reply`` is the
    packet's direction, only recorded in the result.
    """
    msg = _ctl_msg(payload)
    if ipv6:
        if msg[:4].upper() != b"EPRT" and _EXTENDED_PASSIVE not in msg.upper():
            return None
        return _parse_v6(msg, reply)
    head = msg[:4].upper()
    if head != b"PORT" and head != b"EPRT" and msg[:3] != b"227" and msg[:3] != b"229":
        return None
    return _parse_v4(msg, reply)


# --- connection checks -----------------------------------------------------------------


def ftp_nat_address(msg: FtpMessage, fwd_dst: int, rev_dst: int) -> int:
    """The address to announce instead when the control connection is NAT'ed.

    Active messages come from the client: announce the client as the server sees it
    (the REV key's destination, i.e. the SNAT address).  Passive replies come from the
    server: announce the address the client dialled (the FWD key's destination).
    """
    return rev_dst if msg.kind.active else fwd_dst


def ftp_address_allowed(
    msg: FtpMessage, fwd_src: int, fwd_dst: int, rev_src: int, rev_dst: int
) -> bool:
    """OVS's anti-bounce check: the announced address must be the sender itself.

    Active: the client's real address (FWD source) or its NAT'ed one (REV destination).
    Passive 227: the server's real address (REV source) or the dialled one (FWD
    destination).  EPSV carries no address and always passes.  A failure makes the
    packet ``inv`` with no expectation.
    """
    if msg.addr is None:
        return True
    if msg.kind.active:
        return msg.addr == fwd_src or msg.addr == rev_dst
    return msg.addr == rev_src or msg.addr == fwd_dst


# --- rewriting ------------------------------------------------------------------------


def _address_text(msg: FtpMessage, addr: int) -> bytes:
    if msg.ipv6:
        return format_ipv6(addr).encode()
    return _format_ipv4(addr, "." if msg.kind is FtpKind.EPRT else ",").encode()


def rewrite_ftp_address(
    payload: bytes | bytearray | memoryview, msg: FtpMessage, new_addr: int
) -> tuple[bytes, int]:
    """Replace the announced address text; return the new payload and the length delta.

    PORT/227 get ``a,b,c,d``, IPv4 EPRT ``a.b.c.d`` and IPv6 EPRT the ``inet_ntop``
    text.  EPSV has no address: the payload comes back unchanged with delta 0.
    """
    if msg.addr_span is None:
        return bytes(payload), 0
    start, end = msg.addr_span
    text = _address_text(msg, new_addr)
    data = bytes(payload)
    return data[:start] + text + data[end:], len(text) - (end - start)


def tcp_payload_offset(pkt: bytes | bytearray | memoryview, l4_ofs: int) -> int:
    """Where the TCP payload begins: ``l4_ofs`` plus the header's data offset."""
    return l4_ofs + (pkt[l4_ofs + 12] >> 4) * 4


def rewrite_ftp_packet(
    pkt: bytearray, l3_ofs: int, l4_ofs: int, eth_type: int, msg: FtpMessage, new_addr: int
) -> int:
    """Rewrite the announced address inside a whole frame, in place; return the delta.

    Updates the payload, the IPv4 total length and header checksum (incrementally) or
    the IPv6 payload length.  The TCP checksum is left for :func:`fix_tcp_checksum`,
    which must run after the sequence adjustment anyway.  ``msg`` must come from this
    packet's payload.
    """
    if msg.addr_span is None:
        return 0
    start, end = msg.addr_span
    base = tcp_payload_offset(pkt, l4_ofs)
    text = _address_text(msg, new_addr)
    pkt[base + start : base + end] = text
    delta = len(text) - (end - start)
    if delta:
        if eth_type == ETH_TYPE_IP:
            old = _U16.unpack_from(pkt, l3_ofs + 2)[0]
            new = (old + delta) & 0xFFFF
            _U16.pack_into(pkt, l3_ofs + 2, new)
            csum = _U16.unpack_from(pkt, l3_ofs + 10)[0]
            _U16.pack_into(pkt, l3_ofs + 10, csum_replace16(csum, old, new))
        else:
            old = _U16.unpack_from(pkt, l3_ofs + 4)[0]
            _U16.pack_into(pkt, l3_ofs + 4, (old + delta) & 0xFFFF)
    return delta


def adjust_seq(seq: int, skew: int) -> int:
    """``seq + skew`` modulo 2**32: packets in the rewriting direction, after tracking."""
    return (seq + skew) & 0xFFFFFFFF


def adjust_ack(ack: int, skew: int) -> int:
    """``ack - skew`` modulo 2**32: packets in the other direction, before tracking."""
    return (ack - skew) & 0xFFFFFFFF


def apply_seq_skew(pkt: bytearray, l4_ofs: int, skew: int, in_skew_dir: bool) -> None:
    """Apply the cumulative skew to a TCP header in place (seq or ack, per the rule above).

    Does nothing when ``skew`` is 0.  The TCP checksum is not touched.
    """
    if not skew:
        return
    if in_skew_dir:
        ofs = l4_ofs + 4
        _U32.pack_into(pkt, ofs, adjust_seq(_U32.unpack_from(pkt, ofs)[0], skew))
    else:
        ofs = l4_ofs + 8
        _U32.pack_into(pkt, ofs, adjust_ack(_U32.unpack_from(pkt, ofs)[0], skew))


def fix_tcp_checksum(pkt: bytearray, l3_ofs: int, l4_ofs: int, l3_end: int, eth_type: int,
                     partial: bool = False) -> None:
    """Recompute the TCP checksum over ``pkt[l4_ofs:l3_end]`` with the IP pseudo-header.

    ``partial``: the checksum is offloaded, so the field gets what the device starts
    from, the positive pseudo-header sum (for the new length).
    """
    pkt[l4_ofs + 16 : l4_ofs + 18] = b"\0\0"
    seg = pkt[l4_ofs:l3_end]
    if eth_type == ETH_TYPE_IP:
        src, dst = pkt[l3_ofs + 12 : l3_ofs + 16], pkt[l3_ofs + 16 : l3_ofs + 20]
        if partial:
            value = csum(b"", pseudo_header_v4(src, dst, _IPPROTO_TCP, len(seg)))
        else:
            value = l4_checksum_v4(src, dst, _IPPROTO_TCP, seg)
    else:
        src, dst = pkt[l3_ofs + 8 : l3_ofs + 24], pkt[l3_ofs + 24 : l3_ofs + 40]
        if partial:
            value = csum(b"", pseudo_header_v6(src, dst, _IPPROTO_TCP, len(seg)))
        else:
            value = l4_checksum_v6(src, dst, _IPPROTO_TCP, seg)
    _U16.pack_into(pkt, l4_ofs + 16, value)
