"""One OpenFlow flow table (OVS ``struct oftable``) and the statistics records.

Each table is a :class:`~pyvswitch.classifier.Classifier` tracking address prefixes the
way OVS's tables do by default, plus the counters ``dump-tables`` shows.  OVS's last
table (254) is internal: hidden from "all tables" requests and read-only to OpenFlow.

Layer: ofproto.  Imports: classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyvswitch.classifier import DEFAULT_PREFIX_SLOTS, Classifier

N_TABLES = 255
#: OVS's internal table: hidden and read-only for OpenFlow
TBL_INTERNAL = N_TABLES - 1
#: tables a controller sees (``n_tables`` in the features reply)
N_VISIBLE_TABLES = TBL_INTERNAL


class OFTable:
    """A flow table: its rules and its lookup counters."""

    __slots__ = ("table_id", "cls", "n_lookup", "n_matched", "readonly", "hidden", "name")

    def __init__(self, table_id: int, *, readonly: bool = False, hidden: bool = False) -> None:
        self.table_id = table_id
        self.cls = Classifier(DEFAULT_PREFIX_SLOTS)
        self.n_lookup = 0
        self.n_matched = 0
        self.readonly = readonly
        self.hidden = hidden
        self.name = ""

    @property
    def n_flows(self) -> int:
        return len(self.cls)

    def count_lookup(self, matched: bool, n: int = 1) -> None:
        self.n_lookup += n
        if matched:
            self.n_matched += n


@dataclass(frozen=True, slots=True)
class TableStats:
    """One table's line of ``dump-tables``: active flows, lookups, matches."""

    table_id: int
    active: int
    lookup: int
    matched: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class AggregateStats:
    """``dump-aggregate``: totals over the flows a request selects."""

    packet_count: int
    byte_count: int
    flow_count: int
