"""Reading and writing fields of a flow under translation, un-wildcarding as we go.

Every bit translation looks at must end up in the megaflow mask, so the helpers here
take the wildcards list and OR into it at the moment they read: checking a field's
prerequisites (is this TCP?), reading a subfield for ``move``/``output:REG``/learn/ct
zones, and writing a field for ``set_field``/``load``.  They follow OVS's
``mf_are_prereqs_ok``, ``mf_subfield_copy`` and the ``OFPACT_SET_FIELD`` case of
``do_xlate_actions``.

Layer: ofproto_dpif.  Imports: flow.
"""

from __future__ import annotations

from pyvswitch.flow import layout as L
from pyvswitch.flow.fields import Field, Prereq
from pyvswitch.flow.ofpacts import SubField

_VALID_CT = L.CS_NEW | L.CS_ESTABLISHED | L.CS_REPLY_DIR


def is_ip_any(flow: list[int]) -> bool:
    t = flow[L.ETH_TYPE]
    return t == L.ETH_TYPE_IP or t == L.ETH_TYPE_IPV6


def _ip_proto(flow: list[int], wc: list[int] | None, proto: int) -> bool:
    if is_ip_any(flow):
        if wc is not None:
            wc[L.NW_PROTO] = 0xFF
        return flow[L.NW_PROTO] == proto
    return False


def is_nd(flow: list[int], wc: list[int] | None) -> bool:
    if flow[L.ETH_TYPE] != L.ETH_TYPE_IPV6:
        return False
    if wc is not None:
        wc[L.NW_PROTO] = 0xFF
    if flow[L.NW_PROTO] != L.IPPROTO_ICMPV6:
        return False
    if wc is not None:
        wc[L.TP_DST] = 0xFFFF
    if flow[L.TP_DST] != 0:
        return False
    if wc is not None:
        wc[L.TP_SRC] = 0xFFFF
    return flow[L.TP_SRC] in (135, 136)


def prereqs_ok(field: Field, flow: list[int], wc: list[int] | None) -> bool:
    """Does the packet have ``field``?  Un-wildcards what the check examined."""
    p = field.prereq
    if p is Prereq.NONE:
        return True
    dl_type = flow[L.ETH_TYPE]
    if p is Prereq.IPV4:
        return dl_type == L.ETH_TYPE_IP
    if p is Prereq.IPV6:
        return dl_type == L.ETH_TYPE_IPV6
    if p is Prereq.IP_ANY:
        return dl_type == L.ETH_TYPE_IP or dl_type == L.ETH_TYPE_IPV6
    if p is Prereq.ARP:
        return dl_type == L.ETH_TYPE_ARP or dl_type == L.ETH_TYPE_RARP
    later = flow[L.NW_FRAG] & L.FLOW_NW_FRAG_LATER
    if p is Prereq.TCP:
        return _ip_proto(flow, wc, L.IPPROTO_TCP) and not later
    if p is Prereq.UDP:
        return _ip_proto(flow, wc, L.IPPROTO_UDP) and not later
    if p is Prereq.SCTP:
        return _ip_proto(flow, wc, L.IPPROTO_SCTP) and not later
    if p is Prereq.L4_ANY:
        if not is_ip_any(flow):
            return False
        if wc is not None:
            wc[L.NW_PROTO] = 0xFF
        return flow[L.NW_PROTO] in (L.IPPROTO_TCP, L.IPPROTO_UDP, L.IPPROTO_SCTP) and not later
    if p is Prereq.ICMPV4:
        if dl_type != L.ETH_TYPE_IP:
            return False
        if wc is not None:
            wc[L.NW_PROTO] = 0xFF
        return flow[L.NW_PROTO] == L.IPPROTO_ICMP
    if p is Prereq.ICMPV6:
        if dl_type != L.ETH_TYPE_IPV6:
            return False
        if wc is not None:
            wc[L.NW_PROTO] = 0xFF
        return flow[L.NW_PROTO] == L.IPPROTO_ICMPV6
    if p is Prereq.VLAN_VID:
        if wc is not None:
            wc[L.VLAN_TCI] |= L.VLAN_CFI
        return bool(flow[L.VLAN_TCI] & L.VLAN_CFI)
    if p is Prereq.CT_VALID:
        if wc is not None:
            wc[L.CT_STATE] |= _VALID_CT
        return bool(flow[L.CT_STATE] & _VALID_CT)
    if p is Prereq.ND:
        return is_nd(flow, wc)
    if p is Prereq.ND_SOLICIT:
        return is_nd(flow, wc) and flow[L.TP_SRC] == 135
    if p is Prereq.ND_ADVERT:
        return is_nd(flow, wc) and flow[L.TP_SRC] == 136
    return False


# --------------------------------------------------------------------------- subfields
def field_unwildcard(wc: list[int], field: Field, mask: int) -> None:
    """OR ``mask`` (in the field's own units) into the wildcards."""
    rem = field.nbits
    for slot, shift, nbits in field.parts:
        rem -= nbits
        m = (mask >> rem) & ((1 << nbits) - 1)
        if m:
            wc[slot] |= m << shift


def sf_unwildcard(wc: list[int], sf: SubField) -> None:
    field_unwildcard(wc, sf.field, sf.mask)


def sf_read(flow: list[int], sf: SubField) -> int:
    return (sf.field.get(flow) >> sf.ofs) & ((1 << sf.n_bits) - 1)


def sf_write(flow: list[int], sf: SubField, value: int) -> None:
    """Write ``value`` into the subfield, leaving the field's other bits alone."""
    field_write(flow, sf.field, value << sf.ofs, sf.mask)


def field_write(flow: list[int], field: Field, value: int, mask: int) -> None:
    """Write bits of a field without the implied-bit side effects of ``Field.set``."""
    value &= mask
    rem = field.nbits
    for slot, shift, nbits in field.parts:
        rem -= nbits
        part = (1 << nbits) - 1
        m = (mask >> rem) & part
        if not m:
            continue
        v = (value >> rem) & part
        flow[slot] = (flow[slot] & ~(m << shift)) | (v << shift)


# Fields whose setting also makes translation look at nw_proto (OVS
# ``mf_set_mask_l3_prereqs``): for IP packets the L3 fields, for ARP the ARP fields.
_L3_IP_FIELDS = frozenset(
    ("ip_src", "ip_dst", "ipv6_src", "ipv6_dst", "ipv6_label", "nw_tos", "nw_ecn", "nw_ttl")
)
_L3_ARP_FIELDS = frozenset(("arp_op", "arp_sha", "arp_tha", "arp_spa", "arp_tpa"))


def set_mask_l3_prereqs(field: Field, flow: list[int], wc: list[int]) -> None:
    name = field.name
    if name in _L3_IP_FIELDS and is_ip_any(flow):
        wc[L.NW_PROTO] = 0xFF
    elif name in _L3_ARP_FIELDS and flow[L.ETH_TYPE] == L.ETH_TYPE_ARP:
        wc[L.NW_PROTO] = 0xFF
