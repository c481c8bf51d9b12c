"""NXM and OXM match TLVs <-> :class:`~pyvswitch.flow.match.Match`.

A TLV is ``header(4) [experimenter(4)] value [mask]`` with the header
``class(16) field(7) hasmask(1) length(8)``.  NXM (OpenFlow 1.0 Nicira) and OXM (OpenFlow
1.2+) use the same layout and may be mixed freely, so one decoder reads both; the encoder
writes OXM headers where a field has one (OpenFlow 1.3) or NXM ones (1.0), in OVS's field
order, so a match re-encodes to the bytes ovs-ofctl sends.

Decoding follows OVS: a value bit outside the mask is BAD_WILDCARDS, an unknown header
BAD_FIELD, a partial mask on a non-maskable field BAD_MASK, an out-of-range value
BAD_VALUE, a field given twice DUP_FIELD, a short TLV BAD_LEN.  Prerequisites are checked
once all TLVs are read (lenient about their order) and fail with BAD_PREREQ.  An all-ones
mask means exact, an all-zero mask means the field is absent.  ``OXM_OF_VLAN_VID`` carries
the 0x1000 "tag present" bit; ``OXM_OF_IN_PORT`` is 32-bit and mapped to the internal 16-bit
port numbers.

Layer: openflow.  Imports: flow.fields, flow.match, flow.layout, types, errors,
openflow.header.
"""

from __future__ import annotations

import struct

from pyvswitch.errors import OFPError
from pyvswitch.flow import layout as L
from pyvswitch.flow.fields import FIELDS, NXM_NX, OXM_EXPERIMENTER, Field, WireCode, field_by_wire
from pyvswitch.flow.match import Match, MatchBuilder
from pyvswitch.openflow.header import U16, U32, Reader, pad8
from pyvswitch.types import OFPP_MAX, ofp_port_from_of13, ofp_port_to_of13

F = FIELDS

#: the NXM cookie pseudo-field of NXT_FLOW_MOD / NXST_FLOW (class 1, field 30)
NXM_NX_COOKIE = WireCode(NXM_NX, 30, 8)

OFPMT_OXM = 1

#: value bits a field accepts when they differ from its declared width
_VALID_BITS = {"ct_state": 0xFF}

_IN_PORT = F["in_port"]
_IN_PORT_OXM = F["in_port_oxm"]
_VLAN_VID = F["vlan_vid"]
_VLAN_PCP = F["vlan_pcp"]


# ----------------------------------------------------------------------------- headers
def wire_code(field: Field, oxm: bool) -> WireCode:
    """The code ``field`` travels under: OXM in OpenFlow 1.2+ when it has one, else NXM."""
    if oxm and field.oxm is not None:
        return field.oxm
    code = field.nxm or field.oxm
    if code is None:
        raise OFPError("OFPBMC_BAD_FIELD", f"field {field.name} has no wire encoding")
    return code


def put_header(out: bytearray, code: WireCode, masked: bool = False) -> None:
    """Append the TLV header of ``code`` (8 bytes for experimenter fields)."""
    out += U32.pack(code.header(masked))
    if code.experimenter:
        out += U32.pack(code.experimenter)


def header_value(code: WireCode) -> int:
    """The header as one int: 32 bits, or 64 bits (header << 32 | id) for experimenters."""
    h = code.header(False)
    return (h << 32) | code.experimenter if code.experimenter else h


def field_from_header(header: int, error: str = "OFPBAC_BAD_SET_TYPE") -> Field:
    """The field a 32-bit NXM/OXM header (as used inside actions) names.

    A header with the hasmask bit names the same field; a wrong length or an unknown
    class/field raises ``error``.
    """
    cls, num, hasmask, length = header >> 16, (header >> 9) & 0x7F, header & 0x100, header & 0xFF
    if hasmask:
        length //= 2
    f = field_by_wire(cls, num)
    if f is None or cls == OXM_EXPERIMENTER:
        raise OFPError(error, f"unknown field header {header:#010x}")
    code = f.nxm if f.nxm is not None and f.nxm.cls == cls else f.oxm
    if code is None or code.nbytes != length:
        raise OFPError(error, f"field header {header:#010x} has the wrong length")
    return f


def header_for_action(field: Field) -> int:
    """The 32-bit header OVS writes for ``field`` inside Nicira actions (NXM preferred)."""
    code = field.nxm or field.oxm
    if code is None or code.experimenter:
        raise OFPError("OFPBAC_BAD_SET_TYPE", f"{field.name} has no NXM header")
    return code.header(False)


