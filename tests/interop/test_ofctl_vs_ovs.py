"""The real ovs-ofctl against pyvswitchd and against a private Open vSwitch 3.1.

Every case runs the same ovs-ofctl command lines (default OpenFlow 1.0 and ``-O
OpenFlow13``) against both switches, each starting from the same flow table, and
requires the same exit status and the same output (durations and ages removed, flow
lines sorted: the two classifiers list rules in different orders).  Refusals included:
ovs-ofctl prints the switch's OFPT_ERROR with the request it answers, so an error with
the wrong type, code, xid or data shows up as a difference.
"""

from __future__ import annotations

import re

import pytest

from tests.interop.test_ofctl_support import flow_lines, no_times, pyvs, realovs  # noqa: F401

pytestmark = pytest.mark.interop

FIREWALL = """\
table=0,priority=100,arp,actions=NORMAL
table=0,priority=100,icmp6,actions=NORMAL
table=0,priority=90,ip,ct_state=-trk,actions=ct(table=1,zone=1)
table=0,priority=90,ipv6,ct_state=-trk,actions=ct(table=1,zone=1)
table=1,priority=100,in_port=1,ip,ct_state=+trk+new,actions=ct(commit,zone=1),output:2
table=1,priority=100,in_port=1,ipv6,ct_state=+trk+new,actions=ct(commit,zone=1),output:2
table=1,priority=90,ct_state=+trk+est,actions=NORMAL
table=1,priority=90,ct_state=+trk+rel,actions=NORMAL
table=1,priority=80,ct_state=+trk+inv,actions=drop
table=1,priority=0,actions=drop
"""

EXTRA_FLOWS = [
    "table=2,priority=10,tcp,ct_state=+trk+est,ct_label=0x1/0x1,ct_nw_src=198.51.100.1,"
    "actions=ct_clear,resubmit(,3)",
    "table=2,priority=5,ip,actions=resubmit(1,3),resubmit(,3)",
    "table=3,priority=10,reg0=0x5,reg1=0x10/0xf0,actions=load:0x1->NXM_NX_REG2[],"
    "move:NXM_NX_REG0[]->NXM_NX_REG3[],output:1",
    "table=3,priority=9,dl_vlan=10,actions=strip_vlan,NORMAL",
    "table=3,priority=8,udp,tp_dst=53,actions=mod_tp_dst:5353,mod_nw_dst:198.51.100.9,2",
    "table=4,priority=7,tcp,tp_dst=80,actions=ct(commit,zone=2,"
    "nat(dst=198.51.100.80:8080)),output:3",
    "table=4,priority=6,udp,actions=ct(commit,zone=3,nat(src=203.0.113.1-203.0.113.10)),2",
    "table=5,cookie=0x5,priority=100,ipv6,ipv6_src=2001:db8::/32,actions=dec_ttl,output:2",
    "table=5,cookie=0x6,idle_timeout=60,hard_timeout=120,priority=99,"
    "actions=controller(max_len=128)",
]


def reset(*sws) -> None:
    for sw in sws:
        sw.reset()


def same(pyvs, realovs, *args: str, input: str | None = None) -> tuple[str, str]:  # noqa: F811
    """Run on both; same status, same (normalized) stdout and stderr."""
    a = pyvs.ofctl(*args, input=input, check=False)
    b = realovs.ofctl(*args, input=input, check=False)
    assert a.returncode == b.returncode, (args, a.stderr, b.stderr)
    assert _err(a.stderr) == _err(b.stderr), args
    return a.stdout, b.stdout


def _err(text: str) -> str:
    return text.replace("unix:", "").split(": ", 1)[-1] if text else text


def same_dump(pyvs, realovs, *args: str) -> list[str]:  # noqa: F811
    a, b = same(pyvs, realovs, *args)
    la, lb = flow_lines(no_times(a)), flow_lines(no_times(b))
    assert la == lb, "\n".join(["pyvswitch:", *la, "ovs:", *lb])
    heads_a = [x for x in a.splitlines() if not x.startswith(" ")]
    heads_b = [x for x in b.splitlines() if not x.startswith(" ")]
    assert heads_a == heads_b
    return la


@pytest.mark.parametrize("of", [[], ["-O", "OpenFlow13"]])
def test_firewall_add_flows_and_dump(pyvs, realovs, of):  # noqa: F811
    reset(pyvs, realovs)
    same(pyvs, realovs, *of, "add-flows", "BR", "-", input=FIREWALL)
    lines = same_dump(pyvs, realovs, *of, "dump-flows", "BR")
    assert len(lines) == 11
    same_dump(pyvs, realovs, *of, "--no-stats", "dump-flows", "BR")
    same_dump(pyvs, realovs, *of, "dump-flows", "BR", "table=1")
    same_dump(pyvs, realovs, *of, "dump-flows", "BR", "table=1,ct_state=+trk+new,ip")
    same(pyvs, realovs, *of, "dump-aggregate", "BR")


