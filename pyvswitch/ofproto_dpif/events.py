"""What a bridge tells the OpenFlow layer: packet-ins, port changes, removed flows.

The datapath reaches userspace through ``Userspace`` actions whose cookie is a
:class:`ControllerCookie`; the upcall handler turns each into a :class:`PacketIn` queued
on the bridge.  Port additions and deletions queue :class:`PortStatus`; flow removals
come from ``ofproto`` (its ``FlowRemoved``) and are queued alongside, so a controller
connection drains one list per bridge in order.

Layer: ofproto_dpif.  Imports: nothing below it but plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class PacketInReason(IntEnum):
    """OVS's internal packet-in reasons (``ofp_packet_in_reason``), numbered as OVS
    prints them in ``controller(reason=N,...)`` datapath actions."""

    NO_MATCH = 0
    ACTION = 1
    INVALID_TTL = 2
    ACTION_SET = 3
    GROUP = 4
    PACKET_OUT = 5
    EXPLICIT_MISS = 6
    IMPLICIT_MISS = 7

    def wire(self, version: int) -> int:
        """The reason a controller speaking OpenFlow ``version`` (1=1.0, 4=1.3, 5=1.4)
        sees (OVS ``ofputil_packet_in_reason_to_wire`` rules)."""
        if self in (PacketInReason.ACTION_SET, PacketInReason.GROUP,
                    PacketInReason.PACKET_OUT):
            return int(PacketInReason.ACTION) if version < 5 else int(self)
        if self is PacketInReason.EXPLICIT_MISS:
            return int(PacketInReason.ACTION) if version < 4 else int(PacketInReason.NO_MATCH)
        if self is PacketInReason.IMPLICIT_MISS:
            return int(PacketInReason.NO_MATCH)
        return int(self)


@dataclass(frozen=True, slots=True)
class ControllerCookie:
    """The userdata of a packet-in ``Userspace`` action (OVS ``user_action_cookie``)."""

    bridge: str
    reason: PacketInReason
    dont_send: bool
    continuation: bool
    recirc_id: int
    rule_cookie: int
    controller_id: int
    max_len: int
    table_id: int
    userdata: bytes = b""


@dataclass(slots=True)
class PacketIn:
    """A packet for the controllers of one bridge.

    ``packet`` is the whole packet; ``max_len`` is how much of it the action asked to
    send (0xffff = all; for misses the connection's miss_send_len applies instead).
    ``metadata`` maps OpenFlow pipeline fields to their values when the packet left the
    pipeline: ``in_port`` (OpenFlow port), ``metadata``, ``reg0``..``reg15``,
    ``tun_id``, and the packet's ct fields when tracked.
    """

    reason: PacketInReason
    table_id: int
    cookie: int
    packet: bytes
    max_len: int
    controller_id: int
    metadata: dict[str, int]
    userdata: bytes = b""
    #: the datapath flow key of the packet as it left (for NXT_PACKET_IN2 fields)
    flow: tuple[int, ...] = ()


class PortReason(IntEnum):
    ADD = 0
    DELETE = 1
    MODIFY = 2


@dataclass(slots=True)
class PortStatus:
    reason: PortReason
    ofport: int
    name: str
    #: the ofproto port record when the layer keeps one, else None
    port: object = None
