"""TCP tracking: handshake, data, close, RST, windows, pickup, port reuse (spec §7.3).

Expected verdicts were cross-checked against the real OVS 3.1 userspace datapath
(packet-ins of ``ct(commit,table=1)`` for the same packet sequences).
"""

import pytest

from pyvswitch import coverage
from pyvswitch.conntrack import Conntrack
from pyvswitch.flow import layout as L

from .ctutil import EST, EST_RPL, INV, NEW, A, B, TcpSession, dump, ip4, run, tcp


@pytest.fixture
def ct():
    return Conntrack(seed=1)


def state_of(ct, line_filter=""):
    lines = [line for line in dump(ct, now=0.0) if line_filter in line]
    assert len(lines) == 1
    return lines[0].split("protoinfo=(state=")[1].rstrip(")")


def test_handshake_data_and_close(ct):
    s = TcpSession(ct)
    syn, synack, ack = s.handshake()
    assert syn.ct[0] == NEW
    assert synack.ct[0] == EST_RPL
    assert ack.ct[0] == EST
    assert state_of(ct) == "ESTABLISHED"
    assert s.c2s("PA", b"GET /").ct[0] == EST
    assert s.s2c("PA", b"200 OK").ct[0] == EST_RPL
    assert s.c2s("FA").ct[0] == EST
    assert state_of(ct) == "CLOSING"
    assert s.s2c("FA").ct[0] == EST_RPL
    assert state_of(ct) == "TIME_WAIT"
    assert s.c2s("A").ct[0] == EST
    assert state_of(ct) == "TIME_WAIT"


def test_orig_tuple_metadata_on_both_directions(ct):
    s = TcpSession(ct, cport=41000, sport=8080)
    for r in s.handshake():
        assert r.ct[1:] == (0, 0, 0, 6, ip4(A), ip4(B), 0, 0, 41000, 8080)


def test_dump_shows_syn_sent_before_reply(ct):
    TcpSession(ct).c2s("S")
    assert dump(ct) == [
        "tcp,orig=(src=198.51.100.1,dst=198.51.100.2,sport=40000,dport=80),"
        "reply=(src=198.51.100.2,dst=198.51.100.1,sport=80,dport=40000),"
        "protoinfo=(state=SYN_SENT)"
    ]


def test_syn_retransmission_stays_new(ct):
    s = TcpSession(ct)
    assert s.c2s("S").ct[0] == NEW
    s.cseq -= 1
    assert s.c2s("S").ct[0] == NEW
    assert s.s2c("SA").ct[0] == EST_RPL


def test_synack_cannot_create(ct):
    r = run(ct, tcp(B, A, 80, 40000, "SA", 5000, 1001), commit=True)
    assert r.ct[0] == INV
    assert ct.get_nconns() == 0


@pytest.mark.parametrize("flags", ["SF", "SR", "", "F", "P", "U", "FP"])
def test_insane_flags_are_invalid(ct, flags):
    r = run(ct, tcp(A, B, 40000, 80, flags, 1000), commit=True)
    assert r.ct[0] == INV
    assert ct.get_nconns() == 0


def test_invalid_flags_on_existing_connection(ct):
    s = TcpSession(ct)
    s.handshake()
    assert s.c2s("SF").ct[0] == INV
    assert coverage.get("conntrack_invalid_tcp_flags") == 1


def test_lone_rst_and_finack_may_create(ct):
    assert run(ct, tcp(A, B, 1, 2, "R", 1000), commit=True).ct[0] == NEW
    assert run(ct, tcp(A, B, 3, 4, "FA", 1000, 5), commit=True).ct[0] == NEW
    assert ct.get_nconns() == 2


def test_midstream_pickup(ct):
    s = TcpSession(ct)
    assert s.c2s("PA", b"data").ct[0] == NEW
    assert s.s2c("A").ct[0] == EST_RPL
    assert s.s2c("PA", b"x" * 10).ct[0] == EST_RPL
    assert s.c2s("A").ct[0] == EST
    v = ct.dump_conntrack(verbose=True, now=0.0)[0]
    assert "flags_orig=BE_LIBERAL,flags_reply=BE_LIBERAL" in v


def test_rst_exact_sequence(ct):
    s = TcpSession(ct)
    s.handshake()
    s.sseq += 10
    assert s.s2c("R").ct[0] == INV  # 10 bytes beyond: not an exact match
    s.sseq -= 10
    assert s.s2c("R").ct[0] == EST_RPL
    assert state_of(ct) == "TIME_WAIT"


def test_out_of_window_data_is_invalid(ct):
    s = TcpSession(ct)
    s.handshake()
    s.cseq += 10_000_000
    assert s.c2s("PA", b"zz").ct[0] == INV
    assert coverage.get("conntrack_tcp_seq_chk_failed") == 1
    s.cseq -= 10_000_002
    assert s.c2s("A").ct[0] == EST


