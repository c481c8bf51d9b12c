"""Keeping cached megaflows honest: statistics push and revalidation (OVS revalidators).

:func:`push_stats` credits what each megaflow forwarded since the last push to the rules
and group buckets it was built from, and refreshes the age of the MAC entries NORMAL
learned for it, so ``dump-flows`` counters and idle timeouts see every packet.

:func:`revalidate` runs after anything that could change forwarding (flow, group, port
or MAC table changes): each megaflow's example key is translated again, without side
effects; a megaflow whose new mask needs bits the cached one does not match is deleted,
one whose actions changed gets the new actions, the rest stay.  When only the MAC table
changed, only megaflows that went through NORMAL are looked at.

Layer: ofproto_dpif.  Imports: dpif (snapshots), ofproto_dpif.upcall.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvswitch import coverage
from pyvswitch.ofproto_dpif.upcall import MegaflowOwner, credit, dp_mask, translate_key

if TYPE_CHECKING:
    from pyvswitch.ofproto_dpif.switch import Switch


def _push_one(switch: Switch, f: Any) -> None:
    owner = f.owner
    if not isinstance(owner, MegaflowOwner):
        return
    dpk = f.n_packets - owner.n_packets
    if dpk <= 0:
        return
    dbytes = f.n_bytes - owner.n_bytes
    owner.n_packets = f.n_packets
    owner.n_bytes = f.n_bytes
    bridge = switch.bridges.get(owner.bridge)
    credit(owner, dpk, dbytes, f.used, bridge.ofproto if bridge is not None else None)
    if owner.normal:
        if bridge is not None:
            ml = bridge.ml
            for ofport, mac, vlan in owner.normal:
                # refresh the entry's age, never move it back to an old port
                if ml.lookup(vlan, mac, f.used) == ofport:
                    ml.learn(vlan, mac, ofport, f.used)


def push_stats(switch: Switch) -> None:
    for f in switch.datapath.flow_dump():
        _push_one(switch, f)


def revalidate(switch: Switch) -> int:
    """Bring every megaflow in line with the current tables; returns how many changed."""
    full = switch.need_revalidate
    switch.need_revalidate = False
    switch.need_revalidate_mac = False
    now = switch.now
    changed = 0

    def check(f: Any) -> object:
        nonlocal changed
        _push_one(switch, f)
        owner = f.owner
        if not isinstance(owner, MegaflowOwner):
            changed += 1
            return "delete"
        if not full and not owner.normal:
            return "keep"
        bridge = switch.bridges.get(owner.bridge)
        xout = None if bridge is None else translate_key(bridge, f.key, now)
        if xout is None or xout.avoid_caching:
            changed += 1
            return "delete"
        new_mask = dp_mask(xout.wc)
        for n, o in zip(new_mask, f.mask):
            if n & ~o:
                changed += 1
                return "delete"
        owner.rules = xout.rules
        owner.groups = xout.groups
        owner.normal = xout.normal
        owner.recircs = xout.recircs
        owner.tables = xout.tables
        if tuple(xout.actions) != tuple(f.actions):
            changed += 1
            return xout.actions
        return "keep"

    for f in switch.datapath.revalidate(check):
        _push_one(switch, f)
    if changed:
        coverage.inc("revalidate_changed", changed)
    return changed
