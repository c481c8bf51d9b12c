"""OpenFlow wire constants: versions, message and multipart type numbers per version,
vendor ids and Nicira/ONF subtypes.

Message types are named with the OpenFlow 1.3 numbering (:class:`OFPT`); OpenFlow 1.0
numbers a few of them differently, so the codec maps through :data:`OF10_TO_OFPT` and
:func:`wire_type`.  Everything here is plain data so the codec modules can share it.

Layer: openflow.  Imports: nothing.
"""

from __future__ import annotations

from enum import IntEnum

OFP10_VERSION = 0x01
OFP13_VERSION = 0x04
OFP14_VERSION = 0x05

#: versions the codec can encode and decode
SUPPORTED_VERSIONS = frozenset((OFP10_VERSION, OFP13_VERSION, OFP14_VERSION))

OFP_HEADER_LEN = 8
OFP_MAX_MSG_LEN = 0xFFFF

NX_VENDOR_ID = 0x00002320
ONF_VENDOR_ID = 0x4F4E4600


class OFPT(IntEnum):
    """Message types, OpenFlow 1.3/1.4 numbering."""

    HELLO = 0
    ERROR = 1
    ECHO_REQUEST = 2
    ECHO_REPLY = 3
    EXPERIMENTER = 4
    FEATURES_REQUEST = 5
    FEATURES_REPLY = 6
    GET_CONFIG_REQUEST = 7
    GET_CONFIG_REPLY = 8
    SET_CONFIG = 9
    PACKET_IN = 10
    FLOW_REMOVED = 11
    PORT_STATUS = 12
    PACKET_OUT = 13
    FLOW_MOD = 14
    GROUP_MOD = 15
    PORT_MOD = 16
    TABLE_MOD = 17
    MULTIPART_REQUEST = 18
    MULTIPART_REPLY = 19
    BARRIER_REQUEST = 20
    BARRIER_REPLY = 21
    QUEUE_GET_CONFIG_REQUEST = 22
    QUEUE_GET_CONFIG_REPLY = 23
    ROLE_REQUEST = 24
    ROLE_REPLY = 25
    GET_ASYNC_REQUEST = 26
    GET_ASYNC_REPLY = 27
    SET_ASYNC = 28
    METER_MOD = 29
    ROLE_STATUS = 30
    TABLE_STATUS = 31
    REQUESTFORWARD = 32
    BUNDLE_CONTROL = 33
    BUNDLE_ADD_MESSAGE = 34


#: OpenFlow 1.0 wire type -> OFPT (1.0 lacks group/table mod, role, async, meters...)
OF10_TO_OFPT: dict[int, OFPT] = {
    0: OFPT.HELLO, 1: OFPT.ERROR, 2: OFPT.ECHO_REQUEST, 3: OFPT.ECHO_REPLY,
    4: OFPT.EXPERIMENTER, 5: OFPT.FEATURES_REQUEST, 6: OFPT.FEATURES_REPLY,
    7: OFPT.GET_CONFIG_REQUEST, 8: OFPT.GET_CONFIG_REPLY, 9: OFPT.SET_CONFIG,
    10: OFPT.PACKET_IN, 11: OFPT.FLOW_REMOVED, 12: OFPT.PORT_STATUS, 13: OFPT.PACKET_OUT,
    14: OFPT.FLOW_MOD, 15: OFPT.PORT_MOD, 16: OFPT.MULTIPART_REQUEST,
    17: OFPT.MULTIPART_REPLY, 18: OFPT.BARRIER_REQUEST, 19: OFPT.BARRIER_REPLY,
    20: OFPT.QUEUE_GET_CONFIG_REQUEST, 21: OFPT.QUEUE_GET_CONFIG_REPLY,
}
OFPT_TO_OF10: dict[OFPT, int] = {v: k for k, v in OF10_TO_OFPT.items()}

#: the highest OpenFlow 1.3 message type; 1.4 adds ROLE_STATUS..BUNDLE_ADD_MESSAGE
_OF13_MAX = OFPT.METER_MOD
_OF14_MAX = OFPT.BUNDLE_ADD_MESSAGE


def ofpt_from_wire(version: int, wire: int) -> OFPT | None:
    """The message type a wire type number means in ``version`` (None if unknown)."""
    if version == OFP10_VERSION:
        return OF10_TO_OFPT.get(wire)
    limit = _OF13_MAX if version == OFP13_VERSION else _OF14_MAX
    if 0 <= wire <= limit:
        return OFPT(wire)
    return None


def wire_type(version: int, t: OFPT) -> int:
    """The wire type number of ``t`` in ``version``; KeyError if it does not exist there."""
    if version == OFP10_VERSION:
        return OFPT_TO_OF10[t]
    if t > (_OF13_MAX if version == OFP13_VERSION else _OF14_MAX):
        raise KeyError(t)
    return int(t)


