"""``dpctl/dump-flows`` selections: ``filter=FLOW``, ``type=TYPES`` and ``pmd=N``.

Layer: daemon (imports ``flow.match_text``, ``dpif.dump``, ``control.commands``).

As OVS's ``dpctl_dump_flows``: the three words are taken from the end of the argument
list.  ``filter=`` is OpenFlow match syntax with exact values only (port names are the
datapath's, numbers are datapath port numbers); a megaflow passes when, on every bit the
filter names *and* the megaflow's mask keeps, its key equals the filter -- bits the
megaflow wildcards never exclude it, so ``filter=tcp,tp_dst=81`` still shows a flow that
does not look at the port.  ``type=`` selects by where a flow lives: every flow of this
userspace datapath is an ``ovs`` (non-offloaded) one.  ``pmd=-1`` selects the main
thread, where all our flows are, and drops the ``flow-dump from ...`` header; another
number selects none.  Errors are OVS's texts.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field
from typing import Any

from pyvswitch.control.commands import CommandError
from pyvswitch.dpif import dump
from pyvswitch.errors import ParseError
from pyvswitch.flow.fields import field_by_name
from pyvswitch.flow.match import Match
from pyvswitch.flow.match_text import match_from_string

__all__ = ["DumpSelection", "parse_filter"]

PROGRAM = "pyvswitchd"
_TYPES = ("ovs", "tc", "dpdk", "offloaded", "non-offloaded", "partially-offloaded", "all")
#: types that include the flows of a userspace datapath (not offloaded, layer "ovs")
_OURS = {"ovs", "non-offloaded", "all"}
_FLAG_FIELDS = {"ct_state", "tcp_flags"}
_NON_PMD = -1


def _check_exact(text: str, port_map: dict[str, int]) -> None:
    """OVS reads a filter as an exact flow, field by field: each field must exist, have
    its prerequisites among the fields before it, appear once and have one value
    without a mask (no ``+flag/-flag`` forms either)."""
    seen: set[str] = set()
    before: list[str] = []
    for tok in (t for t in re.split(r"[, ]+", text) if t):
        name, eq, value = tok.partition("=")
        f = field_by_name(name)
        if f is None:
            if not eq:
                before.append(tok)  # a protocol keyword (tcp, ip ...); checked below
                continue
            raise ParseError(f"{text}: unknown field {name}")
        try:
            sofar = match_from_string(",".join(before), port_map)
        except ParseError:
            sofar = None
        if sofar is not None and not sofar.prereqs_ok(f.prereq):
            raise ParseError(f"{text}: prerequisites not met for setting {name}")
        if f.name in seen:
            raise ParseError(f"{text}: field {name} set multiple times")
        seen.add(f.name)
        if not eq:
            raise ParseError(f"{text}: bad value for {name} (: bad syntax for {f.name} value)")
        if "/" in value or (f.name in _FLAG_FIELDS and value[:1] in ("+", "-")):
            raise ParseError(f"{text}: bad value for {name} ({value}: wildcards not allowed "
                             "here)")
        before.append(tok)


def _reword(text: str, msg: str) -> str:
    """Our match parser's message in the shape OVS's exact-flow parser gives it."""
    if msg.startswith("unknown keyword "):
        return f"{text}: unknown field {msg[len('unknown keyword '):]}"
    bad, sep, _ = msg.partition(": ")
    if sep:
        for tok in re.split(r"[, ]+", text):
            name, eq, value = tok.partition("=")
            if value == bad or (not eq and not bad and name):
                return f"{text}: bad value for {name} ({msg})"
    return f"{text}: {msg}"


def parse_filter(text: str, port_map: dict[str, int]) -> Match:
    """The filter as a match over datapath keys; ParseError with OVS's wording."""
    _check_exact(text, port_map)
    try:
        return match_from_string(text, port_map)
    except ParseError as exc:
        raise ParseError(_reword(text, exc.msg), text, exc.pos) from None


def _dpctl_error(err: int, msg: str) -> CommandError:
    return CommandError(f"{PROGRAM}: {msg}" + (f" ({os.strerror(err)})" if err else ""))


@dataclass
class DumpSelection:
    filter: str | None = None
    types: str | None = None
    pmds: list[str] = field(default_factory=list)

    @classmethod
    def take(cls, args: list[str]) -> DumpSelection:
        """Remove the trailing ``filter=``/``type=``/``pmd=`` words from ``args``."""
        sel = cls()
        while args:
            last = args[-1]
            if last.startswith("filter=") and sel.filter is None:
                sel.filter = args.pop()[7:]
            elif last.startswith("type=") and sel.types is None:
                sel.types = args.pop()[5:]
            elif last.startswith("pmd="):
                m = re.match(r"pmd=([-+]?\d+)", args.pop())
                if m is None:
                    raise CommandError("")  # OVS fails it without a message
                sel.pmds.append(m.group(1))
            else:
                break
        return sel

    @property
    def trivial(self) -> bool:
        return self.filter is None and self.types is None and not self.pmds

    def _types_include_ours(self) -> bool:
        if self.types is None:
            return True
        chosen = set()
        for word in self.types.split(","):
            if not word:
                continue
            if word not in _TYPES:
                raise _dpctl_error(errno.EINVAL, f"Failed to parse type ({word})")
            chosen.add(word)
        return bool(chosen & _OURS)

    def format(self, dp: Any, *, verbose: bool, names: bool, now: float) -> str:
        """The ``dump-flows`` text of the datapath's flows this selection keeps."""
        match = None
        if self.filter is not None:
            port_map = {p.name: p.port_no for p in dp.ports()}
            try:
                match = parse_filter(self.filter, port_map)
            except ParseError as exc:
                raise _dpctl_error(0, f"Failed to parse filter ({exc.msg})") from None
        if not self._types_include_ours():
            return ""
        pmd = int(self.pmds[-1]) if self.pmds else None
        if pmd is not None and pmd != _NON_PMD:
            return ""
        port_names = dp.port_names() if names else None
        lines = [] if pmd is not None else ["flow-dump from the main thread:"]
        n = 0
        for mf in dp.flow_dump():
            if match is not None and not _passes(mf.key, mf.mask, match):
                continue
            lines.append(dump.format_flow(mf, verbose=verbose, port_names=port_names,
                                          now=now))
            n += 1
        return "\n".join(lines) + "\n" if n else ""


def _passes(key: tuple[int, ...], mask: tuple[int, ...], match: Match) -> bool:
    """On the bits both the filter and the megaflow look at, the key has the filter's
    values (OVS: the filter, masked by the megaflow's wildcards, matches the flow)."""
    for k, m, v, q in zip(key, mask, match.value, match.mask):
        if q and (k ^ v) & m & q:
            return False
    return True
