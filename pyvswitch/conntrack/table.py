"""The connection table and its housekeeping: storage, removal, expiry, timeout policies.

One dict maps both keys of every connection (the zone is part of the key) to its
:class:`~.conn.Conn`.  Two live connections can claim one tuple (a reply-direction packet
that missed a NAT'ed connection starts a connection whose REV key is the other's FWD
key); the newer one gets the key, as OVS's lookup finds the newer first, and the older
is remembered as *shadowed* so that it gets the key back when the newer is removed.

A connection whose absolute expiry time has passed is invisible at once (lookups and
dumps compare ``now`` with it) but stays in the dict, and in the count
``ct-get-nconns`` shows, until :meth:`ConnTable.sweep` reclaims it: the sweeper walks 100
round-robin lists of connections with a per-round budget of maxconns/64 entries, as
OVS's cleaner does, so no packet ever pays for a scan.  Removal also releases the
connection's zone-limit count and the expectations it created.

Layer: conntrack.  Imports: conntrack.conn, conntrack.expect, conntrack.ipf,
conntrack.limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from random import Random

from pyvswitch.conntrack.conn import DEFAULT_POLICY, RECLAIMED, Conn, TimeoutPolicy
from pyvswitch.conntrack.expect import Expectations
from pyvswitch.conntrack.ipf import Ipf
from pyvswitch.conntrack.limits import ZoneLimits

#: expiry of a connection killed by a packet (force commit, TCP port reuse): never live
FORCE_EXPIRED = -1e18
N_EXP_LISTS = 100
DEFAULT_MAXCONNS = 3_000_000
#: seconds between sweeps of the whole table, and the pause when a round ran out of budget
DEFAULT_SWEEP_INTERVAL = 20.0
MIN_SWEEP_INTERVAL = 0.2


class ConnTable:
    """Connection storage and housekeeping, the base of the tracker."""

    def __init__(self, *, hash_basis: int | None = None, seed: int | None = None) -> None:
        self._rng = Random(seed)
        #: per-instance salt of the NAT hash; never 0 (0 means "persistent")
        self.hash_basis = hash_basis if hash_basis else (self._rng.getrandbits(32) | 1)
        self._conns: dict[tuple[int, ...], Conn] = {}
        #: the packet being tracked has an offloaded (partial) L4 checksum
        self._partial = False
        #: key -> connections it was taken from by a newer one, oldest first
        self._shadowed: dict[tuple[int, ...], list[Conn]] = {}
        self._lists: list[list[Conn]] = [[] for _ in range(N_EXP_LISTS)]
        self._next_list = 0
        self._next_sweep = 0
        self._next_sweep_time: float | None = None
        self.n_conns = 0
        self.maxconns = DEFAULT_MAXCONNS
        self.tcp_seq_chk = True
        self.sweep_interval = DEFAULT_SWEEP_INTERVAL
        self.limits = ZoneLimits()
        self.exps = Expectations()
        self.ipf = Ipf()
        self._policies: dict[str, TimeoutPolicy] = {}
        self._zone_policies: dict[int, TimeoutPolicy] = {}

    def _live(self, key: tuple[int, ...], now: float) -> bool:
        conn = self._conns.get(key)
        return conn is not None and now < conn.exp

    def _insert(self, conn: Conn, now: float) -> None:
        """Make a new connection visible under both keys and count it."""
        conns = self._conns
        for k in (conn.fwd, conn.rev):
            old = conns.get(k)
            if old is not None and now < old.exp and old is not conn:
                self._shadowed.setdefault(k, []).append(old)
            conns[k] = conn
        self._lists[self._next_list].append(conn)
        self._next_list = (self._next_list + 1) % N_EXP_LISTS
        self.n_conns += 1
        zl = conn.zl
        if zl is not None:
            zl.count += 1  # type: ignore[attr-defined]

    def _clean(self, conn: Conn) -> None:
        """Remove a connection from the table now (its list entry goes at the next sweep)."""
        if conn.exp == RECLAIMED:
            return
        if conn.alg is not None and conn.alg.helper:
            self.exps.clean(conn.fwd)
        conns = self._conns
        for k in (conn.fwd, conn.rev):
            if conns.get(k) is conn:
                del conns[k]
                if self._shadowed:
                    self._unshadow(k)
        zl = conn.zl
        if zl is not None and zl.active:  # type: ignore[attr-defined]
            zl.count -= 1  # type: ignore[attr-defined]
        conn.exp = RECLAIMED
        self.n_conns -= 1

    def _unshadow(self, key: tuple[int, ...]) -> None:
        """Give ``key`` back to the newest connection it was taken from, if any is left."""
        stack = self._shadowed.get(key)
        if stack is None:
            return
        while stack:
            conn = stack.pop()
            if conn.exp != RECLAIMED:
                self._conns[key] = conn
                break
        if not stack:
            del self._shadowed[key]

    def shadowed(self) -> list[Conn]:
        """Connections that lost a key to a newer one (each once, not yet removed)."""
        seen: dict[int, Conn] = {}
        for stack in self._shadowed.values():
            for conn in stack:
                if conn.exp != RECLAIMED:
                    seen.setdefault(id(conn), conn)
        return list(seen.values())

    def sweep(self, now: float) -> float:
        """Reclaim expired connections, within a budget; returns when to sweep next.

        Walks the round-robin lists from where the last round stopped; a round stops
        after more than maxconns/64 entries, and the next one is then due soon.
        """
        budget = self.maxconns // 64
        count = 0
        next_wake = now + self.sweep_interval
        i = self._next_sweep
        lists = self._lists
        while i < N_EXP_LISTS:
            if count > budget:
                next_wake = now + MIN_SWEEP_INTERVAL
                break
            lst = lists[i]
            keep = []
            for c in lst:
                if now < c.exp:
                    keep.append(c)
                elif c.exp != RECLAIMED:
                    self._clean(c)
            count += len(lst)
            lists[i] = keep
            i += 1
        self._next_sweep = i if i < N_EXP_LISTS else 0
        return next_wake

    def run(self, now: float) -> None:
        """Periodic housekeeping: the sweeper and the fragment cleaner, when due."""
        if self._next_sweep_time is None or now >= self._next_sweep_time:
            self._next_sweep_time = self.sweep(now)
        if self.ipf.nfrag:
            # Held fragments also expire here: the fast path skips this per-pass check.
            self.ipf.expire(now)
        self.ipf.purge(now)

    def next_deadline(self) -> float | None:
        """When :meth:`run` next has work to do (None: at the first call)."""
        return self._next_sweep_time

    # ------------------------------------------------------------------ timeout policies
    def _policy_for(self, zone: int, name: str) -> TimeoutPolicy:
        if name:
            return self._named_policy(name)
        return self._zone_policies.get(zone, DEFAULT_POLICY)

    def _named_policy(self, name: str) -> TimeoutPolicy:
        tp = self._policies.get(name)
        if tp is None:
            tp = self._policies[name] = TimeoutPolicy(name)
        return tp

    def set_timeout_policy(self, name: str, values: Mapping[str, int]) -> None:
        """Create or replace the named policy (missing keys take the defaults)."""
        tp = TimeoutPolicy(name)
        tp.update(values)  # validate before touching the live object
        live = self._named_policy(name)
        live.t[:] = tp.t
        live.present = tp.present

    def del_timeout_policy(self, name: str) -> None:
        """Forget a named policy: connections using it fall back to the defaults."""
        tp = self._policies.get(name)
        if tp is not None:
            tp.reset()

    def set_zone_timeout_policy(self, zone: int, values: Mapping[str, int]) -> None:
        """``add-zone-tp``: the policy given to connections committed in ``zone``."""
        name = f"zone{zone}"
        self.set_timeout_policy(name, values)
        self._zone_policies[zone] = self._policies[name]

    def del_zone_timeout_policy(self, zone: int) -> None:
        """``del-zone-tp``: new and existing connections of the zone use the defaults."""
        tp = self._zone_policies.pop(zone, None)
        if tp is not None:
            tp.reset()

    def get_zone_timeout_policy(self, zone: int) -> dict[str, int]:
        tp = self._zone_policies.get(zone)
        return tp.values() if tp is not None else {}
