"""Switch-level message bodies: features and port descriptions, switch config, port
status and port mod, table mod, controller role, async config, and the small Nicira
session messages (flow format, table-id extension, packet-in format, controller id, ct
zone flush).

Ports have three layouts: ``ofp10_phy_port`` (48 bytes, 16-bit port, 1.0 feature bits),
``ofp11_port`` (64 bytes, used by 1.3) and ``ofp14_port`` (properties).  The values use
the internal 16-bit port numbers and OpenFlow 1.1+ feature bits whatever the version.

Each ``decode_*`` reads a body with a :class:`~pyvswitch.openflow.header.Reader`, each
``encode_*`` returns the body bytes; :mod:`pyvswitch.openflow.codec` adds the headers.

Layer: openflow.  Imports: errors, types, openflow.header, openflow.messages,
openflow.consts.
"""

from __future__ import annotations

import struct

from pyvswitch.errors import OFPError
from pyvswitch.openflow.consts import (
    NXFF_NXM,
    NXFF_OPENFLOW10,
    OFP10_VERSION,
    OFP13_VERSION,
    OFP14_VERSION,
)
from pyvswitch.openflow.header import Reader, cstr, pad8, put_cstr
from pyvswitch.openflow.messages import (
    AsyncConfig,
    ControllerRole,
    CtFlushZone,
    FeaturesReply,
    FlowModTableId,
    GetConfigReply,
    PortDesc,
    PortMod,
    PortStatus,
    RoleReply,
    RoleRequest,
    RoleStatus,
    SetConfig,
    SetControllerId,
    SetFlowFormat,
    SetPacketInFormat,
    TableMod,
)
from pyvswitch.types import ofp_port_from_of13, ofp_port_to_of13

PHY_PORT_10 = struct.Struct("!H6s16sIIIIII")
PORT_11 = struct.Struct("!I4x6s2x16sIIIIIIII")
PORT_14 = struct.Struct("!IH2x6s2x16sII")
PORT_14_ETH = struct.Struct("!HH4xIIIIII")
FEATURES_10 = struct.Struct("!QIB3xII")
FEATURES_13 = struct.Struct("!QIBB2xII")
SWITCH_CONFIG = struct.Struct("!HH")
PORT_MOD_10 = struct.Struct("!H6sIII4x")
PORT_MOD_11 = struct.Struct("!I4x6s2xIII4x")
ROLE_12 = struct.Struct("!I4xQ")
ASYNC = struct.Struct("!IIIIII")
_PROP = struct.Struct("!HH")

# 1.0 feature bits 7..11 are 1.1+ bits 11..15 (COPPER, FIBER, AUTONEG, PAUSE, PAUSE_ASYM)
_LOW7 = 0x7F
CAPS_10 = 0x1 | 0x2 | 0x4 | 0x20 | 0x40 | 0x80
CAPS_13 = 0x1 | 0x2 | 0x4 | 0x8 | 0x20 | 0x40 | 0x100
#: OpenFlow 1.4 adds OFPC_BUNDLES
CAPS_14 = CAPS_13 | 0x200
PORT_CONFIG_11 = 0x1 | 0x4 | 0x20 | 0x40
PORT_STATE_10 = 0x1


def features_from_10(f: int) -> int:
    return (f & _LOW7) | ((f >> 7) & 0x1F) << 11


def features_to_10(f: int) -> int:
    return (f & _LOW7) | ((f >> 11) & 0x1F) << 7


def _speed_kbps(features: int) -> int:
    """Current speed a 1.0 port implies (ovs-ofctl prints it from the features)."""
    for bit, kbps in ((9, 1_000_000_000), (8, 100_000_000), (7, 40_000_000),
                      (6, 10_000_000), (5, 1_000_000), (4, 1_000_000), (3, 100_000),
                      (2, 100_000), (1, 10_000), (0, 10_000)):
        if features & (1 << bit):
            return kbps
    return 0


