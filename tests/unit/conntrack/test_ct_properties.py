"""Properties: random packet sequences never raise and never leave an inconsistent table.

Each step runs a random packet (TCP with random flags and sequence numbers, UDP, ICMP
echo and errors quoting earlier packets, corrupted copies) through a random ct action
(zones, commit, force, SNAT/DNAT/bare nat, exec writes, time jumps).  After every step:
both keys of every live connection map to it, its REV key is the reverse of its FWD key
up to the NAT rewrite, the counters agree with the table, and a packet that was valid
before a NAT rewrite is still valid (checksums) afterwards.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvswitch.conntrack import Conntrack
from pyvswitch.conntrack.conn import K_DPORT, K_DST, K_SPORT, K_SRC, NAT_DST, NAT_SRC, RECLAIMED
from pyvswitch.conntrack.conn import key_reverse as rev_key
from pyvswitch.conntrack.parse import extract
from pyvswitch.flow.ofpacts import NAT_F_DST, NAT_F_SRC, Nat

from .ctutil import A6, B6, NAT_IP, A, B, C, flow_of, icmp_echo, icmp_error, ip4, tcp, udp

HOSTS = [A, B, C, NAT_IP]
NATS = [
    None,
    Nat(),
    Nat(NAT_F_SRC, False, ip4(NAT_IP), ip4(NAT_IP), 1000, 1003),
    Nat(NAT_F_SRC, False, ip4(NAT_IP), ip4(NAT_IP)),
    Nat(NAT_F_DST, False, ip4(C), ip4(C), 8080, 8080),
    Nat(NAT_F_SRC, False, 0, 0),
]

packets = st.one_of(
    st.tuples(st.just("tcp"), st.sampled_from(HOSTS), st.sampled_from(HOSTS),
              st.sampled_from([1000, 1001, 80, 8080]), st.sampled_from([1000, 80, 8080]),
              st.sampled_from(["S", "SA", "A", "PA", "FA", "R", "RA", "F", "SF", ""]),
              st.integers(0, 3000), st.integers(0, 3000), st.binary(max_size=8)),
    st.tuples(st.just("udp"), st.sampled_from(HOSTS), st.sampled_from(HOSTS),
              st.sampled_from([1000, 53, 8080]), st.sampled_from([1000, 53, 8080])),
    st.tuples(st.just("udp6"), st.sampled_from([A6, B6]), st.sampled_from([A6, B6]),
              st.sampled_from([1, 2]), st.sampled_from([1, 2])),
    st.tuples(st.just("ping"), st.sampled_from(HOSTS), st.sampled_from(HOSTS),
              st.sampled_from([7, 500]), st.booleans()),
    st.tuples(st.just("error"), st.sampled_from(HOSTS), st.integers(0, 50)),
    st.tuples(st.just("corrupt"), st.integers(0, 50), st.integers(0, 200), st.integers(1, 255)),
)
actions = st.tuples(
    st.sampled_from([0, 0, 1]),  # zone
    st.booleans(),  # commit
    st.booleans(),  # force
    st.sampled_from(range(len(NATS))),
    st.sampled_from([None, (5, 0xFF)]),  # mark write
    st.sampled_from([0.0, 0.0, 1.0, 40.0, 100.0]),  # time advance
    st.booleans(),  # second pass in the same zone
)


def build(spec, history):
    kind = spec[0]
    if kind == "tcp":
        _, s, d, sp, dp, flags, seq, ack, payload = spec
        return tcp(s, d, sp, dp, flags, seq, ack, payload=payload)
    if kind == "udp" or kind == "udp6":
        return udp(*spec[1:5])
    if kind == "ping":
        _, s, d, ident, reply = spec
        return icmp_echo(s, d, ident, reply=reply)
    if kind == "error":
        if not history:
            return udp(A, B, 1, 2)
        inner = history[spec[2] % len(history)]
        return icmp_error(spec[1], "198.51.100.1" if inner[14] >> 4 != 4 else
                          f"{inner[26]}.{inner[27]}.{inner[28]}.{inner[29]}", inner)
    if not history:
        return udp(A, B, 1, 2)
    pkt = bytearray(history[spec[1] % len(history)])
    pkt[spec[2] % len(pkt)] ^= spec[3]
    return pkt


def check_table(ct, now):
    conns = ct._conns
    live = {id(c): c for c in [*conns.values(), *ct.shadowed()] if now < c.exp}
    for conn in live.values():
        fwd, rev = conn.fwd, conn.rev
        for k in (fwd, rev):
            # A key maps to its connection, unless a later live connection claimed the
            # same tuple (a reply-direction packet that missed a NAT'ed or bare-nat
            # connection): as in OVS, whose lookup finds the newest of the two first.
            owner = conns[k]
            assert owner is conn or (now < owner.exp and k in (owner.fwd, owner.rev)
                                     and conn in ct.shadowed())
        assert fwd[:2] == rev[:2]
        if conn.nat & NAT_SRC:
            assert rev[K_SRC] == fwd[K_DST]
            if fwd[1] == 1:  # an ICMP echo id is rewritten on both endpoints
                assert rev[K_SPORT] >> 16 == fwd[K_DPORT] >> 16
                assert rev[K_SPORT] & 0xFFFF == rev[K_DPORT] & 0xFFFF
            else:
                assert rev[K_SPORT] == fwd[K_DPORT]
        elif conn.nat & NAT_DST:
            assert rev[K_DST] == fwd[K_SRC]
        elif rev[K_SRC] != 0:  # bare "ct(commit,nat)" zeroes the address, as OVS
            assert rev == rev_key(fwd)
    dumped = ct.dump(now=now)
    assert len({id(c) for c in dumped}) == len(dumped) == len(live)
    members = [c for lst in ct._lists for c in lst if c.exp != RECLAIMED]
    assert ct.get_nconns() == len({id(c) for c in members})
    for zl in ct.limits._zones.values():
        assert zl.count == sum(1 for c in members if c.zl is zl)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(packets, actions), min_size=1, max_size=30), st.booleans())
def test_random_sequences_keep_the_table_consistent(steps, with_limit):
    ct = Conntrack(seed=11)
    if with_limit:
        ct.set_limits(default=3, zones={1: 2})
    history: list[bytearray] = []
    now = 0.0
    for spec, (zone, commit, force, nat_i, mark, dt, twice) in steps:
        now += dt
        pkt = build(spec, history)
        history.append(bytearray(pkt))
        valid_before = extract(pkt, zone) is not None
        kw = dict(zone=zone, commit=commit or force, force=force, nat=NATS[nat_i],
                  mark=mark, now=now)
        r = ct.execute(pkt, flow_of(pkt), **kw)
        assert len(r.ct) == 11 and all(isinstance(v, int) for v in r.ct)
        assert r.ct[0] & 0x20 and r.ct[1] == zone
        if r.ct[0] & 0x10:
            assert not r.ct[0] & 0x0F
        if r.modified and valid_before and r.packets is None:
            assert extract(pkt, zone) is not None
        if twice and r.packets is None:
            r2 = ct.execute(pkt, flow_of(pkt, r), **kw)
            assert r2.ct[0] & 0x20
        check_table(ct, now)
    ct.sweep(now + 100_000)
    assert ct.get_nconns() == 0
    assert not ct.dump(now=now + 100_000)
    check_table(ct, now + 100_000)
    assert not ct._conns


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"\x08\x00\x45", b"\x08\x00\x46", b"\x86\xdd\x60", b"\x81\x00\x00"]),
       st.binary(max_size=120), st.booleans(), st.sampled_from(range(len(NATS))))
def test_arbitrary_bytes_never_raise(prefix, body, commit, nat_i):
    ct = Conntrack(seed=1)
    pkt = bytearray(b"\x50\x54\x00\x00\x00\x02\x50\x54\x00\x00\x00\x01" + prefix + body)
    for _ in range(2):
        r = ct.execute(pkt, flow_of(pkt), zone=0, commit=commit, nat=NATS[nat_i], now=1.0)
        assert r.ct[0] & 0x20


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([1, 6, 17, 132, 47, 58]), st.binary(min_size=0, max_size=80),
       st.booleans(), st.sampled_from(range(len(NATS))), st.booleans())
def test_fuzzed_l4_behind_valid_ip_header_never_raises(proto, l4, fix_icmp, nat_i, v6):
    from pyvswitch.packet.checksum import checksum

    l4 = bytearray(l4)
    if v6:
        hdr = bytearray(b"\x60\0\0\0" + len(l4).to_bytes(2, "big") + bytes([proto, 64])
                        + bytes(15) + b"\x01" + bytes(15) + b"\x02")
        eth_type = b"\x86\xdd"
    else:
        hdr = bytearray(b"\x45\0" + (20 + len(l4)).to_bytes(2, "big") + b"\0\0\0\0\x40"
                        + bytes([proto]) + b"\0\0" + bytes([198, 51, 100, 1, 198, 51, 100, 2]))
        hdr[10:12] = checksum(hdr).to_bytes(2, "big")
        eth_type = b"\x08\x00"
        if proto == 1 and fix_icmp and len(l4) >= 4:
            l4[2:4] = b"\0\0"
            l4[2:4] = checksum(l4).to_bytes(2, "big")
    pkt = bytearray(bytes(12) + eth_type + hdr + l4)
    ct = Conntrack(seed=1)
    for commit in (True, False):
        r = ct.execute(pkt, flow_of(pkt), zone=0, commit=commit, nat=NATS[nat_i], now=1.0,
                       l4_csum_good=True)
        assert r.ct[0] & 0x20
