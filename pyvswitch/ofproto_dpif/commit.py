"""Turning accumulated header changes into datapath set/push/pop actions.

Translation edits its copy of the flow freely; the datapath only sees a change when the
packet leaves (output, ct, recirculation, userspace).  At those points
:func:`commit_actions` compares the flow with ``base`` -- what the datapath's copy of the
packet looks like so far -- and emits one ``SetMasked`` per changed header plus any VLAN
pops and pushes, then brings ``base`` up to date.  Masks come from the wildcards: a field
that an action wrote was un-wildcarded by that action, and only changed fields are set,
which is what OVS's ``commit_odp_actions`` does with masked set actions.

Layer: ofproto_dpif.  Imports: flow.layout, odp.actions.
"""

from __future__ import annotations

from pyvswitch.flow import layout as L
from pyvswitch.odp import actions as dp

_FULL = L.SLOT_FULL

_ETH = (L.ETH_SRC, L.ETH_DST)
# (slot, writable) in key order; proto/frag are part of the key but never written
_IPV4 = (L.NW_SRC, L.NW_DST, L.NW_TOS, L.NW_TTL)
_IPV6 = (L.IPV6_SRC, L.IPV6_DST, L.IPV6_LABEL, L.NW_TOS, L.NW_TTL)
_ND = (L.ND_TARGET, L.ARP_SHA, L.ARP_THA)
_ARP = (L.NW_SRC, L.NW_DST, L.NW_PROTO, L.ARP_SHA, L.ARP_THA)
_TP = (L.TP_SRC, L.TP_DST)

#: the datapath's own width of some keys differs from the flow slot's width
_KEY_FULL = {L.NW_PROTO: 0xFF}
#: the header slots: when these and pkt_mark are unchanged there is nothing to commit
_HDR = slice(L.N_MD, L.N_DP)
_ICMP_FULL = {L.TP_SRC: 0xFF, L.TP_DST: 0xFF}


def _commit(header: str, slots: tuple[int, ...], flow: list[int], base: list[int],
            wc: list[int], out: list[object], *, use_masked: bool = True,
            never_exact: bool = False, full: dict[int, int] | None = None) -> bool:
    """One header's worth of OVS ``commit()``: set what differs, masked by ``wc``."""
    changed = False
    for s in slots:
        if flow[s] != base[s]:
            changed = True
            break
    if not changed:
        return False
    masks = {}
    exact = not never_exact
    for s in slots:
        m = wc[s] if flow[s] != base[s] else 0
        f = (full or _KEY_FULL).get(s, _FULL[s])
        m &= f
        masks[s] = m
        if m != f:
            exact = False
    if use_masked and not exact:
        changes = tuple((s, flow[s] & masks[s], _wide(header, s, masks[s]))
                        for s in slots if masks[s])
    else:
        changes = []
        for s in slots:
            f = (full or _KEY_FULL).get(s, _FULL[s])
            masks[s] = f
            changes.append((s, flow[s] & f, f))
        changes = tuple(changes)
    out.append(dp.SetMasked(header, changes))
    for s in slots:
        base[s] = flow[s]
        wc[s] |= masks[s]
    return True


def _wide(header: str, slot: int, mask: int) -> int:
    """The ARP opcode is 16 bits in the datapath key but 8 in the flow: a fully
    written opcode is an exact 16-bit mask (OVS ``get_arp_key``)."""
    if header == "arp" and slot == L.NW_PROTO and mask == 0xFF:
        return 0xFFFF
    return mask


def _n_vlans(f: list[int]) -> int:
    if not f[L.VLAN_TCI] & L.VLAN_CFI:
        return 0
    if not f[L.VLAN2_TCI] & L.VLAN_CFI:
        return 1
    return 2


_VLAN_SLOTS = ((L.VLAN_TPID, L.VLAN_TCI), (L.VLAN2_TPID, L.VLAN2_TCI))


def _commit_vlans(flow: list[int], base: list[int], wc: list[int], out: list[object]) -> None:
    base_n = _n_vlans(base)
    flow_n = _n_vlans(flow)
    # skip the tags both have in common, innermost first
    bn, fn = base_n - 1, flow_n - 1
    while bn >= 0 and fn >= 0:
        bt, bc = _VLAN_SLOTS[bn]
        ft, fc = _VLAN_SLOTS[fn]
        if base[bt] != flow[ft] or base[bc] != flow[fc]:
            break
        bn -= 1
        fn -= 1
    while bn >= 0:
        out.append(dp.PopVlan())
        t, c = _VLAN_SLOTS[bn]
        wc[t] = 0xFFFF
        wc[c] = 0xFFFF
        bn -= 1
    while fn >= 0:
        t, c = _VLAN_SLOTS[fn]
        out.append(dp.PushVlan(flow[t] or L.ETH_TYPE_VLAN_8021Q, flow[c]))
        fn -= 1
    for t, c in _VLAN_SLOTS:
        base[t] = flow[t]
        base[c] = flow[c]


def commit_actions(flow: list[int], base: list[int], wc: list[int], out: list[object]) -> bool:
    """Append to ``out`` the actions that make ``base`` equal ``flow``.

    Returns True when an action that OVS handles in the slow path (ARP/ICMP/ND
    rewrites) was emitted; translation reports that, the datapath executes it anyway.
    """
    if flow[_HDR] == base[_HDR] and flow[L.PKT_MARK] == base[L.PKT_MARK]:
        return False
    slow = False
    _commit("eth", _ETH, flow, base, wc, out)
    if flow[L.NW_PROTO]:
        dl_type = base[L.ETH_TYPE]
        if dl_type == L.ETH_TYPE_IP:
            _commit("ipv4", _IPV4, flow, base, wc, out, never_exact=True)
        elif dl_type == L.ETH_TYPE_IPV6:
            _commit("ipv6", _IPV6, flow, base, wc, out, never_exact=True)
            if base[L.NW_PROTO] == L.IPPROTO_ICMPV6:
                slow |= _commit("nd", _ND, flow, base, wc, out)
        elif dl_type in (L.ETH_TYPE_ARP, L.ETH_TYPE_RARP):
            slow |= _commit("arp", _ARP, flow, base, wc, out)
        if dl_type in (L.ETH_TYPE_IP, L.ETH_TYPE_IPV6):
            proto = flow[L.NW_PROTO]
            if proto == L.IPPROTO_TCP:
                _commit("tcp", _TP, flow, base, wc, out)
            elif proto == L.IPPROTO_UDP:
                _commit("udp", _TP, flow, base, wc, out)
            elif proto == L.IPPROTO_SCTP:
                _commit("sctp", _TP, flow, base, wc, out)
    dl_type = flow[L.ETH_TYPE]
    proto = flow[L.NW_PROTO]
    if dl_type == L.ETH_TYPE_IP and proto == L.IPPROTO_ICMP:
        slow |= _commit("icmp", _TP, flow, base, wc, out, use_masked=False, full=_ICMP_FULL)
    elif dl_type == L.ETH_TYPE_IPV6 and proto == L.IPPROTO_ICMPV6:
        slow |= _commit("icmpv6", _TP, flow, base, wc, out, use_masked=False,
                        full=_ICMP_FULL)
    if (flow[L.VLAN_TCI] != base[L.VLAN_TCI] or flow[L.VLAN2_TCI] != base[L.VLAN2_TCI]
            or flow[L.VLAN_TPID] != base[L.VLAN_TPID]
            or flow[L.VLAN2_TPID] != base[L.VLAN2_TPID]):
        _commit_vlans(flow, base, wc, out)
    _commit("skb_mark", (L.PKT_MARK,), flow, base, wc, out)
    return slow
