"""IP fragment reassembly in front of the connection tracker (OVS's userspace "ipf").

Conntrack needs L4 ports, which only a datagram's first fragment carries, so at each ct
action fragments are held until their datagram is complete; the reassembled packet goes
through the tracker in their place and then the *original* fragments continue through
the pipeline with its verdict (spec conntrack.md §12).  The tracker core drives this
module with three calls:

``process(pkt, zone, recirc_id, now) -> IpfResult``
    Before tracking a packet.  :data:`NOT_FRAG`: track the packet as it is (a
    non-fragment, or a fragment that bypasses reassembly because its family is
    disabled, all slots are taken or its datagram already failed -- the tracker's own
    parser then treats it as OVS does).  :data:`HELD`: the packet is kept here and its
    pipeline stops.  :data:`INVALID`: mark it ``inv|trk`` without tracking (too small,
    overlapping, bad length or checksum).  ``COMPLETE``: track ``result.reassembled``
    instead, then call :meth:`Ipf.postprocess` and let ``result.frags`` (the held
    fragments plus this one, by offset; empty when the datagram had to be purged)
    continue, each with the reassembled packet's ct verdict and metadata.
``postprocess(frags, reassembled)``
    After tracking: copies NAT'ed addresses into every fragment (IPv4 header checksum
    updated) and the reassembled packet's L4 bytes over the first fragment's (ports,
    L4 checksum).
``expire(now)`` after every ct pass, ``purge(now)`` from a periodic sweep
    OVS drops at most one expired datagram (15 s after its first fragment) per ct pass,
    and a cleaner running every 60 s purges datagrams 10 s past their expiry.

Operator side: ``set_enabled``, ``set_min_frag``, ``set_max_nfrags`` (raise
``ConfigError`` with dpctl's wording) and :meth:`Ipf.format_status` for
``dpctl/ipf-get-status [-m]``.

Reassembled IPv6 packets lose their fragment header (the preceding next-header field
takes its value), so that the tracker can parse them like any packet; OVS instead keeps
the header with a zero offset and relies on cached offsets.  Verdicts are the same.

Layer: conntrack (its own helper; the tracker core calls it).  Imports: the standard
library, ``pyvswitch.packet``, ``pyvswitch.coverage``, ``pyvswitch.errors`` and the
sibling helper ``alg_ftp`` (address text) -- nothing of the tracker core.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Final, NamedTuple

from pyvswitch import coverage
from pyvswitch.conntrack.alg_ftp import format_ipv6
from pyvswitch.errors import ConfigError
from pyvswitch.packet.checksum import csum, csum_replace16, csum_replace32
from pyvswitch.packet.headers import (
    ETH_TYPE_IP,
    ETH_TYPE_IPV6,
    IPPROTO_AH,
    IPPROTO_DSTOPTS,
    IPPROTO_FRAGMENT,
    IPPROTO_HOPOPTS,
    IPPROTO_ROUTING,
    ipv4_header_ok,
    ipv6_header_ok,
    l3_offset,
    l4_offset,
)

__all__ = [
    "HELD",
    "INVALID",
    "NOT_FRAG",
    "Ipf",
    "IpfCounters",
    "IpfResult",
    "IpfStatus",
]

_log = logging.getLogger(__name__)

V4_FRAG_SIZE_LBOUND: Final = 400
V4_FRAG_SIZE_MIN_DEF: Final = 1200
V6_FRAG_SIZE_LBOUND: Final = 400
V6_FRAG_SIZE_MIN_DEF: Final = 1280
MAX_FRAGS_DEFAULT: Final = 1000
NFRAG_UBOUND: Final = 5000
LIST_TIMEOUT: Final = 15.0  # seconds from a datagram's first fragment to its expiry
PURGE_DELAY: Final = 10.0  # a datagram this long past expiry is purged, not sent
CLEAN_INTERVAL: Final = 60.0  # how often the cleaner looks for such datagrams

_IPV4_MAX_SIZE: Final = 65535
_IPV4_MAX_HDR_SIZE: Final = 60
_IPV6_MAX_DATA: Final = 65535
_IPV6_MAX_LIST_SIZE: Final = 65535
_LIST_INCREMENT: Final = 4  # slots a datagram's fragment list grows by

_IP_MF: Final = 0x2000
_IP_OFFSET: Final = 0x1FFF
_IP6F_OFF: Final = 0xFFF8
_IP6F_MORE: Final = 0x0001

_U16 = struct.Struct("!H")
_IP4_HDR = struct.Struct("!BxHHHxBH4s4s")  # ver/ihl, len, id, frag, proto, csum, src, dst
_FRAG6_HDR = struct.Struct("!BxHI")  # next header, offset/flags, identification
_IP6_EXT = frozenset(
    (IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_AH, IPPROTO_FRAGMENT)
)


class IpfStatus(Enum):
    """What the tracker must do with a packet handed to :meth:`Ipf.process`."""

    NOT_FRAG = "not a fragment"
    HELD = "held"
    INVALID = "invalid"
    COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class IpfResult:
    """The outcome of :meth:`Ipf.process`; only COMPLETE carries packets."""

    status: IpfStatus
    reassembled: bytearray | None = None
    frags: list[bytearray] = field(default_factory=list)


NOT_FRAG: Final = IpfResult(IpfStatus.NOT_FRAG)
HELD: Final = IpfResult(IpfStatus.HELD)
INVALID: Final = IpfResult(IpfStatus.INVALID)


class IpfCounters(NamedTuple):
    """Per-family fragment counters, as ``ipf-get-status`` prints them."""

    accepted: int
    completed: int
    expired: int
    too_small: int
    overlapped: int
    purged: int


# Indexes into the per-family counter lists.
_ACCEPTED, _COMPLETED, _EXPIRED, _TOO_SMALL, _OVERLAP, _PURGED = range(6)


class _ListState(IntEnum):
    UNUSED = 0
    REASS_FAIL = 1
    OTHER_SEEN = 2
    FIRST_SEEN = 3
    LAST_SEEN = 4
    FIRST_LAST_SEEN = 5
    COMPLETED = 6


_STATE_NAMES: Final = (
    "unused",
    "reassemble fail",
    "other frag",
    "first frag",
    "last frag",
    "first/last frag",
    "complete",
)

# (src, dst, recirc_id, ip_id, dl_type, zone, nw_proto); nw_proto is 0 for IPv6.
_Key = tuple[int, int, int, int, int, int, int]


class _Frag(NamedTuple):
    start: int  # first data byte (IPv6: plus 8, as OVS counts)
    end: int  # last data byte
    pkt: bytearray
    l3: int
    l4: int
    l3_end: int  # end of the datagram in the frame (Ethernet padding excluded)
    frag_hdr: int  # IPv6: offset of the fragment header, else -1
    nh_field: int  # IPv6: offset of the next-header byte naming it, else -1


class _FragList:
    """The fragments of one datagram received so far (OVS ``struct ipf_list``)."""

    __slots__ = ("key", "v6", "frags", "size", "state", "expiration")

    def __init__(self, key: _Key, v6: bool, size: int, expiration: float) -> None:
        self.key = key
        self.v6 = v6
        self.frags: list[_Frag] = []
        self.size = size  # slots allocated; grows by _LIST_INCREMENT up to the cap
        self.state = _ListState.UNUSED
        self.expiration = expiration


def _max_v4_list_size(min_v4: int) -> int:
    """Fragments one IPv4 datagram may have: a full datagram cut at the minimum size."""
    span = min_v4 - _IPV4_MAX_HDR_SIZE
    return -(-(_IPV4_MAX_SIZE - _IPV4_MAX_HDR_SIZE) // span)


def _v6_walk(pkt: bytearray, l3: int, end: int) -> tuple[int, int, int, int]:
    """Walk IPv6 extension headers as OVS does, remembering the last fragment header.

    Returns ``(upper-layer offset or -1 when a header does not fit, nw_frag bits,
    fragment header offset or -1, offset of the next-header byte that names it)``.
    """
    ofs = l3 + 40
    proto = pkt[l3 + 6]
    prev_nh = l3 + 6  # where the byte naming the current header lives
    nh_field = -1
    frag_ofs = -1
    nw_frag = 0
    while proto in _IP6_EXT:
        if end - ofs < 8:
            return -1, nw_frag, frag_ofs, nh_field
        if proto == IPPROTO_FRAGMENT:
            frag_ofs, nh_field = ofs, prev_nh
            proto, offlg = _FRAG6_HDR.unpack_from(pkt, ofs)[:2]
            prev_nh = ofs
            ofs += 8
            if offlg:
                nw_frag = 1
                if offlg & _IP6F_OFF:
                    return ofs, 3, frag_ofs, nh_field
            continue
        size = (pkt[ofs + 1] + 2) * 4 if proto == IPPROTO_AH else (pkt[ofs + 1] + 1) * 8
        proto = pkt[ofs]
        if end - ofs < size:
            return -1, nw_frag, frag_ofs, nh_field
        prev_nh = ofs
        ofs += size
    return ofs, nw_frag, frag_ofs, nh_field


class Ipf:
    """Fragment reassembly state shared by all ct actions of one datapath."""

    def __init__(self) -> None:
        self.v4_enabled = True
        self.v6_enabled = True
        self.min_v4_frag_size = V4_FRAG_SIZE_MIN_DEF
        self.min_v6_frag_size = V6_FRAG_SIZE_MIN_DEF
        self.max_v4_list_size = _max_v4_list_size(V4_FRAG_SIZE_MIN_DEF)
        self.nfrag_max = MAX_FRAGS_DEFAULT
        self.nfrag = 0  # fragments held right now
        self._counts = ([0] * 6, [0] * 6)  # IPv4, IPv6
        self._lists: dict[_Key, _FragList] = {}  # in creation (= expiry) order
        self._next_clean: float | None = None

    # --- settings ----------------------------------------------------------------------

    def set_enabled(self, v6: bool, on: bool) -> None:
        if v6:
            self.v6_enabled = on
        else:
            self.v4_enabled = on

    def set_min_frag(self, v6: bool, n: int) -> None:
        """Smallest allowed non-last fragment (L3 bytes); values under 400 are refused."""
        if n < (V6_FRAG_SIZE_LBOUND if v6 else V4_FRAG_SIZE_LBOUND) or n > 0xFFFFFFFF:
            raise ConfigError("requested minimum fragment size too small; see documentation")
        if v6:
            self.min_v6_frag_size = n
        else:
            self.min_v4_frag_size = n
            self.max_v4_list_size = _max_v4_list_size(n)

    def set_max_nfrags(self, n: int) -> None:
        """How many fragments may be held at once, over all datagrams (at most 5000)."""
        if n < 0 or n > NFRAG_UBOUND:
            raise ConfigError("setting maximum fragments failed")
        self.nfrag_max = n

    def counters(self, v6: bool) -> IpfCounters:
        return IpfCounters(*self._counts[v6])

    # --- the packet path ---------------------------------------------------------------

    def process(self, pkt: bytearray, zone: int, recirc_id: int, now: float) -> IpfResult:
        """Hold, reject or reassemble ``pkt`` (a whole frame) at a ct action; never raises."""
        if not (self.v4_enabled or self.v6_enabled):
            return NOT_FRAG
        l3, eth_type = l3_offset(pkt)
        if eth_type == ETH_TYPE_IP:
            # Fast path: a header-sized datagram without MF or offset is no fragment.
            if len(pkt) - l3 >= 20 and not (pkt[l3 + 6] & 0x3F or pkt[l3 + 7]):
                return NOT_FRAG
            return self._process_v4(pkt, l3, zone, recirc_id, now)
        if eth_type == ETH_TYPE_IPV6:
            return self._process_v6(pkt, l3, zone, recirc_id, now)
        return NOT_FRAG

    def _process_v4(
        self, pkt: bytearray, l3: int, zone: int, recirc_id: int, now: float
    ) -> IpfResult:
        if ipv4_header_ok(pkt, l3):
            l3_size = _U16.unpack_from(pkt, l3 + 2)[0]  # Ethernet padding excluded
        else:
            l3_size = len(pkt) - l3
        if l3_size < 20:
            return INVALID
        vihl, tot_len, ip_id, frag_off, proto, _, src, dst = _IP4_HDR.unpack_from(pkt, l3)
        if not frag_off & (_IP_MF | _IP_OFFSET):
            return NOT_FRAG
        ihl = (vihl & 0x0F) * 4
        if tot_len != l3_size or ihl < 20 or l3_size < ihl:
            return INVALID
        coverage.inc("ipf_l3csum_checked")
        if csum(pkt[l3 : l3 + ihl]) != 0xFFFF:
            coverage.inc("ipf_l3csum_err")
            return INVALID
        offset = frag_off & _IP_OFFSET
        more = frag_off & _IP_MF
        last = bool(offset and not more)
        if not last and l3_size < self.min_v4_frag_size:
            self._counts[0][_TOO_SMALL] += 1
            return INVALID
        start = offset * 8
        frag = _Frag(
            start, (start + tot_len - ihl - 1) & 0xFFFF, pkt, l3, l3 + ihl, l3 + tot_len, -1, -1
        )
        key = (
            int.from_bytes(src, "big"),
            int.from_bytes(dst, "big"),
            recirc_id,
            ip_id,
            ETH_TYPE_IP,
            zone,
            proto,
        )
        return self._handle(key, False, frag, bool(not offset and more), last, now)

    def _process_v6(
        self, pkt: bytearray, l3: int, zone: int, recirc_id: int, now: float
    ) -> IpfResult:
        if not ipv6_header_ok(pkt, l3):
            return INVALID  # OVS finds no L4 header and refuses the packet
        l3_end = l3 + 40 + _U16.unpack_from(pkt, l3 + 4)[0]
        if pkt[l3 + 6] not in _IP6_EXT:
            return NOT_FRAG
        l4, nw_frag, frag_hdr, nh_field = _v6_walk(pkt, l3, l3_end)
        if l4 < 0:
            return INVALID
        if not nw_frag or frag_hdr < 0:
            return NOT_FRAG
        _, offlg, ident = _FRAG6_HDR.unpack_from(pkt, frag_hdr)
        if not offlg & (_IP6F_OFF | _IP6F_MORE):
            return NOT_FRAG
        offset = offlg & _IP6F_OFF
        more = offlg & _IP6F_MORE
        last = bool(offset and not more)
        if not last and l3_end - l3 < self.min_v6_frag_size:
            self._counts[1][_TOO_SMALL] += 1
            return INVALID
        start = (offset + 8) & 0xFFFF
        end = (start + l3_end - l4 - 1) & 0xFFFF
        frag = _Frag(start, end, pkt, l3, l4, l3_end, frag_hdr, nh_field)
        key = (
            int.from_bytes(pkt[l3 + 8 : l3 + 24], "big"),
            int.from_bytes(pkt[l3 + 24 : l3 + 40], "big"),
            recirc_id,
            ident,
            ETH_TYPE_IPV6,
            zone,
            0,
        )
        return self._handle(key, True, frag, bool(not offset and more), last, now)

    def _handle(
        self, key: _Key, v6: bool, frag: _Frag, first: bool, last: bool, now: float
    ) -> IpfResult:
        if not (self.v6_enabled if v6 else self.v4_enabled):
            return NOT_FRAG
        if self.nfrag >= self.nfrag_max:
            return NOT_FRAG
        cap = _IPV6_MAX_LIST_SIZE if v6 else self.max_v4_list_size
        lst = self._lists.get(key)
        if lst is None:
            lst = _FragList(key, v6, min(cap, _LIST_INCREMENT), now + LIST_TIMEOUT)
            self._lists[key] = lst
        elif lst.state == _ListState.REASS_FAIL or lst.state == _ListState.COMPLETED:
            return NOT_FRAG
        elif len(lst.frags) >= lst.size:
            grow = min(_LIST_INCREMENT, cap - lst.size)
            if grow <= 0:
                return NOT_FRAG
            lst.size += grow
        counts = self._counts[v6]
        start, end = frag.start, frag.end
        for f in lst.frags:
            # OVS only asks whether either end falls inside a held fragment.
            if f.start <= start <= f.end or f.start <= end <= f.end:
                counts[_OVERLAP] += 1
                return INVALID
        lst.frags.append(frag)
        self.nfrag += 1
        counts[_ACCEPTED] += 1
        return self._transition(lst, first, last, now)

    def _transition(self, lst: _FragList, first: bool, last: bool, now: float) -> IpfResult:
        state = lst.state
        if state == _ListState.UNUSED or state == _ListState.OTHER_SEEN:
            state = (
                _ListState.FIRST_SEEN
                if first
                else _ListState.LAST_SEEN
                if last
                else _ListState.OTHER_SEEN
            )
        elif state == _ListState.FIRST_SEEN:
            if last:
                state = _ListState.FIRST_LAST_SEEN
        elif state == _ListState.LAST_SEEN:
            if first:
                state = _ListState.FIRST_LAST_SEEN
        lst.state = state
        if state != _ListState.FIRST_LAST_SEEN:
            return HELD
        frags = lst.frags
        frags.sort(key=lambda f: f.start)
        for prev, cur in zip(frags, frags[1:]):
            if prev.end + 1 != cur.start:
                return HELD
        reassembled = self._reassemble_v6(lst) if lst.v6 else self._reassemble_v4(lst)
        if reassembled is None:
            lst.state = _ListState.REASS_FAIL
            return HELD
        lst.state = _ListState.COMPLETED
        del self._lists[lst.key]
        n = len(frags)
        self.nfrag -= n
        counts = self._counts[lst.v6]
        if now >= lst.expiration + PURGE_DELAY:
            # OVS purges a datagram this stale when it would send it on.
            counts[_PURGED] += n
            coverage.inc("ipf_stuck_frag_list_purged", n)
            return IpfResult(IpfStatus.COMPLETE, reassembled, [])
        counts[_COMPLETED] += n
        return IpfResult(IpfStatus.COMPLETE, reassembled, [f.pkt for f in frags])

    def _rest(self, frags: list[_Frag]) -> tuple[int, list[bytes]]:
        rest_len = frags[-1].end - frags[1].start + 1
        parts = [bytes(f.pkt[f.l4 : f.l4 + f.end - f.start + 1]) for f in frags[1:]]
        return rest_len, parts

    def _reassemble_v4(self, lst: _FragList) -> bytearray | None:
        f0 = lst.frags[0]
        out = bytearray(f0.pkt[: f0.l3_end])
        rest_len, parts = self._rest(lst.frags)
        if len(out) + rest_len > _IPV4_MAX_SIZE:
            _log.warning(
                "Unsupported big reassembled v4 packet; v4 hdr: %s",
                bytes(out[f0.l3 : f0.l3 + 20]).hex(),
            )
            return None
        out += b"".join(parts)
        l3 = f0.l3
        tot_len, _, frag_off = struct.unpack_from("!HHH", out, l3 + 2)
        new_len = (tot_len + rest_len) & 0xFFFF
        new_off = frag_off & ~_IP_MF
        ip_csum = _U16.unpack_from(out, l3 + 10)[0]
        ip_csum = csum_replace16(csum_replace16(ip_csum, frag_off, new_off), tot_len, new_len)
        _U16.pack_into(out, l3 + 2, new_len)
        _U16.pack_into(out, l3 + 6, new_off)
        _U16.pack_into(out, l3 + 10, ip_csum)
        return out

    def _reassemble_v6(self, lst: _FragList) -> bytearray | None:
        f0 = lst.frags[0]
        out = bytearray(f0.pkt[: f0.l3_end])
        rest_len, parts = self._rest(lst.frags)
        if len(out) + rest_len > _IPV6_MAX_DATA:
            _log.warning(
                "Unsupported big reassembled v6 packet; v6 hdr: %s",
                bytes(out[f0.l3 : f0.l3 + 40]).hex(),
            )
            return None
        out += b"".join(parts)
        plen = _U16.unpack_from(out, f0.l3 + 4)[0] - 8 + rest_len
        out[f0.nh_field] = out[f0.frag_hdr]  # the fragment header's next header
        del out[f0.frag_hdr : f0.frag_hdr + 8]
        _U16.pack_into(out, f0.l3 + 4, plen & 0xFFFF)
        return out

    def postprocess(self, frags: list[bytearray], reassembled: bytearray) -> None:
        """Carry the tracker's rewrites of ``reassembled`` back into its fragments.

        Every fragment gets the reassembled packet's IP addresses (IPv4 header checksum
        updated incrementally); the first fragment's whole L4 part is overwritten with
        the same bytes of the reassembled packet, which carries translated ports and a
        finished L4 checksum.  Fragment boundaries never change.
        """
        if not frags:
            return
        r_l3, r_type = l3_offset(reassembled)
        r_l4 = l4_offset(reassembled, r_l3, r_type)[0]
        f0 = frags[0]
        f_l3, f_type = l3_offset(f0)
        if r_l4 < 0 or f_type != r_type:
            return
        f_l4 = l4_offset(f0, f_l3, f_type)[0]
        if f_l4 < 0:
            return
        if f_type == ETH_TYPE_IP:
            f_end = f_l3 + _U16.unpack_from(f0, f_l3 + 2)[0]
        else:
            f_end = f_l3 + 40 + _U16.unpack_from(f0, f_l3 + 4)[0]
        n = min(f_end - f_l4, len(reassembled) - r_l4)
        f0[f_l4 : f_l4 + n] = reassembled[r_l4 : r_l4 + n]
        if r_type == ETH_TYPE_IP:
            new_src, new_dst = struct.unpack_from("!II", reassembled, r_l3 + 12)
            for pkt in frags:
                l3 = l3_offset(pkt)[0]
                old_src, old_dst = struct.unpack_from("!II", pkt, l3 + 12)
                ip_csum = _U16.unpack_from(pkt, l3 + 10)[0]
                ip_csum = csum_replace32(ip_csum, old_src, new_src)
                ip_csum = csum_replace32(ip_csum, old_dst, new_dst)
                struct.pack_into("!HII", pkt, l3 + 10, ip_csum, new_src, new_dst)
        else:
            addrs = reassembled[r_l3 + 8 : r_l3 + 40]
            for pkt in frags:
                l3 = l3_offset(pkt)[0]
                pkt[l3 + 8 : l3 + 40] = addrs

    def expire(self, now: float) -> None:
        """Drop the oldest datagram whose 15 s are up, if any (at most one per call).

        OVS runs this after every ct pass; the limit keeps a flood of stale
        fragments from stalling one pass.
        """
        if not (self.v4_enabled or self.v6_enabled or self.nfrag):
            return
        for lst in self._lists.values():
            if now <= lst.expiration:
                return
            n = len(lst.frags)
            self.nfrag -= n
            self._counts[lst.v6][_EXPIRED] += n
            coverage.inc("ipf_stuck_frag_list_expired", n)
            del self._lists[lst.key]
            return

    def purge(self, now: float) -> None:
        """The cleaner: every 60 s, drop datagrams 10 s or more past their expiry."""
        if self._next_clean is not None and now < self._next_clean:
            return
        self._next_clean = now + CLEAN_INTERVAL
        for key, lst in list(self._lists.items()):
            if now >= lst.expiration + PURGE_DELAY:
                n = len(lst.frags)
                self.nfrag -= n
                self._counts[lst.v6][_PURGED] += n
                coverage.inc("ipf_stuck_frag_list_purged", n)
                del self._lists[key]

    # --- operator output ---------------------------------------------------------------

    def format_status(self, verbose: bool = False) -> str:
        """The text of ``ovs-appctl dpctl/ipf-get-status [-m]``."""
        pad = " " * 8
        v4, v6 = self._counts
        lines = [
            "Fragmentation Module Status",
            "---------------------------",
            f"v4 enabled: {int(self.v4_enabled)}",
            f"v6 enabled: {int(self.v6_enabled)}",
            f"max num frags (v4/v6): {self.nfrag_max}",
            f"num frag: {self.nfrag}",
        ]
        for name, min_size, counts in (
            ("v4", self.min_v4_frag_size, v4),
            ("v6", self.min_v6_frag_size, v6),
        ):
            lines.append(f"min {name} frag size: {min_size}")
            for label, value in zip(
                ("accepted", "completed", "expired", "too small", "overlapped", "purged"),
                counts,
            ):
                lines.append(f"{name} frags {label}: {value}")
        text = "".join(f"{pad}{line}\n" for line in lines)
        if verbose:
            text += f"\n{pad}Fragment Lists:\n\n"
            text += "".join(f"{self._format_list(lst)}\n" for lst in self._lists.values())
        return text

    @staticmethod
    def _format_list(lst: _FragList) -> str:
        src, dst, recirc_id, ip_id, dl_type, zone, nw_proto = lst.key
        if lst.v6:
            addrs = f"src={format_ipv6(src)},dst={format_ipv6(dst)}"
        else:
            addrs = f"src={_ipv4_text(src)},dst={_ipv4_text(dst)}"
        return (
            f"({addrs},recirc_id={recirc_id},ip_id={ip_id},dl_type={dl_type:#x},"
            f"zone={zone},nw_proto={nw_proto},num_fragments={len(lst.frags)},"
            f"state={_STATE_NAMES[lst.state]})"
        )


def _ipv4_text(addr: int) -> str:
    return ".".join(str((addr >> s) & 0xFF) for s in (24, 16, 8, 0))
