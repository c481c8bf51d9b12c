"""The userspace datapath (OVS ``dpif-netdev``): ports, caches, upcalls, execution.

:class:`Datapath` knows nothing of OpenFlow.  ``process(in_port, packets, now)`` runs a
batch through the exact-match caches, the megaflow classifier and, on a miss, the
registered upcall callback (the packet path is :mod:`pyvswitch.dpif.fastpath`); this
module holds the facade: ports, megaflow installation and deletion, revalidation,
statistics and dumps.

Statistics follow dpif-netdev: ``lookups: hit`` counts every pass served from a cache,
``missed`` every pass that went up as a miss, ``lost`` the misses the slow path failed to
answer; a megaflow's counters cover the packets it served, not the packet whose miss
created it (the slow path accounts for that one).

Layer: dpif.  Imports: flow, dpif.cache/execute/fastpath/provider/dump, coverage.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pyvswitch import coverage
from pyvswitch.dpif import dump
from pyvswitch.dpif.cache import Megaflow, PortClassifier, normalize_mask
from pyvswitch.dpif.execute import ExecContext, run_actions
from pyvswitch.dpif.fastpath import (
    EMC_ENTRIES,
    EMC_INSERT_INV_PROB,
    MAX_RECIRC_DEPTH,
    PacketPath,
)
from pyvswitch.dpif.provider import UpcallCallback, UpcallResult
from pyvswitch.errors import DpifError
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import extract_headers

__all__ = ["EMC_ENTRIES", "EMC_INSERT_INV_PROB", "MAX_RECIRC_DEPTH", "Datapath", "DpFlow",
           "DpPort"]

#: netdev types as ``dpctl/show`` names them in a userspace datapath
_SHOW_TYPES = {"internal": "tap", "dummy-internal": "dummy-internal"}


@dataclass(slots=True)
class DpFlow:
    """A megaflow as ``flow_dump`` hands it out (a snapshot; the datapath keeps its own)."""

    key: tuple[int, ...]
    mask: tuple[int, ...]
    actions: tuple[object, ...]
    n_packets: int
    n_bytes: int
    used: float | None  # None = never
    tcp_flags: int
    owner: object
    ufid: str


@dataclass(slots=True)
class DpPort:
    port_no: int
    name: str
    type: str


class Datapath(PacketPath):
    """One userspace datapath shared by every bridge (``netdev@ovs-netdev``)."""

    def __init__(self, conntrack: object = None, name: str = "ovs-netdev",
                 dp_type: str = "netdev") -> None:
        self.conntrack = conntrack
        self.name = name
        self.dp_type = dp_type
        self._ports: dict[int, DpPort] = {0: DpPort(0, name, "tap")}
        self._upcall: UpcallCallback | None = None
        self._classifiers: dict[int, PortClassifier] = {}
        self._emc: dict[tuple[int, ...], Megaflow] = {}
        self._quick: dict[int, dict[tuple, tuple[tuple[int, ...], Megaflow]]] = {}
        #: 1/N of megaflow hits are inserted in the exact-match caches (0: none); set
        #: with :meth:`set_emc_insert_inv_prob`
        self.emc_insert_inv_prob = EMC_INSERT_INV_PROB
        self._emc_rand = 1
        self._emc_countdown = self._emc_gap()
        self.n_hit = 0
        self.n_missed = 0
        self.n_lost = 0
        self.last_now = 0.0

    # ------------------------------------------------------------------------- ports
    def port_add(self, name: str, type: str = "dummy") -> int:
        """Add a port and return its datapath number, chosen as dpif-netdev does.

        Simulated ports (``dummy``, ``dummy-internal``) get the number in their name if
        free (plus 100 for names starting with "br"), as OVS's test datapaths do, so
        traces read like OVS's own tests; every other port gets the lowest free number
        from 1, as on OVS's real userspace datapath."""
        if any(p.name == name for p in self._ports.values()):
            raise DpifError(f"{self.dp_type}@{self.name}: port {name} already exists")
        port_no = self._choose_port(name if type in ("dummy", "dummy-internal") else "")
        self._ports[port_no] = DpPort(port_no, name, type)
        return port_no

    def _choose_port(self, name: str) -> int:
        start = 100 if name.startswith("br") else 0
        for i, ch in enumerate(name):
            if ch.isdigit():
                j = i
                while j < len(name) and name[j].isdigit():
                    j += 1
                n = start + int(name[i:j])
                if 0 < n < 0xFFFFFFFF and n not in self._ports:
                    return n
                break
        for n in range(1, 0x10000):
            if n not in self._ports:
                return n
        raise DpifError(f"{self.dp_type}@{self.name}: no free port number")

    def port_del(self, port_no: int) -> None:
        """Remove a port and every megaflow that matches it as input."""
        if port_no == 0 or port_no not in self._ports:
            raise DpifError(f"{self.dp_type}@{self.name}: no port {port_no}")
        del self._ports[port_no]
        cls = self._classifiers.pop(port_no, None)
        if cls is not None:
            for mf in cls:
                mf.dead = True
        self._quick.pop(port_no, None)
        self._emc.clear()

    def ports(self) -> list[DpPort]:
        return [self._ports[n] for n in sorted(self._ports)]

    def port_names(self) -> dict[int, str]:
        return {n: p.name for n, p in self._ports.items()}

    def format_show(self) -> str:
        """``ovs-appctl dpctl/show`` for this datapath."""
        lines = [
            f"{self.dp_type}@{self.name}:",
            f"  lookups: hit:{self.n_hit} missed:{self.n_missed} lost:{self.n_lost}",
            f"  flows: {self.n_flows()}",
        ]
        for p in self.ports():
            lines.append(f"  port {p.port_no}: {p.name} ({_SHOW_TYPES.get(p.type, p.type)})")
        return "\n".join(lines) + "\n"

    # ----------------------------------------------------------------------- upcalls
    def register_upcall_cb(self, cb: UpcallCallback | None) -> None:
        self._upcall = cb

    # --------------------------------------------------------------------- megaflows
    def _install(self, key: tuple[int, ...], res: UpcallResult, now: float) -> Megaflow:
        return self._put(key, normalize_mask(res.mask), tuple(res.actions), res.owner, now)

    def flow_put(self, key: Sequence[int], mask: Sequence[int], actions: Sequence[object],
                 owner: object = None, *, now: float = 0.0) -> Megaflow:
        """Install (or replace the actions of) a megaflow; ``key`` is an example packet
        key, kept unmasked for dumps as OVS does."""
        return self._put(tuple(key), normalize_mask(mask), tuple(actions), owner, now)

    def _put(self, key: tuple[int, ...], mask: tuple[int, ...], actions: tuple,
             owner: object, now: float) -> Megaflow:
        in_port = key[L.IN_PORT]
        cls = self._classifiers.get(in_port)
        if cls is None:
            cls = self._classifiers[in_port] = PortClassifier()
        old = cls.find_exact(key, mask)
        if old is not None:
            old.set_actions(actions)
            old.owner = owner
            return old
        mf = Megaflow(key, mask, actions, owner, None, now)
        cls.insert(mf)
        return mf

    def _all(self) -> list[Megaflow]:
        return [mf for n in sorted(self._classifiers) for mf in self._classifiers[n]]

    def n_flows(self) -> int:
        return sum(len(c) for c in self._classifiers.values())

    def flow_dump(self) -> list[DpFlow]:
        return [_snapshot(mf) for mf in self._all()]

    def flow_del(self, key: Sequence[int], mask: Sequence[int]) -> DpFlow | None:
        """Delete the megaflow with this key and mask; returns its final snapshot."""
        key = tuple(key)
        cls = self._classifiers.get(key[L.IN_PORT])
        mf = None if cls is None else cls.find_exact(key, normalize_mask(mask))
        if mf is None:
            return None
        self._kill(cls, mf)
        return _snapshot(mf)

    def _kill(self, cls: PortClassifier, mf: Megaflow) -> None:
        cls.remove(mf)
        mf.dead = True
        if not len(cls):
            del self._classifiers[mf.key[L.IN_PORT]]

    def flow_flush(self) -> None:
        """Delete every megaflow (and so empty the exact-match caches)."""
        for cls in self._classifiers.values():
            for mf in cls:
                mf.dead = True
        self._classifiers.clear()
        self._emc.clear()
        self._quick.clear()

    def revalidate(self, fn: Callable[[DpFlow], object]) -> list[DpFlow]:
        """Ask ``fn`` about every megaflow: ``"keep"``, ``"delete"`` or new actions.

        Returns the snapshots of the deleted megaflows (their last statistics).  The
        exact-match caches never hand out a deleted megaflow, and changed actions take
        effect on the very next packet (the caches point at the megaflow itself).
        """
        deleted = []
        for mf in self._all():
            verdict = fn(_snapshot(mf))
            if verdict == "keep" or verdict is None:
                continue
            if verdict == "delete":
                self._kill(self._classifiers[mf.key[L.IN_PORT]], mf)
                deleted.append(_snapshot(mf))
            else:
                mf.set_actions(tuple(verdict))
        return deleted

    def flush(self) -> None:
        """The cheap revalidation: drop every cached flow (alias of :meth:`flow_flush`)."""
        self.flow_flush()

    def execute(self, packet: bytes | bytearray, md_key: Sequence[int], actions: Sequence[object],
                now: float, offload: object = None) -> list[tuple[int, bytearray, object]]:
        """Run ``actions`` on one packet (packet-out).  ``md_key`` gives at least the
        metadata slots (in_port, ...); headers are extracted from the bytes."""
        pkt = bytearray(packet)
        ctx = ExecContext(self.conntrack, self._upcall, now)
        try:
            key = tuple(md_key[: L.N_MD]) + extract_headers(pkt)
            run_actions(ctx, tuple(actions), pkt, key, offload)
            if ctx.recirc:
                self._drain(ctx)
        except Exception:
            coverage.inc("datapath_drop_exception")
        return ctx.out

    # ---------------------------------------------------------------------- dumping
    def format_flows(self, verbose: bool = False, port_names: Mapping[int, str] | None = None,
                     *, names: bool | None = None, now: float | None = None) -> str:
        """``ovs-appctl dpctl/dump-flows [-m]``: ports by number unless ``names`` (the
        default for ``-m``, as dpctl); ``port_names`` overrides the datapath's names."""
        if names is None:
            names = verbose
        pn = (port_names if port_names is not None else self.port_names()) if names else None
        when = self.last_now if now is None else now
        flows = self._all()
        if not flows:
            return ""
        lines = ["flow-dump from the main thread:"]
        for mf in flows:
            lines.append(dump.format_flow(mf, verbose=verbose, port_names=pn, now=when))
        return "\n".join(lines) + "\n"


def _snapshot(mf: Megaflow) -> DpFlow:
    return DpFlow(mf.key, mf.mask, mf.actions, mf.n_packets, mf.n_bytes, mf.used,
                  mf.tcp_flags, mf.owner, mf.ufid)
