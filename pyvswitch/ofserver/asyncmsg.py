"""Asynchronous messages: which connection wants what, and the message values.

A bridge queues three kinds of events for its controllers: packet-ins (table misses and
``controller`` actions), port changes and removed flows.  This module turns each into
the OpenFlow message value the codec encodes, and holds the per-connection filter OVS
calls the *async config*: for each kind, a bit mask of reasons wanted while the
connection is primary/equal and another while it is secondary (slave).

Reasons are OVS's internal numbering: packet-in reasons 0-5 are OpenFlow 1.4's
(no_match, action, invalid_ttl, action_set, group, packet_out) plus two internal ones,
EXPLICIT_MISS (a table-miss flow's controller action) and IMPLICIT_MISS (no flow at
all, pre-1.3 behaviour).  Defaults follow OVS ``ofputil_async_cfg_default``: every
packet-in reason but invalid_ttl (and implicit misses only before 1.3), every port
change (primary and secondary), and the flow-removed reasons the version knows (primary
only).  OpenFlow 1.0-1.3 controllers set masks with only the three 1.0 reasons; "action"
then also selects action_set/group/packet_out, and "no_match" selects the misses.

Packet-ins carry the whole packet, unbuffered (``buffer_id`` 0xffffffff), as OVS 3.1
does whatever ``max_len`` says; the match carries ``in_port`` and the pipeline metadata
that is not zero (tunnel id, metadata, registers, packet mark, and the conntrack fields,
with ``eth_type`` and the original-direction tuple when the connection is valid) --
OVS ``flow_get_metadata``.

Layer: ofserver.  Imports: flow, openflow.messages, ofproto (values), ofproto_dpif.events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyvswitch.errors import OFPError
from pyvswitch.flow import layout as L
from pyvswitch.flow.match import Match, MatchBuilder
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.consts import OFP10_VERSION, OFP13_VERSION, OFP14_VERSION

# async message kinds (OVS ``enum ofputil_async_msg_type``)
PACKET_IN = 0
PORT_STATUS = 1
FLOW_REMOVED = 2
ROLE_STATUS = 3
TABLE_STATUS = 4
REQUESTFORWARD = 5
N_KINDS = 6

# packet-in reasons (internal numbering)
R_NO_MATCH = 0
R_ACTION = 1
R_INVALID_TTL = 2
R_ACTION_SET = 3
R_GROUP = 4
R_PACKET_OUT = 5
R_EXPLICIT_MISS = 6
R_IMPLICIT_MISS = 7

PIN10_BITS = (1 << R_NO_MATCH) | (1 << R_ACTION) | (1 << R_INVALID_TTL)
PIN14_ACTION_BITS = (1 << R_ACTION_SET) | (1 << R_GROUP) | (1 << R_PACKET_OUT)
PIN14_BITS = PIN10_BITS | PIN14_ACTION_BITS
PORT_STATUS_BITS = 0b111
FLOW_REMOVED_BITS = {OFP10_VERSION: 0b111, OFP13_VERSION: 0b1111, OFP14_VERSION: 0b111111}
#: masks a SET_ASYNC may carry, per kind (OVS ``async_props`` allowed10/allowed14):
#: role status reasons 0-2, table status vacancy down/up (3, 4), request forward 0-1
_OTHERS = (0b111, 0b11000, 0b11)
_ALLOWED10 = (PIN10_BITS, PORT_STATUS_BITS, 0b111111, *_OTHERS)
_ALLOWED14 = (PIN14_BITS, PORT_STATUS_BITS, 0b111111, *_OTHERS)


@dataclass(slots=True)
class AsyncCfg:
    """Reason masks per kind: ``primary`` applies to master/equal, ``secondary`` to
    slave connections."""

    primary: list[int] = field(default_factory=lambda: [0] * N_KINDS)
    secondary: list[int] = field(default_factory=lambda: [0] * N_KINDS)

    @classmethod
    def default(cls, version: int) -> AsyncCfg:
        pin = (PIN14_BITS & ~(1 << R_INVALID_TTL)) | (1 << R_EXPLICIT_MISS)
        if version < OFP13_VERSION:
            pin |= 1 << R_IMPLICIT_MISS
        fr = FLOW_REMOVED_BITS.get(version, FLOW_REMOVED_BITS[OFP14_VERSION])
        return cls([pin, PORT_STATUS_BITS, fr, 0, 0, 0], [0, PORT_STATUS_BITS, 0, 0, 0, 0])

    def wants(self, kind: int, reason: int, secondary: bool) -> bool:
        masks = self.secondary if secondary else self.primary
        return bool(masks[kind] & (1 << reason))

    # -- wire form (SET_ASYNC / GET_ASYNC_REPLY, Nicira async config) ----------------------
    @classmethod
    def from_wire(cls, cfg: M.AsyncConfig, version: int,
                  basis: AsyncCfg | None = None) -> AsyncCfg:
        """The masks a SET_ASYNC asks for; OFPACFC_INVALID for reasons it cannot name.
        An OpenFlow 1.4 request changes only the masks it carries (the others stay as
        in ``basis``); earlier versions set the three they have and clear the rest."""
        allowed = _ALLOWED14 if version >= OFP14_VERSION else _ALLOWED10
        out = cls()
        if basis is not None and version >= OFP14_VERSION:
            out = cls(list(basis.primary), list(basis.secondary))
        wire = cfg.masks()
        for kind in range(N_KINDS):
            for i, dst in ((0, out.primary), (1, out.secondary)):
                mask = wire[kind][i]
                if mask is None:
                    continue
                if mask & ~allowed[kind]:
                    raise OFPError("OFPACFC_INVALID",
                                   f"bad async mask {mask:#x} (allowed {allowed[kind]:#x})")
                if kind == PACKET_IN:
                    if mask & (1 << R_NO_MATCH):
                        mask |= 1 << R_EXPLICIT_MISS
                        if version < OFP13_VERSION:
                            mask |= 1 << R_IMPLICIT_MISS
                    if version < OFP14_VERSION and mask & (1 << R_ACTION):
                        mask |= PIN14_ACTION_BITS
                dst[kind] = mask
        return out

    def to_wire(self, version: int) -> M.AsyncConfig:
        allowed = _ALLOWED14 if version >= OFP14_VERSION else _ALLOWED10
        return M.AsyncConfig(*((self.primary[k] & allowed[k], self.secondary[k] & allowed[k])
                               for k in range(N_KINDS)))


# ----------------------------------------------------------------------------- packet-in
#: (pipeline metadata name, flow slot) for the fields a packet-in reports when non-zero
_PIN_NAMED = {"metadata": L.METADATA, "tun_id": L.TUN_ID, "pkt_mark": L.PKT_MARK,
              **{f"reg{i}": L.REG0 + i for i in range(L.N_REGS)}}
_CS_VALID = L.CS_NEW | L.CS_ESTABLISHED | L.CS_REPLY_DIR


def _full(slot: int) -> int:
    return L.SLOT_FULL[slot]


def packet_in_match(metadata: dict[str, int], flow: tuple[int, ...] | list[int]) -> Match:
    """The packet-in match besides ``in_port`` (OVS ``flow_get_metadata``)."""
    b = MatchBuilder()
    for name, value in metadata.items():
        slot = _PIN_NAMED.get(name)
        if slot is not None and value:
            b.set_slot(slot, value, _full(slot))
    if len(flow) > L.TUN_DST:
        for slot in (L.TUN_SRC, L.TUN_DST):
            if flow[slot]:
                b.set_slot(slot, flow[slot], _full(slot))
    if len(flow) > L.ETH_TYPE and flow[L.CT_STATE]:
        state = flow[L.CT_STATE]
        b.set_slot(L.CT_STATE, state, _full(L.CT_STATE))
        dl_type = flow[L.ETH_TYPE]
        b.set_slot(L.ETH_TYPE, dl_type, 0xFFFF)
        if state & _CS_VALID and flow[L.CT_NW_PROTO]:
            if dl_type == L.ETH_TYPE_IP:
                tuple_slots = (L.CT_NW_SRC, L.CT_NW_DST)
            elif dl_type == L.ETH_TYPE_IPV6:
                tuple_slots = (L.CT_IPV6_SRC, L.CT_IPV6_DST)
            else:
                tuple_slots = ()
            if tuple_slots:
                for slot in (*tuple_slots, L.CT_NW_PROTO, L.CT_TP_SRC, L.CT_TP_DST):
                    b.set_slot(slot, flow[slot], _full(slot))
    if len(flow) > L.CT_LABEL:
        for slot in (L.CT_ZONE, L.CT_MARK, L.CT_LABEL):
            if flow[slot]:
                b.set_slot(slot, flow[slot], _full(slot))
    return b.build()


def internal_reason(ev: object) -> int:
    return int(getattr(ev, "reason", 0))


def wire_reason(reason: int, version: int) -> int:
    """The reason a controller speaking ``version`` sees (OVS
    ``encode_packet_in_reason``): the 1.4 action refinements become "action" before
    1.4; an explicit miss is "no_match" from 1.3 on and "action" before; an implicit
    miss is always "no_match"."""
    if reason in (R_ACTION_SET, R_GROUP, R_PACKET_OUT):
        return R_ACTION if version < OFP14_VERSION else reason
    if reason == R_EXPLICIT_MISS:
        return R_ACTION if version < OFP13_VERSION else R_NO_MATCH
    if reason == R_IMPLICIT_MISS:
        return R_NO_MATCH
    return reason


def packet_in_message(ev: object, version: int) -> M.PacketIn:
    """The PACKET_IN value for a bridge's packet-in event."""
    md: dict[str, int] = dict(getattr(ev, "metadata", {}) or {})
    flow = tuple(getattr(ev, "flow", ()) or ())
    data = bytes(getattr(ev, "packet", b""))
    return M.PacketIn(
        in_port=int(md.get("in_port", 0)),
        data=data,
        reason=wire_reason(internal_reason(ev), version),
        total_len=len(data),
        table_id=int(getattr(ev, "table_id", 0)),
        cookie=int(getattr(ev, "cookie", 0xFFFFFFFFFFFFFFFF)),
        metadata=packet_in_match(md, flow),
        userdata=bytes(getattr(ev, "userdata", b"") or b""),
    )


