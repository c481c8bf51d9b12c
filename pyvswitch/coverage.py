"""Named event counters, as OVS's ``coverage/show``.

The packet path counts malformed input here instead of raising.  Counters are plain
module-level dict entries so that ``inc`` costs one dict operation.
"""

from __future__ import annotations

from collections import defaultdict

_counters: defaultdict[str, int] = defaultdict(int)


def inc(name: str, n: int = 1) -> None:
    """Add ``n`` to counter ``name``."""
    _counters[name] += n


def get(name: str) -> int:
    return _counters.get(name, 0)


def snapshot() -> dict[str, int]:
    return dict(_counters)


def reset() -> None:
    """Clear all counters (tests only)."""
    _counters.clear()


def format_show() -> str:
    """Text as ``ovs-appctl coverage/show`` prints it (totals only)."""
    lines = [
        "Event coverage, avg rate over last: 5 seconds, last minute, last hour,  hash=00000000:"
    ]
    for name in sorted(_counters):
        total = _counters[name]
        lines.append(f"{name:<24} {0.0:>7.1f}/sec {0.0:>8.3f}/sec {0.0:>8.4f}/sec   total: {total}")
    zero = 0
    lines.append(f"{zero} events never hit")
    return "\n".join(lines) + "\n"
