"""Flow and group table modifications on the wire: OFPT_FLOW_MOD (1.0 with the 40-byte
match, 1.3/1.4 with OXM), NXT_FLOW_MOD (1.0 with NXM), OFPT_GROUP_MOD (1.3) and
NXT_GROUP_MOD (the OpenFlow 1.5 layout ovs-ofctl sends in 1.0 mode).

They decode to the shared :class:`~pyvswitch.flow.flowmod.FlowMod` /
:class:`~pyvswitch.flow.flowmod.GroupMod`.  Cookies follow OVS: an OpenFlow 1.3 ADD carries
the new cookie, MODIFY/DELETE a cookie filter; in 1.0 the cookie field is the new cookie
(all-ones = keep) and the filter, if any, is the NXM_NX_COOKIE pseudo-field.  The table id
of a 1.0 flow_mod is the high byte of ``command`` only when the connection enabled
NXT_FLOW_MOD_TABLE_ID; table 0xff becomes ``None`` (all tables / unspecified).

Layer: openflow.  Imports: flow.*, errors, types, openflow.*.
"""

from __future__ import annotations

import struct

from pyvswitch.errors import LocalProtocolError, OFPError
from pyvswitch.flow import layout as L
from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.flowmod import (
    OFPFF_RESET_COUNTS,
    FlowMod,
    FlowModCommand,
    GroupMod,
    GroupModCommand,
)
from pyvswitch.flow.ofpacts import Bucket, GroupType
from pyvswitch.openflow.actions import decode_actions, encode_actions
from pyvswitch.openflow.actions_common import APPLY_ONLY
from pyvswitch.openflow.actions_of13 import port_from_of13
from pyvswitch.openflow.consts import (
    NXFF_NXM,
    OFP10_VERSION,
    OFP14_VERSION,
    OFPTT_ALL,
)
from pyvswitch.openflow.header import Reader, pad8
from pyvswitch.openflow.instructions import decode_flow_actions, encode_flow_actions
from pyvswitch.openflow.match_of10 import (
    OFP10_MATCH_LEN,
    OFPFW10_ALL,
    decode_of10_match,
    encode_of10_match,
    of10_expressible,
)
from pyvswitch.openflow.match_oxm import (
    pull_nx_match,
    pull_ofp11_match,
    put_nx_match,
    put_ofp11_match,
)
from pyvswitch.openflow.messages import SessionState
from pyvswitch.types import OFPG_ANY, ofp_port_to_of13

OF10_FLOW_MOD = struct.Struct("!QHHHHIHH")  # after the match
NX_FLOW_MOD = struct.Struct("!QHHHHIHHH6x")
OF11_FLOW_MOD = struct.Struct("!QQBBHHHIIIHH")

ALL_ONES64 = 0xFFFFFFFFFFFFFFFF
OFPFF10_EMERG = 1 << 2
_FLAGS_10 = 0x3  # SEND_FLOW_REM | CHECK_OVERLAP
_FLAGS_13 = 0x1F
_C = FlowModCommand


def _command(cmd: int) -> FlowModCommand:
    try:
        return FlowModCommand(cmd)
    except ValueError:
        raise OFPError("OFPFMFC_BAD_COMMAND", f"flow_mod command {cmd}") from None


def _check_ct_tuple(fm: FlowMod) -> None:
    """OVS rejects ct_nw_* / ct_ipv6_* matches that disagree with the flow's eth_type."""
    m = fm.match
    dl = m.dl_type()
    if (m.mask[L.CT_NW_SRC] or m.mask[L.CT_NW_DST]) and dl != L.ETH_TYPE_IP:
        raise OFPError("OFPBAC_MATCH_INCONSISTENT", "ct_nw_src/dst need an IPv4 match")
    if (m.mask[L.CT_IPV6_SRC] or m.mask[L.CT_IPV6_DST]) and dl != L.ETH_TYPE_IPV6:
        raise OFPError("OFPBAC_MATCH_INCONSISTENT", "ct_ipv6_src/dst need an IPv6 match")


