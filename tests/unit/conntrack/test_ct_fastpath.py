"""The fast paths agree with the general one.

Untagged IPv4 TCP takes ``Conntrack.execute``'s inlined fast path (and ``TcpConn.track``'s
established-ACK shortcut, and the shortcut to a new connection without parsing again);
the same packets with a VLAN tag take the general path, here with the TCP shortcut
disabled too.  Random TCP conversations must give the same verdicts and the same
per-peer window state in both trackers.  Untagged IPv4 UDP has its own shortcut, checked
the same way.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.conntrack import Conntrack
from pyvswitch.conntrack import tracker as tracker_mod
from pyvswitch.conntrack.other import TRACKERS
from pyvswitch.conntrack.tcp import TcpConn

from .ctutil import A, B, flow_of, tcp, udp

_PEER = ("lo0", "hi0", "win0", "ws0", "st0", "lo1", "hi1", "win1", "ws1", "st1")


class GeneralTcp(TcpConn):
    """TcpConn without the established-ACK shortcut."""

    __slots__ = ()

    def track(self, seq_chk, pkt, l4, seq, ack, offfl, win, plen, reply, now):
        flags = offfl & 0xFFF
        from pyvswitch.conntrack.tcp import INVALID_FLAGS
        if INVALID_FLAGS[flags]:
            return 0
        return self._track(seq_chk, pkt, l4, seq, ack, flags, offfl, win, plen, reply, now)


GENERAL = tuple(GeneralTcp if p == 6 else cls for p, cls in enumerate(TRACKERS))


def vlan(pkt: bytearray) -> bytearray:
    return bytearray(pkt[:12] + b"\x81\x00\x00\x05" + pkt[12:])


step = st.tuples(
    st.booleans(),  # from the server
    st.sampled_from(["A", "PA", "A", "PA", "FA", "R", "RA", "S", "SA", "UA"]),
    st.integers(-70000, 70000),  # seq offset from the expected one
    st.sampled_from([0, 0, 0, -1, 1, 5000, -5000, 2**31]),  # ack offset
    st.sampled_from([0, 1, 100, 8192, 65535]),  # window
    st.sampled_from([b"", b"x", b"data" * 50]),
    st.sampled_from([True, True, False]),  # commit
)


@settings(max_examples=60, deadline=None)
@given(st.lists(step, max_size=25), st.sampled_from([None, 0, 3, 14]),
       st.sampled_from([None, 0, 7]), st.booleans(), st.sampled_from([80, 21]),
       st.booleans())
def test_fast_and_general_paths_agree(steps, ws_c, ws_s, seq_chk, port, commit_syn):
    fast, general = Conntrack(seed=1), Conntrack(seed=1)
    fast.set_tcp_seq_chk(seq_chk)
    general.set_tcp_seq_chk(seq_chk)
    cs, ss = 1000, 5000
    opts_c = [("WScale", ws_c)] if ws_c is not None else []
    opts_s = [("WScale", ws_s)] if ws_s is not None else []
    script = [(False, "S", 0, 0, 65535, b"", False, opts_c),
              (False, "S", 0, 0, 65535, b"", commit_syn, opts_c),
              (True, "SA", 0, 0, 65535, b"", True, opts_s),
              (False, "A", 0, 0, 65535, b"", True, [])]
    script += [(*s, []) for s in steps]
    now = 0.0
    for i, (srv, flags, dseq, dack, win, payload, commit, opts) in enumerate(script):
        now += 1.0
        if i == 1:
            cs = 1000  # the first SYN again (the second pass of a ct+recirc pipeline)
        if srv:
            pkt = tcp(B, A, port, 40000, flags, (ss + dseq) & 0xFFFFFFFF,
                      (cs + dack) & 0xFFFFFFFF, window=win, payload=payload, options=opts)
            ss = (ss + len(payload) + ("S" in flags) + ("F" in flags)) & 0xFFFFFFFF
        else:
            pkt = tcp(A, B, 40000, port, flags, (cs + dseq) & 0xFFFFFFFF,
                      (ss + dack) & 0xFFFFFFFF, window=win, payload=payload, options=opts)
            cs = (cs + len(payload) + ("S" in flags) + ("F" in flags)) & 0xFFFFFFFF
        tagged = vlan(pkt)
        r1 = fast.execute(pkt, flow_of(pkt), zone=0, commit=commit, now=now)
        saved = tracker_mod.TRACKERS
        tracker_mod.TRACKERS = GENERAL
        try:
            r2 = general.execute(tagged, flow_of(tagged), zone=0, commit=commit, now=now)
        finally:
            tracker_mod.TRACKERS = saved
        assert r1.ct == r2.ct
        c1 = [c for c in fast.dump(now=now)]
        c2 = [c for c in general.dump(now=now)]
        assert len(c1) == len(c2)
        for a, b in zip(c1, c2):
            assert [getattr(a, f) for f in _PEER] == [getattr(b, f) for f in _PEER]
            assert a.exp == b.exp


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.sampled_from([0.0, 1.0, 40.0]),
                          st.sampled_from([53, 69, 1000]), st.booleans()),
                min_size=1, max_size=20))
def test_udp_fast_and_general_paths_agree(steps):
    """Untagged IPv4 UDP takes the UDP shortcut; tagged copies the general path."""
    fast, general = Conntrack(seed=1), Conntrack(seed=1)
    now = 0.0
    for from_b, commit, dt, port, zero_csum in steps:
        now += dt
        pkt = udp(B, A, port, 5000) if from_b else udp(A, B, 5000, port)
        if zero_csum:
            pkt[40:42] = b"\0\0"
        tagged = vlan(pkt)
        r1 = fast.execute(pkt, flow_of(pkt), zone=2, commit=commit, now=now)
        r2 = general.execute(tagged, flow_of(tagged), zone=2, commit=commit, now=now)
        assert r1.ct == r2.ct and r1.modified == r2.modified
        c1, c2 = fast.dump(now=now), general.dump(now=now)
        assert [(c.fwd, c.rev, c.exp, c.state) for c in c1] == [
            (c.fwd, c.rev, c.exp, c.state) for c in c2]
