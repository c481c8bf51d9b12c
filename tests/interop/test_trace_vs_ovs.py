"""Differential tests: our ``ofproto/trace`` against a private real Open vSwitch 3.1.

A fixture starts ``ovsdb-server`` and ``ovs-vswitchd --enable-dummy=override`` with
their own run/db/log directories under a temporary directory (never the system OVS) and
stops them by pid.  Every case builds the same bridge on both sides -- dummy ports
p1..p6 with OpenFlow numbers 1..6, optional VLAN settings -- installs the same flows
and groups, traces the same flow (or packet), and compares, pass by pass, the
``Datapath actions:`` lines (recirculation ids renumbered by first use; flood order
ignored; VLAN pushes and pops compared by their effect on each output) and the
``Megaflow:`` lines.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.interop

OVS_VSWITCHD = shutil.which("ovs-vswitchd") or "/usr/sbin/ovs-vswitchd"
OVSDB_SERVER = shutil.which("ovsdb-server") or "/usr/sbin/ovsdb-server"
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


@dataclass
class PortSpec:
    name: str
    ofport: int
    tag: int | None = None
    trunks: list[int] | None = None
    vlan_mode: str | None = None


DEFAULT_PORTS = [PortSpec(f"p{i}", i) for i in (1, 2, 3)]


class RealOVS:
    """A private ovsdb-server + ovs-vswitchd pair with dummy datapaths."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.env = dict(os.environ, OVS_RUNDIR=str(base), OVS_DBDIR=str(base),
                        OVS_LOGDIR=str(base), OVS_SYSCONFDIR=str(base))
        self.db = f"unix:{base}/db.sock"
        self.pids: list[int] = []

    def _run(self, *args: str, check: bool = True, input: str | None = None) -> str:
        r = subprocess.run(args, env=self.env, capture_output=True, text=True, input=input,
                           timeout=30)
        if check and r.returncode:
            raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def start(self) -> None:
        b = self.base
        self._run("ovsdb-tool", "create", f"{b}/conf.db", SCHEMA)
        self._run(OVSDB_SERVER, f"{b}/conf.db", f"--remote=punix:{b}/db.sock",
                  f"--pidfile={b}/ovsdb-server.pid", "--detach", "--no-chdir",
                  f"--log-file={b}/ovsdb-server.log")
        self.pids.append(int((b / "ovsdb-server.pid").read_text()))
        self.vsctl("--no-wait", "init")
        self._run(OVS_VSWITCHD, self.db, "--enable-dummy=override",
                  f"--pidfile={b}/ovs-vswitchd.pid", "--detach", "--no-chdir",
                  f"--log-file={b}/ovs-vswitchd.log")
        self.pids.append(int((b / "ovs-vswitchd.pid").read_text()))

    def stop(self) -> None:
        for pid in reversed(self.pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.02)
        self.pids.clear()

    def vsctl(self, *args: str) -> str:
        return self._run("ovs-vsctl", f"--db={self.db}", *args)

    def ofctl(self, *args: str, of13: bool = False, input: str | None = None) -> str:
        ver = ["-O", "OpenFlow13"] if of13 else []
        return self._run("ovs-ofctl", *ver, *args, input=input)

    def appctl(self, *args: str) -> str:
        return self._run("ovs-appctl", *args)

    def reset(self, ports: list[PortSpec]) -> None:
        self.vsctl("--if-exists", "del-br", "br0")
        cmd = ["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
               "fail-mode=secure"]
        for p in ports:
            cmd += ["--", "add-port", "br0", p.name]
            if p.tag is not None:
                cmd.append(f"tag={p.tag}")
            if p.trunks:
                cmd.append("trunks=" + ",".join(map(str, p.trunks)))
            if p.vlan_mode:
                cmd.append(f"vlan_mode={p.vlan_mode}")
            cmd += ["--", "set", "interface", p.name, "type=dummy",
                    f"ofport_request={p.ofport}"]
        self.vsctl(*cmd)

    def setup(self, ports: list[PortSpec], flows: list[str], groups: list[str],
              of13: bool) -> None:
        self.reset(ports)
        for g in groups:
            self.ofctl("add-group", "br0", g, of13=True)
        if flows:
            self.ofctl("add-flows", "br0", "-", of13=of13, input="\n".join(flows) + "\n")

    def trace(self, flow: str, packet: bytes | None = None,
              ct_next: tuple[str, ...] = ()) -> str:
        args = ["ofproto/trace", "br0", flow]
        if packet is not None:
            args.append(packet.hex())
        for c in ct_next:
            args += ["--ct-next", c]
        return self.appctl(*args)