# ----------------------------------------------------------------------------- decoding
def pull_entry(r: Reader, *, allow_mask: bool = True,
               allow_cookie: bool = False) -> tuple[Field | None, int, int, bool]:
    """Read one TLV: (field or None for the cookie, value, mask, had_mask).

    The returned value and mask are raw wire integers; the caller applies them.
    """
    r.error = "OFPBMC_BAD_LEN"
    (header,) = r.unpack(U32, "OXM header")
    cls, num = header >> 16, (header >> 9) & 0x7F
    hasmask = bool(header & 0x100)
    length = header & 0xFF
    experimenter = 0
    if cls == OXM_EXPERIMENTER:
        (experimenter,) = r.unpack(U32, "experimenter OXM header")
        if length < 4:
            raise OFPError("OFPBMC_BAD_LEN", f"experimenter OXM length {length} < 4")
        length -= 4
    payload = r.take(length, "OXM payload")
    width = length // 2 if hasmask else length
    value = int.from_bytes(payload[:width], "big")
    mask = int.from_bytes(payload[width:2 * width], "big") if hasmask else (1 << 8 * width) - 1
    if hasmask and value & ~mask:
        raise OFPError("OFPBMC_BAD_WILDCARDS",
                       f"OXM {header:#010x} has 1-bits in the value outside the mask")
    if allow_cookie and cls == NXM_NX_COOKIE.cls and num == NXM_NX_COOKIE.num and width == 8:
        return None, value, mask, hasmask
    f = field_by_wire(cls, num, experimenter)
    code = None
    if f is not None:
        code = f.oxm if f.oxm is not None and f.oxm.cls == cls else f.nxm
    if f is None or code is None or code.nbytes != width or (hasmask and width * 2 != length):
        raise OFPError("OFPBMC_BAD_FIELD", f"unknown OXM/NXM header {header:#010x}")
    if hasmask and not allow_mask:
        raise OFPError("OFPBMC_BAD_MASK", f"masked {f.name} not allowed here")
    if hasmask and not f.maskable and mask not in (0, (1 << 8 * width) - 1):
        raise OFPError("OFPBMC_BAD_MASK", f"field {f.name} cannot be masked")
    return f, value, mask, hasmask


def _valid_bits(f: Field) -> int:
    return _VALID_BITS.get(f.name, f.full_mask)


def check_value(f: Field, value: int, error: str = "OFPBMC_BAD_VALUE") -> int:
    """Validate a wire value for ``f`` and convert it to the internal representation."""
    if f is _IN_PORT_OXM:
        if OFPP_MAX <= value < 0xFFFFFF00:
            raise OFPError(error, f"in_port {value:#x} is not a valid OpenFlow 1.1+ port")
        return ofp_port_from_of13(value)
    if value & ~_valid_bits(f):
        raise OFPError(error, f"value {value:#x} is out of range for {f.name}")
    return value


def decode_match_tlvs(data: bytes, allow_cookie: bool = False) -> tuple[Match, int, int]:
    """Decode NXM/OXM TLVs (no padding) into (match, cookie, cookie_mask)."""
    r = Reader(data, error="OFPBMC_BAD_LEN")
    b = MatchBuilder()
    cookie = cookie_mask = 0
    seen: list[Field] = []
    pcp: int | None = None
    while r.remaining:
        f, value, mask, _ = pull_entry(r, allow_cookie=allow_cookie)
        if f is None:
            if cookie_mask:
                raise OFPError("OFPBMC_DUP_FIELD", "cookie given twice")
            cookie, cookie_mask = value, mask
            continue
        value = check_value(f, value)
        if f is _IN_PORT_OXM:
            f, mask = _IN_PORT, _IN_PORT.full_mask
        if f is _VLAN_PCP:
            if pcp is not None:
                raise OFPError("OFPBMC_DUP_FIELD", "vlan_pcp given twice")
            if mask & 7:
                pcp = value & 7
            continue
        mask &= _valid_bits(f)
        if f.get_mask(b.mask) & f.full_mask:
            raise OFPError("OFPBMC_DUP_FIELD", f"field {f.name} given twice")
        seen.append(f)
        if mask:
            b.set_field(f, value, mask)
    if pcp is not None:
        if not (b.mask[L.VLAN_TCI] & b.value[L.VLAN_TCI] & L.VLAN_CFI):
            raise OFPError("OFPBMC_BAD_PREREQ", "vlan_pcp without a VLAN tag match")
        if b.mask[L.VLAN_TCI] & L.VLAN_PCP_MASK:
            raise OFPError("OFPBMC_DUP_FIELD", "vlan_pcp given twice")
        b.set_slot(L.VLAN_TCI, (pcp << 13) | L.VLAN_CFI, L.VLAN_PCP_MASK | L.VLAN_CFI)
    match = b.build()
    for f in seen:
        if not match.prereqs_ok(f.prereq):
            raise OFPError("OFPBMC_BAD_PREREQ", f"prerequisites of {f.name} are not met")
    return match, cookie, cookie_mask


