"""``Match``: a flow pattern as (value, mask) over the flat flow layout.

A match is the OpenFlow-level description of which packets a rule covers (OVS
``struct match``).  It is kept as two full-length tuples so that the classifier can use
the mask tuple as a subtable identity and the masked value as a hash key.  Values are
always stored pre-masked (``value & mask``), which makes equality of matches plain tuple
equality.

Layer: flow.  Imports: flow.layout, flow.fields.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyvswitch.flow import layout as L
from pyvswitch.flow.fields import Field, Prereq


class Match:
    """A (value, mask) pair over the flow layout.  Immutable once built by its owner."""

    __slots__ = ("value", "mask", "_hash")

    def __init__(self, value: Sequence[int] | None = None, mask: Sequence[int] | None = None):
        if mask is None:
            mask = L.EMPTY_MASK
        if value is None:
            value = L.EMPTY_FLOW
        self.mask: tuple[int, ...] = tuple(mask)
        self.value: tuple[int, ...] = tuple(v & m for v, m in zip(value, self.mask))
        self._hash: int | None = None

    # -- building ---------------------------------------------------------------------
    def with_field(self, field: Field, value: int, mask: int | None = None) -> Match:
        """A copy that also matches ``field`` == ``value`` under ``mask`` (None = exact)."""
        b = MatchBuilder(self)
        b.set_field(field, value, mask)
        return b.build()

    # -- reading ----------------------------------------------------------------------
    def get(self, field: Field) -> tuple[int, int]:
        """(value, mask) of ``field`` in this match."""
        return field.get(self.value), field.get_mask(self.mask)

    def slot(self, slot: int) -> tuple[int, int]:
        return self.value[slot], self.mask[slot]

    def is_catchall(self) -> bool:
        return not any(self.mask)

    def matches(self, flow: Sequence[int]) -> bool:
        """Does ``flow`` (a full flow tuple) fall under this match?"""
        for v, m, f in zip(self.value, self.mask, flow):
            if m and (f & m) != v:
                return False
        return True

    def covers(self, other: Match) -> bool:
        """True when every flow matched by ``other`` is matched by ``self`` (loose
        flow_mod/flow-stats semantics: ``self`` is the request's match)."""
        for sv, sm, ov, om in zip(self.value, self.mask, other.value, other.mask):
            if sm & ~om:
                return False
            if (ov & sm) != sv:
                return False
        return True

    # -- identity ---------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Match) and self.mask == other.mask and self.value == other.value
        )

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self.value, self.mask))
        return self._hash

    def __repr__(self) -> str:
        parts = [
            f"{L.SLOT_NAMES[i]}={self.value[i]:#x}/{self.mask[i]:#x}"
            for i in range(L.N_FLOW)
            if self.mask[i]
        ]
        return f"Match({', '.join(parts)})"

    # -- prerequisites ----------------------------------------------------------------
    def dl_type(self) -> int | None:
        """The exactly matched Ethernet type, or None."""
        if self.mask[L.ETH_TYPE] == 0xFFFF:
            return self.value[L.ETH_TYPE]
        return None

    def nw_proto(self) -> int | None:
        if self.mask[L.NW_PROTO] == 0xFF:
            return self.value[L.NW_PROTO]
        return None

    def prereqs_ok(self, prereq: Prereq) -> bool:
        """Whether this match satisfies ``prereq`` (OVS ``mf_are_match_prereqs_fulfilled``)."""
        dl = self.dl_type()
        ip4 = dl == L.ETH_TYPE_IP
        ip6 = dl == L.ETH_TYPE_IPV6
        proto = self.nw_proto()
        if prereq is Prereq.NONE:
            return True
        if prereq is Prereq.ARP:
            return dl in (L.ETH_TYPE_ARP, L.ETH_TYPE_RARP)
        if prereq is Prereq.IPV4:
            return ip4
        if prereq is Prereq.IPV6:
            return ip6
        if prereq is Prereq.IP_ANY:
            return ip4 or ip6
        if prereq is Prereq.VLAN_VID:
            return bool(self.value[L.VLAN_TCI] & L.VLAN_CFI)
        if prereq is Prereq.CT_VALID:
            st, sm = self.value[L.CT_STATE], self.mask[L.CT_STATE]
            valid = L.CS_NEW | L.CS_ESTABLISHED | L.CS_RELATED | L.CS_REPLY_DIR
            valid |= L.CS_SRC_NAT | L.CS_DST_NAT
            return bool(st & valid) or bool(
                st & L.CS_TRACKED and sm & L.CS_INVALID and not st & L.CS_INVALID
            )
        if prereq is Prereq.TCP:
            return (ip4 or ip6) and proto == L.IPPROTO_TCP
        if prereq is Prereq.UDP:
            return (ip4 or ip6) and proto == L.IPPROTO_UDP
        if prereq is Prereq.SCTP:
            return (ip4 or ip6) and proto == L.IPPROTO_SCTP
        if prereq is Prereq.L4_ANY:
            return (ip4 or ip6) and proto in (L.IPPROTO_TCP, L.IPPROTO_UDP, L.IPPROTO_SCTP)
        if prereq is Prereq.ICMPV4:
            return ip4 and proto == L.IPPROTO_ICMP
        if prereq is Prereq.ICMPV6:
            return ip6 and proto == L.IPPROTO_ICMPV6
        if prereq in (Prereq.ND, Prereq.ND_SOLICIT, Prereq.ND_ADVERT):
            if not (ip6 and proto == L.IPPROTO_ICMPV6):
                return False
            if self.mask[L.TP_SRC] != 0xFFFF and self.mask[L.TP_SRC] != 0xFF:
                return False
            t, code = self.value[L.TP_SRC], self.value[L.TP_DST]
            if code != 0:
                return False
            if prereq is Prereq.ND:
                return t in (135, 136)
            if prereq is Prereq.ND_SOLICIT:
                return t == 135
            return t == 136
        return False  # pragma: no cover - every Prereq is handled above


class MatchBuilder:
    """Mutable helper for assembling a :class:`Match` field by field."""

    __slots__ = ("value", "mask")

    def __init__(self, base: Match | None = None) -> None:
        self.value: list[int] = list(base.value) if base else list(L.EMPTY_FLOW)
        self.mask: list[int] = list(base.mask) if base else list(L.EMPTY_MASK)

    def set_field(self, field: Field, value: int, mask: int | None = None) -> None:
        if mask is None:
            mask = field.full_mask
        for slot, sv, sm in field.to_slots(value, mask):
            self.value[slot] = (self.value[slot] & ~sm) | sv
            self.mask[slot] |= sm

    def set_slot(self, slot: int, value: int, mask: int) -> None:
        self.value[slot] = (self.value[slot] & ~mask) | (value & mask)
        self.mask[slot] |= mask

    def clear_slot(self, slot: int) -> None:
        self.value[slot] = 0
        self.mask[slot] = 0

    def build(self) -> Match:
        return Match(self.value, self.mask)
