"""The MAC learning table behind the NORMAL action (OVS ``lib/mac-learning.c``).

Entries map (VLAN, MAC) to the port the address was last seen on.  Times are whole
seconds, as OVS's ``time_now()``: an entry learned at ``t`` expires at
``t + max_age``, and its age is how long ago it was (re)learned.  Relearning on the same
port refreshes an entry only once it is at least a second old; relearning on another
port moves it (a "move" is also a change).  Entries live in least-recently-learned
order, which is the order ``fdb/show`` prints.  When the table is full, the least
recently learned entry of the port with the most entries goes first, so one busy port
cannot push the others out.

``generation`` counts changes that can alter forwarding decisions (new or moved
entries, removals), so the translation layer can tell when megaflows built from MAC
lookups need revalidation.

Layer: ofproto.  Imports: types.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from pyvswitch.types import RESERVED_PORT_NAMES

MAC_ENTRY_DEFAULT_IDLE_TIME = 300
MAC_DEFAULT_MAX = 8192
_STATIC = -1


def _is_multicast(mac: int) -> bool:
    return bool((mac >> 40) & 1)


def _normalize_idle_time(idle: int) -> int:
    return 15 if idle < 15 else 3600 if idle > 3600 else idle


def format_mac(mac: int) -> str:
    return ":".join(f"{(mac >> s) & 0xFF:02x}" for s in range(40, -8, -8))


@dataclass(slots=True)
class MacEntry:
    vlan: int
    mac: int
    port: int
    #: whole second at which the entry expires; -1 for a static entry
    expires: int

    @property
    def is_static(self) -> bool:
        return self.expires == _STATIC


class MacLearning:
    """A MAC learning table.  See the module docstring."""

    def __init__(self, max_age: int = MAC_ENTRY_DEFAULT_IDLE_TIME,
                 max_entries: int = MAC_DEFAULT_MAX) -> None:
        self.idle_time = _normalize_idle_time(max_age)
        self.max_entries = max_entries
        self._table: OrderedDict[tuple[int, int], MacEntry] = OrderedDict()
        self.generation = 0
        self._now = 0
        self.n_learned = 0
        self.n_expired = 0
        self.n_evicted = 0
        self.n_moved = 0

    def __len__(self) -> int:
        return len(self._table)

    def set_max_age(self, max_age: int) -> None:
        """Change the idle time; live entries keep their age."""
        idle = _normalize_idle_time(max_age)
        if idle != self.idle_time:
            for e in self._table.values():
                if not e.is_static:
                    e.expires += idle - self.idle_time
            self.idle_time = idle
            self.generation += 1

    def _tick(self, now: float) -> int:
        t = int(now)
        if t > self._now:
            self._now = t
        return t

    # -- learning ---------------------------------------------------------------------
    def learn(self, vlan: int, mac: int, port: int, now: float) -> bool:
        """A packet from ``mac`` in ``vlan`` arrived on ``port``.  True when the table
        changed in a way forwarding can see (a new entry or a move)."""
        if _is_multicast(mac):
            return False
        t = self._tick(now)
        key = (vlan, mac)
        e = self._table.get(key)
        if e is not None and not e.is_static and t >= e.expires:
            self._remove(key)  # expired but not yet swept: a fresh entry
            e = None
        if e is None:
            if len(self._table) >= self.max_entries:
                self._evict_fairly()
            self._table[key] = MacEntry(vlan, mac, port, t + self.idle_time)
            self.n_learned += 1
            self.generation += 1
            return True
        if e.is_static:
            return False
        age = self.idle_time - (e.expires - t)
        if age <= 0 and e.port == port:
            return False
        self._table.move_to_end(key)
        e.expires = t + self.idle_time
        if e.port != port:
            e.port = port
            self.n_moved += 1
            self.generation += 1
            return True
        return False

    def add_static(self, vlan: int, mac: int, port: int) -> None:
        """A static entry: never ages, never moves by learning."""
        key = (vlan, mac)
        e = self._table.get(key)
        if e is None and len(self._table) >= self.max_entries:
            self._evict_fairly()
        self._table[key] = MacEntry(vlan, mac, port, _STATIC)
        self._table.move_to_end(key)
        self.generation += 1

    def del_static(self, vlan: int, mac: int) -> bool:
        e = self._table.get((vlan, mac))
        if e is None or not e.is_static:
            return False
        self._remove((vlan, mac))
        return True

    def lookup(self, vlan: int, mac: int, now: float) -> int | None:
        """The port ``mac`` was learned on in ``vlan``, or None (unknown, expired, or a
        multicast address)."""
        if _is_multicast(mac):
            return None
        e = self._table.get((vlan, mac))
        if e is None:
            return None
        if not e.is_static and self._tick(now) >= e.expires:
            return None
        return e.port

    # -- removal ----------------------------------------------------------------------
    def _remove(self, key: tuple[int, int]) -> None:
        del self._table[key]
        self.generation += 1

    def _evict_fairly(self) -> None:
        counts: dict[int, int] = {}
        for e in self._table.values():
            if not e.is_static:
                counts[e.port] = counts.get(e.port, 0) + 1
        if not counts:
            return
        busiest = max(counts, key=lambda p: counts[p])
        for key, e in self._table.items():
            if e.port == busiest and not e.is_static:
                self._remove(key)
                self.n_evicted += 1
                return

    def expire(self, now: float) -> int:
        """Drop the entries whose time is up (and the least recently learned ones while
        the table is over its size); returns how many went."""
        t = self._tick(now)
        doomed = [k for k, e in self._table.items() if not e.is_static and t >= e.expires]
        for k in doomed:
            self._remove(k)
        n = len(doomed)
        while len(self._table) > self.max_entries:
            for k, e in self._table.items():
                if not e.is_static:
                    self._remove(k)
                    n += 1
                    break
            else:
                break
        self.n_expired += n
        return n

    def flush(self) -> None:
        """Forget every learned (non-static) entry (``fdb/flush``)."""
        for k in [k for k, e in self._table.items() if not e.is_static]:
            self._remove(k)

    def flush_port(self, port: int) -> None:
        """Forget what was learned on ``port`` (it went away or changed VLANs)."""
        for k in [k for k, e in self._table.items() if e.port == port and not e.is_static]:
            self._remove(k)

    def flush_vlan(self, vlan: int) -> None:
        for k in [k for k, e in self._table.items() if e.vlan == vlan and not e.is_static]:
            self._remove(k)

    # -- display ----------------------------------------------------------------------
    def entries(self) -> list[MacEntry]:
        """Entries, least recently learned first."""
        return list(self._table.values())

    def age(self, entry: MacEntry, now: float | None = None) -> int | None:
        """Seconds since ``entry`` was (re)learned; None for a static entry."""
        if entry.is_static:
            return None
        t = int(now) if now is not None else self._now
        return self.idle_time - (entry.expires - t)

    def format_fdb_show(self, port_names: Mapping[int, str] | None = None,
                        now: float | None = None) -> str:
        """The text of ``ovs-appctl fdb/show BRIDGE``.  OVS 3.1 prints port numbers
        (reserved ports by name); pass ``port_names`` to print names instead.  Without
        ``now``, ages are as of the latest time the table was given."""
        lines = [" port  VLAN  MAC                Age\n"]
        for e in self._table.values():
            if port_names is not None and e.port in port_names:
                name = port_names[e.port]
            else:
                name = RESERVED_PORT_NAMES.get(e.port, str(e.port))
            age = self.age(e, now)
            age_text = "static" if age is None else f"{age:3d}"
            lines.append(f"{name:>5}  {e.vlan:4d}  {format_mac(e.mac)}  {age_text}\n")
        return "".join(lines)
