"""Datapath actions (OVS "odp" actions): what a cached megaflow does to a packet.

Translation (``ofproto_dpif.xlate``) turns a rule pipeline into a tuple of these;
the datapath (``dpif``) executes them on bytes.  They are primitive on purpose: every
header change is an explicit ``SetMasked``, every recirculation an explicit ``Recirc``.
Their text form is OVS's (``dpctl/dump-flows``, ``Datapath actions:`` in traces), see
:mod:`pyvswitch.odp.format`.

Layer: odp.  Imports: flow.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyvswitch.flow.ofpacts import Nat


@dataclass(frozen=True, slots=True)
class Output:
    """Send to datapath port ``port``."""

    port: int


@dataclass(frozen=True, slots=True)
class SetMasked:
    """Rewrite header fields: ``changes`` is ((slot, value, mask), ...) in flow-layout
    slots, all belonging to one header (``eth``, ``ipv4``, ``ipv6``, ``tcp``, ``udp``,
    ``sctp``, ``icmp``, ``icmpv6``, ``arp``, ``nd``) named by ``header``; metadata
    (``skb_mark`` = pkt_mark) uses header ``"skb_mark"``.
    Checksums are kept correct by the executor."""

    header: str
    changes: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True, slots=True)
class PushVlan:
    tpid: int
    tci: int  # includes the CFI/present bit 0x1000


@dataclass(frozen=True, slots=True)
class PopVlan:
    pass


@dataclass(frozen=True, slots=True)
class Ct:
    """``ct(commit,zone=Z,mark=V/M,label=V/M,helper=ftp,nat(...))``."""

    zone: int = 0
    commit: bool = False
    force: bool = False
    mark: tuple[int, int] | None = None
    label: tuple[int, int] | None = None
    helper: str = ""  # "", "ftp", "tftp"
    nat: Nat | None = None
    timeout: str = ""


@dataclass(frozen=True, slots=True)
class CtClear:
    pass


@dataclass(frozen=True, slots=True)
class Recirc:
    recirc_id: int


@dataclass(frozen=True, slots=True)
class Hash:
    """``hash(l4(BASIS))``: set dp_hash from the 5-tuple (select groups)."""

    basis: int = 0
    alg: str = "l4"


@dataclass(frozen=True, slots=True)
class Userspace:
    """Send the packet up to userspace (packet-in, sampling, slow path).

    ``cookie`` is an opaque, hashable object the upcall handler understands (for
    packet-ins: a ``ControllerCookie`` of ``ofproto_dpif``); ``text`` is how the action
    prints inside ``userspace(pid=0,...)``.
    """

    cookie: object
    text: str = ""


@dataclass(frozen=True, slots=True)
class Trunc:
    max_len: int


@dataclass(frozen=True, slots=True)
class Clone:
    actions: tuple[object, ...]


DpAction = Output | SetMasked | PushVlan | PopVlan | Ct | CtClear | Recirc | Hash | Userspace
DpAction = DpAction | Trunc | Clone
