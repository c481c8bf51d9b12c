"""The datapath action executor: runs :mod:`pyvswitch.odp.actions` on packet bytes.

One call runs one action list on one packet and appends its transmissions to the
context's output list.  The in-flight key is kept equal to what extraction would give for
the current bytes (set actions update the slots they write, VLAN push/pop shift the tag
slots, conntrack NAT triggers a re-extraction), so a recirculation can reuse it without
parsing the packet again.

Packets are shared, not copied, between outputs: a packet output to three ports is the
same ``bytearray`` three times.  It is copied only when an action would modify bytes
that an earlier output (or a recirculation, or a clone) still refers to.

Nothing here raises for a malformed packet: a set action on a header the packet lacks
is counted (``datapath_set_no_header``) and skipped, as OVS skips it.

Layer: dpif.  Imports: flow.layout, flow.extract, odp.actions, packet.rewrite,
dpif.provider, coverage.
"""

from __future__ import annotations

from collections.abc import Callable

from pyvswitch import coverage
from pyvswitch.dpif.provider import Upcall, UpcallKind
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import extract_headers
from pyvswitch.netdev.offload import F_DATA_VALID, F_NEEDS_CSUM, shift_offload
from pyvswitch.odp import actions as A
from pyvswitch.packet import rewrite as R

if L.RECIRC_ID != 0:
    raise ImportError("dpif.execute assumes recirc_id is the first flow slot")
_CT_FIRST = L.CT_STATE
_CT_END = L.CT_TP_DST + 1
_CT_CLEAR = (0,) * (_CT_END - _CT_FIRST)
_ALG_PORTS = {"": 0, "ftp": 21, "tftp": 69}
_L4_PROTO = {"tcp": L.IPPROTO_TCP, "udp": L.IPPROTO_UDP, "sctp": L.IPPROTO_SCTP,
             "icmp": L.IPPROTO_ICMP, "icmpv6": L.IPPROTO_ICMPV6}


class ExecContext:
    """What one batch's execution needs from the datapath, and what it collects."""

    __slots__ = ("conntrack", "upcall", "now", "out", "recirc", "depth", "ct_positional")

    def __init__(self, conntrack: object, upcall: Callable[[Upcall], object] | None,
                 now: float) -> None:
        self.conntrack = conntrack
        #: the tracker's ``execute`` takes (pkt, flow, zone, now, commit, force, nat, alg,
        #: mark, label, l4_csum_good) positionally
        self.ct_positional = bool(getattr(conntrack, "positional_execute", False))
        self.upcall = upcall
        self.now = now
        #: (dp_port, packet, offload) transmissions in order
        self.out: list[tuple[int, bytearray, object]] = []
        #: (packet, key, offload, depth, shared) recirculations requested by the current
        #: list; ``shared``: someone else still refers to the packet's bytes
        self.recirc: list[tuple[bytearray, tuple[int, ...], object, int, bool]] = []
        self.depth = 0


def l4_csum_good(offload: object) -> bool:
    """Whether the receiving port vouched for the L4 checksum: the kernel verified it
    (DATA_VALID) or the frame comes from the local stack with the sum left to finish
    (NEEDS_CSUM); see :mod:`pyvswitch.netdev.offload`."""
    return bool(getattr(offload, "flags", 0) & (F_DATA_VALID | F_NEEDS_CSUM))


def _partial(offload: object) -> bool:
    return bool(getattr(offload, "flags", 0) & F_NEEDS_CSUM)