@pytest.mark.parametrize("of", [[], ["-O", "OpenFlow13"]])
def test_many_flow_kinds_round_trip(pyvs, realovs, of):  # noqa: F811
    reset(pyvs, realovs)
    for f in EXTRA_FLOWS:
        same(pyvs, realovs, *of, "add-flow", "BR", f)
    same_dump(pyvs, realovs, *of, "dump-flows", "BR")


@pytest.mark.parametrize("of", [[], ["-O", "OpenFlow13"]])
def test_mod_and_del_flows(pyvs, realovs, of):  # noqa: F811
    reset(pyvs, realovs)
    same(pyvs, realovs, *of, "add-flows", "BR", "-", input=FIREWALL)
    for f in EXTRA_FLOWS:
        same(pyvs, realovs, *of, "add-flow", "BR", f)
    same(pyvs, realovs, *of, "mod-flows", "BR", "table=1,ip,actions=output:3")
    same_dump(pyvs, realovs, *of, "dump-flows", "BR")
    same(pyvs, realovs, *of, "--strict", "mod-flows", "BR",
         "table=1,priority=80,ct_state=+trk+inv,actions=output:1")
    same(pyvs, realovs, *of, "--strict", "del-flows", "BR",
         "table=0,priority=90,ip,ct_state=-trk")
    same(pyvs, realovs, *of, "del-flows", "BR", "table=1,ct_state=+trk+new,ip")
    same(pyvs, realovs, *of, "del-flows", "BR", "cookie=0x5/-1")
    same(pyvs, realovs, *of, "del-flows", "BR", "out_port=2")
    same_dump(pyvs, realovs, *of, "dump-flows", "BR")
    same(pyvs, realovs, *of, "del-flows", "BR")
    assert same_dump(pyvs, realovs, *of, "dump-flows", "BR") == []


def test_modify_adds_in_of10_not_in_of13(pyvs, realovs):  # noqa: F811
    reset(pyvs, realovs)
    same(pyvs, realovs, "mod-flows", "BR", "table=6,priority=3,ip,actions=drop")
    same(pyvs, realovs, "-O", "OpenFlow13", "mod-flows", "BR",
         "table=7,priority=3,ip,actions=drop")
    lines = same_dump(pyvs, realovs, "dump-flows", "BR")
    assert any("table=6" in x for x in lines) and not any("table=7" in x for x in lines)


@pytest.mark.parametrize("of", [[], ["-O", "OpenFlow13"]])
def test_groups(pyvs, realovs, of):  # noqa: F811
    reset(pyvs, realovs)
    o13 = ["-O", "OpenFlow13"]
    same(pyvs, realovs, *o13, "add-group", "BR",
         "group_id=1,type=select,bucket=weight:10,output:1,bucket=weight:20,output:2")
    same(pyvs, realovs, *o13, "add-group", "BR",
         "group_id=2,type=all,bucket=output:1,bucket=output:2")
    same(pyvs, realovs, *o13, "add-group", "BR", "group_id=3,type=indirect,bucket=output:3")
    same(pyvs, realovs, *o13, "add-group", "BR",
         "group_id=4,type=ff,bucket=watch_port:1,output:1,bucket=watch_port:2,output:2")
    a, b = same(pyvs, realovs, *of, "dump-groups", "BR")
    assert sorted(a.splitlines()) == sorted(b.splitlines())
    a, b = same(pyvs, realovs, *o13, "dump-group-features", "BR")
    # OVS also lists the MPLS actions, which pyvswitch does not execute
    mpls = " set_mpls_ttl dec_mpls_ttl push_mpls pop_mpls"
    assert a == b.replace(mpls, "")
    same(pyvs, realovs, *o13, "add-flow", "BR", "table=0,priority=5,ip,actions=group:2")
    a, b = same(pyvs, realovs, *o13, "dump-group-stats", "BR")
    assert sorted(no_times(a).splitlines()) == sorted(no_times(b).splitlines())
    # refusals: an existing id, an unknown group in a flow
    same(pyvs, realovs, *o13, "add-group", "BR", "group_id=1,type=all,bucket=output:1")
    same(pyvs, realovs, *o13, "add-flow", "BR", "table=0,priority=6,ip,actions=group:99")
    same(pyvs, realovs, *o13, "add-flow", "BR", "table=1,priority=5,ip,actions=group:1")
    same(pyvs, realovs, *o13, "del-flows", "BR", "out_group=1")
    same_dump(pyvs, realovs, "dump-flows", "BR")
    same(pyvs, realovs, *o13, "del-groups", "BR", "group_id=2")
    same_dump(pyvs, realovs, "dump-flows", "BR")


def _show(text: str) -> str:
    text = re.sub(r"dpid:[0-9a-f]+", "dpid:X", text)
    return re.sub(r"addr:[0-9a-f:]+", "addr:X", text)


@pytest.mark.parametrize("of", [[], ["-O", "OpenFlow13"], ["-O", "OpenFlow14"],
                                ["-O", "OpenFlow10,OpenFlow13"]])
