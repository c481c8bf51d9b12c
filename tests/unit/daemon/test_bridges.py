"""Configuration to running switch: bridges and ports added, changed, removed, retried."""

import errno
import selectors

import pytest

from pyvswitch.config.store import ConfigStore
from pyvswitch.config.vsctl import execute, parse_commands
from pyvswitch.daemon.bridges import Bridges
from pyvswitch.daemon.ports import PortTable
from pyvswitch.daemon.vlog import Vlog
from pyvswitch.errors import ConfigError, NetdevError
from pyvswitch.netdev import provider
from pyvswitch.netdev.dummy import NetdevDummy
from pyvswitch.packet import headers
from pyvswitch.types import OFPP_LOCAL
from tests.unit.daemon.fakes import FakeSwitch


class Devices:
    """A fake ``system`` port type whose devices exist only when listed."""

    def __init__(self):
        self.present: set[str] = set()
        self.opened: list[str] = []

    def __call__(self, name, type_, options):
        if name not in self.present:
            raise NetdevError(name, errno.ENODEV, "No such device")
        self.opened.append(name)
        return NetdevDummy(name, type_, options)


@pytest.fixture
def devices(monkeypatch):
    dev = Devices()
    monkeypatch.setitem(provider._TYPES, "system", dev)
    monkeypatch.setitem(provider._TYPES, "", dev)
    yield dev


@pytest.fixture
def env():
    sel = selectors.DefaultSelector()
    sw = FakeSwitch()
    ports = PortTable(sel, Vlog(modules=("bridge",)), lambda p: None)
    limit = headers.get_vlan_limit()
    yield sw, ports, Bridges(sw, ports, Vlog(modules=("bridge",)))
    headers.set_vlan_limit(limit)
    ports.close_all()
    sel.close()


def cfg_after(cfg, line):
    return execute(cfg, parse_commands(line.split()))[0]


def test_bridge_and_ports_come_up_with_stable_numbers(env, devices):
    sw, ports, brs = env
    devices.present |= {"p1", "p2"}
    from pyvswitch.config.model import Config

    cfg = cfg_after(Config(), "add-br br0 -- add-port br0 p1 -- add-port br0 p2")
    brs.apply(cfg)
    assert sw.log == [("add_bridge", "br0", "standalone"),
                      ("add_port", "br0", "p1", "system", 1),
                      ("add_port", "br0", "p2", "system", 2)]
    assert [cfg.interfaces[n].ofport for n in ("br0", "p1", "p2")] == [OFPP_LOCAL, 1, 2]
    assert ports.get("p1").netdev is not None and ports.get("p1").error is None
    assert ports.by_dp[sw.port("p2").dp_port].name == "p2"
    # the bridge's own port is opened as an internal (tap) device
    assert ports.get("br0").type == "internal" and ports.get("br0").ofport == OFPP_LOCAL

    # p1 goes, p3 asks for 7, p2 gets a tag: only those change
    sw.log.clear()
    cfg2 = cfg_after(cfg, "del-port p1 -- add-port br0 p3 tag=9 -- set Port p2 tag=5 "
                          "-- set Interface p3 ofport_request=7")
    devices.present.add("p3")
    brs.apply(cfg2)
    assert sw.log == [("del_port", "p1"), ("add_port", "br0", "p3", "system", 7),
                      ("set_port_vlan", "p2", 5, None, None)]
    assert ports.get("p1") is None
    assert sw.port("p3").tag == 9

    # a numbering gap is kept: a new port takes the lowest free number, 1
    sw.log.clear()
    devices.present.add("p4")
    cfg3 = cfg_after(cfg2, "add-port br0 p4")
    brs.apply(cfg3)
    assert sw.log == [("add_port", "br0", "p4", "system", 1)]