def run_actions(ctx: ExecContext, actions: tuple, pkt: bytearray, key: tuple | list,
                off: object, shared: bool = False) -> None:
    """Run ``actions`` on ``pkt`` (whose datapath key is ``key``).

    ``shared`` says someone else still refers to ``pkt``'s bytes, so the first modifying
    action must work on a copy.
    """
    cut = 0
    n = len(actions)
    i = 0
    while i < n:
        a = actions[i]
        i += 1
        t = type(a)
        if t is A.Output:
            if cut and cut < len(pkt):
                ctx.out.append((a.port, pkt[:cut], off))
            else:
                ctx.out.append((a.port, pkt, off))
                shared = True
            cut = 0
        elif t is A.SetMasked:
            if a.header == "skb_mark":
                key = list(key)
                for slot, value, mask in a.changes:
                    key[slot] = (key[slot] & ~mask) | (value & mask)
                continue
            if shared:
                pkt = bytearray(pkt)
                shared = False
            key = list(key)
            _apply_set(pkt, key, a, _partial(off) if off is not None else False)
        elif t is A.Ct:
            if shared:
                pkt = bytearray(pkt)
                shared = False
            key = list(key)
            packets = _conntrack(ctx, a, pkt, key, off)
            if packets is not None:
                # A fragment was held ([]) or reassembly released the original
                # fragments, which continue with the rest of the list instead.
                rest = actions[i:]
                for frag in packets:
                    fkey = key[: L.N_MD] + list(extract_headers(frag))
                    run_actions(ctx, rest, frag, fkey, off)
                return
        elif t is A.Recirc:
            # RECIRC_ID is slot 0: the recirculated key is the new id + the rest.  The
            # recirculated pass must not modify bytes an earlier output queued, or a
            # later action of this list still uses.
            ctx.recirc.append((pkt, (a.recirc_id,) + tuple(key[1:]), off, ctx.depth + 1,
                               shared or i < n))
            shared = True
        elif t is A.CtClear:
            key = list(key)
            key[_CT_FIRST:_CT_END] = _CT_CLEAR
        elif t is A.PushVlan:
            if shared:
                pkt = bytearray(pkt)
                shared = False
            if R.push_vlan(pkt, a.tpid, a.tci):
                if off is not None:
                    off = shift_offload(off, 4)
                key = list(key)
                key[L.VLAN2_TPID] = key[L.VLAN_TPID]
                key[L.VLAN2_TCI] = key[L.VLAN_TCI]
                key[L.VLAN_TPID] = a.tpid
                key[L.VLAN_TCI] = (a.tci | L.VLAN_CFI) & 0xFFFF
        elif t is A.PopVlan:
            if shared:
                pkt = bytearray(pkt)
                shared = False
            if R.pop_vlan(pkt):
                if off is not None:
                    off = shift_offload(off, -4)
                key = list(key)
                key[L.N_MD:] = extract_headers(pkt)
        elif t is A.Hash:
            key = list(key)
            key[L.DP_HASH] = hash_5tuple(key, a.basis, a.alg == "sym_l4")
        elif t is A.Userspace:
            if ctx.upcall is not None:
                try:
                    ctx.upcall(Upcall(UpcallKind.ACTION, bytearray(pkt), tuple(key), ctx.now,
                                      a.cookie))
                except Exception:  # the slow path must not kill the packet path
                    coverage.inc("datapath_upcall_action_error")
        elif t is A.Trunc:
            cut = a.max_len
        elif t is A.Clone:
            run_actions(ctx, a.actions, pkt, list(key), off, shared=True)
            shared = True
        else:
            coverage.inc("datapath_unknown_action")


def _conntrack(ctx: ExecContext, a: A.Ct, pkt: bytearray, key: list, off: object) -> list | None:
    """One conntrack pass; updates ``key`` in place.  Returns the packets that continue
    instead of ``pkt`` (None: ``pkt`` continues)."""
    ct = ctx.conntrack
    if ct is None:
        coverage.inc("datapath_ct_no_tracker")
        key[_CT_FIRST:_CT_END] = (L.CS_TRACKED | L.CS_INVALID,) + _CT_CLEAR[1:]
        return None
    flags = 0 if off is None else getattr(off, "flags", 0)
    good = bool(flags & (F_DATA_VALID | F_NEEDS_CSUM))
    if ctx.ct_positional:
        # our tracker: also told when the checksum is offloaded, so NAT keeps it so
        res = ct.execute(pkt, key, a.zone, ctx.now, a.commit, a.force, a.nat,
                         _ALG_PORTS.get(a.helper, 0) if a.timeout else
                         _ALG_PORTS[a.helper] if a.helper else 0, a.mark, a.label, good,
                         a.timeout, bool(flags & F_NEEDS_CSUM))
    elif a.timeout:
        res = ct.execute(pkt, key, zone=a.zone, commit=a.commit, force=a.force, nat=a.nat,
                         alg=_ALG_PORTS.get(a.helper, 0), mark=a.mark, label=a.label,
                         now=ctx.now, l4_csum_good=good, timeout_policy=a.timeout)
    else:
        res = ct.execute(pkt, key, zone=a.zone, commit=a.commit, force=a.force, nat=a.nat,
                         alg=_ALG_PORTS[a.helper] if a.helper else 0, mark=a.mark,
                         label=a.label, now=ctx.now, l4_csum_good=good)
    key[_CT_FIRST:_CT_END] = res.ct
    if res.modified:
        key[L.N_MD:] = extract_headers(pkt)
    if res.packets is not None:
        return [p if isinstance(p, bytearray) else bytearray(p) for p in res.packets]
    return None