# The packet sequence of OVS's "conntrack - disable tcp sequence checking" test: the 4th
# packet (seq 0, ack 0, 8 bytes of data) is out of window.
SEQCHK_PACKETS = [
    ("c", "S", 0x59B5D93F, 0), ("s", "SA", 0x7C354684, 0x59B5D940),
    ("c", "A", 0x59B5D940, 0x7C354685), ("s", "PA", 0, 0, b"payload\n"),
    ("c", "A", 0x59B5D940, 0x7C35468D), ("s", "FA", 0x7C35468D, 0x59B5D940),
    ("c", "A", 0x59B5D940, 0x7C35468E), ("c", "FA", 0x59B5D940, 0x7C35468E),
    ("s", "A", 0x7C35468E, 0x59B5D941),
]


def _seqchk_verdicts(ct):
    out = []
    for side, flags, seq, ack, *payload in SEQCHK_PACKETS:
        mss = [("MSS", 1460)] if "S" in flags else []
        if side == "c":
            pkt = tcp(A, B, 1, 2, flags, seq, ack, window=0x7210, options=mss,
                      payload=payload[0] if payload else b"")
        else:
            pkt = tcp(B, A, 2, 1, flags, seq, ack, window=0x7210, options=mss,
                      payload=payload[0] if payload else b"")
        out.append(run(ct, pkt, commit=side == "c").ct[0])
    return out


def test_sequence_check_toggle(ct):
    assert _seqchk_verdicts(ct) == [NEW, EST_RPL, EST, INV, EST, EST_RPL, EST, EST, EST_RPL]
    ct.flush(now=0.0)
    ct.set_tcp_seq_chk(False)
    assert not ct.get_tcp_seq_chk()
    assert INV not in _seqchk_verdicts(ct)
    assert coverage.get("conntrack_tcp_seq_chk_bypass") >= 1
    ct.flush(now=0.0)
    ct.set_tcp_seq_chk(True)
    assert _seqchk_verdicts(ct).count(INV) == 1


def test_flags_still_checked_without_sequence_checks(ct):
    ct.set_tcp_seq_chk(False)
    s = TcpSession(ct)
    s.handshake()
    assert s.c2s("SF").ct[0] == INV


def test_port_reuse_after_full_close(ct):
    s = TcpSession(ct)
    s.handshake()
    s.c2s("FA")
    s.s2c("FA")
    s.c2s("A")
    assert ct.get_nconns() == 1
    s2 = TcpSession(ct, iss_c=90000, iss_s=70000)
    assert s2.c2s("S").ct[0] == NEW
    assert state_of(ct) == "SYN_SENT"
    assert s2.s2c("SA").ct[0] == EST_RPL
    # The old entry is expired at once, the new one replaces it.
    assert ct.get_nconns() == 2
    ct.sweep(0.0)
    assert ct.get_nconns() == 1


def test_port_reuse_without_commit_leaves_no_entry(ct):
    s = TcpSession(ct)
    s.handshake()
    s.c2s("FA")
    s.s2c("FA")
    s.c2s("A")
    s2 = TcpSession(ct, iss_c=90000)
    assert s2.c2s("S", commit=False).ct[0] == NEW
    assert dump(ct) == []


def test_syn_in_established_connection_fails_window(ct):
    s = TcpSession(ct)
    s.handshake()
    s2 = TcpSession(ct, iss_c=777_777_777)
    assert s2.c2s("S").ct[0] == INV


def test_window_scaling_in_verbose_dump(ct):
    s = TcpSession(ct)
    run(ct, tcp(A, B, 40000, 80, "S", 1000, options=[("WScale", 7)]), commit=True)
    r = run(ct, tcp(B, A, 80, 40000, "SA", 5000, 1001, options=[("WScale", 3)]), commit=True)
    assert r.ct[0] == EST_RPL
    del s
    assert ct.dump_conntrack(verbose=True, now=0.0) == [
        "tcp,orig=(src=198.51.100.1,dst=198.51.100.2,sport=40000,dport=80),"
        "reply=(src=198.51.100.2,dst=198.51.100.1,sport=80,dport=40000),id=0,status=0,"
        "protoinfo=(state_orig=ESTABLISHED,state_reply=SYN_SENT,wscale_orig=7,wscale_reply=3,"
        "flags_orig=WINDOW_SCALE,flags_reply=WINDOW_SCALE)"
    ]


def test_scaled_windows_accept_large_offsets(ct):
    # With scale 7 on both sides a 64 KiB window field means 8 MiB of sequence space.
    run(ct, tcp(A, B, 40000, 80, "S", 1000, window=65535, options=[("WScale", 7)]),
        commit=True)
    run(ct, tcp(B, A, 80, 40000, "SA", 5000, 1001, window=65535,
                options=[("WScale", 7)]), commit=True)
    assert run(ct, tcp(A, B, 40000, 80, "A", 1001, 5001, window=65535),
               commit=True).ct[0] == EST
    # The server's first scaled window opens 8 MiB for the client.
    assert run(ct, tcp(B, A, 80, 40000, "A", 5001, 1001, window=65535),
               commit=True).ct[0] == EST_RPL
    far = tcp(A, B, 40000, 80, "PA", 1001 + 4_000_000, 5001, window=65535, payload=b"x")
    assert run(ct, far, commit=True).ct[0] == EST


