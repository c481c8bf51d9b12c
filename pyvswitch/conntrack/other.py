"""The simple protocol trackers: UDP/SCTP/"other" (three states) and ICMP echo (two).

UDP, SCTP and every protocol without a dedicated tracker go FIRST -> MULTIPLE (another
orig-direction packet) -> BIDIR (any reply, sticky); the connection is "new" until a
reply has been seen (spec §7.1).  ICMP/ICMPv6 echo-type connections go FIRST -> REPLY;
only requests may create them (§7.2).  :data:`TRACKERS` maps an IP protocol number to
the connection class that tracks it, as OVS's ``l4_protos[]`` does (by number alone).

Layer: conntrack.  Imports: conntrack.conn, conntrack.tcp.
"""

from __future__ import annotations

from pyvswitch.conntrack.conn import (
    TM_ICMP_FIRST,
    TM_ICMP_REPLY,
    TM_OTHER_BIDIR,
    TM_OTHER_FIRST,
    TM_OTHER_MULTIPLE,
    UPDATE_VALID,
    UPDATE_VALID_NEW,
    Conn,
)
from pyvswitch.conntrack.tcp import TcpConn

OTHER_FIRST, OTHER_MULTIPLE, OTHER_BIDIR = 0, 1, 2
_OTHER_TM = (TM_OTHER_FIRST, TM_OTHER_MULTIPLE, TM_OTHER_BIDIR)
ICMP_FIRST, ICMP_REPLY = 0, 1


class OtherConn(Conn):
    """UDP, SCTP (ports only, no association states) and port-less protocols."""

    __slots__ = ("state",)

    @classmethod
    def create(cls, pkt: bytearray | bytes, l4: int, end: int, now: float,
               tmo: list[int]) -> OtherConn:
        c = cls()
        c.state = OTHER_FIRST
        c.tmo = tmo
        c.exp = now + tmo[TM_OTHER_FIRST]
        return c

    @staticmethod
    def valid_new(pkt: bytearray | bytes, l4: int, end: int) -> bool:
        return True

    def update(self, seq_chk: bool, pkt: bytearray | bytes, l4: int, end: int,
               reply: bool, now: float) -> int:
        state = self.state
        if reply and state != OTHER_BIDIR:
            state = self.state = OTHER_BIDIR
        elif state == OTHER_FIRST:
            state = self.state = OTHER_MULTIPLE
        self.exp = now + self.tmo[_OTHER_TM[state]]
        return UPDATE_VALID if state == OTHER_BIDIR else UPDATE_VALID_NEW

    def protoinfo(self) -> None:
        return None


class IcmpConn(Conn):
    """ICMPv4 echo/timestamp/info and ICMPv6 echo exchanges."""

    __slots__ = ("state",)

    @classmethod
    def create(cls, pkt: bytearray | bytes, l4: int, end: int, now: float,
               tmo: list[int]) -> IcmpConn:
        c = cls()
        c.state = ICMP_FIRST
        c.tmo = tmo
        c.exp = now + tmo[TM_ICMP_FIRST]
        return c

    def update(self, seq_chk: bool, pkt: bytearray | bytes, l4: int, end: int,
               reply: bool, now: float) -> int:
        res = UPDATE_VALID
        if self.state == ICMP_FIRST:
            if reply:
                self.state = ICMP_REPLY
            else:
                res = UPDATE_VALID_NEW
        self.exp = now + self.tmo[TM_ICMP_REPLY if self.state else TM_ICMP_FIRST]
        return res

    def protoinfo(self) -> None:
        return None


class Icmp4Conn(IcmpConn):
    __slots__ = ()

    @staticmethod
    def valid_new(pkt: bytearray | bytes, l4: int, end: int) -> bool:
        """Only requests start an exchange: echo, timestamp, information."""
        return end > l4 and pkt[l4] in (8, 13, 15)


class Icmp6Conn(IcmpConn):
    __slots__ = ()

    @staticmethod
    def valid_new(pkt: bytearray | bytes, l4: int, end: int) -> bool:
        return end > l4 and pkt[l4] == 128


ConnClass = type[OtherConn] | type[IcmpConn] | type[TcpConn]

#: connection class per IP protocol number (0..255)
TRACKERS: tuple[ConnClass, ...] = tuple(
    TcpConn if p == 6 else Icmp4Conn if p == 1 else Icmp6Conn if p == 58 else OtherConn
    for p in range(256)
)
