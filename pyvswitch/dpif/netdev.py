"""The userspace datapath, under the name OVS gives it (``dpif-netdev``).

The implementation is split by concern: :mod:`pyvswitch.dpif.datapath` (the facade:
ports, batches, upcalls, statistics, dumps), :mod:`pyvswitch.dpif.cache` (megaflow
subtables), :mod:`pyvswitch.dpif.execute` (datapath actions on bytes) and
:mod:`pyvswitch.dpif.dump` (``dpctl/dump-flows`` lines).  Import from here.

Layer: dpif.  Imports: dpif.datapath.
"""

from __future__ import annotations

from pyvswitch.dpif.datapath import EMC_ENTRIES, MAX_RECIRC_DEPTH, Datapath, DpFlow, DpPort

__all__ = ["Datapath", "DpFlow", "DpPort", "EMC_ENTRIES", "MAX_RECIRC_DEPTH"]
