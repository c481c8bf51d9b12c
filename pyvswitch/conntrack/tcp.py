"""TCP connection tracking with pf-style sequence window checks (spec §7.3).

Each direction ("peer") keeps ``lo`` (highest sequence number sent + 1), ``hi`` (highest
sequence number the other side may send: its ack + window), ``win`` (largest unscaled
window seen, 16 bits), ``ws`` (window-scale byte: 0x80 = option seen, 0x40 = unknown, so
be liberal; low nibble = shift) and ``st``, a state from :data:`TCP_STATE_NAMES`.  Peer 0
is the connection's orig direction, peer 1 the reply direction.  All sequence arithmetic
is modulo 2**32.

The rules are OpenBSD pf's as the OVS userspace tracker applies them: a connection may be
picked up mid-stream (both peers are then "unknown" and windows are taken at the maximum
scale), a SYN retransmission keeps the connection new, a SYN after both sides closed
reuses the ports, and a loose path accepts packets just outside the window without
refreshing the timer (shotgunned SYNs, streams picked up after a restart, junk after a
close).  Sequence checking can be switched off tracker-wide.

Layer: conntrack.  Imports: conntrack.conn, coverage.
"""

from __future__ import annotations

import struct

from pyvswitch import coverage
from pyvswitch.conntrack.conn import (
    TM_TCP_CLOSED,
    TM_TCP_CLOSING,
    TM_TCP_ESTABLISHED,
    TM_TCP_FIN_WAIT,
    TM_TCP_FIRST_PACKET,
    TM_TCP_OPENING,
    UPDATE_INVALID,
    UPDATE_NEW,
    UPDATE_VALID,
    UPDATE_VALID_NEW,
    Conn,
)

FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20

# Peer states (OVS enum ct_dpif_tcp_state); userspace only uses 0, 2, 4, 7, 9 and 10.
CLOSED, LISTEN, SYN_SENT, SYN_RECV, ESTABLISHED = 0, 1, 2, 3, 4
CLOSE_WAIT, FIN_WAIT_1, CLOSING, LAST_ACK, FIN_WAIT_2, TIME_WAIT = 5, 6, 7, 8, 9, 10
TCP_STATE_NAMES = (
    "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT_1",
    "CLOSING", "LAST_ACK", "FIN_WAIT_2", "TIME_WAIT",
)

WS_FLAG = 0x80
WS_UNKNOWN = 0x40
WS_MASK = 0x0F
MAX_WSCALE = 14
MAXACKWINDOW = 0xFFFF + 1500
M32 = 0xFFFFFFFF
_HALF = 0x80000000

_SEQ = struct.Struct("!IIHH")  # seq, ack, data offset/flags, window (at l4 + 4)


def _flags_invalid(flags: int) -> bool:
    if flags & SYN:
        if flags & (RST | FIN):
            return True
    elif not flags & (ACK | RST):
        return True
    return not flags & ACK and bool(flags & (FIN | PSH | URG))


#: indexed by the 12 TCP flag bits: 1 if the combination is never acceptable
INVALID_FLAGS = bytes(_flags_invalid(f) for f in range(0x1000))


def get_wscale(pkt: bytearray | bytes, l4: int, doff: int) -> int:
    """The window-scale byte (WS_FLAG | shift) from a SYN's options, 0 if absent."""
    n = doff - 20
    i = l4 + 20
    ws = 0
    while n >= 3:
        kind = pkt[i]
        if kind == 0:
            return ws
        if kind == 1:
            i += 1
            n -= 1
            continue
        if kind == 3:
            ws = min(pkt[i + 2], MAX_WSCALE) | WS_FLAG
        optlen = pkt[i + 1]
        if optlen < 2:
            optlen = 2
        n -= optlen
        i += optlen
    return ws


def tcp_valid_new(pkt: bytearray | bytes, l4: int, end: int) -> bool:
    """May this packet start a connection?  Any sane flags except SYN+ACK."""
    flags = (pkt[l4 + 12] << 8 | pkt[l4 + 13]) & 0xFFF
    return not INVALID_FLAGS[flags] and (flags & (SYN | ACK)) != (SYN | ACK)