def _legacy_cookies(fm: FlowMod, new_cookie: int) -> None:
    """OpenFlow 1.0 / NXM cookie semantics (the field is the new cookie)."""
    if fm.command is _C.ADD:
        fm.cookie = new_cookie
    elif fm.command in (_C.MODIFY, _C.MODIFY_STRICT):
        fm.new_cookie = None if new_cookie == ALL_ONES64 else new_cookie
        fm.modify_may_add = fm.new_cookie is not None and not fm.cookie_mask


def _legacy_command(fm: FlowMod, raw: int, state: SessionState | None) -> None:
    if state is not None and state.flow_mod_table_id:
        fm.command = _command(raw & 0xFF)
        table = raw >> 8
        fm.table_id = None if table == OFPTT_ALL else table
    else:
        fm.command = _command(raw)
        fm.table_id = None


def _legacy_flags(fm: FlowMod, flags: int) -> None:
    if flags & OFPFF10_EMERG:
        raise OFPError("OFPFMFC_BAD_EMERG_TIMEOUT" if fm.idle_timeout or fm.hard_timeout
                       else "OFPFMFC_TABLE_FULL", "emergency flows are not supported")
    if flags & ~_FLAGS_10:
        raise OFPError("OFPFMFC_BAD_FLAGS", f"flow_mod flags {flags:#x}")
    if fm.command is _C.ADD:
        # OpenFlow 1.0 has no reset_counts flag: every add resets the counters of the
        # flow it replaces (OVS ``ofputil_decode_flow_mod_flags``)
        flags |= OFPFF_RESET_COUNTS
    fm.flags = flags


def decode_of10_flow_mod(r: Reader, state: SessionState | None) -> FlowMod:
    r.need(OFP10_MATCH_LEN + OF10_FLOW_MOD.size, "flow_mod")
    wildcards = struct.unpack_from("!I", r.data, r.pos)[0]
    match = decode_of10_match(r.data, r.pos)
    r.skip(OFP10_MATCH_LEN)
    cookie, cmd, idle, hard, prio, buffer_id, out_port, flags = r.unpack(OF10_FLOW_MOD)
    fm = FlowMod(match=match, idle_timeout=idle, hard_timeout=hard, buffer_id=buffer_id,
                 out_port=out_port, out_group=OFPG_ANY)
    fm.priority = prio if wildcards & OFPFW10_ALL else 0xFFFF
    _legacy_command(fm, cmd, state)
    _legacy_cookies(fm, cookie)
    _legacy_flags(fm, flags)
    fm.actions = decode_flow_actions(r.rest(), OFP10_VERSION)
    return fm


def decode_nx_flow_mod(r: Reader, state: SessionState | None) -> FlowMod:
    (new_cookie, cmd, idle, hard, prio, buffer_id, out_port, flags,
     match_len) = r.unpack(NX_FLOW_MOD, "nx_flow_mod")
    match, cookie, cookie_mask = pull_nx_match(r, match_len, allow_cookie=True)
    if (cmd & 0xFF) == _C.ADD.value and cookie_mask:
        raise OFPError("NXBRC_NXM_INVALID", "flow additions cannot match on a cookie")
    fm = FlowMod(match=match, priority=prio, idle_timeout=idle, hard_timeout=hard,
                 buffer_id=buffer_id, out_port=out_port, out_group=OFPG_ANY,
                 cookie=cookie, cookie_mask=cookie_mask)
    _legacy_command(fm, cmd, state)
    _legacy_cookies(fm, new_cookie)
    _check_ct_tuple(fm)
    _legacy_flags(fm, flags)
    fm.actions = decode_flow_actions(r.rest(), OFP10_VERSION)
    return fm


