"""Operator commands: dump/flush/limits/stats texts and argument errors (spec §11, §13).

Texts and error messages were compared with ovs-vswitchd's replies (3.1 for what 3.1
has; OVS master's code for flush by mark/labels and ``ct-del-limits default``).
"""

import pytest

from pyvswitch.conntrack import Conntrack
from pyvswitch.conntrack import dpctl as D
from pyvswitch.conntrack.ops import TupleNotFound
from pyvswitch.errors import ParseError

from .ctutil import A6, B6, NEW, A, B, C, TcpSession, dump, icmp_echo, run, udp


@pytest.fixture
def ct():
    return Conntrack(seed=3)


def populate(ct):
    run(ct, udp(A, B, 1, 2), commit=True, mark=(170, 0xFFFFFFFF))
    run(ct, udp(B, A, 2, 1), zone=5, commit=True, label=(0xAA00000000, (1 << 128) - 1))
    run(ct, icmp_echo(A, B, 2817), zone=5, commit=True)
    run(ct, udp(A6, B6, 7, 8), commit=True)
    TcpSession(ct, cport=40218).handshake()


def test_dump_lines(ct):
    populate(ct)
    assert dump(ct) == [
        "icmp,orig=(src=198.51.100.1,dst=198.51.100.2,id=2817,type=8,code=0),"
        "reply=(src=198.51.100.2,dst=198.51.100.1,id=2817,type=0,code=0),zone=5",
        "tcp,orig=(src=198.51.100.1,dst=198.51.100.2,sport=40218,dport=80),"
        "reply=(src=198.51.100.2,dst=198.51.100.1,sport=80,dport=40218),"
        "protoinfo=(state=ESTABLISHED)",
        "udp,orig=(src=198.51.100.1,dst=198.51.100.2,sport=1,dport=2),"
        "reply=(src=198.51.100.2,dst=198.51.100.1,sport=2,dport=1),mark=170",
        "udp,orig=(src=198.51.100.2,dst=198.51.100.1,sport=2,dport=1),"
        "reply=(src=198.51.100.1,dst=198.51.100.2,sport=1,dport=2),zone=5,labels=0xaa00000000",
        "udp,orig=(src=2001:db8::1,dst=2001:db8::2,sport=7,dport=8),"
        "reply=(src=2001:db8::2,dst=2001:db8::1,sport=8,dport=7)",
    ]
    assert D.dump_conntrack(ct, ["zone=5"], now=0.0).count("\n") == 2


def test_dump_verbose_and_stats(ct):
    run(ct, udp(A, B, 1, 2), zone=3, commit=True, now=0.0, mark=(1, 1))
    assert ct.dump_conntrack(verbose=True, stats=True, now=0.5) == [
        "udp,orig=(src=198.51.100.1,dst=198.51.100.2,sport=1,dport=2),"
        "reply=(src=198.51.100.2,dst=198.51.100.1,sport=2,dport=1),id=0,zone=3,status=0,"
        "timeout=59,mark=1"
    ]


def test_stats_text(ct):
    populate(ct)
    TcpSession(ct, cport=5).c2s("S")
    run(ct, udp(A6, B6, 1, 2), commit=True)
    assert D.ct_stats_show(ct, now=0.0) == (
        "Connections Stats:\n    Total: 7\n  TCP: 2\n  UDP: 4\n  ICMP: 1\n")
    assert D.ct_stats_show(ct, ["verbose"], now=0.0) == (
        "Connections Stats:\n    Total: 7\n  TCP: 2\n    Conn per TCP states:\n"
        "\t  [SYN_SENT]=1\n\t  [ESTABLISHED]=1\n  UDP: 4\n  ICMP: 1\n")
    assert D.ct_stats_show(ct, ["zone=5"], now=0.0) == (
        "Connections Stats:\n    Total: 2\n  UDP: 1\n  ICMP: 1\n")


def test_flush_everything_and_by_zone(ct):
    populate(ct)
    D.flush_conntrack(ct, ["zone=5"], now=0.0)
    assert len(dump(ct)) == 3 and not dump(ct, zone=5)
    D.flush_conntrack(ct, [], now=0.0)
    assert dump(ct) == [] and ct.get_nconns() == 0


