"""Connection entries, connection keys and timeout policies of the connection tracker.

A *key* identifies one direction of a connection (OVS ``struct conn_key``) as a flat tuple
``(zone, l3p, src, sport, dst, dport)``:

* ``l3p`` is the IP protocol, plus :data:`V6` (0x100) for IPv6, so both families share one
  table without ambiguity;
* ``src``/``dst`` are the addresses as ints;
* ``sport``/``dport`` are the L4 ports (TCP, UDP, SCTP) or, for ICMP/ICMPv6 echo-type
  messages, ``id | type << 16 | code << 24`` where the source endpoint carries the packet's
  type and the destination endpoint the "opposite" type (8 <-> 0, 13 <-> 14, 15 <-> 16,
  128 <-> 129), so that a request and its reply are the two directions of one connection;
  every other protocol has ports 0.

Reversing a key swaps its endpoints.  A connection owns a FWD key (as its first packet
carried it) and a REV key (FWD reversed, then NAT-adjusted); both map to the same
:class:`Conn` in the tracker's table.  Entries use ``__slots__`` and plain ints so that a
million connections fit in well under a KiB each.

Layer: conntrack.  Imports: errors.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyvswitch.errors import ConfigError

#: added to the IP protocol in a key's ``l3p`` for IPv6 connections
V6 = 0x100

# Slots of a key tuple.
K_ZONE, K_L3P, K_SRC, K_SPORT, K_DST, K_DPORT = range(6)

#: ``expiration`` of a connection that has been removed from the table (never live)
RECLAIMED = -1.0

# NAT kinds (OVS NAT_ACTION_*): what a connection's orig-direction packets get rewritten.
NAT_SRC = 0x01
NAT_SRC_PORT = 0x02
NAT_DST = 0x04
NAT_DST_PORT = 0x08

# Protocol tracker verdicts (OVS enum ct_update_res).
UPDATE_INVALID = 0
UPDATE_VALID = 1
UPDATE_NEW = 2
UPDATE_VALID_NEW = 3

# Timeout kinds, in OVS's CT_TM_* order; the value is the index into a policy's values.
TM_TCP_FIRST_PACKET = 0
TM_TCP_OPENING = 1
TM_TCP_ESTABLISHED = 2
TM_TCP_CLOSING = 3
TM_TCP_FIN_WAIT = 4
TM_TCP_CLOSED = 5
TM_OTHER_FIRST = 6
TM_OTHER_MULTIPLE = 7
TM_OTHER_BIDIR = 8
TM_ICMP_FIRST = 9
TM_ICMP_REPLY = 10

#: policy key (as ``ovs-vsctl add-zone-tp`` spells it) of each timeout kind, in TM_* order
TIMEOUT_KEYS: tuple[str, ...] = (
    "tcp_syn_sent", "tcp_syn_recv", "tcp_established", "tcp_fin_wait", "tcp_time_wait",
    "tcp_close", "udp_first", "udp_single", "udp_multiple", "icmp_first", "icmp_reply",
)
#: default values in seconds (the userspace datapath's, not Linux's)
DEFAULT_TIMEOUTS: tuple[int, ...] = (30, 30, 86400, 900, 45, 30, 60, 60, 30, 60, 30)
#: keys the kernel datapath knows but userspace ignores
IGNORED_TIMEOUT_KEYS = frozenset(
    ("tcp_close_wait", "tcp_last_ack", "tcp_syn_sent2", "tcp_retransmit", "tcp_unack")
)


class TimeoutPolicy:
    """A set of timeout values; connections hold a reference and read it at every refresh.

    The object is updated in place when the policy changes, so existing connections see
    new values on their next packet (as OVS looks the policy up by id each time), and a
    deleted policy reverts to the defaults for connections that still refer to it.
    """

    __slots__ = ("name", "t", "present")

    def __init__(self, name: str) -> None:
        self.name = name
        self.t: list[int] = list(DEFAULT_TIMEOUTS)
        self.present = 0

    def update(self, values: Mapping[str, int]) -> None:
        """Set the given keys (others keep their values); unknown keys are refused."""
        for key, value in values.items():
            if key in IGNORED_TIMEOUT_KEYS:
                continue
            try:
                i = TIMEOUT_KEYS.index(key)
            except ValueError:
                raise ConfigError(f"unknown timeout policy attribute {key}") from None
            if not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
                raise ConfigError(f"invalid value {value!r} for timeout policy attribute {key}")
            self.t[i] = value
            self.present |= 1 << i

    def reset(self) -> None:
        self.t[:] = DEFAULT_TIMEOUTS
        self.present = 0

    def values(self) -> dict[str, int]:
        """The attributes that were set explicitly."""
        return {k: self.t[i] for i, k in enumerate(TIMEOUT_KEYS) if self.present >> i & 1}


#: the policy of connections committed without one (never modified)
DEFAULT_POLICY = TimeoutPolicy("")


class AlgInfo:
    """The rarely used part of a connection: ALG helper and related-connection state.

    ``helper`` is "ftp"/"tftp" for control connections committed with a helper;
    ``related`` marks ALG data connections (``parent`` is then the control connection's
    FWD key); ``seq_skew``/``skew_reply`` record FTP payload rewrites (§8.4).
    """

    __slots__ = ("helper", "related", "parent", "seq_skew", "skew_reply")

    def __init__(self) -> None:
        self.helper: str | None = None
        self.related = False
        self.parent: tuple[int, ...] | None = None
        self.seq_skew = 0
        self.skew_reply = False


class Conn:
    """One tracked connection (common part).  ``exp`` is the absolute expiry time."""

    __slots__ = ("fwd", "rev", "exp", "tmo", "mark", "label", "nat", "alg", "zl")

    fwd: tuple[int, ...]
    rev: tuple[int, ...]
    exp: float
    #: the values list of the connection's TimeoutPolicy (updated in place by the policy)
    tmo: list[int]
    mark: int
    label: int
    nat: int
    alg: AlgInfo | None
    zl: object

    def refresh(self, tm: int, now: float) -> None:
        self.exp = now + self.tmo[tm]


def key_reverse(key: tuple[int, ...]) -> tuple[int, ...]:
    """The key of the opposite direction (endpoints swapped)."""
    return (key[0], key[1], key[4], key[5], key[2], key[3])


#: ICMPv4 echo-type messages and their opposite types
ICMP4_REVERSE = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15}
#: ICMPv6 echo messages and their opposite types
ICMP6_REVERSE = {128: 129, 129: 128}
