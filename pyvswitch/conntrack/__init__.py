"""pyvswitch.conntrack layer: the userspace connection tracker (see docs/internals.md).

``Conntrack`` is the datapath's ``ct(...)`` action and the operator's dpctl view;
``CtResult`` is what one pass returns.
"""

from pyvswitch.conntrack.tracker import Conntrack, CtResult

__all__ = ["Conntrack", "CtResult"]
