"""pyvs-ofctl over OpenFlow shows what the real ovs-ofctl shows.

Both tools talk to the same pyvswitchd over its management socket (and over a
``ptcp:`` listener); for the same requests they must print the same text, reply
headers and transaction ids included (durations and ages aside, as two dumps are not
taken at the same instant).  Every dump-flows line must parse with the ``ovs``
package's ``OFPFlow``.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from ovs.flow.ofp import OFPFlow

from tests.interop.test_ofctl_support import no_times, pyvs  # noqa: F401
from tests.interop.test_ofctl_vs_ovs import BAD_FLOWS, EXTRA_FLOWS, FIREWALL

pytestmark = pytest.mark.interop


def pyvs_ofctl(sw, *args: str, input: str | None = None, check: bool = True):
    """pyvs-ofctl as users run it (its default transport is OpenFlow)."""
    argv = sw.proc.argv("pyvs-ofctl", *[sw.target if a == "BR" else a for a in args])
    r = subprocess.run(argv, env=sw.proc.env, input=input, capture_output=True, text=True,
                       timeout=60)
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def loaded(pyvs):  # noqa: F811
    pyvs.reset()
    pyvs.ofctl("add-flows", "BR", "-", input=FIREWALL)
    for f in EXTRA_FLOWS:
        pyvs.ofctl("add-flow", "BR", f)
    pyvs.ofctl("-O", "OpenFlow13", "add-group", "BR",
               "group_id=1,type=select,bucket=weight:10,output:1,bucket=weight:20,output:2")
    return pyvs


COMMANDS = [
    ["show", "BR"],
    ["dump-flows", "BR"],
    ["dump-flows", "BR", "table=1"],
    ["--no-stats", "dump-flows", "BR", "table=1,ct_state=+trk+new,ip"],
    ["--no-stats", "--sort", "dump-flows", "BR"],
    ["--names", "dump-flows", "BR"],
    ["--rsort", "dump-flows", "BR", "table=1"],
    ["dump-aggregate", "BR"],
    ["dump-aggregate", "BR", "table=3"],
    ["dump-tables", "BR"],
    ["dump-ports", "BR"],
    ["dump-ports", "BR", "2"],
    ["dump-groups", "BR"],
]


@pytest.mark.parametrize("of", [[], ["-O", "OpenFlow13"], ["-O", "OpenFlow14"]])
@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c))
def test_same_text_as_ovs_ofctl(loaded, of, cmd):
    theirs = loaded.ofctl(*of, *cmd).stdout
    ours = pyvs_ofctl(loaded, *of, *cmd).stdout
    assert no_times(ours) == no_times(theirs)
    # the bridge name works as the target too
    by_name = pyvs_ofctl(loaded, *of, *[("br0" if a == "BR" else a) for a in cmd]).stdout
    assert no_times(by_name) == no_times(theirs)


def test_dump_flows_lines_parse_with_ovs_package(loaded):
    for of in ([], ["-O", "OpenFlow13"]):
        text = pyvs_ofctl(loaded, *of, "dump-flows", "BR").stdout
        lines = [x for x in text.splitlines() if x.startswith(" ")]
        assert len(lines) > 15
        for line in lines:
            flow = OFPFlow(line.strip())
            assert flow.info and flow.actions is not None


def test_changes_through_pyvs_ofctl(pyvs):  # noqa: F811
    pyvs.reset()
    pyvs_ofctl(pyvs, "add-flows", "br0", "-", input=FIREWALL)
    pyvs_ofctl(pyvs, "add-flow", "br0", "table=5,priority=9,in_port=p1,tcp,actions=output:p2")
    assert "priority=9,tcp,in_port=1" in pyvs.ofctl("dump-flows", "BR", "table=5").stdout
    pyvs_ofctl(pyvs, "mod-flows", "br0", "table=5,tcp,actions=output:3")
    assert "actions=output:3" in pyvs.ofctl("dump-flows", "BR", "table=5").stdout
    pyvs_ofctl(pyvs, "--strict", "del-flows", "br0", "table=5,priority=9,in_port=1,tcp")
    assert "table=5" not in pyvs.ofctl("dump-flows", "BR").stdout
    # a file the switch refuses in part installs nothing (one atomic bundle)
    refused = "table=6,tcp,ct_state=+trk,ct_nw_src=198.51.100.1,actions=drop"
    bad = f"table=6,priority=1,ip,actions=drop\n{refused}\n"
    r = pyvs_ofctl(pyvs, "add-flows", "br0", "-", input=bad, check=False)
    assert r.returncode == 1
    assert r.stderr.startswith("pyvs-ofctl: OFPT_ERROR (xid=")
    assert f"OFPBMC_BAD_PREREQ: {refused}" in r.stderr
    assert len(r.stderr.splitlines()) == 1
    assert "table=6" not in pyvs.ofctl("dump-flows", "BR").stdout
    # ... and a file ovs-ofctl would not even send is not sent either
    bad = "table=6,priority=1,ip,actions=drop\ntable=6,arp,actions=ct(commit)\n"
    r = pyvs_ofctl(pyvs, "add-flows", "br0", "-", input=bad, check=False)
    assert (r.returncode, r.stderr) == (1, "pyvs-ofctl: -:2: actions are invalid with "
                                           "specified match (OFPBAC_MATCH_INCONSISTENT)\n")
    assert "table=6" not in pyvs.ofctl("dump-flows", "BR").stdout
    # replace-flows: the tables become exactly the file
    pyvs_ofctl(pyvs, "replace-flows", "br0", "-",
               input="priority=0,actions=NORMAL\npriority=7,arp,actions=NORMAL\n")
    assert pyvs_ofctl(pyvs, "--no-stats", "--sort", "dump-flows", "br0").stdout == (
        " priority=0 actions=NORMAL\n priority=7,arp actions=NORMAL\n")
    # groups and packet-out
    pyvs_ofctl(pyvs, "-O", "OpenFlow13", "add-group", "br0",
               "group_id=3,type=all,bucket=output:1")
    assert "group_id=3" in pyvs.ofctl("-O", "OpenFlow13", "dump-groups", "BR").stdout
    pyvs_ofctl(pyvs, "del-groups", "br0")
    before = pyvs.ofctl("dump-ports", "BR", "3").stdout
    pyvs_ofctl(pyvs, "packet-out", "br0", "LOCAL", "output:3",
               "ffffffffffff02000000000108004500001c000000004011f6c8c6336401c6336402")
    assert pyvs.ofctl("dump-ports", "BR", "3").stdout != before


def test_tcp_target_through_a_ptcp_listener(pyvs):  # noqa: F811
    pyvs.proc.vsctl("set-controller", "br0", "ptcp:16690:127.0.0.1")
    try:
        out = pyvs_ofctl(pyvs, "-O", "OpenFlow13", "dump-flows", "tcp:127.0.0.1:16690").stdout
        assert out.startswith("OFPST_FLOW reply (OF1.3) (xid=0x2):")
    finally:
        pyvs.proc.vsctl("del-controller", "br0")


def test_errors_are_one_line(pyvs):  # noqa: F811
    r = pyvs_ofctl(pyvs, "dump-flows", "br9", check=False)
    assert (r.returncode, r.stderr) == (1, "pyvs-ofctl: br9 is not a bridge or a socket\n")
    r = pyvs_ofctl(pyvs, "add-flow", "br0", "tcp,tcp_dts=80,actions=drop", check=False)
    assert (r.returncode, r.stderr) == (
        1, "pyvs-ofctl: unknown field 'tcp_dts' in \"tcp,tcp_dts=80,actions=drop\"\n")
    # ovs-ofctl's words for the same mistake are still there to recognise
    theirs = pyvs.ofctl("add-flow", "BR", "tcp,tcp_dts=80,actions=drop", check=False)
    assert (theirs.returncode, theirs.stderr) == (1, "ovs-ofctl: unknown keyword tcp_dts\n")
    r = pyvs_ofctl(pyvs, "dump-flows", "tcp:127.0.0.1:1", check=False)
    assert r.returncode == 1 and "failed to connect to socket" in r.stderr


@pytest.mark.parametrize("of", [[], ["-O", "OpenFlow13"]])
@pytest.mark.parametrize("flow", BAD_FLOWS)
def test_refusals_as_ovs_ofctl(pyvs, of, flow):  # noqa: F811
    """pyvs-ofctl refuses what ovs-ofctl refuses, where ovs-ofctl refuses it: before
    sending (the actions checked against the match and table: in OpenFlow 1.0 a
    goto_table backwards would travel as a resubmit) with ovs-ofctl's words, or by the
    switch's OFPT_ERROR in one line; the table stays as it was."""
    pyvs.reset()
    before = pyvs.ofctl("--no-stats", "dump-flows", "BR").stdout
    theirs = pyvs.ofctl(*of, "add-flow", "BR", flow, check=False)
    ours = pyvs_ofctl(pyvs, *of, "add-flow", "br0", flow, check=False)
    assert ours.returncode == theirs.returncode, (ours.stderr, theirs.stderr)
    if ours.returncode:
        assert pyvs.ofctl("--no-stats", "dump-flows", "BR").stdout == before
        assert len(ours.stderr.splitlines()) == 1
        last = theirs.stderr.splitlines()[-1]
        if last.startswith("ovs-ofctl: "):  # refused before sending
            assert ours.stderr == last.replace("ovs-ofctl: ", "pyvs-ofctl: ") + "\n"
        else:  # the switch's error
            name = re.search(r"OFPT_ERROR .*\): (\w+)", theirs.stderr).group(1)
            assert ours.stderr.startswith("pyvs-ofctl: OFPT_ERROR (xid=")
            assert f": {name}: {flow}" in ours.stderr



