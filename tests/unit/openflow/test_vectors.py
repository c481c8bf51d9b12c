"""The codec against the captured ovs-ofctl and os-ken conversations.

* every message sent to the switch decodes (and the one ovs-ofctl sends with an invalid
  conntrack prerequisite is refused with BAD_PREREQ, as OVS refuses it);
* every reply the capture switch sent decodes too (ovs-ofctl accepted them);
* a decoded flow_mod prints, with the flow text formatter, what ovs-ofctl's own decoder
  printed for the same bytes;
* re-encoding what ovs-ofctl sent gives back the same bytes, and so does encoding the flow
  *text* of the command after parsing it (our encoder spells flows as ovs-ofctl does);
* decoded flow-stats replies print the same ``dump-flows`` lines ovs-ofctl printed.
"""

from __future__ import annotations

import re

import pytest

from pyvswitch.errors import OFPError
from pyvswitch.flow.actions_text import format_actions
from pyvswitch.flow.flow_text import format_flow_stats, parse_flow_mod, parse_flow_mods
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand, GroupMod
from pyvswitch.flow.match_text import format_match
from pyvswitch.openflow.codec import decode, encode
from pyvswitch.openflow.messages import FlowStatsReply, PacketOut
from pyvswitch.openflow.multipart import merge_replies

from .vectors import ALL, FROM_SWITCH, TO_SWITCH

PORTS = {"p1": 1, "p2": 2, "br0": 0xFFFE}
_EXTRA = re.compile(r"(cookie|idle|hard|out_port|out_group|buf|importance|pri):|"
                    r"send_flow_rem|check_overlap|reset_counts|no_packet_counts|"
                    r"no_byte_counts")
_TRAP_PREREQ = "traps/08_ct_tuple_without_valid_ct_state.json"


def test_vectors_present():
    assert len(TO_SWITCH) > 600 and len(FROM_SWITCH) > 600


def test_every_message_to_the_switch_decodes():
    failures = []
    for m in TO_SWITCH:
        try:
            decode(m.data, m.state)
        except OFPError as e:
            if m.file != _TRAP_PREREQ or m.type != "OFPT_FLOW_MOD":
                failures.append(f"{m.file} {m.type}: {e.name} {e.msg}")
    assert not failures, "\n".join(failures)


def test_invalid_ct_tuple_prerequisite_is_refused():
    [m] = [m for m in TO_SWITCH if m.file == _TRAP_PREREQ and m.type == "OFPT_FLOW_MOD"]
    with pytest.raises(OFPError) as e:
        decode(m.data, m.state)
    assert e.value.name == "OFPBMC_BAD_PREREQ"
    assert "decode error: OFPBMC_BAD_PREREQ" in m.decoded


def test_every_reply_of_the_capture_switch_decodes():
    failures = []
    for m in FROM_SWITCH:
        try:
            decode(m.data, m.state)
        except OFPError as e:
            failures.append(f"{m.file} {m.type}: {e.name} {e.msg}")
    assert not failures, "\n".join(failures)


def _split_flow_mod_text(decoded: str) -> tuple[int | None, str, str]:
    """(table, match, actions) from ovs-ofctl's one-line flow_mod decode."""
    body = decoded.split("\n")[0].split("): ", 1)[1]
    pre, actions = body.split(" actions=", 1)
    toks = pre.split(" ")
    i, table = 1, None
    if i < len(toks) and toks[i].startswith("table:"):
        table = int(toks[i][6:])
        i += 1
    match = toks[i] if i < len(toks) and not _EXTRA.match(toks[i]) else ""
    return table, match, actions


def _flow_mods():
    return [m for m in TO_SWITCH if m.type in ("OFPT_FLOW_MOD", "NXT_FLOW_MOD")
            and m.file != _TRAP_PREREQ]


def test_decoded_flow_mods_print_as_ovs_ofctl_printed_them():
    mods = _flow_mods()
    assert len(mods) > 100
    for m in mods:
        fm = decode(m.data, m.state)
        assert isinstance(fm, FlowMod)
        table, match, actions = _split_flow_mod_text(m.decoded)
        assert format_match(fm.match, fm.priority) == match, m.file
        assert format_actions(fm.actions) == actions, m.file
        if m.version != 1 or m.state.flow_mod_table_id:
            table = table or 0  # ovs-ofctl omits table:0
            assert fm.table_id == (None if table == 255 else table), m.file
        else:
            assert fm.table_id is None, m.file


