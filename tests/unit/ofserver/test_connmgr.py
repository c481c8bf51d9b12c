"""Connection manager semantics: asynchronous messages, roles, async config, controllers,
probes, reconnect backoff, fail-open."""

from __future__ import annotations

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from pyvswitch.flow.flow_text import parse_flow_mod
from pyvswitch.flow.flowmod import FlowModCommand
from pyvswitch.ofserver.connmgr import FAIL_OPEN_PRIORITY
from pyvswitch.ofserver.rconn import Probe, Reconnect
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.consts import OFP10_VERSION, OFP13_VERSION
from tests.unit.ofserver.helpers import Peer, make_mgr

CTL = "tcp:198.51.100.200:6653"
PKT = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
            / IP(src="198.51.100.1", dst="198.51.100.2") / ICMP())


def add(peer: Peer, text: str) -> None:
    xid = peer.send(parse_flow_mod(text, FlowModCommand.ADD))
    assert peer.replies(xid) == [], peer.replies(xid)


def inject(mgr, port: str = "p1", pkt: bytes = PKT, now: float = 1.0):
    out = mgr.switch.receive(port, [pkt], now)
    mgr.flush_events(now)
    return out


def packet_ins(peer: Peer) -> list[M.PacketIn]:
    peer.pump()
    return [m for m, _ in peer.take() if isinstance(m, M.PacketIn)]


def primary(mgr, versions=frozenset((OFP13_VERSION,)), target: str = CTL) -> Peer:
    if target not in mgr.controllers:
        mgr.set_controllers([*mgr.controllers, target], 0.0)
    return Peer(mgr, versions, primary=True, target=target)


# ----------------------------------------------------------------------------- packet-in
def test_controller_action_reaches_primary_with_metadata():
    mgr = make_mgr()
    ctl = primary(mgr)
    add(ctl, "table=0,priority=10,in_port=1,ip,actions=load:0x7->NXM_NX_REG3[],"
        "resubmit(,1)")
    add(ctl, "table=1,cookie=0x99,priority=5,ip,actions=controller")
    inject(mgr)
    pins = packet_ins(ctl)
    assert len(pins) == 1
    pin = pins[0]
    assert pin.in_port == 1 and pin.table_id == 1 and pin.cookie == 0x99
    assert pin.reason == 1 and pin.data == PKT and pin.full_len == len(PKT)
    from pyvswitch.flow import layout as L
    assert pin.metadata.slot(L.REG0 + 3) == (7, 0xFFFFFFFF)


def test_table_miss_goes_to_of10_controller_only():
    mgr = make_mgr()
    mgr.bridge.del_flows("")
    c10 = primary(mgr, {OFP10_VERSION}, "tcp:198.51.100.201:6653")
    c13 = primary(mgr, {OFP13_VERSION}, "tcp:198.51.100.202:6653")
    assert mgr.bridge.wants_packet_in_on_miss
    inject(mgr)
    assert len(packet_ins(c10)) == 1 and packet_ins(c13) == []


def test_explicit_miss_is_no_match_in_13():
    mgr = make_mgr()
    c13 = primary(mgr)
    add(c13, "table=0,priority=0,actions=controller")
    inject(mgr)
    (pin,) = packet_ins(c13)
    assert pin.reason == 0  # no_match


def test_service_connection_needs_miss_send_len():
    mgr = make_mgr()
    svc = Peer(mgr)
    add(svc, "table=0,priority=10,in_port=1,actions=controller")
    inject(mgr)
    assert packet_ins(svc) == []
    svc.send(M.SetConfig(0, 0xFFFF))
    inject(mgr)
    assert len(packet_ins(svc)) == 1


def test_controller_id_selects_connection():
    mgr = make_mgr()
    a = primary(mgr, target="tcp:198.51.100.203:6653")
    b = primary(mgr, target="tcp:198.51.100.204:6653")
    b.send(M.SetControllerId(5))
    add(a, "table=0,priority=10,in_port=1,actions=controller(id=5)")
    inject(mgr)
    assert packet_ins(a) == [] and len(packet_ins(b)) == 1


