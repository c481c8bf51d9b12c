"""The pre-conntrack firewall built with ``learn``: an outbound packet installs the flow
that lets its replies in, with an idle and a hard timeout driven by ``now``."""

from .conftest import make_switch, ports, udp

LEARN_FW = [
    "table=0,in_port=1,udp,actions=learn(table=1,idle_timeout=10,hard_timeout=60,"
    "priority=100,dl_type=0x800,nw_proto=17,NXM_OF_IP_SRC[]=NXM_OF_IP_DST[],"
    "NXM_OF_IP_DST[]=NXM_OF_IP_SRC[],NXM_OF_UDP_SRC[]=NXM_OF_UDP_DST[],"
    "NXM_OF_UDP_DST[]=NXM_OF_UDP_SRC[],load:0x1->NXM_NX_REG0[0],output:NXM_OF_IN_PORT[]),"
    "output:2",
    "table=0,in_port=2,actions=resubmit(,1)",
    "table=1,priority=0,actions=drop",
]


def learn_firewall():
    sw = make_switch(2, fail_mode="secure")
    sw.bridge("br0").add_flows(LEARN_FW)
    return sw


def test_outbound_packet_opens_the_way_back_for_its_replies_only():
    sw = learn_firewall()
    assert ports(sw.receive("p2", [udp(2, 1, 53, 5000)], 0.5)) == []
    assert ports(sw.receive("p1", [udp(1, 2, 5000, 53)], 1.0)) == ["p2"]
    learned = sw.bridge("br0").dump_flows("table=1,udp", now=1.5)
    assert ("idle_timeout=10, hard_timeout=60, idle_age=0, priority=100,udp,"
            "nw_src=198.51.100.2,nw_dst=198.51.100.1,tp_src=53,tp_dst=5000 "
            "actions=load:0x1->NXM_NX_REG0[0],output:1") in learned
    assert ports(sw.receive("p2", [udp(2, 1, 53, 5000)], 2.0)) == ["p1"]
    assert ports(sw.receive("p2", [udp(2, 1, 53, 5001)], 2.0)) == []


def test_learned_flow_idles_out():
    sw = learn_firewall()
    sw.receive("p1", [udp(1, 2, 5000, 53)], 1.0)
    assert ports(sw.receive("p2", [udp(2, 1, 53, 5000)], 9.0)) == ["p1"]  # refreshes it
    sw.run(18.9)
    assert ports(sw.receive("p2", [udp(2, 1, 53, 5000)], 18.9)) == ["p1"]
    sw.run(29.0)  # 10 s without a packet
    assert ports(sw.receive("p2", [udp(2, 1, 53, 5000)], 29.0)) == []


def test_learned_flow_hard_times_out_even_when_busy():
    sw = learn_firewall()
    sw.receive("p1", [udp(1, 2, 5000, 53)], 1.0)
    for now in range(6, 61, 5):  # never idle for 10 s
        sw.run(now)
        assert ports(sw.receive("p2", [udp(2, 1, 53, 5000)], now)) == ["p1"]
    sw.run(61.5)  # 60 s after it was learned
    assert ports(sw.receive("p2", [udp(2, 1, 53, 5000)], 61.5)) == []
    # a new outbound packet learns it again
    assert ports(sw.receive("p1", [udp(1, 2, 5000, 53)], 62.0)) == ["p2"]
    assert ports(sw.receive("p2", [udp(2, 1, 53, 5000)], 62.5)) == ["p1"]
