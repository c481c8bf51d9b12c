"""Parse errors against the real ``ovs-ofctl parse-flow``: for each bad flow, our
``ParseError`` message must be exactly what ovs-ofctl prints after ``ovs-ofctl: ``
(log lines aside), and a flow ovs-ofctl accepts must be accepted.
"""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from pyvswitch.errors import ParseError
from pyvswitch.flow.flow_text import parse_flow_mod
from pyvswitch.flow.flowmod import FlowModCommand

BAD_FLOWS = [
    'in_port=1',
    'in_port=1,actions=output:99999999',
    'in_port=foo,actions=drop',
    'tcp,tcp_dts=80,actions=drop',
    'tcp,tp_dst=80/0xffffff,actions=drop',
    'tcp,tp_dst=0x1ffff,actions=drop',
    'tcp,tp_dst=abc,actions=drop',
    'ip,nw_src=10.0.0.300,actions=drop',
    'ip,nw_src=10.0.0.1/33,actions=drop',
    'ipv6,ipv6_src=2001:db8::/129,actions=drop',
    'ipv6,ipv6_src=zz::1,actions=drop',
    'dl_src=00:11:22:33:44,actions=drop',
    'ct_state=+trk+foo,actions=drop',
    'ct_state=+trk+trk,actions=drop',
    'ct_state=trk+new,actions=drop',
    'ct_state=+trknew,actions=drop',
    'ct_state=0x100/0x100,actions=drop',
    'tcp,tcp_flags=+syn+bogus,actions=drop',
    'ip,nw_frag=maybe,actions=drop',
    'in_port=1/1,actions=drop',
    'nw_tos=0x10/0xf0,actions=drop',
    'NXM_NX_REG0[0..3]=17,actions=drop',
    'NXM_NX_REG0[0..3]=zz,actions=drop',
    'NXM_NX_REG0[0..40]=1,actions=drop',
    'NXM_NX_REG0[5..3]=1,actions=drop',
    'NXM_NX_REGX[]=1,actions=drop',
    'table=256,actions=drop',
    'table=foo,actions=drop',
    'priority=70000,actions=drop',
    'priority=foo,actions=drop',
    'idle_timeout=-1,actions=drop',
    'cookie=1/1,actions=drop',
    'cookie=foo,actions=drop',
    'frobnicate=1,actions=drop',
    'out_port=1,actions=drop',
    'actions=frobnicate',
    'actions=output:foo',
    'actions=resubmit(foo)',
    'actions=resubmit(,300)',
    'actions=resubmit()',
    'actions=resubmit(1,2,xyz)',
    'actions=drop,output:1',
    'actions=apply_actions',
    'actions=goto_table:8,output:1',
    'actions=goto_table:1,goto_table:2',
    'actions=write_actions(goto_table:3)',
    'actions=clear_actions,write_actions(output:1),clear_actions',
    'ip,actions=ct(commit,exec(set_field:1->reg0))',
    'ip,actions=ct(commit,exec(output:1))',
    'ip,actions=ct(commit,exec(mod_dl_src:00:00:00:00:00:01))',
    'ip,actions=ct(force)',
    'ip,actions=ct(table=255)',
    'ip,actions=ct(table=foo)',
    'ip,actions=ct(zone=NXM_NX_FOO[])',
    'ip,actions=ct(alg=http)',
    'ip,actions=ct(frob)',
    'ip,actions=ct(commit,nat(src=10.0.0.1,dst=10.0.0.2))',
    'ip,actions=ct(commit,nat(persistent))',
    'ip,actions=ct(commit,nat(src=10.0.0.1,hash,random))',
    'ip,actions=ct(commit,nat(src=10.0.0.5-10.0.0.1))',
    'ip,actions=ct(commit,nat(src=10.0.0.1:100-50))',
    'ip,actions=ct(commit,nat(src=10.0.0.1x))',
    'ip,actions=ct(commit,nat(foo))',
    'ip,actions=nat',
    'actions=set_field:1->ct_mark',
    'actions=set_field:1->foo',
    'actions=set_field:1->ct_state',
    'actions=set_field:1',
    'actions=set_field:1->',
    'actions=set_field:64->ip_dscp',
    'actions=set_field:zz->reg0',
    'actions=load:1->foo[]',
    'actions=load:0x100->NXM_NX_REG0[0..7]',
    'actions=load:zz->NXM_NX_REG0[]',
    'actions=load:1',
    'actions=move:NXM_NX_REG0[0..7]->NXM_NX_REG1[0..3]',
    'actions=move:NXM_NX_REG0[]NXM_NX_REG1[]',
    'actions=mod_nw_tos:3',
    'actions=mod_nw_tos:300',
    'actions=mod_nw_ecn:4',
    'actions=mod_vlan_vid:5000',
    'actions=mod_vlan_pcp:8',
    'actions=push_vlan:0x800',
    'actions=mod_dl_src:zz',
    'actions=mod_nw_dst:10.0.0',
    'actions=mod_tp_dst:70000',
    'actions=dec_ttl(,)',
    'actions=controller(reason=foo)',
    'actions=controller(foo=1)',
    'actions=controller(userdata=zz)',
    'actions=controller(max_len=70000)',
    'actions=note:zz',
    'actions=enqueue:1',
    'actions=enqueue:foo:1',
    'actions=group:foo',
    'actions=write_metadata:foo',
    'actions=goto_table:foo',
    'actions=learn(table=255)',
    'actions=learn(foo=bar)',
    'actions=learn(NXM_NX_REG0[0..3]=NXM_NX_REG1[])',
    'actions=learn(load:NXM_NX_REG0[])',
    'actions=learn(load:->NXM_NX_REG0[])',
    'actions=learn(load:5x->NXM_NX_REG0[])',
    'actions=learn(load:0x100->NXM_NX_REG0[0..7])',
    'actions=learn(NXM_NX_REG0[0..3]=0x100)',
    'actions=learn(in_port=foo)',
    'actions=learn(result_dst=NXM_NX_REG0[0..1])',
    'actions=learn(result_dst=NXM_NX_CT_STATE[1])',
    'actions=learn(dl_vlan=5)',
    'actions=output:NXM_NX_REG0[0..40]',
]


