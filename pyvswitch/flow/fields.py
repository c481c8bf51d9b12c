"""The field registry (OVS "meta-flow"): every field a user can match, set, load or move.

Each :class:`Field` says how ovs-ofctl spells it (name, aliases, NXM/OXM names), how wide
it is, whether it can be masked, what a match must also say for it to make sense
(prerequisites), how its value is printed, how it travels on the wire (NXM/OXM class,
field number, byte width), and where it lives in the flat flow layout
(:mod:`pyvswitch.flow.layout`).

Fields map to *parts* of slots: most use one slot (possibly a bit range of it, as DSCP
within ``NW_TOS``); ``xreg``/``xxreg`` span several register slots.  The VLAN fields of
OpenFlow 1.0 (``dl_vlan``, ``dl_vlan_pcp``) imply the tag-present bit, as OVS does.

Layer: flow.  Imports: flow.layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from enum import Enum

from pyvswitch.flow import layout as L


class Prereq(Enum):
    """What a match must also constrain for a field to be meaningful (OVS ``mf_prereqs``)."""

    NONE = "none"
    ARP = "arp"
    VLAN_VID = "vlan_vid"
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    IP_ANY = "ip_any"
    CT_VALID = "ct_valid"
    TCP = "tcp"
    UDP = "udp"
    SCTP = "sctp"
    L4_ANY = "l4_any"  # tcp, udp or sctp (the legacy tp_src/tp_dst names)
    ICMPV4 = "icmpv4"
    ICMPV6 = "icmpv6"
    ND = "nd"
    ND_SOLICIT = "nd_solicit"
    ND_ADVERT = "nd_advert"


class Fmt(Enum):
    """How a field's value is printed and parsed (OVS ``mf_string``)."""

    DECIMAL = "decimal"
    HEX = "hex"
    ETHERNET = "ethernet"
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    OFP_PORT = "ofp_port"  # 16-bit OpenFlow port, names accepted
    OFP_PORT_OXM = "ofp_port_oxm"  # 32-bit OpenFlow 1.1+ port
    FRAG = "frag"
    TCP_FLAGS = "tcp_flags"
    CT_STATE = "ct_state"


# NXM/OXM classes
NXM_OF = 0x0000
NXM_NX = 0x0001
OXM_OF = 0x8000
OXM_PKT_REGS = 0x8001
OXM_EXPERIMENTER = 0xFFFF
ONF_EXPERIMENTER_ID = 0x4F4E4600


@dataclass(frozen=True, slots=True)
class WireCode:
    """A field's NXM/OXM identity: class, field number, payload width in bytes."""

    cls: int
    num: int
    nbytes: int
    experimenter: int = 0

    def header(self, masked: bool = False) -> int:
        """The 32-bit TLV header (class|field|hasmask|length)."""
        n = self.nbytes * (2 if masked else 1) + (4 if self.experimenter else 0)
        return (self.cls << 16) | (self.num << 9) | (0x100 if masked else 0) | n


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    nbits: int
    #: (slot, shift, nbits) from the most significant part to the least significant
    parts: tuple[tuple[int, int, int], ...]
    maskable: bool
    prereq: Prereq
    fmt: Fmt
    writable: bool = True
    nxm: WireCode | None = None
    oxm: WireCode | None = None
    nxm_name: str | None = None
    oxm_name: str | None = None
    aliases: tuple[str, ...] = ()
    #: implied bits: ORed into value and mask when matching (the VLAN CFI bit)
    match_implied: int = 0
    #: implied bits ORed into the value when the field is written (set_field)
    write_implied: int = 0
    nbytes: int = dc_field(default=0)
    #: bits of the value that are meaningful (nw_tos: 0xfc); 0 means all ``nbits``
    usable: int = 0
    #: slot bits added to the mask (not the value) when the field is matched: OVS keeps
    #: ICMP type/code in the 16-bit transport-port members and matches all 16 bits
    mask_extra: int = 0

    @property
    def slot(self) -> int:
        return self.parts[0][0]

    @property
    def full_mask(self) -> int:
        return self.usable or (1 << self.nbits) - 1

    @property
    def subfield_name(self) -> str:
        """The name OVS prints inside ``NAME[a..b]`` subfield syntax."""
        return self.nxm_name or self.oxm_name or self.name

    def to_slots(self, value: int, mask: int) -> list[tuple[int, int, int]]:
        """Split a (value, mask) of this field into (slot, slot_value, slot_mask) triples."""
        value &= mask
        out = []
        rem = self.nbits
        for slot, shift, nbits in self.parts:
            rem -= nbits
            part_mask = (1 << nbits) - 1
            v = (value >> rem) & part_mask
            m = (mask >> rem) & part_mask
            out.append((slot, v << shift, m << shift))
        if self.match_implied and mask:
            slot, sv, sm = out[0]
            out[0] = (slot, sv | self.match_implied, sm | self.match_implied)
        if self.mask_extra and mask:
            slot, sv, sm = out[0]
            out[0] = (slot, sv, sm | self.mask_extra)
        return out

    def get(self, flow) -> int:
        """This field's value in ``flow`` (a flow tuple or list)."""
        v = 0
        for slot, shift, nbits in self.parts:
            v = (v << nbits) | ((flow[slot] >> shift) & ((1 << nbits) - 1))
        return v

    def get_mask(self, mask) -> int:
        """This field's mask inside a flow-layout mask (inverse of :meth:`to_slots`)."""
        return self.get(mask)

    def set(self, flow: list[int], value: int, mask: int | None = None) -> None:
        """Write ``value`` (under ``mask``) into a mutable flow, as set_field/load do."""
        if mask is None:
            mask = self.full_mask
        value &= mask
        rem = self.nbits
        for i, (slot, shift, nbits) in enumerate(self.parts):
            rem -= nbits
            part_mask = (1 << nbits) - 1
            v = (value >> rem) & part_mask
            m = (mask >> rem) & part_mask
            if not m:
                continue
            cur = flow[slot]
            cur = (cur & ~(m << shift)) | (v << shift)
            if i == 0 and self.write_implied:
                cur |= self.write_implied
            flow[slot] = cur


