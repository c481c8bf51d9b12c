"""What the three CLIs share: finding the daemon, one request over its control socket,
and OVS-style fatal errors.

Layer: cli (imports ``control.client``, ``daemon.paths``; owns the client socket).
"""

from __future__ import annotations

import os
import socket
import sys
from typing import NoReturn

from pyvswitch.control.client import transact
from pyvswitch.daemon.paths import Paths, default_paths
from pyvswitch.errors import ProtocolError

__all__ = ["DaemonUnreachable", "Fatal", "call", "default_paths", "fatal", "paths"]


class Fatal(Exception):
    """Ends a CLI with one line on stderr and a status."""

    def __init__(self, msg: str, status: int = 1) -> None:
        super().__init__(msg)
        self.msg = msg
        self.status = status


class DaemonUnreachable(Fatal):
    """No daemon listens on the control socket."""


def fatal(program: str, msg: str, status: int = 1) -> NoReturn:
    sys.stderr.write(f"{program}: {msg}\n")
    sys.stdout.flush()
    raise SystemExit(status)


def paths() -> Paths:
    return default_paths()


def call(sock_path: str, method: str, params: list[str],
         timeout: float | None = None) -> tuple[bool, str]:
    """One request to the daemon: ``(ok, text)``.  DaemonUnreachable when nothing
    listens; Fatal for a broken exchange."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(5.0)
        try:
            sock.connect(sock_path)
        except OSError as exc:
            raise DaemonUnreachable(
                f'cannot connect to "{sock_path}" ({os.strerror(exc.errno or 0)})') from None
        sock.settimeout(timeout)
        try:
            return transact(sock, method, params)
        except TimeoutError:
            raise Fatal(f"{sock_path}: transaction timed out", 2) from None
        except (OSError, ProtocolError) as exc:
            raise Fatal(f"{sock_path}: transaction error ({exc})", 2) from None
    finally:
        sock.close()