def _ovs_error(flow: str) -> str | None:
    ofctl = shutil.which("ovs-ofctl")
    assert ofctl, "ovs-ofctl (openvswitch-common) is required for the oracle tests"
    res = subprocess.run([ofctl, "parse-flow", flow], capture_output=True, text=True,
                         timeout=30)
    if res.returncode == 0:
        return None
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("ovs-ofctl: ")]
    assert len(lines) == 1, res.stderr
    return lines[0].removeprefix("ovs-ofctl: ")


@pytest.mark.parametrize("flow", BAD_FLOWS)
def test_error_wording_matches_ovs_ofctl(flow):
    expected = _ovs_error(flow)
    if expected is None:
        parse_flow_mod(flow, FlowModCommand.ADD)
        return
    with pytest.raises(ParseError) as e:
        parse_flow_mod(flow, FlowModCommand.ADD)
    assert str(e.value) == expected


# ----------------------------------------------------------------------------- fuzz
_ALPHABET = "abcdefx0123456789:,=()[]./-+>_ "
# errors that come from ovs-ofctl's checks against the match (the ofproto layer's job here)
_NOT_OURS = ("actions are invalid", "usable", "prerequisites")


def _mutants(n: int, seed: int = 7) -> list[str]:
    from tests.unit.flow.flow_table import OF10, OF13, OF15

    rng = random.Random(seed)
    out = []
    while len(out) < n:
        s = rng.choice(OF10 + OF13 + OF15)
        for _ in range(rng.randint(1, 2)):
            i = rng.randrange(len(s) + 1)
            op = rng.random()
            if op < 0.4:
                s = s[:i] + s[i + 1:]
            elif op < 0.8:
                s = s[:i] + rng.choice(_ALPHABET) + s[i:]
            else:
                s = s[:i] + s[i:i + 3] * 2 + s[i + 3:]
        if s and not s.startswith("-"):  # not a command-line option
            out.append(s)
    return out


def test_mutated_flows_get_ovs_verdicts():
    """Randomly damaged flows: same accept/reject verdict and same message as ovs-ofctl."""
    ofctl = shutil.which("ovs-ofctl")
    assert ofctl
    diffs = []
    for flow in _mutants(150):
        res = subprocess.run([ofctl, "-O", "OpenFlow15", "parse-flow", flow],
                             capture_output=True, text=True, timeout=30)
        errs = [ln for ln in res.stderr.splitlines() if ln.startswith("ovs-ofctl: ")]
        expected = errs[0].removeprefix("ovs-ofctl: ") if res.returncode else None
        if expected and any(s in expected for s in _NOT_OURS):
            continue
        try:
            parse_flow_mod(flow, FlowModCommand.ADD)
            ours = None
        except ParseError as e:
            ours = str(e)
        if ours != expected:
            diffs.append(f"{flow!r}\n  ovs:  {expected}\n  ours: {ours}")
    assert not diffs, "\n".join(diffs)
