"""Bad input on a live OpenFlow connection: random and mutated messages.

Messages captured from ovs-ofctl and os-ken (``shared/ofctl-vectors``) are mutated --
bytes flipped, truncated, lengths and types and versions rewritten, garbage appended --
or replaced by random bytes, and sent on a negotiated connection to an in-process
bridge that already holds flows and groups.  Whatever arrives, the switch must answer
only with replies or OFPT_ERRORs (or close the connection on a framing violation), must
never raise (bugs would propagate here: the manager does not catch them in tests), and
a message it refused must leave the flow table and the groups exactly as they were.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvswitch.ofproto_dpif.switch import Switch
from pyvswitch.ofserver.connmgr import ConnManager, NullHost
from pyvswitch.openflow.connection import NEED_DATA, MessageReceived, OFConnection
from pyvswitch.openflow.consts import OFP10_VERSION, OFP13_VERSION, OFP14_VERSION
from pyvswitch.openflow.header import split_messages
from pyvswitch.openflow.messages import Error

VECTORS = Path("/work/shared/ofctl-vectors")
SETUP = """\
table=0,priority=100,arp,actions=NORMAL
table=0,priority=90,ip,ct_state=-trk,actions=ct(table=1,zone=1)
table=1,priority=100,in_port=1,ip,ct_state=+trk+new,actions=ct(commit,zone=1),output:2
table=1,priority=90,ct_state=+trk+est,actions=NORMAL
table=1,priority=0,actions=drop
table=2,cookie=0x5,priority=5,send_flow_rem,udp,actions=group:1
"""


def _samples() -> dict[int, list[bytes]]:
    """Requests from the captures, by the version of the connection they were sent on."""
    out: dict[int, list[bytes]] = {OFP10_VERSION: [], OFP13_VERSION: [], OFP14_VERSION: []}
    for path in sorted(VECTORS.glob("*/*.json")):
        data = json.loads(path.read_text())
        conns = data.get("connections") or [{"messages": data.get("messages", []),
                                             "negotiated_version": 4}]
        for c in conns:
            v = c.get("negotiated_version")
            for m in c["messages"]:
                if m["dir"] in ("ofctl->switch", "controller->switch") and \
                        m["type"] != "OFPT_HELLO" and v in out:
                    out[v].append(bytes.fromhex(m["hex"]))
    return out


SAMPLES = _samples()
VERSIONS = sorted(v for v, msgs in SAMPLES.items() if msgs)


def _switch() -> tuple[Switch, ConnManager]:
    sw = Switch()
    br = sw.add_bridge("br0", fail_mode="secure")
    sw.add_port("br0", "p1", ofport_request=1)
    sw.add_port("br0", "p2", ofport_request=2)
    br.add_group("group_id=1,type=all,bucket=output:1,bucket=output:2")
    br.add_flows(SETUP)
    return sw, ConnManager(sw, "br0", NullHost())


SW, MGR = _switch()


def _state() -> tuple:
    ofp = MGR.bridge.ofproto
    rules = tuple(sorted((r.table_id, r.priority, repr(r.match), repr(r.actions), r.cookie,
                          r.idle_timeout, r.hard_timeout, r.flags) for r in ofp.rules()))
    groups = tuple((g.group_id, g.type, tuple(g.buckets)) for g in ofp.groups)
    return rules, groups


def _restore(state: tuple) -> None:
    """Put the bridge back as set up (a fuzz message may have been valid)."""
    if _state() != state:
        global SW, MGR
        SW, MGR = _switch()


BASE = _state()


@st.composite
def mutated(draw) -> tuple[int, bytes]:
    version = draw(st.sampled_from(VERSIONS))
    kind = draw(st.sampled_from(["flip", "truncate", "extend", "length", "type", "version",
                                 "random", "body"]))
    if kind == "random":
        body = draw(st.binary(min_size=0, max_size=64))
        mtype = draw(st.integers(0, 40))
        return version, struct.pack("!BBHI", version, mtype, 8 + len(body), 0x77) + body
    msg = bytearray(draw(st.sampled_from(SAMPLES[version])))
    struct.pack_into("!I", msg, 4, 0x77)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(8, max(8, len(msg) - 1)))
            if i < len(msg):
                msg[i] ^= draw(st.integers(1, 255))
    elif kind == "truncate":
        cut = draw(st.integers(8, max(8, len(msg) - 1)))
        del msg[cut:]
        struct.pack_into("!H", msg, 2, len(msg))
    elif kind == "extend":
        msg += draw(st.binary(min_size=1, max_size=24))
        struct.pack_into("!H", msg, 2, len(msg))
    elif kind == "length":
        struct.pack_into("!H", msg, 2, draw(st.integers(8, len(msg))))
        del msg[struct.unpack_from("!H", msg, 2)[0]:]
    elif kind == "type":
        msg[1] = draw(st.integers(0, 40))
    elif kind == "version":
        msg[0] = draw(st.sampled_from([v for v in (1, 2, 4, 5, 6) if v != version]))
    else:  # "body": a field deep inside set to an extreme
        if len(msg) > 9:
            i = draw(st.integers(8, len(msg) - 2))
            struct.pack_into("!H", msg, i, draw(st.sampled_from([0, 0xFFFF, 0x8000, 1])))
    return version, bytes(msg)


def _connect(version: int):
    ctl = OFConnection("controller", frozenset((version,)))
    conn = MGR.accepted("fuzz", 0.0)
    conn.receive(ctl.initiate(), 0.0)
    ctl.receive_data(conn.data_to_send())
    while ctl.next_event() is not NEED_DATA:
        pass
    assert conn.version == version
    return ctl, conn


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_messages_only_get_replies_or_errors(case):
    version, data = case
    ctl, conn = _connect(version)
    before = _state()
    conn.receive(data, 1.0)
    out = conn.data_to_send()
    msgs, rest = split_messages(out)
    assert rest == b""
    errors_for_request = False
    for m in msgs:
        if m[1] == 1 and struct.unpack_from("!I", m, 4)[0] == 0x77:
            errors_for_request = True
    if errors_for_request:
        assert _state() == before, data.hex()
    # whatever happened, the switch still answers on a new connection
    ctl2, conn2 = _connect(OFP13_VERSION)
    conn2.receive(ctl2.send(Error(1, 0), 9), 1.0)  # a peer's error draws BAD_TYPE
    ctl2.receive_data(conn2.data_to_send())
    ev = ctl2.next_event()
    assert isinstance(ev, MessageReceived) and isinstance(ev.msg, Error)
    MGR.closed(conn, 1.0)
    MGR.closed(conn2, 1.0)
    _restore(BASE)


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=1, max_size=200))
def test_random_streams_never_raise(data):
    ctl, conn = _connect(OFP13_VERSION)
    before = _state()
    conn.receive(data, 1.0)
    conn.data_to_send()
    if conn.closed:
        assert "protocol error" in conn.close_reason
    MGR.closed(conn, 1.0)
    if _state() != before:
        _restore(BASE)
