"""The flows of the ovs-ofctl capture suites, parsed and printed back, against the
``dump-flows`` text the real ovs-ofctl printed for them.

The captured switch stored what ovs-ofctl sent on the wire, so the dumps show the actions
as the wire spelled them: OpenFlow 1.0 (Nicira) turns ``set_field`` on NXM-only fields into
``load:`` and ``goto_table`` into ``resubmit``; OpenFlow 1.3 turns ``mod_*`` into
``set_field``.  :func:`as_wire` applies exactly those encodings to what our parser stored,
so the comparison is exact text equality of whole dump lines.
"""

from __future__ import annotations

import json
import pathlib

import pytest
from ovs.flow.ofp import OFPFlow

from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.fields import FIELDS
from pyvswitch.flow.flow_text import format_flow_stats, parse_flow_mod, parse_flow_mods
from pyvswitch.flow.flowmod import FlowModCommand, FlowStats

VECTORS = pathlib.Path("/work/shared/ofctl-vectors")
PORTS = {"p1": 1, "p2": 2}

#: OpenFlow 1.0 actions that a set_field on these fields becomes (others become load:)
_OF10_LEGACY = {"eth_src": A.SetRaw.MOD_DL_SRC, "eth_dst": A.SetRaw.MOD_DL_DST,
                "ip_src": A.SetRaw.MOD_NW_SRC, "ip_dst": A.SetRaw.MOD_NW_DST,
                "tcp_src": A.SetRaw.MOD_TP_SRC, "udp_src": A.SetRaw.MOD_TP_SRC,
                "tcp_dst": A.SetRaw.MOD_TP_DST, "udp_dst": A.SetRaw.MOD_TP_DST}
_OF13_MOD = {A.SetRaw.MOD_DL_SRC: "eth_src", A.SetRaw.MOD_DL_DST: "eth_dst",
             A.SetRaw.MOD_NW_SRC: "ip_src", A.SetRaw.MOD_NW_DST: "ip_dst"}


def as_wire(actions, version: int, nw_proto: int):
    """What a switch stores for ``actions`` sent by ovs-ofctl in OpenFlow ``version``."""
    out = []
    for a in actions:
        if isinstance(a, A.Ct):
            a = A.Ct(a.flags, a.zone_imm, a.zone_src, a.recirc_table, a.alg,
                     tuple(as_wire(a.actions, version, nw_proto)))
        elif isinstance(a, A.SetField) and a.raw is A.SetRaw.SET_FIELD:
            exact = a.mask == a.field.full_mask
            if version == 1 and exact and a.field.name in _OF10_LEGACY:
                a = A.SetField(a.field, a.value, a.mask, _OF10_LEGACY[a.field.name])
            elif version == 1 or not exact:
                a = A.SetField(a.field, a.value, a.mask, A.SetRaw.LOAD)
        elif isinstance(a, A.SetField) and version == 4 and a.raw in _OF13_MOD:
            a = A.SetField(FIELDS[_OF13_MOD[a.raw]], a.value, a.mask, A.SetRaw.SET_FIELD)
        elif isinstance(a, A.SetField) and version == 4 and a.raw is A.SetRaw.MOD_TP_DST:
            field = FIELDS["tcp_dst" if nw_proto == 6 else "udp_dst"]
            a = A.SetField(field, a.value, 0xFFFF, A.SetRaw.SET_FIELD)
        elif isinstance(a, A.SetField) and version == 4 and a.raw is A.SetRaw.MOD_NW_TOS:
            a = A.SetField(FIELDS["ip_dscp"], a.value >> 2, 0x3F, A.SetRaw.SET_FIELD)
        elif isinstance(a, A.PopVlan):
            a = A.PopVlan(A.PopVlanRaw.STRIP_VLAN if version == 1 else A.PopVlanRaw.POP_VLAN)
        elif isinstance(a, A.SetVlanVid) and version == 4:
            a = A.SetField(FIELDS["vlan_vid"], a.vid | 0x1000, 0x1FFF, A.SetRaw.SET_FIELD)
        elif isinstance(a, A.GotoTable) and version == 1:
            a = A.Resubmit(None, a.table_id)
        out.append(a)
    return out


def _suite(name: str, dump_file: str):
    """(version, [(flow_mod, dump_line)]) for every flow the suite added, in order."""
    flows = []
    for path in sorted((VECTORS / name).glob("*.json")):
        d = json.loads(path.read_text())
        if path.name == dump_file:
            lines = d["stdout"].splitlines()[1:]
            break
        if d["exit_code"] != 0:
            continue
        if "add-flow" in d["command"]:
            flows.append(parse_flow_mod(d["command"][-1], FlowModCommand.ADD, PORTS))
        elif "add-flows" in d["command"]:
            flows.extend(parse_flow_mods(d["flows_file_contents"], FlowModCommand.ADD))
    assert len(flows) == len(lines)
    return list(zip(flows, lines))


CASES = [(1, pair) for pair in _suite("of10", "42_dump_flows_all.json")] + \
        [(4, pair) for pair in _suite("of13", "46_dump_flows_all.json")]


@pytest.mark.parametrize(("version", "pair"), CASES,
                         ids=[f"of{v}-{i}" for i, (v, _) in enumerate(CASES)])
def test_dump_line(version, pair):
    fm, line = pair
    info = OFPFlow(line).info
    stats = FlowStats(
        table_id=fm.table_id or 0, priority=fm.priority, match=fm.match,
        actions=tuple(as_wire(fm.actions, version, fm.match.nw_proto() or 0)),
        duration=info["duration"], cookie=fm.cookie, idle_timeout=fm.idle_timeout,
        hard_timeout=fm.hard_timeout, flags=fm.flags if version == 4 else 0,
        idle_age=int(info["idle_age"]) if "idle_age" in info else None)
    assert format_flow_stats(stats) == line


@pytest.mark.parametrize("suite", ["of10/45_dump_flows_no_stats.json",
                                   "of13/49_dump_flows_no_stats.json"])
def test_no_stats_lines_reparse_to_themselves(suite):
    """``--no-stats`` lines are valid flows: parsing and printing them changes nothing."""
    d = json.loads((VECTORS / suite).read_text())
    for line in d["stdout"].splitlines():
        fm = parse_flow_mod(line, FlowModCommand.ADD)
        stats = FlowStats(table_id=0, priority=fm.priority, match=fm.match,
                          actions=fm.actions)
        assert format_flow_stats(stats, show_stats=False) == line


def test_add_flow_ordering_error_of13_42():
    d = json.loads((VECTORS / "of13/42_add_flow_instruction_order_error.json").read_text())
    with pytest.raises(Exception) as e:
        parse_flow_mod(d["command"][-1], FlowModCommand.ADD)
    assert f"ovs-ofctl: {e.value}\n" == d["stderr"]
