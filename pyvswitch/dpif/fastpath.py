"""The datapath's packet path: caches, compiled megaflow shapes, recirculation, misses.

:class:`PacketPath` is the part of :class:`pyvswitch.dpif.datapath.Datapath` that runs for
every packet (the facade mixes it in and owns the state it uses: the caches, the
classifiers, the counters, the tracker and the upcall callback).  A packet goes:

1. *quick EMC*: for untagged IPv4 TCP/UDP without options or fragmentation, one
   ``struct.unpack_from`` over every byte the key depends on gives a "quick key" that
   determines the full datapath key; a dict maps it to a cache entry and the packet
   skips key extraction altogether;
2. otherwise the key is extracted (:func:`pyvswitch.flow.extract.extract_headers`) and
   looked up in the *EMC* (full key -> entry);
3. then in the port's megaflow classifier (:mod:`pyvswitch.dpif.cache`); a hit enters
   the exact-match caches with probability 1/``emc_insert_inv_prob``, as in OVS;
4. on a miss the registered upcall callback translates the packet; its answer is
   executed and, when it carries a mask, installed as a megaflow.

A cache entry is ``[key, megaflow, recirc cache]``.  The megaflow's compiled shape
(:func:`pyvswitch.dpif.cache.compile_actions`) picks how it runs: one output or a flood
is appended directly, ``ct,output`` and ``ct,recirc`` call the tracker directly, anything
else goes through :func:`pyvswitch.dpif.execute.run_actions`.  For ``ct,recirc`` the
entry's recirc cache remembers (last verdict, entry of the second pass), so an
established connection's second pass costs one tuple comparison.

Recirculation re-enters at step 2 with the packet's metadata (recirc id, ct verdict,
dp_hash), depth-first, at most ``MAX_RECIRC_DEPTH`` deep as in OVS.  A packet that makes
any of this raise is counted and dropped: ``process`` never raises for bad input.

Layer: dpif.  Imports: flow, odp.actions, dpif.cache/execute/provider, coverage.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pyvswitch import coverage
from pyvswitch.dpif.cache import (
    KIND_CT_OUTPUT,
    KIND_CT_RECIRC,
    KIND_OUTPUT,
    KIND_OUTPUTS,
    Megaflow,
    PortClassifier,
)
from pyvswitch.dpif.execute import ExecContext, run_actions
from pyvswitch.dpif.provider import Upcall, UpcallCallback, UpcallKind, UpcallResult
from pyvswitch.errors import DpifError
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import DEFAULT_MD, extract_headers
from pyvswitch.odp.actions import Recirc

#: how many recirculations one packet may go through (OVS's MAX_RECIRC_DEPTH)
MAX_RECIRC_DEPTH = 6
#: entries per exact-match cache before the oldest are evicted (OVS's EM_FLOW_HASH_ENTRIES)
EMC_ENTRIES = 8192
#: OVS's default ``other_config:emc-insert-inv-prob``
EMC_INSERT_INV_PROB = 100

# Ethernet (MACs as 16+32 bits) + IPv4 without options + the ports: every byte an
# untagged IPv4 TCP/UDP key depends on except the TCP flags word (read separately).
_QUICK = struct.Struct("!HIHIHBBH2xHBB2xIIHH")
_U16 = struct.Struct("!H")
_CT_FIRST = L.CT_STATE
_CT_END = L.CT_TP_DST + 1


class PacketPath:
    """The per-packet methods of the datapath (a mixin of ``Datapath``)."""

    conntrack: object
    _upcall: UpcallCallback | None
    _classifiers: dict[int, PortClassifier]
    _emc: dict[tuple[int, ...], list]
    _quick: dict[int, dict[tuple, list]]
    n_hit: int
    n_missed: int
    n_lost: int
    last_now: float
    emc_insert_inv_prob: int
    _emc_rand: int
    _emc_countdown: int

    def _install(self, key: tuple[int, ...], res: UpcallResult, now: float) -> Megaflow:
        raise NotImplementedError  # provided by Datapath

    def process(self, in_port: int, packets: Sequence[bytes | bytearray], now: float,
                offloads: Sequence[object] | None = None) -> list[tuple[int, bytearray, object]]:
        """Run a batch received on ``in_port``; returns ``(dp_port, packet, offload)``
        transmissions in order.  The datapath may modify the given bytearrays."""
        self.last_now = now
        ctx = ExecContext(self.conntrack, self._upcall, now)
        out = ctx.out
        quick = self._quick.get(in_port)
        if quick is None:
            quick = self._quick[in_port] = {}
        md = None
        unpack = _QUICK.unpack_from
        hit = 0
        off = None
        for i, pkt in enumerate(packets):
            if offloads is not None:
                off = offloads[i]
            try:
                if type(pkt) is not bytearray:
                    pkt = bytearray(pkt)
                n = len(pkt)
                qk = None
                if n >= 38:
                    (dh, dl, sh, sl, et, vihl, tos, tl, frag, ttl, proto, src, dst,
                     tp_src, tp_dst) = unpack(pkt)
                    if (et == 0x0800 and vihl == 0x45 and not frag & 0x3FFF
                            and 20 <= tl <= n - 14 <= tl + 0xFFFF):
                        if proto == 17:
                            if tl >= 28:
                                qk = (dh, dl, sh, sl, tos, ttl, 17, src, dst, tp_src, tp_dst)
                        elif proto == 6 and tl >= 40 and n >= 48:
                            word = _U16.unpack_from(pkt, 46)[0]
                            if 20 <= (word >> 10) & 0x3C <= tl - 20:
                                qk = (dh, dl, sh, sl, tos, ttl, word, src, dst, tp_src, tp_dst)
                    if qk is not None:
                        ent = quick.get(qk)
                        if ent is not None:
                            mf = ent[1]
                            if not mf.dead:
                                hit += 1
                                mf.n_packets += 1
                                mf.n_bytes += n
                                mf.used = now
                                if proto == 6:
                                    mf.tcp_flags |= word & 0xFFF
                                kind = mf.kind
                                if kind == KIND_OUTPUT:
                                    out.append((mf.out_port, pkt, off))
                                    continue
                                if kind == KIND_CT_RECIRC:
                                    self._ct_recirc(ctx, ent, pkt, off, False, 0)
                                elif kind == KIND_CT_OUTPUT:
                                    self._ct_output(ctx, ent, pkt, off, False)
                                elif kind == KIND_OUTPUTS:
                                    for port in mf.arg:
                                        out.append((port, pkt, off))
                                else:
                                    run_actions(ctx, mf.actions, pkt, ent[0], off)
                                if ctx.recirc:
                                    self._drain(ctx)
                                continue
                            del quick[qk]
                if md is None:
                    md = list(DEFAULT_MD)
                    md[L.IN_PORT] = in_port
                    md = tuple(md)
                if qk is not None:
                    # The quick key's fields are the whole key of such a packet (the
                    # shape flow_extract gives it, checked by the tests).
                    key = md + (sh << 32 | sl, dh << 32 | dl, 0, 0, 0, 0, 0x0800, src, dst,
                                0, 0, 0, proto, tos, ttl, 0, 0, 0, 0, tp_src, tp_dst,
                                word & 0xFFF if proto == 6 else 0)
                    cls = self._classifiers.get(in_port)
                    mf = None if cls is None else cls.lookup(key)
                    if mf is not None:
                        ent = [key, mf, None]
                        c = self._emc_countdown = self._emc_countdown - 1
                        if c <= 0:
                            self._emc_countdown = self._emc_gap()
                            if len(quick) >= EMC_ENTRIES:
                                quick.clear()
                            quick[qk] = ent
                        self._hit(ctx, ent, pkt, off, False, 0)
                    else:
                        self._miss(ctx, pkt, key, off)
                else:
                    key = md + extract_headers(pkt)
                    ent = self._lookup_ent(key)
                    if ent is not None:
                        self._hit(ctx, ent, pkt, off, False, 0)
                    else:
                        self._miss(ctx, pkt, key, off)
                if ctx.recirc:
                    self._drain(ctx)
            except Exception:  # bad input must never escape the packet path
                coverage.inc("datapath_drop_exception")
                ctx.recirc.clear()
                ctx.depth = 0
        self.n_hit += hit
        return out

    def _lookup_ent(self, key: tuple[int, ...]) -> list | None:
        """The exact-match cache entry ``[key, megaflow, recirc cache]`` for ``key``,
        made from the megaflow classifier on an EMC miss; None when no megaflow
        matches."""
        emc = self._emc
        ent = emc.get(key)
        if ent is not None:
            if not ent[1].dead:
                return ent
            del emc[key]
        cls = self._classifiers.get(key[L.IN_PORT])
        if cls is None:
            return None
        mf = cls.lookup(key)
        if mf is None:
            return None
        ent = [key, mf, None]
        c = self._emc_countdown = self._emc_countdown - 1
        if c <= 0:
            self._emc_countdown = self._emc_gap()
            if len(emc) >= EMC_ENTRIES:
                # Start over rather than evict one by one: deleting from the front of a
                # dict makes the next front search slower and slower.
                emc.clear()
            emc[key] = ent
        return ent

    def set_emc_insert_inv_prob(self, inv: int) -> None:
        """Insert 1 in ``inv`` megaflow hits into the exact-match caches (OVS's
        ``other_config:emc-insert-inv-prob``; 0 = never, 1 = always, default 100)."""
        if not 0 <= inv <= 0xFFFFFFFF:
            raise DpifError(f"emc-insert-inv-prob {inv} out of range (0 to 4294967295)")
        self.emc_insert_inv_prob = inv
        self._emc_countdown = self._emc_gap()

    def _emc_gap(self) -> int:
        """Megaflow hits until the next exact-match insertion: 1/N of them on average,
        as OVS inserts with probability 1/N, so that flows seen once (a handshake, a
        scan) do not churn the caches while a lasting flow gets in after a few packets.
        A random gap (a fixed-seed generator: runs are reproducible) rather than every
        N-th hit, so that no traffic pattern keeps a flow out for good."""
        inv = self.emc_insert_inv_prob
        if inv <= 1:
            return 1 if inv == 1 else 1 << 62
        r = self._emc_rand = (self._emc_rand * 1103515245 + 12345) & 0x7FFFFFFF
        return 1 + (r >> 4) % (2 * inv - 1)

    def _hit(self, ctx: ExecContext, ent: list, pkt: bytearray, off: object, shared: bool,
             depth: int) -> None:
        """Run a cached megaflow on a packet (pass ``depth`` of its recirculations);
        recirculations its actions request are left in ``ctx.recirc``."""
        mf = ent[1]
        key = ent[0]
        self.n_hit += 1
        mf.n_packets += 1
        mf.n_bytes += len(pkt)
        mf.used = ctx.now
        if key[L.NW_PROTO] == 6:
            mf.tcp_flags |= key[L.TCP_FLAGS]
        kind = mf.kind
        if kind == KIND_OUTPUT:
            ctx.out.append((mf.out_port, pkt, off))
        elif kind == KIND_CT_RECIRC:
            self._ct_recirc(ctx, ent, pkt, off, shared, depth)
        elif kind == KIND_CT_OUTPUT:
            self._ct_output(ctx, ent, pkt, off, shared)
        elif kind == KIND_OUTPUTS:
            out = ctx.out
            for port in mf.arg:
                out.append((port, pkt, off))
        else:
            ctx.depth = depth
            run_actions(ctx, mf.actions, pkt, key, off, shared)
            ctx.depth = 0

    def _ct_recirc(self, ctx: ExecContext, ent: list, pkt: bytearray, off: object,
                   shared: bool, depth: int) -> None:
        """``ct(...),recirc(id)`` without the general executor, and the recirculated
        pass without building and hashing its key again.

        When conntrack leaves the bytes alone, the recirculated key is a function of
        this entry's key and the ct verdict alone; the entry remembers the last verdict
        and the cache entry it led to, so an established connection's second pass is one
        tuple comparison.  A recirculation is the last action, so running its pass right
        away keeps the depth-first order of :meth:`_drain`.
        """
        ct_action, rid, zone, commit, force, nat, alg, mark, label = ent[1].arg
        ct = ctx.conntrack
        if ct is None or ct_action.timeout or shared or ctx.recirc:
            ctx.depth = depth
            run_actions(ctx, ent[1].actions, pkt, ent[0], off, shared)
            ctx.depth = 0
            return
        key = ent[0]
        flags = 0 if off is None else getattr(off, "flags", 0)
        good = bool(flags & 3)  # DATA_VALID or NEEDS_CSUM
        if ctx.ct_positional:
            res = ct.execute(pkt, key, zone, ctx.now, commit, force, nat, alg, mark, label,
                             good, "", bool(flags & 1))
        else:
            res = ct.execute(pkt, key, zone=zone, commit=commit, force=force, nat=nat,
                             alg=alg, mark=mark, label=label, now=ctx.now, l4_csum_good=good)
        if isinstance(res, tuple):  # the real tracker's CtResult: unpacking is cheaper
            ctv, modified, packets = res
        else:
            ctv, modified, packets = res.ct, res.modified, res.packets
        if modified or packets is not None:
            self._ct_recirc_slow(ctx, ctv, modified, packets, key, rid, pkt, off, depth)
            return
        if depth >= MAX_RECIRC_DEPTH:
            coverage.inc("datapath_drop_recirc_error")
            return
        rc = ent[2]
        if rc is not None and rc[0] == ctv:
            ent2 = rc[1]
            mf = ent2[1]
            if not mf.dead:
                if mf.kind == KIND_OUTPUT:
                    # _hit, inlined for the commonest second pass (an established
                    # connection's output)
                    self.n_hit += 1
                    mf.n_packets += 1
                    mf.n_bytes += len(pkt)
                    mf.used = ctx.now
                    key = ent2[0]
                    if key[L.NW_PROTO] == 6:
                        mf.tcp_flags |= key[L.TCP_FLAGS]
                    ctx.out.append((mf.out_port, pkt, off))
                else:
                    self._hit(ctx, ent2, pkt, off, False, depth + 1)
                return
        key2 = (rid,) + key[1:_CT_FIRST] + tuple(ctv) + key[_CT_END:]
        ent2 = self._lookup_ent(key2)
        if ent2 is None:
            self._miss(ctx, pkt, key2, off, False, depth + 1)
            return
        ent[2] = (ctv, ent2)
        self._hit(ctx, ent2, pkt, off, False, depth + 1)

    def _ct_output(self, ctx: ExecContext, ent: list, pkt: bytearray, off: object,
                   shared: bool) -> None:
        """``ct(...),output`` without the general executor: the verdict is not needed,
        only the bytes (NAT) and which packets continue (fragments)."""
        ct_action, port, zone, commit, force, nat, alg, mark, label = ent[1].arg
        ct = ctx.conntrack
        if ct is None or ct_action.timeout:
            run_actions(ctx, ent[1].actions, pkt, ent[0], off, shared)
            return
        if shared:
            pkt = bytearray(pkt)
        flags = 0 if off is None else getattr(off, "flags", 0)
        good = bool(flags & 3)  # DATA_VALID or NEEDS_CSUM
        if ctx.ct_positional:
            res = ct.execute(pkt, ent[0], zone, ctx.now, commit, force, nat, alg, mark,
                             label, good, "", bool(flags & 1))
        else:
            res = ct.execute(pkt, ent[0], zone=zone, commit=commit, force=force, nat=nat,
                             alg=alg, mark=mark, label=label, now=ctx.now,
                             l4_csum_good=good)
        packets = res[2] if isinstance(res, tuple) else res.packets
        if packets is None:
            ctx.out.append((port, pkt, off))
        else:
            for frag in packets:
                ctx.out.append((port, frag if isinstance(frag, bytearray) else bytearray(frag),
                                off))

    def _ct_recirc_slow(self, ctx: ExecContext, ctv: Sequence[int], modified: bool,
                        packets: list | None, key: tuple[int, ...], rid: int,
                        pkt: bytearray, off: object, depth: int) -> None:
        """The rest of ``ct,recirc`` when conntrack changed the bytes (NAT, ALG) or
        held or released fragments: the general executor's way."""
        k = list(key)
        k[_CT_FIRST:_CT_END] = ctv
        if modified:
            k[L.N_MD:] = extract_headers(pkt)
        if packets is None:
            ctx.recirc.append((pkt, (rid,) + tuple(k[1:]), off, depth + 1, False))
            return
        ctx.depth = depth
        for frag in packets:
            if not isinstance(frag, bytearray):
                frag = bytearray(frag)
            fkey = k[: L.N_MD] + list(extract_headers(frag))
            run_actions(ctx, (Recirc(rid),), frag, fkey, off)
        ctx.depth = 0

    def _drain(self, ctx: ExecContext) -> None:
        """Run the recirculations the last action list asked for, depth-first, in order."""
        stack = ctx.recirc[::-1]
        ctx.recirc.clear()
        while stack:
            pkt, key, off, depth, shared = stack.pop()
            if depth > MAX_RECIRC_DEPTH:
                coverage.inc("datapath_drop_recirc_error")
                continue
            ent = self._lookup_ent(key)
            if ent is not None:
                self._hit(ctx, ent, pkt, off, shared, depth)
            else:
                self._miss(ctx, pkt, key, off, shared, depth)
            if ctx.recirc:
                stack.extend(ctx.recirc[::-1])
                ctx.recirc.clear()

    def _miss(self, ctx: ExecContext, pkt: bytearray, key: tuple[int, ...], off: object,
              shared: bool = False, depth: int = 0) -> None:
        self.n_missed += 1
        cb = self._upcall
        if cb is None:
            self.n_lost += 1
            coverage.inc("datapath_drop_upcall_error")
            return
        try:
            res = cb(Upcall(UpcallKind.MISS, pkt, key, ctx.now))
        except Exception:
            self.n_lost += 1
            coverage.inc("datapath_drop_upcall_error")
            return
        if res is None:
            return
        if res.mask is not None:
            self._install(key, res, ctx.now)
        ctx.depth = depth
        run_actions(ctx, tuple(res.actions), pkt, key, off, shared)
        ctx.depth = 0