def test_flush_by_complete_tuple_matches_either_direction(ct):
    populate(ct)
    t = "ct_nw_src=198.51.100.2,ct_nw_dst=198.51.100.1,ct_nw_proto=17,ct_tp_src=2,ct_tp_dst=1"
    D.flush_conntrack(ct, [t], now=0.0)  # the reply tuple of the zone-0 UDP entry
    assert not any("mark=170" in line for line in dump(ct))
    with pytest.raises(TupleNotFound):
        D.flush_conntrack(ct, [t], now=0.0)
    D.flush_conntrack(ct, ["zone=5", t], now=0.0)
    assert len(dump(ct, zone=5)) == 1


def test_flush_icmp_tuple(ct):
    populate(ct)
    D.flush_conntrack(ct, ["zone=5", "ct_nw_src=198.51.100.1,ct_nw_dst=198.51.100.2,"
                           "ct_nw_proto=1,icmp_id=2817,icmp_type=8,icmp_code=0"], now=0.0)
    assert not any(line.startswith("icmp") for line in dump(ct))


def test_flush_partial_tuples_and_mark_labels(ct):
    populate(ct)
    # A partial tuple without zone= scans every zone (only a complete one means zone 0).
    D.flush_conntrack(ct, ["zone=5", "labels=0xaa00000000/0xff00000000"], now=0.0)
    assert [line.split(",")[0] for line in dump(ct, zone=5)] == ["icmp"]
    run(ct, udp(B, A, 2, 1), zone=5, commit=True)
    D.flush_conntrack(ct, ["ct_nw_proto=17"], now=0.0)
    assert sorted(line.split(",")[0] for line in dump(ct)) == ["icmp", "tcp"]
    run(ct, udp(A, C, 1, 2), commit=True, mark=(0x12, 0xFFFFFFFF))
    run(ct, udp(A, C, 3, 4), commit=True, mark=(0x22, 0xFFFFFFFF))
    D.flush_conntrack(ct, ["mark=0x2/0xf"], now=0.0)
    assert not [line for line in dump(ct) if "mark=" in line]
    # Reply tuple fields are compared with the entry's reply tuple.
    D.flush_conntrack(ct, ["", "ct_nw_src=198.51.100.2,ct_nw_proto=6,ct_tp_src=80"], now=0.0)
    assert not [line for line in dump(ct) if line.startswith("tcp")]


@pytest.mark.parametrize("args,msg", [
    (["zone=x"], "failed to parse zone"),
    (["ct_nw_src=1.2.3"], "failed to parse field ct_nw_src"),
    (["foo=1"], "invalid conntrack tuple field: foo"),
    (["mark=zz"], "failed to parse mark"),
    (["labels=zz"], "failed to parse labels"),
    (["ct_tp_src=5"], "port is set without protocol"),
    (["icmp_id=5"], "invalid L4 fields"),
    (["ct_nw_src=198.51.100.1,ct_ipv6_dst=::1"], "the L3 protocol does not match ::1"),
    (["ct_nw_src="], "field ct_nw_src missing value"),
    (["ct_nw_src=198.51.100.1,ct_nw_src=198.51.100.2"], "ct_nw_src is set multiple times"),
    (["ct_nw_proto=300"], "failed to parse field ct_nw_proto"),
    (["ct_nw_proto=6,ct_tp_dst=70000"], "failed to parse field ct_tp_dst"),
    (["ct_nw_src=198.51.100.1", "ct_nw_dst=198.51.100.2", "extra"], "invalid arguments"),
    (["ct_nw_proto=6,ct_nw_proto=17,ct_nw_src=x"],
     "ct_nw_proto is set multiple timesfailed to parse field ct_nw_src"),
])
def test_flush_argument_errors(ct, args, msg):
    with pytest.raises(ParseError) as e:
        D.flush_conntrack(ct, args, now=0.0)
    assert str(e.value) == msg


def test_flush_argument_quirks(ct):
    zone, match = D.parse_flush_args(["zone=70000", "mark=5zz"])
    assert zone == 70000 & 0xFFFF and (match.mark, match.mark_mask) == (5, 0xFFFFFFFF)
    zone, match = D.parse_flush_args(["ct_nw_proto=6,ct_nw_proto=17"])
    assert match.proto == 17
    _, match = D.parse_flush_args(["labels=0x1/0x0f"])
    assert (match.labels, match.labels_mask) == (1, 0xF)
    _, match = D.parse_flush_args(["ct_ipv6_src=2001:db8::1,ct_nw_proto=0x11,ct_tp_src=010"])
    assert (match.l3, match.proto, match.orig.src, match.orig.sport) == (
        6, 17, 0x20010DB8 << 96 | 1, 8)


