"""Replay of the captured ovs-ofctl conversations (``shared/ofctl-vectors``).

Every suite (OpenFlow 1.0 default mode, ``-O OpenFlow13``, 1.4 bundles) is replayed in
order against one in-process bridge, one fresh connection per captured connection, and
our answers are compared with what the capturing switch answered: the same replies to
the same xids, errors where it sent errors.  The capturing switch was a fake with a toy
flow table; where real OVS answers differently than the fake, we answer like OVS (listed
in ``DIFFERENT``).  Then the dump-flows of each suite's full table must equal, line for
line, the golden ``ovs-ofctl dump-flows`` output of the capture.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from pyvswitch.flow.flow_text import format_flow_stats
from pyvswitch.ofproto_dpif.switch import Switch
from pyvswitch.ofserver.connmgr import ConnManager, NullHost
from pyvswitch.openflow.codec import decode
from pyvswitch.openflow.header import split_messages
from pyvswitch.openflow.messages import FlowStatsReply

VECTORS = Path("/work/shared/ofctl-vectors")
SUITES = ("of10", "of13", "of14", "traps")

#: captures where OVS (and so pyvswitch) answers differently than the capturing fake
DIFFERENT = {
    # the fake refused NXT_PACKET_IN2; OVS (and we) accept it
    "of10/64_monitor_with_packet_in.json",
    "of13/68_monitor_with_packet_in.json",
    # the fake did not implement these Nicira group statistics
    "of10/61_dump_group_stats.json",
    "of10/62_dump_group_features.json",
    # deliberately broken fake (table-features errors, NXM refused)
    "traps/04_table_features_error_breaks_add_flow.json",
    "traps/06_table_features_empty_reply_rejected.json",
    "traps/07_of10_dump_flows_switch_rejects_nxm.json",
    # the fake lacked OpenFlow 1.4; we have it
    "traps/01_bundle_default_needs_of14.json",
    "traps/03_of14_only_no_common_version.json",
    # the fake installed the flow; OVS refuses it (ct tuple needs a valid ct_state)
    "traps/08_ct_tuple_without_valid_ct_state.json",
    # the fake installed a flow using group 1 before the group existed; OVS refuses it
    # (OFPBAC_BAD_OUT_GROUP)
    "of13/41_add_flow_group_action.json",
}
#: golden flow lines the fake showed that OVS would not have installed
NOT_INSTALLED = (" actions=group:1",)


def _files(suite: str) -> list[Path]:
    return sorted((VECTORS / suite).glob("*.json"))


def _switch() -> tuple[Switch, ConnManager]:
    sw = Switch()
    sw.add_bridge("br0", fail_mode="secure")
    sw.add_port("br0", "p1", ofport_request=1)
    sw.add_port("br0", "p2", ofport_request=2)
    mgr = ConnManager(sw, "br0", NullHost())
    return sw, mgr


def _replies(raw: bytes) -> list[tuple[int, bool, object]]:
    """(xid, is_error, decoded) of each message we sent, HELLO left out."""
    msgs, rest = split_messages(raw)
    assert rest == b""
    out = []
    for m in msgs:
        version, mtype, _length, xid = struct.unpack_from("!BBHI", m, 0)
        if mtype == 0:
            continue  # HELLO
        value = None
        # decode only what the tests read (errors and flow statistics): decoding the
        # 254-table TABLE_FEATURES replies back would dominate the run time
        stats_reply = 17 if version == 1 else 19
        if mtype == 1 or (mtype == stats_reply and struct.unpack_from("!H", m, 8)[0]
                          in (1, 0xFFFF)):
            value = decode(m)
        out.append((xid, mtype == 1, value))
    return out


def _collapse(items: list[tuple[int, bool]]) -> list[tuple[int, bool]]:
    """Multipart replies split differently: one entry per (xid, kind) run."""
    out: list[tuple[int, bool]] = []
    for it in items:
        if not out or out[-1] != it:
            out.append(it)
    return out


def _replay(mgr: ConnManager, conn: dict) -> tuple[list[tuple[int, bool]],
                                                   list[tuple[int, bool, object]]]:
    c = mgr.accepted("vector", 0.0)
    for m in conn["messages"]:
        if m["dir"] == "ofctl->switch":
            c.receive(bytes.fromhex(m["hex"]), 1.0)
    ours = _replies(c.data_to_send())
    mgr.closed(c, 1.0)
    theirs = [(m["xid"], m["type"] == "OFPT_ERROR") for m in conn["messages"]
              if m["dir"] == "switch->ofctl" and m["type"] not in ("OFPT_HELLO",
                                                                    "OFPT_PACKET_IN")]
    return _collapse(theirs), ours


@pytest.mark.parametrize("suite", SUITES)
def test_replies_match_the_capture(suite):
    sw, mgr = _switch()
    for path in _files(suite):
        name = f"{suite}/{path.name}"
        data = json.loads(path.read_text())
        for conn in data["connections"]:
            theirs, ours = _replay(mgr, conn)
            got = _collapse([(x, e) for x, e, _ in ours])
            if name in DIFFERENT:
                continue
            assert got == theirs, (name, got, theirs, [v for *_, v in ours if _[1]])


def _normalize(line: str) -> str:
    line = re.sub(r"duration=[0-9.]+s, ", "", line)
    return re.sub(r"(idle_age|hard_age)=\d+, ", "", line)


@pytest.mark.parametrize("suite,golden", [("of10", "42_dump_flows_all.json"),
                                          ("of13", "46_dump_flows_all.json")])
def test_dump_after_adds_matches_golden_text(suite, golden):
    sw, mgr = _switch()
    for path in _files(suite):
        data = json.loads(path.read_text())
        if path.name == golden:
            break
        for conn in data["connections"]:
            _replay(mgr, conn)
    data = json.loads((VECTORS / suite / golden).read_text())
    (conn,) = data["connections"]
    _theirs, ours = _replay(mgr, conn)
    flows = [f for _, _, v in ours if isinstance(v, FlowStatsReply) for f in v.flows]
    lines = sorted(_normalize(format_flow_stats(f)) for f in flows)
    want = sorted(_normalize(x) for x in data["stdout"].splitlines()
                  if x.startswith(" ") and not x.endswith(NOT_INSTALLED))
    assert lines == want