class OFPMP(IntEnum):
    """Multipart (OF1.3) / stats (OF1.0) types."""

    DESC = 0
    FLOW = 1
    AGGREGATE = 2
    TABLE = 3
    PORT_STATS = 4
    QUEUE = 5
    GROUP = 6
    GROUP_DESC = 7
    GROUP_FEATURES = 8
    METER = 9
    METER_CONFIG = 10
    METER_FEATURES = 11
    TABLE_FEATURES = 12
    PORT_DESC = 13
    TABLE_DESC = 14
    QUEUE_DESC = 15
    FLOW_MONITOR = 16
    EXPERIMENTER = 0xFFFF


#: OpenFlow 1.0 stats types we know (OVS also accepts PORT_DESC 13 in 1.0)
OF10_STATS = frozenset((OFPMP.DESC, OFPMP.FLOW, OFPMP.AGGREGATE, OFPMP.TABLE,
                        OFPMP.PORT_STATS, OFPMP.QUEUE, OFPMP.PORT_DESC, OFPMP.EXPERIMENTER))

OFPMPF_MORE = 0x0001  # reply flag (OF1.0 OFPSF_REPLY_MORE has the same value)

# Nicira message subtypes (OFPT_VENDOR / OFPT_EXPERIMENTER with vendor 0x2320)
NXT_ROLE_REQUEST = 10
NXT_ROLE_REPLY = 11
NXT_SET_FLOW_FORMAT = 12
NXT_FLOW_MOD = 13
NXT_FLOW_REMOVED = 14
NXT_FLOW_MOD_TABLE_ID = 15
NXT_SET_PACKET_IN_FORMAT = 16
NXT_PACKET_IN = 17
NXT_FLOW_AGE = 18
NXT_SET_ASYNC_CONFIG = 19
NXT_SET_CONTROLLER_ID = 20
NXT_CT_FLUSH_ZONE = 29
NXT_PACKET_IN2 = 30
NXT_GROUP_MOD = 31
NXT_CT_FLUSH = 32

# Nicira stats subtypes (stats type 0xffff, vendor 0x2320)
NXST_FLOW = 0
NXST_AGGREGATE = 1
NXST_GROUP = 7
NXST_GROUP_DESC = 8
NXST_GROUP_FEATURES = 9

# ONF experimenter message subtypes (OpenFlow 1.3 bundles)
ONFT_BUNDLE_CONTROL = 2300
ONFT_ROLE_STATUS = 1911
ONFT_BUNDLE_ADD_MESSAGE = 2301

# NXT_SET_FLOW_FORMAT values
NXFF_OPENFLOW10 = 0
NXFF_NXM = 2

# NXT_SET_PACKET_IN_FORMAT values
NXPIF_STANDARD = 0
NXPIF_NXT_PACKET_IN = 1
NXPIF_NXT_PACKET_IN2 = 2

# error types the codec builds by hand
OFPET_HELLO_FAILED = 0
OFPET_EXPERIMENTER = 0xFFFF
NXET_VENDOR = 0xB0C2
NXVC_VENDOR_ERROR = 0

# HELLO elements
OFPHET_VERSIONBITMAP = 1

# switch config flags
OFPC_FRAG_NORMAL = 0
OFPC_FRAG_DROP = 1
OFPC_FRAG_REASM = 2
OFPC_FRAG_MASK = 3
OFP_DEFAULT_MISS_SEND_LEN = 128

# packet-in reasons
OFPR_NO_MATCH = 0
OFPR_ACTION = 1
OFPR_INVALID_TTL = 2

# flow-removed reasons
OFPRR_IDLE_TIMEOUT = 0
OFPRR_HARD_TIMEOUT = 1
OFPRR_DELETE = 2
OFPRR_GROUP_DELETE = 3

# port-status reasons
OFPPR_ADD = 0
OFPPR_DELETE = 1
OFPPR_MODIFY = 2

# bundle control types and flags
OFPBCT_OPEN_REQUEST = 0
OFPBCT_OPEN_REPLY = 1
OFPBCT_CLOSE_REQUEST = 2
OFPBCT_CLOSE_REPLY = 3
OFPBCT_COMMIT_REQUEST = 4
OFPBCT_COMMIT_REPLY = 5
OFPBCT_DISCARD_REQUEST = 6
OFPBCT_DISCARD_REPLY = 7
OFPBF_ATOMIC = 1
OFPBF_ORDERED = 2

OFPTT_ALL = 0xFF
OFP_NO_BUFFER = 0xFFFFFFFF
OFPCML_NO_BUFFER = 0xFFFF

#: 32-bit "any port" of OpenFlow 1.1+
OFPP11_ANY = 0xFFFFFFFF