class TcpConn(Conn):
    """A TCP connection: the common entry plus both peers' window-tracking state."""

    __slots__ = ("lo0", "hi0", "win0", "ws0", "st0", "lo1", "hi1", "win1", "ws1", "st1")

    valid_new = staticmethod(tcp_valid_new)

    @classmethod
    def create(cls, pkt: bytearray | bytes, l4: int, end: int, now: float,
               tmo: list[int]) -> TcpConn:
        """The connection for a committing packet (orig peer SYN_SENT, reply peer CLOSED)."""
        c = cls()
        seq, _ack, offfl, win = _SEQ.unpack_from(pkt, l4 + 4)
        flags = offfl & 0xFFF
        doff = (offfl >> 12) * 4
        hi = seq + (end - l4 - doff) + 1
        if flags & SYN:
            hi += 1
            c.ws0 = get_wscale(pkt, l4, doff)
            c.ws1 = 0
        else:
            c.ws0 = c.ws1 = WS_UNKNOWN
        win = win or 1
        if c.ws0 & WS_MASK:
            shift = c.ws0 & WS_MASK
            win = (win + (1 << shift) - 1) >> shift
        if flags & FIN:
            hi += 1
        c.lo0 = seq
        c.hi0 = hi & M32
        c.win0 = win
        c.st0 = SYN_SENT
        c.lo1 = 0
        c.hi1 = 1
        c.win1 = 1
        c.st1 = CLOSED
        c.tmo = tmo
        c.exp = now + tmo[TM_TCP_FIRST_PACKET]
        return c

    def update(self, seq_chk: bool, pkt: bytearray | bytes, l4: int, end: int,
               reply: bool, now: float) -> int:
        """Track one packet of this connection; returns an UPDATE_* verdict."""
        seq, ack, offfl, win = _SEQ.unpack_from(pkt, l4 + 4)
        return self.track(seq_chk, pkt, l4, seq, ack, offfl, win,
                          end - l4 - (offfl >> 12) * 4, reply, now)

    def track(self, seq_chk: bool, pkt: bytearray | bytes, l4: int, seq: int, ack: int,
              offfl: int, win: int, plen: int, reply: bool, now: float) -> int:
        """:meth:`update` with the TCP header fields already unpacked (the fast path)."""
        flags = offfl & 0xFFF
        if INVALID_FLAGS[flags]:
            coverage.inc("conntrack_invalid_tcp_flags")
            return UPDATE_INVALID
        if (flags & 0x17) == 0x10 and self.st0 == 4 and self.st1 == 4:
            # The common case, specialised: an ACK (no SYN/FIN/RST) in an established
            # connection.  Same rules as below with the branches that cannot apply
            # removed; the loose path cannot apply either (both peers ESTABLISHED).
            if reply:
                slo, shi, sws_b, dlo, dhi, dwin, dws_b = (
                    self.lo1, self.hi1, self.ws1, self.lo0, self.hi0, self.win0, self.ws0)
            else:
                slo, shi, sws_b, dlo, dhi, dwin, dws_b = (
                    self.lo0, self.hi0, self.ws0, self.lo1, self.hi1, self.win1, self.ws1)
            if sws_b & 0x80 and dws_b & 0x80:
                sws = sws_b & 0x0F
                dws = dws_b & 0x0F
            elif sws_b & 0x40 and dws_b & 0x40:
                sws = dws = 14
            else:
                sws = dws = 0
            if plen:
                end_seq = (seq + plen) & 0xFFFFFFFF
            else:
                seq = end_seq = slo
            ackskew = (dlo - ack) & 0xFFFFFFFF
            if ackskew >= 0x80000000:
                ackskew -= 0x100000000
            if (
                (shi - end_seq) & 0xFFFFFFFF < 0x80000000
                and (seq - slo + (dwin << dws)) & 0xFFFFFFFF < 0x80000000
                and -MAXACKWINDOW <= ackskew <= MAXACKWINDOW << sws
            ) or (not seq_chk and bypass()):
                ws_ack = win << sws
                if reply:
                    if self.win1 < win:
                        self.win1 = win
                    if 0 < (end_seq - slo) & 0xFFFFFFFF < 0x80000000:
                        self.lo1 = end_seq
                    if (ack + ws_ack - dhi) & 0xFFFFFFFF < 0x80000000:
                        self.hi0 = (ack + (ws_ack or 1)) & 0xFFFFFFFF
                else:
                    if self.win0 < win:
                        self.win0 = win
                    if 0 < (end_seq - slo) & 0xFFFFFFFF < 0x80000000:
                        self.lo0 = end_seq
                    if (ack + ws_ack - dhi) & 0xFFFFFFFF < 0x80000000:
                        self.hi1 = (ack + (ws_ack or 1)) & 0xFFFFFFFF
                self.exp = now + self.tmo[TM_TCP_ESTABLISHED]
                return UPDATE_VALID
            coverage.inc("conntrack_tcp_seq_chk_failed")
            return UPDATE_INVALID
        return self._track(seq_chk, pkt, l4, seq, ack, flags, offfl, win, plen, reply, now)

    def _track(self, seq_chk: bool, pkt: bytearray | bytes, l4: int, seq: int, ack: int,
               flags: int, offfl: int, win: int, plen: int, reply: bool, now: float) -> int:
        """The general rules (every state, every flag combination)."""
        if reply:
            slo, shi, swin, sws_b, sst = self.lo1, self.hi1, self.win1, self.ws1, self.st1
            dlo, dhi, dwin, dws_b, dst = self.lo0, self.hi0, self.win0, self.ws0, self.st0
        else:
            slo, shi, swin, sws_b, sst = self.lo0, self.hi0, self.win0, self.ws0, self.st0
            dlo, dhi, dwin, dws_b, dst = self.lo1, self.hi1, self.win1, self.ws1, self.st1

        if flags & SYN:
            if not flags & ACK:
                if dst >= FIN_WAIT_2 and sst >= FIN_WAIT_2:
                    self.st0 = self.st1 = CLOSED
                    return UPDATE_NEW
                if sst <= SYN_SENT:
                    if reply:
                        self.st1 = SYN_SENT
                    else:
                        self.st0 = SYN_SENT
                    self.exp = now + self.tmo[TM_TCP_FIRST_PACKET]
                    return UPDATE_VALID_NEW
            sws = dws = 0
        elif sws_b & WS_FLAG and dws_b & WS_FLAG:
            sws = sws_b & WS_MASK
            dws = dws_b & WS_MASK
        elif sws_b & WS_UNKNOWN and dws_b & WS_UNKNOWN:
            sws = dws = MAX_WSCALE
        else:
            sws = dws = 0

        orig_seq = seq
        check_ackskew = True
        full = False
        if sst < SYN_SENT:
            # First packet from this end (normally the SYN-ACK): set its state.
            full = True
            end_seq = seq + plen
            if flags & SYN:
                end_seq += 1
                if dws_b & WS_FLAG:
                    sws_b = get_wscale(pkt, l4, (offfl >> 12) * 4)
                    if sws_b & WS_FLAG:
                        sws = sws_b & WS_MASK
                        win = (win + (1 << sws) - 1) >> sws
                        dws = dws_b & WS_MASK
                    else:
                        # The other side offered scaling, this one did not: undo it.
                        dwin = (dwin << (dws_b & WS_MASK)) & 0xFFFF
                        dws_b = 0
            if flags & FIN:
                end_seq += 1
            end_seq &= M32
            slo = seq
            sst = SYN_SENT
            wnd = (end_seq + max(1, dwin << dws)) & M32
            if shi == 1 or (wnd - shi) & M32 < _HALF:
                shi = wnd
                # Picking up a new or already running connection: no ack skew check.
                check_ackskew = False
            if win > swin:
                swin = win
        elif flags & (SYN | FIN):
            end_seq = (seq + plen + (1 if flags & SYN else 0) + (flags & FIN)) & M32
        else:
            end_seq = (seq + plen) & M32

        if not flags & ACK or (not ack and flags & RST):
            ack = dlo

        if seq == end_seq:
            # Ease sequencing restrictions on packets without data.
            seq = end_seq = slo

        if check_ackskew:
            ackskew = (dlo - ack) & M32
            if ackskew >= _HALF:
                ackskew -= 0x100000000
        else:
            ackskew = 0

        if (
            (shi - end_seq) & M32 < _HALF
            and (seq - slo + (dwin << dws)) & M32 < _HALF
            and -MAXACKWINDOW <= ackskew <= MAXACKWINDOW << sws
            and (not flags & RST or orig_seq == slo or orig_seq == (slo + 1) & M32
                 or (orig_seq + 1) & M32 == slo)
        ) or (not seq_chk and bypass()):
            if swin < win:
                swin = win
            if 0 < (end_seq - slo) & M32 < _HALF:
                slo = end_seq
            ws_ack = win << sws
            if (ack + ws_ack - dhi) & M32 < _HALF:
                dhi = (ack + (ws_ack or 1)) & M32
            if flags & (SYN | FIN | RST):
                if flags & SYN and sst < SYN_SENT:
                    sst = SYN_SENT
                if flags & FIN and sst < CLOSING:
                    sst = CLOSING
            if flags & ACK:
                if dst == SYN_SENT:
                    dst = ESTABLISHED
                elif dst == CLOSING:
                    dst = FIN_WAIT_2
            if flags & RST:
                sst = dst = TIME_WAIT
            self.exp = now + self.tmo[_TIMERS[sst * 11 + dst]]
            res = UPDATE_VALID
        elif (
            (dst < SYN_SENT or dst >= FIN_WAIT_2 or sst >= FIN_WAIT_2)
            and (shi + MAXACKWINDOW - end_seq) & M32 < _HALF
            and (seq - slo + MAXACKWINDOW) & M32 < _HALF
        ):
            # Loose acceptance: no timer refresh, so a flood cannot keep state alive.
            if swin < win:
                swin = win
            if 0 < (end_seq - slo) & M32 < _HALF:
                slo = end_seq
            ws_ack = win << sws
            if (ack + ws_ack - dhi) & M32 < _HALF:
                dhi = (ack + (ws_ack or 1)) & M32
            if flags & FIN and sst < CLOSING:
                sst = CLOSING
            if flags & RST:
                sst = dst = TIME_WAIT
            res = UPDATE_VALID
        else:
            coverage.inc("conntrack_tcp_seq_chk_failed")
            res = UPDATE_INVALID

        if reply:
            self.lo1 = slo
            self.win1 = swin
            self.st1 = sst
            self.hi0 = dhi
            self.st0 = dst
            if full:
                self.hi1 = shi
                self.ws1 = sws_b
                self.win0 = dwin
                self.ws0 = dws_b
        else:
            self.lo0 = slo
            self.win0 = swin
            self.st0 = sst
            self.hi1 = dhi
            self.st1 = dst
            if full:
                self.hi0 = shi
                self.ws0 = sws_b
                self.win1 = dwin
                self.ws1 = dws_b
        return res

    def protoinfo(self) -> tuple[int, int, int, int, int, int]:
        """(state_orig, state_reply, wscale_orig, wscale_reply, flags_orig, flags_reply).

        Flags use OVS's CT_DPIF_TCPF bits: 1 = WINDOW_SCALE, 8 = BE_LIBERAL.
        """
        return (
            self.st0, self.st1, self.ws0 & WS_MASK, self.ws1 & WS_MASK,
            _peer_flags(self.ws0), _peer_flags(self.ws1),
        )


def _timer(sst: int, dst: int) -> int:
    """The timeout kind after a valid packet, from the two peers' states."""
    if sst >= FIN_WAIT_2 and dst >= FIN_WAIT_2:
        return TM_TCP_CLOSED
    if sst >= CLOSING and dst >= CLOSING:
        return TM_TCP_FIN_WAIT
    if sst < ESTABLISHED or dst < ESTABLISHED:
        return TM_TCP_OPENING
    if sst >= CLOSING or dst >= CLOSING:
        return TM_TCP_CLOSING
    return TM_TCP_ESTABLISHED


#: _timer for every pair of states, indexed by ``src * 11 + dst``
_TIMERS = tuple(_timer(a, b) for a in range(11) for b in range(11))


def _peer_flags(ws: int) -> int:
    return (1 if ws & WS_FLAG else 0) | (8 if ws & WS_UNKNOWN else 0)


def bypass() -> bool:
    """Sequence checking is off: count it and accept."""
    coverage.inc("conntrack_tcp_seq_chk_bypass")
    return True

