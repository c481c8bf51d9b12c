"""Statistics and multipart requests: flows, aggregates, tables, ports, groups.

Each request is answered with one reply value; the codec splits long replies into
several messages flagged MORE.  Flow counters are brought up to date from the datapath
first (``Switch.push_stats``), so a dump right after traffic shows it.  Rules with a
priority above 65535 are the switch's own hidden rules (fail-open) and are never
reported, as in OVS.

Port counters come from the daemon's ports through the connection manager's host;
counters a port does not keep are reported as all-ones ("?" in ``ovs-ofctl``).

Layer: ofserver.  Imports: errors, openflow.messages, openflow.stats, ofserver.*.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvswitch.errors import OFPError
from pyvswitch.flow.ofpacts import GroupDesc
from pyvswitch.ofserver import features
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.stats import split_duration
from pyvswitch.types import OFPG_ALL, OFPP_LOCAL, OFPP_MAX, OFPP_NONE

if TYPE_CHECKING:
    from pyvswitch.ofserver.connmgr import ConnManager
    from pyvswitch.ofserver.ofconn import OFConn

#: rules above this priority are hidden from OpenFlow (OVS ``rule_is_hidden``)
MAX_VISIBLE_PRIORITY = 0xFFFF
#: OpenFlow 1.0 table stats: every field can be wildcarded (OFPFW10_ALL)
_OF10_WILDCARDS = 0x3FFFFF


def visible(rules: list[Any]) -> list[Any]:
    return [r for r in rules if r.priority <= MAX_VISIBLE_PRIORITY]


class StatsHandler:
    """The multipart half of :class:`~pyvswitch.ofserver.handler.Handler`."""

    def __init__(self, mgr: ConnManager) -> None:
        self.mgr = mgr

    def table(self) -> dict[type, Callable[..., None]]:
        return {
            M.DescRequest: self.desc,
            M.FlowStatsRequest: self.flow,
            M.AggregateStatsRequest: self.aggregate,
            M.TableStatsRequest: self.tables,
            M.PortStatsRequest: self.ports,
            M.PortDescRequest: self.port_desc,
            M.TableFeaturesRequest: self.table_features,
            M.GroupStatsRequest: self.group_stats,
            M.GroupDescRequest: self.group_desc,
            M.GroupFeaturesRequest: self.group_features,
        }

    # ------------------------------------------------------------------ switch
    def desc(self, conn: OFConn, req: M.DescRequest, xid: int, raw: bytes,
             now: float) -> None:
        conn.send(features.desc_reply(), xid)

    def port_desc(self, conn: OFConn, req: M.PortDescRequest, xid: int, raw: bytes,
                  now: float) -> None:
        port_no = None if req.port_no == OFPP_NONE else req.port_no
        conn.send(M.PortDescReply(tuple(self.mgr.port_descs(port_no))), xid)

    def table_features(self, conn: OFConn, req: M.TableFeaturesRequest, xid: int,
                       raw: bytes, now: float) -> None:
        if req.tables:
            raise OFPError("OFPTFFC_EPERM", "table features cannot be changed")
        conn.send_prebuilt("table_features", M.TableFeaturesReply(features.table_features()),
                           xid)

    # ------------------------------------------------------------------ flows
    def _select(self, req: M.FlowStatsRequest | M.AggregateStatsRequest) -> list[Any]:
        mgr = self.mgr
        mgr.switch.push_stats()
        rules = mgr.bridge.ofproto.collect_rules(
            req.table_id, req.match, strict=False, cookie=req.cookie,
            cookie_mask=req.cookie_mask, out_port=req.out_port, out_group=req.out_group)
        return visible(rules)

    def flow(self, conn: OFConn, req: M.FlowStatsRequest, xid: int, raw: bytes,
             now: float) -> None:
        ofp = self.mgr.bridge.ofproto
        flows = tuple(ofp.flow_stats(r, now) for r in self._select(req))
        conn.send(M.FlowStatsReply(flows, nx=req.nx), xid)

    def aggregate(self, conn: OFConn, req: M.AggregateStatsRequest, xid: int, raw: bytes,
                  now: float) -> None:
        rules = self._select(req)
        conn.send(M.AggregateStatsReply(sum(r.n_packets for r in rules),
                                        sum(r.n_bytes for r in rules), len(rules),
                                        nx=req.nx), xid)

    def tables(self, conn: OFConn, req: M.TableStatsRequest, xid: int, raw: bytes,
               now: float) -> None:
        self.mgr.switch.push_stats()
        ofp = self.mgr.bridge.ofproto
        hidden = self.mgr.n_hidden_rules()
        out = []
        for t in ofp.table_stats():
            active = t.active - (hidden if t.table_id == 0 else 0)
            out.append(M.TableStats(t.table_id, active, t.lookup, t.matched, t.name,
                                    _OF10_WILDCARDS, features.MAX_ENTRIES))
        conn.send(M.TableStatsReply(tuple(out)), xid)

    # ------------------------------------------------------------------ ports
    def ports(self, conn: OFConn, req: M.PortStatsRequest, xid: int, raw: bytes,
              now: float) -> None:
        ofp = self.mgr.bridge.ofproto
        if req.port_no == OFPP_NONE:
            # LOCAL first, then by number (the order OVS's port map gives)
            numbers = sorted(ofp.ports, key=lambda n: (n != OFPP_LOCAL, n))
        elif req.port_no < OFPP_MAX or req.port_no == OFPP_LOCAL:
            numbers = [req.port_no] if req.port_no in ofp.ports else []
        else:
            numbers = []
        conn.send(M.PortStatsReply(tuple(self.mgr.port_stats(n, now) for n in numbers)), xid)

    # ------------------------------------------------------------------ groups
    def _groups(self, group_id: int) -> list[Any]:
        gt = self.mgr.bridge.ofproto.groups
        if group_id == OFPG_ALL:
            return list(gt)
        g = gt.get(group_id)
        return [g] if g is not None else []

    def group_stats(self, conn: OFConn, req: M.GroupStatsRequest, xid: int, raw: bytes,
                    now: float) -> None:
        self.mgr.switch.push_stats()
        out = []
        for s in self.mgr.bridge.ofproto.group_stats(req.group_id, now):
            sec, nsec = split_duration(s.duration)
            out.append(M.GroupStats(s.group_id, s.ref_count, s.packet_count, s.byte_count,
                                    sec, nsec, tuple(s.bucket_stats)))
        conn.send(M.GroupStatsReply(tuple(out)), xid)

    def group_desc(self, conn: OFConn, req: M.GroupDescRequest, xid: int, raw: bytes,
                   now: float) -> None:
        descs = tuple(GroupDesc(g.group_id, g.type, tuple(g.buckets),
                                getattr(g, "selection_method", ""))
                      for g in self._groups(req.group_id))
        conn.send(M.GroupDescReply(descs), xid)

    def group_features(self, conn: OFConn, req: M.GroupFeaturesRequest, xid: int,
                       raw: bytes, now: float) -> None:
        conn.send(features.group_features(), xid)


__all__ = ["MAX_VISIBLE_PRIORITY", "StatsHandler", "visible"]
