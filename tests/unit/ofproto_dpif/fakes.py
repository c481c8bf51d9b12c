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


# ----------------------------------------------------------------------------------
# A stand-in OFProto/MacLearning pair for Switch-level tests (minimal flow_mod rules).
class StubRule(FakeRule):
    def __init__(self, fm, now):
        super().__init__(fm.table_id or 0, fm.priority, fm.match, fm.actions, fm.cookie)
        self.idle_timeout = fm.idle_timeout
        self.hard_timeout = fm.hard_timeout
        self.flags = fm.flags
        self.importance = fm.importance
        self.created = self.modified = self.used = now


class StubOFProto(FakeOFProto):
    def __init__(self, name, dpid):
        super().__init__()
        self.name = name
        self.ports = {}
        self.generation = 0

    class _T:
        def __init__(self, cls):
            self.classifier = cls

    @property
    def tables(self):
        return self._tables

    @tables.setter
    def tables(self, value):
        self._tables = [self._T(c) if isinstance(c, Classifier) else c for c in value]

    def lookup(self, table_id, flow, wc):
        return self._tables[table_id].classifier.lookup(flow, wc)

    def add_port(self, ofport, name):
        self.ports[ofport] = name

    def del_port(self, ofport):
        self.ports.pop(ofport, None)

    def _all(self):
        return [r for t in self._tables for r in t.classifier]

    def handle_flow_mod(self, fm, now):
        C = FlowModCommand
        self.generation += 1
        if fm.command is C.ADD:
            cls = self._tables[fm.table_id or 0].classifier
            cls.replace(StubRule(fm, now))
            return []
        strict = fm.command in (C.MODIFY_STRICT, C.DELETE_STRICT)
        hit = [r for r in self._all()
               if (fm.table_id is None or r.table_id == fm.table_id)
               and ((r.match == fm.match and r.priority == fm.priority) if strict
                    else fm.match.covers(r.match))]
        if fm.command in (C.DELETE, C.DELETE_STRICT):
            for r in hit:
                self._tables[r.table_id].classifier.remove(r)
        else:
            for r in hit:
                r.actions = fm.actions
        return []

    def handle_group_mod(self, gm, now):
        if gm.command is GroupModCommand.DELETE:
            self.groups.clear()
        else:
            self.groups[gm.group_id] = FakeGroup(gm)

    def collect_rules(self, table_id, match, strict=False, **kw):
        return [r for r in self._all() if (table_id is None or r.table_id == table_id)
                and match.covers(r.match)]

    def run(self, now):
        gone = []
        for r in self._all():
            if (r.idle_timeout and now - r.used >= r.idle_timeout) or (
                    r.hard_timeout and now - r.modified >= r.hard_timeout):
                self._tables[r.table_id].classifier.remove(r)
                gone.append(("removed", r))
        return gone


class StubMacLearning(FakeMacLearning):
    def __init__(self, max_age=300):
        super().__init__()
        self.max_age = max_age

    def lookup(self, vlan, mac, now):
        e = self.entries.get((vlan, mac))
        if e is None or now - e[1] >= self.max_age:
            return None
        return e[0]

    def expire(self, now):
        old = [k for k, (_p, t) in self.entries.items() if now - t >= self.max_age]
        for k in old:
            del self.entries[k]
        return len(old)

    def flush(self):
        self.entries.clear()

    def format_fdb_show(self, names):
        lines = [" port  VLAN  MAC                Age"]
        for (vlan, mac), (port, _t) in self.entries.items():
            m = ":".join(f"{(mac >> s) & 255:02x}" for s in range(40, -8, -8))
            lines.append(f"{port:5d}  {vlan:4d}  {m}    0")
        return "\n".join(lines) + "\n"


def stub_factory(name, dpid, mac_aging):
    return StubOFProto(name, dpid), StubMacLearning(mac_aging)
