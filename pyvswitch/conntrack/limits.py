"""Per-zone connection limits (spec §11), as the userspace datapath keeps them.

A zone has an entry when it has an explicit limit or when a default limit was set and a
connection was committed in it; the entry counts the connections admitted while it
existed.  ``limit`` is the explicit value, or :data:`USE_DEFAULT`.  The effective limit
is the explicit value (an explicit 0 blocks every commit, as in OVS userspace) or the
default, where a default of 0 means unlimited.  Deleting an explicit limit while a
default exists keeps the entry (and its count) on the default; deleting the default
drops the entries that only existed for it.  A connection decrements the count of the
entry that admitted it, and only while that very entry still exists.

Layer: conntrack.  Imports: nothing.
"""

from __future__ import annotations

USE_DEFAULT = -1
MAX_ZONE = 0xFFFF


class ZoneLimit:
    """One zone's entry.  ``active`` goes False when the entry is removed."""

    __slots__ = ("zone", "limit", "count", "active")

    def __init__(self, zone: int, limit: int) -> None:
        self.zone = zone
        self.limit = limit
        self.count = 0
        self.active = True


class ZoneLimits:
    """The zone-limit table and the default limit."""

    def __init__(self) -> None:
        self.default = 0
        self._zones: dict[int, ZoneLimit] = {}

    # -- the packet path
    def admit(self, zone: int) -> tuple[bool, ZoneLimit | None]:
        """May a connection be committed in ``zone``?  Also the entry to charge it to."""
        zl = self._zones.get(zone)
        if zl is None:
            if not self.default:
                return True, None
            zl = self._zones[zone] = ZoneLimit(zone, USE_DEFAULT)
        limit = zl.limit
        if limit == USE_DEFAULT:
            limit = self.default or -1
        if limit >= 0 and zl.count >= limit:
            return False, zl
        return True, zl

    # -- the control path
    def set_default(self, limit: int) -> None:
        """Set the default limit; 0 deletes it."""
        if limit == 0:
            self.del_default()
        else:
            self.default = limit

    def del_default(self) -> None:
        self.default = 0
        for zone, zl in list(self._zones.items()):
            if zl.limit == USE_DEFAULT:
                zl.active = False
                del self._zones[zone]

    def set_zone(self, zone: int, limit: int) -> None:
        zl = self._zones.get(zone)
        if zl is None:
            self._zones[zone] = ZoneLimit(zone, limit)
        else:
            zl.limit = limit

    def del_zone(self, zone: int) -> bool:
        """Remove a zone's explicit limit; False if the zone had no entry."""
        zl = self._zones.get(zone)
        if zl is None:
            return False
        if self.default:
            zl.limit = USE_DEFAULT
        else:
            zl.active = False
            del self._zones[zone]
        return True

    def get(self, zone: int) -> tuple[bool, int, int]:
        """``(explicit, limit, count)`` of a zone, as ``ct-get-limits zone=Z`` shows it."""
        zl = self._zones.get(zone)
        if zl is None:
            return False, self.default, 0
        if zl.limit != USE_DEFAULT:
            return True, zl.limit, zl.count
        return False, self.default, zl.count

    def explicit_zones(self) -> list[int]:
        return sorted(z for z, zl in self._zones.items() if zl.limit != USE_DEFAULT)
