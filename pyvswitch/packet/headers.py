"""Where the L3 and L4 headers of an Ethernet frame start.

Key extraction, conntrack and the datapath's header rewrites (set_field, NAT) all need
to find the network and transport headers of a frame.  They must agree with each other
and with OVS's ``miniflow_extract`` (lib/flow.c) about where those headers are and when a
header is too damaged to be used, or a rewrite could touch bytes that extraction
considered payload.  This module is that single answer:

* :func:`l3_offset` walks the Ethernet header, up to :func:`get_vlan_limit` VLAN tags
  and an 802.3 LLC/SNAP header, exactly as OVS computes ``l3_ofs``.
* :func:`l4_offset` applies OVS's IPv4/IPv6 sanity checks and walks IPv6 extension
  headers (:func:`ipv6_ext_hdrs`), as OVS computes ``l4_ofs``.
* :func:`l3_end` is where the IP datagram ends (Ethernet padding excluded), which L4
  checksums and payload rewrites need.

Nothing here raises on malformed input: "no such header" is an offset of -1.

Layer: packet.  Imports: the standard library only.
"""

from __future__ import annotations

import struct

Buffer = bytes | bytearray | memoryview

# Values repeated from flow.layout (the flow layer sits above this one).
ETH_HEADER_LEN = 14
ETH_TYPE_MIN = 0x0600  # smaller values in the type field are 802.3 lengths
DL_TYPE_NONE = 0x05FF  # OVS's FLOW_DL_TYPE_NONE: 802.3 frame without a usable type
ETH_TYPE_IP = 0x0800
ETH_TYPE_IPV6 = 0x86DD
ETH_TYPE_VLAN_8021Q = 0x8100
ETH_TYPE_VLAN_8021AD = 0x88A8
FLOW_NW_FRAG_ANY = 1
FLOW_NW_FRAG_LATER = 2
IPPROTO_HOPOPTS = 0
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_AH = 51
IPPROTO_DSTOPTS = 60

#: the most VLAN headers any flow can describe (OVS's FLOW_MAX_VLAN_HEADERS)
FLOW_MAX_VLAN_HEADERS = 2

#: the 6 bytes that open an LLC/SNAP header carrying an Ethernet type (OUI 00-00-00)
LLC_SNAP_ETHERNET = b"\xaa\xaa\x03\x00\x00\x00"

_U16 = struct.Struct("!H")
_IP4 = struct.Struct("!B x H 2x H x B")  # ver/ihl, total length, frag word, protocol
_IP6 = struct.Struct("!4x H B")  # payload length, next header
_FRAG6 = struct.Struct("!B x H")  # next header, offset/flags word

_IPV6_EXT = frozenset(
    (IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_AH, IPPROTO_FRAGMENT)
)

# A one-element list so that readers in other modules see updates without re-importing.
_vlan_limit = [FLOW_MAX_VLAN_HEADERS]


def set_vlan_limit(limit: int) -> None:
    """Parse at most ``limit`` VLAN headers; further tags are payload.

    This is ``other_config:vlan-limit``: ovs-vswitchd sets 1 unless configured, 0 means
    "as many as flows can hold" (2).  It is global, as OVS's ``flow_vlan_limit`` is,
    because every datapath must extract keys the same way.
    """
    _vlan_limit[0] = FLOW_MAX_VLAN_HEADERS if limit <= 0 else min(limit, FLOW_MAX_VLAN_HEADERS)


def get_vlan_limit() -> int:
    return _vlan_limit[0]


def vlan_limit_cell() -> list[int]:
    """The mutable cell holding the VLAN limit, for the key extractor's hot loop."""
    return _vlan_limit


def llc_snap_type(data: Buffer, ofs: int) -> tuple[int, int]:
    """The ethertype of an 802.3 frame whose LLC header starts at ``ofs``, and the L3 offset.

    Only LLC/SNAP with OUI 00-00-00 and a real ethertype inside carries one; anything else
    is ``DL_TYPE_NONE`` with the L3 offset left at ``ofs`` (OVS does not pull the LLC
    header then).
    """
    if len(data) - ofs >= 8 and data[ofs:ofs + 6] == LLC_SNAP_ETHERNET:
        snap_type = _U16.unpack_from(data, ofs + 6)[0]
        return (snap_type if snap_type >= ETH_TYPE_MIN else DL_TYPE_NONE), ofs + 8
    return DL_TYPE_NONE, ofs