FRAME = "ffffffffffff02000000000108004500001c000000004011f6c8c6336401c6336402"
BAD_COMMANDS = [
    ["dump-ports", "BR", "p9"],
    ["packet-out", "BR", "9", "output:1", "ffffffffffff"],
    ["packet-out", "BR", "1", "output:2", "zz"],
    ["packet-out", "BR", "p9", "output:2", FRAME],
    ["-O", "OpenFlow99", "show", "BR"],
    ["-O", "OpenFlow15", "show", "BR"],
    ["add-flows", "BR", "/nonexistent/flows"],
    ["mod-flows", "BR"],
    ["del-flows", "BR", "in_port=1", "extra"],
    ["--frob", "show", "BR"],
    ["frob", "BR"],
]


@pytest.mark.parametrize("cmd", BAD_COMMANDS, ids=lambda c: " ".join(c))
def test_usage_errors_as_ovs_ofctl(pyvs, cmd):  # noqa: F811
    theirs = pyvs.ofctl(*cmd, check=False)
    ours = pyvs_ofctl(pyvs, *cmd, check=False)
    assert (ours.returncode, ours.stderr) == (
        theirs.returncode,
        re.sub(r"^\S*ovs-ofctl:", "pyvs-ofctl:", theirs.stderr.splitlines()[-1]) + "\n")