# ----------------------------------------------------------------------------- ports
def decode_port(r: Reader, version: int) -> PortDesc:
    if version == OFP10_VERSION:
        port_no, hw, name, config, state, curr, adv, supp, peer = r.unpack(PHY_PORT_10, "port")
        curr, adv = features_from_10(curr), features_from_10(adv)
        return PortDesc(port_no, int.from_bytes(hw, "big"), cstr(name), config,
                        state & PORT_STATE_10, curr, adv, features_from_10(supp),
                        features_from_10(peer), _speed_kbps(curr), 0)
    if version == OFP13_VERSION:
        (port_no, hw, name, config, state, curr, adv, supp, peer, cur_speed,
         max_speed) = r.unpack(PORT_11, "port")
        return PortDesc(_port32(port_no), int.from_bytes(hw, "big"), cstr(name), config,
                        state, curr, adv, supp, peer, cur_speed, max_speed)
    port_no, length, hw, name, config, state = r.unpack(PORT_14, "port")
    if length < PORT_14.size:
        raise OFPError("OFPBRC_BAD_LEN", f"port length {length}")
    props = r.sub(length - PORT_14.size, "port properties")
    curr = adv = supp = peer = cur_speed = max_speed = 0
    while props.remaining:
        ptype, plen = props.unpack(_PROP, "port property")
        if plen < 4:
            raise OFPError("OFPBPC_BAD_LEN", f"port property length {plen}")
        payload = props.take(plen - 4, "port property")
        props.skip(min(pad8(plen), props.remaining))
        if ptype == 0 and len(payload) == PORT_14_ETH.size - 4:
            curr, adv, supp, peer, cur_speed, max_speed = struct.unpack_from(
                "!4xIIIIII", payload)
    return PortDesc(_port32(port_no), int.from_bytes(hw, "big"), cstr(name), config, state,
                    curr, adv, supp, peer, cur_speed, max_speed)


def _port32(port: int) -> int:
    if 0xFF00 <= port < 0xFFFFFF00:
        raise OFPError("OFPBRC_BAD_PORT", f"port {port:#x} is not a valid 1.1+ port")
    return ofp_port_from_of13(port)


def encode_port(p: PortDesc, version: int) -> bytes:
    hw = p.hw_addr.to_bytes(6, "big")
    name = put_cstr(p.name, 16)
    if version == OFP10_VERSION:
        return PHY_PORT_10.pack(p.port_no & 0xFFFF, hw, name, p.config,
                                p.state & PORT_STATE_10, features_to_10(p.curr),
                                features_to_10(p.advertised), features_to_10(p.supported),
                                features_to_10(p.peer))
    port_no = ofp_port_to_of13(p.port_no)
    if version == OFP13_VERSION:
        return PORT_11.pack(port_no, hw, name, p.config & PORT_CONFIG_11, p.state, p.curr,
                            p.advertised, p.supported, p.peer, p.curr_speed, p.max_speed)
    eth = PORT_14_ETH.pack(0, PORT_14_ETH.size, p.curr, p.advertised, p.supported, p.peer,
                           p.curr_speed, p.max_speed)
    return PORT_14.pack(port_no, PORT_14.size + len(eth), hw, name,
                        p.config & PORT_CONFIG_11, p.state) + eth


def decode_ports(r: Reader, version: int) -> tuple[PortDesc, ...]:
    ports = []
    while r.remaining:
        ports.append(decode_port(r, version))
    return tuple(ports)


# ----------------------------------------------------------------------------- features
def decode_features_reply(r: Reader, version: int) -> FeaturesReply:
    if version == OFP10_VERSION:
        dpid, n_buffers, n_tables, caps, actions = r.unpack(FEATURES_10, "features")
        ports = decode_ports(r, version)
        return FeaturesReply(dpid, n_buffers, n_tables, 0, caps, actions, ports)
    dpid, n_buffers, n_tables, aux, caps, _reserved = r.unpack(FEATURES_13, "features")
    return FeaturesReply(dpid, n_buffers, n_tables, aux, caps, 0, ())


def encode_features_reply(m: FeaturesReply, version: int) -> bytes:
    if version == OFP10_VERSION:
        out = bytearray(FEATURES_10.pack(m.datapath_id, m.n_buffers, min(m.n_tables, 255),
                                         m.capabilities & CAPS_10, m.actions))
        for p in m.ports:
            out += encode_port(p, version)
        return bytes(out)
    caps = m.capabilities & (CAPS_13 if version < OFP14_VERSION else CAPS_14)
    return FEATURES_13.pack(m.datapath_id, m.n_buffers, min(m.n_tables, 255), m.auxiliary_id,
                            caps, 0)