# ------------------------------------------------------------------------ set actions
def _apply_set(pkt: bytearray, key: list, a: A.SetMasked, partial: bool) -> None:
    h = a.header
    new = {}
    for slot, value, mask in a.changes:
        new[slot] = (key[slot] & ~mask) | (value & mask)
    ok = True
    if h == "eth":
        for slot, v in new.items():
            ok &= R.set_eth_src(pkt, v) if slot == L.ETH_SRC else R.set_eth_dst(pkt, v)
    else:
        l3, eth_type, l4, proto, frag = R.offsets(pkt)
        if h == "ipv4":
            ok = eth_type == L.ETH_TYPE_IP and l4 >= 0
            if ok:
                for slot, v in new.items():
                    if slot in (L.NW_SRC, L.NW_DST):
                        R.set_ipv4_addr(pkt, l3, l4, proto, frag, v, slot == L.NW_DST, partial)
                    elif slot == L.NW_TOS:
                        R.set_ipv4_tos(pkt, l3, v)
                    elif slot == L.NW_TTL:
                        R.set_ipv4_ttl(pkt, l3, v)
        elif h == "ipv6":
            ok = eth_type == L.ETH_TYPE_IPV6 and l3 >= 0
            if ok:
                for slot, v in new.items():
                    if slot in (L.IPV6_SRC, L.IPV6_DST):
                        R.set_ipv6_addr(pkt, l3, l4, proto, frag, v, slot == L.IPV6_DST,
                                        partial)
                    elif slot == L.NW_TOS:
                        R.set_ipv6_tc(pkt, l3, v)
                    elif slot == L.IPV6_LABEL:
                        R.set_ipv6_label(pkt, l3, v)
                    elif slot == L.NW_TTL:
                        R.set_ipv6_hlimit(pkt, l3, v)
        elif h in ("tcp", "udp", "sctp"):
            ok = l4 >= 0 and not frag & L.FLOW_NW_FRAG_LATER and proto == _L4_PROTO[h]
            for slot, v in new.items():
                ok = ok and R.set_tp_port(pkt, l4, proto, v, slot == L.TP_DST, partial)
        elif h in ("icmp", "icmpv6"):
            ok = (l4 >= 0 and not frag & L.FLOW_NW_FRAG_LATER and proto == _L4_PROTO[h]
                  and R.set_icmp(pkt, l4, new.get(L.TP_SRC), new.get(L.TP_DST)))
        elif h == "arp":
            ok = eth_type in (L.ETH_TYPE_ARP, L.ETH_TYPE_RARP) and R.set_arp(
                pkt, l3, op=new.get(L.NW_PROTO), sha=new.get(L.ARP_SHA),
                spa=new.get(L.NW_SRC), tha=new.get(L.ARP_THA), tpa=new.get(L.NW_DST))
        elif h == "nd":
            ok = proto == L.IPPROTO_ICMPV6 and R.set_nd(
                pkt, l4, target=new.get(L.ND_TARGET), sll=new.get(L.ARP_SHA),
                tll=new.get(L.ARP_THA))
        else:
            ok = False
    if ok:
        for slot, v in new.items():
            key[slot] = v
    else:
        coverage.inc("datapath_set_no_header")


# ------------------------------------------------------------------------------- hash
def _mhash_add(h: int, data: int) -> int:
    # OVS's murmur-style mixing step (lib/hash.h), 32-bit.
    if data:
        data = (data * 0xCC9E2D51) & 0xFFFFFFFF
        data = ((data << 15) | (data >> 17)) & 0xFFFFFFFF
        data = (data * 0x1B873593) & 0xFFFFFFFF
        h ^= data
    h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
    return (h * 5 + 0xE6546B64) & 0xFFFFFFFF


def _mhash_finish(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def hash_5tuple(key: list | tuple, basis: int, symmetric: bool = False) -> int:
    """dp_hash of a packet: addresses, protocol and ports (never 0).

    ``symmetric`` gives both directions of a connection the same value (``sym_l4``).
    The values are not bit-identical to OVS's, which are internal to its datapath.
    """
    if key[L.ETH_TYPE] == L.ETH_TYPE_IPV6:
        src, dst = key[L.IPV6_SRC], key[L.IPV6_DST]
    else:
        src, dst = key[L.NW_SRC], key[L.NW_DST]
    sp, dp = key[L.TP_SRC], key[L.TP_DST]
    if symmetric and (src, sp) > (dst, dp):
        src, dst, sp, dp = dst, src, dp, sp
    h = basis & 0xFFFFFFFF
    for word in (src, dst):
        while True:
            h = _mhash_add(h, word & 0xFFFFFFFF)
            word >>= 32
            if not word:
                break
    h = _mhash_add(h, sp << 16 | dp)
    h = _mhash_add(h, key[L.NW_PROTO])
    return _mhash_finish(h ^ 42) or 1