def test_flush_parent_removes_expectations(ct):
    s = TcpSession(ct, sport=21)
    for r in (s.c2s("S", alg=21), s.s2c("SA"), s.c2s("A")):
        assert r.ct[0] & 0x20
    s.c2s("PA", b"PORT 198,51,100,1,39,16\r\n")
    assert len(ct.dump_expectations()) == 1
    D.flush_conntrack(ct, [], now=0.0)
    assert D.dump_conntrack_exp(ct) == ""


def test_maxconns(ct):
    assert D.ct_get_maxconns(ct) == "3000000\n"
    assert D.ct_set_maxconns(ct, ["2"]) == "setting maxconns successful"
    for port in (1, 2, 3):
        assert run(ct, udp(A, B, port, 9), commit=True).ct[0] == NEW
    assert D.ct_get_nconns(ct) == "2\n"
    with pytest.raises(ParseError, match="^maxconns missing or malformed$"):
        D.ct_set_maxconns(ct, ["foo"])
    # Lowering under the count only blocks new commits.
    D.ct_set_maxconns(ct, ["1"])
    assert ct.get_nconns() == 2


def test_zone_limits(ct):
    assert D.ct_get_limits(ct) == "default limit=0\n"
    D.ct_set_limits(ct, ["default=10", "zone=3,limit=2", "zone=0,limit=5"])
    assert D.ct_get_limits(ct) == (
        "default limit=10\nzone=0,limit=5,count=0\nzone=3,limit=2,count=0\n")
    for port in range(1, 5):
        run(ct, udp(A, B, port, 9), zone=3, commit=True)
        run(ct, udp(A, B, port, 9), zone=4, commit=True)
    assert len(dump(ct, zone=3)) == 2 and len(dump(ct, zone=4)) == 4
    assert D.ct_get_limits(ct, ["zone=3,4,9"]) == (
        "default limit=10\nzone=3,limit=2,count=2\nzone=4,limit=10,count=4\n"
        "zone=9,limit=10,count=0\n")
    # Deleting the explicit limit falls back to the default and keeps the count.
    D.ct_del_limits(ct, ["zone=3"])
    assert D.ct_get_limits(ct, ["zone=3"]) == "default limit=10\nzone=3,limit=10,count=2\n"
    # Expiry frees the counts.
    ct.sweep(1000.0)
    assert D.ct_get_limits(ct, ["zone=3,4"]) == (
        "default limit=10\nzone=3,limit=10,count=0\nzone=4,limit=10,count=0\n")


def test_explicit_zero_limit_blocks_but_default_zero_is_unlimited(ct):
    D.ct_set_limits(ct, ["zone=7,limit=0"])
    assert run(ct, udp(A, B, 1, 2), zone=7, commit=True).ct[0] == NEW
    assert ct.get_nconns() == 0
    assert run(ct, udp(A, B, 1, 2), zone=8, commit=True).ct[0] == NEW
    assert ct.get_nconns() == 1


def test_deleting_default_drops_default_entries(ct):
    D.ct_set_limits(ct, ["default=1"])
    run(ct, udp(A, B, 1, 2), zone=2, commit=True)
    run(ct, udp(A, B, 3, 4), zone=2, commit=True)
    assert ct.get_nconns() == 1
    D.ct_del_limits(ct, ["default"])
    assert D.ct_get_limits(ct, ["zone=2"]) == "default limit=0\nzone=2,limit=0,count=0\n"
    run(ct, udp(A, B, 3, 4), zone=2, commit=True)
    assert ct.get_nconns() == 2
    # A connection admitted by a removed entry no longer decrements anything.
    D.ct_set_limits(ct, ["zone=2,limit=5"])
    ct.flush(now=0.0)
    assert D.ct_get_limits(ct) == "default limit=0\nzone=2,limit=5,count=0\n"


@pytest.mark.parametrize("args,msg", [
    ([], "too few arguments"),
    (["default=4294967296"], "invalid default limit"),
    (["default=-1"], "invalid default limit"),
    (["zone=70000,limit=1"], "failed to parse field zone"),
    (["zone=1"], "failed to parse zone limit"),
    (["zone=1,limit="], "field limit missing value"),
    (["zone=1,foo=2"], "invalid zone limit field: foo"),
    (["zone=1,limit=4294967296"], "failed to parse field limit"),
    (["zone=2,limit=3", "default=4"], "invalid zone limit field: default"),
])
def test_set_limits_errors(ct, args, msg):
    with pytest.raises(ParseError) as e:
        D.ct_set_limits(ct, args)
    assert str(e.value) == msg


