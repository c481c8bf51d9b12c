"""What the switch does with each OpenFlow request (OVS ``handle_openflow``).

:class:`Handler` dispatches a decoded message to a method by its type.  Every method
either sends its reply (with the request's xid) or raises :class:`OFPError`, which
becomes an OFPT_ERROR carrying the request's xid and bytes; the connection stays up.
Requests are handled one at a time, to completion, in the order they arrive, so a
BARRIER_REPLY is sent only after every earlier request was applied and its errors
sent -- what ``ovs-ofctl`` relies on.

Modifications (flow_mod, group_mod, port_mod, packet_out, bundles) are refused with
OFPBRC_IS_SLAVE on a slave connection.  Statistics live in :mod:`handler_stats`,
bundles in :mod:`handler_bundle`.

Layer: ofserver.  Imports: errors, flow, ofproto.validate, openflow.messages,
ofserver.*.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pyvswitch import coverage
from pyvswitch.errors import LocalProtocolError, OFPError
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import DEFAULT_MD, flow_extract
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand, GroupMod
from pyvswitch.flow.match import Match
from pyvswitch.ofproto import validate
from pyvswitch.ofserver import features
from pyvswitch.ofserver.asyncmsg import AsyncCfg
from pyvswitch.ofserver.handler_bundle import BundleHandler
from pyvswitch.ofserver.handler_stats import StatsHandler
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.consts import (
    NXFF_NXM,
    NXFF_OPENFLOW10,
    OFP10_VERSION,
    OFP_NO_BUFFER,
    OFPTT_ALL,
)

if TYPE_CHECKING:
    from pyvswitch.ofserver.connmgr import ConnManager
    from pyvswitch.ofserver.ofconn import OFConn

#: messages that show a controller accepted the switch (OVS ``is_admitted_msg``)
ADMITTING: frozenset[type] = frozenset((
    FlowMod, GroupMod, M.PacketOut, M.PortMod, M.TableMod, M.BarrierRequest,
    M.DescRequest, M.FlowStatsRequest, M.AggregateStatsRequest, M.TableStatsRequest,
    M.PortStatsRequest, M.PortDescRequest, M.RoleRequest, M.SetFlowFormat,
    M.FlowModTableId, M.SetPacketInFormat, M.SetAsync, M.SetControllerId,
    M.BundleControl, M.BundleAdd, M.CtFlushZone,
))

#: messages a switch only ever sends: receiving one is OFPBRC_BAD_TYPE
_SWITCH_TO_CONTROLLER: tuple[type, ...] = (
    M.Hello, M.Error, M.FeaturesReply, M.GetConfigReply, M.PacketIn, M.FlowRemoved,
    M.PortStatus, M.BarrierReply, M.RoleReply, M.RoleStatus, M.GetAsyncReply, M.DescReply,
    M.FlowStatsReply, M.AggregateStatsReply, M.TableStatsReply, M.PortStatsReply,
    M.PortDescReply, M.TableFeaturesReply, M.GroupStatsReply, M.GroupDescReply,
    M.GroupFeaturesReply,
)

#: packet-in formats a controller may choose: standard, NXT_PACKET_IN, NXT_PACKET_IN2
PACKET_IN_FORMATS = frozenset((0, 1, 2))

_Fn = Callable[["OFConn", Any, int, bytes, float], None]


class Handler:
    """Request handling for the connections of one bridge."""

    def __init__(self, mgr: ConnManager) -> None:
        self.mgr = mgr
        self.stats = StatsHandler(mgr)
        self.bundles = BundleHandler(mgr, self)
        self._table: dict[type, _Fn] = {
            M.EchoRequest: self.echo_request,
            M.EchoReply: self.ignore,
            M.FeaturesRequest: self.features_request,
            M.GetConfigRequest: self.get_config,
            M.SetConfig: self.set_config,
            M.PacketOut: self.packet_out,
            M.PortMod: self.port_mod,
            FlowMod: self.flow_mod,
            GroupMod: self.group_mod,
            M.TableMod: self.table_mod,
            M.BarrierRequest: self.barrier,
            M.RoleRequest: self.role_request,
            M.GetAsyncRequest: self.get_async,
            M.SetAsync: self.set_async,
            M.SetFlowFormat: self.set_flow_format,
            M.FlowModTableId: self.flow_mod_table_id,
            M.SetPacketInFormat: self.set_packet_in_format,
            M.SetControllerId: self.set_controller_id,
            M.CtFlushZone: self.ct_flush_zone,
            M.BundleControl: self.bundles.control,
            M.BundleAdd: self.bundles.add,
        }
        self._table.update(self.stats.table())
        for cls in _SWITCH_TO_CONTROLLER:
            self._table.setdefault(cls, self.bad_type)

    # ------------------------------------------------------------------ dispatch
    def handle(self, conn: OFConn, msg: object, xid: int, raw: bytes, now: float) -> None:
        """Handle one request; an OFPError becomes an error reply, nothing else leaks
        to the peer."""
        coverage.inc("ofproto_recv_openflow")
        fn = self._table.get(type(msg), self.bad_type)
        try:
            fn(conn, msg, xid, raw, now)
        except OFPError as exc:
            coverage.inc("ofproto_error_reply")
            conn.send_error(exc, xid, raw)
        except LocalProtocolError as exc:
            # the codec cannot write the answer in this version (e.g. a property-based
            # 1.4 reply it does not implement): refuse the request instead
            coverage.inc("ofproto_unencodable_reply")
            conn.send_error(OFPError("OFPBRC_BAD_TYPE", str(exc)), xid, raw)
        except Exception:
            if not self.mgr.catch_bugs:
                raise
            # A bug of ours: log it, refuse the request, keep the connection.
            coverage.inc("ofproto_handler_bug")
            self.mgr.host.log("err", f"{conn.name}: unexpected exception handling "
                                     f"{type(msg).__name__}: "
                                     + traceback.format_exc().replace("\n", " | "))
            conn.send_error(OFPError("OFPBRC_EPERM", "internal error"), xid, raw)

    def bad_type(self, conn: OFConn, msg: object, xid: int, raw: bytes, now: float) -> None:
        raise OFPError("OFPBRC_BAD_TYPE", f"unexpected {type(msg).__name__} from a controller")

    def ignore(self, conn: OFConn, msg: object, xid: int, raw: bytes, now: float) -> None:
        pass

    @staticmethod
    def reject_slave(conn: OFConn) -> None:
        if conn.role == M.ControllerRole.SLAVE:
            raise OFPError("OFPBRC_IS_SLAVE", "a slave controller may not modify the switch")

    # ------------------------------------------------------------------ session
    def echo_request(self, conn: OFConn, msg: M.EchoRequest, xid: int, raw: bytes,
                     now: float) -> None:
        conn.send(M.EchoReply(msg.data), xid)

    def features_request(self, conn: OFConn, msg: M.FeaturesRequest, xid: int, raw: bytes,
                         now: float) -> None:
        br = self.mgr.bridge
        ports = self.mgr.port_descs() if conn.version == OFP10_VERSION else []
        conn.send(features.features_reply(br.dpid, conn.version, ports), xid)

    def get_config(self, conn: OFConn, msg: M.GetConfigRequest, xid: int, raw: bytes,
                   now: float) -> None:
        conn.send(M.GetConfigReply(flags=self.mgr.frag_handling,
                                   miss_send_len=conn.miss_send_len), xid)

    def set_config(self, conn: OFConn, msg: M.SetConfig, xid: int, raw: bytes,
                   now: float) -> None:
        # Only "normal" fragment handling exists here (OVS: other modes are refused
        # by the datapath with a warning, and the request still succeeds).
        conn.miss_send_len = msg.miss_send_len
        self.mgr.conn_changed(conn)

    def barrier(self, conn: OFConn, msg: M.BarrierRequest, xid: int, raw: bytes,
                now: float) -> None:
        conn.send(M.BarrierReply(), xid)

    def role_request(self, conn: OFConn, msg: M.RoleRequest, xid: int, raw: bytes,
                     now: float) -> None:
        role = msg.role
        if role != M.ControllerRole.NOCHANGE:
            has_gen = conn.version > OFP10_VERSION and role != M.ControllerRole.EQUAL
            if has_gen and not self.mgr.set_election_id(msg.generation_id):
                raise OFPError("OFPRRFC_STALE", "stale generation id")
            self.mgr.set_role(conn, role)
        conn.send(M.RoleReply(conn.role, self.mgr.election_id()), xid)

    def get_async(self, conn: OFConn, msg: M.GetAsyncRequest, xid: int, raw: bytes,
                  now: float) -> None:
        conn.send(M.GetAsyncReply(conn.async_config().to_wire(conn.version)), xid)

    def set_async(self, conn: OFConn, msg: M.SetAsync, xid: int, raw: bytes,
                  now: float) -> None:
        conn.async_cfg = AsyncCfg.from_wire(msg.config, conn.version,
                                            basis=conn.async_config())
        if conn.is_service and not conn.miss_send_len:
            conn.miss_send_len = 128
        self.mgr.conn_changed(conn)

    def set_flow_format(self, conn: OFConn, msg: M.SetFlowFormat, xid: int, raw: bytes,
                        now: float) -> None:
        if msg.format not in (NXFF_OPENFLOW10, NXFF_NXM):
            raise OFPError("OFPBRC_EPERM", f"unknown flow format {msg.format}")
        conn.session.flow_format = msg.format

    def flow_mod_table_id(self, conn: OFConn, msg: M.FlowModTableId, xid: int, raw: bytes,
                          now: float) -> None:
        conn.session.flow_mod_table_id = bool(msg.enable)

    def set_packet_in_format(self, conn: OFConn, msg: M.SetPacketInFormat, xid: int,
                             raw: bytes, now: float) -> None:
        if msg.format not in PACKET_IN_FORMATS:
            raise OFPError("OFPBRC_EPERM", f"packet-in format {msg.format} not supported")
        conn.session.packet_in_format = msg.format

    def set_controller_id(self, conn: OFConn, msg: M.SetControllerId, xid: int, raw: bytes,
                          now: float) -> None:
        conn.controller_id = msg.controller_id
        conn.session.controller_id = msg.controller_id
        self.mgr.conn_changed(conn)

    def ct_flush_zone(self, conn: OFConn, msg: M.CtFlushZone, xid: int, raw: bytes,
                      now: float) -> None:
        ct = self.mgr.switch.conntrack
        ct.flush(zone=msg.zone)

    # ------------------------------------------------------------------ modifications
    def flow_mod(self, conn: OFConn, fm: FlowMod, xid: int, raw: bytes, now: float) -> None:
        self.reject_slave(conn)
        mgr = self.mgr
        if mgr.defer_adds and fm.command is FlowModCommand.ADD:
            # A pure insertion is checked now and done after the replies are sent
            # (``ConnManager.complete``): a controller waiting for the barrier need
            # not wait for the classifier.
            self.check_flow_mod(conn, fm)
            br = mgr.bridge
            rule = br.ofproto.prepare_add(fm, now,
                                          strict_consistency=conn.version > OFP10_VERSION)
            if rule is not None:
                mgr.defer_insert(rule)
                return
        self.apply_flow_mod(conn, fm, now)
        mgr.flush_events(now)

    def check_flow_mod(self, conn: OFConn, fm: FlowMod) -> None:
        """The checks of a flow_mod that depend on the connection."""
        deleting = fm.command in (FlowModCommand.DELETE, FlowModCommand.DELETE_STRICT)
        if conn.version > OFP10_VERSION and fm.table_id == OFPTT_ALL and not deleting:
            raise OFPError("OFPFMFC_BAD_TABLE_ID", "table 0xff is only valid for deletes")
        if not deleting and fm.buffer_id != OFP_NO_BUFFER:
            raise OFPError("OFPBRC_BUFFER_UNKNOWN", "the switch buffers no packets")

    def apply_flow_mod(self, conn: OFConn, fm: FlowMod, now: float) -> None:
        """Check and apply a flow_mod (raises OFPError; nothing changes then)."""
        self.check_flow_mod(conn, fm)
        self.mgr.bridge.handle_flow_mod(fm, now,
                                        strict_consistency=conn.version > OFP10_VERSION)

    def group_mod(self, conn: OFConn, gm: GroupMod, xid: int, raw: bytes, now: float) -> None:
        self.reject_slave(conn)
        self.mgr.bridge.handle_group_mod(gm, now)
        self.mgr.flush_events(now)

    def table_mod(self, conn: OFConn, msg: M.TableMod, xid: int, raw: bytes,
                  now: float) -> None:
        self.reject_slave(conn)
        if msg.table_id != OFPTT_ALL and msg.table_id >= features.N_VISIBLE_TABLES:
            raise OFPError("OFPTMFC_BAD_TABLE", f"no table {msg.table_id}")
        # Table-miss configuration by table_mod is OpenFlow 1.1/1.2 only; later
        # versions deprecate the bits, so there is nothing to change.

    def port_mod(self, conn: OFConn, pm: M.PortMod, xid: int, raw: bytes, now: float) -> None:
        self.reject_slave(conn)
        self.check_port_mod(pm)
        self.apply_port_mod(pm)
        self.mgr.flush_events(now, source=conn)

    def check_port_mod(self, pm: M.PortMod) -> None:
        br = self.mgr.bridge
        info = br.ofproto.ports.get(pm.port_no)
        xport = br.xports.get(pm.port_no)
        if info is None or xport is None:
            raise OFPError("OFPPMFC_BAD_PORT", f"no port {pm.port_no}")
        if pm.hw_addr and pm.hw_addr != info.hw_addr and info.hw_addr:
            raise OFPError("OFPPMFC_BAD_HW_ADDR", f"port {pm.port_no} has another address")

    def apply_port_mod(self, pm: M.PortMod) -> None:
        br = self.mgr.bridge
        xport = br.xports[pm.port_no]
        if pm.mask:
            br.set_port_state(xport.name, config=pm.config, mask=pm.mask)

    def packet_out(self, conn: OFConn, po: M.PacketOut, xid: int, raw: bytes,
                   now: float) -> None:
        self.reject_slave(conn)
        self.check_packet_out(conn, po)
        self.execute_packet_out(po, now)

    def check_packet_out(self, conn: OFConn, po: M.PacketOut) -> None:
        """OVS ``ofproto_packet_out_init`` and ``_start``: no buffers, actions consistent
        with the packet, groups that exist."""
        if po.buffer_id != OFP_NO_BUFFER:
            raise OFPError("OFPBRC_BUFFER_UNKNOWN", "the switch buffers no packets")
        md = list(DEFAULT_MD)
        flow = list(flow_extract(po.data, tuple(md)))
        flow.extend([0] * (L.N_FLOW - L.N_DP))
        flow[L.IN_PORT] = po.in_port
        match = Match(flow, L.SLOT_FULL)
        ofp = self.mgr.bridge.ofproto
        validate.check_actions(tuple(po.actions), match, table_id=0,
                               strict_consistency=conn.version > OFP10_VERSION,
                               group_exists=ofp.groups.__contains__)

    def execute_packet_out(self, po: M.PacketOut, now: float) -> None:
        mgr = self.mgr
        out = mgr.switch.packet_out(mgr.bridge, po.in_port, tuple(po.actions), po.data, now)
        mgr.transmit(out, now)
        mgr.flush_events(now)


__all__ = ["ADMITTING", "Handler"]
