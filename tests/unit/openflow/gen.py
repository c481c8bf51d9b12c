"""Random but valid flows in ovs-ofctl syntax, for round-trip and differential tests.

:func:`random_match_text` and :func:`random_actions_text` take a ``random.Random`` (from
hypothesis ``st.randoms()`` or a fixed seed) and build text that both ovs-ofctl and our
parser accept: prerequisites are always stated, values are in range, addresses come from
the test ranges.  Actions that need the match's protocol are only chosen when the match
has it.
"""

from __future__ import annotations

import random

_PROTOS = (None, "ip", "ipv6", "tcp", "udp", "sctp", "icmp", "icmp6", "arp", "tcp6", "udp6")
_FRAGS = ("no", "first", "later", "yes", "not_later")
_CT_FLAGS = ("new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat")
_TCP_FLAGS = ("fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns")


def _hex(rng: random.Random, bits: int) -> str:
    return hex(rng.getrandbits(bits))


def _masked(rng: random.Random, bits: int) -> str:
    mask = rng.getrandbits(bits) or 1
    value = rng.getrandbits(bits) & mask
    return f"{value:#x}/{mask:#x}" if rng.random() < 0.5 else hex(value)


def _mac(rng: random.Random) -> str:
    return ":".join(f"{rng.getrandbits(8):02x}" for _ in range(6))


def _ip4(rng: random.Random) -> str:
    net = rng.choice(("198.51.100", "203.0.113"))
    return f"{net}.{rng.randrange(256)}"


