"""A recording stand-in for the in-process switch (the part the daemon drives)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pyvswitch.errors import ConfigError
from pyvswitch.types import OFPP_LOCAL


@dataclass
class FakeXPort:
    name: str
    ofport: int
    dp_port: int
    type: str
    tag: int | None = None
    trunks: list[int] | None = None
    vlan_mode: str | None = None


@dataclass
class FakeBridge:
    name: str
    fail_mode: str
    flows: list[str] = field(default_factory=list)

    def add_flow(self, text: str, now: float | None = None) -> None:
        self.flows.append(text)

    def del_flows(self, text: str | None = None, strict: bool = False,
                  now: float | None = None) -> None:
        self.flows.clear()


class FakeDatapath:
    def __init__(self) -> None:
        self.flushes = 0
        self.next = 1

    def flow_flush(self) -> None:
        self.flushes += 1


class FakeSwitch:
    def __init__(self) -> None:
        self.bridges: dict[str, FakeBridge] = {}
        self.ports: dict[str, tuple[str, FakeXPort]] = {}
        self.datapath = FakeDatapath()
        self.log: list[tuple] = []

    def add_bridge(self, name: str, fail_mode: str = "standalone",
                   datapath_type: str = "dummy") -> FakeBridge:
        if name in self.bridges:
            raise ConfigError(f"a bridge named {name} already exists")
        br = FakeBridge(name, fail_mode)
        if fail_mode != "secure":
            br.add_flow("priority=0,actions=NORMAL")
        self.bridges[name] = br
        self.ports[name] = (name, FakeXPort(name, OFPP_LOCAL, 100 + len(self.bridges),
                                            "internal"))
        self.log.append(("add_bridge", name, fail_mode))
        return br

    def del_bridge(self, name: str) -> None:
        del self.bridges[name]
        for p in [p for p, (b, _) in self.ports.items() if b == name]:
            del self.ports[p]
        self.log.append(("del_bridge", name))

    def bridge(self, name: str) -> FakeBridge:
        return self.bridges[name]

    def port(self, name: str) -> FakeXPort:
        return self.ports[name][1]

    def add_port(self, bridge, name, type="dummy", ofport_request=None, options=None,
                 tag=None, trunks=None, vlan_mode=None):
        if name in self.ports:
            raise ConfigError(f"port {name} exists")
        if vlan_mode == "bogus":
            raise ConfigError("unknown vlan_mode 'bogus'")
        dp = self.datapath.next
        self.datapath.next += 1
        self.ports[name] = (bridge, FakeXPort(name, ofport_request, dp, type, tag, trunks,
                                              vlan_mode))
        self.log.append(("add_port", bridge, name, type, ofport_request))
        return ofport_request, dp

    def del_port(self, name: str) -> None:
        del self.ports[name]
        self.log.append(("del_port", name))

    def set_port_vlan(self, name, tag=None, trunks=None, vlan_mode=None) -> None:
        xp = self.ports[name][1]
        xp.tag, xp.trunks, xp.vlan_mode = tag, trunks, vlan_mode
        self.log.append(("set_port_vlan", name, tag, trunks, vlan_mode))
