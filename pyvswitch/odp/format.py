"""Datapath flow keys and actions in OVS's text (``ovs-appctl dpctl/dump-flows``).

A datapath key here is a flow tuple (:mod:`pyvswitch.flow.layout`, ``N_DP`` slots) and a
mask of the same shape.  OVS prints a key as a list of netlink-style attributes
(``recirc_id(0)``, ``eth_type(0x0800)``, ``ipv4(...)``); which attributes exist depends
on the *key* (an IPv4 packet has ``ipv4``, a tagged one ``vlan``/``encap``), and which are
shown depends on the *mask*: non-verbose output drops attributes and sub-fields whose
mask is zero and writes ``value/mask`` for partial masks; verbose output (``-m``) shows
every attribute of the key.  The rules below follow OVS 3.1's userspace datapath
(``odp_flow_key_from_flow`` + ``odp_flow_format``), checked against its real output.

Layer: odp.  Imports: flow.layout, flow.ofpacts (Nat flags), odp.actions, odp.text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pyvswitch.flow import layout as L
from pyvswitch.flow.ofpacts import (
    NAT_F_DST,
    NAT_F_PERSISTENT,
    NAT_F_PROTO_HASH,
    NAT_F_PROTO_RANDOM,
    NAT_F_SRC,
    Nat,
)
from pyvswitch.odp import actions as A
from pyvswitch.odp.text import (
    fmt_ip4,
    fmt_ip6,
    fmt_mac,
    format_flags,
    format_flags_masked,
    hex0,
    hex_u128,
)
from pyvswitch.packet.headers import get_vlan_limit

PortNames = Mapping[int, str]

_CT_STATE_NAMES = dict(L.CT_STATE_NAMES)
_TCP_FLAG_NAMES = dict(L.TCP_FLAG_NAMES)
_FULL48 = (1 << 48) - 1
_FULL128 = (1 << 128) - 1
_VLAN_TYPES = (L.ETH_TYPE_VLAN_8021Q, L.ETH_TYPE_VLAN_8021AD)
_ETH_TYPE_MIN = 0x600
_ND_SOLICIT, _ND_ADVERT = 135, 136
_FRAG_NAMES = ("no", "first", "later")

# ------------------------------------------------------------------ sub-field printers
# Each returns "name=value[/mask]," or "" (OVS's format_* helpers).  ``m`` None means the
# attribute has no mask (printed as exact).


def _eth(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == _FULL48:
        return f"{name}={fmt_mac(k)},"
    return f"{name}={fmt_mac(k)}/{fmt_mac(m)},"


def _ip4(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == 0xFFFFFFFF:
        return f"{name}={fmt_ip4(k)},"
    return f"{name}={fmt_ip4(k)}/{fmt_ip4(m)},"


def _ip6(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == _FULL128:
        return f"{name}={fmt_ip6(k)},"
    return f"{name}={fmt_ip6(k)}/{fmt_ip6(m)},"


def _label(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m & 0xFFFFF == 0xFFFFF:
        return f"{name}={hex0(k)},"
    return f"{name}={hex0(k)}/{hex0(m)},"


def _u8x(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == 0xFF:
        return f"{name}={hex0(k)},"
    return f"{name}={hex0(k)}/{hex0(m)},"


def _u8u(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == 0xFF:
        return f"{name}={k},"
    return f"{name}={k}/{hex0(m)},"


def _be16(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == 0xFFFF:
        return f"{name}={k},"
    return f"{name}={k}/{hex0(m)},"


def _be16x(name: str, k: int, m: int | None, verbose: bool) -> str:
    if m == 0 and not verbose:
        return ""
    if m is None or m == 0xFFFF:
        return f"{name}={hex0(k)},"
    return f"{name}={hex0(k)}/{hex0(m)},"


def _frag(k: int, m: int | None) -> str:
    # The datapath frag field is an enumeration: its mask is all or nothing, and an
    # empty mask hides it even in verbose output.
    if m == 0:
        return ""
    if m is not None and m != 0xFF:
        return f"error: partial mask not supported for frag ({hex0(m)}),"
    return f"frag={_FRAG_NAMES[k] if k < 3 else k},"


def _vlan_tci(tci: int, mask: int, verbose: bool) -> str:
    out = ""
    vid, vmask = tci & 0xFFF, mask & 0xFFF
    if verbose or vid or vmask:
        out += f"vid={vid}"
        if vmask != 0xFFF:
            out += f"/0x{vmask:x}"
        out += ","
    pcp, pmask = tci >> 13 & 7, mask >> 13 & 7
    if verbose or pcp or pmask:
        out += f"pcp={pcp}"
        if pmask != 7:
            out += f"/0x{pmask:x}"
        out += ","
    if not tci & L.VLAN_CFI:
        out += "cfi=0,"
    return out.rstrip(",")


def _odp_frag(nw_frag: int) -> int:
    if not nw_frag & L.FLOW_NW_FRAG_ANY:
        return 0
    return 2 if nw_frag & L.FLOW_NW_FRAG_LATER else 1


def _odp_frag_mask(m: int) -> int:
    return 0xFF if m & L.FLOW_NW_FRAG_ANY else 0


# ------------------------------------------------------------------------ attributes
# An attribute is (name, wildcard, nested, body) where body(verbose) is the text inside
# the parentheses.


class _Attrs:
    """Collects the attributes of one nesting level of a key, in OVS's order."""

    __slots__ = ("items", "has_eth_type", "verbose")

    def __init__(self, verbose: bool) -> None:
        self.items: list[tuple[str, bool, bool, Callable[[], str]]] = []
        self.has_eth_type = False
        self.verbose = verbose

    def add(self, name: str, wild: bool, body: Callable[[], str], nested: bool = False) -> None:
        self.items.append((name, wild, nested, body))

    def render(self, mask_given: bool) -> str:
        out = [
            f"{name}({body()})"
            for name, wild, nested, body in self.items
            if self.verbose or not wild or nested
        ]
        text = ",".join(out)
        if not self.has_eth_type and mask_given:
            # A frame without an Ethernet II type: the key has no eth_type but the
            # mask always has one (OVS's backward-compatibility convention).
            text += ",eth_type(0/0xffff)"
        return text


