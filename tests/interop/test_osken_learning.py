"""An os-ken MAC-learning switch (packet-in driven, OpenFlow 1.3) controlling pyvswitchd:
hosts in network namespaces ping each other through the flows the controller installs.

The bridge is in ``secure`` fail mode, so nothing is forwarded unless the controller
says so: the table-miss flow sends packets to the controller, which learns source MACs,
answers with packet-outs (flooding unknown destinations) and installs one flow per
(in_port, destination) once the destination is known.
"""

from __future__ import annotations

import pytest

from tests.interop.test_osken_support import osken_network, ping, wait_log

pytestmark = [pytest.mark.interop, pytest.mark.netns]

APP = '''
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib.packet import ethernet, packet
from os_ken.ofproto import ofproto_v1_3


class LearningSwitch(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.macs = {}

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def features(self, ev):
        dp = ev.msg.datapath
        p, o = dp.ofproto_parser, dp.ofproto
        self.add_flow(dp, 0, p.OFPMatch(),
                      [p.OFPActionOutput(o.OFPP_CONTROLLER, o.OFPCML_NO_BUFFER)])
        self.logger.info("READY dpid=%016x", dp.id)

    def add_flow(self, dp, priority, match, actions):
        p, o = dp.ofproto_parser, dp.ofproto
        inst = [p.OFPInstructionActions(o.OFPIT_APPLY_ACTIONS, actions)]
        dp.send_msg(p.OFPFlowMod(datapath=dp, priority=priority, match=match,
                                 instructions=inst))

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        msg = ev.msg
        dp = msg.datapath
        p, o = dp.ofproto_parser, dp.ofproto
        in_port = msg.match["in_port"]
        eth = packet.Packet(msg.data).get_protocols(ethernet.ethernet)[0]
        table = self.macs.setdefault(dp.id, {})
        table[eth.src] = in_port
        out_port = table.get(eth.dst, o.OFPP_FLOOD)
        actions = [p.OFPActionOutput(out_port)]
        if out_port != o.OFPP_FLOOD:
            self.add_flow(dp, 1, p.OFPMatch(in_port=in_port, eth_dst=eth.dst), actions)
            self.logger.info("FLOW %s -> port %d", eth.dst, out_port)
        data = msg.data if msg.buffer_id == o.OFP_NO_BUFFER else None
        dp.send_msg(p.OFPPacketOut(datapath=dp, buffer_id=msg.buffer_id, in_port=in_port,
                                   actions=actions, data=data))
'''


def test_learning_switch_pings(tmp_path):
    with osken_network(tmp_path, "learning_switch", APP, 3) as (tb, sw, hosts, log):
        assert wait_log(log, "READY"), log.read_text()[-2000:]
        h1, h2, h3 = hosts
        assert ping(tb, h1, "198.51.100.2", count=3), log.read_text()[-3000:]
        assert ping(tb, h3, "198.51.100.1", count=3)
        assert ping(tb, h2, "198.51.100.3", count=3)
        flows = sw.ofctl("dump-flows", "br0")
        learned = [line for line in flows.splitlines() if "priority=1," in line]
        # a flow per (in_port, destination) pair that talked
        assert len(learned) >= 4, flows
        assert "FLOW" in log.read_text()
        # the learned flows carry the traffic now: no new packet-ins for h1 <-> h2
        before = log.read_text().count("FLOW")
        assert ping(tb, h1, "198.51.100.2", count=3)
        assert log.read_text().count("FLOW") == before
