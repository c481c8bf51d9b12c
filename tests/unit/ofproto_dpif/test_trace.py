"""``ofproto/trace`` text: whole traces (golden text from ``ovs-appctl ofproto/trace`` of
OVS 3.1 for the same bridge and flows, recirculation ids as OVS numbered them), the
flow syntax errors and ``--ct-next`` checks, with OVS's wording."""

import pytest

from pyvswitch.errors import ParseError
from pyvswitch.ofproto_dpif.switch import Switch
from pyvswitch.ofproto_dpif.trace import parse_ct_state, parse_exact_flow


@pytest.fixture
def br():
    sw = Switch()
    b = sw.add_bridge("br0", fail_mode="secure")
    for i in (1, 2, 3):
        sw.add_port("br0", f"p{i}", ofport_request=i)
    return b


FW = """\
table=0,priority=100,ip,ct_state=-trk,actions=ct(zone=1,table=1)
table=1,priority=100,in_port=1,ip,ct_state=+trk+new,actions=ct(commit,zone=1),output:2
table=1,priority=100,ip,ct_state=+trk+est,actions=NORMAL
table=1,priority=90,ip,ct_state=+trk+rel,actions=NORMAL
table=1,priority=0,actions=drop
"""

FW_TRACE = """\
Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,\
nw_src=198.51.100.1,nw_dst=198.51.100.2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,\
tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. ct_state=-trk,ip, priority 100
    ct(table=1,zone=1)
    drop
     -> A clone of the packet is forked to recirculate. The forked pipeline will be \
resumed at table 1.
     -> Sets the packet to an untracked state, and clears all the conntrack fields.

Final flow: unchanged
Megaflow: recirc_id=0,ct_state=-trk,eth,ip,in_port=1,nw_frag=no
Datapath actions: ct(zone=1),recirc(0x1)

===============================================================================
recirc(0x1) - resume conntrack with default ct_state=trk|new (use --ct-next to customize)
===============================================================================

Flow: recirc_id=0x1,ct_state=new|trk,ct_zone=1,eth,tcp,in_port=1,vlan_tci=0x0000,\
dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=198.51.100.1,\
nw_dst=198.51.100.2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
    thaw
        Resuming from table 1
 1. ct_state=+new+trk,ip,in_port=1, priority 100
    ct(commit,zone=1)
    drop
     -> Sets the packet to an untracked state, and clears all the conntrack fields.
    output:2

Final flow: recirc_id=0x1,eth,tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,\
dl_dst=50:54:00:00:00:02,nw_src=198.51.100.1,nw_dst=198.51.100.2,nw_tos=0,nw_ecn=0,\
nw_ttl=0,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0
Megaflow: recirc_id=0x1,ct_state=+new+trk,eth,ip,in_port=1,nw_frag=no
Datapath actions: ct(commit,zone=1),2
"""


def test_firewall_trace_text_is_ovs_text(br):
    br.add_flows(FW)
    text = br.trace("in_port=1,tcp,nw_src=198.51.100.1,nw_dst=198.51.100.2,tp_src=1234,"
                    "tp_dst=80,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02")
    assert text == FW_TRACE


RESUBMIT_TRACE = """\
Flow: in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=00:00:00:00:00:00,\
dl_type=0x0000

bridge("br0")
-------------
 0. priority 10
    learn(table=1,hard_timeout=60,priority=100,NXM_OF_VLAN_TCI[0..11],\
NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:NXM_OF_IN_PORT[]->NXM_NX_REG0[0..15],\
output:NXM_OF_IN_PORT[])
     >> suppressing side effects, so learn action ignored
    resubmit(,1)
     1. priority 0
            load:0x5->NXM_NX_REG1[]
            move:NXM_NX_REG1[]->NXM_NX_REG2[]
             -> NXM_NX_REG2[] is now 0x5
    resubmit(,2)
 2. reg2=0x5, priority 0
    output:NXM_NX_REG2[0..15]
     -> output port is 5
     >> Nonexistent output port
    exit

Final flow: reg1=0x5,reg2=0x5,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,\
dl_dst=00:00:00:00:00:00,dl_type=0x0000
Megaflow: recirc_id=0,eth,in_port=1,dl_src=50:54:00:00:00:01,dl_type=0x0000
Datapath actions: drop
"""


