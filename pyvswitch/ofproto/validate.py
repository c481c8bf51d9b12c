"""Flow validation at flow-add time: match prerequisites and action consistency.

What OVS checks when it decodes a flow_mod (``nx_pull_match`` prerequisites,
``decode_NXAST_RAW_CT``, ``ofpacts_verify``) and then in ``ofpacts_check`` and
``ofproto_check_ofpacts`` -- in that order, raising :class:`OFPError` with OVS's error
names.  The same checks serve the CLI and OpenFlow, because both produce a ``FlowMod``.

Some inconsistencies between a match and its actions are *hard* errors for every
OpenFlow version (``set_field`` without the field's prerequisites, ``ct`` in a non-IP
flow...).  Others (``mod_tp_dst`` in a flow that does not match TCP, ``strip_vlan``
without a VLAN match, ``dec_ttl`` without IP) OVS accepts from OpenFlow 1.0 connections
and refuses from OpenFlow 1.1+ ones; ``strict_consistency=True`` asks for the latter.

Layer: ofproto.  Imports: flow, errors, types, ofproto.rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyvswitch.errors import OFPError
from pyvswitch.flow import layout as L
from pyvswitch.flow.fields import FIELDS, Field, Prereq
from pyvswitch.flow.match import Match, MatchBuilder
from pyvswitch.flow.ofpacts import (
    ClearActions,
    Controller,
    Ct,
    CtClear,
    DecTtl,
    Drop,
    Enqueue,
    Exit,
    GotoTable,
    Group,
    Learn,
    Meter,
    Move,
    Nat,
    Note,
    Output,
    OutputReg,
    PopVlan,
    PushVlan,
    Resubmit,
    SetField,
    SetIPTtl,
    SetQueue,
    SetRaw,
    SetVlanPcp,
    SetVlanVid,
    SubField,
    WriteActions,
    WriteMetadata,
)
from pyvswitch.ofproto.rule import iter_flat_actions
from pyvswitch.types import (
    OFPP_ALL,
    OFPP_CONTROLLER,
    OFPP_FLOOD,
    OFPP_IN_PORT,
    OFPP_LOCAL,
    OFPP_MAX,
    OFPP_NORMAL,
    OFPP_TABLE,
)

OFPM13_MAX = 0xFFFF0000
_OK_RESERVED_OUT = (OFPP_IN_PORT, OFPP_TABLE, OFPP_NORMAL, OFPP_FLOOD, OFPP_ALL,
                    OFPP_CONTROLLER, OFPP_LOCAL)
_CT_FIELDS = ("ct_mark", "ct_label")
_L4_PREREQS = (Prereq.TCP, Prereq.UDP, Prereq.SCTP, Prereq.L4_ANY)
#: actions that are, or may contain, a group or meter reference
_HOLDS_GROUP_OR_METER = frozenset((Group, Meter, WriteActions, Ct))


def _slot_fields() -> dict[int, list[tuple[int, Field]]]:
    """For each slot, the fields (and their bits within it) that can constrain it."""
    out: dict[int, list[tuple[int, Field]]] = {}
    for f in FIELDS.values():
        for slot, shift, nbits in f.parts:
            out.setdefault(slot, []).append((((1 << nbits) - 1) << shift, f))
        if f.match_implied:
            out.setdefault(f.slot, []).append((f.match_implied, f))
        extra = getattr(f, "mask_extra", 0)  # bits a match on the field also covers
        if extra:
            out.setdefault(f.slot, []).append((extra, f))
    return out


_SLOT_FIELDS = _slot_fields()


def prereq_ok(match: Match, prereq: Prereq) -> bool:
    """Match-based prerequisite test (OVS ``mf_are_match_prereqs_ok``): as
    ``Match.prereqs_ok``, and a later fragment never has L4 ports."""
    if not match.prereqs_ok(prereq):
        return False
    if prereq in _L4_PREREQS and match.value[L.NW_FRAG] & L.FLOW_NW_FRAG_LATER:
        return False
    return True


# --------------------------------------------------------------------------- memo
# Validation runs for every flow_mod, and a controller loading a table sends thousands
# of flows that differ only in addresses and ports.  Both checks below are functions
# of the match's mask and of the few values prerequisites read (Ethernet type, IP
# protocol, VLAN tags, ct_state, fragment bits, and the ICMPv6 type/code of ND flows),
# so their verdicts are memoised on exactly that.

#: verdicts kept before a memo starts over
MEMO_MAX = 4096
_MATCH_MEMO: dict[tuple, tuple[str, str] | None] = {}
_ACTIONS_MEMO: dict[tuple, tuple[str, str] | None] = {}


def _projection(match: Match) -> tuple[int, ...]:
    """The values (besides the mask) that prerequisite and consistency checks read."""
    v = match.value
    dl, proto = v[L.ETH_TYPE], v[L.NW_PROTO]
    if dl == L.ETH_TYPE_IPV6 and proto == L.IPPROTO_ICMPV6:
        return (dl, proto, v[L.VLAN_TCI], v[L.VLAN2_TCI], v[L.CT_STATE], v[L.NW_FRAG],
                v[L.TP_SRC], v[L.TP_DST])
    return (dl, proto, v[L.VLAN_TCI], v[L.VLAN2_TCI], v[L.CT_STATE], v[L.NW_FRAG])


def _memo_check(memo: dict[tuple, tuple[str, str] | None], key: tuple,
                check: Callable[[], None]) -> None:
    try:
        verdict = memo[key]
    except KeyError:
        try:
            check()
            verdict = None
        except OFPError as exc:
            verdict = (exc.name, exc.msg)
        if len(memo) >= MEMO_MAX:
            memo.clear()
        memo[key] = verdict
    except TypeError:  # something unhashable in the actions: no memo
        check()
        return
    if verdict is not None:
        raise OFPError(*verdict)


#: the last match key that passed (mask object, projection): a table loaded flow by flow
#: repeats it, and comparing the mask by identity saves hashing 57 ints
_last_match_ok: tuple[object, tuple[int, ...]] = (None, ())


def check_match(match: Match) -> None:
    """Every constrained bit must belong to a field whose prerequisites the match
    satisfies (OFPBMC_BAD_PREREQ); the ct original-tuple addresses must agree with
    the Ethernet type (OFPBAC_MATCH_INCONSISTENT).  (Memoised: see above.)"""
    global _last_match_ok
    mask = match.mask
    proj = _projection(match)
    last_mask, last_proj = _last_match_ok
    if mask is last_mask and proj == last_proj:
        return
    _memo_check(_MATCH_MEMO, (mask, proj), lambda: _check_match(match))
    _last_match_ok = (mask, proj)


def _check_match(match: Match) -> None:
    """The check of :func:`check_match`.

    A ``Match`` records bits, not which field named them, so when fields share bits
    the match passes if *some* field covering them is usable: ``udp,tcp_dst=80`` is the
    same match as ``udp,tp_dst=80`` and passes here; the parser and the OpenFlow
    decoder, which know the field, refuse the former.
    """
    for slot, mask in enumerate(match.mask):
        if not mask:
            continue
        covered = 0
        first: Field | None = None
        for bits, f in _SLOT_FIELDS.get(slot, ()):
            if not bits & mask:
                continue
            first = first or f
            if bits & ~covered and prereq_ok(match, f.prereq):
                covered |= bits
        if mask & ~covered:
            name = first.name if first else L.SLOT_NAMES[slot]
            raise OFPError("OFPBMC_BAD_PREREQ",
                           f"match field {name} lacks its prerequisites")
    m = match.mask
    dl = match.value[L.ETH_TYPE] if m[L.ETH_TYPE] else None
    if (m[L.CT_NW_SRC] or m[L.CT_NW_DST]) and dl != L.ETH_TYPE_IP:
        raise OFPError("OFPBAC_MATCH_INCONSISTENT",
                       "ct_nw_src/ct_nw_dst require an IPv4 match")
    if (m[L.CT_IPV6_SRC] or m[L.CT_IPV6_DST]) and dl != L.ETH_TYPE_IPV6:
        raise OFPError("OFPBAC_MATCH_INCONSISTENT",
                       "ct_ipv6_src/ct_ipv6_dst require an IPv6 match")


# --------------------------------------------------------------------------- decode
def _dst_field(a: object) -> Field | None:
    if isinstance(a, SetField):
        return a.field
    if isinstance(a, Move):
        return a.dst.field
    return None


def verify_actions(actions: tuple[object, ...], outer: type | None = None) -> None:
    """Checks OVS makes while decoding actions: the ct flags and nesting rules,
    writable destinations."""
    for a in actions:
        dst = _dst_field(a)
        if dst is not None:
            if not dst.writable:
                raise OFPError("OFPBAC_BAD_SET_ARGUMENT",
                               f"destination field {dst.name} is not writable")
            if isinstance(a, SetField) and dst.name == "in_port_oxm" \
                    and a.raw is SetRaw.SET_FIELD:
                raise OFPError("OFPBAC_BAD_SET_ARGUMENT",
                               "OpenFlow forbids set_field on in_port")
            if dst.name in _CT_FIELDS and outer is not Ct:
                raise OFPError("OFPBAC_BAD_SET_ARGUMENT",
                               "cannot set CT fields outside of ct action")
        if isinstance(a, Nat):
            if outer is not Ct:
                raise OFPError("OFPBAC_BAD_SET_ARGUMENT",
                               'Cannot have NAT action outside of "ct" action')
            continue
        if outer is Ct:
            if dst is None:
                raise OFPError("OFPBAC_BAD_ARGUMENT",
                               f"ct action doesn't support nested action {_name(a)}")
            if dst.name not in _CT_FIELDS:
                raise OFPError("OFPBAC_BAD_ARGUMENT",
                               f"ct action doesn't support nested modification of {dst.name}")
        if isinstance(a, Meter) and outer is not None:
            raise OFPError("OFPBAC_BAD_ARGUMENT",
                           f"{_name(outer)} action doesn't support nested action meter")
        if isinstance(a, Ct):
            if a.force and not a.commit:
                raise OFPError("OFPBAC_BAD_ARGUMENT", '"force" flag requires "commit" flag.')
            verify_actions(a.actions, Ct)
            if not a.commit:
                for n in a.actions:
                    if not isinstance(n, Nat) or n.flags or n.addr_min is not None:
                        raise OFPError(
                            "OFPBAC_BAD_ARGUMENT",
                            "CT action requires commit flag if actions other than NAT "
                            "without arguments are specified")
        elif isinstance(a, WriteActions):
            verify_actions(a.actions, WriteActions)


def _name(a: object) -> str:
    t = a if isinstance(a, type) else type(a)
    return {Ct: "ct", WriteActions: "write_actions"}.get(t, t.__name__.lower())


# --------------------------------------------------------------------------- check
@dataclass(slots=True)
class _State:
    """What ``ofpacts_check`` tracks while walking a list: the flow as the actions
    so far leave it (VLAN tags), and whether an OF1.1+ connection could express it."""

    match: Match
    tci: int  # outer VLAN TCI as far as known (CFI = a tag is present)
    tci2: int
    consistent: bool = True


def _check_subfield(sf: SubField, match: Match, what: str) -> None:
    """OVS ``mf_check_src``/``mf_check__``."""
    if sf.n_bits <= 0 or sf.ofs >= sf.field.nbits or sf.ofs + sf.n_bits > sf.field.nbits:
        raise OFPError("OFPBAC_BAD_SET_LEN",
                       f"bits {sf.ofs}..{sf.ofs + sf.n_bits - 1} exceed the "
                       f"{sf.field.nbits}-bit {what} field {sf.field.name}")
    if not prereq_ok(match, sf.field.prereq):
        raise OFPError("OFPBAC_MATCH_INCONSISTENT",
                       f"{what} field {sf.field.name} lacks correct prerequisites")


def _check_dst(sf: SubField, match: Match) -> None:
    _check_subfield(sf, match, "destination")
    if not sf.field.writable:
        raise OFPError("OFPBAC_BAD_SET_ARGUMENT",
                       f"destination field {sf.field.name} is not writable")


def _ct_valid(match: Match) -> bool:
    return match.prereqs_ok(Prereq.CT_VALID)


def _check_learn(a: Learn, match: Match) -> None:
    """OVS ``learn_check``: sources against the flow's match, destinations against
    the match the learned flow will have (immediate values fill it in)."""
    dst = MatchBuilder()
    for spec in a.specs:
        if spec.src is not None:
            _check_subfield(spec.src, match, "source")
        if spec.kind == "match" and spec.dst is not None:
            _check_subfield(spec.dst, dst.build(), "source")
            if spec.src is None:
                d = spec.dst
                dst.set_field(d.field, (spec.imm << d.ofs) & d.mask, d.mask)
        elif spec.kind == "load" and spec.dst is not None:
            _check_dst(spec.dst, dst.build())


def _check_one(a: object, st: _State, *, table_id: int | None, n_tables: int,
               max_ports: int) -> None:
    m = st.match
    ip = m.dl_type() in (L.ETH_TYPE_IP, L.ETH_TYPE_IPV6)
    if isinstance(a, Output):
        p = a.port
        if p not in _OK_RESERVED_OUT and p >= max_ports:
            raise OFPError("OFPBAC_BAD_OUT_PORT", f"output to invalid port {p:#x}")
    elif isinstance(a, Enqueue):
        if a.port >= max_ports and a.port not in (OFPP_IN_PORT, OFPP_LOCAL):
            raise OFPError("OFPBAC_BAD_OUT_PORT", f"enqueue to invalid port {a.port:#x}")
    elif isinstance(a, OutputReg):
        _check_subfield(a.src, m, "source")
    elif isinstance(a, Resubmit):
        if a.with_ct_orig and not _ct_valid(m):
            raise OFPError("OFPBAC_MATCH_INCONSISTENT",
                           "resubmit(...,ct) needs a match on a valid ct_state")
    elif isinstance(a, SetField):
        _check_set_field(a, st)
    elif isinstance(a, Move):
        _check_subfield(a.src, m, "source")
        _check_dst(a.dst, m)
    elif isinstance(a, (SetVlanVid, SetVlanPcp)):
        if not st.tci & L.VLAN_CFI and not a.push_vlan_if_needed:
            st.consistent = False
        st.tci |= L.VLAN_CFI
    elif isinstance(a, PopVlan):
        if not st.tci & L.VLAN_CFI:
            st.consistent = False
        st.tci, st.tci2 = st.tci2, 0
    elif isinstance(a, PushVlan):
        if st.tci2 & L.VLAN_CFI:
            raise OFPError("OFPBAC_BAD_TAG", "at most two VLAN headers")
        st.tci, st.tci2 = st.tci | L.VLAN_CFI, st.tci
    elif isinstance(a, (DecTtl, SetIPTtl)):
        if not ip:
            st.consistent = False
    elif isinstance(a, Ct):
        _check_ct(a, st, table_id=table_id, n_tables=n_tables, max_ports=max_ports)
    elif isinstance(a, Nat):
        dl = m.dl_type()
        if dl not in (L.ETH_TYPE_IP, L.ETH_TYPE_IPV6) or (
                a.addr_min is not None and (dl == L.ETH_TYPE_IPV6) != a.ipv6):
            raise OFPError("OFPBAC_MATCH_INCONSISTENT",
                           "nat address family must match the flow's Ethernet type")
    elif isinstance(a, Learn):
        _check_learn(a, m)
    elif isinstance(a, WriteActions):
        # An action set cannot be checked for consistency (OVS uses a copy).
        sub = _State(m, st.tci, st.tci2)
        for n in a.actions:
            _check_one(n, sub, table_id=table_id, n_tables=n_tables, max_ports=max_ports)
    elif isinstance(a, GotoTable):
        if (table_id is not None and a.table_id <= table_id) or a.table_id >= n_tables:
            raise OFPError("OFPBIC_BAD_TABLE_ID",
                           f"goto_table:{a.table_id} must go to a later, existing table")
    elif isinstance(a, Meter):
        if a.meter_id == 0 or a.meter_id > OFPM13_MAX:
            raise OFPError("OFPMMFC_INVALID_METER", f"invalid meter id {a.meter_id}")
    elif isinstance(a, (Controller, Group, CtClear, WriteMetadata, ClearActions, Exit,
                        Note, SetQueue, Drop)):
        pass


def _check_ct(a: Ct, st: _State, *, table_id: int | None, n_tables: int,
              max_ports: int) -> None:
    m = st.match
    dl = m.dl_type()
    if dl not in (L.ETH_TYPE_IP, L.ETH_TYPE_IPV6):
        raise OFPError("OFPBAC_MATCH_INCONSISTENT", "ct requires an ip or ipv6 match")
    if a.commit and m.value[L.CT_STATE] & L.CS_INVALID:
        raise OFPError("OFPBAC_MATCH_INCONSISTENT",
                       "ct(commit) is refused in a flow that matches +inv")
    proto = m.nw_proto()
    if a.alg == 21 and proto != L.IPPROTO_TCP:
        raise OFPError("OFPBAC_MATCH_INCONSISTENT", "alg=ftp requires a tcp match")
    if a.alg == 69 and proto != L.IPPROTO_UDP:
        raise OFPError("OFPBAC_MATCH_INCONSISTENT", "alg=tftp requires a udp match")
    if a.zone_src is not None:
        _check_subfield(a.zone_src, m, "source")
        return
    sub = _State(m, st.tci, st.tci2)
    for n in a.actions:
        _check_one(n, sub, table_id=table_id, n_tables=n_tables, max_ports=max_ports)
    st.consistent = st.consistent and sub.consistent


_SOFT_RAWS = {
    SetRaw.MOD_NW_SRC: "ipv4", SetRaw.MOD_NW_DST: "ipv4", SetRaw.MOD_NW_TOS: "ip",
    SetRaw.MOD_NW_ECN: "ip", SetRaw.MOD_NW_TTL: "ip", SetRaw.MOD_TP_SRC: "l4",
    SetRaw.MOD_TP_DST: "l4", SetRaw.MOD_VLAN_VID: "vlan", SetRaw.MOD_VLAN_PCP: "vlan",
    SetRaw.MOD_DL_SRC: "", SetRaw.MOD_DL_DST: "",
}


def _check_set_field(a: SetField, st: _State) -> None:
    m = st.match
    soft = _SOFT_RAWS.get(a.raw)
    if soft is not None:
        # OpenFlow 1.0 "mod_*" actions: an inconsistency only stops OF1.1+.
        dl = m.dl_type()
        if soft == "ipv4":
            ok = dl == L.ETH_TYPE_IP
        elif soft == "ip":
            ok = dl in (L.ETH_TYPE_IP, L.ETH_TYPE_IPV6)
        elif soft == "l4":
            ok = (dl in (L.ETH_TYPE_IP, L.ETH_TYPE_IPV6)
                  and not m.value[L.NW_FRAG] & L.FLOW_NW_FRAG_LATER
                  and m.nw_proto() in (L.IPPROTO_TCP, L.IPPROTO_UDP, L.IPPROTO_SCTP))
        elif soft == "vlan":
            ok = bool(st.tci & L.VLAN_CFI)
            st.tci |= L.VLAN_CFI
        else:
            ok = True
        if not ok:
            st.consistent = False
        return
    f = a.field
    if f.prereq is Prereq.VLAN_VID:
        ok = bool(st.tci & L.VLAN_CFI)
    else:
        ok = prereq_ok(m, f.prereq)
    if not ok or (f.name == "vlan_vid" and not st.tci & L.VLAN_CFI):
        raise OFPError("OFPBAC_MATCH_INCONSISTENT",
                       f"set_field {f.name} lacks correct prerequisites")
    if f.name == "vlan_tci":
        st.tci = a.value & a.mask | (st.tci & ~a.mask)


#: the last actions check that passed: (actions object, mask object, the other values)
_last_actions_ok: tuple[object, object, tuple] = (None, None, ())


def check_actions(actions: tuple[object, ...], match: Match, *, table_id: int | None,
                  n_tables: int = 255, max_ports: int = OFPP_MAX,
                  strict_consistency: bool = False,
                  group_exists: Callable[[int], bool] | None = None) -> None:
    """Validate ``actions`` for a flow with ``match`` in table ``table_id`` (None when
    the flow_mod named no table: goto_table is then not checked for direction, as OVS
    does for table 0xff).  ``group_exists`` enables the group-existence check.
    (Memoised, but for the group check: see above.)"""
    global _last_actions_ok
    mask = match.mask
    proj = _projection(match)
    last = _last_actions_ok
    if not (actions is last[0] and mask is last[1] and
            (proj, table_id, n_tables, max_ports, strict_consistency) == last[2]):
        key = (actions, mask, proj, table_id, n_tables, max_ports, strict_consistency)
        _memo_check(_ACTIONS_MEMO, key, lambda: _check_actions(
            actions, match, table_id, n_tables, max_ports, strict_consistency))
        if type(actions) is tuple:  # immutable: safe to recognise by identity
            _last_actions_ok = (actions, mask, key[2:])
    if group_exists is not None:
        check_groups_exist(actions, group_exists)


def _check_actions(actions: tuple[object, ...], match: Match, table_id: int | None,
                   n_tables: int, max_ports: int, strict_consistency: bool) -> None:
    verify_actions(actions)
    st = _State(match, match.value[L.VLAN_TCI], match.value[L.VLAN2_TCI])
    for a in actions:
        _check_one(a, st, table_id=table_id, n_tables=n_tables, max_ports=max_ports)
    if strict_consistency and not st.consistent:
        raise OFPError("OFPBAC_MATCH_INCONSISTENT",
                       "actions are inconsistent with the match for OpenFlow 1.1+")


def check_groups_exist(actions: tuple[object, ...], group_exists: Callable[[int], bool]) -> None:
    """OVS ``ofproto_check_ofpacts``: referenced groups (and meters) must exist."""
    if not any(type(a) in _HOLDS_GROUP_OR_METER for a in actions):
        return
    for a in iter_flat_actions(actions):
        if isinstance(a, Group) and not group_exists(a.group_id):
            raise OFPError("OFPBAC_BAD_OUT_GROUP", f"group {a.group_id} does not exist")
        if isinstance(a, Meter):
            # No meter table: every meter reference is to a nonexistent meter.
            raise OFPError("OFPMMFC_INVALID_METER", f"meter {a.meter_id} does not exist")
