"""BUNDLE_CONTROL and BUNDLE_ADD_MESSAGE: transactions of flow, group and port mods
and packet-outs (OVS ``handle_bundle_control`` / ``handle_bundle_add`` /
``do_bundle_commit``).

An added message is decoded and checked at once; a message that cannot go in a bundle
(anything but flow_mod, group_mod, port_mod, packet_out) is OFPBFC_MSG_UNSUP, an inner
header whose version or xid differs from the outer one is OFPBFC_BAD_VERSION /
OFPBFC_MSG_BAD_XID.  A commit applies the messages in order; if one fails, everything
already applied is rolled back, the failing message's error is sent (with its xid), and
the commit itself fails with OFPBFC_MSG_FAILED.  Packet-outs run only after the whole
bundle succeeded.  Port mods cannot be undone, so an atomic bundle refuses them.

Layer: ofserver.  Imports: errors, flow.flowmod, openflow, ofserver.bundles.
"""

from __future__ import annotations

import gc
import struct
from typing import TYPE_CHECKING

from pyvswitch.errors import OFPError
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand, GroupMod
from pyvswitch.ofproto import validate
from pyvswitch.ofserver.bundles import BundleEntry, TableSnapshot
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.consts import (
    OFPBCT_CLOSE_REPLY,
    OFPBCT_CLOSE_REQUEST,
    OFPBCT_COMMIT_REPLY,
    OFPBCT_COMMIT_REQUEST,
    OFPBCT_DISCARD_REPLY,
    OFPBCT_DISCARD_REQUEST,
    OFPBCT_OPEN_REPLY,
    OFPBCT_OPEN_REQUEST,
    OFPBF_ATOMIC,
    OFPTT_ALL,
)

if TYPE_CHECKING:
    from pyvswitch.ofserver.connmgr import ConnManager
    from pyvswitch.ofserver.handler import Handler
    from pyvswitch.ofserver.ofconn import OFConn

_BUNDLABLE = (FlowMod, GroupMod, M.PortMod, M.PacketOut)
_DELETES = (FlowModCommand.DELETE, FlowModCommand.DELETE_STRICT)


