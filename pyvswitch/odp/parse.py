"""Parse datapath flow text (``dpctl/dump-flows`` keys and actions) back into values.

The inverse of :mod:`pyvswitch.odp.format` for the attributes it prints: a key such as
``recirc_id(0),in_port(1),eth_type(0x0800),ipv4(dst=198.51.100.2,proto=17,frag=no)``
becomes a (key, mask) pair of ``N_DP``-slot tuples, with every attribute or sub-field
the text leaves out wildcarded; an action list becomes :mod:`pyvswitch.odp.actions`
values.  Tests use it to replay real OVS output through our datapath, and operators'
``dpctl/add-flow``-style input can use it too.

Layer: odp.  Imports: flow.layout, flow.ofpacts (Nat), odp.actions.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from pyvswitch.errors import ParseError
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

_CT_BITS = {name: bit for bit, name in L.CT_STATE_NAMES}
_TCP_BITS = {name: bit for bit, name in L.TCP_FLAG_NAMES}
_FRAG = {"no": 0, "first": L.FLOW_NW_FRAG_ANY, "later": L.FLOW_NW_FRAG_MASK}


def split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses or brackets."""
    out: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def _name_body(item: str) -> tuple[str, str]:
    i = item.find("(")
    if i < 0 or not item.endswith(")"):
        return item, ""
    return item[:i], item[i + 1 : -1]