def test_packet_out_actions_print_as_ovs_ofctl_printed_them():
    outs = [m for m in TO_SWITCH if m.type == "OFPT_PACKET_OUT"]
    assert len(outs) == 4
    for m in outs:
        po = decode(m.data)
        assert isinstance(po, PacketOut)
        text = m.decoded.split("\n")[0]
        assert f"in_port={po.in_port} actions={format_actions(po.actions)} " in text
        assert f"data_len={len(po.data)}" in text


def test_ovs_ofctl_messages_reencode_to_the_same_bytes():
    """Everything ovs-ofctl sent comes back byte for byte (its encodings are canonical)."""
    failures = []
    for m in TO_SWITCH:
        if not m.from_ovs_ofctl or m.type == "OFPT_ERROR":
            continue
        try:
            msg = decode(m.data, m.state)
        except OFPError:
            continue
        again = encode(msg, m.version, m.xid, m.state)
        if again != m.data:
            failures.append(f"{m.file} {m.type}\n  want {m.data.hex()}\n  got  {again.hex()}")
    assert not failures, "\n".join(failures)


def test_capture_switch_replies_survive_a_round_trip():
    """Our decoding of a reply, encoded again, decodes to the same value."""
    for m in FROM_SWITCH:
        msg = decode(m.data, m.state)
        again = encode(msg, m.version, m.xid, m.state)
        parts = [decode(again[i:]) for i in _offsets(again)]
        assert merge_replies(parts) == merge_replies([msg]), m.file


def _offsets(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        out.append(pos)
        pos += int.from_bytes(data[pos + 2:pos + 4], "big")
    return [o for o in out]


_COMMANDS = {"add-flow": FlowModCommand.ADD, "mod-flows": FlowModCommand.MODIFY,
             "del-flows": FlowModCommand.DELETE}


def _from_text_cases():
    cases = []
    for m in _flow_mods():
        if not m.from_ovs_ofctl:
            continue
        command_line = list(m.record["command"])
        if "-O" in command_line:
            i = command_line.index("-O")
            del command_line[i:i + 2]
        argv = [a for a in command_line if not a.startswith("-")]
        opts = [a for a in command_line if a.startswith("--")]
        verb = argv[1]
        if verb in _COMMANDS and len(argv) == 4:
            command = _COMMANDS[verb]
            if "--strict" in opts:
                command = FlowModCommand(command.value + 1)
            cases.append((m, [argv[3]], command))
        elif verb == "add-flows":
            lines = [ln for ln in m.record["flows_file_contents"].splitlines() if ln.strip()]
            cases.append((m, lines, FlowModCommand.ADD))
    return cases


def test_flow_text_encodes_to_the_bytes_ovs_ofctl_sent():
    """parse the command's flow text, encode it: the bytes ovs-ofctl put on the wire."""
    cases = _from_text_cases()
    assert len(cases) > 60
    seen_files: dict[str, int] = {}
    for m, lines, command in cases:
        if len(lines) > 1:  # add-flows: the n-th flow_mod of the file
            index = seen_files.get(m.file, 0)
            seen_files[m.file] = index + 1
            fm = parse_flow_mods(lines, command, PORTS)[index]
        else:
            fm = parse_flow_mod(lines[0], command, PORTS)
        assert encode(fm, m.version, m.xid, m.state) == m.data, (m.file, lines)


def test_group_mods_reencode_and_keep_their_buckets():
    mods = [m for m in TO_SWITCH if m.type in ("OFPT_GROUP_MOD", "NXT_GROUP_MOD")]
    assert len(mods) == 6
    for m in mods:
        gm = decode(m.data)
        assert isinstance(gm, GroupMod)
        assert f"group_id={gm.group_id}" in m.decoded or gm.group_id == 0xFFFFFFFC
        for b in gm.buckets:
            assert format_actions(b.actions) in m.decoded


@pytest.mark.parametrize("name,show_stats", [
    ("of10/42_dump_flows_all.json", True), ("of13/46_dump_flows_all.json", True),
    ("of14/02_dump_flows_of14.json", True), ("of10/45_dump_flows_no_stats.json", False),
    ("of13/49_dump_flows_no_stats.json", False),
])
def test_flow_stats_replies_print_the_dump_flows_lines(name, show_stats):
    replies = [m for m in ALL if m.file == name and m.type.endswith("FLOW_REPLY")]
    merged = merge_replies([decode(m.data) for m in replies])
    assert isinstance(merged, FlowStatsReply)
    want = [ln for ln in replies[0].record["stdout"].splitlines() if ln.startswith(" ")]
    got = [format_flow_stats(f, show_stats=show_stats) for f in merged.flows]
    assert got == want