def l3_offset(data: Buffer) -> tuple[int, int]:
    """``(offset of the L3 header, ethertype)``; ``(-1, 0)`` without a full Ethernet header.

    Tags beyond the VLAN limit, or a tag whose 4 bytes plus the next type do not fit,
    are left in place and the ethertype is then the tag's TPID, as in OVS.
    """
    n = len(data)
    if n < ETH_HEADER_LEN:
        return -1, 0
    ofs = 12
    eth_type = _U16.unpack_from(data, ofs)[0]
    n_vlans = 0
    limit = _vlan_limit[0]
    while (
        (eth_type == ETH_TYPE_VLAN_8021Q or eth_type == ETH_TYPE_VLAN_8021AD)
        and n_vlans < limit
        and n - ofs >= 6
    ):
        ofs += 4
        eth_type = _U16.unpack_from(data, ofs)[0]
        n_vlans += 1
    ofs += 2
    if eth_type >= ETH_TYPE_MIN:
        return ofs, eth_type
    eth_type, ofs = llc_snap_type(data, ofs)
    return ofs, eth_type


def ipv6_ext_hdrs(data: Buffer, ofs: int, end: int, proto: int) -> tuple[int, int, int]:
    """Skip the IPv6 extension headers in ``data[ofs:end]``, the first being ``proto``.

    Returns ``(offset of the upper-layer header, its protocol, nw_frag bits)``, or an
    offset of -1 when an extension header does not fit (each must have 8 bytes, then
    its full length).  A fragment header with a non-zero offset ends the walk with
    protocol 44 (``IPPROTO_FRAGMENT``) and ``FLOW_NW_FRAG_LATER``: later fragments carry
    no upper-layer header.  Hop-by-hop, routing, destination options and AH are skipped
    wherever they appear; the ESP header and unknown ones end the walk, as in OVS.
    """
    frag = 0
    while proto in _IPV6_EXT:
        if end - ofs < 8:
            return -1, proto, frag
        if proto == IPPROTO_FRAGMENT:
            proto, offlg = _FRAG6.unpack_from(data, ofs)
            ofs += 8
            if offlg:
                frag = FLOW_NW_FRAG_ANY
                if offlg & 0xFFF8:
                    return ofs, IPPROTO_FRAGMENT, FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER
        else:
            size = (data[ofs + 1] + 2) * 4 if proto == IPPROTO_AH else (data[ofs + 1] + 1) * 8
            proto = data[ofs]
            if end - ofs < size:
                return -1, proto, frag
            ofs += size
    return ofs, proto, frag


def ipv4_header_ok(data: Buffer, l3_ofs: int) -> bool:
    """OVS's IPv4 sanity check: IHL >= 5 and the header and total length within the frame."""
    size = len(data) - l3_ofs
    if l3_ofs < 0 or size < 20:
        return False
    vihl, tot_len, _, _ = _IP4.unpack_from(data, l3_ofs)
    ihl = (vihl & 0x0F) * 4
    return 20 <= ihl <= size and ihl <= tot_len <= size and size - tot_len <= 0xFFFF


def ipv6_header_ok(data: Buffer, l3_ofs: int) -> bool:
    """OVS's IPv6 sanity check: a full fixed header and the payload within the frame."""
    size = len(data) - l3_ofs
    if l3_ofs < 0 or size < 40:
        return False
    plen = _IP6.unpack_from(data, l3_ofs)[0] + 40
    return plen <= size and size - plen <= 0xFFFF


def l3_end(data: Buffer, l3_ofs: int, eth_type: int) -> int:
    """Offset just past the IP datagram (where Ethernet padding begins); -1 if not sane IP."""
    if eth_type == ETH_TYPE_IP:
        if ipv4_header_ok(data, l3_ofs):
            return l3_ofs + _U16.unpack_from(data, l3_ofs + 2)[0]
    elif eth_type == ETH_TYPE_IPV6 and ipv6_header_ok(data, l3_ofs):
        return l3_ofs + 40 + _U16.unpack_from(data, l3_ofs + 4)[0]
    return -1


def l4_offset(data: Buffer, l3_ofs: int, eth_type: int) -> tuple[int, int, int]:
    """``(offset of the L4 header, IP protocol, nw_frag bits)`` of an IPv4/IPv6 packet.

    The offset is -1 for non-IP frames and for IP headers that fail OVS's sanity checks
    (the protocol and fragment bits are then 0).  Later fragments do have an offset (just
    past the IP header) but no L4 header is there: check ``FLOW_NW_FRAG_LATER``.
    """
    if eth_type == ETH_TYPE_IP:
        if not ipv4_header_ok(data, l3_ofs):
            return -1, 0, 0
        vihl, _, frag_word, proto = _IP4.unpack_from(data, l3_ofs)
        frag = 0
        if frag_word & 0x3FFF:
            frag = FLOW_NW_FRAG_ANY | (FLOW_NW_FRAG_LATER if frag_word & 0x1FFF else 0)
        return l3_ofs + (vihl & 0x0F) * 4, proto, frag
    if eth_type == ETH_TYPE_IPV6 and ipv6_header_ok(data, l3_ofs):
        plen, nxt = _IP6.unpack_from(data, l3_ofs)
        ofs, proto, frag = ipv6_ext_hdrs(data, l3_ofs + 40, l3_ofs + 40 + plen, nxt)
        if ofs >= 0:
            return ofs, proto, frag
    return -1, 0, 0