def _u32_attr(k: int, m: int | None) -> str:
    if m is None or m == 0xFFFFFFFF:
        return hex0(k)
    return f"{hex0(k)}/{hex0(m)}"


def format_key(
    key: Sequence[int],
    mask: Sequence[int] | None = None,
    verbose: bool = False,
    port_names: PortNames | None = None,
    vlan_limit: int | None = None,
) -> str:
    """A datapath key (and mask) as ``dpctl/dump-flows`` prints it.

    ``mask`` None prints the key as an exact match (as OVS does for a key alone).
    ``port_names`` maps datapath port numbers to names for ``in_port(...)``.
    ``vlan_limit`` is how many tags keys describe (OVS's ``vlan-limit``); by default the
    one key extraction uses.
    """
    limit = min(2, get_vlan_limit() if vlan_limit is None else vlan_limit)
    v = verbose
    has_mask = mask is not None

    def M(slot: int) -> int | None:
        return None if mask is None else mask[slot]

    def wild(*ms: int | None) -> bool:
        return has_mask and not any(ms)

    top = _Attrs(v)
    # skb_priority: the datapath has none; printed only in verbose output.
    top.add("skb_priority", wild(0) if has_mask else False, lambda: "0/0" if has_mask else "0")

    m = M(L.PKT_MARK)
    top.add("skb_mark", wild(m), lambda: _u32_attr(key[L.PKT_MARK], M(L.PKT_MARK)))

    m = M(L.CT_STATE)
    top.add("ct_state", wild(m), lambda: _ct_state(key[L.CT_STATE], M(L.CT_STATE), v))
    m = M(L.CT_ZONE)
    top.add("ct_zone", wild(m), lambda: _ct_small(key[L.CT_ZONE], M(L.CT_ZONE), 0xFFFF, v))
    m = M(L.CT_MARK)
    top.add("ct_mark", wild(m),
            lambda: _ct_small(key[L.CT_MARK], M(L.CT_MARK), 0xFFFFFFFF, v))
    m = M(L.CT_LABEL)
    top.add("ct_label", wild(m), lambda: _ct_label(key[L.CT_LABEL], M(L.CT_LABEL), v))
    if key[L.CT_NW_PROTO]:
        ms = tuple(M(s) for s in (L.CT_NW_SRC, L.CT_NW_DST, L.CT_IPV6_SRC, L.CT_IPV6_DST,
                                  L.CT_NW_PROTO, L.CT_TP_SRC, L.CT_TP_DST))
        if key[L.ETH_TYPE] == L.ETH_TYPE_IP:
            top.add("ct_tuple4", wild(ms[0], ms[1], ms[4], ms[5], ms[6]), lambda: _join(
                _ip4("src", key[L.CT_NW_SRC], M(L.CT_NW_SRC), v),
                _ip4("dst", key[L.CT_NW_DST], M(L.CT_NW_DST), v),
                _u8u("proto", key[L.CT_NW_PROTO], M(L.CT_NW_PROTO), v),
                _be16("tp_src", key[L.CT_TP_SRC], M(L.CT_TP_SRC), v),
                _be16("tp_dst", key[L.CT_TP_DST], M(L.CT_TP_DST), v)))
        elif key[L.ETH_TYPE] == L.ETH_TYPE_IPV6:
            top.add("ct_tuple6", wild(ms[2], ms[3], ms[4], ms[5], ms[6]), lambda: _join(
                _ip6("src", key[L.CT_IPV6_SRC], M(L.CT_IPV6_SRC), v),
                _ip6("dst", key[L.CT_IPV6_DST], M(L.CT_IPV6_DST), v),
                _u8u("proto", key[L.CT_NW_PROTO], M(L.CT_NW_PROTO), v),
                _be16("src_port", key[L.CT_TP_SRC], M(L.CT_TP_SRC), v),
                _be16("dst_port", key[L.CT_TP_DST], M(L.CT_TP_DST), v)))
    m = M(L.RECIRC_ID)
    top.add("recirc_id", wild(m), lambda: _u32_attr(key[L.RECIRC_ID], M(L.RECIRC_ID)))
    m = M(L.DP_HASH)
    top.add("dp_hash", wild(m), lambda: _u32_attr(key[L.DP_HASH], M(L.DP_HASH)))
    m = M(L.IN_PORT)
    top.add("in_port", wild(m), lambda: _in_port(key[L.IN_PORT], M(L.IN_PORT), port_names))
    top.add("packet_type", False, lambda: "ns=0,id=0")
    ms2 = (M(L.ETH_SRC), M(L.ETH_DST))
    top.add("eth", wild(*ms2), lambda: _join(
        _eth("src", key[L.ETH_SRC], M(L.ETH_SRC), v),
        _eth("dst", key[L.ETH_DST], M(L.ETH_DST), v)))
    _add_l2_rest(top, key, mask, v, 0, limit)
    return top.render(has_mask)