# ----------------------------------------------------------------------------- roles
def test_master_demotes_other_master_and_slave_is_refused():
    mgr = make_mgr()
    a = primary(mgr, target="tcp:198.51.100.205:6653")
    b = primary(mgr, target="tcp:198.51.100.206:6653")
    assert a.request(M.RoleRequest(M.ControllerRole.MASTER, 1)).role == \
        M.ControllerRole.MASTER
    assert b.request(M.RoleRequest(M.ControllerRole.MASTER, 2)).role == \
        M.ControllerRole.MASTER
    assert a.request(M.RoleRequest(M.ControllerRole.NOCHANGE, 0)) == \
        M.RoleReply(M.ControllerRole.SLAVE, 2)
    xid = a.send(parse_flow_mod("table=0,priority=3,actions=drop", FlowModCommand.ADD))
    (err,) = a.replies(xid)
    assert isinstance(err, M.Error) and err.name == "OFPBRC_IS_SECONDARY"
    add(b, "table=0,priority=10,in_port=1,actions=controller")
    inject(mgr)
    assert packet_ins(a) == [] and len(packet_ins(b)) == 1
    # a stale generation id is refused
    xid = a.send(M.RoleRequest(M.ControllerRole.MASTER, 1))
    (err,) = a.replies(xid)
    assert err.name == "OFPRRFC_STALE"


def test_slave_still_gets_port_status():
    mgr = make_mgr()
    a = primary(mgr)
    a.send(M.RoleRequest(M.ControllerRole.SLAVE, 0))
    a.take()
    mgr.switch.add_port("br0", "p7", ofport_request=7)
    mgr.flush_events(1.0)
    a.pump()
    got = [m for m, _ in a.take() if isinstance(m, M.PortStatus)]
    assert len(got) == 1 and got[0].reason == 0 and got[0].port.name == "p7"


# ----------------------------------------------------------------------------- async
def test_async_config_default_and_set():
    mgr = make_mgr()
    a = primary(mgr)
    cfg = a.request(M.GetAsyncRequest()).config
    assert cfg.packet_in_mask == (0b011, 0) and cfg.port_status_mask == (0b111, 0b111)
    assert cfg.flow_removed_mask == (0b1111, 0)
    a.send(M.SetAsync(M.AsyncConfig((0b001, 0), (0b111, 0b111), (0, 0))))
    add(a, "table=0,priority=10,in_port=1,actions=controller")
    inject(mgr)
    assert packet_ins(a) == []  # "action" reasons switched off
    xid = a.send(M.SetAsync(M.AsyncConfig((0x80, 0), (0, 0), (0, 0))))
    (err,) = a.replies(xid)
    assert err.name == "OFPACFC_INVALID"


# ----------------------------------------------------------------------------- flows
def test_flow_removed_on_delete_goes_to_every_interested_connection():
    mgr = make_mgr()
    a = primary(mgr)
    svc = Peer(mgr)
    add(a, "table=2,priority=5,send_flow_rem,ip,actions=drop")
    svc.send(M.SetConfig(0, 128))
    svc.take()
    a.send(parse_flow_mod("table=2,ip", FlowModCommand.DELETE))
    a.pump()
    svc.pump()
    for peer in (a, svc):
        got = [m for m, _ in peer.take() if isinstance(m, M.FlowRemoved)]
        assert len(got) == 1 and got[0].reason == 2 and got[0].priority == 5


def test_nxm_flow_format_and_table_id_extension():
    mgr = make_mgr()
    p = Peer(mgr, {OFP10_VERSION})
    p.send(M.SetFlowFormat(2))
    p.send(M.FlowModTableId(True))
    add(p, "table=3,priority=9,ip,ct_state=+trk+est,actions=output:2")
    reply = p.request(M.FlowStatsRequest(table_id=3, nx=True))
    assert reply.nx and len(reply.flows) == 1
    assert reply.flows[0].table_id == 3 and reply.flows[0].idle_age is not None


# ----------------------------------------------------------------------------- timers
def test_probe_sends_echo_then_disconnects():
    mgr = make_mgr()
    a = primary(mgr)
    a.conn.run(4.0)
    assert a.take() == []
    a.conn.run(5.5)
    a.pump()
    assert [type(m) for m, _ in a.take()] == []  # the echo was answered by the codec
    assert a.conn.probe.idle_since is None  # ...and the reply counted as activity
    # a peer that stays silent
    silent = mgr.accepted("silent", 0.0, probe_interval=5)
    silent.run(5.0)
    assert silent.probe.idle_since == 5.0 and not silent.closed
    silent.run(10.0)
    assert silent.closed and "inactivity probe" in silent.close_reason


def test_reconnect_backoff_doubles_and_resets():
    r = Reconnect(0.0, max_backoff=8)
    assert r.run(0.0) == "connect"
    delays = []
    now = 0.0
    for _ in range(5):
        r.connect_failed(now)
        delays.append(r.deadline - now)
        now = r.deadline
        assert r.run(now) == "connect"
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0]
    r.connected(now)
    r.disconnected(now + 100)  # up for long: the next wait is short again
    assert r.deadline - (now + 100) == 1.0


