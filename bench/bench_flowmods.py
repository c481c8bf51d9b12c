"""Benchmark the OpenFlow side (run as root: ``python bench/bench_flowmods.py``).

1. flow_mods per second through the real ``ovs-ofctl add-flows`` (N flows, default
   100,000; ``--flows N``), OpenFlow 1.0 (NXM session), 1.3 and a 1.4 ``--bundle``,
   against pyvswitchd and against a private Open vSwitch 3.1 in the same run.  Both use
   the userspace dummy datapath and their management socket; ovs-ofctl sends every
   flow_mod followed by a barrier and waits for its reply, so this measures the
   request round trip as much as the flow table.
2. The packet-in round trip of an os-ken controller: hosts in network namespaces ping
   through a switch whose only flow sends every packet to the controller, which answers
   each packet-in with a packet-out (a hub: no flow is ever installed).  A ping's RTT
   then holds two packet-in round trips; the same with a learning switch after it
   installed its flows shows the path without the controller.  Both switches run in the
   testbed's switch namespace with the veths as ports (pyvswitch: AF_PACKET ports;
   OVS: datapath_type=netdev).

Not a test: figures depend on the machine.  Everything started here is stopped by pid,
every namespace removed.  Addresses: 198.51.100.0/24 only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyvswitch.daemon.runner import SwitchProcess  # noqa: E402
from pyvswitch.testbed import Testbed, wait_for  # noqa: E402

OVS_VSWITCHD = shutil.which("ovs-vswitchd") or "/usr/sbin/ovs-vswitchd"
OVSDB_SERVER = shutil.which("ovsdb-server") or "/usr/sbin/ovsdb-server"
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
OSKEN_PORT = 16654


# ----------------------------------------------------------------------------- switches
class RealOvs:
    """A private ovsdb-server + ovs-vswitchd (optionally inside a namespace)."""

    def __init__(self, base: Path, netns: str | None = None) -> None:
        self.base = base
        self.netns = netns
        self.env = dict(os.environ, OVS_RUNDIR=str(base), OVS_DBDIR=str(base),
                        OVS_LOGDIR=str(base), OVS_SYSCONFDIR=str(base))
        self.db = f"unix:{base}/db.sock"
        self.pids: list[int] = []

    def _wrap(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv

    def run(self, *argv: str, input: str | None = None) -> str:
        r = subprocess.run(self._wrap(list(argv)), env=self.env, capture_output=True,
                           text=True, input=input, timeout=600)
        if r.returncode:
            raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
        return r.stdout

    def start(self, dummy: bool = True) -> None:
        b = self.base
        b.mkdir(parents=True, exist_ok=True)
        self.run("ovsdb-tool", "create", f"{b}/conf.db", SCHEMA)
        self.run(OVSDB_SERVER, f"{b}/conf.db", f"--remote=punix:{b}/db.sock",
                 f"--pidfile={b}/ovsdb-server.pid", "--detach", "--no-chdir",
                 f"--log-file={b}/ovsdb-server.log")
        self.pids.append(int((b / "ovsdb-server.pid").read_text()))
        self.vsctl("--no-wait", "init")
        extra = ["--enable-dummy=override"] if dummy else []
        self.run(OVS_VSWITCHD, self.db, *extra, f"--pidfile={b}/ovs-vswitchd.pid",
                 "--detach", "--no-chdir", f"--log-file={b}/ovs-vswitchd.log")
        self.pids.append(int((b / "ovs-vswitchd.pid").read_text()))

    def vsctl(self, *args: str) -> str:
        return self.run("ovs-vsctl", f"--db={self.db}", *args)

    def stop(self) -> None:
        for pid in reversed(self.pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(250):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.02)
        self.pids.clear()


def ofctl(rundir: str, target: str, *args: str, input: str | None = None,
          netns: str | None = None) -> str:
    argv = ["ovs-ofctl", *[target if a == "BR" else a for a in args]]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    env = dict(os.environ, OVS_RUNDIR=rundir, OVS_LOGDIR=rundir)
    r = subprocess.run(argv, env=env, capture_output=True, text=True, input=input,
                       timeout=1800)
    if r.returncode:
        raise RuntimeError(f"ovs-ofctl {' '.join(args)}: {r.stderr.strip()[:500]}")
    return r.stdout


def flows_text(n: int) -> str:
    lines = []
    for i in range(n):
        lines.append(f"table=0,priority={10 + i % 3},ip,nw_src=198.51.{100 + (i >> 16) % 2}"
                     f".{(i >> 8) & 255},nw_dst=198.51.100.{i & 255},"
                     f"tcp,tp_dst={1 + i % 60000},actions=output:2")
    return "\n".join(lines) + "\n"


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# ----------------------------------------------------------------------------- 1. flow_mods
MODES = [("OpenFlow10", []), ("OpenFlow13", ["-O", "OpenFlow13"]),
         ("OpenFlow14 --bundle", ["--bundle"])]


def bench_flow_mods(n: int, work: Path,
                    memory: list[tuple[str, int, float]]) -> list[tuple[str, str, float, int]]:
    """flow_mods/s per switch and mode; ``memory`` gets (switch, RSS before the first
    load in KiB, RSS growth per rule in bytes) from the first mode's load."""
    text = flows_text(n)
    path = work / "flows.txt"
    path.write_text(text)
    results = []
    sw = SwitchProcess(str(work / "pyvs"))
    ovs = RealOvs(work / "ovs")
    try:
        sw.start()
        sw.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
                 "fail_mode=secure")
        ovs.start()
        ovs.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
                  "fail_mode=secure")
        targets = [("pyvswitch", sw.paths.rundir, f"unix:{sw.paths.rundir}/br0.mgmt",
                    sw.proc.pid if sw.proc else 0),
                   ("ovs-3.1", str(ovs.base), f"unix:{ovs.base}/br0.mgmt", ovs.pids[-1])]
        for rundir in (sw.paths.rundir, str(ovs.base)):
            wait_for(lambda rundir=rundir: os.path.exists(f"{rundir}/br0.mgmt"), 10)
        baseline: dict[str, int] = {}
        for label, opts in MODES:
            for name, rundir, target, pid in targets:
                ofctl(rundir, target, "del-flows", "BR")
                baseline.setdefault(name, _rss_kb(pid))
                t0 = time.perf_counter()
                ofctl(rundir, target, *opts, "add-flows", "BR", str(path))
                dt = time.perf_counter() - t0
                if label == MODES[0][0]:
                    grown = (_rss_kb(pid) - baseline[name]) * 1024
                    memory.append((name, baseline[name], grown / n))
                agg = ofctl(rundir, target, "dump-aggregate", "BR")
                count = int(re.search(r"flow_count=(\d+)", agg).group(1))
                if count != n:
                    raise RuntimeError(f"{name}: {count} flows installed, not {n}")
                results.append((name, label, n / dt, _rss_kb(pid)))
                print(f"  {name:10s} {label:22s} {n / dt:9.0f} flow_mods/s "
                      f"({dt:.1f} s, RSS {_rss_kb(pid) // 1024} MiB)", flush=True)
            ofctl(targets[0][1], targets[0][2], "del-flows", "BR")
    finally:
        sw.stop()
        ovs.stop()
    return results