def _join(*parts: str) -> str:
    return "".join(parts).rstrip(",")


def _ct_state(k: int, m: int | None, verbose: bool) -> str:
    # The datapath's ct_state is 32 bits wide and the switch only ever masks the low 8,
    # so the mask is never "exact": the +flag/-flag form is the usual one.
    if verbose:
        if m is None:
            return hex0(k)
        return f"{hex0(k)}/{hex0(m)}"
    if m is None:
        return format_flags(k, _CT_STATE_NAMES)
    return format_flags_masked(k, m, 0xFFFFFFFF, _CT_STATE_NAMES, "|")


def _ct_small(k: int, m: int | None, full: int, verbose: bool) -> str:
    if not (verbose or m):
        return ""
    if m is None or m == full:
        return hex0(k)
    return f"{hex0(k)}/{hex0(m)}"


def _ct_label(k: int, m: int | None, verbose: bool) -> str:
    if not (verbose or m):
        return ""
    out = hex_u128(k)
    if m is not None and m != _FULL128:
        out += "/" + hex_u128(m)
    return out


def _in_port(port: int, m: int | None, port_names: PortNames | None) -> str:
    if m is None or m == 0xFFFFFFFF:
        if port_names is not None and port in port_names:
            return port_names[port]
        return str(port)
    return f"{port}/{hex0(m)}"


