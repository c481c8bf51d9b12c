"""Internet checksums (RFC 1071), their incremental update (RFC 1624) and SCTP's CRC32c.

The datapath rewrites headers (set_field, NAT, FTP payload rewrites) and must leave
valid checksums behind; conntrack checks L4 checksums.  Both want speed in pure Python,
so the full sum does not loop over 16-bit words: read as one big-endian integer, the
data is congruent to the sum of its 16-bit words modulo 0xffff (because 2**16 = 1 mod
0xffff), and a one's complement sum is exactly that residue, written 0xffff instead of
0 unless every word is zero.  An odd length is padded with a zero byte (a shift by 8).

Values are plain ints: ``csum`` is the folded sum (not inverted), ``checksum`` the value
that goes into a header field.  Incremental updates take and return field values.

Layer: packet.  Imports: the standard library only.
"""

from __future__ import annotations

Buffer = bytes | bytearray | memoryview


def _fold(total: int) -> int:
    """The one's complement 16-bit value of a non-negative sum of 16-bit words."""
    return (total - 1) % 0xFFFF + 1 if total else 0


def csum(data: Buffer, start: int = 0) -> int:
    """One's complement sum of ``data``'s big-endian 16-bit words, plus ``start``.

    The result is folded to 16 bits but not inverted, so partial sums can be chained:
    ``csum(b, csum(a))`` is the sum over ``a + b`` when ``a`` has an even length.
    ``start`` is any non-negative int (a previous partial sum, a pseudo-header sum).
    """
    total = int.from_bytes(data, "big")
    if len(data) & 1:
        total <<= 8
    return _fold(total + start)


def checksum(data: Buffer, start: int = 0) -> int:
    """The Internet checksum of ``data`` (with its checksum field zeroed) for the header.

    Over data that already holds a correct checksum the result is 0.
    """
    return ~csum(data, start) & 0xFFFF


def csum_replace16(old_csum: int, old: int, new: int) -> int:
    """The checksum field after a 16-bit word covered by it changes from ``old`` to ``new``.

    RFC 1624 equation 3, ``HC' = ~(~HC + ~m + m')``, in one's complement arithmetic.
    """
    return ~_fold((~old_csum & 0xFFFF) + (~old & 0xFFFF) + new) & 0xFFFF


def csum_replace32(old_csum: int, old: int, new: int) -> int:
    """As :func:`csum_replace16` for a 32-bit value (an IPv4 address, a TCP sequence)."""
    inv = ~old
    total = (~old_csum & 0xFFFF) + (inv >> 16 & 0xFFFF) + (inv & 0xFFFF)
    return ~_fold(total + (new >> 16) + (new & 0xFFFF)) & 0xFFFF


def csum_replace128(old_csum: int, old: int, new: int) -> int:
    """As :func:`csum_replace16` for a 128-bit value (an IPv6 address)."""
    total = ~old_csum & 0xFFFF
    for shift in range(0, 128, 16):
        total += (~old >> shift & 0xFFFF) + (new >> shift & 0xFFFF)
    return ~_fold(total) & 0xFFFF


def csum_replace_bytes(old_csum: int, old: Buffer, new: Buffer) -> int:
    """As :func:`csum_replace16` for equal-length byte strings starting at an even offset."""
    if len(old) != len(new):
        raise ValueError(f"csum_replace_bytes: {len(old)} bytes replaced by {len(new)}")
    old_sum = csum(old)
    # Subtracting a one's complement value is adding its complement.
    return ~_fold((~old_csum & 0xFFFF) + (~old_sum & 0xFFFF) + csum(new)) & 0xFFFF


def _addr_int(addr: int | Buffer) -> int:
    return addr if isinstance(addr, int) else int.from_bytes(addr, "big")


def pseudo_header_v4(src: int | Buffer, dst: int | Buffer, proto: int, length: int) -> int:
    """Unfolded sum of the IPv4 pseudo-header, to pass as ``start`` to :func:`csum`."""
    return _addr_int(src) + _addr_int(dst) + proto + length


def pseudo_header_v6(src: int | Buffer, dst: int | Buffer, proto: int, length: int) -> int:
    """Unfolded sum of the IPv6 pseudo-header (RFC 8200 8.1)."""
    return _addr_int(src) + _addr_int(dst) + proto + length


def l4_checksum_v4(src: int | Buffer, dst: int | Buffer, proto: int, l4: Buffer) -> int:
    """TCP/UDP checksum over the IPv4 pseudo-header and the segment ``l4``.

    Zero the checksum field in ``l4`` first to compute it (UDP then sends 0 as 0xffff);
    over a segment with a correct checksum the result is 0.  Addresses are ints or the
    4 address bytes.
    """
    return ~csum(l4, pseudo_header_v4(src, dst, proto, len(l4))) & 0xFFFF


def l4_checksum_v6(src: int | Buffer, dst: int | Buffer, proto: int, l4: Buffer) -> int:
    """TCP/UDP/ICMPv6 checksum over the IPv6 pseudo-header and ``l4``; see l4_checksum_v4."""
    return ~csum(l4, pseudo_header_v6(src, dst, proto, len(l4))) & 0xFFFF


def _crc32c_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC32C = _crc32c_table()


def crc32c(data: Buffer, crc: int = 0) -> int:
    """CRC-32C (Castagnoli) of ``data``; ``crc`` continues a previous result.

    The standard check value holds: ``crc32c(b"123456789") == 0xE3069283``.
    """
    crc ^= 0xFFFFFFFF
    table = _CRC32C
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def sctp_checksum(packet: Buffer) -> int:
    """The SCTP checksum field of ``packet`` (common header + chunks, field zeroed).

    SCTP stores the CRC least significant byte first; the value returned is what the
    4 field bytes read as a big-endian int, ready for ``struct.pack_into("!I", ...)``.
    """
    return int.from_bytes(crc32c(packet).to_bytes(4, "little"), "big")