def test_show_and_dump_commands(pyvs, realovs, of):  # noqa: F811
    reset(pyvs, realovs)
    a, b = same(pyvs, realovs, *of, "show", "BR")
    assert _show(a) == _show(b)
    a, b = same(pyvs, realovs, *of, "dump-tables", "BR")
    assert re.sub(r"lookup=\d+, matched=\d+", "", a) == re.sub(r"lookup=\d+, matched=\d+",
                                                               "", b)
    a, b = same(pyvs, realovs, *of, "dump-desc", "BR")
    assert a == b
    a, b = same(pyvs, realovs, *of, "get-frags", "BR")
    assert a == b
    a, b = same(pyvs, realovs, *of, "dump-ports-desc", "BR")
    assert _show(a) == _show(b)
    a, b = same(pyvs, realovs, *of, "dump-ports", "BR", "2")
    assert a.splitlines()[0] == b.splitlines()[0]


# ----------------------------------------------------------------------------- refusals
BAD_FLOWS = [
    # ct tuple fields without a valid connection state (traps/08)
    "table=2,tcp,ct_state=+trk,ct_nw_src=198.51.100.1,actions=drop",
    # ct with exec actions but no commit
    "table=1,ip,actions=ct(zone=1,exec(set_field:1->ct_mark))",
    # ct nat with a range but no commit
    "table=1,ip,actions=ct(zone=1,nat(src=203.0.113.1))",
    # ct in a non-IP flow
    "table=1,arp,actions=ct(commit)",
    # alg=ftp needs tcp
    "table=1,udp,actions=ct(commit,alg=ftp)",
    # goto_table backwards
    "table=3,ip,actions=goto_table:1",
    # output to a port number above the maximum
    "table=0,ip,actions=output:65300",
    # set_field to a field whose prerequisite is missing
    "table=0,ip,actions=set_field:80->tcp_dst",
    # commit of an invalid connection
    "table=1,ip,ct_state=+trk+inv,actions=ct(commit)",
    # the internal table is read-only
    "table=254,priority=1,actions=drop",
    # (accepted by OVS: output to port 0)
    "table=0,ip,actions=output:0",
]


@pytest.mark.parametrize("of", [[], ["-O", "OpenFlow13"]])
@pytest.mark.parametrize("flow", BAD_FLOWS)
def test_refusals_match_ovs(pyvs, realovs, of, flow):  # noqa: F811
    reset(pyvs, realovs)
    same(pyvs, realovs, *of, "add-flow", "BR", flow)
    same_dump(pyvs, realovs, *of, "dump-flows", "BR")


@pytest.mark.parametrize("of", [[], ["-O", "OpenFlow13"]])
def test_check_overlap(pyvs, realovs, of):  # noqa: F811
    reset(pyvs, realovs)
    same(pyvs, realovs, *of, "add-flow", "BR", "table=0,priority=5,ip,actions=drop")
    same(pyvs, realovs, *of, "add-flow", "BR", "table=0,priority=5,check_overlap,tcp,"
         "actions=drop")
    same(pyvs, realovs, *of, "add-flow", "BR", "table=0,priority=6,check_overlap,tcp,"
         "actions=drop")
    same_dump(pyvs, realovs, "dump-flows", "BR")


@pytest.mark.parametrize("of", [[], ["-O", "OpenFlow13"]])
def test_failed_file_keeps_earlier_flows_as_ovs(pyvs, realovs, of):  # noqa: F811
    reset(pyvs, realovs)
    text = FIREWALL + BAD_FLOWS[0] + "\n" + "table=9,priority=1,actions=drop\n"
    same(pyvs, realovs, *of, "add-flows", "BR", "-", input=text)
    same_dump(pyvs, realovs, *of, "dump-flows", "BR")


def test_bundle_is_atomic(pyvs, realovs):  # noqa: F811
    reset(pyvs, realovs)
    for of in (["-O", "OpenFlow13"], []):
        same(pyvs, realovs, *of, "--bundle", "add-flows", "BR", "-", input=FIREWALL)
        same_dump(pyvs, realovs, "dump-flows", "BR")
        bad = "table=8,priority=1,ip,actions=drop\n" + BAD_FLOWS[3] + "\n"
        same(pyvs, realovs, *of, "--bundle", "add-flows", "BR", "-", input=bad)
        same_dump(pyvs, realovs, "dump-flows", "BR")
        reset(pyvs, realovs)


def test_version_mismatch(pyvs):  # noqa: F811
    # pyvswitch speaks 1.0, 1.3 and 1.4: an OpenFlow 1.5-only client fails the
    # handshake the way ovs-ofctl reports it against any switch (traps/03)
    r = pyvs.ofctl("-O", "OpenFlow15", "show", "BR", check=False)
    assert r.returncode == 1
    assert ("version negotiation failed (we support version 0x06, peer supports versions "
            "0x01, 0x04, 0x05)") in r.stderr
    assert r.stderr.rstrip().endswith("failed to connect to socket (Protocol error)")