def test_unscaled_peer_disables_scaling(ct):
    run(ct, tcp(A, B, 40000, 80, "S", 1000, options=[("WScale", 7)]), commit=True)
    run(ct, tcp(B, A, 80, 40000, "SA", 5000, 1001), commit=True)
    run(ct, tcp(B, A, 80, 40000, "A", 5001, 1001, window=65535), commit=True)
    far = tcp(A, B, 40000, 80, "PA", 1001 + 4_000_000, 5001, payload=b"x")
    assert run(ct, far, commit=True).ct[0] == INV
    v = ct.dump_conntrack(verbose=True, now=0.0)[0]
    assert "wscale" not in v and "flags_orig=0,flags_reply=0" in v


def test_second_ct_pass_same_zone_is_a_retransmission(ct):
    s = TcpSession(ct)
    s.handshake()
    pkt = tcp(A, B, 40000, 80, "PA", s.cseq, s.sseq, payload=b"abc")
    first = run(ct, pkt, commit=True)
    second = run(ct, pkt, commit=True, prev=first)
    assert first.ct[0] == second.ct[0] == EST


@pytest.mark.parametrize("tm,state_after,advance", [
    ("syn_sent", "SYN_SENT", 30),
    ("established", "ESTABLISHED", 86400),
])
def test_tcp_expiry(ct, tm, state_after, advance):
    s = TcpSession(ct)
    if tm == "syn_sent":
        s.c2s("S")
    else:
        s.handshake()
    assert state_of(ct) == state_after
    assert dump(ct, now=advance - 0.001)
    assert dump(ct, now=advance) == []
    assert ct.get_nconns() == 1
    ct.sweep(advance)
    assert ct.get_nconns() == 0


def test_closing_timers(ct):
    s = TcpSession(ct)
    s.handshake()
    s.c2s("FA")  # one side closing: tcp_fin_wait (900 s)
    assert dump(ct, now=899.9) and not dump(ct, now=900.0)
    s.s2c("A")  # first FIN acked: FIN_WAIT_2 vs ESTABLISHED is still "closing"
    assert dump(ct, now=899.9) and not dump(ct, now=900.0)
    s.s2c("FA")  # both closing: tcp_time_wait (45 s)
    assert dump(ct, now=44.9) and not dump(ct, now=45.0)
    s.c2s("A")  # both FIN_WAIT_2: tcp_close (30 s)
    assert dump(ct, now=29.9) and not dump(ct, now=30.0)


def test_loose_path_does_not_refresh(ct):
    s = TcpSession(ct)
    s.handshake()
    s.c2s("FA")
    s.s2c("FA")
    s.c2s("A")
    # Junk right after the close, beyond the window, is accepted loosely without
    # refreshing the timer.
    junk = tcp(B, A, 80, 40000, "PA", s.sseq + 10_000, s.cseq, payload=b"j")
    assert run(ct, junk, commit=True, now=20.0).ct[0] == EST_RPL
    assert dump(ct, now=29.9) and not dump(ct, now=30.0)
    # An in-window packet does refresh it.
    assert s.s2c("A").ct[0] == EST_RPL


def test_tcp_over_ipv6(ct):
    s = TcpSession(ct, cli="2001:db8::1", srv="2001:db8::2")
    syn, synack, ack = s.handshake()
    assert (syn.ct[0], synack.ct[0], ack.ct[0]) == (NEW, EST_RPL, EST)
    assert syn.ct[4:] == (6, 0, 0, 0x20010DB8 << 96 | 1, 0x20010DB8 << 96 | 2, 40000, 80)
    assert dump(ct)[0].startswith(
        "tcp,orig=(src=2001:db8::1,dst=2001:db8::2,sport=40000,dport=80),"
        "reply=(src=2001:db8::2,dst=2001:db8::1,sport=80,dport=40000)")


def test_bad_tcp_checksum_is_invalid_unless_marked_good(ct):
    pkt = tcp(A, B, 40000, 80, "S", 1000)
    pkt[50] ^= 0xFF  # the checksum field
    assert run(ct, pkt, commit=True).ct[0] == INV
    assert coverage.get("conntrack_l4csum_err") == 1
    assert run(ct, pkt, commit=True, l4_csum_good=True).ct[0] == NEW


def test_tcp_port_zero_is_invalid(ct):
    assert run(ct, tcp(A, B, 0, 80, "S"), commit=True).ct[0] == INV


def test_invalid_packet_of_connection_reports_its_metadata(ct):
    s = TcpSession(ct)
    s.handshake()
    r = s.c2s("SF")
    assert r.ct[0] == INV
    assert r.ct[L.CT_NW_PROTO - L.CT_STATE] == 6