# ----------------------------------------------------------------------------- 2. packet-in
HUB_APP = '''
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib.packet import ethernet, packet
from os_ken.ofproto import ofproto_v1_3
import os

INSTALL = os.environ.get("LEARN") == "1"


class App(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.macs = {}

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def features(self, ev):
        dp = ev.msg.datapath
        p, o = dp.ofproto_parser, dp.ofproto
        inst = [p.OFPInstructionActions(o.OFPIT_APPLY_ACTIONS,
                                        [p.OFPActionOutput(o.OFPP_CONTROLLER, 0xffff)])]
        dp.send_msg(p.OFPFlowMod(datapath=dp, priority=0, match=p.OFPMatch(),
                                 instructions=inst))
        self.logger.info("READY")

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        msg = ev.msg
        dp = msg.datapath
        p, o = dp.ofproto_parser, dp.ofproto
        in_port = msg.match["in_port"]
        eth = packet.Packet(msg.data).get_protocols(ethernet.ethernet)[0]
        self.macs[eth.src] = in_port
        out = self.macs.get(eth.dst, o.OFPP_FLOOD)
        acts = [p.OFPActionOutput(out)]
        if INSTALL and out != o.OFPP_FLOOD:
            inst = [p.OFPInstructionActions(o.OFPIT_APPLY_ACTIONS, acts)]
            dp.send_msg(p.OFPFlowMod(datapath=dp, priority=1,
                                     match=p.OFPMatch(in_port=in_port, eth_dst=eth.dst),
                                     instructions=inst))
        dp.send_msg(p.OFPPacketOut(datapath=dp, buffer_id=o.OFP_NO_BUFFER,
                                   in_port=in_port, actions=acts, data=msg.data))
'''

RUNNER = """\
import logging, sys
from os_ken.lib import hub
hub.patch(thread=False)
from os_ken import cfg
from os_ken.base import app_manager as _am  # noqa: F401
import os_ken.controller.controller  # noqa: F401
from os_ken.base import app_manager
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
cfg.CONF(args=["--ofp-tcp-listen-port", sys.argv[2], "--ofp-listen-host", "127.0.0.1"],
         project="os_ken")
app_manager.AppManager.run_apps([sys.argv[1]])
"""


