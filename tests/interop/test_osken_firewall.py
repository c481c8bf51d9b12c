"""An os-ken application installs a stateful NAT firewall on pyvswitchd with Nicira
conntrack actions (NXActionCT, NXActionNAT, ct_state matches), OpenFlow 1.3:
connections from the inside host work (source-NATed to 203.0.113.1), the outside host
cannot open a connection to the inside.

Port 1: inside host h1 198.51.100.1; port 2: outside host h2 203.0.113.2.  h1 reaches
203.0.113.0/24 directly on its link; h2 knows 203.0.113.1 (the NAT address) as h1's MAC,
so replies go back through the switch, which translates them to h1.
"""

from __future__ import annotations

import pytest

from tests.interop.test_osken_support import osken_network, ping, wait_log

pytestmark = [pytest.mark.interop, pytest.mark.netns]

APP = '''
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import nicira_ext, ofproto_v1_3

TRK, NEW, EST, INV = 0x20, 0x01, 0x02, 0x10
NAT_SRC = 1  # NX_NAT_F_SRC (os-ken 3 has no name for it)


class NatFirewall(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    @set_ev_cls(ofp_event.EventOFPStateChange, MAIN_DISPATCHER)
    def ready(self, ev):
        dp = ev.datapath
        p, o = dp.ofproto_parser, dp.ofproto

        def flow(table, prio, match, actions=()):
            inst = ([p.OFPInstructionActions(o.OFPIT_APPLY_ACTIONS, list(actions))]
                    if actions else [])
            dp.send_msg(p.OFPFlowMod(dp, table_id=table, priority=prio, match=match,
                                     instructions=inst))

        def ct(commit=False, table=255, nested=()):
            return p.NXActionCT(flags=nicira_ext.NX_CT_F_COMMIT if commit else 0,
                                zone_src="", zone_ofs_nbits=1, recirc_table=table, alg=0,
                                actions=list(nested))

        ip = dict(eth_type=0x0800)
        flow(0, 100, p.OFPMatch(eth_type=0x0806), [p.OFPActionOutput(o.OFPP_NORMAL)])
        # untracked IPv4: through conntrack (un-NATing replies), then table 1
        flow(0, 90, p.OFPMatch(ct_state=(0, TRK), **ip), [ct(table=1, nested=[
            p.NXActionNAT(flags=0)])])
        flow(0, 0, p.OFPMatch())
        # new from the inside: commit with source NAT to 203.0.113.1 and a mark
        flow(1, 100, p.OFPMatch(in_port=1, ct_state=(TRK | NEW, TRK | NEW | INV), **ip),
             [ct(commit=True, nested=[
                 p.NXActionNAT(flags=NAT_SRC,
                               range_ipv4_min="203.0.113.1", range_ipv4_max="203.0.113.1"),
                 p.OFPActionSetField(ct_mark=1)]),
              p.OFPActionOutput(2)])
        flow(1, 90, p.OFPMatch(in_port=1, ct_state=(TRK | EST, TRK | EST | INV), **ip),
             [p.OFPActionOutput(2)])
        flow(1, 90, p.OFPMatch(in_port=2, ct_state=(TRK | EST, TRK | EST | INV),
                               ct_mark=1, **ip),
             [p.OFPActionOutput(1)])
        flow(1, 0, p.OFPMatch())
        dp.send_msg(p.OFPBarrierRequest(dp))
        self.logger.info("FIREWALL INSTALLED")
'''


def test_nat_firewall_outbound_works_inbound_blocked(tmp_path):
    with osken_network(tmp_path, "nat_firewall", APP, 2) as (tb, sw, hosts, log):
        h1, h2 = hosts
        tb.run(h2, ["ip", "addr", "flush", "dev", "eth0"])
        tb.run(h2, ["ip", "addr", "add", "203.0.113.2/24", "dev", "eth0"])
        tb.run(h1, ["ip", "route", "add", "203.0.113.0/24", "dev", "eth0"])
        tb.run(h2, ["ip", "route", "add", "198.51.100.0/24", "dev", "eth0"])
        tb.run(h2, ["ip", "neigh", "replace", "203.0.113.1", "lladdr", h1.mac,
                    "dev", "eth0", "nud", "permanent"])
        assert wait_log(log, "FIREWALL INSTALLED"), log.read_text()[-2000:]
        flows = sw.ofctl("dump-flows", "br0")
        assert "nat(src=203.0.113.1)" in flows and "ct_state=-trk" in flows, flows
        assert ping(tb, h1, "203.0.113.2", count=3), flows
        ct = sw.appctl("dpctl/dump-conntrack")
        assert "src=198.51.100.1,dst=203.0.113.2" in ct, ct
        assert "dst=203.0.113.1" in ct and "mark=1" in ct and "zone=1" in ct, ct
        # the outside may not open connections to the inside
        assert not ping(tb, h2, "198.51.100.1", count=2)
        # ... while the inside keeps working
        assert ping(tb, h1, "203.0.113.2", count=2)