def _add_l2_rest(
    attrs: _Attrs, key: Sequence[int], mask: Sequence[int] | None, v: bool, level: int,
    limit: int,
) -> None:
    """VLAN tags (as ``eth_type``/``vlan``/``encap(...)``), then L3 and L4."""
    has_mask = mask is not None

    def M(slot: int) -> int | None:
        return None if mask is None else mask[slot]

    dl_type = key[L.ETH_TYPE]
    if level < limit:
        tpid_slot = L.VLAN_TPID if level == 0 else L.VLAN2_TPID
        tci_slot = L.VLAN_TCI if level == 0 else L.VLAN2_TCI
        tci = key[tci_slot]
        tpid = key[tpid_slot]
        truncated = False
        if tci == 0:
            if dl_type in _VLAN_TYPES:
                tpid = dl_type  # a truncated tag: its TPID is the frame's type
                truncated = True
            else:
                tpid = -1
        if tpid >= 0:
            attrs.has_eth_type = True
            attrs.add("eth_type", False, lambda: f"0x{tpid:04x}")
            mt = M(tci_slot)
            attrs.add("vlan", has_mask and not mt,
                      lambda: _vlan_tci(tci, 0xFFFF if mt is None else mt, v))
            inner = _Attrs(v)
            if not truncated:
                _add_l2_rest(inner, key, mask, v, level + 1, limit)
            else:
                inner.has_eth_type = True  # nothing inside, nothing to add
            attrs.add("encap", False, lambda: inner.render(has_mask), nested=True)
            return

    if dl_type < _ETH_TYPE_MIN:
        return  # no eth_type in the key; render() adds the mask's eth_type(0/0xffff)
    attrs.has_eth_type = True
    mt = M(L.ETH_TYPE)
    attrs.add("eth_type", has_mask and not mt,
              lambda: f"0x{dl_type:04x}" if mt is None or mt == 0xFFFF
              else f"0x{dl_type:04x}/0x{mt:04x}")
    if dl_type in _VLAN_TYPES:
        return
    _add_l3(attrs, key, M, v, has_mask)


def _add_l3(
    attrs: _Attrs, key: Sequence[int], M: Callable[[int], int | None], v: bool, has_mask: bool
) -> None:
    def wild(*ms: int | None) -> bool:
        return has_mask and not any(ms)

    dl_type = key[L.ETH_TYPE]
    mfrag = M(L.NW_FRAG)
    ofrag = None if mfrag is None else _odp_frag_mask(mfrag)
    if dl_type == L.ETH_TYPE_IP:
        ms = (M(L.NW_SRC), M(L.NW_DST), M(L.NW_PROTO), M(L.NW_TOS), M(L.NW_TTL), ofrag)
        attrs.add("ipv4", wild(*ms), lambda: _join(
            _ip4("src", key[L.NW_SRC], ms[0], v),
            _ip4("dst", key[L.NW_DST], ms[1], v),
            _u8u("proto", key[L.NW_PROTO], ms[2], v),
            _u8x("tos", key[L.NW_TOS], ms[3], v),
            _u8u("ttl", key[L.NW_TTL], ms[4], v),
            _frag(_odp_frag(key[L.NW_FRAG]), ofrag)))
    elif dl_type == L.ETH_TYPE_IPV6:
        mlabel = M(L.IPV6_LABEL)
        ms = (M(L.IPV6_SRC), M(L.IPV6_DST), None if mlabel is None else mlabel & 0xFFFFF,
              M(L.NW_PROTO), M(L.NW_TOS), M(L.NW_TTL), ofrag)
        attrs.add("ipv6", wild(*ms), lambda: _join(
            _ip6("src", key[L.IPV6_SRC], ms[0], v),
            _ip6("dst", key[L.IPV6_DST], ms[1], v),
            _label("label", key[L.IPV6_LABEL], mlabel, v),
            _u8u("proto", key[L.NW_PROTO], ms[3], v),
            _u8x("tclass", key[L.NW_TOS], ms[4], v),
            _u8u("hlimit", key[L.NW_TTL], ms[5], v),
            _frag(_odp_frag(key[L.NW_FRAG]), ofrag)))
    elif dl_type in (L.ETH_TYPE_ARP, L.ETH_TYPE_RARP):
        # The opcode lives in the 8-bit nw_proto; OVS widens 0xff to 0xffff both in the
        # key and in the mask, which is what makes an exact opcode match print bare.
        mop = M(L.NW_PROTO)
        mop = None if mop is None else (0xFFFF if mop == 0xFF else mop)
        op = 0xFFFF if key[L.NW_PROTO] == 0xFF else key[L.NW_PROTO]
        ms = (M(L.NW_SRC), M(L.NW_DST), mop, M(L.ARP_SHA), M(L.ARP_THA))
        attrs.add("arp", wild(*ms), lambda: _join(
            _ip4("sip", key[L.NW_SRC], ms[0], v),
            _ip4("tip", key[L.NW_DST], ms[1], v),
            _be16("op", op, ms[2], v),
            _eth("sha", key[L.ARP_SHA], ms[3], v),
            _eth("tha", key[L.ARP_THA], ms[4], v)))
        return
    else:
        return
    if key[L.NW_FRAG] & L.FLOW_NW_FRAG_LATER:
        return
    _add_l4(attrs, key, M, v, has_mask)