def _ping_rtt(tb: Testbed, src, dst: str, count: int) -> float:
    r = tb.run(src, ["ping", "-c", str(count), "-i", "0.02", "-q", "-W", "1", dst],
               timeout=count + 30, check=False)
    m = re.search(r"= [0-9.]+/([0-9.]+)/", r.stdout)
    if r.returncode or not m:
        raise RuntimeError(f"ping failed: {r.stdout}{r.stderr}")
    return float(m.group(1))


def bench_packet_in(work: Path, count: int) -> list[tuple[str, str, float]]:
    appdir = work / "app"
    appdir.mkdir(parents=True, exist_ok=True)
    (appdir / "hub_app.py").write_text(HUB_APP)
    (appdir / "run_osken.py").write_text(RUNNER)
    results = []
    for switch in ("pyvswitch", "ovs-3.1"):
        for mode in ("hub", "learn"):
            with Testbed() as tb:
                h1 = tb.add_host(ipv4=["198.51.100.1/24"])
                h2 = tb.add_host(ipv4=["198.51.100.2/24"])
                env = dict(os.environ, PYTHONPATH=str(appdir),
                           LEARN="1" if mode == "learn" else "0")
                log = open(work / f"osken-{switch}-{mode}.log", "w")  # noqa: SIM115
                try:
                    tb.popen_switch([sys.executable, str(appdir / "run_osken.py"),
                                     "hub_app", str(OSKEN_PORT)], stdout=log,
                                    stderr=subprocess.STDOUT, env=env)
                    wait_for(lambda: str(OSKEN_PORT) in tb.run_switch(
                        ["ss", "-ltnH", f"sport = :{OSKEN_PORT}"], check=False).stdout, 20)
                    rtt = _one_switch(tb, work, switch, [h1, h2],
                                      lambda tb=tb, h1=h1: _ping_rtt(tb, h1, "198.51.100.2",
                                                                     count))
                finally:
                    log.close()
            results.append((switch, mode, rtt))
            print(f"  {switch:10s} {mode:6s} ping RTT {rtt:7.3f} ms", flush=True)
    return results


def _one_switch(tb: Testbed, work: Path, switch: str, hosts, measure) -> float:
    ports = [h.switch_ifname for h in hosts]
    ctl = f"tcp:127.0.0.1:{OSKEN_PORT}"
    if switch == "pyvswitch":
        sw = SwitchProcess(str(work / f"pyvs-{tb.prefix}"), netns=tb.switch_ns)
        sw.start()
        try:
            args = ["add-br", "br0", "--", "set-fail-mode", "br0", "secure"]
            for n, p in enumerate(ports, 1):
                args += ["--", "add-port", "br0", p, "--", "set", "Interface", p,
                         f"ofport_request={n}"]
            sw.vsctl(*args, "--", "set-controller", "br0", ctl)
            _warm(measure)
            return measure()
        finally:
            sw.stop()
    base = work / f"ovs-{tb.prefix}"
    ovs = RealOvs(base, netns=tb.switch_ns)
    try:
        ovs.start(dummy=False)
        args = ["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=netdev",
                "fail_mode=secure"]
        for n, p in enumerate(ports, 1):
            args += ["--", "add-port", "br0", p, "--", "set", "Interface", p,
                     f"ofport_request={n}"]
        ovs.vsctl(*args, "--", "set-controller", "br0", ctl)
        _warm(measure)
        return measure()
    finally:
        ovs.stop()


def _warm(measure) -> None:
    """Wait until pings pass (controller connected, neighbours resolved)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            measure()
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


# ----------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=100000)
    ap.add_argument("--pings", type=int, default=100)
    ap.add_argument("--skip-flows", action="store_true")
    ap.add_argument("--skip-packet-in", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run as root (private OVS instances, network namespaces)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-flowmods-"))
    try:
        if not args.skip_flows:
            print(f"flow_mods through ovs-ofctl add-flows ({args.flows} flows):")
            memory: list[tuple[str, int, float]] = []
            res = bench_flow_mods(args.flows, work, memory)
            by = {(n, m): r for n, m, r, _ in res}
            for label, _ in MODES:
                ratio = by[("pyvswitch", label)] / by[("ovs-3.1", label)]
                print(f"  {label:22s} pyvswitch / OVS = {ratio:.2f}")
            for name, base, per_rule in memory:
                print(f"  {name:10s} memory per rule {per_rule:6.0f} bytes (RSS growth over "
                      f"the first load; {base // 1024} MiB before it)")
        if not args.skip_packet_in:
            print(f"packet-in round trip through os-ken ({args.pings} pings of 20 ms "
                  "interval; a hub ping = 2 packet-ins):")
            res2 = bench_packet_in(work, args.pings)
            for sw in ("pyvswitch", "ovs-3.1"):
                rtt = {m: r for s, m, r in res2 if s == sw}
                print(f"  {sw:10s} packet-in round trip ~ {(rtt['hub'] - rtt['learn']) / 2:.3f}"
                      f" ms (hub {rtt['hub']:.3f} ms, learned flows {rtt['learn']:.3f} ms)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
