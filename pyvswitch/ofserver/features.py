"""What the switch says about itself: features, description, ports, tables, groups.

These are the answers that do not depend on traffic: the FEATURES_REPLY (datapath id,
254 visible tables, no buffers, capabilities as OVS reports them per version), the
DESC reply, the port descriptions, the TABLE_FEATURES of every table (ovs-ofctl
refuses a reply that lacks any of the eight required properties, and asks for it
before every flow_mod it sends in OpenFlow 1.3) and the GROUP_FEATURES.

Table features come from the codec's description of what pyvswitch supports (every
field with a wire code matchable, the writable ones settable).

Layer: ofserver.  Imports: flow.fields, openflow.messages, openflow.consts.
"""

from __future__ import annotations

from functools import lru_cache

from pyvswitch.openflow import messages as M
from pyvswitch.openflow.consts import OFP10_VERSION, OFP13_VERSION
from pyvswitch.openflow.table_features import default_table_features
from pyvswitch.types import OFPG_MAX

#: tables a controller sees (0..253; OVS keeps 254 for itself)
N_VISIBLE_TABLES = 254
MAX_ENTRIES = 1000000

# capability bits on the wire
_CAPS_10 = 0x01 | 0x02 | 0x04 | 0x40 | 0x80  # flow, table, port, queue stats, ARP match IP
_CAPS_13 = 0x01 | 0x02 | 0x04 | 0x08 | 0x40  # flow, table, port, group, queue stats
_CAPS_BUNDLES = 1 << 9
#: OpenFlow 1.0 actions bitmap: output .. enqueue (types 0-11), as OVS advertises
_ACTIONS_10 = 0xFFF

SW_DESC = "3.1.0"


def features_reply(dpid: int, version: int, ports: list[M.PortDesc]) -> M.FeaturesReply:
    if version == OFP10_VERSION:
        caps = _CAPS_10
    elif version == OFP13_VERSION:
        caps = _CAPS_13
    else:
        caps = _CAPS_13 | _CAPS_BUNDLES
    return M.FeaturesReply(datapath_id=dpid, n_buffers=0, n_tables=N_VISIBLE_TABLES,
                           auxiliary_id=0, capabilities=caps,
                           actions=_ACTIONS_10 if version == OFP10_VERSION else 0,
                           ports=tuple(sorted(ports, key=_port_order)))


def _port_order(p: M.PortDesc) -> int:
    return p.port_no


def desc_reply() -> M.DescReply:
    """What ``dump-desc`` shows; OVS reports its own maker and version."""
    return M.DescReply(mfr_desc="Nicira, Inc.", hw_desc="Open vSwitch", sw_desc=SW_DESC,
                       serial_num="None", dp_desc="None")


# ----------------------------------------------------------------------------- tables
@lru_cache(maxsize=1)
def table_features() -> tuple[M.TableFeatures, ...]:
    """The TABLE_FEATURES of every visible table (computed once: they never change)."""
    return default_table_features(N_VISIBLE_TABLES, MAX_ENTRIES)


# ----------------------------------------------------------------------------- groups
# action bits (OpenFlow 1.3 action types) every group type may use: output, push/pop
# vlan, set_queue, group, set/dec nw_ttl, set_field
_GROUP_ACTIONS = sum(1 << t for t in (0, 17, 18, 21, 22, 23, 24, 25))


def group_features() -> M.GroupFeaturesReply:
    """All four group types; select weight, liveness and chaining; no group limit
    below OFPG_MAX (OVS's answer)."""
    return M.GroupFeaturesReply(types=0xF, capabilities=0x7,
                                max_groups=(OFPG_MAX,) * 4,
                                actions=(_GROUP_ACTIONS,) * 4)


__all__ = ["N_VISIBLE_TABLES", "desc_reply", "features_reply", "group_features",
           "table_features"]