def _ip4_masked(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return f"{_ip4(rng)}/{rng.randrange(1, 33)}"
    return _ip4(rng)


def _ip6(rng: random.Random) -> str:
    return f"2001:db8:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"


def _flags(rng: random.Random, names: tuple[str, ...], must: tuple[str, ...] = ()) -> str:
    chosen = {n: rng.choice("+-") for n in rng.sample(names, rng.randrange(1, 4))}
    for n in must:
        chosen[n] = "+"
    return "".join(f"{s}{n}" for n, s in chosen.items())


def random_match_text(rng: random.Random, nxm: bool = True) -> tuple[str, str | None]:
    """(match text, protocol shorthand or None).  ``nxm`` False keeps to OpenFlow 1.0."""
    proto = rng.choice(_PROTOS[:9] if nxm else ("ip", "tcp", "udp", "icmp", "arp", None))
    out: list[str] = [proto] if proto else []
    if rng.random() < 0.4:
        out.append(f"in_port={rng.choice((1, 2, 7, 0xFEFF, 'LOCAL'))}")
    if rng.random() < 0.3:
        out.append(f"dl_src={_mac(rng)}")
    if rng.random() < 0.3:
        out.append(f"dl_dst={_mac(rng)}" + (f"/{_mac(rng)}" if nxm and rng.random() < 0.3
                                           else ""))
    r = rng.random()
    if r < 0.15:
        out.append(f"dl_vlan={rng.randrange(4096)}")
    elif r < 0.25:
        out.append(f"dl_vlan_pcp={rng.randrange(8)}")
    elif r < 0.3:
        out.append("dl_vlan=0xffff")
    if nxm:
        for name, bits in (("metadata", 64), ("reg0", 32), ("reg5", 32), ("tun_id", 64),
                           ("pkt_mark", 32), ("ct_mark", 32), ("ct_label", 128)):
            if rng.random() < 0.12:
                out.append(f"{name}={_masked(rng, bits)}")
        if rng.random() < 0.1:
            out.append(f"ct_zone={rng.randrange(65536)}")
        if rng.random() < 0.1:
            out.append(f"tun_src={_ip4(rng)}")
    ip4 = proto in ("ip", "tcp", "udp", "sctp", "icmp")
    ip6 = proto in ("ipv6", "icmp6", "tcp6", "udp6")
    ct_tuple = nxm and ip4 and rng.random() < 0.15
    if ct_tuple or (nxm and rng.random() < 0.2):
        out.append("ct_state=" + _flags(rng, _CT_FLAGS[:4] + _CT_FLAGS[6:],
                                        ("trk", "est") if ct_tuple else ()))
    if ct_tuple:
        out.append(f"ct_nw_src={_ip4(rng)}")
        out.append(f"ct_nw_proto={rng.choice((6, 17))}")
        out.append(f"ct_tp_dst={rng.randrange(1, 65536)}")
    if ip4 or ip6:
        if ip4 and rng.random() < 0.4:
            out.append(f"nw_src={_ip4_masked(rng)}")
        if ip4 and rng.random() < 0.3:
            out.append(f"nw_dst={_ip4_masked(rng)}")
        if rng.random() < 0.2:
            out.append(f"nw_tos={rng.randrange(64) * 4}")
        if nxm and rng.random() < 0.15:
            out.append(f"nw_ecn={rng.randrange(4)}")
        if nxm and rng.random() < 0.15:
            out.append(f"nw_ttl={rng.randrange(256)}")
        if nxm and rng.random() < 0.15:
            out.append(f"ip_frag={rng.choice(_FRAGS)}")
    if ip6:
        if rng.random() < 0.4:
            out.append(f"ipv6_src={_ip6(rng)}")
        if rng.random() < 0.3:
            out.append(f"ipv6_dst={_ip6(rng)}/{rng.randrange(8, 129, 8)}")
        if rng.random() < 0.2:
            out.append(f"ipv6_label={_hex(rng, 20)}")
    if proto in ("tcp", "udp", "sctp", "tcp6", "udp6"):
        if rng.random() < 0.5:
            out.append(f"tp_dst={rng.randrange(65536)}")
        if rng.random() < 0.3:
            out.append(f"tp_src={_masked(rng, 16) if nxm else rng.randrange(65536)}")
        if proto.startswith("tcp") and nxm and rng.random() < 0.3:
            out.append("tcp_flags=" + _flags(rng, _TCP_FLAGS))
    if proto == "icmp":
        out.append(f"icmp_type={rng.randrange(256)}")
        if rng.random() < 0.5:
            out.append(f"icmp_code={rng.randrange(256)}")
    if proto == "icmp6":
        nd = rng.choice((135, 136))
        out += [f"icmp_type={nd}", "icmp_code=0", f"nd_target={_ip6(rng)}"]
        out.append(f"nd_sll={_mac(rng)}" if nd == 135 else f"nd_tll={_mac(rng)}")
    if proto == "arp":
        if rng.random() < 0.5:
            out.append(f"arp_op={rng.randrange(1, 3)}")
        if rng.random() < 0.5:
            out.append(f"arp_spa={_ip4_masked(rng)}")
        if nxm and rng.random() < 0.3:
            out.append(f"arp_sha={_mac(rng)}")
    return ",".join(out), proto


def random_actions_text(rng: random.Random, match: str, proto: str | None, version: int,
                        table: int = 0) -> str:
    """An action list valid for a flow matching ``match`` (whose protocol shorthand is
    ``proto``) in table ``table`` of OpenFlow ``version`` (1 or 4)."""
    ip4 = proto in ("ip", "tcp", "udp", "sctp", "icmp")
    l4 = proto in ("tcp", "udp", "sctp", "tcp6", "udp6") and "ip_frag" not in match
    has_vlan = ("dl_vlan=" in match and "0xffff" not in match) or "dl_vlan_pcp" in match
    choices = [
        lambda: f"output:{rng.randrange(1, 0xFF00)}",
        lambda: rng.choice(("NORMAL", "FLOOD", "ALL", "IN_PORT", "LOCAL")),
        lambda: f"CONTROLLER:{rng.randrange(65536)}",
        lambda: f"resubmit(,{rng.randrange(1, 254)})",
        lambda: f"resubmit({rng.randrange(1, 100)},{rng.randrange(254)})",
        lambda: f"resubmit:{rng.randrange(1, 100)}",
        lambda: "ct_clear",
        lambda: f"set_field:{_hex(rng, 32)}->reg{rng.randrange(16)}",
        lambda: f"load:{rng.randrange(256)}->NXM_NX_REG{rng.randrange(16)}[8..15]",
        lambda: f"move:NXM_NX_REG0[0..15]->NXM_NX_REG{rng.randrange(1, 16)}[16..31]",
        lambda: f"output:NXM_NX_REG{rng.randrange(16)}[0..15]",
        lambda: "dec_ttl" if ip4 or proto in ("ipv6", "icmp6", "tcp6", "udp6") else "exit",
        lambda: f"mod_dl_src:{_mac(rng)}",
        lambda: f"note:{rng.getrandbits(8):02x}.{rng.getrandbits(8):02x}",
        lambda: f"group:{rng.randrange(1, 100)}",
        lambda: f"set_queue:{rng.randrange(100)}",
        lambda: f"mod_vlan_vid:{rng.randrange(4096)}",
        lambda: f"controller(reason=no_match,max_len={rng.randrange(65536)})",
        lambda: "learn(table=10,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])",
        lambda: f"write_metadata:{_hex(rng, 64)}/{_hex(rng, 64)}" if version == 4 else "exit",
    ]
    if ip4 or proto in ("ipv6", "icmp6", "tcp6", "udp6"):  # OVS: ct needs an IP match
        choices += [
            lambda: f"ct(commit,zone={rng.randrange(65536)},table={rng.randrange(1, 254)})",
            lambda: f"ct(zone=NXM_NX_REG{rng.randrange(16)}[0..15])",
            lambda: "ct(commit,exec(set_field:0x" + f"{rng.getrandbits(32):x}->ct_mark))"]
    if ip4:
        choices += [lambda: f"mod_nw_dst:{_ip4(rng)}",
                    lambda: f"mod_nw_tos:{rng.randrange(64) * 4}",
                    lambda: f"mod_nw_ttl:{rng.randrange(256)}",
                    lambda: f"ct(commit,nat(src={_ip4(rng)}-203.0.113.255:1000-2000,random))"]
    if l4:
        choices.append(lambda: f"mod_tp_dst:{rng.randrange(65536)}")
    if has_vlan:
        choices.append(lambda: "strip_vlan" if version == 1 else "pop_vlan")
    n = rng.randrange(0, 4)
    acts = [rng.choice(choices)() for _ in range(n)]
    acts = [a for i, a in enumerate(acts) if not a.startswith("write_metadata")
            or i == len(acts) - 1]
    pops = [i for i, a in enumerate(acts) if a in ("strip_vlan", "pop_vlan")]
    acts = [a for i, a in enumerate(acts) if i not in pops[1:]]
    if version == 4 and table < 253 and rng.random() < 0.2:
        acts.append(f"goto_table:{rng.randrange(table + 1, 254)}")
    return ",".join(acts) if acts else "drop"
