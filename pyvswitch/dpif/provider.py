"""The datapath's contract with the slow path: upcalls (OVS ``dpif.h`` upcall_callback).

The datapath knows nothing of OpenFlow.  When a packet misses every cached flow, or a
flow's actions ask for userspace (packet-in), the datapath calls the registered
:data:`UpcallCallback` with an :class:`Upcall`.  For a miss the callback answers with an
:class:`UpcallResult`: the actions to execute on this packet and, when ``mask`` is given,
a megaflow (key & mask -> actions) to install so later packets stay in the fast path.

Layer: dpif.  Imports: odp.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum


class UpcallKind(Enum):
    MISS = "miss"
    ACTION = "action"  # a Userspace action ran (packet-in, slow path)


@dataclass(slots=True)
class Upcall:
    kind: UpcallKind
    packet: bytearray
    #: the packet's datapath flow key (a tuple of layout.N_DP ints)
    flow: tuple[int, ...]
    now: float
    #: for ACTION upcalls: the Userspace action's cookie
    cookie: object = None


@dataclass(slots=True)
class UpcallResult:
    #: datapath actions to run on the packet that caused the miss
    actions: tuple[object, ...]
    #: megaflow mask (layout.N_DP ints) to install with ``actions``; None = do not cache
    mask: tuple[int, ...] | None = None
    #: opaque owner tag stored with the megaflow (e.g. the rules it was built from),
    #: handed back by revalidation and used to credit statistics
    owner: object = None


UpcallCallback = Callable[[Upcall], UpcallResult | None]
