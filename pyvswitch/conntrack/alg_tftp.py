"""The TFTP helper: what a TFTP control connection contributes to its expectation.

A TFTP client sends its read/write request to port 69 from some port C; the server
answers from a fresh port to C.  Conntrack therefore (spec conntrack.md §8.2) makes
every packet of a connection using the tftp helper (re)create an expectation whose
destination port is the client's request port, i.e. the FWD key's source port, with
the source port wildcarded; the tracker core owns the expectation table and the address
rules, this module only answers the TFTP-specific questions:

* :func:`tftp_expectation_port` -- the expectation's destination port;
* :func:`parse_tftp_opcode` / :func:`is_tftp_request` -- what kind of TFTP packet a UDP
  payload is (RRQ = 1, WRQ = 2, DATA, ACK, ERROR, OACK).  OVS does not look at the
  opcode when creating the expectation, so neither must the caller; these serve
  diagnostics and tests.

Layer: conntrack (pure helper).  Imports: the standard library only.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

__all__ = [
    "TFTP_PORT",
    "TftpOpcode",
    "is_tftp_request",
    "parse_tftp_opcode",
    "tftp_expectation_port",
]

#: the TFTP server port; a UDP packet to it selects the helper without alg=tftp
TFTP_PORT: Final = 69


class TftpOpcode(IntEnum):
    """TFTP opcodes (RFC 1350, and OACK from RFC 2347)."""

    RRQ = 1
    WRQ = 2
    DATA = 3
    ACK = 4
    ERROR = 5
    OACK = 6


def parse_tftp_opcode(payload: bytes | bytearray | memoryview) -> TftpOpcode | None:
    """The opcode of a TFTP UDP payload; None when too short or not a known opcode."""
    if len(payload) < 2:
        return None
    code = (payload[0] << 8) | payload[1]
    try:
        return TftpOpcode(code)
    except ValueError:
        return None


def is_tftp_request(payload: bytes | bytearray | memoryview) -> bool:
    """A read or write request: opcode 1 or 2 followed by a NUL-terminated file name."""
    op = parse_tftp_opcode(payload)
    if op is not TftpOpcode.RRQ and op is not TftpOpcode.WRQ:
        return False
    return b"\0" in bytes(payload[2:])


def tftp_expectation_port(fwd_src_port: int) -> int:
    """The expected data connection's destination port: the client's request port.

    ``fwd_src_port`` is the source port of the parent connection's FWD key (as the
    client sent it, before any NAT); the expectation wildcards the source port because
    the server replies from a new one.
    """
    return fwd_src_port & 0xFFFF
