"""Small text helpers translation needs only when it is being traced.

Actions and rule matches are printed with the flow-text layer's formatters (the same
spelling ``ovs-ofctl dump-flows`` uses); the few things translation invents itself --
the internal "unroll" action, the miss rule's implicit controller action -- are spelled
here the way OVS spells them.

Layer: ofproto_dpif.  Imports: flow.
"""

from __future__ import annotations

from typing import Any

from pyvswitch.flow.actions_text import format_actions
from pyvswitch.flow.match_text import format_match


def c_hex(v: int) -> str:
    """C's ``%#x``: "0" for zero, "0x.." otherwise."""
    return "0" if v == 0 else f"{v:#x}"


def format_ofpact(a: object) -> str:
    own = getattr(a, "trace_text", None)
    if own is not None:
        return own()
    return format_actions((a,))


def format_ofpacts(actions: tuple[object, ...] | list[object]) -> str:
    return ",".join(format_ofpact(a) for a in actions) if actions else "drop"


def format_rule_match(match: Any) -> str:
    if match is None or match.is_catchall():
        return ""
    return format_match(match)