def test_connect_attempt_times_out():
    r = Reconnect(0.0)
    assert r.run(0.0) == "connect"
    assert r.run(0.5) is None
    assert r.run(1.0) == "timeout"


def test_probe_interval_zero_disables():
    p = Probe(0.0, 0)
    assert p.run(1e6) is None and p.next_deadline() is None


# ----------------------------------------------------------------------------- fail mode
def _visible_priorities(mgr) -> list[int]:
    p = Peer(mgr)
    return sorted(f.priority for f in p.request(M.FlowStatsRequest()).flows)


def test_first_controller_flushes_flows_last_restores_normal():
    mgr = make_mgr()
    assert _visible_priorities(mgr) == [0]
    mgr.set_controllers([CTL], 0.0)
    assert _visible_priorities(mgr) == []
    mgr.set_controllers(["ptcp:6653"], 1.0)  # a listener is no controller
    assert _visible_priorities(mgr) == [0]


def test_standalone_fails_open_after_three_probe_intervals_then_recovers():
    mgr = make_mgr()
    mgr.set_controllers([CTL], 0.0)
    acts = mgr.run(0.0)
    assert acts == [("connect", CTL)]
    mgr.connect_failed(CTL, 0.1)
    mgr.run(14.0)
    assert not mgr.fail_open_active
    mgr.run(15.0)
    assert mgr.fail_open_active
    assert _visible_priorities(mgr) == []  # the NORMAL rule is hidden
    rules = mgr.bridge.ofproto.rules(0)
    assert [r.priority for r in rules] == [FAIL_OPEN_PRIORITY]
    out = inject(mgr, now=16.0)  # a learning switch now: flooded to p2 and LOCAL
    assert sorted(name for name, _ in out) == ["br0", "p2"]
    # the controller comes back and programs the switch
    ctl = Peer(mgr, primary=True, target=CTL, now=20.0)
    add(ctl, "table=0,priority=1,actions=drop")
    assert not mgr.fail_open_active
    assert [r.priority for r in mgr.bridge.ofproto.rules(0)] == [1]


def test_secure_never_fails_open():
    mgr = make_mgr(fail_mode="secure")
    mgr.set_controllers([CTL], 0.0)
    mgr.run(0.0)
    mgr.connect_failed(CTL, 0.1)
    mgr.run(100.0)
    assert not mgr.fail_open_active and mgr.bridge.ofproto.rules() == []


def test_packet_in_after_conntrack_carries_ct_fields():
    from pyvswitch.flow import layout as L
    mgr = make_mgr()
    ctl = primary(mgr)
    add(ctl, "table=0,priority=10,ip,actions=ct(commit,zone=5,table=1)")
    add(ctl, "table=1,priority=10,ip,actions=controller")
    inject(mgr)
    (pin,) = packet_ins(ctl)
    m = pin.metadata
    assert m.slot(L.CT_STATE)[0] & 0x21 == 0x21  # +trk+new
    assert m.slot(L.CT_ZONE) == (5, 0xFFFF)
    assert m.slot(L.ETH_TYPE) == (0x0800, 0xFFFF)
    assert m.slot(L.CT_NW_SRC)[0] == 0xC6336401 and m.slot(L.CT_NW_PROTO)[0] == 1
    assert pin.table_id == 1


def test_port_status_on_link_change_and_port_mod():
    mgr = make_mgr()
    a = primary(mgr)
    b = primary(mgr, target="tcp:198.51.100.207:6653")
    a.take()
    b.take()
    mgr.bridge.set_port_state("p2", may_enable=False)
    mgr.flush_events(1.0)
    for peer in (a, b):
        peer.pump()
        (ps,) = [m for m, _ in peer.take() if isinstance(m, M.PortStatus)]
        assert ps.reason == 2 and ps.port.name == "p2"
        assert ps.port.state & 1 and not ps.port.state & 4  # LINK_DOWN, not LIVE
    # a port_mod: everybody but its sender is told (before OpenFlow 1.5)
    xid = a.send(M.PortMod(port_no=1, config=0x20, mask=0x20))  # NO_FWD
    assert a.replies(xid) == []
    b.pump()
    assert [m.port.config for m, _ in b.take() if isinstance(m, M.PortStatus)] == [0x20]
    assert [m for m, _ in a.take() if isinstance(m, M.PortStatus)] == []
    assert mgr.bridge.xports[1].config & 0x20


