"""Shared scalar types and OpenFlow port-number constants.

Internally OpenFlow ports use OVS's 16-bit convention (``ofp_port_t``): the reserved
ports live at 0xfff8..0xffff.  The OpenFlow 1.1+ codec maps them to/from 0xfffffff8..
Datapath ports (``odp_port_t``) are a separate number space.
"""

from __future__ import annotations

from typing import NewType, Protocol

OFPort = NewType("OFPort", int)
DPPort = NewType("DPPort", int)
Zone = NewType("Zone", int)

OFPP_MAX = 0xFF00
OFPP_UNSET = 0xFFF7
OFPP_IN_PORT = 0xFFF8
OFPP_TABLE = 0xFFF9
OFPP_NORMAL = 0xFFFA
OFPP_FLOOD = 0xFFFB
OFPP_ALL = 0xFFFC
OFPP_CONTROLLER = 0xFFFD
OFPP_LOCAL = 0xFFFE
OFPP_NONE = 0xFFFF
OFPP_ANY = OFPP_NONE

#: names ovs-ofctl prints and accepts for the reserved ports
RESERVED_PORT_NAMES: dict[int, str] = {
    OFPP_IN_PORT: "IN_PORT",
    OFPP_TABLE: "TABLE",
    OFPP_NORMAL: "NORMAL",
    OFPP_FLOOD: "FLOOD",
    OFPP_ALL: "ALL",
    OFPP_CONTROLLER: "CONTROLLER",
    OFPP_LOCAL: "LOCAL",
    OFPP_NONE: "NONE",
}
RESERVED_PORTS_BY_NAME: dict[str, int] = {v: k for k, v in RESERVED_PORT_NAMES.items()}
RESERVED_PORTS_BY_NAME["ANY"] = OFPP_NONE

OFPG_MAX = 0xFFFFFF00
OFPG_ALL = 0xFFFFFFFC
OFPG_ANY = 0xFFFFFFFF

OFPTT_ALL = 0xFF


def ofp_port_from_of13(port: int) -> int:
    """OpenFlow 1.1+ 32-bit port number -> internal 16-bit port number."""
    if port >= 0xFFFFFF00:
        return port - 0xFFFF0000
    return port


def ofp_port_to_of13(port: int) -> int:
    """Internal 16-bit port number -> OpenFlow 1.1+ 32-bit port number."""
    if port >= OFPP_MAX:
        return port + 0xFFFF0000
    return port


class Clock(Protocol):
    """Where the daemon reads time from; the core is handed ``now`` instead."""

    def __call__(self) -> float: ...