def decode_of13_flow_mod(r: Reader, version: int) -> FlowMod:
    (cookie, cookie_mask, table, cmd, idle, hard, prio, buffer_id, out_port, out_group,
     flags, importance) = r.unpack(OF11_FLOW_MOD, "flow_mod")
    match = pull_ofp11_match(r)
    command = _command(cmd)
    if table == OFPTT_ALL and command not in (_C.DELETE, _C.DELETE_STRICT):
        raise OFPError("OFPFMFC_BAD_TABLE_ID", "table 255 is only valid for deletes")
    fm = FlowMod(command=command, match=match, priority=prio,
                 table_id=None if table == OFPTT_ALL else table, idle_timeout=idle,
                 hard_timeout=hard, buffer_id=buffer_id,
                 out_port=port_from_of13(out_port, "OFPBRC_BAD_PORT"))
    if command is _C.ADD:
        fm.cookie = cookie
        if version >= OFP14_VERSION:
            fm.importance = importance
    else:
        fm.cookie, fm.cookie_mask = cookie & cookie_mask, cookie_mask
    if command in (_C.DELETE, _C.DELETE_STRICT):
        fm.out_group = out_group
    if flags & ~_FLAGS_13:
        raise OFPError("OFPFMFC_BAD_FLAGS", f"flow_mod flags {flags:#x}")
    fm.flags = flags
    _check_ct_tuple(fm)
    fm.actions = decode_flow_actions(r.rest(), version)
    return fm


# ----------------------------------------------------------------------------- encoding
#: fields an OpenFlow 1.0 match can express; a ``set_field`` to any other field makes
#: ovs-ofctl use NXM (OVS ``usable_protocols_exact``)
_OF10_FIELDS = frozenset((
    "in_port", "eth_src", "eth_dst", "eth_type", "vlan_tci", "dl_vlan", "vlan_vid",
    "dl_vlan_pcp", "vlan_pcp", "ip_src", "ip_dst", "nw_proto", "nw_tos", "ip_dscp",
    "arp_op", "arp_spa", "arp_tpa", "tcp_src", "tcp_dst", "udp_src", "udp_dst",
    "icmp_type", "icmp_code"))


def _actions_need_nxm(acts) -> bool:
    for a in acts:
        if isinstance(a, A.SetField):
            if a.raw is A.SetRaw.SET_FIELD and a.field.name not in _OF10_FIELDS:
                return True
        elif isinstance(a, A.WriteMetadata):
            return True
        elif isinstance(a, (A.Ct, A.WriteActions)) and _actions_need_nxm(a.actions):
            return True
    return False


def legacy_flow_format_needed(fm: FlowMod) -> tuple[bool, bool]:
    """What an OpenFlow 1.0 connection must enable before sending ``fm``, as ovs-ofctl
    decides: (NXM flow format, flow_mod table-id extension)."""
    needs_nxm = (bool(fm.cookie_mask) or not of10_expressible(fm.match)
                 or _actions_need_nxm(fm.actions))
    return needs_nxm, fm.table_id is not None


def encode_of13_flow_mod(fm: FlowMod, version: int) -> bytes:
    cmd = fm.command
    if fm.table_id is not None:
        table = fm.table_id
    else:
        table = OFPTT_ALL if cmd in (_C.DELETE, _C.DELETE_STRICT) else 0
    if cmd is _C.ADD:
        cookie, cookie_mask = fm.cookie, 0
    else:
        cookie, cookie_mask = fm.cookie & fm.cookie_mask, fm.cookie_mask
    importance = fm.importance if version >= OFP14_VERSION and cmd is _C.ADD else 0
    out = bytearray(OF11_FLOW_MOD.pack(
        cookie, cookie_mask, table, cmd.value, fm.idle_timeout, fm.hard_timeout, fm.priority,
        fm.buffer_id, ofp_port_to_of13(fm.out_port), fm.out_group, fm.flags & _FLAGS_13,
        importance))
    put_ofp11_match(out, fm.match)
    out += encode_flow_actions(fm.actions, version, fm.match)
    return bytes(out)