def test_packet_ins_to_a_peer_that_does_not_read_are_dropped_past_the_limit():
    from pyvswitch.ofserver.ofconn import MAX_PENDING_OUTPUT
    mgr = make_mgr()
    ctl = primary(mgr)
    add(ctl, "table=0,priority=10,in_port=1,actions=controller")
    big = PKT + bytes(1400)
    n = MAX_PENDING_OUTPUT // len(big) + 50
    for i in range(n):
        mgr.switch.receive("p1", [big], 1.0 + i * 1e-6)
        mgr.flush_events(1.0)
    # nothing was read by the controller: the queue stopped growing at the limit
    assert ctl.conn.pending_output() <= MAX_PENDING_OUTPUT + len(big) + 200
    ctl.pump()
    assert len(packet_ins(ctl)) < n


def test_nicira_packet_in_formats_carry_the_metadata():
    """SET_PACKET_IN_FORMAT 1 (NXT_PACKET_IN, NXM metadata) and 2 (NXT_PACKET_IN2), in
    1.0 where the standard packet-in has no metadata at all."""
    import struct

    from pyvswitch.flow import layout as L
    from pyvswitch.openflow.codec import decode

    for fmt, subtype in ((1, 17), (2, 30)):
        mgr = make_mgr()
        ctl = primary(mgr, {OFP10_VERSION})
        ctl.send(M.SetPacketInFormat(fmt))
        add(ctl, "priority=10,in_port=1,ip,actions=load:0x7->NXM_NX_REG3[],controller")
        mgr.switch.receive("p1", [PKT], 1.0)
        mgr.flush_events(1.0)
        raw = ctl.conn.data_to_send()
        assert raw[1] == 4 and struct.unpack_from("!II", raw, 8) == (0x2320, subtype)
        pin = decode(raw)
        assert isinstance(pin, M.PacketIn) and pin.in_port == 1 and pin.data == PKT
        assert pin.reason == 1 and pin.metadata.slot(L.REG0 + 3) == (7, 0xFFFFFFFF)
    mgr = make_mgr()
    ctl = primary(mgr, {OFP10_VERSION})
    xid = ctl.send(M.SetPacketInFormat(3))
    assert [type(m) for m in ctl.replies(xid)] == [M.Error]


def test_demoted_master_gets_role_status_in_13_and_14():
    mgr = make_mgr()
    old13 = primary(mgr, {OFP13_VERSION}, "tcp:198.51.100.203:6653")
    old14 = primary(mgr, {0x05}, "tcp:198.51.100.204:6653")
    old10 = primary(mgr, {OFP10_VERSION}, "tcp:198.51.100.205:6653")
    new = primary(mgr, {OFP13_VERSION}, "tcp:198.51.100.206:6653")
    for peer, gen in ((old13, 5), (old14, 6), (old10, 0), (new, 7)):
        peer.request(M.RoleRequest(M.ControllerRole.MASTER, gen))
        for p in (old13, old14, old10):
            p.pump()
    got = {id(p): [m for m, x in p.take() if isinstance(m, M.RoleStatus)]
           for p in (old13, old14, old10)}
    slave = M.ControllerRole.SLAVE
    # each 1.3+ master was told when the next one took over, with the new election id
    assert got[id(old13)] == [M.RoleStatus(slave, 0, 6)]
    assert got[id(old14)] == [M.RoleStatus(slave, 0, 6)]  # 1.0's request has no id
    assert got[id(old10)] == []  # OpenFlow 1.0 has no role status
    assert new.conn.role == M.ControllerRole.MASTER


def test_of14_async_config_properties():
    mgr = make_mgr()
    p = Peer(mgr, {0x05})
    default = p.request(M.GetAsyncRequest()).config
    assert default.role_status_mask == (0, 0) and default.port_status_mask == (7, 7)
    keep = (None, None)
    # only the packet-in and role-status masks: the others stay as they were
    p.send(M.SetAsync(M.AsyncConfig((3, None), keep, keep, (1, 1), keep, keep)))
    cfg = p.request(M.GetAsyncRequest()).config
    assert cfg.packet_in_mask == (3, 0) and cfg.role_status_mask == (1, 1)
    assert cfg.port_status_mask == default.port_status_mask
    assert cfg.flow_removed_mask == default.flow_removed_mask
    bad = p.send(M.SetAsync(M.AsyncConfig((1 << 9, None), keep, keep, keep, keep, keep)))
    assert [m.name for m in p.replies(bad)] == ["OFPACFC_INVALID"]
    import struct
    for prop, name in ((struct.pack("!HHI", 12, 8, 1), "OFPACFC_UNSUPPORTED"),
                       (struct.pack("!HHI", 1, 12, 1), "OFPBPC_BAD_LEN")):
        msg = struct.pack("!BBHI", 5, 28, 8 + len(prop), 77) + prop
        p.send_raw(msg)
        assert [m.name for m in p.replies(77)] == [name]
        p.take()
    assert p.request(M.GetAsyncRequest()).config == cfg  # refused ones changed nothing