def _f(name: str, slot: int, nbits: int, *, shift: int = 0, maskable: bool = True,
       prereq: Prereq = Prereq.NONE, fmt: Fmt = Fmt.HEX, writable: bool = True,
       nxm: tuple[int, int, int] | None = None, oxm: tuple[int, int, int] | None = None,
       nxm_name: str | None = None, oxm_name: str | None = None,
       aliases: tuple[str, ...] = (), parts: tuple[tuple[int, int, int], ...] | None = None,
       match_implied: int = 0, write_implied: int = 0,
       experimenter: int = 0, usable: int = 0, mask_extra: int = 0) -> Field:
    nx = WireCode(*nxm) if nxm else None
    ox = WireCode(*oxm, experimenter) if oxm else None
    return Field(
        name=name, nbits=nbits, parts=parts or ((slot, shift, nbits),), maskable=maskable,
        prereq=prereq, fmt=fmt, writable=writable, nxm=nx, oxm=ox, nxm_name=nxm_name,
        oxm_name=oxm_name, aliases=aliases, match_implied=match_implied,
        write_implied=write_implied, nbytes=(nbits + 7) // 8, usable=usable,
        mask_extra=mask_extra,
    )


P = Prereq
F = Fmt

_FIELDS: list[Field] = [
    # metadata
    _f("dp_hash", L.DP_HASH, 32, fmt=F.HEX, writable=False, nxm=(NXM_NX, 35, 4),
       nxm_name="NXM_NX_DP_HASH"),
    _f("recirc_id", L.RECIRC_ID, 32, maskable=False, fmt=F.DECIMAL, writable=False,
       nxm=(NXM_NX, 36, 4), nxm_name="NXM_NX_RECIRC_ID"),
    _f("tun_id", L.TUN_ID, 64, fmt=F.HEX, nxm=(NXM_NX, 16, 8), oxm=(OXM_OF, 38, 8),
       nxm_name="NXM_NX_TUN_ID", oxm_name="OXM_OF_TUNNEL_ID", aliases=("tunnel_id",)),
    _f("tun_src", L.TUN_SRC, 32, fmt=F.IPV4, nxm=(NXM_NX, 31, 4), nxm_name="NXM_NX_TUN_IPV4_SRC"),
    _f("tun_dst", L.TUN_DST, 32, fmt=F.IPV4, nxm=(NXM_NX, 32, 4), nxm_name="NXM_NX_TUN_IPV4_DST"),
    _f("metadata", L.METADATA, 64, fmt=F.HEX, oxm=(OXM_OF, 2, 8), oxm_name="OXM_OF_METADATA"),
    _f("in_port", L.IN_PORT, 16, maskable=False, fmt=F.OFP_PORT, nxm=(NXM_OF, 0, 2),
       nxm_name="NXM_OF_IN_PORT"),
    _f("in_port_oxm", L.IN_PORT, 32, maskable=False, fmt=F.OFP_PORT_OXM, oxm=(OXM_OF, 0, 4),
       oxm_name="OXM_OF_IN_PORT"),
    _f("pkt_mark", L.PKT_MARK, 32, fmt=F.HEX, nxm=(NXM_NX, 33, 4), nxm_name="NXM_NX_PKT_MARK"),
    # conntrack
    _f("ct_state", L.CT_STATE, 8, fmt=F.CT_STATE, writable=False, nxm=(NXM_NX, 105, 4),
       nxm_name="NXM_NX_CT_STATE"),
    _f("ct_zone", L.CT_ZONE, 16, maskable=False, fmt=F.HEX, writable=False,
       nxm=(NXM_NX, 106, 2), nxm_name="NXM_NX_CT_ZONE"),
    _f("ct_mark", L.CT_MARK, 32, fmt=F.HEX, nxm=(NXM_NX, 107, 4), nxm_name="NXM_NX_CT_MARK"),
    _f("ct_label", L.CT_LABEL, 128, fmt=F.HEX, nxm=(NXM_NX, 108, 16), nxm_name="NXM_NX_CT_LABEL"),
    _f("ct_nw_proto", L.CT_NW_PROTO, 8, maskable=False, fmt=F.DECIMAL, writable=False,
       prereq=P.CT_VALID, nxm=(NXM_NX, 119, 1), nxm_name="NXM_NX_CT_NW_PROTO"),
    _f("ct_nw_src", L.CT_NW_SRC, 32, fmt=F.IPV4, writable=False, prereq=P.CT_VALID,
       nxm=(NXM_NX, 120, 4), nxm_name="NXM_NX_CT_NW_SRC"),
    _f("ct_nw_dst", L.CT_NW_DST, 32, fmt=F.IPV4, writable=False, prereq=P.CT_VALID,
       nxm=(NXM_NX, 121, 4), nxm_name="NXM_NX_CT_NW_DST"),
    _f("ct_ipv6_src", L.CT_IPV6_SRC, 128, fmt=F.IPV6, writable=False, prereq=P.CT_VALID,
       nxm=(NXM_NX, 122, 16), nxm_name="NXM_NX_CT_IPV6_SRC"),
    _f("ct_ipv6_dst", L.CT_IPV6_DST, 128, fmt=F.IPV6, writable=False, prereq=P.CT_VALID,
       nxm=(NXM_NX, 123, 16), nxm_name="NXM_NX_CT_IPV6_DST"),
    _f("ct_tp_src", L.CT_TP_SRC, 16, fmt=F.DECIMAL, writable=False, prereq=P.CT_VALID,
       nxm=(NXM_NX, 124, 2), nxm_name="NXM_NX_CT_TP_SRC"),
    _f("ct_tp_dst", L.CT_TP_DST, 16, fmt=F.DECIMAL, writable=False, prereq=P.CT_VALID,
       nxm=(NXM_NX, 125, 2), nxm_name="NXM_NX_CT_TP_DST"),
    # registers
    *[_f(f"reg{i}", L.REG0 + i, 32, fmt=F.HEX, nxm=(NXM_NX, i, 4), nxm_name=f"NXM_NX_REG{i}")
      for i in range(L.N_REGS)],
    *[_f(f"xreg{i}", L.REG0 + 2 * i, 64, fmt=F.HEX, oxm=(OXM_PKT_REGS, i, 8),
         oxm_name=f"OXM_OF_PKT_REG{i}",
         parts=((L.REG0 + 2 * i, 0, 32), (L.REG0 + 2 * i + 1, 0, 32)))
      for i in range(L.N_REGS // 2)],
    *[_f(f"xxreg{i}", L.REG0 + 4 * i, 128, fmt=F.HEX, nxm=(NXM_NX, 111 + i, 16),
         nxm_name=f"NXM_NX_XXREG{i}",
         parts=tuple((L.REG0 + 4 * i + j, 0, 32) for j in range(4)))
      for i in range(L.N_REGS // 4)],
    # ethernet
    _f("eth_src", L.ETH_SRC, 48, fmt=F.ETHERNET, nxm=(NXM_OF, 2, 6), oxm=(OXM_OF, 4, 6),
       nxm_name="NXM_OF_ETH_SRC", oxm_name="OXM_OF_ETH_SRC", aliases=("dl_src",)),
    _f("eth_dst", L.ETH_DST, 48, fmt=F.ETHERNET, nxm=(NXM_OF, 1, 6), oxm=(OXM_OF, 3, 6),
       nxm_name="NXM_OF_ETH_DST", oxm_name="OXM_OF_ETH_DST", aliases=("dl_dst",)),
    _f("eth_type", L.ETH_TYPE, 16, maskable=False, fmt=F.HEX, writable=False,
       nxm=(NXM_OF, 3, 2), oxm=(OXM_OF, 5, 2), nxm_name="NXM_OF_ETH_TYPE",
       oxm_name="OXM_OF_ETH_TYPE", aliases=("dl_type",)),
    # vlan
    _f("vlan_tci", L.VLAN_TCI, 16, fmt=F.HEX, nxm=(NXM_OF, 4, 2), nxm_name="NXM_OF_VLAN_TCI"),
    _f("dl_vlan", L.VLAN_TCI, 12, maskable=False, fmt=F.DECIMAL,
       match_implied=L.VLAN_CFI, write_implied=L.VLAN_CFI),
    _f("vlan_vid", L.VLAN_TCI, 13, fmt=F.DECIMAL, prereq=P.NONE, oxm=(OXM_OF, 6, 2),
       oxm_name="OXM_OF_VLAN_VID", write_implied=L.VLAN_CFI),
    _f("dl_vlan_pcp", L.VLAN_TCI, 3, shift=13, maskable=False, fmt=F.DECIMAL,
       match_implied=L.VLAN_CFI, write_implied=L.VLAN_CFI),
    _f("vlan_pcp", L.VLAN_TCI, 3, shift=13, maskable=False, fmt=F.DECIMAL, prereq=P.VLAN_VID,
       oxm=(OXM_OF, 7, 1), oxm_name="OXM_OF_VLAN_PCP", match_implied=L.VLAN_CFI,
       write_implied=L.VLAN_CFI),
    # IPv4 / IPv6
    _f("ip_src", L.NW_SRC, 32, fmt=F.IPV4, prereq=P.IPV4, nxm=(NXM_OF, 7, 4),
       oxm=(OXM_OF, 11, 4), nxm_name="NXM_OF_IP_SRC", oxm_name="OXM_OF_IPV4_SRC",
       aliases=("nw_src",)),
    _f("ip_dst", L.NW_DST, 32, fmt=F.IPV4, prereq=P.IPV4, nxm=(NXM_OF, 8, 4),
       oxm=(OXM_OF, 12, 4), nxm_name="NXM_OF_IP_DST", oxm_name="OXM_OF_IPV4_DST",
       aliases=("nw_dst",)),
    _f("ipv6_src", L.IPV6_SRC, 128, fmt=F.IPV6, prereq=P.IPV6, nxm=(NXM_NX, 19, 16),
       oxm=(OXM_OF, 26, 16), nxm_name="NXM_NX_IPV6_SRC", oxm_name="OXM_OF_IPV6_SRC"),
    _f("ipv6_dst", L.IPV6_DST, 128, fmt=F.IPV6, prereq=P.IPV6, nxm=(NXM_NX, 20, 16),
       oxm=(OXM_OF, 27, 16), nxm_name="NXM_NX_IPV6_DST", oxm_name="OXM_OF_IPV6_DST"),
    _f("ipv6_label", L.IPV6_LABEL, 20, fmt=F.HEX, prereq=P.IPV6, nxm=(NXM_NX, 27, 4),
       oxm=(OXM_OF, 28, 4), nxm_name="NXM_NX_IPV6_LABEL", oxm_name="OXM_OF_IPV6_FLABEL"),
    _f("nw_proto", L.NW_PROTO, 8, maskable=False, fmt=F.DECIMAL, writable=False,
       prereq=P.IP_ANY, nxm=(NXM_OF, 6, 1), oxm=(OXM_OF, 10, 1), nxm_name="NXM_OF_IP_PROTO",
       oxm_name="OXM_OF_IP_PROTO", aliases=("ip_proto",)),
    _f("nw_tos", L.NW_TOS, 8, maskable=False, fmt=F.DECIMAL, prereq=P.IP_ANY,
       nxm=(NXM_OF, 5, 1), nxm_name="NXM_OF_IP_TOS", usable=0xFC),
    _f("ip_dscp", L.NW_TOS, 6, shift=2, maskable=False, fmt=F.DECIMAL, prereq=P.IP_ANY,
       oxm=(OXM_OF, 8, 1), oxm_name="OXM_OF_IP_DSCP"),
    _f("nw_ecn", L.NW_TOS, 2, maskable=False, fmt=F.DECIMAL, prereq=P.IP_ANY,
       nxm=(NXM_NX, 28, 1), oxm=(OXM_OF, 9, 1), nxm_name="NXM_NX_IP_ECN",
       oxm_name="OXM_OF_IP_ECN", aliases=("ip_ecn",)),
    _f("nw_ttl", L.NW_TTL, 8, maskable=False, fmt=F.DECIMAL, prereq=P.IP_ANY,
       nxm=(NXM_NX, 29, 1), nxm_name="NXM_NX_IP_TTL"),
    _f("ip_frag", L.NW_FRAG, 2, fmt=F.FRAG, writable=False, prereq=P.IP_ANY,
       nxm=(NXM_NX, 26, 1), nxm_name="NXM_NX_IP_FRAG", aliases=("nw_frag",)),
    # ARP
    _f("arp_op", L.NW_PROTO, 8, maskable=False, fmt=F.DECIMAL, prereq=P.ARP,
       nxm=(NXM_OF, 15, 2), oxm=(OXM_OF, 21, 2), nxm_name="NXM_OF_ARP_OP",
       oxm_name="OXM_OF_ARP_OP"),
    _f("arp_spa", L.NW_SRC, 32, fmt=F.IPV4, prereq=P.ARP, nxm=(NXM_OF, 16, 4),
       oxm=(OXM_OF, 22, 4), nxm_name="NXM_OF_ARP_SPA", oxm_name="OXM_OF_ARP_SPA"),
    _f("arp_tpa", L.NW_DST, 32, fmt=F.IPV4, prereq=P.ARP, nxm=(NXM_OF, 17, 4),
       oxm=(OXM_OF, 23, 4), nxm_name="NXM_OF_ARP_TPA", oxm_name="OXM_OF_ARP_TPA"),
    _f("arp_sha", L.ARP_SHA, 48, fmt=F.ETHERNET, prereq=P.ARP, nxm=(NXM_NX, 17, 6),
       oxm=(OXM_OF, 24, 6), nxm_name="NXM_NX_ARP_SHA", oxm_name="OXM_OF_ARP_SHA"),
    _f("arp_tha", L.ARP_THA, 48, fmt=F.ETHERNET, prereq=P.ARP, nxm=(NXM_NX, 18, 6),
       oxm=(OXM_OF, 25, 6), nxm_name="NXM_NX_ARP_THA", oxm_name="OXM_OF_ARP_THA"),
    # L4
    _f("tcp_src", L.TP_SRC, 16, fmt=F.DECIMAL, prereq=P.TCP, nxm=(NXM_OF, 9, 2),
       oxm=(OXM_OF, 13, 2), nxm_name="NXM_OF_TCP_SRC", oxm_name="OXM_OF_TCP_SRC"),
    _f("tcp_dst", L.TP_DST, 16, fmt=F.DECIMAL, prereq=P.TCP, nxm=(NXM_OF, 10, 2),
       oxm=(OXM_OF, 14, 2), nxm_name="NXM_OF_TCP_DST", oxm_name="OXM_OF_TCP_DST"),
    _f("udp_src", L.TP_SRC, 16, fmt=F.DECIMAL, prereq=P.UDP, nxm=(NXM_OF, 11, 2),
       oxm=(OXM_OF, 15, 2), nxm_name="NXM_OF_UDP_SRC", oxm_name="OXM_OF_UDP_SRC"),
    _f("udp_dst", L.TP_DST, 16, fmt=F.DECIMAL, prereq=P.UDP, nxm=(NXM_OF, 12, 2),
       oxm=(OXM_OF, 16, 2), nxm_name="NXM_OF_UDP_DST", oxm_name="OXM_OF_UDP_DST"),
    _f("sctp_src", L.TP_SRC, 16, fmt=F.DECIMAL, prereq=P.SCTP, oxm=(OXM_OF, 17, 2),
       oxm_name="OXM_OF_SCTP_SRC"),
    _f("sctp_dst", L.TP_DST, 16, fmt=F.DECIMAL, prereq=P.SCTP, oxm=(OXM_OF, 18, 2),
       oxm_name="OXM_OF_SCTP_DST"),
    _f("tp_src", L.TP_SRC, 16, fmt=F.DECIMAL, prereq=P.L4_ANY),
    _f("tp_dst", L.TP_DST, 16, fmt=F.DECIMAL, prereq=P.L4_ANY),
    _f("tcp_flags", L.TCP_FLAGS, 12, fmt=F.TCP_FLAGS, writable=False, prereq=P.TCP,
       nxm=(NXM_NX, 34, 2), oxm=(OXM_EXPERIMENTER, 42, 2), nxm_name="NXM_NX_TCP_FLAGS",
       oxm_name="ONFOXM_ET_TCP_FLAGS", experimenter=ONF_EXPERIMENTER_ID),
    _f("icmp_type", L.TP_SRC, 8, maskable=False, mask_extra=0xFF00, fmt=F.DECIMAL,
       prereq=P.ICMPV4,
       nxm=(NXM_OF, 13, 1), oxm=(OXM_OF, 19, 1), nxm_name="NXM_OF_ICMP_TYPE",
       oxm_name="OXM_OF_ICMPV4_TYPE"),
    _f("icmp_code", L.TP_DST, 8, maskable=False, mask_extra=0xFF00, fmt=F.DECIMAL,
       prereq=P.ICMPV4,
       nxm=(NXM_OF, 14, 1), oxm=(OXM_OF, 20, 1), nxm_name="NXM_OF_ICMP_CODE",
       oxm_name="OXM_OF_ICMPV4_CODE"),
    _f("icmpv6_type", L.TP_SRC, 8, maskable=False, mask_extra=0xFF00, fmt=F.DECIMAL,
       prereq=P.ICMPV6,
       nxm=(NXM_NX, 21, 1), oxm=(OXM_OF, 29, 1), nxm_name="NXM_NX_ICMPV6_TYPE",
       oxm_name="OXM_OF_ICMPV6_TYPE"),
    _f("icmpv6_code", L.TP_DST, 8, maskable=False, mask_extra=0xFF00, fmt=F.DECIMAL,
       prereq=P.ICMPV6,
       nxm=(NXM_NX, 22, 1), oxm=(OXM_OF, 30, 1), nxm_name="NXM_NX_ICMPV6_CODE",
       oxm_name="OXM_OF_ICMPV6_CODE"),
    _f("nd_target", L.ND_TARGET, 128, fmt=F.IPV6, prereq=P.ND, nxm=(NXM_NX, 23, 16),
       oxm=(OXM_OF, 31, 16), nxm_name="NXM_NX_ND_TARGET", oxm_name="OXM_OF_IPV6_ND_TARGET"),
    _f("nd_sll", L.ARP_SHA, 48, fmt=F.ETHERNET, prereq=P.ND_SOLICIT, nxm=(NXM_NX, 24, 6),
       oxm=(OXM_OF, 32, 6), nxm_name="NXM_NX_ND_SLL", oxm_name="OXM_OF_IPV6_ND_SLL"),
    _f("nd_tll", L.ARP_THA, 48, fmt=F.ETHERNET, prereq=P.ND_ADVERT, nxm=(NXM_NX, 25, 6),
       oxm=(OXM_OF, 33, 6), nxm_name="NXM_NX_ND_TLL", oxm_name="OXM_OF_IPV6_ND_TLL"),
]

#: every field, by canonical name
FIELDS: dict[str, Field] = {f.name: f for f in _FIELDS}

_BY_ANY_NAME: dict[str, Field] = {}
for _fld in _FIELDS:
    for _n in (_fld.name, *_fld.aliases):
        _BY_ANY_NAME.setdefault(_n, _fld)
for _fld in _FIELDS:
    for _n in (_fld.nxm_name, _fld.oxm_name):
        if _n:
            _BY_ANY_NAME.setdefault(_n, _fld)
            _BY_ANY_NAME.setdefault(_n + "_W", _fld)

_BY_WIRE: dict[tuple[int, int, int], Field] = {}
for _fld in _FIELDS:
    for _code in (_fld.nxm, _fld.oxm):
        if _code is not None:
            _BY_WIRE.setdefault((_code.cls, _code.num, _code.experimenter), _fld)


def field_by_name(name: str) -> Field | None:
    """Look a field up by any spelling ovs-ofctl accepts (name, alias, NXM/OXM name)."""
    f = _BY_ANY_NAME.get(name)
    if f is None:
        f = _BY_ANY_NAME.get(name.lower())
    return f


def field_by_wire(cls: int, num: int, experimenter: int = 0) -> Field | None:
    """Look a field up by its NXM/OXM class and field number."""
    return _BY_WIRE.get((cls, num, experimenter))
