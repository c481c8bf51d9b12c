"""Differential test against ovs-ofctl: a few hundred random flows (fixed seeds), parsed
by ovs-ofctl (``parse-flows``: its parser, its encoder, its decoder) and by us (our text
parser, our encoder, then ovs-ofctl's decoder on our bytes).  The two printed flow_mods
must be identical, in OpenFlow 1.0 (NXM) and 1.3, so our encodings mean what ovs-ofctl's
mean.  ovs-ofctl's choice between the OpenFlow 1.0 match and NXM is compared too."""

from __future__ import annotations

import random
import subprocess
import tempfile

import pytest

from pyvswitch.flow.flow_text import parse_flow_mod
from pyvswitch.flow.flowmod import FlowModCommand
from pyvswitch.openflow.codec import encode
from pyvswitch.openflow.consts import NXFF_NXM
from pyvswitch.openflow.messages import SessionState
from pyvswitch.openflow.msg_flow import legacy_flow_format_needed

from .gen import random_actions_text, random_match_text
from .ofprint import OVS_OFCTL, ofp_print_many


@pytest.fixture(autouse=True)
def _needs_ovs_ofctl():
    """The real ovs-ofctl is the oracle here; scripts/setup.sh installs it.  Missing, the
    test fails instead of silently passing."""
    assert OVS_OFCTL is not None, "ovs-ofctl is not installed (run scripts/setup.sh)"


def _flows(seed: int, n: int, version: int, nxm: bool = True) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        match, proto = random_match_text(rng, nxm)
        table = rng.randrange(254)
        extra = f"table={table},priority={rng.randrange(65536)},"
        if rng.random() < 0.3:
            extra += f"cookie={rng.getrandbits(64):#x},idle_timeout={rng.randrange(100)},"
        out.append(extra + (match + "," if match else "") + "actions="
                   + random_actions_text(rng, match, proto, version, table))
    return out


def _ovs_parse_flows(flows: list[str], version: int) -> list[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write("\n".join(flows) + "\n")
        f.flush()
        args = [OVS_OFCTL] + (["-O", "OpenFlow13"] if version == 4 else [])
        text = subprocess.run(args + ["parse-flows", f.name], capture_output=True,
                              text=True, check=True, timeout=60).stdout
    return [ln for ln in text.splitlines() if "FLOW_MOD" in ln]


@pytest.mark.parametrize("version,seed", [(1, 1), (1, 2), (4, 3), (4, 4)])
def test_random_flows_encode_like_ovs_ofctl(version, seed):
    flows = _flows(seed, 150, version)
    theirs = _ovs_parse_flows(flows, version)
    assert len(theirs) == len(flows)
    # ovs-ofctl picks one protocol for the whole file: NXM with table ids in 1.0
    state = SessionState(flow_format=NXFF_NXM, flow_mod_table_id=True)
    ours = [encode(parse_flow_mod(f, FlowModCommand.ADD), version, i + 1, state)
            for i, f in enumerate(flows)]
    printed = [t.split("\n")[0] for t in ofp_print_many(ours)]
    for flow, mine, want in zip(flows, printed, theirs):
        assert mine == want, flow


def _chosen_protocol(flow: str) -> str:
    text = subprocess.run([OVS_OFCTL, "parse-flow", flow], capture_output=True, text=True,
                          check=True, timeout=30).stdout
    return text.split("chosen protocol: ", 1)[1].split("\n", 1)[0]


def test_openflow10_or_nxm_as_ovs_ofctl_chooses():
    flows = _flows(5, 25, 1, nxm=False) + _flows(6, 25, 1)
    for flow in flows:
        fm = parse_flow_mod(flow, FlowModCommand.ADD)
        needs_nxm, needs_tid = legacy_flow_format_needed(fm)
        chosen = _chosen_protocol(flow)
        assert chosen.startswith("NXM") == needs_nxm, (flow, chosen)
        assert needs_tid
