"""The pidfile, held under an exclusive lock for the daemon's whole life.

Layer: daemon (standard library and ``pyvswitch.errors``).

The lock, not the file's existence, says whether a daemon runs: a daemon killed with
SIGKILL leaves the file behind but the kernel drops its lock, so the next start takes
over the stale file instead of refusing.  A second daemon on the same run directory
fails to take the lock and refuses with the first one's pid, in the words OVS uses
("already running as pid N, aborting").

POSIX record locks belong to a process and are not inherited across ``fork``, so the
daemon takes the lock after it has detached.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os

from pyvswitch.errors import SwitchError

__all__ = ["AlreadyRunning", "Pidfile", "read_pidfile"]


class AlreadyRunning(SwitchError):
    """Another live process holds the pidfile's lock."""

    def __init__(self, path: str, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"{path}: already running as {who}, aborting")
        self.path = path
        self.pid = pid


def read_pidfile(path: str) -> int | None:
    """The pid written in ``path``, or None when absent or unreadable.

    Never call this in the process holding the lock: closing any descriptor of the
    file drops the process's POSIX locks on it.
    """
    try:
        with open(path, encoding="ascii") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class Pidfile:
    """``acquire()`` locks and writes the file; ``release()`` removes it."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self._fd = -1

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def acquire(self) -> None:
        """Lock the file and write our pid; raise AlreadyRunning or SwitchError."""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise SwitchError(f"{self.path}: cannot open pidfile ({exc.strerror})") from None
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise AlreadyRunning(self.path, read_pidfile(self.path)) from None
            raise SwitchError(f"{self.path}: cannot lock pidfile ({exc.strerror})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Remove the file (only if it is still ours) and drop the lock."""
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(self._fd), os.stat(self.path)):
                os.unlink(self.path)
        os.close(self._fd)
        self._fd = -1
