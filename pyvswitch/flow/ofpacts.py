"""OpenFlow actions and instructions as values (OVS "ofpacts").

A rule's actions are a tuple of these frozen dataclasses, version-independent: the text
syntax (:mod:`pyvswitch.flow.actions_text`), the OpenFlow codec and translation all speak
this vocabulary.  As in OVS, OpenFlow 1.1+ instructions are ofpacts too and, when present,
follow the apply-actions in the order ``ClearActions, WriteActions, WriteMetadata,
GotoTable``.  An empty tuple means drop.

Some actions remember the spelling they came from (``raw``) because ovs-ofctl prints the
same behaviour differently depending on how it was encoded: ``load:`` vs ``set_field:``,
``strip_vlan`` vs ``pop_vlan``, ``mod_nw_tos`` vs ``set_field:->ip_dscp``.

Layer: flow.  Imports: flow.fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from pyvswitch.flow.fields import Field


@dataclass(frozen=True, slots=True)
class SubField:
    """A bit range of a field: ``NXM_NX_REG0[0..15]`` (OVS ``mf_subfield``)."""

    field: Field
    ofs: int
    n_bits: int

    @classmethod
    def whole(cls, f: Field) -> SubField:
        return cls(f, 0, f.nbits)

    @property
    def is_whole(self) -> bool:
        return self.ofs == 0 and self.n_bits == self.field.nbits

    @property
    def mask(self) -> int:
        """The subfield's bits as a mask of the field's value."""
        return ((1 << self.n_bits) - 1) << self.ofs


# ---------------------------------------------------------------- output & forwarding
@dataclass(frozen=True, slots=True)
class Output:
    """``output:PORT`` (also NORMAL, FLOOD, ALL, LOCAL, IN_PORT, CONTROLLER:max_len)."""

    port: int
    max_len: int = 0


@dataclass(frozen=True, slots=True)
class OutputReg:
    """``output:NXM_NX_REG0[0..15]``: output to the port number held in a subfield."""

    src: SubField
    max_len: int = 0


class ControllerReason(Enum):
    NO_MATCH = 0
    ACTION = 1
    INVALID_TTL = 2
    ACTION_SET = 3
    GROUP = 4
    PACKET_OUT = 5


@dataclass(frozen=True, slots=True)
class Controller:
    """Send the packet to the controllers (packet-in).

    Printed as ``CONTROLLER:max_len`` when only ``max_len`` differs from the defaults,
    otherwise as ``controller(reason=...,max_len=...,id=...,userdata=...,pause)``.
    """

    max_len: int = 0xFFFF
    reason: ControllerReason = ControllerReason.ACTION
    controller_id: int = 0
    userdata: bytes = b""
    pause: bool = False
    meter_id: int = 0xFFFFFFFF
    #: True when it came from ``controller(...)``/NXAST_CONTROLLER2 rather than an
    #: output to OFPP_CONTROLLER (only affects printing)
    nx_form: bool = False


@dataclass(frozen=True, slots=True)
class Resubmit:
    """``resubmit(port,table[,ct])`` / ``resubmit:port``.

    ``in_port`` None means "keep the packet's in_port" (printed empty); ``table`` None
    means the current table.  ``with_ct_orig`` looks up with the ct original tuple.
    """

    in_port: int | None = None
    table: int | None = None
    with_ct_orig: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    group_id: int


@dataclass(frozen=True, slots=True)
class Enqueue:
    port: int
    queue: int


@dataclass(frozen=True, slots=True)
class SetQueue:
    queue_id: int


@dataclass(frozen=True, slots=True)
class Exit:
    """Stop processing the actions of the current pipeline."""


@dataclass(frozen=True, slots=True)
class Note:
    data: bytes


@dataclass(frozen=True, slots=True)
class Drop:
    """Only used transiently by parsers; rules express drop as an empty action list."""


# ---------------------------------------------------------------- field modification
class SetRaw(Enum):
    """Which spelling a field modification came from (decides how it prints)."""

    SET_FIELD = "set_field"
    LOAD = "load"  # NXAST_REG_LOAD / "load:V->F[a..b]"
    MOD_DL_SRC = "mod_dl_src"
    MOD_DL_DST = "mod_dl_dst"
    MOD_NW_SRC = "mod_nw_src"
    MOD_NW_DST = "mod_nw_dst"
    MOD_NW_TOS = "mod_nw_tos"
    MOD_NW_ECN = "mod_nw_ecn"
    MOD_NW_TTL = "mod_nw_ttl"
    MOD_TP_SRC = "mod_tp_src"
    MOD_TP_DST = "mod_tp_dst"
    MOD_VLAN_VID = "mod_vlan_vid"
    MOD_VLAN_PCP = "mod_vlan_pcp"


@dataclass(frozen=True, slots=True)
class SetField:
    """Write ``value`` under ``mask`` into ``field`` (set_field, load, mod_*).

    ``value``/``mask`` are in the field's own units (for ``load`` into a subfield, the
    value is already shifted into place and ``mask`` covers the subfield's bits).
    ``raw`` records the spelling; mod_* keep their OpenFlow 1.0 units in ``value``
    interpretation handled by the formatter (e.g. mod_nw_tos prints the TOS byte).
    """

    field: Field
    value: int
    mask: int
    raw: SetRaw = SetRaw.SET_FIELD


@dataclass(frozen=True, slots=True)
class Move:
    """``move:SRC[a..b]->DST[c..d]`` (NXAST_REG_MOVE / OF1.5 copy_field)."""

    src: SubField
    dst: SubField


@dataclass(frozen=True, slots=True)
class DecTtl:
    """Decrement IP TTL / hop limit; on zero, packet-in to ``controller_ids``."""

    controller_ids: tuple[int, ...] = (0,)
    #: True when written ``dec_ttl(...)`` with explicit ids (prints them back)
    explicit_ids: bool = False


@dataclass(frozen=True, slots=True)
class SetIPTtl:
    """``mod_nw_ttl:N`` / OF1.3 SET_NW_TTL."""

    ttl: int


@dataclass(frozen=True, slots=True)
class PushVlan:
    ethertype: int = 0x8100


class PopVlanRaw(Enum):
    STRIP_VLAN = "strip_vlan"
    POP_VLAN = "pop_vlan"


@dataclass(frozen=True, slots=True)
class PopVlan:
    raw: PopVlanRaw = PopVlanRaw.POP_VLAN


@dataclass(frozen=True, slots=True)
class SetVlanVid:
    """``mod_vlan_vid:N`` (pushes a tag first if there is none, as OF1.0 does)."""

    vid: int
    push_vlan_if_needed: bool = True


@dataclass(frozen=True, slots=True)
class SetVlanPcp:
    pcp: int
    push_vlan_if_needed: bool = True


# ---------------------------------------------------------------- conntrack
NX_CT_RECIRC_NONE = 0xFF

CT_F_COMMIT = 0x01
CT_F_FORCE = 0x02

NAT_F_SRC = 0x01
NAT_F_DST = 0x02
NAT_F_PERSISTENT = 0x04
NAT_F_PROTO_HASH = 0x08
NAT_F_PROTO_RANDOM = 0x10


@dataclass(frozen=True, slots=True)
class Nat:
    """``nat[(src|dst=ADDR[-ADDR][:PORT[-PORT]][,persistent][,hash|random])]``.

    Addresses are ints; ``ipv6`` says which family.  ``flags`` uses NAT_F_*; bare
    ``nat`` has neither SRC nor DST.
    """

    flags: int = 0
    ipv6: bool = False
    addr_min: int | None = None
    addr_max: int | None = None
    port_min: int | None = None
    port_max: int | None = None

    @property
    def is_bare(self) -> bool:
        return not self.flags & (NAT_F_SRC | NAT_F_DST)


@dataclass(frozen=True, slots=True)
class Ct:
    """``ct(...)``: hand the packet to the connection tracker.

    ``zone_src`` (a subfield) overrides ``zone_imm`` when set.  ``recirc_table`` is
    NX_CT_RECIRC_NONE when there is no ``table=``.  ``actions`` holds the nested
    ``nat``/``exec(...)`` ofpacts (Nat first, then SetField/Move on ct_mark/ct_label).
    """

    flags: int = 0
    zone_imm: int = 0
    zone_src: SubField | None = None
    recirc_table: int = NX_CT_RECIRC_NONE
    alg: int = 0  # 0, 21 (ftp) or 69 (tftp)
    actions: tuple[object, ...] = ()
    timeout: str = ""

    @property
    def commit(self) -> bool:
        return bool(self.flags & CT_F_COMMIT)

    @property
    def force(self) -> bool:
        return bool(self.flags & CT_F_FORCE)

    @property
    def nat(self) -> Nat | None:
        for a in self.actions:
            if isinstance(a, Nat):
                return a
        return None


@dataclass(frozen=True, slots=True)
class CtClear:
    pass


# ---------------------------------------------------------------- learn
@dataclass(frozen=True, slots=True)
class LearnSpec:
    """One item of ``learn(...)``.

    kinds: ``match`` (dst field of the new flow's match gets src subfield or immediate),
    ``load`` (new flow gets a load action), ``output`` (new flow outputs to src subfield).
    ``src`` is a SubField or None (then ``imm`` is the immediate value); ``dst`` is a
    SubField (None for output).
    """

    kind: str  # "match" | "load" | "output"
    src: SubField | None
    imm: int
    dst: SubField | None
    n_bits: int


LEARN_F_SEND_FLOW_REM = 1
LEARN_F_DELETE_LEARNED = 2
LEARN_F_WRITE_RESULT = 4


@dataclass(frozen=True, slots=True)
class Learn:
    table_id: int = 1
    priority: int = 0x8000
    idle_timeout: int = 0
    hard_timeout: int = 0
    fin_idle_timeout: int = 0
    fin_hard_timeout: int = 0
    cookie: int = 0
    flags: int = 0
    importance: int = 0
    specs: tuple[LearnSpec, ...] = ()
    limit: int = 0
    result_dst: SubField | None = None


# ---------------------------------------------------------------- instructions
@dataclass(frozen=True, slots=True)
class ClearActions:
    pass


@dataclass(frozen=True, slots=True)
class WriteActions:
    actions: tuple[object, ...] = ()


@dataclass(frozen=True, slots=True)
class WriteMetadata:
    metadata: int
    mask: int = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True)
class GotoTable:
    table_id: int


@dataclass(frozen=True, slots=True)
class Meter:
    meter_id: int


INSTRUCTION_TYPES = (ClearActions, WriteActions, WriteMetadata, GotoTable, Meter)


# ---------------------------------------------------------------- groups
class GroupType(Enum):
    ALL = 0
    SELECT = 1
    INDIRECT = 2
    FF = 3


@dataclass(frozen=True, slots=True)
class Bucket:
    actions: tuple[object, ...] = ()
    weight: int = 1
    watch_port: int = 0xFFFFFFFF
    watch_group: int = 0xFFFFFFFF
    bucket_id: int = 0


@dataclass(frozen=True, slots=True)
class GroupDesc:
    group_id: int
    type: GroupType
    buckets: tuple[Bucket, ...] = field(default_factory=tuple)
    selection_method: str = ""
