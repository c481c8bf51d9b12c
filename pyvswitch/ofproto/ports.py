"""OpenFlow ports of a bridge: descriptions, config/state bits, port-number allocation.

A :class:`PortInfo` is what ``ovs-ofctl show`` and OFPT_PORT_STATUS describe; it is
immutable, and a change produces a new one (so events can carry it safely).

Port numbers are allocated as OVS's ``alloc_ofp_port`` does: a requested number
(``ofport_request``) is honoured when it is free; otherwise the allocator walks upward
from the last number it handed out (wrapping below 32768 to 1), preferring numbers never
used, then numbers freed more than an hour ago, and only then the least recently freed
one -- so that a deleted port's number is not immediately given to a new port that old
flows would then forward to.  The port named like the bridge is its LOCAL port.

Layer: ofproto.  Imports: types.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyvswitch.types import OFPP_MAX, OFPP_NONE

# Port config bits (OFPPC_*; NO_STP/NO_RECV_STP/NO_FLOOD are OpenFlow 1.0 bits that
# OVS keeps internally for every version).
OFPPC_PORT_DOWN = 1 << 0
OFPPC_NO_STP = 1 << 1
OFPPC_NO_RECV = 1 << 2
OFPPC_NO_RECV_STP = 1 << 3
OFPPC_NO_FLOOD = 1 << 4
OFPPC_NO_FWD = 1 << 5
OFPPC_NO_PACKET_IN = 1 << 6

# Port state bits (OFPPS_*).
OFPPS_LINK_DOWN = 1 << 0
OFPPS_BLOCKED = 1 << 1
OFPPS_LIVE = 1 << 2

# Port feature bits (OFPPF_*, OpenFlow 1.1+ numbering as OVS keeps them).
OFPPF_10MB_HD = 1 << 0
OFPPF_10MB_FD = 1 << 1
OFPPF_100MB_HD = 1 << 2
OFPPF_100MB_FD = 1 << 3
OFPPF_1GB_HD = 1 << 4
OFPPF_1GB_FD = 1 << 5
OFPPF_10GB_FD = 1 << 6
OFPPF_40GB_FD = 1 << 7
OFPPF_100GB_FD = 1 << 8
OFPPF_1TB_FD = 1 << 9
OFPPF_OTHER = 1 << 10
OFPPF_COPPER = 1 << 11
OFPPF_FIBER = 1 << 12
OFPPF_AUTONEG = 1 << 13
OFPPF_PAUSE = 1 << 14
OFPPF_PAUSE_ASYM = 1 << 15

#: automatically assigned numbers stay below this (the upper half is for controllers)
AUTO_PORT_LIMIT = 32768
#: a freed number becomes freely reusable after this many seconds
PORT_REUSE_DELAY = 3600.0


@dataclass(frozen=True, slots=True)
class PortInfo:
    """One OpenFlow port as the switch describes it (OVS ``ofputil_phy_port``)."""

    ofport: int
    name: str
    hw_addr: int = 0
    config: int = 0
    state: int = 0
    curr: int = 0
    advertised: int = 0
    supported: int = 0
    peer: int = 0
    curr_speed: int = 0  # kbps
    max_speed: int = 0  # kbps

    @property
    def is_live(self) -> bool:
        """Usable for forwarding: not administratively down, link up (what
        fast-failover liveness and flooding look at)."""
        return not self.config & OFPPC_PORT_DOWN and not self.state & OFPPS_LINK_DOWN


class PortAllocator:
    """OpenFlow port numbers in use and recently freed (OVS ``ofport_usage``)."""

    __slots__ = ("max_ports", "_in_use", "_freed_at", "_last")

    def __init__(self, max_ports: int = OFPP_MAX) -> None:
        self.max_ports = max_ports
        self._in_use: set[int] = set()
        self._freed_at: dict[int, float] = {}
        self._last = 0

    def in_use(self, ofport: int) -> bool:
        return ofport in self._in_use

    def alloc(self, request: int | None, now: float) -> int:
        """A number for a new port: ``request`` when it is valid and free, else the
        next suitable automatic number; OFPP_NONE when none is left."""
        if request is not None and 1 <= request < self.max_ports \
                and request not in self._in_use:
            return self._take(request)
        limit = min(self.max_ports, AUTO_PORT_LIMIT)
        start = self._last
        lru_port = 0
        lru_time = float("inf")
        while True:
            self._last += 1
            if self._last >= limit:
                self._last = 1
            port = self._last
            if port not in self._in_use:
                freed = self._freed_at.get(port)
                if freed is None:
                    return self._take(port)
                if freed < now - PORT_REUSE_DELAY:
                    return self._take(port)
                if freed < lru_time:
                    lru_time = freed
                    lru_port = port
            if port == start or (start == 0 and port == limit - 1):
                if lru_port:
                    return self._take(lru_port)
                return OFPP_NONE

    def claim(self, ofport: int) -> None:
        """Mark a fixed number (e.g. LOCAL) as in use."""
        self._in_use.add(ofport)

    def _take(self, port: int) -> int:
        self._in_use.add(port)
        self._freed_at.pop(port, None)
        return port

    def free(self, ofport: int, now: float) -> None:
        self._in_use.discard(ofport)
        if ofport < self.max_ports:
            self._freed_at[ofport] = now