def test_missing_device_refused_only_when_strict(env, devices):
    sw, ports, brs = env
    from pyvswitch.config.model import Config

    cfg = cfg_after(Config(), "add-br br0 -- set bridge br0 datapath_type=dummy")
    brs.apply(cfg)
    sw.log.clear()
    devices.present.add("p1")
    bad = cfg_after(cfg, "set bridge br0 datapath_type=netdev -- add-port br0 p1 "
                         "-- add-port br0 p9")
    with pytest.raises(ConfigError) as exc:
        brs.apply(bad, strict=True)
    assert str(exc.value) == ("Error detected while setting up 'p9': could not open network "
                              "device p9 (No such device).  See pyvswitchd log for details.")
    assert sw.log == [] and ports.get("p1") is None  # nothing changed, p1 closed again

    # at start-up (not strict) the port is added and shows its error; it is retried
    bad = cfg_after(cfg, "add-port br0 p9 -- set bridge br0 datapath_type=netdev")
    brs.apply(bad)
    p9 = ports.get("p9")
    assert p9.netdev is None
    assert p9.error == "could not open network device p9 (No such device)"
    shown = brs.fill_status(bad)
    assert shown.interfaces["p9"].error == p9.error
    assert bad.interfaces["p9"].error is None  # the stored config never holds it
    assert ports.retry(now=p9.next_retry - 0.1) == []
    devices.present.add("p9")
    assert ports.retry(now=p9.next_retry) == [p9]
    assert p9.netdev is not None and p9.error is None


def test_vanished_device_is_reopened(env, devices):
    sw, ports, brs = env
    from pyvswitch.config.model import Config

    devices.present.add("p1")
    brs.apply(cfg_after(Config(), "add-br br0 -- add-port br0 p1"))
    port = ports.get("p1")
    port.netdev.receive(b"\x00" * 60)
    assert port.netdev.recv_batch(8)
    devices.present.discard("p1")
    ports.device_lost(port, NetdevError("p1", errno.ENODEV, "No such device"), now=10.0)
    assert port.netdev is None and "No such device" in port.error
    ports.transmit(port.dp_port, [(bytearray(60), None)], now=10.5)
    assert port.stats().tx_dropped == 1
    assert ports.retry(20.0) == []
    devices.present.add("p1")
    assert ports.retry(30.0) == [port]
    assert port.stats().rx_packets == 1  # counters survive the new device


def test_fail_mode_change_resets_flows_as_ovs(env, devices):
    sw, ports, brs = env
    from pyvswitch.config.model import Config

    cfg = cfg_after(Config(), "add-br br0 -- set bridge br0 datapath_type=dummy")
    brs.apply(cfg)
    br = sw.bridge("br0")
    br.flows.append("priority=5,ip,actions=drop")
    cfg = cfg_after(cfg, "set-fail-mode br0 secure")
    brs.apply(cfg)
    assert br.flows == []
    cfg = cfg_after(cfg, "set-fail-mode br0 standalone")
    brs.apply(cfg)
    assert br.flows == ["priority=0,actions=NORMAL"]
    cfg = cfg_after(cfg, "del-fail-mode br0")  # standalone is the default: no change
    br.flows.append("priority=5,ip,actions=drop")
    brs.apply(cfg)
    assert len(br.flows) == 2
    # with a controller configured the flows stay (OVS connmgr_set_fail_mode); a
    # listener is no controller
    cfg = cfg_after(cfg, "set-controller br0 tcp:127.0.0.1:6653 -- set-fail-mode br0 secure")
    brs.apply(cfg)
    assert len(br.flows) == 2
    cfg = cfg_after(cfg, "set-controller br0 ptcp:6653 -- set-fail-mode br0 standalone")
    brs.apply(cfg)
    assert br.flows == ["priority=0,actions=NORMAL"]


