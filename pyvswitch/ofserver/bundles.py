"""Bundles: messages collected on one connection and committed all-or-nothing.

A controller opens a bundle (OpenFlow 1.4 BUNDLE_CONTROL, or the ONF extension in 1.3),
adds flow_mods, group_mods, port_mods and packet_outs to it (each is decoded and
checked when it is added, so a malformed one is refused at once, with its own xid),
then commits or discards it.  The rules follow OVS ``ofproto/bundles.c``: opening an id
that exists discards the old bundle and fails; a message added to an id that is not
open creates the bundle; adding to a closed bundle, or with different flags, discards
it; commit and discard remove the bundle whatever happens.

Atomic commit: :class:`TableSnapshot` records every rule's state and the group table
before the first change, and puts them back if any change fails, so a failed bundle
leaves the flow table exactly as it was.  (OVS does this with versioned classifiers;
our loop is single-threaded, so no packet can see a half-applied bundle either way.)

Layer: ofserver.  Imports: errors, openflow.consts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from pyvswitch.errors import OFPError

#: rule attributes a flow_mod may change in place
_RULE_STATE = ("actions", "cookie", "idle_timeout", "hard_timeout", "importance", "flags",
               "created", "modified", "used", "n_packets", "n_bytes")


class BundleEntry(NamedTuple):
    """One message of a bundle: its decoded value, the inner message's xid and the
    bundle-add message's bytes (errors during commit refer to them).

    A flow_mod is kept as its bytes (``inner``) with ``msg`` None, and decoded again
    when the bundle is committed (a template hit): a tuple of bytes and ints is all a
    100,000-flow bundle then holds per flow, and the garbage collector stops walking
    it."""

    msg: object
    xid: int
    raw: bytes
    inner: bytes = b""


@dataclass(slots=True)
class Bundle:
    bundle_id: int
    flags: int
    closed: bool = False
    entries: list[BundleEntry] = field(default_factory=list)


class Bundles:
    """The bundles of one connection."""

    __slots__ = ("_bundles",)

    def __init__(self) -> None:
        self._bundles: dict[int, Bundle] = {}

    def __len__(self) -> int:
        return len(self._bundles)

    def open(self, bundle_id: int, flags: int) -> None:
        if bundle_id in self._bundles:
            del self._bundles[bundle_id]
            raise OFPError("OFPBFC_BAD_ID", f"bundle {bundle_id:#x} already exists")
        self._bundles[bundle_id] = Bundle(bundle_id, flags)

    def close(self, bundle_id: int, flags: int) -> None:
        b = self._bundles.get(bundle_id)
        if b is None:
            raise OFPError("OFPBFC_BAD_ID", f"no bundle {bundle_id:#x}")
        if b.closed:
            del self._bundles[bundle_id]
            raise OFPError("OFPBFC_BUNDLE_CLOSED", f"bundle {bundle_id:#x} is closed")
        if b.flags != flags:
            del self._bundles[bundle_id]
            raise OFPError("OFPBFC_BAD_FLAGS", f"bundle {bundle_id:#x} has other flags")
        b.closed = True

    def discard(self, bundle_id: int) -> None:
        if self._bundles.pop(bundle_id, None) is None:
            raise OFPError("OFPBFC_BAD_ID", f"no bundle {bundle_id:#x}")

    def add(self, bundle_id: int, flags: int, entry: BundleEntry) -> None:
        b = self._bundles.get(bundle_id)
        if b is None:
            b = self._bundles[bundle_id] = Bundle(bundle_id, flags)
        elif b.closed:
            del self._bundles[bundle_id]
            raise OFPError("OFPBFC_BUNDLE_CLOSED", f"bundle {bundle_id:#x} is closed")
        elif b.flags != flags:
            del self._bundles[bundle_id]
            raise OFPError("OFPBFC_BAD_FLAGS", f"bundle {bundle_id:#x} has other flags")
        b.entries.append(entry)

    def take(self, bundle_id: int, flags: int) -> Bundle:
        """Remove the bundle for committing it (it is gone whatever the outcome)."""
        b = self._bundles.pop(bundle_id, None)
        if b is None:
            raise OFPError("OFPBFC_BAD_ID", f"no bundle {bundle_id:#x}")
        if b.flags != flags:
            raise OFPError("OFPBFC_BAD_FLAGS", f"bundle {bundle_id:#x} has other flags")
        return b


class TableSnapshot:
    """Every rule of an ``OFProto`` and its group table, restorable in one step."""

    __slots__ = ("ofproto", "rules", "groups", "group_rules")

    def __init__(self, ofproto: Any) -> None:
        self.ofproto = ofproto
        self.rules = [(r, tuple(getattr(r, a) for a in _RULE_STATE))
                      for t in ofproto.tables for r in t.cls]
        gt = ofproto.groups
        self.groups = dict(gt.groups)
        self.group_rules = {gid: dict(g.rules) for gid, g in gt.groups.items()}

    def restore(self) -> None:
        """Put the tables and groups back as they were when the snapshot was taken."""
        ofp = self.ofproto
        for t in ofp.tables:
            for r in list(t.cls):
                ofp.unlink_rule(r)
                t.cls.remove(r)
        gt = ofp.groups
        gt.groups.clear()
        gt.groups.update(self.groups)
        for gid, g in gt.groups.items():
            g.rules.clear()
            g.rules.update(self.group_rules.get(gid, {}))
        for r, state in self.rules:
            for name, value in zip(_RULE_STATE, state):
                setattr(r, name, value)
            ofp.insert_rule(r)
        ofp.generation += 1


__all__ = ["Bundle", "BundleEntry", "Bundles", "TableSnapshot"]
