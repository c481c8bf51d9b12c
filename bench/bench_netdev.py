"""Forwarding between two veths with our port providers, against a bare forwarder.

    sudo python bench/bench_netdev.py [--seconds 5] [--modes bare,v2,v2-notx,v3]
                                      [--tests tcp,udp64,rr] [--offloads on,off]

Topology (a fresh ``pyvswitch.testbed.Testbed`` per run, removed afterwards)::

    h1 eth0 198.51.100.1 --veth-- s1 [forwarder, switch netns] s2 --veth-- eth0 198.51.100.2 h2

The forwarder is a child process in the switch namespace: a selector loop that moves
every frame received on one port to the other, as the daemon's loop does minus the
datapath.  Modes:

* ``bare``: two AF_PACKET sockets with PACKET_VNET_HDR, one ``recv_into`` and one
  ``send`` per frame (the reference forwarder of ``shared/testbed.md``);
* ``v2``: our ``system`` ports with their defaults (TPACKET_V2 receive ring,
  PACKET_TX_RING: one ``send()`` per batch);
* ``v2-notx``: receive ring, one ``sendmsg`` per frame (``tx_ring=false``);
* ``v3``: TPACKET_V3 receive ring (``rx_ring=v3``) and transmit ring;
* ``msg``: no rings at all (``rx_ring=false,tx_ring=false``);
* ``switch-fw``/``switch-normal``: the ports plus the in-process switch (datapath,
  conntrack) with the system benchmark's firewall flows or ``NORMAL``.

Tests: ``tcp`` (iperf3, one stream h1 -> h2, Gbit/s; unpaced or ``--tcp-gbit``),
``udp64`` (iperf3 UDP, 64-byte payloads, packets/s the receiver got; unpaced, or
``--udp-rate`` packets/s), ``rr`` (ping, 200 x 5 ms apart: mean RTT).  Each line also
shows the forwarder's CPU seconds per second of test and per frame forwarded: with two
cores shared by sender, forwarder and receiver, an unpaced flood mostly measures who
gets the CPU, while CPU per frame at a
fixed rate compares the forwarders themselves.

Every flood is bounded (``--seconds``, iperf3 ``-t``, ping ``-c``); namespaces and
processes are removed on exit, on errors and on Ctrl-C.  Not a test: the numbers depend
on the machine.  Layer: bench (uses testbed, netdev, ofproto_dpif).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import signal
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODES = {
    "bare": None,
    "v2": {},
    "v2-notx": {"tx_ring": "false"},
    "v3": {"rx_ring": "v3"},
    "msg": {"rx_ring": "false", "tx_ring": "false"},
    "switch-fw": {},
    "switch-normal": {},
}
FIREWALL = [
    "table=0,priority=100,arp,actions=NORMAL",
    "table=0,priority=50,in_port=1,ip,actions=ct(commit,zone=1),output:2",
    "table=0,priority=50,in_port=2,ip,actions=ct(zone=1,table=1)",
    "table=0,priority=0,actions=drop",
    "table=1,priority=50,ct_state=+trk+est,ip,actions=output:1",
    "table=1,priority=50,ct_state=+trk+rel,ip,actions=output:1",
    "table=1,priority=0,actions=drop",
]
BATCH = 64
_cpu_at_ready = 0.0
#: the script the forwarder child runs (tests and experiments substitute their own)
FORWARDER: str | None = None
_stop = False


# ------------------------------------------------------------------- forwarders
def _on_term(signum: int, frame: object) -> None:
    global _stop
    _stop = True


def _ready() -> None:
    """Tell the parent the forwarder runs; CPU is counted from here (not the setup)."""
    global _cpu_at_ready
    _cpu_at_ready = time.process_time()
    print("ready", flush=True)


def forward_bare(a: str, b: str, limit: float) -> int:
    """One recv_into and one send per frame, PACKET_VNET_HDR on both sockets."""
    socks = []
    for name in (a, b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        s.setsockopt(263, 15, 1)  # PACKET_VNET_HDR
        s.setsockopt(263, 23, 1)  # PACKET_IGNORE_OUTGOING
        s.bind((name, 3))
        s.setblocking(False)
        socks.append(s)
    sel = selectors.DefaultSelector()
    sel.register(socks[0], selectors.EVENT_READ, socks[1])
    sel.register(socks[1], selectors.EVENT_READ, socks[0])
    buf = bytearray(70000)
    view = memoryview(buf)
    n = 0
    end = time.monotonic() + limit
    _ready()
    while not _stop and time.monotonic() < end:
        for key, _ in sel.select(0.1):
            src, dst = key.fileobj, key.data
            for _ in range(BATCH):
                try:
                    k = src.recv_into(buf)
                except BlockingIOError:
                    break
                try:
                    dst.send(view[:k])
                except OSError:
                    pass
                n += 1
    return n


def forward_ports(a: str, b: str, limit: float, options: dict[str, str]) -> int:
    from pyvswitch.netdev.provider import open_netdev

    pa, pb = open_netdev(a, "system", options), open_netdev(b, "system", options)
    sel = selectors.DefaultSelector()
    sel.register(pa.fileno(), selectors.EVENT_READ, (pa, pb))
    sel.register(pb.fileno(), selectors.EVENT_READ, (pb, pa))
    n = 0
    end = time.monotonic() + limit
    _ready()
    while not _stop and time.monotonic() < end:
        for key, _ in sel.select(0.1):
            src, dst = key.data
            for _ in range(4):
                pkts = src.recv_batch(BATCH)
                if not pkts:
                    break
                dst.send_batch(pkts)
                n += len(pkts)
                if len(pkts) < BATCH:
                    break
    return n


def forward_switch(a: str, b: str, limit: float, firewall: bool) -> int:
    """The ports and the in-process switch, as the daemon's loop drives them."""
    from pyvswitch.netdev.provider import open_netdev
    from pyvswitch.ofproto_dpif.switch import Switch

    sw = Switch()
    br = sw.add_bridge("br0", fail_mode="secure")
    ports = {}
    for i, name in enumerate((a, b), 1):
        _, dp_port = sw.add_port("br0", name, "system", ofport_request=i)
        ports[dp_port] = open_netdev(name, "system", {})
    br.add_flows(FIREWALL if firewall else ["priority=0,actions=NORMAL"])
    sel = selectors.DefaultSelector()
    for dp_port, nd in ports.items():
        sel.register(nd.fileno(), selectors.EVENT_READ, (dp_port, nd))
    dp = sw.datapath
    n = 0
    end = time.monotonic() + limit
    _ready()
    while not _stop and time.monotonic() < end:
        events = sel.select(0.1)
        now = time.monotonic()
        if not events:
            sw.run(now)
            continue
        sw.prepare()
        for key, _ in events:
            dp_port, nd = key.data
            for _ in range(4):
                batch = nd.recv_batch(BATCH)
                if not batch:
                    break
                n += len(batch)
                offs = [o for _, o in batch]
                outs = dp.process(dp_port, [f for f, _ in batch], now,
                                  offs if any(o is not None for o in offs) else None)
                groups: dict[int, list] = {}
                for port, pkt, off in outs:
                    groups.setdefault(port, []).append((pkt, off))
                for port, items in groups.items():
                    out_nd = ports.get(port)
                    if out_nd is not None:
                        out_nd.send_batch(items)
                if len(batch) < BATCH:
                    break
    return n