def test_type_change_reopens_and_bridge_delete(env, devices, tmp_path):
    sw, ports, brs = env
    from pyvswitch.config.model import Config

    devices.present.add("p1")
    cfg = cfg_after(Config(), "add-br br0 -- add-port br0 p1")
    brs.apply(cfg)
    sw.log.clear()
    cfg = cfg_after(cfg, f"set Interface p1 type=pcap options:tx={tmp_path}/o.pcap")
    brs.apply(cfg)
    assert sw.log == [("del_port", "p1"), ("add_port", "br0", "p1", "pcap", 1)]
    assert ports.get("p1").type == "pcap" and ports.get("p1").netdev is not None
    sw.log.clear()
    cfg = cfg_after(cfg, "del-br br0")
    brs.apply(cfg)
    assert sw.log == [("del_port", "p1"), ("del_bridge", "br0")]
    assert list(ports) == []


def test_refused_port_shows_an_error(env, devices):
    sw, ports, brs = env
    from pyvswitch.config.model import Config

    cfg = cfg_after(Config(), "add-br br0 -- set bridge br0 datapath_type=dummy "
                              "-- add-port br0 p1 vlan_mode=trunk")
    cfg.ports["p1"].vlan_mode = "bogus"  # the fake switch refuses it
    brs.apply(cfg)
    assert ports.get("p1") is None
    assert brs.fill_status(cfg).interfaces["p1"].error == "unknown vlan_mode 'bogus'"


def test_vlan_limit(env, devices):
    sw, ports, brs = env
    from pyvswitch.config.model import Config

    assert headers.get_vlan_limit() == 1
    cfg = cfg_after(Config(), "add-br br0 -- set bridge br0 datapath_type=dummy "
                              "other_config:vlan-limit=2")
    brs.apply(cfg)
    assert headers.get_vlan_limit() == 2 and sw.datapath.flushes == 1
    brs.apply(cfg_after(cfg, "remove bridge br0 other_config vlan-limit"))
    assert headers.get_vlan_limit() == 1


def test_store_roundtrip_numbers(tmp_path, env, devices):
    """What the daemon saves after start-up gives the same numbers next time."""
    sw, ports, brs = env
    store = ConfigStore(str(tmp_path / "conf.json"))
    store.load()
    store.transact(parse_commands("add-br br0 -- set bridge br0 datapath_type=dummy -- "
                                  "add-port br0 a -- add-port br0 b -- add-port br0 c".split()))
    cfg = store.load().copy()
    brs.apply(cfg)
    store.save(cfg)
    store.transact(parse_commands(["del-port", "a"]))
    again = ConfigStore(str(tmp_path / "conf.json")).load()
    assert {n: again.interfaces[n].ofport for n in ("b", "c")} == {"b": 2, "c": 3}


def test_wedged_receive_path_is_reopened():
    """A port that keeps waking the loop with nothing to read is opened afresh."""
    import socket

    from pyvswitch.daemon.ports import WEDGED_READS, PortState

    a, b = socket.socketpair()

    class Wedged:
        def __init__(self):
            self.reopened = 0

        def fileno(self):
            return a.fileno()

        def recv_batch(self, n):
            return []

        def reopen(self):
            self.reopened += 1

        def get_stats(self):
            from pyvswitch.netdev.provider import NetdevStats

            return NetdevStats()

        def close(self):
            pass

    sel = selectors.DefaultSelector()
    table = PortTable(sel, Vlog(modules=("bridge",)), lambda p: None)
    nd = Wedged()
    port = PortState("p1", "br0", "system", {}, 1, dp_port=1)
    table.add(port, netdev=nd)
    try:
        for i in range(WEDGED_READS - 1):
            table.rx_empty(port, now=10.0 + i * 0.01)
        assert nd.reopened == 0
        table.rx_ok(port)  # data came: the count starts again
        for i in range(WEDGED_READS):
            table.rx_empty(port, now=20.0 + i * 0.001)  # many, but within 0.5 s
        assert nd.reopened == 0
        table.rx_empty(port, now=21.0)
        assert nd.reopened == 1
        assert port.fd == a.fileno() and sel.get_key(a.fileno())
    finally:
        table.close_all()
        sel.close()
        a.close()
        b.close()
