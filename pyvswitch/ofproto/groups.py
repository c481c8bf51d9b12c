"""The group table (OpenFlow 1.1+ groups: all, select, indirect, fast failover).

:class:`GroupTable` applies group_mods with OVS's checks and error names, keeps the
per-group and per-bucket counters translation credits, and remembers which rules refer
to each group -- ``ref_count`` in group stats, and the rules OpenFlow 1.3 deletes
together with their group (the owner, :class:`~pyvswitch.ofproto.ofproto.OFProto`,
removes them; this module only reports which).

A modified group is a new :class:`Group` object (keeping ``created`` and the referring
rules, restarting the counters, as OVS does), so translation never sees a group change
under its feet.

Bucket weights: ovs-ofctl gives non-select buckets weight 0 and select buckets weight 1
unless told otherwise; our ``Bucket`` defaults to 1, so a weight of 1 on a non-select
group is taken as "unset" and only larger weights are refused.

Layer: ofproto.  Imports: flow, errors, types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyvswitch.errors import OFPError
from pyvswitch.flow.flowmod import GroupMod, GroupModCommand
from pyvswitch.flow.ofpacts import Bucket, GroupType
from pyvswitch.types import OFPG_ALL, OFPG_ANY, OFPG_MAX, OFPP_ANY

OFPG15_BUCKET_MAX = 0xFFFFFF00
OFPG15_BUCKET_FIRST = 0xFFFFFFFD
OFPG15_BUCKET_LAST = 0xFFFFFFFE
OFPG15_BUCKET_ALL = 0xFFFFFFFF

_NO_WATCH_PORTS = (OFPP_ANY, 0xFFFFFFFF)


def bucket_has_liveness(b: Bucket) -> bool:
    return b.watch_port not in _NO_WATCH_PORTS or b.watch_group != OFPG_ANY


@dataclass(eq=False, slots=True)
class Group:
    group_id: int
    type: GroupType
    buckets: tuple[Bucket, ...]
    selection_method: str = ""
    created: float = 0.0
    modified: float = 0.0
    n_packets: int = 0
    n_bytes: int = 0
    bucket_packets: list[int] = field(default_factory=list)
    bucket_bytes: list[int] = field(default_factory=list)
    #: rules whose actions refer to this group, by id()
    rules: dict[int, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.bucket_packets:
            self.bucket_packets = [0] * len(self.buckets)
            self.bucket_bytes = [0] * len(self.buckets)

    @property
    def ref_count(self) -> int:
        return len(self.rules)

    def credit(self, n_packets: int, n_bytes: int, bucket: int | None = None) -> None:
        """Account packets that went through the group (and through ``bucket``, the
        index of the bucket used, when one was)."""
        self.n_packets += n_packets
        self.n_bytes += n_bytes
        if bucket is not None and 0 <= bucket < len(self.buckets):
            self.bucket_packets[bucket] += n_packets
            self.bucket_bytes[bucket] += n_bytes


@dataclass(frozen=True, slots=True)
class GroupStats:
    """One group's ``dump-group-stats`` entry."""

    group_id: int
    duration: float
    ref_count: int
    packet_count: int
    byte_count: int
    bucket_stats: tuple[tuple[int, int], ...]


def check_group_mod(gm: GroupMod) -> None:
    """OVS ``ofputil_check_group_mod`` plus ``init_group``'s id check."""
    if not isinstance(gm.type, GroupType):
        raise OFPError("OFPGMFC_BAD_TYPE", f"unknown group type {gm.type!r}")
    cmd = gm.command
    if cmd in (GroupModCommand.ADD, GroupModCommand.MODIFY, GroupModCommand.ADD_OR_MOD,
               GroupModCommand.INSERT_BUCKET, GroupModCommand.REMOVE_BUCKET) \
            and gm.group_id > OFPG_MAX:
        raise OFPError("OFPGMFC_INVALID_GROUP", f"invalid group id {gm.group_id}")
    if gm.type is GroupType.INDIRECT and cmd is not GroupModCommand.DELETE \
            and cmd is not GroupModCommand.REMOVE_BUCKET and len(gm.buckets) != 1:
        raise OFPError("OFPGMFC_INVALID_GROUP", "indirect groups must have exactly one bucket")
    if cmd is GroupModCommand.REMOVE_BUCKET and gm.buckets:
        raise OFPError("OFPGMFC_BAD_BUCKET", "remove_bucket carries no buckets")
    for b in gm.buckets:
        if b.weight > 1 and gm.type is not GroupType.SELECT \
                and cmd is not GroupModCommand.INSERT_BUCKET:
            raise OFPError("OFPGMFC_INVALID_GROUP", "only select groups have bucket weights")
        live = bucket_has_liveness(b)
        if gm.type in (GroupType.ALL, GroupType.INDIRECT) and live:
            raise OFPError("OFPGMFC_WATCH_UNSUPPORTED",
                           "watch_port/watch_group only apply to fast failover groups")
        if gm.type is GroupType.FF and not live:
            raise OFPError("OFPGMFC_INVALID_GROUP",
                           "fast failover bucket requires watch_port or watch_group")


