"""``python -m pyvswitch.demo`` (``./demo``): a stateful firewall, shown working.

Layer: top level (imports ``daemon.runner``, ``testbed``, ``demo_inproc``; runs
processes and reads the clock, like the daemon's shells).

As root it builds an "inside" and an "outside" host (network namespaces wired to the
switch with veth pairs), starts ``pyvswitchd`` in a namespace of its own, installs the
firewall with ``pyvs-vsctl``/``pyvs-ofctl`` and then shows, with real ping and TCP,
what passes and what is blocked, the conntrack table, the megaflows and a trace of a
blocked packet.  As anyone else it says so and runs the same policy on packets
injected into an in-process switch.  It always cleans up and always finishes within
about a minute; the exit status says whether every verdict was the expected one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable

__all__ = ["FIREWALL", "main"]

#: the policy: port 1 is the inside, port 2 the outside
FIREWALL = """\
table=0,priority=100,arp,actions=NORMAL
table=0,priority=100,icmp6,icmp_type=135,actions=NORMAL
table=0,priority=100,icmp6,icmp_type=136,actions=NORMAL
table=0,priority=50,ip,in_port=1,actions=ct(commit,zone=1),output:2
table=0,priority=50,ipv6,in_port=1,actions=ct(commit,zone=1),output:2
table=0,priority=50,ip,in_port=2,actions=ct(zone=1,table=1)
table=0,priority=50,ipv6,in_port=2,actions=ct(zone=1,table=1)
table=0,priority=0,actions=drop
table=1,priority=50,ct_state=+trk+est,actions=output:1
table=1,priority=50,ct_state=+trk+rel,actions=output:1
table=1,priority=0,actions=drop
"""
POLICY_NOTES = [
    "ARP and IPv6 neighbour discovery pass (NORMAL), so the hosts can find each other.",
    "Inside -> outside (port 1 -> 2): allowed, and committed to conntrack in zone 1.",
    "Outside -> inside (port 2 -> 1): tracked in zone 1, then table 1 lets through only",
    "  packets of connections that are established (+est) or related (+rel).",
]
BLOCKED_FLOW = "in_port=2,tcp,nw_src=198.51.100.2,nw_dst=198.51.100.1,tp_src=40000,tp_dst=22"


class Screen:
    """Short explanations, commands and verdicts; colour only on a terminal."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self.results: list[tuple[str, bool, bool]] = []

    def _c(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.color else text

    def title(self, text: str) -> None:
        print()
        print(self._c("1;36", f"== {text} =="))

    def say(self, text: str) -> None:
        print(text)

    def cmd(self, text: str, output: str = "") -> None:
        print(self._c("2", f"$ {text}"))
        if output:
            print(output.rstrip("\n"))

    def verdict(self, what: str, passed: bool, expected: bool) -> None:
        self.results.append((what, passed, expected))
        mark = self._c("32", "PASSES") if passed else self._c("31", "BLOCKED")
        good = passed == expected
        tail = "as expected" if good else self._c("1;31", "NOT AS EXPECTED")
        print(f"  {what}: {mark} ({tail})")

    def summary(self) -> bool:
        self.title("Summary")
        ok = all(p == e for _, p, e in self.results)
        for what, passed, expected in self.results:
            mark = "ok  " if passed == expected else "FAIL"
            print(f"  [{mark}] {what}: {'passes' if passed else 'blocked'}")
        print(self._c("1;32", "Every verdict was the expected one.") if ok
              else self._c("1;31", "Some verdicts were not the expected ones."))
        return ok


# --------------------------------------------------------------------- with namespaces
_TCP_SERVER = r"""
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); s.settimeout(15)
print("listening", flush=True)
c, _ = s.accept(); c.settimeout(15); n = 0; t = time.monotonic()
while True:
    d = c.recv(1 << 20)
    if not d: break
    n += len(d)
print(n, round(time.monotonic() - t, 3), flush=True)
"""
_TCP_CLIENT = r"""
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
except OSError as exc:
    print("FAIL", type(exc).__name__); sys.exit(0)
c.settimeout(15); total = int(sys.argv[3]); chunk = b"x" * 65536; n = 0
while n < total:
    c.sendall(chunk); n += len(chunk)
c.shutdown(socket.SHUT_WR); c.recv(1)
print("OK", n)
"""


def _ping(tb, host, ip: str, count: int = 3) -> tuple[bool, str]:
    r = tb.run(host, ["ping", "-c", str(count), "-i", "0.2", "-W", "1", ip], timeout=15,
               check=False)
    lines = [line for line in r.stdout.splitlines() if "transmitted" in line]
    return r.returncode == 0, (lines[0] if lines else r.stdout.strip())


def _wait_ping(tb, host, ip: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not _ping(tb, host, ip, 1)[0]:
        time.sleep(0.2)


def run_netns(scr: Screen, size_mb: int) -> bool:
    from pyvswitch.daemon.runner import SwitchProcess
    from pyvswitch.testbed import Testbed

    work = tempfile.mkdtemp(prefix="pyvs-demo-")
    try:
        with Testbed() as tb:
            scr.title("The lab")
            inside = tb.add_host(ipv4=["198.51.100.1/24"], ipv6=["2001:db8::1/64"])
            outside = tb.add_host(ipv4=["198.51.100.2/24"], ipv6=["2001:db8::2/64"])
            scr.say(f"inside host  {inside.ns}: 198.51.100.1 on eth0 <-> switch port "
                    f"{inside.switch_ifname} (OpenFlow port 1)")
            scr.say(f"outside host {outside.ns}: 198.51.100.2 on eth0 <-> switch port "
                    f"{outside.switch_ifname} (OpenFlow port 2)")
            scr.say(f"pyvswitchd runs in namespace {tb.switch_ns}, files under {work}; "
                    "offloads are left at the kernel's defaults.")
            sw = SwitchProcess(work, netns=tb.switch_ns)
            sw.start()
            try:
                return _lab(scr, tb, sw, inside, outside, size_mb)
            finally:
                sw.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _lab(scr: Screen, tb, sw, inside, outside, size_mb: int) -> bool:
    a, b = inside.switch_ifname, outside.switch_ifname
    args = ["add-br", "br0", "--", "set-fail-mode", "br0", "secure",
            "--", "add-port", "br0", a, "--", "set", "Interface", a, "ofport_request=1",
            "--", "add-port", "br0", b, "--", "set", "Interface", b, "ofport_request=2"]
    sw.vsctl(*args)
    scr.cmd("pyvs-vsctl " + " ".join(args))
    scr.cmd("pyvs-vsctl show", sw.vsctl("show"))

    scr.title("The policy")
    for note in POLICY_NOTES:
        scr.say(note)
    sw.run("pyvs-ofctl", "add-flows", "br0", "-", input=FIREWALL)
    scr.cmd("pyvs-ofctl add-flows br0 - <<EOF", FIREWALL + "EOF")

    scr.title("1. Inside -> outside")
    _wait_ping(tb, inside, outside.ip)
    ok, line = _ping(tb, inside, outside.ip)
    scr.cmd(f"ping -c 3 {outside.ip}      # from the inside host", line)
    scr.verdict("ping inside -> outside (and its replies)", ok, True)
    srv = tb.popen(outside, ["python3", "-c", _TCP_SERVER, outside.ip, "5001"], text=True)
    srv.stdout.readline()
    nbytes = size_mb * 1024 * 1024
    cli = tb.run(inside, ["python3", "-c", _TCP_CLIENT, outside.ip, "5001", str(nbytes)],
                 timeout=40, check=False)
    try:
        got = srv.communicate(timeout=20)[0].split()
    except Exception:  # noqa: BLE001 - a hung server is a failed transfer
        tb.kill(srv)
        got = []
    ok = cli.stdout.startswith("OK") and len(got) == 2 and int(got[0]) >= nbytes
    rate = f", {int(got[0]) * 8 / max(float(got[1]), 1e-3) / 1e6:.0f} Mbit/s" if ok else ""
    scr.cmd(f"TCP transfer of {size_mb} MB to {outside.ip}:5001",
            f"received {got[0] if got else 0} bytes{rate}")
    scr.verdict("TCP transfer inside -> outside", ok, True)

    scr.title("2. Outside -> inside")
    ok, line = _ping(tb, outside, inside.ip, 2)
    scr.cmd(f"ping -c 2 {inside.ip}      # from the outside host", line)
    scr.verdict("ping outside -> inside", ok, False)
    srv = tb.popen(inside, ["python3", "-c", _TCP_SERVER, inside.ip, "22"], text=True)
    srv.stdout.readline()
    cli = tb.run(outside, ["python3", "-c", _TCP_CLIENT, inside.ip, "22", "1000"], timeout=20,
                 check=False)
    tb.kill(srv)
    scr.cmd(f"TCP connect to {inside.ip}:22 (a server listens there)", cli.stdout.strip())
    scr.verdict("new TCP connection outside -> inside", cli.stdout.startswith("OK"), False)

    scr.title("3. Replies get in because they belong to tracked connections")
    scr.say("Table 1 counts the packets it let in as established (+est):")
    table1 = sw.ofctl("dump-flows", "br0", "table=1")
    scr.cmd("pyvs-ofctl dump-flows br0 table=1", table1)
    est = [ln for ln in table1.splitlines() if "+est" in ln]
    n_est = int(est[0].split("n_packets=")[1].split(",")[0]) if est else 0
    scr.verdict("reply traffic outside -> inside (+est)", n_est > 0, True)

    scr.title("4. The connection tracker")
    scr.cmd("pyvs-appctl dpctl/dump-conntrack", sw.appctl("dpctl/dump-conntrack"))
    scr.title("5. The megaflows (the datapath's cache)")
    scr.say("One wide flow per path: commit going out, track + recirculate coming in, and")
    scr.say("after recirculation (recirc_id) the verdict in ct_state picks the action.")
    scr.cmd("pyvs-appctl dpctl/dump-flows", sw.appctl("dpctl/dump-flows"))
    scr.title("6. Why a new inbound connection is dropped")
    trace = sw.appctl("ofproto/trace", "br0", BLOCKED_FLOW)
    scr.cmd(f"pyvs-appctl ofproto/trace br0 {BLOCKED_FLOW}", trace)
    scr.verdict("traced new connection outside -> inside",
                not trace.rstrip().endswith("Datapath actions: drop"), False)
    return scr.summary()


# --------------------------------------------------------------------- in process
def run_inproc(scr: Screen) -> bool:
    from pyvswitch.demo_inproc import InProcessLab

    lab = InProcessLab(FIREWALL)
    scr.title("The lab (in-process)")
    scr.say("An in-process pyvswitch with two dummy ports: 'inside' (port 1, 198.51.100.1)")
    scr.say("and 'outside' (port 2, 198.51.100.2).  Packets are built here and handed to the")
    scr.say("switch; what comes out of the other port is what a host would receive.")
    scr.title("The policy")
    for note in POLICY_NOTES:
        scr.say(note)
    scr.cmd("pyvs-ofctl dump-flows br0", lab.dump_flows())

    def report(title: str) -> Callable:
        def show(src, dst, frame, where):
            kind = "ICMP" if frame[23] == 1 else "TCP"
            shown = ", ".join(where) if where else "nowhere (dropped)"
            scr.say(f"  {src.port:>7} -> {dst.port:<7} {kind:4} {len(frame):4} bytes: "
                    f"came out of {shown}")
        scr.say(title)
        return show

    scr.title("1. Inside -> outside")
    ok = lab.exchange(lab.ping(lab.inside, lab.outside, 1), report("ping:"))
    scr.verdict("ping inside -> outside (and its reply)", ok, True)
    ok = lab.exchange(lab.tcp_session(lab.inside, lab.outside, 40000, 80, b"GET / HTTP/1.0\r\n"),
                      report("TCP handshake, data and acknowledgement:"))
    scr.verdict("TCP connection inside -> outside", ok, True)

    scr.title("2. Outside -> inside")
    steps = lab.ping(lab.outside, lab.inside, 2)[:1]
    ok = lab.exchange(steps, report("ping:"))
    scr.verdict("ping outside -> inside", ok, False)
    steps = lab.tcp_session(lab.outside, lab.inside, 40000, 22, b"")[:1]
    ok = lab.exchange(steps, report("TCP SYN to port 22:"))
    scr.verdict("new TCP connection outside -> inside", ok, False)

    scr.title("3. Replies get in because they belong to tracked connections")
    flows = lab.dump_flows()
    scr.cmd("pyvs-ofctl dump-flows br0", flows)
    est = [ln for ln in flows.splitlines() if "+est" in ln]
    n_est = int(est[0].split("n_packets=")[1].split(",")[0]) if est else 0
    scr.verdict("reply traffic outside -> inside (+est)", n_est > 0, True)
    scr.title("4. The connection tracker")
    scr.cmd("pyvs-appctl dpctl/dump-conntrack", lab.dump_conntrack())
    scr.title("5. The megaflows (the datapath's cache)")
    scr.cmd("pyvs-appctl dpctl/dump-flows", lab.dump_megaflows())
    scr.title("6. Why a new inbound connection is dropped")
    trace = lab.trace(BLOCKED_FLOW)
    scr.cmd(f"pyvs-appctl ofproto/trace br0 {BLOCKED_FLOW}", trace)
    scr.verdict("traced new connection outside -> inside",
                not trace.rstrip().endswith("Datapath actions: drop"), False)
    return scr.summary()


def _can_use_namespaces() -> str | None:
    """None if the namespace demo can run, else why not."""
    if os.geteuid() != 0:
        return "not running as root, so no network namespaces"
    for tool in ("ip", "ping"):
        if shutil.which(tool) is None:
            return f"'{tool}' is not installed (./demo installs it as root)"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="pyvswitch.demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--in-process", action="store_true",
                    help="use the in-process switch even as root")
    ap.add_argument("--no-color", action="store_true", help="never use colour")
    ap.add_argument("--size", type=int, default=20, help="TCP transfer size in MB (20)")
    args = ap.parse_args(argv)
    color = sys.stdout.isatty() and not args.no_color and "NO_COLOR" not in os.environ
    scr = Screen(color)
    print(scr._c("1", "pyvswitch demo: a stateful firewall between an inside and an "
                      "outside host"))
    why = "requested" if args.in_process else _can_use_namespaces()
    if why is None:
        ok = run_netns(scr, max(1, min(args.size, 200)))
    else:
        print(f"Running in-process ({why}): same policy, packets injected into the switch.")
        ok = run_inproc(scr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