def pull_nx_match(r: Reader, match_len: int,
                  allow_cookie: bool = False) -> tuple[Match, int, int]:
    """Read an NXM match of ``match_len`` bytes plus its padding to 8."""
    padded = match_len + pad8(match_len)
    if padded > r.remaining:
        raise OFPError("OFPBMC_BAD_LEN", f"nx_match of {match_len} bytes exceeds the message")
    data = r.take(padded)
    return decode_match_tlvs(data[:match_len], allow_cookie)


def pull_ofp11_match(r: Reader) -> Match:
    """Read an OpenFlow 1.2+ ``ofp_match`` (type OXM, length, TLVs, padding)."""
    if r.remaining < 4:
        raise OFPError("OFPBMC_BAD_LEN", "match header truncated")
    mtype, length = struct.unpack_from("!HH", r.data, r.pos)
    if mtype != OFPMT_OXM:
        raise OFPError("OFPBMC_BAD_TYPE", f"match type {mtype} is not OXM")
    if length < 4:
        raise OFPError("OFPBMC_BAD_LEN", f"match length {length} < 4")
    padded = length + pad8(length)
    if padded > r.remaining:
        raise OFPError("OFPBMC_BAD_LEN", f"match of {length} bytes exceeds the message")
    data = r.take(padded)
    return decode_match_tlvs(data[4:length])[0]


# ----------------------------------------------------------------------------- encoding
class _Put:
    __slots__ = ("out", "oxm")

    def __init__(self, oxm: bool) -> None:
        self.out = bytearray()
        self.oxm = oxm

    def entry(self, f: Field, value: int, mask: int | None = None) -> None:
        """One TLV; ``mask`` None or equal to the field's full mask means exact."""
        code = wire_code(f, self.oxm)
        masked = mask is not None and mask != f.full_mask
        put_header(self.out, code, masked)
        self.out += (value & (mask if masked else -1)).to_bytes(code.nbytes, "big")
        if masked:
            self.out += mask.to_bytes(code.nbytes, "big")

    def field(self, m: Match, f: Field) -> None:
        """``f`` as it is in ``m``, masked as needed, if present at all."""
        value, mask = m.get(f)
        if mask:
            self.entry(f, value, mask)

    def exact(self, f: Field, value: int) -> None:
        self.entry(f, value, None)


_REGS = tuple(F[f"reg{i}"] for i in range(L.N_REGS))
_ARP = ("arp_spa", "arp_tpa", "arp_sha", "arp_tha")
_CT_MAIN = ("ct_state", "ct_zone", "ct_mark", "ct_label", "ct_nw_src", "ct_ipv6_src",
            "ct_nw_dst", "ct_ipv6_dst")


def encode_match_tlvs(m: Match, oxm: bool, cookie: int = 0, cookie_mask: int = 0) -> bytes:
    """``m`` as NXM (``oxm`` False) or OXM TLVs, without padding, in OVS's order.

    Fields whose prerequisites the match does not state are left out, as OVS does.
    """
    p = _Put(oxm)
    v, k = m.value, m.mask
    p.field(m, F["dp_hash"])
    if k[L.RECIRC_ID]:
        p.exact(F["recirc_id"], v[L.RECIRC_ID])
    if k[L.IN_PORT]:
        if oxm:
            p.exact(_IN_PORT_OXM, ofp_port_to_of13(v[L.IN_PORT]))
        else:
            p.exact(_IN_PORT, v[L.IN_PORT])
    p.field(m, F["eth_src"])
    p.field(m, F["eth_dst"])
    if k[L.ETH_TYPE]:
        p.exact(F["eth_type"], v[L.ETH_TYPE])
    _put_vlan(p, v[L.VLAN_TCI], k[L.VLAN_TCI])
    dl_type = v[L.ETH_TYPE]
    if dl_type in (L.ETH_TYPE_IP, L.ETH_TYPE_IPV6):
        _put_ip(p, m, dl_type)
    elif dl_type in (L.ETH_TYPE_ARP, L.ETH_TYPE_RARP):
        if k[L.NW_PROTO]:
            p.exact(F["arp_op"], v[L.NW_PROTO])
        for name in _ARP:
            p.field(m, F[name])
    p.field(m, F["tun_id"])
    p.field(m, F["tun_src"])
    p.field(m, F["tun_dst"])
    for f in _REGS:
        p.field(m, f)
    p.field(m, F["pkt_mark"])
    for name in _CT_MAIN:
        p.field(m, F[name])
    if v[L.CT_NW_PROTO]:
        p.field(m, F["ct_nw_proto"])
        p.field(m, F["ct_tp_src"])
        p.field(m, F["ct_tp_dst"])
    p.field(m, F["metadata"])
    if cookie_mask:
        masked = cookie_mask != 0xFFFFFFFFFFFFFFFF
        put_header(p.out, NXM_NX_COOKIE, masked)
        p.out += (cookie & cookie_mask).to_bytes(8, "big")
        if masked:
            p.out += cookie_mask.to_bytes(8, "big")
    return bytes(p.out)