class GroupTable:
    """Groups by id, with OpenFlow group_mod semantics."""

    def __init__(self) -> None:
        self.groups: dict[int, Group] = {}

    def __contains__(self, group_id: object) -> bool:
        return group_id in self.groups

    def __len__(self) -> int:
        return len(self.groups)

    def __iter__(self):
        return iter(sorted(self.groups.values(), key=lambda g: g.group_id))

    def get(self, group_id: int) -> Group | None:
        return self.groups.get(group_id)

    def apply(self, gm: GroupMod, now: float) -> list[Group]:
        """Apply ``gm``; returns the deleted groups (whose ``rules`` the caller must
        delete).  Raises OFPError, leaving the table unchanged, on refusal."""
        check_group_mod(gm)
        cmd = gm.command
        if cmd is GroupModCommand.ADD:
            self._add(gm, now)
            return []
        if cmd is GroupModCommand.ADD_OR_MOD:
            if gm.group_id in self.groups:
                self._modify(gm, now)
            else:
                self._add(gm, now)
            return []
        if cmd in (GroupModCommand.MODIFY, GroupModCommand.INSERT_BUCKET,
                   GroupModCommand.REMOVE_BUCKET):
            self._modify(gm, now)
            return []
        if cmd is GroupModCommand.DELETE:
            if gm.group_id == OFPG_ALL:
                gone = list(self)
                self.groups.clear()
                return gone
            g = self.groups.pop(gm.group_id, None)
            return [g] if g is not None else []
        raise OFPError("OFPGMFC_BAD_COMMAND", f"unknown group_mod command {cmd!r}")

    def _add(self, gm: GroupMod, now: float) -> None:
        if gm.group_id in self.groups:
            raise OFPError("OFPGMFC_GROUP_EXISTS", f"group {gm.group_id} already exists")
        self.groups[gm.group_id] = Group(gm.group_id, gm.type, tuple(gm.buckets),
                                         gm.selection_method, created=now, modified=now)

    def _modify(self, gm: GroupMod, now: float) -> None:
        old = self.groups.get(gm.group_id)
        if old is None:
            raise OFPError("OFPGMFC_UNKNOWN_GROUP", f"group {gm.group_id} does not exist")
        gtype = gm.type
        method = gm.selection_method
        buckets = tuple(gm.buckets)
        if gm.command in (GroupModCommand.INSERT_BUCKET, GroupModCommand.REMOVE_BUCKET):
            # Bucket commands never change the group's type or properties.
            gtype = old.type
            method = old.selection_method
            where = getattr(gm, "command_bucket_id", OFPG15_BUCKET_LAST
                            if gm.command is GroupModCommand.INSERT_BUCKET
                            else OFPG15_BUCKET_ALL)
            if gm.command is GroupModCommand.INSERT_BUCKET:
                buckets = _insert_buckets(old.buckets, buckets, where)
            else:
                buckets = _remove_buckets(old.buckets, where)
        new = Group(gm.group_id, gtype, buckets, method, created=old.created, modified=now)
        new.rules = old.rules
        self.groups[gm.group_id] = new

    # -- rule references ----------------------------------------------------------
    def add_rule_refs(self, rule: Any) -> None:
        for gid in rule.group_ids:
            g = self.groups.get(gid)
            if g is not None:
                g.rules[id(rule)] = rule

    def remove_rule_refs(self, rule: Any) -> None:
        for gid in rule.group_ids:
            g = self.groups.get(gid)
            if g is not None:
                g.rules.pop(id(rule), None)

    # -- statistics -----------------------------------------------------------------
    def stats(self, group_id: int, now: float) -> list[GroupStats]:
        """Stats of one group, or of all (``OFPG_ALL``), by group id."""
        if group_id == OFPG_ALL:
            groups = list(self)
        else:
            g = self.groups.get(group_id)
            groups = [g] if g is not None else []
        return [GroupStats(g.group_id, max(0.0, now - g.created), g.ref_count, g.n_packets,
                           g.n_bytes, tuple(zip(g.bucket_packets, g.bucket_bytes)))
                for g in groups]


def _bucket_index(buckets: tuple[Bucket, ...], bucket_id: int) -> int:
    for i, b in enumerate(buckets):
        if b.bucket_id == bucket_id:
            return i
    raise OFPError("OFPGMFC_UNKNOWN_BUCKET", f"no bucket with id {bucket_id}")


def _insert_buckets(old: tuple[Bucket, ...], new: tuple[Bucket, ...],
                    where: int) -> tuple[Bucket, ...]:
    if where == OFPG15_BUCKET_FIRST:
        out = new + old
    elif where in (OFPG15_BUCKET_LAST, OFPG15_BUCKET_ALL):
        out = old + new
    else:
        i = _bucket_index(old, where)
        out = old[:i + 1] + new + old[i + 1:]
    ids = [b.bucket_id for b in out]
    if len(set(ids)) != len(ids) and any(b.bucket_id for b in out):
        raise OFPError("OFPGMFC_BUCKET_EXISTS", "duplicate bucket id")
    return out


def _remove_buckets(old: tuple[Bucket, ...], where: int) -> tuple[Bucket, ...]:
    if where == OFPG15_BUCKET_ALL:
        return ()
    if not old:
        return old
    if where == OFPG15_BUCKET_FIRST:
        return old[1:]
    if where == OFPG15_BUCKET_LAST:
        return old[:-1]
    i = _bucket_index(old, where)
    return old[:i] + old[i + 1:]