def test_resubmit_learn_move_trace_text_is_ovs_text(br):
    br.add_flows([
        "table=0,priority=10,actions=learn(table=1,hard_timeout=60,priority=100,"
        "NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],"
        "load:NXM_OF_IN_PORT[]->NXM_NX_REG0[0..15],output:NXM_OF_IN_PORT[]),"
        "resubmit(,1),resubmit(,2)",
        "table=1,priority=0,actions=load:0x5->NXM_NX_REG1[],"
        "move:NXM_NX_REG1[]->NXM_NX_REG2[0..31]",
        "table=2,priority=0,reg2=5,actions=output:NXM_NX_REG2[0..15],exit,output:1",
    ])
    assert br.trace("in_port=1,dl_src=50:54:00:00:00:01") == RESUBMIT_TRACE


@pytest.mark.parametrize("text,error", [
    ("in_port=1,ip,ip", "in_port=1,ip,ip: Ethernet type set multiple times"),
    ("in_port=1,nw_src=1.2.3.4", "in_port=1,nw_src=1.2.3.4: prerequisites not met for "
                                 "setting nw_src"),
    ("in_port=1,ip,nw_src=1.2.3.x", "in_port=1,ip,nw_src=1.2.3.x: bad value for nw_src "
                                    "(1.2.3.x: invalid IP address)"),
    ("in_port=1,foo=1", "in_port=1,foo=1: unknown field foo"),
    ("in_port=1,in_port=2", "in_port=1,in_port=2: field in_port set multiple times"),
])
def test_flow_syntax_errors(text, error):
    with pytest.raises(ParseError) as e:
        parse_exact_flow(text, {"p1": 1})
    assert e.value.msg == f"Bad openflow flow syntax: {error}"


def test_flag_fields_take_both_spellings():
    assert parse_exact_flow("ct_state=+est+trk,tcp")[4] == 0x22
    assert parse_exact_flow("ct_state=est|trk,tcp")[4] == 0x22


def test_flow_defaults_and_port_names():
    f = parse_exact_flow("ip", None)
    assert f[2] == 0xFFFF  # in_port NONE when not given
    assert parse_exact_flow("in_port=p1,dl_vlan=5", {"p1": 1})[20] == 0x8100


@pytest.mark.parametrize("text,state,error", [
    ("trk,est", 0x22, None),
    ("trk new", 0x21, None),
    ("", 0, None),
    ("foo", None, "foo: unknown connection tracking state flag"),
    ("new,est", None, 'new|est: invalid connection state: If "trk" is unset, no other '
                      'flags are set\nnew|est: invalid connection state: "new" and "est" '
                      'are mutually exclusive'),
    ("trk,inv,rel", None, 'rel|inv|trk: invalid connection state: when "inv" is set, '
                          'only "trk" may also be set'),
])
def test_ct_next(text, state, error):
    if error is None:
        assert parse_ct_state(text) == state
    else:
        with pytest.raises(ParseError) as e:
            parse_ct_state(text)
        assert e.value.msg == error


def test_trace_with_ct_next_state(br):
    br.add_flows(FW)
    text = br.trace("in_port=2,tcp,nw_src=198.51.100.2,nw_dst=198.51.100.1", ct_next=["trk,est"])
    assert "recirc(0x1) - resume conntrack with ct_state=est|trk\n" in text
    assert " 1. ct_state=+est+trk,ip, priority 100\n    NORMAL\n" in text


def test_table_miss_with_a_controller_wanting_misses(br):
    """As OVS 3.1 traces it while ``ovs-ofctl monitor br0 65534`` is connected."""
    br.wants_packet_in_on_miss = True
    text = br.trace("in_port=1,ip")
    assert (' 0. No match, and a "packet-in" is called for.\n'
            "    controller(reason=)\n") in text
    assert text.endswith("Datapath actions: userspace(pid=0,controller(reason=7,dont_send=1,"
                         "continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,"
                         "max_len=65535))\n")