def forwarder_main(mode: str, a: str, b: str, limit: float) -> None:
    signal.signal(signal.SIGTERM, _on_term)
    if mode == "bare":
        n = forward_bare(a, b, limit)
    elif mode.startswith("switch-"):
        n = forward_switch(a, b, limit, mode == "switch-fw")
    else:
        n = forward_ports(a, b, limit, MODES[mode])
    print(json.dumps({"frames": n, "cpu": time.process_time() - _cpu_at_ready}), flush=True)


# ------------------------------------------------------------------- the runs
def _iperf(tb, h1, h2, seconds: float, udp: bool, rate: int = 0) -> float:
    srv = tb.popen(h2, ["iperf3", "-s", "-1", "-B", h2.ip], text=True)
    time.sleep(0.3)
    args = ["iperf3", "-c", h2.ip, "-t", str(int(seconds)), "-J"]
    if udp:
        args += ["-u", "-b", str(rate * 64 * 8), "-l", "64"]
    elif rate:
        args += ["-b", str(rate)]
    res = tb.run(h1, ["timeout", str(int(seconds) + 15), *args], timeout=seconds + 20,
                 check=False)
    tb.kill(srv)
    try:
        end = json.loads(res.stdout)["end"]
    except (ValueError, KeyError):
        raise RuntimeError(f"iperf3 failed: {res.stdout[-300:]} {res.stderr[-300:]}") from None
    if udp:
        s = end["sum"]
        return (s["packets"] - s["lost_packets"]) / s["seconds"]
    return end["sum_received"]["bits_per_second"] / 1e9