def _put_vlan(p: _Put, tci: int, mask: int) -> None:
    if not p.oxm:
        if mask:
            p.entry(F["vlan_tci"], tci, mask)
        return
    vid, vmask = tci & 0x1FFF, mask & 0x1FFF
    if vmask == 0x1FFF:
        p.exact(_VLAN_VID, vid)
    elif vmask:
        p.entry(_VLAN_VID, vid, vmask)
    if vid and mask & L.VLAN_PCP_MASK:
        p.exact(_VLAN_PCP, (tci >> 13) & 7)


def _put_ip(p: _Put, m: Match, dl_type: int) -> None:
    v, k = m.value, m.mask
    if dl_type == L.ETH_TYPE_IP:
        p.field(m, F["ip_src"])
        p.field(m, F["ip_dst"])
    else:
        p.field(m, F["ipv6_src"])
        p.field(m, F["ipv6_dst"])
    p.field(m, F["ip_frag"])
    if k[L.NW_TOS] & 0xFC:
        if p.oxm:
            p.exact(F["ip_dscp"], v[L.NW_TOS] >> 2)
        else:
            p.exact(F["nw_tos"], v[L.NW_TOS] & 0xFC)
    if k[L.NW_TOS] & 3:
        p.exact(F["nw_ecn"], v[L.NW_TOS] & 3)
    if k[L.NW_TTL]:
        p.exact(F["nw_ttl"], v[L.NW_TTL])
    p.field(m, F["ipv6_label"])
    if not k[L.NW_PROTO]:
        return
    proto = v[L.NW_PROTO]
    p.exact(F["nw_proto"], proto)
    if proto == L.IPPROTO_TCP:
        p.field(m, F["tcp_src"])
        p.field(m, F["tcp_dst"])
        p.field(m, F["tcp_flags"])
    elif proto == L.IPPROTO_UDP:
        p.field(m, F["udp_src"])
        p.field(m, F["udp_dst"])
    elif proto == L.IPPROTO_SCTP:
        p.field(m, F["sctp_src"])
        p.field(m, F["sctp_dst"])
    elif proto == L.IPPROTO_ICMP and dl_type == L.ETH_TYPE_IP:
        if k[L.TP_SRC]:
            p.exact(F["icmp_type"], v[L.TP_SRC] & 0xFF)
        if k[L.TP_DST]:
            p.exact(F["icmp_code"], v[L.TP_DST] & 0xFF)
    elif proto == L.IPPROTO_ICMPV6 and dl_type == L.ETH_TYPE_IPV6:
        if k[L.TP_SRC]:
            p.exact(F["icmpv6_type"], v[L.TP_SRC] & 0xFF)
        if k[L.TP_DST]:
            p.exact(F["icmpv6_code"], v[L.TP_DST] & 0xFF)
        if v[L.TP_DST] == 0 and v[L.TP_SRC] in (135, 136):
            p.field(m, F["nd_target"])
            p.field(m, F["nd_sll"] if v[L.TP_SRC] == 135 else F["nd_tll"])


def put_ofp11_match(out: bytearray, m: Match) -> None:
    """Append an OpenFlow 1.2+ ``ofp_match`` (OXM) with its padding."""
    tlvs = encode_match_tlvs(m, oxm=True)
    out += U16.pack(OFPMT_OXM) + U16.pack(4 + len(tlvs)) + tlvs
    out += bytes(pad8(4 + len(tlvs)))


def put_nx_match(out: bytearray, m: Match, cookie: int = 0, cookie_mask: int = 0) -> int:
    """Append an NXM match padded to 8 bytes; returns the unpadded length."""
    tlvs = encode_match_tlvs(m, oxm=False, cookie=cookie, cookie_mask=cookie_mask)
    out += tlvs + bytes(pad8(len(tlvs)))
    return len(tlvs)