class BundleHandler:
    """The bundle half of :class:`~pyvswitch.ofserver.handler.Handler`."""

    def __init__(self, mgr: ConnManager, handler: Handler) -> None:
        self.mgr = mgr
        self.handler = handler

    # ------------------------------------------------------------------ control
    def control(self, conn: OFConn, msg: M.BundleControl, xid: int, raw: bytes,
                now: float) -> None:
        self.handler.reject_slave(conn)
        t = msg.type
        if t == OFPBCT_OPEN_REQUEST:
            conn.bundles.open(msg.bundle_id, msg.flags)
            reply = OFPBCT_OPEN_REPLY
        elif t == OFPBCT_CLOSE_REQUEST:
            conn.bundles.close(msg.bundle_id, msg.flags)
            reply = OFPBCT_CLOSE_REPLY
        elif t == OFPBCT_COMMIT_REQUEST:
            self.commit(conn, msg.bundle_id, msg.flags, now)
            reply = OFPBCT_COMMIT_REPLY
        elif t == OFPBCT_DISCARD_REQUEST:
            conn.bundles.discard(msg.bundle_id)
            reply = OFPBCT_DISCARD_REPLY
        else:
            raise OFPError("OFPBFC_BAD_TYPE", f"bundle control type {t} is not a request")
        conn.send(M.BundleControl(msg.bundle_id, reply, 0), xid)

    # ------------------------------------------------------------------ add
    def add(self, conn: OFConn, msg: M.BundleAdd, xid: int, raw: bytes, now: float) -> None:
        self.handler.reject_slave(conn)
        inner = msg.message
        if len(inner) < 8:
            raise OFPError("OFPBFC_MSG_BAD_LEN", "bundled message shorter than a header")
        version, _type, length, inner_xid = struct.unpack_from("!BBHI", inner, 0)
        if version != conn.version:
            raise OFPError("OFPBFC_BAD_VERSION", "bundled message has another version")
        if length < 8 or length > len(inner):
            raise OFPError("OFPBFC_MSG_BAD_LEN", f"bundled message length {length}")
        if inner_xid != xid:
            raise OFPError("OFPBFC_MSG_BAD_XID", "bundled message has another xid")
        try:
            value = conn.decode_inner(inner[:length])
        except OFPError as exc:
            if exc.name in ("OFPBRC_BAD_TYPE", "OFPBRC_BAD_VENDOR", "OFPBRC_BAD_SUBTYPE",
                            "OFPBRC_BAD_EXPERIMENTER", "OFPBRC_BAD_EXP_TYPE"):
                raise OFPError("OFPBFC_MSG_UNSUP", "bundled message cannot be parsed") from None
            raise
        if not isinstance(value, _BUNDLABLE):
            raise OFPError("OFPBFC_MSG_UNSUP",
                           f"{type(value).__name__} is not allowed in a bundle")
        self.precheck(conn, value)
        if type(value) is FlowMod and conn.version > 1:  # decoding needs no session
            entry = BundleEntry(None, xid, raw, inner[:length])
        else:
            entry = BundleEntry(value, xid, raw)
        conn.bundles.add(msg.bundle_id, msg.flags, entry)

    def precheck(self, conn: OFConn, value: object) -> None:
        """What OVS checks when a message is added (before anything is applied)."""
        if isinstance(value, FlowMod):
            if value.command not in (FlowModCommand.DELETE, FlowModCommand.DELETE_STRICT):
                validate.check_match(value.match)
                table = None if value.table_id in (None, OFPTT_ALL) else value.table_id
                validate.check_actions(tuple(value.actions), value.match, table_id=table,
                                       strict_consistency=conn.version > 1)
        elif isinstance(value, M.PortMod):
            self.handler.check_port_mod(value)
        elif isinstance(value, M.PacketOut):
            self.handler.check_packet_out(conn, value)

    # ------------------------------------------------------------------ commit
    def commit(self, conn: OFConn, bundle_id: int, flags: int, now: float) -> None:
        bundle = conn.bundles.take(bundle_id, flags)
        entries = bundle.entries
        mgr = self.mgr
        br = mgr.bridge
        if flags & OFPBF_ATOMIC and any(isinstance(e.msg, M.PortMod) for e in entries):
            raise OFPError("OFPBFC_MSG_FAILED", "port mods cannot be part of an atomic bundle")
        snapshot = TableSnapshot(br.ofproto)
        mark = len(br.events)
        failed: BundleEntry | None = None
        error: OFPError | None = None
        events: list[object] = []
        # A big bundle creates a rule per flow and no reference cycles: the cyclic
        # garbage collector would only walk the growing table again and again.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for e in entries:
                try:
                    value = e.msg if e.msg is not None else conn.decode_inner(e.inner)
                    self._start(conn, value, events, now)
                except OFPError as exc:
                    failed, error = e, exc
                    break
        finally:
            if gc_was_enabled:
                gc.enable()
        if failed is not None and error is not None:
            snapshot.restore()
            br.sync()
            while len(br.events) > mark:
                br.events.pop()
            br.changed()
            conn.send_error(error, failed.xid, failed.raw)
            raise OFPError("OFPBFC_MSG_FAILED", "a bundled message failed")
        br.events.extend(events)
        br.sync()
        for e in entries:
            if isinstance(e.msg, M.PortMod):
                self.handler.apply_port_mod(e.msg)
        for e in entries:
            if isinstance(e.msg, M.PacketOut):
                self.handler.execute_packet_out(e.msg, now)
        mgr.flush_events(now, source=conn)

    def _start(self, conn: OFConn, value: object, events: list[object], now: float) -> None:
        br = self.mgr.bridge
        if type(value) is FlowMod:
            # checked when it was added; applied to ofproto directly, the bridge
            # catches up once for the whole bundle
            self.handler.check_flow_mod(conn, value)
            ofp = br.ofproto
            strict = conn.version > 1
            if value.command is FlowModCommand.ADD:
                rule = ofp.prepare_add(value, now, strict_consistency=strict, prechecked=True)
                if rule is not None:  # a pure insertion
                    ofp.insert_rule(rule)
                    return
            events += ofp.handle_flow_mod(value, now, strict_consistency=strict,
                                          prechecked=value.command not in _DELETES)
        elif isinstance(value, GroupMod):
            br.handle_group_mod(value, now)
        elif isinstance(value, M.PortMod):
            self.handler.check_port_mod(value)
        elif isinstance(value, M.PacketOut):
            self.handler.check_packet_out(conn, value)


__all__ = ["BundleHandler"]