def decode_switch_config(r: Reader, cls):
    flags, miss_send_len = r.unpack(SWITCH_CONFIG, "switch config")
    return cls(flags, miss_send_len)


def encode_switch_config(m: GetConfigReply | SetConfig) -> bytes:
    return SWITCH_CONFIG.pack(m.flags, m.miss_send_len)


# ----------------------------------------------------------------------------- ports
def decode_port_status(r: Reader, version: int) -> PortStatus:
    (reason,) = r.unpack(struct.Struct("!B7x"), "port_status")
    return PortStatus(reason, decode_port(r, version))


def encode_port_status(m: PortStatus, version: int) -> bytes:
    return struct.pack("!B7x", m.reason) + encode_port(m.port, version)


def decode_port_mod(r: Reader, version: int) -> PortMod:
    if version == OFP10_VERSION:
        port_no, hw, config, mask, adv = r.unpack(PORT_MOD_10, "port_mod")
        adv = features_from_10(adv)
    elif version == OFP13_VERSION:
        port_no, hw, config, mask, adv = r.unpack(PORT_MOD_11, "port_mod")
        port_no = _port32(port_no)
    else:
        port_no, hw = struct.unpack_from("!I4x6s2x", r.take(16, "port_mod"))
        config, mask = r.unpack(struct.Struct("!II"), "port_mod")
        adv = 0
        port_no = _port32(port_no)
    return PortMod(port_no, int.from_bytes(hw, "big"), config, mask, adv)


def encode_port_mod(m: PortMod, version: int) -> bytes:
    hw = m.hw_addr.to_bytes(6, "big")
    if version == OFP10_VERSION:
        return PORT_MOD_10.pack(m.port_no & 0xFFFF, hw, m.config, m.mask,
                                features_to_10(m.advertise))
    if version == OFP13_VERSION:
        return PORT_MOD_11.pack(ofp_port_to_of13(m.port_no), hw, m.config, m.mask,
                                m.advertise)
    return struct.pack("!I4x6s2xII", ofp_port_to_of13(m.port_no), hw, m.config, m.mask)


def decode_table_mod(r: Reader) -> TableMod:
    table_id, config = r.unpack(struct.Struct("!B3xI"), "table_mod")
    return TableMod(table_id, config)


def encode_table_mod(m: TableMod) -> bytes:
    return struct.pack("!B3xI", m.table_id, m.config)


# ----------------------------------------------------------------------------- roles
_NX_ROLES = {0: ControllerRole.EQUAL, 1: ControllerRole.MASTER, 2: ControllerRole.SLAVE}
_TO_NX = {ControllerRole.EQUAL: 0, ControllerRole.MASTER: 1, ControllerRole.SLAVE: 2,
          ControllerRole.NOCHANGE: 0}


def decode_role(r: Reader, version: int, cls):
    if version == OFP10_VERSION:
        (role,) = r.unpack(struct.Struct("!I"), "role request")
        if role not in _NX_ROLES:
            raise OFPError("OFPRRFC_BAD_ROLE", f"Nicira role {role}")
        return cls(_NX_ROLES[role], 0)
    role, gen = r.unpack(ROLE_12, "role request")
    try:
        return cls(ControllerRole(role), gen)
    except ValueError:
        raise OFPError("OFPRRFC_BAD_ROLE", f"role {role}") from None


def encode_role(m: RoleRequest | RoleReply, version: int) -> bytes:
    if version == OFP10_VERSION:
        return struct.pack("!I", _TO_NX[m.role])
    return ROLE_12.pack(m.role.value, m.generation_id)


def decode_async(r: Reader) -> AsyncConfig:
    v = r.unpack(ASYNC, "async config")
    return AsyncConfig((v[0], v[1]), (v[2], v[3]), (v[4], v[5]))


