"""The connection tracker: the per-packet algorithm of a ct pass (spec §6).

:meth:`Conntrack.execute` is the datapath's ``ct(...)`` action: parse and validate, look
the packet up (either key of a connection, its zone included), run the protocol tracker,
create the connection on commit (zone and global limits, NAT tuple selection,
expectations), translate, write the ct metadata and exec writes, and run the ALG.  A fast
path handles established TCP over untagged IPv4.  The table and its housekeeping are in
:mod:`pyvswitch.conntrack.table`, operator functions in :mod:`pyvswitch.conntrack.ops`;
both are mixed into :class:`Conntrack`.

Layer: conntrack.  Imports: flow.layout, flow.ofpacts, coverage, and the conntrack
helpers.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from operator import itemgetter

from pyvswitch import coverage
from pyvswitch.conntrack.alg import (
    CTL_FTP,
    CTL_NONE,
    CTL_TFTP,
    HELPER_NAMES,
    alg_ctl_type,
    ftp_ctl,
    tftp_ctl,
    verify_helper,
)
from pyvswitch.conntrack.conn import (
    ICMP4_REVERSE,
    ICMP6_REVERSE,
    NAT_DST,
    NAT_SRC,
    UPDATE_INVALID,
    UPDATE_NEW,
    UPDATE_VALID,
    UPDATE_VALID_NEW,
    V6,
    AlgInfo,
    Conn,
    key_reverse,
)
from pyvswitch.conntrack.expect import Expectation
from pyvswitch.conntrack.ipf import IpfStatus
from pyvswitch.conntrack.nat import NatInfo, get_unique_tuple, nat_packet
from pyvswitch.conntrack.ops import ConntrackOps
from pyvswitch.conntrack.other import TRACKERS
from pyvswitch.conntrack.parse import extract
from pyvswitch.conntrack.table import FORCE_EXPIRED, ConnTable
from pyvswitch.conntrack.tcp import MAXACKWINDOW, bypass
from pyvswitch.flow.layout import (
    CT_IPV6_DST,
    CT_IPV6_SRC,
    CT_NW_DST,
    CT_NW_PROTO,
    CT_NW_SRC,
    CT_TP_DST,
    CT_TP_SRC,
    RECIRC_ID,
)
from pyvswitch.flow.ofpacts import Nat

log = logging.getLogger(__name__)

CS_NEW = 0x01
CS_ESTABLISHED = 0x02
CS_RELATED = 0x04
CS_REPLY_DIR = 0x08
CS_INVALID = 0x10
CS_TRACKED = 0x20
CS_SRC_NAT = 0x40
CS_DST_NAT = 0x80
_NAT_BITS = CS_SRC_NAT | CS_DST_NAT


_INVALID_CT = (CS_INVALID | CS_TRACKED, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
_EST_TRK = CS_ESTABLISHED | CS_TRACKED
_EST_TRK_RPL = CS_ESTABLISHED | CS_TRACKED | CS_REPLY_DIR
_from = int.from_bytes
# From the IPv4 total length to the TCP window: total length, frag word, addresses, ports,
# sequence, acknowledgement, data offset/flags, window.
_unpack_v4tcp = struct.Struct("!H2xH4xIIHHIIHH").unpack_from
# From the IPv4 total length to the UDP checksum.
_unpack_v4udp = struct.Struct("!H2xH4xIIHHHH").unpack_from


class CtResult(tuple):
    """The outcome of one ct pass: ``(ct, modified, packets)`` with named accessors.

    ``ct`` holds the new values of the flow slots CT_STATE .. CT_TP_DST (11 ints, layout
    order); ``modified`` says the packet bytes changed (NAT, FTP rewrite: re-extract the
    key); ``packets`` is None when this packet continues, ``[]`` when it was held (an IP
    fragment) and otherwise the original fragments that continue instead of it.  A tuple
    because building one is the cheapest object creation there is.
    """

    __slots__ = ()

    ct: tuple[int, ...] = property(itemgetter(0))  # type: ignore[assignment]
    modified: bool = property(itemgetter(1))  # type: ignore[assignment]
    packets: list[bytearray] | None = property(itemgetter(2))  # type: ignore[assignment]

    def __new__(cls, ct: tuple[int, ...], modified: bool = False,
                packets: list[bytearray] | None = None) -> CtResult:
        return tuple.__new__(cls, (ct, modified, packets))

    def __repr__(self) -> str:
        return f"CtResult(ct={self[0]!r}, modified={self[1]}, packets={self[2]!r})"


_tnew = tuple.__new__


def _orig_tuple(key: tuple[int, ...]) -> tuple[int, int, int, int, int, int, int]:
    """(ct_nw_proto, ct_nw_src, ct_nw_dst, ct_ipv6_src, ct_ipv6_dst, ct_tp_src, ct_tp_dst)."""
    l3p = key[1]
    proto = l3p & 0xFF
    if l3p == 1 or l3p == 58 | V6:
        tps = key[3] >> 16 & 0xFF
        tpd = key[3] >> 24 & 0xFF
    else:
        tps = key[3]
        tpd = key[5]
    if l3p & V6:
        return proto, 0, 0, key[2], key[4], tps, tpd
    return proto, key[2], key[4], 0, 0, tps, tpd


class Conntrack(ConnTable, ConntrackOps):
    """A userspace connection tracker (one per datapath)."""

    #: :meth:`execute` also takes its arguments positionally, in signature order (the
    #: datapath then saves the cost of eleven keywords per packet)
    positional_execute = True

    def execute(self, pkt: bytearray, flow: Sequence[int], zone: int, now: float,
                commit: bool = False, force: bool = False, nat: Nat | None = None,
                alg: int = 0, mark: tuple[int, int] | None = None,
                label: tuple[int, int] | None = None, l4_csum_good: bool = False,
                timeout_policy: str = "", l4_csum_partial: bool = False) -> CtResult:
        """Run ``pkt`` (with datapath key ``flow``) through the tracker in ``zone``.

        ``mark``/``label`` are ``(value, mask)`` writes of ``exec(...)``; ``alg`` is 0, 21
        (ftp) or 69 (tftp); ``timeout_policy`` names a policy (else the zone's).
        ``l4_csum_partial``: the L4 checksum is offloaded (the field holds the
        pseudo-header sum the device completes), so rewrites keep it in that form.  Never
        raises on any packet.
        """
        self._partial = l4_csum_partial
        state = flow[4]  # CT_STATE (literal indices: this is the hottest function)
        if state and flow[5] != zone:  # CT_ZONE
            state = 0
        n = len(pkt)
        # Fast path: an untagged, option-less, unfragmented IPv4 TCP packet of a plain
        # connection (no NAT to apply, no helper, no exec writes).  Anything unusual
        # falls through to the general path, which re-parses from scratch.
        if (n >= 54 and pkt[23] == 6 and pkt[14] == 0x45 and pkt[12] == 8 and pkt[13] == 0
                and not (state & 0xC0 or force or alg or mark or label)):
            tot, frag, src, dst, sport, dport, seq, ack, offfl, win = _unpack_v4tcp(pkt, 16)
            doff = (offfl >> 12) * 4
            end = 14 + tot
            if (not frag & 0x3FFF and 40 <= tot <= n - 14 and 20 <= doff <= tot - 20
                    and sport and dport and not _from(pkt[14:34], "big") % 0xFFFF
                    and (l4_csum_good or not (src + dst + 6 + tot - 20 + (
                        _from(pkt[34:end], "big") << 8 if tot & 1
                        else _from(pkt[34:end], "big"))) % 0xFFFF)):
                key = (zone, 6, src, sport, dst, dport)
                conn = self._conns.get(key)
                if (conn is not None and now < conn.exp and conn.alg is None
                        and (nat is None or not conn.nat)):
                    fwd = conn.fwd
                    reply = key != fwd
                    if (offfl & 0x17) == 0x10 and conn.st0 == 4 and conn.st1 == 4:  # type: ignore[attr-defined]
                        # An ACK without SYN/FIN/RST in an established connection: the
                        # specialised branch of TcpConn.track, inlined (the hottest path;
                        # test_ct_fastpath checks that both agree).
                        if reply:
                            slo, shi, sws_b = conn.lo1, conn.hi1, conn.ws1  # type: ignore[attr-defined]
                            dlo, dhi, dwin, dws_b = conn.lo0, conn.hi0, conn.win0, conn.ws0  # type: ignore[attr-defined]
                        else:
                            slo, shi, sws_b = conn.lo0, conn.hi0, conn.ws0  # type: ignore[attr-defined]
                            dlo, dhi, dwin, dws_b = conn.lo1, conn.hi1, conn.win1, conn.ws1  # type: ignore[attr-defined]
                        if sws_b & 0x80 and dws_b & 0x80:
                            sws = sws_b & 0x0F
                            dws = dws_b & 0x0F
                        elif sws_b & 0x40 and dws_b & 0x40:
                            sws = dws = 14
                        else:
                            sws = dws = 0
                        plen = tot - 20 - doff
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
                        ) or (not self.tcp_seq_chk and bypass()):
                            ws_ack = win << sws
                            if reply:
                                if conn.win1 < win:  # type: ignore[attr-defined]
                                    conn.win1 = win  # type: ignore[attr-defined]
                                if 0 < (end_seq - slo) & 0xFFFFFFFF < 0x80000000:
                                    conn.lo1 = end_seq  # type: ignore[attr-defined]
                                if (ack + ws_ack - dhi) & 0xFFFFFFFF < 0x80000000:
                                    conn.hi0 = (ack + (ws_ack or 1)) & 0xFFFFFFFF  # type: ignore[attr-defined]
                                state = (state | _EST_TRK_RPL) & ~CS_NEW
                            else:
                                if conn.win0 < win:  # type: ignore[attr-defined]
                                    conn.win0 = win  # type: ignore[attr-defined]
                                if 0 < (end_seq - slo) & 0xFFFFFFFF < 0x80000000:
                                    conn.lo0 = end_seq  # type: ignore[attr-defined]
                                if (ack + ws_ack - dhi) & 0xFFFFFFFF < 0x80000000:
                                    conn.hi1 = (ack + (ws_ack or 1)) & 0xFFFFFFFF  # type: ignore[attr-defined]
                                state = (state | _EST_TRK) & ~CS_NEW
                            conn.exp = now + conn.tmo[2]  # TM_TCP_ESTABLISHED
                        else:
                            coverage.inc("conntrack_tcp_seq_chk_failed")
                            state = CS_INVALID | CS_TRACKED
                        return _tnew(CtResult, ((state, zone, conn.mark, conn.label, 6, fwd[2],
                                                 fwd[4], 0, 0, fwd[3], fwd[5]), False, None))
                    res = conn.track(self.tcp_seq_chk, pkt, 34, seq, ack, offfl,  # type: ignore[attr-defined]
                                     win, tot - 20 - doff, reply, now)
                    if res == UPDATE_VALID:
                        state = (state | _EST_TRK) & ~CS_NEW
                        if reply:
                            state |= CS_REPLY_DIR
                    elif res == UPDATE_VALID_NEW:
                        state |= CS_NEW | CS_TRACKED
                    elif res == UPDATE_INVALID:
                        state = CS_INVALID | CS_TRACKED
                    else:
                        # TCP port reuse: the old entry is dead, start a new one.
                        if now < conn.exp:
                            conn.exp = FORCE_EXPIRED
                        return self._finish(pkt, state, zone, key, 14, 34, end, None, False,
                                            True, commit, nat, None,
                                            alg_ctl_type(6, sport, dport, None), None, None,
                                            now, timeout_policy, False)
                    return _tnew(CtResult, ((state, zone, conn.mark, conn.label, 6, fwd[2],
                                             fwd[4], 0, 0, fwd[3], fwd[5]), False, None))
                if (conn is None or not now < conn.exp) and type(pkt) is bytearray:
                    # No connection: what the general path would do after parsing the
                    # same key again (no NAT bits, no helper, no exec writes here).
                    return self._finish(pkt, state, zone, key, 14, 34, end, None, False, True,
                                        commit, nat, None,
                                        CTL_FTP if sport == 21 or dport == 21 else CTL_NONE,
                                        None, None, now, timeout_policy, False)
        elif (n >= 42 and pkt[23] == 17 and pkt[14] == 0x45 and pkt[12] == 8 and pkt[13] == 0
              and not (state & 0xC0 or force or alg or mark or label)
              and type(pkt) is bytearray):
            r = self._udp_fast(pkt, n, state, zone, commit, nat, now, l4_csum_good,
                               timeout_policy)
            if r is not None:
                return r
        if not isinstance(pkt, bytearray):
            # Read-only input: rewrites (NAT, FTP) then happen on a copy the caller never
            # sees, but the packet path must not fail.
            pkt = bytearray(pkt)
        if not (n >= 34 and pkt[12] == 8 and pkt[13] == 0 and not (pkt[20] & 0x3F or pkt[21])):
            ipf = self.ipf
            res = ipf.process(pkt, zone, flow[RECIRC_ID], now)
            status = res.status
            if status is not IpfStatus.NOT_FRAG:
                if status is IpfStatus.HELD:
                    return CtResult(_INVALID_CT, False, [])
                if status is IpfStatus.INVALID:
                    coverage.inc("conntrack_ipf_invalid")
                    return CtResult((CS_INVALID | CS_TRACKED, zone) + _INVALID_CT[2:])
                whole = res.reassembled
                if whole is None:
                    return CtResult((CS_INVALID | CS_TRACKED, zone) + _INVALID_CT[2:])
                # A fragment's checksum flag says nothing of the whole datagram's L4 sum.
                r = self._track(whole, flow, state, zone, commit, force, nat, alg, mark,
                                label, now, False, timeout_policy)
                ipf.postprocess(res.frags, whole)
                if ipf.nfrag:
                    ipf.expire(now)
                return CtResult(r.ct, True, res.frags)
            r = self._track(pkt, flow, state, zone, commit, force, nat, alg, mark, label, now,
                            l4_csum_good, timeout_policy)
            if ipf.nfrag:
                ipf.expire(now)
            return r
        r = self._track(pkt, flow, state, zone, commit, force, nat, alg, mark, label, now,
                        l4_csum_good, timeout_policy)
        if self.ipf.nfrag:
            self.ipf.expire(now)
        return r

    def _udp_fast(self, pkt: bytearray, n: int, state: int, zone: int, commit: bool,
                  nat: Nat | None, now: float, csum_good: bool, tp_name: str,
                  ) -> CtResult | None:
        """Untagged, option-less, unfragmented IPv4 UDP of a plain connection (or of
        none yet): the general path's verdict without its parse; None to take it."""
        tot, frag, src, dst, sport, dport, ulen, ucsum = _unpack_v4udp(pkt, 16)
        end = 14 + tot
        if (frag & 0x3FFF or not 28 <= tot <= n - 14 or not 8 <= ulen <= tot - 20
                or not sport or not dport or _from(pkt[14:34], "big") % 0xFFFF
                or (ucsum and not csum_good and (src + dst + 17 + tot - 20 + (
                    _from(pkt[34:end], "big") << 8 if tot & 1
                    else _from(pkt[34:end], "big"))) % 0xFFFF)):
            return None
        key = (zone, 17, src, sport, dst, dport)
        conn = self._conns.get(key)
        if conn is None or not now < conn.exp:
            return self._finish(pkt, state, zone, key, 14, 34, end, None, False, True, commit,
                                nat, None, CTL_TFTP if dport == 69 else CTL_NONE, None,
                                None, now, tp_name, False)
        if conn.alg is not None or (nat is not None and conn.nat):
            return None
        fwd = conn.fwd
        reply = key != fwd
        # OtherConn.update, inlined
        ost = conn.state  # type: ignore[attr-defined]
        if reply and ost != 2:
            ost = conn.state = 2  # type: ignore[attr-defined]
        elif not ost:
            ost = conn.state = 1  # type: ignore[attr-defined]
        conn.exp = now + conn.tmo[6 + ost]  # TM_OTHER_FIRST + state
        if ost == 2:
            state = (state | _EST_TRK_RPL if reply else state | _EST_TRK) & ~CS_NEW
        else:
            state |= CS_NEW | CS_TRACKED
        return _tnew(CtResult, ((state, zone, conn.mark, conn.label, 17, fwd[2], fwd[4], 0, 0,
                                 fwd[3], fwd[5]), False, None))

    def _track(self, pkt: bytearray, flow: Sequence[int], state: int, zone: int, commit: bool,
               force: bool, nat: Nat | None, alg: int, mark: tuple[int, int] | None,
               label: tuple[int, int] | None, now: float, csum_good: bool, tp_name: str,
               ) -> CtResult:
        parsed = extract(pkt, zone, csum_good)
        if parsed is None:
            coverage.inc("conntrack_invalid")
            return CtResult((CS_INVALID | CS_TRACKED, zone) + _INVALID_CT[2:])
        key, l3, l4, end, related = parsed
        pkt_key = key
        conns = self._conns
        reply = False
        modified = False
        if state & _NAT_BITS:
            # Already translated in this zone: find the connection by the reversed key.
            rkey = key_reverse(key)
            conn = conns.get(rkey)
            if conn is not None and now < conn.exp:
                reply = rkey == conn.fwd
                key = conn.rev if reply else conn.fwd
            else:
                conn = None
                coverage.inc("conntrack_lookup_natted_miss")
        else:
            conn = conns.get(key)
            if conn is not None:
                if now < conn.exp:
                    reply = key != conn.fwd
                else:
                    conn = None

        if force and reply and conn is not None:
            conn.exp = FORCE_EXPIRED
            conn = None

        helper = HELPER_NAMES.get(alg) if alg else None
        if helper is None and conn is not None and conn.alg is not None:
            helper = conn.alg.helper
        proto = key[1] & 0xFF
        ctl = CTL_NONE if related else alg_ctl_type(proto, pkt_key[3], pkt_key[5], helper)

        create_new = False
        if conn is not None:
            alg_info = conn.alg
            if (ctl == CTL_FTP and nat is not None and alg_info is not None
                    and alg_info.seq_skew):
                if reply != alg_info.skew_reply:
                    state, end, changed = ftp_ctl(self.exps, conn, pkt, l3, l4, end,
                                                  bool(key[1] & V6), reply, state, False, True,
                                                  self._partial)
                    modified |= changed
                    state, create_new = self._update_state(conn, state, pkt, l4, end, reply,
                                                           related, now)
                else:
                    state, create_new = self._update_state(conn, state, pkt, l4, end, reply,
                                                           related, now)
                    if not create_new:
                        state, end, changed = ftp_ctl(self.exps, conn, pkt, l3, l4, end,
                                                      bool(key[1] & V6), reply, state, False,
                                                      True, self._partial)
                        modified |= changed
            else:
                state, create_new = self._update_state(conn, state, pkt, l4, end, reply,
                                                       related, now)
            if nat is not None and not create_new and conn.nat and not state & _NAT_BITS:
                state |= nat_packet(pkt, l3, l4, end, conn, reply, related, self._partial)
                modified = True
        elif state & _NAT_BITS and nat is None and flow[CT_NW_PROTO]:
            conn = self._orig_tuple_lookup(key, flow, zone, now)
            if conn is not None:
                state, create_new = self._update_state(conn, state, pkt, l4, end, False,
                                                       related, now)
            elif related:
                state = CS_INVALID
            else:
                create_new = True
        elif related:
            # An ICMP error never creates a connection.
            state = CS_INVALID
        else:
            create_new = True

        return self._finish(pkt, state, zone, key, l3, l4, end, conn, reply, create_new,
                            commit, nat, helper, ctl, mark, label, now, tp_name, modified)

    def _finish(self, pkt: bytearray, state: int, zone: int, key: tuple[int, ...], l3: int,
                l4: int, end: int, conn: Conn | None, reply: bool, create_new: bool,
                commit: bool, nat: Nat | None, helper: str | None, ctl: int,
                mark: tuple[int, int] | None, label: tuple[int, int] | None, now: float,
                tp_name: str, modified: bool) -> CtResult:
        """Steps 7-10 of a pass: create the connection if needed, write the metadata."""
        exp: Expectation | None = None
        if create_new:
            exp = self.exps.lookup(key) if self.exps else None
            if not self._live(key, now):
                state, conn, changed = self._conn_not_found(
                    pkt, key, l3, l4, end, commit, nat, helper, ctl, exp, now, tp_name)
                modified |= changed

        state |= CS_TRACKED
        if conn is not None:
            info = conn.alg
            if mark is not None and not (info is not None and info.related):
                conn.mark = mark[0] | (conn.mark & ~mark[1] & 0xFFFFFFFF)
            if label is not None and not (info is not None and info.related):
                conn.label = label[0] | (conn.label & ~label[1] & ((1 << 128) - 1))
            cmark, clabel = conn.mark, conn.label
            okey = info.parent if info is not None and info.related else conn.fwd
            if ctl != CTL_NONE and info is not None and info.helper:
                if ctl == CTL_FTP:
                    state, end, changed = ftp_ctl(self.exps, conn, pkt, l3, l4, end,
                                                  bool(key[1] & V6), reply, state, True,
                                                  nat is not None, self._partial)
                    modified |= changed
                else:
                    tftp_ctl(self.exps, conn, state)
        elif exp is not None:
            cmark, clabel = exp.mark, exp.label
            okey = exp.parent
        else:
            cmark = clabel = 0
            okey = key
        assert okey is not None
        return CtResult((state, zone, cmark, clabel) + _orig_tuple(okey), modified)

    def _update_state(self, conn: Conn, state: int, pkt: bytearray, l4: int, end: int,
                      reply: bool, related: bool, now: float) -> tuple[int, bool]:
        """Apply the protocol tracker; returns (state, whether to create a new connection)."""
        if related:
            state |= CS_RELATED
            if reply:
                state |= CS_REPLY_DIR
            return state, False
        if conn.alg is not None and conn.alg.related:
            state |= CS_RELATED
        res = conn.update(self.tcp_seq_chk, pkt, l4, end, reply, now)  # type: ignore[attr-defined]
        if res == UPDATE_VALID:
            state = (state | CS_ESTABLISHED) & ~CS_NEW
            if reply:
                state |= CS_REPLY_DIR
        elif res == UPDATE_INVALID:
            state = CS_INVALID
        elif res == UPDATE_NEW:
            if now < conn.exp:
                conn.exp = FORCE_EXPIRED
            return state, True
        else:
            state |= CS_NEW
        return state, False

    def _orig_tuple_lookup(self, key: tuple[int, ...], flow: Sequence[int], zone: int,
                           now: float) -> Conn | None:
        """Find a NAT'ed packet's connection from the orig tuple a previous pass recorded."""
        l3p = key[1]
        v6 = bool(l3p & V6)
        oproto = flow[CT_NW_PROTO]
        if v6:
            src, dst = flow[CT_IPV6_SRC], flow[CT_IPV6_DST]
        else:
            src, dst = flow[CT_NW_SRC], flow[CT_NW_DST]
        if l3p == 1 or l3p == 58 | V6:
            itype = flow[CT_TP_SRC] & 0xFF
            rtype = (ICMP6_REVERSE if v6 else ICMP4_REVERSE).get(itype)
            if rtype is None:
                return None
            sport = (key[3] & 0xFFFF) | itype << 16
            dport = (key[5] & 0xFFFF) | rtype << 16
        else:
            sport, dport = flow[CT_TP_SRC], flow[CT_TP_DST]
        okey = (zone, oproto | (V6 if v6 else 0), src, sport, dst, dport)
        conn = self._conns.get(okey)
        if conn is not None and now < conn.exp:
            return conn
        return None

    def _conn_not_found(self, pkt: bytearray, key: tuple[int, ...], l3: int, l4: int, end: int,
                        commit: bool, nat: Nat | None, helper: str | None, ctl: int,
                        exp: Expectation | None, now: float, tp_name: str,
                        ) -> tuple[int, Conn | None, bool]:
        """A packet without a connection: new or invalid; with commit, create one."""
        cls = TRACKERS[key[1] & 0xFF]
        if not cls.valid_new(pkt, l4, end):
            coverage.inc("conntrack_invalid_new")
            return CS_INVALID, None, False
        state = CS_NEW | CS_RELATED if exp is not None else CS_NEW
        if not commit:
            return state, None, False
        zone = key[0]
        ok, zl = self.limits.admit(zone)
        if not ok:
            coverage.inc("conntrack_zone_full")
            return state, None, False
        if self.n_conns >= self.maxconns:
            coverage.inc("conntrack_full")
            return state, None, False
        tp = self._policy_for(zone, tp_name)
        nc = cls.create(pkt, l4, end, now, tp.t)
        nc.fwd = key
        nc.rev = key_reverse(key)
        nc.mark = 0
        nc.label = 0
        nc.nat = 0
        nc.alg = None
        nc.zl = zl
        if helper is not None and verify_helper(helper, ctl):
            nc.alg = AlgInfo()
            nc.alg.helper = helper
        if exp is not None:
            if nc.alg is None:
                nc.alg = AlgInfo()
            nc.alg.related = True
            nc.alg.parent = exp.parent
            nc.mark = exp.mark
            nc.label = exp.label
        modified = False
        if nat is not None:
            if exp is not None:
                rev = list(nc.rev)
                if exp.nat_rpl_dst:
                    rev[4] = exp.repl_addr
                    nc.nat = NAT_SRC
                else:
                    rev[2] = exp.repl_addr
                    nc.nat = NAT_DST
                nc.rev = tuple(rev)
            else:
                ni = NatInfo.from_nat(nat)
                nc.nat = ni.action
                if not get_unique_tuple(nc, ni, self.hash_basis, self._rng,
                                        lambda k: self._live(k, now)):
                    coverage.inc("conntrack_nat_exhausted")
                    log.warning("Unable to NAT due to tuple space exhaustion - if DoS attack, "
                                "use firewalling and/or zone partitioning.")
                    return state, None, False
            if nc.nat:
                state |= nat_packet(pkt, l3, l4, end, nc, False, False, self._partial)
                modified = True
        self._insert(nc, now)
        return state, nc, modified