def _ping(tb, h1, h2) -> float:
    res = tb.run(h1, ["ping", "-q", "-c", "200", "-i", "0.005", "-W", "1", h2.ip], timeout=30,
                 check=False)
    m = re.search(r"= [\d.]+/([\d.]+)/", res.stdout)
    if m is None:
        raise RuntimeError(f"ping failed: {res.stdout[-200:]}")
    return float(m.group(1))


def run_one(mode: str, test: str, offload: str, seconds: float, rate: int = 0,
            tcp_gbit: float = 0.0) -> dict[str, object]:
    from pyvswitch.testbed import Testbed

    with Testbed() as tb:
        h1 = tb.add_host(ipv4=["198.51.100.1/24"])
        h2 = tb.add_host(ipv4=["198.51.100.2/24"])
        if offload == "off":
            for h in (h1, h2):
                tb.set_offloads(h, {"tx": "off"})
        fw = tb.popen_switch([sys.executable, FORWARDER or __file__, "--forward", mode,
                              h1.switch_ifname, h2.switch_ifname, str(seconds + 40)], text=True)
        line = fw.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"forwarder did not start: {line} {fw.stderr.read()[-500:]}")
        if mode == "switch-fw":
            # the firewall lets h2 answer only once h1 has spoken
            tb.run(h1, ["ping", "-c", "1", "-W", "2", h2.ip], check=False)
        t0 = time.monotonic()
        if test == "tcp":
            value, unit = _iperf(tb, h1, h2, seconds, udp=False,
                                 rate=int(tcp_gbit * 1e9)), "Gbit/s"
        elif test == "udp64":
            value, unit = _iperf(tb, h1, h2, seconds, udp=True, rate=rate), "pkt/s"
        else:
            value, unit = _ping(tb, h1, h2), "ms RTT"
        wall = time.monotonic() - t0
        fw.send_signal(signal.SIGTERM)
        out, _ = fw.communicate(timeout=20)
        stats = json.loads(out.strip().splitlines()[-1])
    return {"mode": mode, "test": test, "offload": offload, "value": value, "unit": unit,
            "frames": stats["frames"], "cpu_per_s": stats["cpu"] / wall,
            "us_per_frame": stats["cpu"] / max(stats["frames"], 1) * 1e6}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--modes", default="bare,v2,v2-notx,v3")
    ap.add_argument("--tests", default="tcp,udp64,rr")
    ap.add_argument("--offloads", default="on")
    ap.add_argument("--udp-rate", type=int, default=0,
                    help="packets/s the UDP sender aims at (0: as fast as it can); a "
                         "fixed rate compares the forwarders' CPU per frame")
    ap.add_argument("--tcp-gbit", type=float, default=0.0,
                    help="Gbit/s the TCP sender is paced at (0: unpaced)")
    ap.add_argument("--forward", nargs=4, metavar=("MODE", "A", "B", "LIMIT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.forward:
        mode, a, b, limit = args.forward
        forwarder_main(mode, a, b, float(limit))
        return
    if os.geteuid() != 0:
        sys.exit("bench_netdev needs root (network namespaces, raw sockets)")
    for offload in args.offloads.split(","):
        for test in args.tests.split(","):
            for mode in args.modes.split(","):
                if mode not in MODES:
                    sys.exit(f"unknown mode {mode!r} ({', '.join(MODES)})")
                try:
                    r = run_one(mode, test, offload, args.seconds, args.udp_rate,
                                args.tcp_gbit)
                except RuntimeError as exc:
                    print(f"{test:6s} offload={offload:3s} {mode:14s} failed: {exc}",
                          flush=True)
                    continue
                print(f"{test:6s} offload={offload:3s} {mode:14s} {r['value']:12,.2f} "
                      f"{r['unit']:7s} frames {r['frames']:>9,}  forwarder CPU "
                      f"{r['cpu_per_s']:.2f} s/s, {r['us_per_frame']:.1f} us/frame",
                      flush=True)


if __name__ == "__main__":
    main()