def _add_l4(
    attrs: _Attrs, key: Sequence[int], M: Callable[[int], int | None], v: bool, has_mask: bool
) -> None:
    def wild(*ms: int | None) -> bool:
        return has_mask and not any(ms)

    proto = key[L.NW_PROTO]
    dl_type = key[L.ETH_TYPE]
    ms = (M(L.TP_SRC), M(L.TP_DST))
    if proto in (L.IPPROTO_TCP, L.IPPROTO_UDP, L.IPPROTO_SCTP):
        name = {L.IPPROTO_TCP: "tcp", L.IPPROTO_UDP: "udp", L.IPPROTO_SCTP: "sctp"}[proto]
        attrs.add(name, wild(*ms), lambda: _join(
            _be16("src", key[L.TP_SRC], ms[0], v),
            _be16("dst", key[L.TP_DST], ms[1], v)))
        mflags = M(L.TCP_FLAGS)
        if proto == L.IPPROTO_TCP and (key[L.TCP_FLAGS] or mflags):
            fm = None if mflags is None else mflags & 0xFFF
            attrs.add("tcp_flags", has_mask and not fm,
                      lambda: _tcp_flags(key[L.TCP_FLAGS], fm))
        return
    icmp = (dl_type == L.ETH_TYPE_IP and proto == L.IPPROTO_ICMP) or (
        dl_type == L.ETH_TYPE_IPV6 and proto == L.IPPROTO_ICMPV6)
    if not icmp:
        return
    m8 = tuple(None if m is None else m & 0xFF for m in ms)
    attrs.add("icmp" if proto == L.IPPROTO_ICMP else "icmpv6", wild(*m8), lambda: _join(
        _u8u("type", key[L.TP_SRC] & 0xFF, m8[0], v),
        _u8u("code", key[L.TP_DST] & 0xFF, m8[1], v)))
    if proto == L.IPPROTO_ICMPV6 and key[L.TP_DST] == 0 and key[L.TP_SRC] in (
        _ND_SOLICIT, _ND_ADVERT
    ):
        # The mask carries ND fields only when ICMPv6 type and code are exact.
        nd_masked = not has_mask or (m8[0] == 0xFF and m8[1] == 0xFF)
        mt = (M(L.ND_TARGET), M(L.ARP_SHA), M(L.ARP_THA)) if nd_masked else (0, 0, 0)
        attrs.add("nd", wild(*mt), lambda: _join(
            _ip6("target", key[L.ND_TARGET], mt[0], v),
            _eth("sll", key[L.ARP_SHA], mt[1], v),
            _eth("tll", key[L.ARP_THA], mt[2], v)))


def _tcp_flags(k: int, m: int | None) -> str:
    if m is None or m == 0xFFF:
        return format_flags(k, _TCP_FLAG_NAMES)
    return format_flags_masked(k, m, 0xFFF, _TCP_FLAG_NAMES)


# --------------------------------------------------------------------------- actions
_SET_FIELDS: dict[str, tuple[tuple[str, int, Callable[..., str]], ...]] = {
    "eth": (("src", L.ETH_SRC, _eth), ("dst", L.ETH_DST, _eth)),
    "ipv4": (("src", L.NW_SRC, _ip4), ("dst", L.NW_DST, _ip4), ("proto", L.NW_PROTO, _u8u),
             ("tos", L.NW_TOS, _u8x), ("ttl", L.NW_TTL, _u8u)),
    "ipv6": (("src", L.IPV6_SRC, _ip6), ("dst", L.IPV6_DST, _ip6),
             ("label", L.IPV6_LABEL, _label), ("proto", L.NW_PROTO, _u8u),
             ("tclass", L.NW_TOS, _u8x), ("hlimit", L.NW_TTL, _u8u)),
    "tcp": (("src", L.TP_SRC, _be16), ("dst", L.TP_DST, _be16)),
    "udp": (("src", L.TP_SRC, _be16), ("dst", L.TP_DST, _be16)),
    "sctp": (("src", L.TP_SRC, _be16), ("dst", L.TP_DST, _be16)),
    "icmp": (("type", L.TP_SRC, _u8u), ("code", L.TP_DST, _u8u)),
    "icmpv6": (("type", L.TP_SRC, _u8u), ("code", L.TP_DST, _u8u)),
    "arp": (("sip", L.NW_SRC, _ip4), ("tip", L.NW_DST, _ip4), ("op", L.NW_PROTO, _be16),
            ("sha", L.ARP_SHA, _eth), ("tha", L.ARP_THA, _eth)),
    "nd": (("target", L.ND_TARGET, _ip6), ("sll", L.ARP_SHA, _eth), ("tll", L.ARP_THA, _eth)),
}