def encode_async(c: AsyncConfig) -> bytes:
    masks = (*c.packet_in_mask, *c.port_status_mask, *c.flow_removed_mask)
    return ASYNC.pack(*(m or 0 for m in masks))


# OpenFlow 1.4 async config properties: type 2k is the secondary (slave) mask of kind k,
# 2k + 1 the primary one, kinds in OVS's order (packet-in, port status, flow removed,
# role status, table status, request forward); each is type(2) length(2)=8 mask(4).
_ASYNC_PROP = struct.Struct("!HHI")
N_ASYNC_KINDS = 6


def decode_async14(r: Reader) -> AsyncConfig:
    """OpenFlow 1.4 SET_ASYNC / GET_ASYNC_REPLY properties; kinds not given are None."""
    masks: list[list[int | None]] = [[None, None] for _ in range(N_ASYNC_KINDS)]
    while r.remaining:
        if r.remaining < 4:
            raise OFPError("OFPBPC_BAD_LEN", "async config property truncated")
        ptype, plen = struct.unpack_from("!HH", r.data, r.pos)
        if plen < 4 or plen > r.remaining:
            raise OFPError("OFPBPC_BAD_LEN", f"async config property length {plen}")
        if ptype >= 2 * N_ASYNC_KINDS:
            raise OFPError("OFPACFC_UNSUPPORTED", f"async config property {ptype:#x}")
        if plen != 8:
            raise OFPError("OFPBPC_BAD_LEN", f"async config property length {plen}")
        _t, _l, mask = r.unpack(_ASYNC_PROP)
        masks[ptype // 2][0 if ptype & 1 else 1] = mask
    return AsyncConfig(*(tuple(m) for m in masks))  # type: ignore[arg-type]


def encode_async14(c: AsyncConfig) -> bytes:
    out = bytearray()
    for kind, (primary, secondary) in enumerate(c.masks()):
        if secondary is not None:
            out += _ASYNC_PROP.pack(2 * kind, 8, secondary)
        if primary is not None:
            out += _ASYNC_PROP.pack(2 * kind + 1, 8, primary)
    return bytes(out)


ROLE_STATUS = struct.Struct("!IB3xQ")


def decode_role_status(r: Reader) -> RoleStatus:
    role, reason, gen = r.unpack(ROLE_STATUS, "role status")
    try:
        return RoleStatus(ControllerRole(role), reason, gen)
    except ValueError:
        raise OFPError("OFPRRFC_BAD_ROLE", f"role {role}") from None


def encode_role_status(m: RoleStatus) -> bytes:
    return ROLE_STATUS.pack(m.role.value, m.reason, m.generation_id)


# ----------------------------------------------------------------------------- Nicira
def decode_set_flow_format(r: Reader) -> SetFlowFormat:
    (fmt,) = r.unpack(struct.Struct("!I"), "set_flow_format")
    if fmt not in (NXFF_OPENFLOW10, NXFF_NXM):
        raise OFPError("OFPBRC_EPERM", f"flow format {fmt} is not supported")
    return SetFlowFormat(fmt)


def decode_flow_mod_table_id(r: Reader) -> FlowModTableId:
    (enable,) = r.unpack(struct.Struct("!B7x"), "flow_mod_table_id")
    return FlowModTableId(bool(enable))


def decode_set_packet_in_format(r: Reader) -> SetPacketInFormat:
    (fmt,) = r.unpack(struct.Struct("!I"), "set_packet_in_format")
    if fmt > 2:
        raise OFPError("OFPBRC_EPERM", f"packet-in format {fmt} is not supported")
    return SetPacketInFormat(fmt)


def decode_set_controller_id(r: Reader) -> SetControllerId:
    zero, cid = r.unpack(struct.Struct("!6sH"), "set_controller_id")
    if any(zero):
        raise OFPError("NXBRC_MUST_BE_ZERO", "set_controller_id reserved bytes")
    return SetControllerId(cid)


def decode_ct_flush_zone(r: Reader) -> CtFlushZone:
    zero, zone = r.unpack(struct.Struct("!6sH"), "ct_flush_zone")
    if any(zero):
        raise OFPError("NXBRC_MUST_BE_ZERO", "ct_flush_zone reserved bytes")
    return CtFlushZone(zone)
