"""ALG expectations: the keys of data connections a control connection announced (§8.2).

An expectation is the key of a future data connection with the source port wildcarded
(stored as 0), plus what the data connection inherits: the control ("parent")
connection's FWD key, a snapshot of its mark and label, and a NAT hint (the address to
put in the data connection's REV key, and whether it replaces the destination -- making
the data connection SNAT -- or the source -- DNAT).  Expectations are not consumed by a
match; they live until their parent connection is removed.

Layer: conntrack.  Imports: conntrack.conn.
"""

from __future__ import annotations

from pyvswitch.conntrack.conn import (
    K_DST,
    K_SRC,
    NAT_DST,
    Conn,
)


class Expectation:
    """One expected data connection."""

    __slots__ = ("key", "parent", "repl_addr", "nat_rpl_dst", "mark", "label")

    def __init__(self, key: tuple[int, ...], parent: tuple[int, ...], repl_addr: int,
                 nat_rpl_dst: bool, mark: int, label: int) -> None:
        self.key = key
        self.parent = parent
        self.repl_addr = repl_addr
        self.nat_rpl_dst = nat_rpl_dst
        self.mark = mark
        self.label = label


class Expectations:
    """The expectation table, indexed by wildcarded key and by parent FWD key."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[int, ...], Expectation] = {}
        self._by_parent: dict[tuple[int, ...], list[Expectation]] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def __bool__(self) -> bool:
        return bool(self._by_key)

    def lookup(self, key: tuple[int, ...]) -> Expectation | None:
        """The expectation a new connection with ``key`` fulfils (any source port)."""
        if not self._by_key:
            return None
        return self._by_key.get((key[0], key[1], key[2], 0, key[4], key[5]))

    def create(self, dst_port: int, parent: Conn, reply: bool) -> None:
        """Expect a data connection to ``dst_port``, announced by a packet of ``parent``.

        An announcement travelling in the orig direction (FTP PORT/EPRT, a TFTP request)
        means the server connects back to the client as the server sees it; one in the
        reply direction (227/229) means the client connects to the server it dialled.
        The NAT hint undoes the parent's translation for the data connection.
        """
        pk = parent.fwd
        prk = parent.rev
        if reply:
            src, dst = pk[K_SRC], pk[K_DST]
            if parent.nat & NAT_DST:
                repl, rpl_dst = prk[K_SRC], False
            else:
                repl, rpl_dst = prk[K_DST], True
        else:
            src, dst = prk[K_SRC], prk[K_DST]
            if parent.nat & NAT_DST:
                repl, rpl_dst = pk[K_DST], True
            else:
                repl, rpl_dst = pk[K_SRC], False
        key = (pk[0], pk[1], src, 0, dst, dst_port)
        if key in self._by_key:
            return
        exp = Expectation(key, pk, repl, rpl_dst, parent.mark, parent.label)
        self._by_key[key] = exp
        self._by_parent.setdefault(pk, []).append(exp)

    def clean(self, parent_key: tuple[int, ...]) -> None:
        """Forget every expectation the connection with FWD key ``parent_key`` created."""
        for exp in self._by_parent.pop(parent_key, ()):
            if self._by_key.get(exp.key) is exp:
                del self._by_key[exp.key]

    def dump(self, zone: int | None = None) -> list[Expectation]:
        return [e for e in self._by_key.values() if zone is None or e.key[0] == zone]

    def clear(self) -> None:
        self._by_key.clear()
        self._by_parent.clear()
