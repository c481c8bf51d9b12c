"""Offloaded TCP through the stateful firewall: 64 KB GSO frames with partial checksums
pass whole, and no L4 checksum of them is computed in Python (conntrack trusts the
offload flags; nothing is finished or segmented in software)."""

import selectors
import threading

import pytest

from pyvswitch import coverage
from pyvswitch.conntrack import parse, tracker
from pyvswitch.netdev.provider import open_netdev
from pyvswitch.ofproto_dpif.switch import Switch

pytestmark = pytest.mark.netns

FIREWALL = [
    "table=0,priority=100,arp,actions=NORMAL",
    "table=0,priority=50,in_port=1,ip,actions=ct(commit,zone=1),output:2",
    "table=0,priority=50,in_port=2,ip,actions=ct(zone=1,table=1)",
    "table=0,priority=0,actions=drop",
    "table=1,priority=50,ct_state=+trk+est,ip,actions=output:1",
    "table=1,priority=0,actions=drop",
]


class SwitchLoop:
    """The in-process switch between two system ports, driven as the daemon drives it
    (batches in, datapath, batches out per port), in a thread."""

    def __init__(self, names):
        self.sw = Switch()
        br = self.sw.add_bridge("br0", fail_mode="secure")
        self.ports = {}
        for i, name in enumerate(names, 1):
            _, dp_port = self.sw.add_port("br0", name, "system", ofport_request=i)
            self.ports[dp_port] = open_netdev(name, "system", {})
        br.add_flows(FIREWALL)
        self.max_len = 0
        self.gso = 0
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        sel = selectors.DefaultSelector()
        for dp_port, nd in self.ports.items():
            sel.register(nd.fileno(), selectors.EVENT_READ, (dp_port, nd))
        dp = self.sw.datapath
        try:
            while not self._stop.is_set():
                events = sel.select(0.05)
                self.sw.prepare()
                for key, _ in events:
                    dp_port, nd = key.data
                    batch = nd.recv_batch(64)
                    for frame, off in batch:
                        self.max_len = max(self.max_len, len(frame))
                        self.gso += off is not None and off.is_gso
                    outs = dp.process(dp_port, [f for f, _ in batch], 1.0,
                                      [o for _, o in batch])
                    for port, pkt, off in outs:
                        if port in self.ports:  # not the bridge's own (LOCAL) port
                            self.ports[port].send_batch([(pkt, off)])
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            sel.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        for nd in self.ports.values():
            nd.close()
        if self.errors:
            raise self.errors[0]


def test_gso_frames_cross_the_firewall_without_python_checksums(testbed, tcp_transfer,
                                                                monkeypatch):
    h1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    h2 = testbed.add_host(ipv4=["198.51.100.2/24"])
    summed = []
    real_from = tracker._from
    real_data_int = parse._data_int

    def counting_from(data, order):
        summed.append(len(data))
        return real_from(data, order)

    def counting_data_int(pkt, start, stop):
        summed.append(stop - start)
        return real_data_int(pkt, start, stop)

    monkeypatch.setattr(tracker, "_from", counting_from)
    monkeypatch.setattr(parse, "_data_int", counting_data_int)
    with testbed.in_switch_ns():
        loop = SwitchLoop([h1.switch_ifname, h2.switch_ifname])
    with loop:
        sent, got = tcp_transfer(testbed, h1, h2, h2.ip, 30_000_000)
    assert sent == got
    assert loop.gso > 0 and loop.max_len > 60000, "no 64 KB GSO frame went through"
    # conntrack summed IP headers (20 bytes) only: every L4 checksum was the offload's
    assert summed and max(summed) <= 20, f"L4 bytes summed in Python: {max(summed)}"
    assert coverage.get("netdev_soft_csum") == 0
    assert coverage.get("netdev_soft_gso_frames") == 0
    conns = loop.sw.conntrack.dump_conntrack(1, now=2.0)
    assert any("dport=5001" in c and "TIME_WAIT" in c for c in conns), conns  # closed