def _legacy_fields(fm: FlowMod, tid: bool) -> tuple[int, int]:
    if fm.command is _C.ADD:
        cookie = fm.cookie
    elif fm.command in (_C.MODIFY, _C.MODIFY_STRICT):
        cookie = 0 if fm.new_cookie is None else fm.new_cookie
    else:
        cookie = 0
    cmd = fm.command.value
    if tid:
        cmd |= (OFPTT_ALL if fm.table_id is None else fm.table_id) << 8
    return cookie, cmd


def use_nxm(fm: FlowMod, state: SessionState | None) -> bool:
    """Whether a 1.0 flow_mod goes out as NXT_FLOW_MOD."""
    if state is None:
        return legacy_flow_format_needed(fm)[0]
    if state.flow_format == NXFF_NXM:
        return True
    if legacy_flow_format_needed(fm)[0]:
        raise LocalProtocolError("this flow needs the NXM flow format; "
                                 "send SetFlowFormat(NXM) first")
    return False


def legacy_tid(fm: FlowMod, state: SessionState | None) -> bool:
    return fm.table_id is not None if state is None else state.flow_mod_table_id


def encode_of10_flow_mod(fm: FlowMod, tid: bool) -> bytes:
    cookie, cmd = _legacy_fields(fm, tid)
    out = bytearray(encode_of10_match(fm.match))
    out += OF10_FLOW_MOD.pack(cookie, cmd, fm.idle_timeout, fm.hard_timeout, fm.priority,
                              fm.buffer_id, fm.out_port & 0xFFFF, fm.flags & _FLAGS_10)
    out += encode_flow_actions(fm.actions, OFP10_VERSION, fm.match)
    return bytes(out)


def encode_nx_flow_mod(fm: FlowMod, tid: bool) -> bytes:
    cookie, cmd = _legacy_fields(fm, tid)
    match = bytearray()
    filt = fm.cookie_mask if fm.command is not _C.ADD else 0
    match_len = put_nx_match(match, fm.match, fm.cookie, filt)
    out = bytearray(NX_FLOW_MOD.pack(cookie, cmd, fm.idle_timeout, fm.hard_timeout,
                                     fm.priority, fm.buffer_id, fm.out_port & 0xFFFF,
                                     fm.flags & _FLAGS_10, match_len))
    out += match
    out += encode_flow_actions(fm.actions, OFP10_VERSION, fm.match)
    return bytes(out)


# ----------------------------------------------------------------------------- groups
OF11_GROUP_MOD = struct.Struct("!HBxI")
OF11_BUCKET = struct.Struct("!HHII4x")
OF15_GROUP_MOD = struct.Struct("!HBxIH2xI")
OF15_BUCKET = struct.Struct("!HHI")
OFPG15_BUCKET_MAX = 0xFFFFFF00
OFPG15_BUCKET_ALL = 0xFFFFFFFF
OFPGBPT15_WEIGHT = 0
OFPGBPT15_WATCH_PORT = 1
OFPGBPT15_WATCH_GROUP = 2
NTR_VENDOR_ID = 0x0000154D
NTRT_SELECTION_METHOD = 1


def group_command(cmd: int, nx: bool) -> GroupModCommand:
    try:
        c = GroupModCommand(cmd)
    except ValueError:
        c = None
    if c is None or (not nx and c in (GroupModCommand.INSERT_BUCKET,
                                      GroupModCommand.REMOVE_BUCKET)):
        raise OFPError("OFPGMFC_BAD_COMMAND", f"group_mod command {cmd}")
    return c


def group_type(t: int) -> GroupType:
    try:
        return GroupType(t)
    except ValueError:
        raise OFPError("OFPGMFC_BAD_TYPE", f"group type {t}") from None