def test_get_and_del_limits_errors(ct):
    with pytest.raises(ParseError, match="^invalid zone$"):
        D.ct_get_limits(ct, ["zone=1,x"])
    with pytest.raises(ParseError, match="^invalid argument foo$"):
        D.ct_get_limits(ct, ["foo"])
    with pytest.raises(ParseError, match="^too few arguments$"):
        D.ct_del_limits(ct, [])


def test_limit_values_in_c_syntax(ct):
    D.ct_set_limits(ct, ["zone=1,limit=0x10", "zone=2,limit=010"])
    assert D.ct_get_limits(ct) == (
        "default limit=0\nzone=1,limit=16,count=0\nzone=2,limit=8,count=0\n")


def test_tcp_seq_chk_and_sweep_commands(ct):
    assert D.ct_get_tcp_seq_chk(ct) == "TCP sequence checking: enabled\n"
    assert D.ct_set_tcp_seq_chk(ct, False) == "disabling TCP sequence checking successful"
    assert D.ct_get_tcp_seq_chk(ct) == "TCP sequence checking: disabled\n"
    assert D.ct_set_tcp_seq_chk(ct, True) == "enabling TCP sequence checking successful"
    assert D.ct_get_sweep_interval(ct) == "20000"
    assert D.ct_set_sweep_interval(ct, ["1000"]) == "setting sweep interval successful"
    assert D.ct_get_sweep_interval(ct) == "1000"
    with pytest.raises(ParseError, match="^invalid sweep value$"):
        D.ct_set_sweep_interval(ct, ["0"])


def test_ipf_commands(ct):
    assert D.ipf_set_enabled(ct, ["v6"], False) == (
        "disabling fragmentation reassembly successful")
    assert not ct.ipf.v6_enabled
    assert D.ipf_set_enabled(ct, ["v6"], True) == "enabling fragmentation reassembly successful"
    with pytest.raises(ParseError, match="^parameter missing: 'v4' for IPv4 or 'v6' for IPv6$"):
        D.ipf_set_enabled(ct, ["v5"], True)
    assert D.ipf_set_min_frag(ct, ["v4", "1000"]) == "setting minimum fragment size successful"
    assert ct.ipf.min_v4_frag_size == 1000
    with pytest.raises(ParseError, match="too small; see documentation$"):
        D.ipf_set_min_frag(ct, ["v4", "100"])
    with pytest.raises(ParseError, match="^parameter missing for minimum fragment size$"):
        D.ipf_set_min_frag(ct, ["v4", "x"])
    with pytest.raises(ParseError, match="^parameter missing: v4 for IPv4 or v6 for IPv6$"):
        D.ipf_set_min_frag(ct, ["x", "1000"])
    assert D.ipf_set_max_nfrags(ct, ["500"]) == "setting maximum fragments successful"
    with pytest.raises(ParseError, match="^setting maximum fragments failed$"):
        D.ipf_set_max_nfrags(ct, ["6000"])
    with pytest.raises(ParseError, match="^parameter missing for maximum fragments$"):
        D.ipf_set_max_nfrags(ct, ["x"])
    status = D.ipf_get_status(ct)
    assert "min v4 frag size: 1000" in status and "max num frags (v4/v6): 500" in status


def test_zone_limits_from_database_refuse_dpctl(ct):
    ct.zone_limits_protected = True
    ct.set_limits(zones={3: 1})  # the configuration layer itself may
    with pytest.raises(D.ZoneLimitsProtected) as e:
        D.ct_set_limits(ct, ["zone=3,limit=5"])
    assert str(e.value) == ("the zone limits are set via database, use 'ovs-vsctl "
                            "set-zone-limit <...>' instead.")
    with pytest.raises(D.ZoneLimitsProtected, match="del-zone-limit"):
        D.ct_del_limits(ct, ["zone=3"])
    # Arguments are checked first, as OVS does.
    with pytest.raises(ParseError):
        D.ct_set_limits(ct, ["zone=x,limit=1"])
    assert D.ct_get_limits(ct) == "default limit=0\nzone=3,limit=1,count=0\n"
