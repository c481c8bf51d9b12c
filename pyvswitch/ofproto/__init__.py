"""OpenFlow semantics of a bridge: tables, flow_mod, groups, ports, MAC learning.

Layer: ofproto.  Imports: classifier, flow, errors, types.  Never dpif/netdev/wire bytes.
"""

from pyvswitch.ofproto.events import (
    FlowRemoved,
    FlowRemovedReason,
    PortReason,
    PortStatus,
)
from pyvswitch.ofproto.groups import Group, GroupStats, GroupTable
from pyvswitch.ofproto.ofproto import OFProto
from pyvswitch.ofproto.ports import PortInfo
from pyvswitch.ofproto.rule import Rule
from pyvswitch.ofproto.table import AggregateStats, OFTable, TableStats

__all__ = [
    "OFProto", "Rule", "OFTable", "TableStats", "AggregateStats", "Group", "GroupStats",
    "GroupTable", "PortInfo", "FlowRemoved", "FlowRemovedReason", "PortStatus",
    "PortReason",
]