def _watch_port(port: int) -> int:
    if 0xFF00 <= port < 0xFFFFFF00:
        raise OFPError("OFPGMFC_BAD_WATCH", f"watch_port {port:#x}")
    return port


def pull_of11_buckets(r: Reader, version: int) -> tuple[Bucket, ...]:
    buckets = []
    while r.remaining:
        if r.remaining < OF11_BUCKET.size:
            raise OFPError("OFPGMFC_BAD_BUCKET", "buckets end with leftover bytes")
        blen, weight, watch_port, watch_group = OF11_BUCKET.unpack_from(r.data, r.pos)
        if blen < OF11_BUCKET.size or blen > r.remaining:
            raise OFPError("OFPGMFC_BAD_BUCKET", f"bucket length {blen}")
        data = r.take(blen)
        acts = decode_actions(data[OF11_BUCKET.size:], version, allowed=APPLY_ONLY)
        buckets.append(Bucket(acts, weight, _watch_port(watch_port), watch_group,
                              len(buckets)))
    return tuple(buckets)


def put_of11_buckets(out: bytearray, buckets, version: int) -> None:
    for b in buckets:
        acts = encode_actions(b.actions, version)
        out += OF11_BUCKET.pack(OF11_BUCKET.size + len(acts), b.weight, b.watch_port,
                                b.watch_group) + acts


def decode_of11_group_mod(r: Reader, version: int) -> GroupMod:
    cmd, gtype, group_id = r.unpack(OF11_GROUP_MOD, "group_mod")
    buckets = pull_of11_buckets(r, version)
    command = group_command(cmd, False)
    if command is GroupModCommand.DELETE and buckets:
        raise OFPError("OFPGMFC_INVALID_GROUP", "group delete with buckets")
    return GroupMod(command, group_id, group_type(gtype), buckets)


def encode_of11_group_mod(gm: GroupMod, version: int) -> bytes:
    cmd = gm.command
    if cmd in (GroupModCommand.INSERT_BUCKET, GroupModCommand.REMOVE_BUCKET):
        raise LocalProtocolError("bucket commands need OpenFlow 1.5 group mods")
    if cmd is GroupModCommand.ADD_OR_MOD:
        raise LocalProtocolError("add_or_mod must be resolved before encoding")
    out = bytearray(OF11_GROUP_MOD.pack(cmd.value, gm.type.value, gm.group_id))
    put_of11_buckets(out, gm.buckets, version)
    return bytes(out)


def pull_of15_buckets(r: Reader, gtype: GroupType, version: int) -> tuple[Bucket, ...]:
    buckets = []
    while r.remaining:
        if r.remaining < 8:
            raise OFPError("OFPGMFC_BAD_BUCKET", "buckets end with leftover bytes")
        blen, alen, bucket_id = OF15_BUCKET.unpack_from(r.data, r.pos)
        if blen < 8 or blen > r.remaining or alen > blen - 8:
            raise OFPError("OFPGMFC_BAD_BUCKET", f"bucket length {blen}")
        br = r.sub(blen)
        br.skip(8)
        acts = decode_actions(br.take(alen), version, allowed=APPLY_ONLY)
        weight = 1 if gtype is GroupType.SELECT else 0
        watch_port = watch_group = 0xFFFFFFFF
        br.error = "OFPBPC_BAD_LEN"
        while br.remaining:
            ptype, plen = br.unpack(struct.Struct("!HH"), "bucket property")
            if plen < 4:
                raise OFPError("OFPBPC_BAD_LEN", f"property length {plen}")
            payload = br.take(plen - 4, "bucket property")
            br.skip(min(pad8(plen), br.remaining))
            if ptype == OFPGBPT15_WEIGHT and len(payload) >= 2:
                weight = struct.unpack_from("!H", payload)[0]
            elif ptype == OFPGBPT15_WATCH_PORT and len(payload) == 4:
                watch_port = _watch_port(struct.unpack("!I", payload)[0])
            elif ptype == OFPGBPT15_WATCH_GROUP and len(payload) == 4:
                watch_group = struct.unpack("!I", payload)[0]
            elif ptype in (OFPGBPT15_WEIGHT, OFPGBPT15_WATCH_PORT, OFPGBPT15_WATCH_GROUP):
                raise OFPError("OFPBPC_BAD_LEN", f"bucket property {ptype} length")
            else:
                raise OFPError("OFPBPC_BAD_TYPE", f"unknown bucket property {ptype}")
        if bucket_id > OFPG15_BUCKET_MAX:
            raise OFPError("OFPGMFC_BAD_BUCKET", f"bucket id {bucket_id}")
        buckets.append(Bucket(acts, weight, watch_port, watch_group, bucket_id))
    return tuple(buckets)