def _int(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise ParseError(f"invalid number {text!r}", text) from None


def _mac(text: str) -> int:
    return int(text.replace(":", ""), 16)


def _ip4(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def _ip6(text: str) -> int:
    return int(ipaddress.IPv6Address(text.strip("[]")))


_FULL = {"mac": (1 << 48) - 1, "ip4": 0xFFFFFFFF, "ip6": (1 << 128) - 1}
_CONV = {"mac": _mac, "ip4": _ip4, "ip6": _ip6, "int": _int}


def _value_mask(text: str, kind: str, full: int) -> tuple[int, int]:
    conv = _CONV[kind]
    if "/" in text:
        v, m = text.split("/", 1)
        return conv(v), conv(m)
    return conv(text), _FULL.get(kind, full)


def _fields(body: str) -> dict[str, str]:
    out = {}
    for part in split_top(body):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


# attribute -> ((sub-field, slot, kind, full mask), ...)
_STRUCT: dict[str, tuple[tuple[str, int, str, int], ...]] = {
    "eth": (("src", L.ETH_SRC, "mac", 0), ("dst", L.ETH_DST, "mac", 0)),
    "ipv4": (("src", L.NW_SRC, "ip4", 0), ("dst", L.NW_DST, "ip4", 0),
             ("proto", L.NW_PROTO, "int", 0xFF), ("tos", L.NW_TOS, "int", 0xFF),
             ("ttl", L.NW_TTL, "int", 0xFF)),
    "ipv6": (("src", L.IPV6_SRC, "ip6", 0), ("dst", L.IPV6_DST, "ip6", 0),
             ("label", L.IPV6_LABEL, "int", 0xFFFFF), ("proto", L.NW_PROTO, "int", 0xFF),
             ("tclass", L.NW_TOS, "int", 0xFF), ("hlimit", L.NW_TTL, "int", 0xFF)),
    "tcp": (("src", L.TP_SRC, "int", 0xFFFF), ("dst", L.TP_DST, "int", 0xFFFF)),
    "udp": (("src", L.TP_SRC, "int", 0xFFFF), ("dst", L.TP_DST, "int", 0xFFFF)),
    "sctp": (("src", L.TP_SRC, "int", 0xFFFF), ("dst", L.TP_DST, "int", 0xFFFF)),
    "icmp": (("type", L.TP_SRC, "int", 0xFF), ("code", L.TP_DST, "int", 0xFF)),
    "icmpv6": (("type", L.TP_SRC, "int", 0xFF), ("code", L.TP_DST, "int", 0xFF)),
    "arp": (("sip", L.NW_SRC, "ip4", 0), ("tip", L.NW_DST, "ip4", 0),
            ("op", L.NW_PROTO, "int", 0xFFFF), ("sha", L.ARP_SHA, "mac", 0),
            ("tha", L.ARP_THA, "mac", 0)),
    "nd": (("target", L.ND_TARGET, "ip6", 0), ("sll", L.ARP_SHA, "mac", 0),
           ("tll", L.ARP_THA, "mac", 0)),
    "ct_tuple4": (("src", L.CT_NW_SRC, "ip4", 0), ("dst", L.CT_NW_DST, "ip4", 0),
                  ("proto", L.CT_NW_PROTO, "int", 0xFF), ("tp_src", L.CT_TP_SRC, "int", 0xFFFF),
                  ("tp_dst", L.CT_TP_DST, "int", 0xFFFF)),
    "ct_tuple6": (("src", L.CT_IPV6_SRC, "ip6", 0), ("dst", L.CT_IPV6_DST, "ip6", 0),
                  ("proto", L.CT_NW_PROTO, "int", 0xFF),
                  ("src_port", L.CT_TP_SRC, "int", 0xFFFF),
                  ("dst_port", L.CT_TP_DST, "int", 0xFFFF)),
}

_SCALAR = {
    "skb_mark": (L.PKT_MARK, 0xFFFFFFFF),
    "recirc_id": (L.RECIRC_ID, 0xFFFFFFFF),
    "dp_hash": (L.DP_HASH, 0xFFFFFFFF),
    "ct_zone": (L.CT_ZONE, 0xFFFF),
    "ct_mark": (L.CT_MARK, 0xFFFFFFFF),
    "ct_label": (L.CT_LABEL, (1 << 128) - 1),
}


def _flags(body: str, bits: dict[str, int], full: int) -> tuple[int, int]:
    """``+a-b`` (masked), ``a|b`` (exact) or ``V/M`` numbers."""
    if body in ("", "0"):
        return 0, full
    if body[0] in "+-":
        value = mask = 0
        i = 0
        while i < len(body):
            sign = body[i]
            j = i + 1
            while j < len(body) and body[j] not in "+-":
                j += 1
            bit = bits.get(body[i + 1 : j])
            if bit is None:
                raise ParseError(f"unknown flag {body[i + 1 : j]!r}", body, i)
            mask |= bit
            if sign == "+":
                value |= bit
            i = j
        return value, mask
    if body[0].isdigit():
        v, _, m = body.partition("/")
        return _int(v), _int(m) if m else full
    value = 0
    for name in body.split("|"):
        if name not in bits:
            raise ParseError(f"unknown flag {name!r}", body)
        value |= bits[name]
    return value, full


def parse_key(
    text: str, port_map: Mapping[str, int] | None = None
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``dpctl/dump-flows`` key text -> (key, mask); a ``ufid:...,`` prefix is ignored."""
    key = [0] * L.N_DP
    mask = [0] * L.N_DP
    items = split_top(text.strip())
    if items and items[0].startswith("ufid:"):
        items = items[1:]
    _parse_items(items, key, mask, port_map or {}, 0)
    return tuple(key), tuple(mask)


def _parse_items(
    items: list[str], key: list[int], mask: list[int], port_map: Mapping[str, int], level: int
) -> None:
    vlan_seen = False
    for item in items:
        name, body = _name_body(item)
        if name in _SCALAR:
            slot, full = _SCALAR[name]
            if body:
                key[slot], mask[slot] = _value_mask(body, "int", full)
        elif name == "ct_state":
            key[L.CT_STATE], mask[L.CT_STATE] = _flags(body, _CT_BITS, 0xFF)
            mask[L.CT_STATE] &= 0xFF
        elif name == "in_port":
            v, _, m = body.partition("/")
            key[L.IN_PORT] = port_map[v] if v in port_map else _int(v)
            mask[L.IN_PORT] = _int(m) if m else 0xFFFFFFFF
        elif name in ("skb_priority", "packet_type", ""):
            continue
        elif name == "eth_type":
            v, _, m = body.partition("/")
            value, emask = _int(v), _int(m) if m else 0xFFFF
            if value in (L.ETH_TYPE_VLAN_8021Q, L.ETH_TYPE_VLAN_8021AD) and not vlan_seen:
                key[L.VLAN_TPID if level == 0 else L.VLAN2_TPID] = value
                key[L.ETH_TYPE] = value
                mask[L.ETH_TYPE] = emask
            elif value == 0 and emask == 0xFFFF:
                key[L.ETH_TYPE] = L.DL_TYPE_NONE
                mask[L.ETH_TYPE] = 0xFFFF
            else:
                key[L.ETH_TYPE], mask[L.ETH_TYPE] = value, emask
        elif name == "vlan":
            vlan_seen = True
            slot = L.VLAN_TCI if level == 0 else L.VLAN2_TCI
            f = _fields(body)
            tci = L.VLAN_CFI if "cfi" not in f else 0
            tmask = L.VLAN_CFI
            if "vid" in f:
                v, m = _value_mask(f["vid"], "int", 0xFFF)
                tci |= v & 0xFFF
                tmask |= m & 0xFFF
            if "pcp" in f:
                v, m = _value_mask(f["pcp"], "int", 7)
                tci |= (v & 7) << 13
                tmask |= (m & 7) << 13
            key[slot], mask[slot] = tci, tmask
        elif name == "encap":
            _parse_items(split_top(body), key, mask, port_map, level + 1)
        elif name == "tcp_flags":
            value, fmask = _flags(body, _TCP_BITS, 0xFFF)
            key[L.TCP_FLAGS], mask[L.TCP_FLAGS] = value, fmask & 0xFFF
        elif name in _STRUCT:
            f = _fields(body)
            for sub, slot, kind, full in _STRUCT[name]:
                if sub in f:
                    key[slot], mask[slot] = _value_mask(f[sub], kind, full)
            if name == "arp" and "op" in f:
                key[L.NW_PROTO] &= 0xFF
                mask[L.NW_PROTO] &= 0xFF
            if name in ("ipv4", "ipv6") and "frag" in f:
                key[L.NW_FRAG], mask[L.NW_FRAG] = _FRAG[f["frag"]], L.FLOW_NW_FRAG_MASK
        else:
            raise ParseError(f"unknown datapath key attribute {name!r}", item)


# --------------------------------------------------------------------------- actions
_SET_HEADERS = {
    "eth": "eth", "ipv4": "ipv4", "ipv6": "ipv6", "tcp": "tcp", "udp": "udp",
    "sctp": "sctp", "icmp": "icmp", "icmpv6": "icmpv6", "arp": "arp", "nd": "nd",
}


def _parse_set(body: str) -> A.SetMasked:
    name, inner = _name_body(body)
    if name == "skb_mark":
        v, m = _value_mask(inner, "int", 0xFFFFFFFF)
        return A.SetMasked("skb_mark", ((L.PKT_MARK, v, m),))
    if name not in _SET_HEADERS:
        raise ParseError(f"unsupported set({name})", body)
    f = _fields(inner)
    changes = []
    for sub, slot, kind, full in _STRUCT[name]:
        if sub in f:
            v, m = _value_mask(f[sub], kind, full)
            if name == "arp" and sub == "op":
                v, m = v & 0xFF, m & 0xFF
            changes.append((slot, v, m))
    return A.SetMasked(name, tuple(changes))


def _parse_nat(body: str) -> Nat:
    if not body:
        return Nat()
    parts = split_top(body)
    flags = 0
    ipv6 = False
    amin = amax = pmin = pmax = None
    for p in parts:
        if p.startswith(("src", "dst")):
            flags |= NAT_F_SRC if p.startswith("src") else NAT_F_DST
            if "=" not in p:
                continue
            spec = p.split("=", 1)[1]
            ipv6 = "[" in spec or spec.count(":") > 1
            if ipv6 and "[" in spec:
                addrs, _, ports = spec.rpartition("]:") if "]:" in spec else (spec, "", "")
                addrs = addrs.replace("[", "").replace("]", "")
            elif ipv6:
                addrs, ports = spec, ""
            else:
                addrs, _, ports = spec.partition(":")
            a1, _, a2 = addrs.partition("-")
            conv = _ip6 if ipv6 else _ip4
            amin = conv(a1)
            amax = conv(a2) if a2 else None
            if ports:
                p1, _, p2 = ports.partition("-")
                pmin = _int(p1)
                pmax = _int(p2) if p2 else None
        elif p == "persistent":
            flags |= NAT_F_PERSISTENT
        elif p == "hash":
            flags |= NAT_F_PROTO_HASH
        elif p == "random":
            flags |= NAT_F_PROTO_RANDOM
        else:
            raise ParseError(f"unknown nat argument {p!r}", body)
    return Nat(flags=flags, ipv6=ipv6, addr_min=amin, addr_max=amax, port_min=pmin,
               port_max=pmax)


def _parse_ct(body: str) -> A.Ct:
    commit = force = False
    zone = 0
    mark = label = None
    helper = timeout = ""
    nat = None
    for p in split_top(body):
        name, inner = _name_body(p)
        if p == "commit":
            commit = True
        elif p == "force_commit":
            force = True
        elif p.startswith("zone="):
            zone = _int(p[5:])
        elif p.startswith("mark="):
            mark = _value_mask(p[5:], "int", 0xFFFFFFFF)
        elif p.startswith("label="):
            label = _value_mask(p[6:], "int", (1 << 128) - 1)
        elif p.startswith("helper="):
            helper = p[7:]
        elif p.startswith("timeout="):
            timeout = p[8:]
        elif name == "nat":
            nat = _parse_nat(inner)
        else:
            raise ParseError(f"unknown ct argument {p!r}", body)
    return A.Ct(zone=zone, commit=commit, force=force, mark=mark, label=label,
                helper=helper, nat=nat, timeout=timeout)


def parse_actions(text: str, port_map: Mapping[str, int] | None = None) -> tuple[object, ...]:
    """Datapath action text -> actions.  ``userspace(...)`` keeps its text as cookie."""
    text = text.strip()
    if text in ("", "drop"):
        return ()
    out: list[object] = []
    for item in split_top(text):
        name, body = _name_body(item)
        if item.isdigit():
            out.append(A.Output(int(item)))
        elif port_map is not None and item in port_map:
            out.append(A.Output(port_map[item]))
        elif name == "set":
            out.append(_parse_set(body))
        elif name == "ct" or item == "ct":
            out.append(_parse_ct(body))
        elif item == "ct_clear":
            out.append(A.CtClear())
        elif name == "recirc":
            out.append(A.Recirc(_int(body)))
        elif item == "pop_vlan":
            out.append(A.PopVlan())
        elif name == "push_vlan":
            f = _fields(body)
            tpid = _int(f.get("tpid", "0x8100"))
            tci = (_int(f.get("vid", "0")) & 0xFFF) | (_int(f.get("pcp", "0")) & 7) << 13
            if f.get("cfi", "1") != "0":
                tci |= L.VLAN_CFI
            out.append(A.PushVlan(tpid, tci))
        elif name == "hash":
            alg, inner = _name_body(body)
            out.append(A.Hash(basis=_int(inner), alg=alg))
        elif name == "userspace":
            rest = body.split(",", 1)[1] if "," in body else ""
            out.append(A.Userspace(cookie=rest, text=rest))
        elif name == "trunc":
            out.append(A.Trunc(_int(body)))
        elif name == "clone":
            out.append(A.Clone(parse_actions(body, port_map)))
        elif item == "drop":
            continue
        else:
            raise ParseError(f"unknown datapath action {item!r}", text)
    return tuple(out)
