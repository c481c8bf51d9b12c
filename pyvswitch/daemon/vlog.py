"""The daemon's log: per-module levels per destination, as OVS's vlog.

Layer: daemon (standard library, ``pyvswitch.errors``; reads the real clock for
timestamps).

Each module has a level for each destination (``console`` = stderr, ``syslog``, kept
for the column OVS shows but never written, and ``file``).  Lines look like OVS's:

    2026-01-02T03:04:05.678Z|00012|bridge|INFO|added interface p1 on port 1

``vlog/set`` and ``-v``/``--verbose`` take OVS's spec syntax: words separated by colons
naming any of a module, a destination and a level, in any order; a missing module or
destination means all of them and a missing level means ``dbg``.  ``vlog/list`` prints
OVS's table.  Console logging is WARN by default and turned off once the daemon has
detached (there is no terminal to write to any more).
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from pyvswitch.errors import SwitchError

__all__ = ["DESTINATIONS", "LEVELS", "MODULES", "Vlog", "VlogError"]

LEVELS = ("OFF", "EMER", "ERR", "WARN", "INFO", "DBG")
DESTINATIONS = ("console", "syslog", "file")
MODULES = (
    "bridge",
    "conntrack",
    "daemon",
    "dpif_netdev",
    "netdev",
    "ofproto",
    "ofproto_dpif",
    "unixctl",
    "vlog",
    "vswitchd",
)
_LEVEL_ALIASES = {"debug": "DBG", "warning": "WARN", "error": "ERR", "emergency": "EMER"}


class VlogError(SwitchError):
    """A bad ``vlog/set`` spec or an unusable log file."""


def _level_of(word: str) -> int | None:
    name = _LEVEL_ALIASES.get(word.lower(), word.upper())
    return LEVELS.index(name) if name in LEVELS else None


class Vlog:
    """Levels, the log file and the line counter for one process."""

    def __init__(self, modules: tuple[str, ...] = MODULES, stderr: TextIO | None = None) -> None:
        default = [LEVELS.index("WARN"), LEVELS.index("INFO"), LEVELS.index("INFO")]
        self.levels: dict[str, list[int]] = {m: list(default) for m in modules}
        self.stderr = stderr if stderr is not None else sys.stderr
        self.log_path: str | None = None
        self._file: TextIO | None = None
        self._seq = 0

    # ------------------------------------------------------------------ settings
    def set_spec(self, spec: str) -> None:
        """Apply one spec (``module:destination:level`` in any order, parts optional)."""
        modules: list[str] | None = None
        dests: list[int] | None = None
        level: int | None = None
        for word in (w for w in spec.replace(":", " ").split() if w):
            low = word.lower()
            if low == "any":
                continue
            if low in DESTINATIONS:
                if dests is not None:
                    raise VlogError(f'cannot specify multiple destinations in "{spec}"')
                dests = [DESTINATIONS.index(low)]
            elif low in self.levels:
                if modules is not None:
                    raise VlogError(f'cannot specify multiple modules in "{spec}"')
                modules = [low]
            elif _level_of(word) is not None:
                if level is not None:
                    raise VlogError(f'cannot specify multiple levels in "{spec}"')
                level = _level_of(word)
            else:
                raise VlogError(f'no destination, level, or module "{word}"')
        for m in modules if modules is not None else list(self.levels):
            for d in dests if dests is not None else range(len(DESTINATIONS)):
                self.levels[m][d] = LEVELS.index("DBG") if level is None else level

    def set_console_off(self) -> None:
        for levels in self.levels.values():
            levels[0] = 0

    def format_list(self) -> str:
        """``vlog/list``: OVS's table of modules and levels."""
        lines = [
            "                 console    syslog    file",
            "                 -------    ------    ------",
        ]
        for m in sorted(self.levels):
            c, s, f = (LEVELS[x] for x in self.levels[m])
            lines.append(f"{m:<16}  {c:>4}       {s:>4}       {f:>4}")
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ log file
    def open_file(self, path: str) -> None:
        """Start (or move) file logging; VlogError if the file cannot be opened."""
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            f = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the process
        except OSError as exc:
            raise VlogError(f"failed to open {path} for logging: {exc.strerror}") from None
        self.close_file()
        self._file = f
        self.log_path = path
        self.info("vlog", f"opened log file {path}")

    def reopen(self) -> None:
        """``vlog/reopen``: after a log rotation, write to a fresh file of the same name."""
        if self.log_path is not None:
            self.open_file(self.log_path)

    def close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # ------------------------------------------------------------------ logging
    def enabled(self, module: str, level: int) -> bool:
        levels = self.levels.get(module)
        if levels is None:
            return False
        return level <= levels[0] or (self._file is not None and level <= levels[2])

    def log(self, module: str, level: int, msg: str, console: bool = True) -> None:
        """Write one line; ``console=False`` keeps it off the terminal (for messages
        the program also prints there in its own words)."""
        levels = self.levels.get(module)
        if levels is None or not self.enabled(module, level):
            return
        self._seq += 1
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        head = f"|{self._seq:05d}|{module}|{LEVELS[level]}|{msg}\n"
        if console and level <= levels[0]:
            try:
                self.stderr.write(f"{stamp}Z{head}")
                self.stderr.flush()
            except (OSError, ValueError):
                pass
        if self._file is not None and level <= levels[2]:
            ms = int(now * 1000) % 1000
            try:
                self._file.write(f"{stamp}.{ms:03d}Z{head}")
                self._file.flush()
            except (OSError, ValueError):
                pass

    def err(self, module: str, msg: str) -> None:
        self.log(module, 2, msg)

    def warn(self, module: str, msg: str) -> None:
        self.log(module, 3, msg)

    def info(self, module: str, msg: str) -> None:
        self.log(module, 4, msg)

    def dbg(self, module: str, msg: str) -> None:
        self.log(module, 5, msg)