# ----------------------------------------------------------------------------- others
def flow_removed_message(ev: object) -> M.FlowRemoved:
    """The FLOW_REMOVED value for an ``ofproto.events.FlowRemoved``."""
    duration = max(0.0, float(getattr(ev, "duration", 0.0)))
    sec = int(duration)
    nsec = int(round((duration - sec) * 1000)) * 1000000
    if nsec >= 1000000000:
        sec, nsec = sec + 1, 0
    return M.FlowRemoved(
        match=ev.match, cookie=ev.cookie, priority=ev.priority, reason=int(ev.reason),
        table_id=ev.table_id, duration_sec=sec, duration_nsec=nsec,
        idle_timeout=ev.idle_timeout, hard_timeout=ev.hard_timeout,
        packet_count=ev.packet_count, byte_count=ev.byte_count)


def port_desc(info: object, ofport: int | None = None, name: str | None = None) -> M.PortDesc:
    """A PortDesc from an ``ofproto.ports.PortInfo`` (or anything with its fields)."""
    if info is None:
        return M.PortDesc(port_no=ofport or 0, name=name or "")
    return M.PortDesc(
        port_no=getattr(info, "ofport", ofport), hw_addr=getattr(info, "hw_addr", 0),
        name=getattr(info, "name", name or ""), config=getattr(info, "config", 0),
        state=getattr(info, "state", 0), curr=getattr(info, "curr", 0),
        advertised=getattr(info, "advertised", 0), supported=getattr(info, "supported", 0),
        peer=getattr(info, "peer", 0), curr_speed=getattr(info, "curr_speed", 0),
        max_speed=getattr(info, "max_speed", 0))


def event_kind(ev: object) -> int | None:
    """PACKET_IN, PORT_STATUS, FLOW_REMOVED or None for an event we do not forward."""
    name = type(ev).__name__
    if name == "PacketIn":
        return PACKET_IN
    if name == "PortStatus":
        return PORT_STATUS
    if name == "FlowRemoved":
        return FLOW_REMOVED
    return None


__all__ = ["AsyncCfg", "FLOW_REMOVED", "PACKET_IN", "PORT_STATUS", "event_kind",
           "flow_removed_message", "packet_in_match", "packet_in_message", "port_desc",
           "wire_reason"]