@pytest.fixture(scope="module")
def real_ovs(tmp_path_factory):
    if not Path(OVS_VSWITCHD).exists() or not Path(SCHEMA).exists():
        pytest.fail("Open vSwitch 3.1 (ovs-vswitchd, ovsdb-server) is needed as the reference")
    ovs = RealOVS(tmp_path_factory.mktemp("ovs"))
    try:
        ovs.start()
        yield ovs
    finally:
        ovs.stop()


# ------------------------------------------------------------------- our side
def our_switch(ports: list[PortSpec], flows: list[str], groups: list[str]):
    from pyvswitch.ofproto_dpif.switch import Switch

    sw = Switch()
    br = sw.add_bridge("br0", fail_mode="secure")
    for p in ports:
        sw.add_port("br0", p.name, "dummy", ofport_request=p.ofport, tag=p.tag,
                    trunks=p.trunks, vlan_mode=p.vlan_mode)
    for g in groups:
        br.add_group(g)
    br.add_flows(flows)
    return sw, br


# ------------------------------------------------------------------- comparison
def split_top(s: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    out.append(cur)
    return out


def renumber_recirc(text: str) -> str:
    ids: dict[int, int] = {}

    def sub(m: re.Match) -> str:
        v = int(m.group(2), 0)
        if not v:
            return m.group(0)
        ids.setdefault(v, len(ids) + 1)
        return f"{m.group(1)}#{ids[v]}"

    return re.sub(r"(recirc\(|recirc_id=|recirc_id\()(0x[0-9a-f]+|\d+)", sub, text)


def action_effects(acts: str, vlans: list[str] | None = None) -> list:
    """Datapath actions as their effect: each output with the VLAN stack and header
    rewrites in force, grouped between order-significant barriers (ct, recirc,
    userspace...), flood order ignored.  ``vlans`` is the packet's own tag stack."""
    if acts == "drop":
        return []
    vlans = list(vlans or [])
    sets: dict[str, str] = {}
    groups: list = []
    outs: list = []
    for a in split_top(acts):
        if a.isdigit():
            outs.append((a, tuple(vlans), tuple(sorted(sets.items()))))
        elif a.startswith("push_vlan("):
            vlans.insert(0, a)
        elif a == "pop_vlan":
            if vlans:
                vlans.pop(0)
        elif a.startswith("set("):
            head = a[4:a.index("(", 4)]
            for item in split_top(a[a.index("(", 4) + 1:-2]):
                sets[f"{head}.{item.split('=')[0]}"] = item
        else:
            groups.append(sorted(outs))
            outs = []
            groups.append(a)
    groups.append(sorted(outs))
    return groups


@dataclass
class Pass:
    megaflow: str
    actions: str
    vlans: list[str]


def _vlans_of(flow_line: str) -> list[str]:
    vid = re.search(r"dl_vlan=(\d+)", flow_line)
    pcp = re.search(r"dl_vlan_pcp=(\d+)", flow_line)
    if not vid:
        return []
    return [f"push_vlan(vid={vid.group(1)},pcp={pcp.group(1) if pcp else 0})"]


def passes(trace: str) -> list[Pass]:
    trace = renumber_recirc(trace)
    flows = re.findall(r"^Flow: (.*)$", trace, re.M)
    mega = re.findall(r"^Megaflow: (.*)$", trace, re.M)
    acts = re.findall(r"^Datapath actions: (.*)$", trace, re.M)
    assert len(mega) == len(acts) == len(flows)
    return [Pass(m, a, _vlans_of(f)) for f, m, a in zip(flows, mega, acts)]


def assert_same(theirs: str, ours: str, *, megaflow: bool = True) -> None:
    tp, op = passes(theirs), passes(ours)
    assert len(tp) == len(op), f"OVS:\n{theirs}\nours:\n{ours}"
    for t, o in zip(tp, op):
        assert action_effects(o.actions, o.vlans) == action_effects(t.actions, t.vlans), \
            f"datapath actions differ\nOVS:  {t.actions}\nours: {o.actions}\n\n{theirs}\n{ours}"
        if megaflow:
            assert o.megaflow == t.megaflow, \
                f"megaflows differ\nOVS:  {t.megaflow}\nours: {o.megaflow}"


# ------------------------------------------------------------------- the corpus
TCP = ("in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,"
       "nw_src=198.51.100.1,nw_dst=198.51.100.2,tp_src=1234,tp_dst=80,nw_ttl=64")
TCP_BACK = ("in_port=2,tcp,dl_src=50:54:00:00:00:02,dl_dst=50:54:00:00:00:01,"
            "nw_src=198.51.100.2,nw_dst=198.51.100.1,tp_src=80,tp_dst=1234,nw_ttl=64")
UDP = ("in_port=1,udp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,"
       "nw_src=198.51.100.1,nw_dst=203.0.113.9,udp_src=5000,udp_dst=53,nw_ttl=1")
ARP = "in_port=1,arp,dl_src=50:54:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,arp_op=1," \
      "arp_spa=198.51.100.1,arp_tpa=198.51.100.2,arp_sha=50:54:00:00:00:01"
ICMP = "in_port=1,icmp,nw_src=198.51.100.1,nw_dst=198.51.100.2,icmp_type=8,icmp_code=0"
TCP6 = "in_port=1,tcp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,tp_src=999,tp_dst=443"

FIREWALL = [
    "table=0,priority=100,ip,ct_state=-trk,actions=ct(zone=1,table=1)",
    "table=0,priority=10,arp,actions=NORMAL",
    "table=1,priority=100,in_port=1,ip,ct_state=+trk+new,actions=ct(commit,zone=1),NORMAL",
    "table=1,priority=100,ip,ct_state=+trk+est,actions=NORMAL",
    "table=1,priority=90,ip,ct_state=+trk+rel,actions=NORMAL",
    "table=1,priority=0,actions=drop",
]
NAT = [
    "table=0,priority=100,in_port=1,ip,actions=ct(zone=2,nat,table=1)",
    "table=0,priority=100,in_port=2,ip,actions=ct(zone=2,nat,table=2)",
    "table=1,ip,ct_state=+trk+new,actions=ct(zone=2,commit,"
    "nat(src=203.0.113.1-203.0.113.4:20000-30000)),output:2",
    "table=1,ip,ct_state=+trk+est,actions=output:2",
    "table=2,ip,ct_state=+trk+est,actions=output:1",
]


@dataclass
class Case:
    name: str
    flows: list[str]
    flow: str
    groups: list[str] = field(default_factory=list)
    ports: list[PortSpec] = field(default_factory=lambda: list(DEFAULT_PORTS))
    ct_next: tuple[str, ...] = ()
    of13: bool = False
    megaflow: bool = True


VLAN_PORTS = DEFAULT_PORTS + [PortSpec("p4", 4, tag=10), PortSpec("p5", 5, tag=20),
                              PortSpec("p6", 6, trunks=[10, 30]),
                              PortSpec("p7", 7, tag=10, trunks=[10, 20],
                                       vlan_mode="native-untagged")]

NATIVE_TAGGED = DEFAULT_PORTS + [PortSpec("p5", 5, tag=10), PortSpec("p6", 6, tag=20),
                                 PortSpec("p8", 8, tag=10, trunks=[10, 20],
                                          vlan_mode="native-tagged")]

CASES = [
    Case("normal-flood", ["actions=NORMAL"], TCP),
    Case("normal-broadcast-arp", ["actions=NORMAL"], ARP),
    Case("normal-access-untagged", ["actions=NORMAL"],
         "in_port=4,dl_src=50:54:00:00:00:04,dl_dst=ff:ff:ff:ff:ff:ff", ports=VLAN_PORTS),
    Case("normal-trunk-tagged", ["actions=NORMAL"],
         "in_port=6,dl_vlan=10,dl_src=50:54:00:00:00:06,dl_dst=ff:ff:ff:ff:ff:ff",
         ports=VLAN_PORTS),
    Case("normal-trunk-not-allowed", ["actions=NORMAL"],
         "in_port=6,dl_vlan=20,dl_src=50:54:00:00:00:06,dl_dst=ff:ff:ff:ff:ff:ff",
         ports=VLAN_PORTS),
    Case("normal-access-tagged-drop", ["actions=NORMAL"],
         "in_port=4,dl_vlan=10,dl_src=50:54:00:00:00:06,dl_dst=ff:ff:ff:ff:ff:ff",
         ports=VLAN_PORTS),
    Case("normal-native-untagged", ["actions=NORMAL"],
         "in_port=7,dl_src=50:54:00:00:00:07,dl_dst=ff:ff:ff:ff:ff:ff", ports=VLAN_PORTS),
    Case("normal-native-tagged-in", ["actions=NORMAL"],
         "in_port=7,dl_vlan=20,dl_src=50:54:00:00:00:07,dl_dst=ff:ff:ff:ff:ff:ff",
         ports=VLAN_PORTS),
    Case("normal-native-tagged-untagged-in", ["actions=NORMAL"],
         "in_port=8,dl_src=50:54:00:00:00:08,dl_dst=ff:ff:ff:ff:ff:ff", ports=NATIVE_TAGGED),
    Case("normal-native-tagged-out", ["actions=NORMAL"],
         "in_port=5,dl_src=50:54:00:00:00:05,dl_dst=ff:ff:ff:ff:ff:ff", ports=NATIVE_TAGGED),
    Case("normal-native-tagged-trunk-in", ["actions=NORMAL"],
         "in_port=8,dl_vlan=20,dl_src=50:54:00:00:00:08,dl_dst=ff:ff:ff:ff:ff:ff",
         ports=NATIVE_TAGGED),
    Case("normal-from-controller", ["actions=NORMAL"],
         "in_port=CONTROLLER,dl_vlan=5,dl_src=50:54:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff",
         ports=VLAN_PORTS),
    Case("normal-no-in-port", ["actions=NORMAL"], "ip,dl_dst=50:54:00:00:00:02"),
    Case("normal-unknown-port", ["actions=NORMAL"], "in_port=99,ip"),
    Case("normal-reserved-mac", ["actions=NORMAL"],
         "in_port=1,dl_src=50:54:00:00:00:01,dl_dst=01:80:c2:00:00:00"),
    Case("fw-new-inside", FIREWALL, TCP),
    Case("fw-est-outside", FIREWALL, TCP_BACK, ct_next=("trk,est",)),
    Case("fw-new-outside", FIREWALL, TCP_BACK),
    Case("fw-inv", FIREWALL, TCP_BACK, ct_next=("trk,inv",)),
    Case("fw-arp", FIREWALL, ARP),
    Case("nat-out", NAT, TCP),
    Case("nat-back", NAT, TCP_BACK, ct_next=("trk,est",)),
    Case("ct-zone-from-reg", ["ip,actions=ct(commit,zone=NXM_NX_REG0[0..15],"
                              "exec(set_field:0x1->ct_mark,set_field:0x2/0x2->ct_label)),"
                              "output:2"], TCP + ",reg0=7"),
    Case("ct-alg-ftp", ["tcp,tp_dst=21,actions=ct(commit,alg=ftp),output:2"],
         TCP.replace("tp_dst=80", "tp_dst=21")),
    Case("ct-clear", ["table=0,ip,actions=ct(table=1,zone=4)",
                      "table=1,ip,ct_state=+trk,actions=ct_clear,output:2"], TCP),
    Case("ct-clear-untracked", ["ip,actions=ct_clear,output:2"], TCP),
    Case("ct-fork-keeps-regs", ["table=0,ip,actions=load:0x7->NXM_NX_REG0[],"
                                "set_field:0x9->metadata,ct(zone=3,table=1),resubmit(,2)",
                                "table=1,reg0=7,metadata=0x9,ct_state=+trk+new,ct_zone=3,ip,"
                                "actions=output:2",
                                "table=2,ct_state=-trk,ip,reg0=7,actions=output:3"], TCP),
    Case("resubmit-ct-orig", ["table=0,ip,actions=ct(table=1)",
                              "table=1,ip,ct_state=+trk+new,actions=resubmit(,2,ct)",
                              "table=2,tcp,tp_dst=80,actions=output:2",
                              "table=2,priority=1,actions=output:3"], TCP),
    Case("resubmit-chain", ["table=0,actions=resubmit(,1),resubmit(,2)",
                            "table=1,tcp,tp_dst=80,actions=output:2",
                            "table=2,ip,nw_src=198.51.100.0/24,actions=output:3",
                            "table=2,priority=1,actions=drop"], TCP),
    Case("resubmit-in-port", ["table=0,ip,actions=resubmit(2,1),output:3",
                              "table=1,in_port=2,actions=output:in_port,output:2"], TCP),
    Case("resubmit-too-deep", ["actions=resubmit(,0)"], TCP),
    Case("goto-write-actions", ["table=0,ip,actions=write_actions(group:1),goto_table:1",
                                "table=1,ip,actions=set_field:00:00:00:00:00:05->eth_dst,"
                                "clear_actions,write_actions(output:3),goto_table:2",
                                "table=2,ip,actions=write_actions(output:2)"], TCP,
         groups=["group_id=1,type=all,bucket=output:2"], of13=True),
    Case("write-metadata", ["table=0,actions=write_metadata:0x5/0xff,goto_table:1",
                            "table=1,metadata=0x5,actions=output:2"], TCP, of13=True),
    Case("set-fields", ["tcp,actions=mod_nw_dst:198.51.100.9,mod_tp_dst:8080,"
                        "mod_dl_src:00:00:00:00:00:01,output:2,mod_nw_src:203.0.113.1,"
                        "output:3"], TCP),
    Case("set-field-masked", ["ip,actions=set_field:0.0.0.5/0.0.0.15->ip_dst,output:2"], TCP,
         of13=True),
    Case("tos-ecn-ttl", ["ip,actions=mod_nw_tos:32,mod_nw_ecn:2,mod_nw_ttl:9,output:2"],
         TCP),
    Case("dscp-ecn-setfield", ["ip,actions=set_field:5->ip_dscp,set_field:1->ip_ecn,"
                               "output:2"], TCP, of13=True),
    Case("pkt-mark", ["ip,actions=set_field:0x7->pkt_mark,output:2"], TCP, of13=True),
    Case("load-move", ["actions=load:0x5->NXM_NX_REG0[],resubmit(,1)",
                       "table=1,tcp,reg0=5,actions=move:NXM_NX_REG0[0..15]->"
                       "NXM_OF_TCP_DST[],output:2"], TCP),
    Case("output-reg", ["ip,actions=output:NXM_NX_REG0[0..15]"], TCP + ",reg0=3"),
    Case("dec-ttl-ok", ["ip,actions=dec_ttl,output:2"], TCP),
    Case("dec-ttl-exception", ["ip,actions=dec_ttl,output:2"], UDP),
    Case("dec-ttl-ids", ["ip,actions=dec_ttl(1,2),output:2"], UDP),
    Case("controller", ["ip,actions=controller,output:2"], TCP),
    Case("controller-args", ["ip,actions=controller(reason=no_match,max_len=128,id=5,"
                             "userdata=01.02),output:2"], TCP),
    Case("controller-pause", ["ip,actions=set_field:3->reg2,controller(pause),output:2"],
         TCP, of13=True),
    Case("output-in-port", ["actions=output:1,output:2,in_port"], TCP),
    Case("output-local", ["ip,actions=LOCAL,output:2"], TCP),
    Case("resubmit-port-short", ["table=0,in_port=1,actions=resubmit:3",
                                 "table=0,in_port=3,actions=output:2"], TCP),
    Case("controller-max-len", ["ip,actions=CONTROLLER:100,output:2"], TCP),
    Case("vlan-pop", ["ip,dl_vlan=5,actions=pop_vlan,output:2"],
         TCP.replace("in_port=1", "in_port=1,dl_vlan=5"), of13=True),
    Case("flood-all", ["actions=flood,all"], TCP),
    Case("vlan-push-mod", ["actions=mod_vlan_vid:10,output:2"], TCP),
    Case("vlan-push-setfield", ["actions=push_vlan:0x8100,set_field:4106->vlan_vid,output:2"],
         TCP, of13=True),
    Case("vlan-strip", ["ip,actions=strip_vlan,output:2"],
         TCP.replace("in_port=1", "in_port=1,dl_vlan=5")),
    Case("vlan-pcp", ["ip,actions=mod_vlan_pcp:3,output:2"],
         TCP.replace("in_port=1", "in_port=1,dl_vlan=5")),
    Case("arp-set", ["arp,actions=set_field:198.51.100.7->arp_spa,set_field:2->arp_op,"
                     "output:2"], ARP, of13=True),
    Case("icmp-set", ["icmp,actions=set_field:0->icmp_type,output:2"], ICMP, of13=True),
    Case("ipv6", ["ipv6,ipv6_dst=2001:db8::/64,actions=output:2",
                  "priority=1,actions=drop"], TCP6),
    Case("tcp-flags", ["tcp,tcp_flags=+syn-ack,actions=output:2", "priority=1,actions=drop"],
         TCP.replace("nw_ttl=64", "nw_ttl=64,tcp_flags=syn")),
    Case("prefix-trie", ["ip,nw_dst=203.0.113.0/24,actions=output:2",
                         "ip,nw_src=198.51.100.128/25,actions=output:3",
                         "priority=1,actions=drop"], TCP),
    Case("ports-trie", ["tcp,tp_dst=443,actions=output:2", "tcp,tp_dst=8080,actions=output:3",
                        "priority=1,actions=drop"], TCP),
    Case("group-all", ["ip,actions=group:1,output:3"], TCP,
         groups=["group_id=1,type=all,bucket=output:2,"
                 "bucket=set_field:00:00:00:00:00:99->eth_src,output:3"]),
    Case("group-select", ["ip,actions=group:1"], TCP,
         groups=["group_id=1,type=select,bucket=output:2,bucket=output:3"]),
    Case("group-indirect", ["ip,actions=group:1", "table=1,ip,actions=output:3"], TCP,
         groups=["group_id=1,type=indirect,bucket=set_field:5->reg1,resubmit(,1)"]),
    Case("group-ff", ["ip,actions=group:1"], TCP,
         groups=["group_id=1,type=fast_failover,bucket=watch_port:9,output:2,"
                 "bucket=watch_port:3,output:3"]),
    Case("learn-trace", ["actions=learn(table=1,priority=100,NXM_OF_VLAN_TCI[0..11],"
                         "NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:NXM_OF_IN_PORT[]->"
                         "NXM_NX_REG0[0..15],output:NXM_OF_IN_PORT[]),output:2"], TCP),
    Case("ipv6-set", ["ipv6,actions=set_field:2001:db8::99->ipv6_dst,output:2"], TCP6,
         of13=True),
    Case("udp-set", ["udp,actions=mod_tp_dst:99,output:2"], UDP.replace("nw_ttl=1", "nw_ttl=9")),
    Case("pkt-mark-match", ["pkt_mark=0x5,actions=output:2", "priority=1,actions=drop"],
         TCP + ",pkt_mark=5"),
    Case("ct-mark-after-recirc", [
        "table=0,ip,actions=ct(table=1,zone=3)",
        "table=1,ip,ct_mark=0x1/0x1,actions=output:2",
        "table=1,ip,ct_label=0x5,actions=output:3",
        "table=1,priority=1,actions=drop"], TCP),
    Case("controller-action-set", ["ip,actions=write_actions(output:CONTROLLER)"], TCP,
         of13=True),
    Case("controller-in-group", ["ip,actions=group:1"], TCP,
         groups=["group_id=1,type=all,bucket=output:CONTROLLER,bucket=output:2"]),
    Case("table-miss-continue-normal", ["table=0,ip,actions=goto_table:1",
                                         "table=1,tcp,tp_dst=81,actions=output:2"], TCP,
         of13=True),
    Case("exit-note", ["ip,actions=note:01.02,output:2,exit,output:3"], TCP),
    Case("table-miss", ["table=0,ip,actions=resubmit(,3)"], TCP),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_trace_matches_ovs(real_ovs, case):
    real_ovs.setup(case.ports, case.flows, case.groups, case.of13)
    theirs = real_ovs.trace(case.flow, ct_next=case.ct_next)
    _sw, br = our_switch(case.ports, case.flows, case.groups)
    ours = br.trace(case.flow, ct_next=list(case.ct_next))
    assert_same(theirs, ours, megaflow=case.megaflow)