def put_of15_buckets(out: bytearray, buckets, gtype: GroupType, version: int) -> None:
    for b in buckets:
        acts = encode_actions(b.actions, version)
        props = bytearray()
        if gtype is GroupType.SELECT or b.weight:
            props += struct.pack("!HHH2x", OFPGBPT15_WEIGHT, 8, b.weight)
        if b.watch_port != 0xFFFFFFFF:
            props += struct.pack("!HHI", OFPGBPT15_WATCH_PORT, 8, b.watch_port)
        if b.watch_group != 0xFFFFFFFF:
            props += struct.pack("!HHI", OFPGBPT15_WATCH_GROUP, 8, b.watch_group)
        out += OF15_BUCKET.pack(8 + len(acts) + len(props), len(acts), b.bucket_id)
        out += acts + props


def pull_group_props(r: Reader) -> str:
    """Group properties: the NTR selection_method is kept, anything else refused."""
    method = ""
    while r.remaining:
        r.error = "OFPBPC_BAD_LEN"
        ptype, plen = r.unpack(struct.Struct("!HH"), "group property")
        if plen < 4:
            raise OFPError("OFPBPC_BAD_LEN", f"property length {plen}")
        payload = r.take(plen - 4, "group property")
        r.skip(min(pad8(plen), r.remaining))
        if ptype != 0xFFFF or len(payload) < 36:
            raise OFPError("OFPBPC_BAD_TYPE", f"unknown group property {ptype}")
        exp, exp_type = struct.unpack_from("!II", payload, 0)
        if exp != NTR_VENDOR_ID or exp_type != NTRT_SELECTION_METHOD:
            raise OFPError("OFPBPC_BAD_EXPERIMENTER", f"group property vendor {exp:#x}")
        method = payload[12:28].split(b"\0", 1)[0].decode("ascii", "replace")
    return method


def put_group_props(out: bytearray, method: str) -> None:
    if method:
        raw = method.encode("ascii")[:15]
        out += struct.pack("!HHII4x16sQ", 0xFFFF, 40, NTR_VENDOR_ID, NTRT_SELECTION_METHOD,
                           raw, 0)


def decode_of15_group_mod(r: Reader, version: int) -> GroupMod:
    cmd, gtype, group_id, blen, _cmd_bucket = r.unpack(OF15_GROUP_MOD, "group_mod")
    command = group_command(cmd, True)
    gt = group_type(gtype)
    if blen > r.remaining:
        raise OFPError("OFPBRC_BAD_LEN", "bucket array exceeds the message")
    buckets = pull_of15_buckets(r.sub(blen), gt, version)
    method = pull_group_props(r)
    return GroupMod(command, group_id, gt, buckets, method)


def encode_of15_group_mod(gm: GroupMod, version: int) -> bytes:
    buckets = bytearray()
    put_of15_buckets(buckets, gm.buckets, gm.type, version)
    out = bytearray(OF15_GROUP_MOD.pack(gm.command.value, gm.type.value, gm.group_id,
                                        len(buckets), OFPG15_BUCKET_ALL))
    out += buckets
    put_group_props(out, gm.selection_method)
    return bytes(out)
