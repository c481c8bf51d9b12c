"""NAT: tuple selection at commit (spec §9.2) and packet rewriting (§9.3, §9.4).

A connection translates either its source (SNAT) or its destination (DNAT).  At commit,
:func:`get_unique_tuple` picks the REV key -- what reply packets will carry -- so that it
collides with no live connection in the zone: the address is chosen once by hash, then
ports are probed (sequentially from a start point, with shrinking random restarts).
Afterwards every packet of the connection is rewritten to look like the reverse of the
other direction's key: orig packets take their source (SNAT) or destination (DNAT) from
the REV key, reply packets get the FWD key's values back.  ICMP errors of a translated
connection have their outer header rewritten like a packet of that connection and their
embedded header rewritten the opposite way, then the ICMP checksum is recomputed.

Checksums are updated incrementally (RFC 1624) and are correct afterwards; a UDP checksum
of zero (none, IPv4) stays zero; SCTP's CRC is patched so that a bad CRC stays bad.  A
frame whose L4 checksum is left to the device (``partial``: offloaded, the field holds
the positive pseudo-header sum, see :mod:`pyvswitch.netdev.offload`) gets address changes
in that positive form and nothing for changes inside the L4 header, which the device
sums itself.

Layer: conntrack.  Imports: flow.ofpacts (Nat), packet.checksum, conntrack.conn,
conntrack.parse.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

from pyvswitch.conntrack.conn import (
    K_DPORT,
    K_DST,
    K_SPORT,
    K_SRC,
    NAT_DST,
    NAT_DST_PORT,
    NAT_SRC,
    NAT_SRC_PORT,
    V6,
    Conn,
    key_reverse,
)
from pyvswitch.conntrack.parse import inner_offsets
from pyvswitch.flow.ofpacts import (
    NAT_F_DST,
    NAT_F_PERSISTENT,
    NAT_F_PROTO_RANDOM,
    NAT_F_SRC,
    Nat,
)
from pyvswitch.packet.checksum import (
    checksum,
    crc32c,
    csum_replace16,
    csum_replace32,
    csum_replace128,
)

CS_SRC_NAT = 0x40
CS_DST_NAT = 0x80

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_ADDR6 = struct.Struct("!QQ")

#: protocols whose ports (ICMPv4: echo identifier) NAT may change
_PAT_PROTOS = frozenset((6, 17, 132, 1))


@dataclass(frozen=True, slots=True)
class NatInfo:
    """A ``nat(...)`` argument as the datapath sees it (OVS ``nat_action_info_t``)."""

    action: int  # NAT_SRC/NAT_DST [| NAT_SRC_PORT/NAT_DST_PORT]; 0 for bare nat
    min_addr: int = 0
    max_addr: int = 0
    min_port: int = 0
    max_port: int = 0
    persistent: bool = False
    random: bool = False

    @classmethod
    def from_nat(cls, nat: Nat) -> NatInfo:
        """Convert an OpenFlow ``nat`` action (absent range ends default to the start)."""
        action = NAT_SRC if nat.flags & NAT_F_SRC else NAT_DST if nat.flags & NAT_F_DST else 0
        if not action:
            return cls(0)
        amin = nat.addr_min or 0
        amax = nat.addr_max if nat.addr_max and nat.addr_max > amin else amin
        pmin = nat.port_min or 0
        pmax = nat.port_max if nat.port_max and nat.port_max > pmin else pmin
        if pmin:
            action |= NAT_SRC_PORT if action & NAT_SRC else NAT_DST_PORT
        return cls(
            action, amin, amax, pmin, pmax,
            bool(nat.flags & NAT_F_PERSISTENT), bool(nat.flags & NAT_F_PROTO_RANDOM),
        )


def nat_reverse(action: int) -> int:
    """What a reply packet gets: SNAT becomes DNAT and vice versa (ports follow)."""
    if action & NAT_SRC:
        return (action & ~NAT_SRC) | NAT_DST
    if action & NAT_DST:
        return (action & ~NAT_DST) | NAT_SRC
    return action


def _icmp(l3p: int) -> bool:
    return l3p == 1 or l3p == 58 | V6


def _range_hash(key: tuple[int, ...], basis: int, ni: NatInfo) -> int:
    """A 32-bit hash choosing the address and the first port to try."""
    if basis:
        ends: tuple[int, ...] = (key[K_SRC], key[K_SPORT], key[K_DST], key[K_DPORT])
    else:
        ends = (key[K_SRC],)
    return hash((basis, ends, ni.min_addr, ni.max_addr, ni.max_port << 16 | ni.min_port,
                 key[1], key[0])) & 0xFFFFFFFF


def _port_classes(port: int) -> tuple[int, int]:
    if port < 512:
        return 1, 511
    if port < 1024:
        return 600, 1023
    return 1024, 65535


def get_unique_tuple(conn: Conn, ni: NatInfo, basis: int, rng: Random,
                     live: Callable[[tuple[int, ...]], bool]) -> bool:
    """Set ``conn.rev`` to a translated REV key no live connection uses; False if none.

    ``live(key)`` says whether a live connection in the table has that key.  On failure
    ``conn.rev`` holds the last candidate and the caller must not commit.
    """
    fwd = conn.fwd
    zone, l3p, fsrc, fsport, fdst, fdport = fwd
    pat = (l3p & 0xFF) in _PAT_PROTOS
    icmp = l3p == 1
    action = ni.action
    basis_used = 0 if ni.persistent else basis
    h = _range_hash(fwd, basis_used, ni)
    if ni.random:
        off = rng.getrandbits(32)
    elif basis_used:
        off = h
    else:
        off = _range_hash(fwd, basis, ni)

    if not ni.min_addr:
        addr = fsrc if action & NAT_SRC else fdst if action & NAT_DST else 0
    elif l3p & V6:
        diff = ni.max_addr - ni.min_addr
        if not 0 <= diff <= 0xFFFFFFFE:
            diff = 0xFFFFFFFE
        addr = (ni.min_addr + h % (diff + 1)) & ((1 << 128) - 1)
    else:
        size = ((ni.max_addr - ni.min_addr) & 0xFFFFFFFF) + 1
        addr = (ni.min_addr + h % size) & 0xFFFFFFFF

    fs_id = fsport & 0xFFFF
    if (action & (NAT_SRC | NAT_SRC_PORT)) == NAT_SRC or action & NAT_DST:
        curr_s = fs_id
        min_s, max_s = _port_classes(curr_s)
    else:
        min_s, max_s = ni.min_port, ni.max_port
        curr_s = min_s + off % ((max_s - min_s) + 1)
    if action & NAT_DST_PORT:
        min_d, max_d = ni.min_port, ni.max_port
        curr_d = min_d + off % ((max_d - min_d) + 1)
    else:
        curr_d = min_d = max_d = fdport & 0xFFFF

    rev = list(key_reverse(fwd))
    if pat:
        rev[K_SPORT] = (rev[K_SPORT] & ~0xFFFF) | curr_d
        rev[K_DPORT] = (rev[K_DPORT] & ~0xFFFF) | curr_s
    if action & NAT_SRC:
        rev[K_DST] = addr
    else:
        rev[K_SRC] = addr

    if not pat:
        conn.rev = tuple(rev)
        return not live(conn.rev)

    found = False
    if action & NAT_DST_PORT:
        found = _unique_l4(rev, K_SPORT, -1, curr_d, min_d, max_d, rng, live)
    if not found:
        found = _unique_l4(rev, K_DPORT, K_SPORT if icmp else -1, curr_s, min_s, max_s, rng,
                           live)
    conn.rev = tuple(rev)
    return found


def _unique_l4(rev: list[int], idx: int, peer: int, curr: int, lo: int, hi: int,
               rng: Random, live: Callable[[tuple[int, ...]], bool]) -> bool:
    """Probe ports for ``rev[idx]`` (and ``rev[peer]``) in [lo, hi] starting at ``curr``."""
    size = (hi - lo + 1) & 0xFFFF
    attempts = min(size, 128)
    orig = curr
    while True:
        # The first candidate may lie outside the range (a low source port); it is
        # tried too, then the whole range follows.
        n = ((hi - lo + 2) if not lo <= curr <= hi else (hi - lo + 1)) & 0xFFFF
        i = 0
        while n > 0:
            if i >= attempts:
                break
            i += 1
            rev[idx] = (rev[idx] & ~0xFFFF) | curr
            if peer >= 0:
                rev[peer] = (rev[peer] & ~0xFFFF) | curr
            if not live(tuple(rev)):
                return True
            n -= 1
            curr = lo if (not lo <= curr <= hi or curr == hi) else curr + 1
        if attempts < size and attempts >= 16:
            attempts //= 2
            curr = lo + rng.getrandbits(32) % size
            continue
        break
    rev[idx] = (rev[idx] & ~0xFFFF) | orig
    if peer >= 0:
        rev[peer] = (rev[peer] & ~0xFFFF) | orig
    return False


# ------------------------------------------------------------------ packet rewriting
def _positive(fn: Callable[..., int], c: int, old: int, new: int) -> int:
    """An address change applied to a positive (not inverted) pseudo-header sum."""
    return ~fn(~c & 0xFFFF, old, new) & 0xFFFF


def _set_v4_addr(pkt: bytearray, l3: int, ofs: int, new: int, proto: int, l4: int,
                 end: int, partial: bool = False) -> None:
    """Write an IPv4 address at ``l3+ofs``, fixing the IP and TCP/UDP checksums."""
    old = _U32.unpack_from(pkt, l3 + ofs)[0]
    if old == new:
        return
    size = end - l4
    cofs = l4 + 16 if proto == 6 and size >= 20 else l4 + 6 if proto == 17 and size >= 8 else -1
    if cofs >= 0:
        c = _U16.unpack_from(pkt, cofs)[0]
        if partial:
            _U16.pack_into(pkt, cofs, _positive(csum_replace32, c, old, new))
        elif proto == 6:
            _U16.pack_into(pkt, cofs, csum_replace32(c, old, new))
        elif c:
            _U16.pack_into(pkt, cofs, csum_replace32(c, old, new) or 0xFFFF)
    c = _U16.unpack_from(pkt, l3 + 10)[0]
    _U16.pack_into(pkt, l3 + 10, csum_replace32(c, old, new))
    _U32.pack_into(pkt, l3 + ofs, new)


def _set_v6_addr(pkt: bytearray, l3: int, ofs: int, new: int, proto: int, l4: int,
                 end: int, partial: bool = False) -> None:
    """Write an IPv6 address at ``l3+ofs``, fixing TCP/UDP/ICMPv6 checksums."""
    a, b = _ADDR6.unpack_from(pkt, l3 + ofs)
    old = a << 64 | b
    if old == new:
        return
    size = end - l4
    cofs = (l4 + 16 if proto == 6 and size >= 20 else l4 + 6 if proto == 17 and size >= 8
            else l4 + 2 if proto == 58 and size >= 4 else -1)
    if cofs >= 0:
        c = _U16.unpack_from(pkt, cofs)[0]
        if partial:
            _U16.pack_into(pkt, cofs, _positive(csum_replace128, c, old, new))
        elif proto == 17:
            if c:
                _U16.pack_into(pkt, cofs, csum_replace128(c, old, new) or 0xFFFF)
        else:
            _U16.pack_into(pkt, cofs, csum_replace128(c, old, new))
    _ADDR6.pack_into(pkt, l3 + ofs, new >> 64, new & 0xFFFFFFFFFFFFFFFF)


def _set_ports(pkt: bytearray, proto: int, l4: int, end: int, sport: int, dport: int,
               partial: bool = False) -> None:
    """Write L4 ports (ICMPv4 info messages: the identifier ``sport``)."""
    size = end - l4
    if proto == 6 or proto == 17:
        if size < 4:
            return
        osport, odport = struct.unpack_from("!HH", pkt, l4)
        if osport == sport and odport == dport:
            return
        cofs = l4 + (16 if proto == 6 else 6)
        if cofs + 2 <= end and not partial:
            c = _U16.unpack_from(pkt, cofs)[0]
            if proto == 6 or c:
                c = csum_replace16(csum_replace16(c, osport, sport), odport, dport)
                if proto == 17 and not c:
                    c = 0xFFFF
                _U16.pack_into(pkt, cofs, c)
        struct.pack_into("!HH", pkt, l4, sport, dport)
    elif proto == 132:
        if size < 12:
            return
        if partial:  # the CRC is the device's to compute
            struct.pack_into("!HH", pkt, l4, sport, dport)
            return
        old_csum = bytes(pkt[l4 + 8:l4 + 12])
        data = bytearray(pkt[l4:end])
        data[8:12] = b"\0\0\0\0"
        old_good = crc32c(data)
        struct.pack_into("!HH", data, 0, sport, dport)
        new_good = crc32c(data)
        fixed = int.from_bytes(old_csum, "little") ^ old_good ^ new_good
        struct.pack_into("!HH", pkt, l4, sport, dport)
        pkt[l4 + 8:l4 + 12] = fixed.to_bytes(4, "little")
    elif proto == 1:
        if size < 8 or pkt[l4] not in (0, 8, 13, 14, 15, 16):
            return
        old = _U16.unpack_from(pkt, l4 + 4)[0]
        if old != sport:
            _U16.pack_into(pkt, l4 + 4, sport)
            if not partial:
                c = _U16.unpack_from(pkt, l4 + 2)[0]
                _U16.pack_into(pkt, l4 + 2, csum_replace16(c, old, sport))


def _pat(pkt: bytearray, proto: int, l4: int, end: int, key: tuple[int, ...],
         partial: bool = False) -> None:
    """Make the L4 header look like the reverse of ``key`` (OVS ``pat_packet``)."""
    if proto == 1:
        _set_ports(pkt, 1, l4, end, key[K_SPORT] & 0xFFFF, 0, partial)
    elif proto == 6 or proto == 17 or proto == 132:
        _set_ports(pkt, proto, l4, end, key[K_DPORT], key[K_SPORT], partial)


def _nat_addrs(pkt: bytearray, l3: int, v6: bool, proto: int, l4: int, end: int,
               key: tuple[int, ...], action: int, partial: bool = False) -> None:
    if action & NAT_SRC:
        if v6:
            _set_v6_addr(pkt, l3, 8, key[K_DST], proto, l4, end, partial)
        else:
            _set_v4_addr(pkt, l3, 12, key[K_DST], proto, l4, end, partial)
    elif action & NAT_DST:
        if v6:
            _set_v6_addr(pkt, l3, 24, key[K_SRC], proto, l4, end, partial)
        else:
            _set_v4_addr(pkt, l3, 16, key[K_SRC], proto, l4, end, partial)


def nat_packet(pkt: bytearray, l3: int, l4: int, end: int, conn: Conn, reply: bool,
               related: bool, partial: bool = False) -> int:
    """Translate a packet of ``conn`` travelling in direction ``reply``.

    Returns the ct_state bits to add (snat or dnat).  ``related`` packets are ICMP
    errors: their embedded header is translated the opposite way.  ``partial``: the L4
    checksum is offloaded (see the module docstring).
    """
    key = conn.fwd if reply else conn.rev
    action = nat_reverse(conn.nat) if reply else conn.nat
    v6 = bool(key[1] & V6)
    outer_proto = (58 if v6 else 1) if related else key[1] & 0xFF
    bits = CS_SRC_NAT if action & NAT_SRC else CS_DST_NAT if action & NAT_DST else 0
    _nat_addrs(pkt, l3, v6, outer_proto, l4, end, key, action, partial)
    if action & (NAT_SRC | NAT_DST):
        if related:
            _nat_inner(pkt, l3, l4, end, v6, key, nat_reverse(action), partial)
        else:
            _pat(pkt, key[1] & 0xFF, l4, end, key, partial)
    return bits


def _nat_inner(pkt: bytearray, l3: int, l4: int, end: int, v6: bool, key: tuple[int, ...],
               action: int, partial: bool = False) -> None:
    """Rewrite the packet embedded in an ICMP error, then recompute the ICMP checksum
    (offloaded: its starting value, the pseudo-header sum for ICMPv6, 0 for ICMPv4)."""
    il3 = l4 + 8
    offs = inner_offsets(pkt, il3, end, v6)
    if offs is None:
        return
    il4, iproto = offs
    rev = key_reverse(key)
    _pat(pkt, iproto, il4, end, rev)
    _nat_addrs(pkt, il3, v6, iproto, il4, end, rev, action)
    _U16.pack_into(pkt, l4 + 2, 0)
    if v6:
        a, b, c, d = struct.unpack_from("!QQQQ", pkt, l3 + 8)
        start = a + b + c + d + 58 + (end - l4)
        if partial:
            _U16.pack_into(pkt, l4 + 2, ~checksum(b"", start) & 0xFFFF)
        else:
            _U16.pack_into(pkt, l4 + 2, checksum(pkt[l4:end], start))
    elif not partial:
        _U16.pack_into(pkt, l4 + 2, checksum(pkt[l4:end]))
