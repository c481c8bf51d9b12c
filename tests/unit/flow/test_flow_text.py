"""Flow_mods (keywords per command, cookies, files), dump-flows lines and groups.

Groups are checked against the real ``ovs-ofctl parse-group`` (its OpenFlow 1.0 output
prints bucket ids, as ``dump-groups`` over OpenFlow 1.0 does)."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import pytest

from pyvswitch.errors import ParseError
from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.flow_text import (
    format_flow_stats,
    format_group_desc,
    parse_flow_mod,
    parse_flow_mods,
    parse_flow_mods_file,
    parse_group_mod,
)
from pyvswitch.flow.flowmod import (
    OFPFF_CHECK_OVERLAP,
    OFPFF_SEND_FLOW_REM,
    FlowModCommand,
    FlowStats,
    GroupModCommand,
)
from pyvswitch.flow.match import Match
from pyvswitch.flow.match_text import format_match
from pyvswitch.flow.ofpacts import GroupDesc, GroupType
from pyvswitch.types import OFPG_ALL, OFPP_NONE

C = FlowModCommand
VECTORS = pathlib.Path("/work/shared/ofctl-vectors")


# ----------------------------------------------------------------------------- flow_mods
def test_add_defaults_and_keywords():
    fm = parse_flow_mod("in_port=1,actions=output:2", C.ADD)
    assert (fm.table_id, fm.priority, fm.cookie, fm.cookie_mask) == (None, 32768, 0, 0)
    assert (fm.out_port, fm.flags, fm.actions) == (OFPP_NONE, 0, (A.Output(2),))
    fm = parse_flow_mod("cookie=0x5,table=6,priority=1,idle_timeout=30,hard_timeout=300,"
                        "importance=7,send_flow_rem,check_overlap,actions=drop", C.ADD)
    assert (fm.cookie, fm.table_id, fm.priority, fm.idle_timeout, fm.hard_timeout) == \
        (5, 6, 1, 30, 300)
    assert fm.importance == 7 and fm.flags == OFPFF_SEND_FLOW_REM | OFPFF_CHECK_OVERLAP
    assert parse_flow_mod("table=255,actions=drop", C.ADD).table_id is None
    # dump-flows output fed back in: its statistics are ignored
    fm = parse_flow_mod("cookie=0x0, duration=14.982s, table=0, n_packets=0, n_bytes=0, "
                        "idle_age=14, priority=100,ip,in_port=1 actions=ct(commit,zone=1)",
                        C.ADD)
    assert format_match(fm.match, fm.priority) == "priority=100,ip,in_port=1"
    assert parse_flow_mod("ip action=drop", C.ADD).actions == ()


def test_modify_cookies():
    fm = parse_flow_mod("ip,actions=drop", C.MODIFY)
    assert (fm.new_cookie, fm.cookie_mask, fm.modify_may_add) == (None, 0, True)
    fm = parse_flow_mod("cookie=0x9,ip,actions=drop", C.MODIFY_STRICT)
    assert (fm.new_cookie, fm.cookie, fm.modify_may_add) == (9, 0, True)
    fm = parse_flow_mod("cookie=0x1/0xff,ip,actions=drop", C.MODIFY)
    assert (fm.cookie, fm.cookie_mask, fm.new_cookie, fm.modify_may_add) == (1, 0xFF, None,
                                                                               False)


def test_delete_keywords():
    fm = parse_flow_mod("table=1,out_port=3,out_group=7,cookie=0x1/-1,tcp", C.DELETE)
    assert (fm.table_id, fm.out_port, fm.out_group) == (1, 3, 7)
    assert (fm.cookie, fm.cookie_mask) == (1, 2**64 - 1)
    assert parse_flow_mod("priority=5,tcp", C.DELETE_STRICT).priority == 5
    assert parse_flow_mod("out_port=p2", C.DELETE, {"p2": 2}).out_port == 2
    assert parse_flow_mod("", C.DELETE).match == Match()


@pytest.mark.parametrize(("text", "command", "error"), [
    ("ip", C.ADD, "must specify an action"),
    ("priority=5,tcp", C.DELETE, "unknown keyword priority"),
    ("importance=5,actions=drop", C.MODIFY, "unknown keyword importance"),
    ("tcp,actions=drop", C.DELETE, "unknown keyword actions"),
    ("send_flow_rem", C.DELETE, "field send_flow_rem missing value"),
    ("out_port=1,actions=drop", C.ADD, "unknown keyword out_port"),
    ("out_port=foo", C.DELETE, "foo is not a valid OpenFlow port"),
    ("out_group=foo", C.DELETE, "foo is not a valid OpenFlow group"),
    ("cookie=1", C.DELETE, "cannot set cookie (to match on a cookie, specify a mask, "
                           "e.g. cookie=1/-1)"),
    ("cookie=1/1,actions=drop", C.ADD, "flow additions cannot use a cookie mask"),
    ("table=x,actions=drop", C.ADD, 'unknown table "x"'),
    ("idle_timeout=x,actions=drop", C.ADD, 'invalid idle_timeout "x"'),
])
def test_flow_mod_errors(text, command, error):
    with pytest.raises(ParseError) as e:
        parse_flow_mod(text, command)
    assert str(e.value) == error


def test_flow_file():
    text = ("# comment\n"
            "\n"
            "table=0,priority=10,arp,actions=NORMAL   # trailing comment\n"
            "  \t\n"
            "delete tcp\n"
            "modify_strict priority=5,ip,actions=drop\n"
            "del udp\n"
            "add in_port=p1,actions=output:p2\n")
    fms = parse_flow_mods(text, C.ADD, {"p1": 1, "p2": 2})
    assert [fm.command for fm in fms] == [C.ADD, C.DELETE, C.MODIFY_STRICT, C.DELETE, C.ADD]
    assert fms[4].actions == (A.Output(2),)
    assert parse_flow_mods_file is parse_flow_mods
    with pytest.raises(ParseError) as e:
        parse_flow_mods(text + "\n\nfoo=1,actions=drop\n", C.ADD, {"p1": 1, "p2": 2},
                        source="flows.txt")
    assert str(e.value) == "flows.txt:11: unknown keyword foo"
    # only add-flows files take command words
    with pytest.raises(ParseError, match="^-:1: field modify missing value$"):
        parse_flow_mods(["modify ip,actions=drop"], C.MODIFY)


def test_golden_flows_file():
    d = json.loads((VECTORS / "of13/44_add_flows_file.json").read_text())
    fms = parse_flow_mods(d["flows_file_contents"], C.ADD)
    assert [format_match(fm.match, fm.priority) for fm in fms] == \
        ["priority=10,arp", "priority=0", "priority=20,udp,tp_dst=53"]


# ----------------------------------------------------------------------------- stats
def _stats(**kw):
    base = dict(table_id=0, priority=32768, match=Match(), actions=())
    return FlowStats(**{**base, **kw})


def test_stats_line_details():
    assert format_flow_stats(_stats(duration=5.0)) == \
        " cookie=0x0, duration=5s, table=0, n_packets=0, n_bytes=0, actions=drop"
    assert format_flow_stats(_stats(duration=1.23456, idle_age=1, hard_age=1)) == \
        " cookie=0x0, duration=1.235s, table=0, n_packets=0, n_bytes=0, idle_age=1, " \
        "actions=drop"
    assert "hard_age=3, " in format_flow_stats(_stats(duration=1.5, hard_age=3))
    assert "n_packets=?, n_bytes=?" in format_flow_stats(
        _stats(packet_count=2**64 - 1, byte_count=2**64 - 1))
    assert format_flow_stats(_stats(cookie=0xAB, table_id=3, importance=4, flags=0x1C,
                                    priority=0), show_stats=False) == \
        " cookie=0xab, table=3, reset_counts no_packet_counts no_byte_counts " \
        "importance=4, priority=0 actions=drop"
    assert format_flow_stats(_stats(), show_stats=False) == " actions=drop"
    names = {1: "vin"}
    fm = parse_flow_mod("in_port=vin,actions=output:vin", C.ADD, {"vin": 1})
    assert format_flow_stats(_stats(match=fm.match, actions=fm.actions), show_stats=False,
                             port_names=names) == " in_port=vin actions=output:vin"


# ----------------------------------------------------------------------------- groups
GROUPS = [
    "group_id=1,type=select,bucket=weight:10,output:1,bucket=weight:20,output:2",
    "group_id=2,type=all,bucket=output:1,bucket=output:2",
    "group_id=3,type=indirect,bucket=actions=ct(commit,zone=1),output:2",
    "group_id=4,type=ff,bucket=watch_port:1,output:1,bucket=watch_port:3,watch_group:9,"
    "output:2",
    "group_id=5,type=select,selection_method=dp_hash,bucket=output:1",
    "group_id=6,type=all",
    "group_id=7,type=select,bucket=bucket_id:5,weight:0,"
    "actions=load:0x1->NXM_NX_REG0[],output:3",
    "group_id=8,type=all,bucket=actions=drop",
    "group_id=9,type=fast_failover,bucket=watch_group:1,output:1",
    "group_id=4294967040,type=all",
    "group_id=10,type=all,bucket=mod_dl_src:02:00:00:00:00:01,NORMAL,bucket=resubmit(,3)",
]
BAD_GROUPS = [
    "type=all,bucket=output:1", "group_id=1", "group_id=1,type=foo",
    "group_id=1,type=all,bucket=weight:5,output:1",
    "group_id=1,type=indirect,bucket=output:1,bucket=output:2",
    "group_id=1,type=ff,bucket=output:1", "group_id=1,type=all,bucket=weight:1",
    "group_id=4294967041,type=all", "group_id=1,type=all,bucket=watch_port:65280,output:1",
    "group_id=1,type=all,bucket=watch_port:LOCAL,output:1",
    "group_id=1,type=all,bucket=watch_group:4294967041,output:1",
    "group_id=1,type=all,frob=1", "group_id=1,type=all,bucket=goto_table:1",
    "group_id=1,type=all,bucket=frob",
]


def _parse_group(text: str) -> subprocess.CompletedProcess:
    ofctl = shutil.which("ovs-ofctl")
    assert ofctl, "ovs-ofctl (openvswitch-common) is required for the oracle tests"
    return subprocess.run([ofctl, "parse-group", text], capture_output=True, text=True,
                          timeout=30)


def _desc(text: str) -> GroupDesc:
    gm = parse_group_mod(text, GroupModCommand.ADD)
    return GroupDesc(gm.group_id, gm.type, gm.buckets, gm.selection_method)


@pytest.mark.parametrize("text", GROUPS)
def test_group_against_ovs_ofctl(text):
    res = _parse_group(text)
    assert res.returncode == 0, res.stderr
    expected = res.stdout.splitlines()[-1].replace(" ADD ", " ", 1)
    assert format_group_desc(_desc(text), show_bucket_ids=True) == expected


@pytest.mark.parametrize("text", BAD_GROUPS)
def test_group_errors_against_ovs_ofctl(text):
    res = _parse_group(text)
    assert res.returncode != 0
    with pytest.raises(ParseError) as e:
        parse_group_mod(text, GroupModCommand.ADD)
    assert f"ovs-ofctl: {e.value}" == res.stderr.strip().splitlines()[-1]


def test_golden_dump_groups():
    for suite, add_files, dump, ids in (
            ("of10", ("58_add_group_select", "59_add_group_all"), "60_dump_groups", True),
            ("of13", ("62_add_group_select", "63_add_group_all"), "64_dump_groups", False)):
        lines = []
        for name in add_files:
            d = json.loads((VECTORS / suite / f"{name}.json").read_text())
            lines.append(format_group_desc(_desc(d["command"][-1]), show_bucket_ids=ids))
        d = json.loads((VECTORS / suite / f"{dump}.json").read_text())
        assert lines == d["stdout"].splitlines()[1:]


def test_group_commands():
    assert parse_group_mod("", GroupModCommand.DELETE).group_id == OFPG_ALL
    gm = parse_group_mod("group_id=5", GroupModCommand.DELETE)
    assert (gm.command, gm.group_id) == (GroupModCommand.DELETE, 5)
    with pytest.raises(ParseError, match="type is not needed"):
        parse_group_mod("group_id=5,type=all", GroupModCommand.DELETE)
    gm = parse_group_mod("add_or_mod group_id=5,type=all", None)
    assert gm.command is GroupModCommand.ADD_OR_MOD
    gm = parse_group_mod("group_id=5,type=select,bucket=output:1,bucket=watch_port:CONTROLLER,"
                         "output:2", GroupModCommand.MODIFY)
    assert gm.type is GroupType.SELECT and [b.bucket_id for b in gm.buckets] == [0, 1]
    assert gm.buckets[0].watch_port == 0xFFFFFFFF
    assert gm.buckets[1].watch_port == 0xFFFFFFFD  # OpenFlow 1.1+ CONTROLLER
    assert format_group_desc(GroupDesc(5, gm.type, gm.buckets)) == \
        " group_id=5,type=select,bucket=actions=output:1," \
        "bucket=watch_port:CONTROLLER,actions=output:2"
    with pytest.raises(ParseError, match="group command insert_bucket is not supported"):
        parse_group_mod("group_id=5", GroupModCommand.INSERT_BUCKET)


def test_errors_point_at_the_keyword():
    text = "add in_port=1,tcp_dts=80,actions=drop"
    with pytest.raises(ParseError) as e:
        parse_flow_mod(text, None)
    assert (e.value.text, text[e.value.pos:]) == (text, "tcp_dts=80,actions=drop")
    text = "tcp,actions=output:1,frob"
    with pytest.raises(ParseError) as e:
        parse_flow_mod(text, C.ADD)
    assert text[e.value.pos:] == "output:1,frob"