def _format_set(a: A.SetMasked) -> str:
    changes = {slot: (value, mask) for slot, value, mask in a.changes}
    if a.header == "skb_mark":
        value, mask = changes.get(L.PKT_MARK, (0, 0))
        return f"set(skb_mark({_u32_attr(value & mask, mask)}))"
    fields = _SET_FIELDS.get(a.header)
    if fields is None:
        return f"set({a.header}())"
    parts = []
    for name, slot, fn in fields:
        value, mask = changes.get(slot, (0, 0))
        if a.header in ("icmp", "icmpv6"):
            value, mask = value & 0xFF, mask & 0xFF
        parts.append(fn(name, value & mask, mask, False))
    return f"set({a.header}({_join(*parts)}))"


def _format_nat(n: Nat) -> str:
    if not n.flags & (NAT_F_SRC | NAT_F_DST):
        return "nat"
    out = "nat(" + ("src" if n.flags & NAT_F_SRC else "dst")
    if n.addr_min is not None:
        out += "="
        port = n.port_min or 0
        if n.ipv6:
            out += f"[{fmt_ip6(n.addr_min)}]" if port else fmt_ip6(n.addr_min)
            if n.addr_max and n.addr_max != n.addr_min:
                out += "-" + (f"[{fmt_ip6(n.addr_max)}]" if port else fmt_ip6(n.addr_max))
        else:
            out += fmt_ip4(n.addr_min)
            if n.addr_max and n.addr_max != n.addr_min:
                out += "-" + fmt_ip4(n.addr_max)
        if port:
            out += f":{port}"
            if n.port_max and n.port_max != port:
                out += f"-{n.port_max}"
    out += ","
    if n.flags & NAT_F_PERSISTENT:
        out += "persistent,"
    if n.flags & NAT_F_PROTO_HASH:
        out += "hash,"
    if n.flags & NAT_F_PROTO_RANDOM:
        out += "random,"
    return out.rstrip(",") + ")"


def _format_ct(a: A.Ct) -> str:
    parts = []
    if a.commit:
        parts.append("commit")
    if a.force:
        parts.append("force_commit")
    if a.zone:
        parts.append(f"zone={a.zone}")
    if a.mark is not None:
        parts.append(f"mark={hex0(a.mark[0])}/{hex0(a.mark[1])}")
    if a.label is not None:
        value, mask = a.label
        text = hex_u128(value)
        if mask != _FULL128:
            text += "/" + hex_u128(mask)
        parts.append("label=" + text)
    if a.helper:
        parts.append(f"helper={a.helper}")
    if a.timeout:
        parts.append(f"timeout={a.timeout}")
    if a.nat is not None:
        parts.append(_format_nat(a.nat))
    return "ct(" + ",".join(parts) + ")" if parts else "ct"


def _port(port: int, port_names: PortNames | None) -> str:
    if port_names is not None and port in port_names:
        return port_names[port]
    return str(port)


def format_action(a: object, port_names: PortNames | None = None) -> str:
    """One datapath action as OVS prints it."""
    if isinstance(a, A.Output):
        return _port(a.port, port_names)
    if isinstance(a, A.SetMasked):
        return _format_set(a)
    if isinstance(a, A.Ct):
        return _format_ct(a)
    if isinstance(a, A.Recirc):
        return f"recirc({hex0(a.recirc_id)})"
    if isinstance(a, A.CtClear):
        return "ct_clear"
    if isinstance(a, A.PushVlan):
        tpid = "" if a.tpid == L.ETH_TYPE_VLAN_8021Q else f"tpid=0x{a.tpid:04x},"
        return f"push_vlan({tpid}{_vlan_tci(a.tci, 0xFFFF, False)})"
    if isinstance(a, A.PopVlan):
        return "pop_vlan"
    if isinstance(a, A.Hash):
        return f"hash({a.alg}({a.basis}))"
    if isinstance(a, A.Userspace):
        return f"userspace(pid=0,{a.text})" if a.text else "userspace(pid=0)"
    if isinstance(a, A.Trunc):
        return f"trunc({a.max_len})"
    if isinstance(a, A.Clone):
        return f"clone({format_actions(a.actions, port_names)})"
    return f"<unknown action {type(a).__name__}>"


def format_actions(actions: Sequence[object], port_names: PortNames | None = None) -> str:
    """A datapath action list as ``Datapath actions:`` / ``actions:`` show it."""
    if not actions:
        return "drop"
    return ",".join(format_action(a, port_names) for a in actions)
