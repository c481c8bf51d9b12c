"""The tracker's ALG hooks: FTP and TFTP control connections (spec §8.2-§8.4).

The parsing and rewriting are pure helpers (:mod:`pyvswitch.conntrack.alg_ftp`,
:mod:`pyvswitch.conntrack.alg_tftp`); this module applies them to a tracked packet:

* which helper a packet gets (:func:`alg_ctl_type`): the ``alg=`` of the ct action, else
  the helper stored on its connection, else the port heuristics (TCP port 21 either way,
  UDP destination port 69); expectations are only ever created for connections that
  were committed with a helper;
* :func:`ftp_ctl` -- for a message of interest: validate the announced address, create
  the expectation, and with ``nat`` rewrite the address text and record the sequence
  skew; for every packet of a NAT'ed control connection: apply the skew;
* :func:`tftp_ctl` -- every packet (re)creates the expectation of the server's answer.

Layer: conntrack.  Imports: conntrack.alg_ftp, conntrack.alg_tftp, conntrack.conn,
conntrack.expect.
"""

from __future__ import annotations

import logging

from pyvswitch import coverage
from pyvswitch.conntrack.alg_ftp import (
    INVALID,
    apply_seq_skew,
    fix_tcp_checksum,
    ftp_address_allowed,
    ftp_nat_address,
    parse_ftp_message,
    rewrite_ftp_packet,
    tcp_payload_offset,
)
from pyvswitch.conntrack.alg_tftp import tftp_expectation_port
from pyvswitch.conntrack.conn import K_DST, K_SPORT, K_SRC, Conn
from pyvswitch.conntrack.expect import Expectations

log = logging.getLogger(__name__)

CTL_NONE = 0
CTL_FTP = 21
CTL_TFTP = 69

CS_REPLY_DIR = 0x08
CS_INVALID = 0x10
CS_TRACKED = 0x20

#: helper names by the ``alg`` number of a ct action
HELPER_NAMES = {21: "ftp", 69: "tftp"}


def alg_ctl_type(proto: int, sport: int, dport: int, helper: str | None) -> int:
    """Which ALG (if any) a packet with these L4 values gets (OVS ``get_alg_ctl_type``)."""
    if helper:
        if proto == 6 and helper.startswith("ftp"):
            return CTL_FTP
        if proto == 17 and helper.startswith("tftp"):
            return CTL_TFTP
    if proto == 17 and dport == 69:
        return CTL_TFTP
    if proto == 6 and (sport == 21 or dport == 21):
        return CTL_FTP
    return CTL_NONE


def verify_helper(helper: str | None, ctl: int) -> bool:
    """May a new connection record ``helper``?  (Never for a mere port guess.)"""
    if ctl == CTL_NONE:
        return True
    if helper is None:
        return False
    if ctl == CTL_FTP:
        return helper.startswith("ftp")
    return helper.startswith("tftp")


def ftp_interest(pkt: bytearray, l4: int, end: int, v6: bool) -> bool:
    """Does the TCP payload hold an FTP message announcing a data connection?"""
    start = tcp_payload_offset(pkt, l4)
    return parse_ftp_message(pkt[start:end], False, v6) is not None


def ftp_ctl(exps: Expectations, conn: Conn, pkt: bytearray, l3: int, l4: int, end: int,
            v6: bool, reply: bool, state: int, interest: bool, nat: bool,
            partial: bool = False) -> tuple[int, int, bool]:
    """Run the FTP helper on a control packet; returns ``(state, end, bytes changed)``.

    ``interest`` selects the pass: True after tracking (messages announcing a data
    connection: expectation, NAT rewrite), False around tracking (other packets: only
    the sequence skew).  A packet whose kind does not fit the pass is left alone.
    ``partial``: the TCP checksum is offloaded (see ``fix_tcp_checksum``).
    """
    start = tcp_payload_offset(pkt, l4)
    msg = parse_ftp_message(pkt[start:end], reply, v6)
    if (msg is not None) != interest:
        return state, end, False
    alg = conn.alg
    delta = 0
    changed = False
    if msg is not None:
        fwd, rev = conn.fwd, conn.rev
        if msg is INVALID or not ftp_address_allowed(
            msg, fwd[K_SRC], fwd[K_DST], rev[K_SRC], rev[K_DST]
        ):
            coverage.inc("conntrack_ftp_invalid")
            log.warning("Invalid FTP control packet format")
            return state | CS_TRACKED | CS_INVALID, end, False
        exps.create(msg.port, conn, bool(state & CS_REPLY_DIR))
        if nat:
            new_addr = ftp_nat_address(msg, fwd[K_DST], rev[K_DST])
            if not v6 or msg.kind.active:
                delta = rewrite_ftp_packet(
                    pkt, l3, l4, 0x86DD if v6 else 0x0800, msg, new_addr
                )
                changed = msg.addr_span is not None
                end += delta
    if nat and alg is not None and alg.seq_skew:
        apply_seq_skew(pkt, l4, alg.seq_skew, reply == alg.skew_reply)
        changed = True
    if changed:
        fix_tcp_checksum(pkt, l3, l4, end, 0x86DD if v6 else 0x0800, partial)
    if delta and alg is not None:
        alg.seq_skew += delta
        alg.skew_reply = reply
    return state, end, changed


def tftp_ctl(exps: Expectations, conn: Conn, state: int) -> None:
    """Expect the server's answer to the client's request port."""
    exps.create(tftp_expectation_port(conn.fwd[K_SPORT]), conn, bool(state & CS_REPLY_DIR))
