"""A bridge without ofproto: real classifiers and flow parsing, a dict MAC table.

Lets translation be tested on its own, including against real OVS traces."""

from __future__ import annotations

from pyvswitch.classifier import DEFAULT_PREFIX_SLOTS, Classifier
from pyvswitch.flow.flow_text import parse_flow_mod, parse_group_mod
from pyvswitch.flow.flowmod import FlowModCommand, GroupModCommand
from pyvswitch.ofproto_dpif.ports import XPort, make_vlan_config
from pyvswitch.ofproto_dpif.recirc import RecircTable
from pyvswitch.types import OFPP_LOCAL


class FakeRule:
    def __init__(self, table_id, priority, match, actions, cookie=0):
        self.table_id = table_id
        self.priority = priority
        self.match = match
        self.actions = actions
        self.cookie = cookie
        self.n_packets = 0
        self.n_bytes = 0
        self.used = 0.0

    def credit(self, n_packets, n_bytes, now):
        self.n_packets += n_packets
        self.n_bytes += n_bytes
        self.used = max(self.used, now)


class FakeGroup:
    def __init__(self, gm):
        self.group_id = gm.group_id
        self.type = gm.type
        self.buckets = tuple(gm.buckets)
        self.selection_method = gm.selection_method


class FakeOFProto:
    def __init__(self):
        self.tables = [Classifier(DEFAULT_PREFIX_SLOTS) for _ in range(255)]
        self.groups = {}

    def lookup(self, table_id, flow, wc):
        return self.tables[table_id].lookup(flow, wc)


class FakeMacLearning:
    def __init__(self):
        self.entries = {}

    def learn(self, vlan, mac, port, now):
        old = self.entries.get((vlan, mac))
        self.entries[(vlan, mac)] = (port, now)
        return old is None or old[0] != port

    def lookup(self, vlan, mac, now):
        e = self.entries.get((vlan, mac))
        return None if e is None else e[0]


class FakeSwitch:
    def __init__(self):
        self.need_revalidate = False
        self.need_revalidate_mac = False


class FakeBridge:
    def __init__(self, name="br0", normal=True):
        self.name = name
        self.ofproto = FakeOFProto()
        self.xports = {}
        self.ml = FakeMacLearning()
        self.recirc = RecircTable()
        self.wants_packet_in_on_miss = False
        self.controller_connected = False
        self.switch = FakeSwitch()
        self.learned = []
        self.add_port(name, OFPP_LOCAL, 100)
        if normal:
            self.add_flow("priority=0,actions=NORMAL")

    def add_port(self, name, ofport, dp_port, tag=None, trunks=None, vlan_mode=None):
        mode, vlan, tset = make_vlan_config(tag, trunks, vlan_mode)
        self.xports[ofport] = XPort(name, ofport, dp_port, vlan_mode=mode, vlan=vlan,
                                    trunks=tset)

    def port_map(self):
        return {p.name: p.ofport for p in self.xports.values()}

    def add_flow(self, text):
        fm = parse_flow_mod(text, FlowModCommand.ADD, self.port_map())
        tid = fm.table_id or 0
        rule = FakeRule(tid, fm.priority, fm.match, fm.actions, fm.cookie)
        self.ofproto.tables[tid].replace(rule)
        return rule

    def add_group(self, text):
        gm = parse_group_mod(text, GroupModCommand.ADD)
        self.ofproto.groups[gm.group_id] = FakeGroup(gm)

    def table_miss_config(self, table_id):
        return "default"

    def mac_table_changed(self):
        self.switch.need_revalidate_mac = True

    def learn_flow(self, fm, limit, now):
        self.learned.append(fm)
        return True
