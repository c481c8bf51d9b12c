"""The configuration store: ``$PYVS_DBDIR/conf.json``, loaded, validated, saved atomically.

Layer: config (imports ``config.model``, ``config.vsctl``, ``pyvswitch.errors``; file I/O
only, no sockets).

Saving never leaves a half-written file behind: the new content goes to a temporary
file in the same directory, is fsync'ed, renamed over the old one, and the directory
is fsync'ed so the rename itself survives a crash.

A file that cannot be read back (bad JSON, a hand edit that breaks the schema) makes
:meth:`ConfigStore.load` raise a ``ConfigError`` naming the path and the problem, and
from then on the store refuses to write that path: the user's file is evidence, not
garbage to be replaced.

Two writers (the daemon and a ``pyvs-vsctl`` run without a daemon) are kept honest by
a check on save: if the file changed on disk since it was read, the save is refused and
:meth:`ConfigStore.transact` retries on the fresh content.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from pyvswitch.config.model import Config, config_from_json, config_to_json
from pyvswitch.config.vsctl import VsctlCommand, execute
from pyvswitch.errors import ConfigError

__all__ = ["CONF_NAME", "ConfigStore", "default_path"]

CONF_NAME = "conf.json"


def default_path(environ: dict[str, str] | None = None) -> str:
    """``$PYVS_DBDIR/conf.json``; without the variable, OVS-like defaults: /etc/pyvswitch
    as root, else ``~/.local/state/pyvswitch``."""
    env = os.environ if environ is None else environ
    dbdir = env.get("PYVS_DBDIR")
    if not dbdir:
        if os.geteuid() == 0:
            dbdir = "/etc/pyvswitch"
        else:
            home = env.get("HOME") or os.path.expanduser("~")
            dbdir = os.path.join(home, ".local", "state", "pyvswitch")
    return os.path.join(dbdir, CONF_NAME)


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class ConfigStore:
    """One configuration file.  ``config`` is the last loaded or saved content."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.config = Config()
        self._stamp: tuple[int, int, int] | None = None
        self._corrupt: str | None = None

    @property
    def corrupt(self) -> str | None:
        """Why the file could not be loaded, or None; while set, saving is refused."""
        return self._corrupt

    def load(self) -> Config:
        """Read the file (a missing file is an empty configuration) and validate it."""
        stamp = _stamp(self.path)
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            self.config, self._stamp, self._corrupt = Config(), None, None
            return self.config
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot read: {exc.strerror}") from None
        try:
            cfg = config_from_json(json.loads(raw.decode("utf-8")))
        except UnicodeDecodeError as exc:
            raise self._corrupt_error(
                f"not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
        except json.JSONDecodeError as exc:
            raise self._corrupt_error(
                f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
        except ConfigError as exc:
            raise self._corrupt_error(str(exc)) from None
        self.config, self._stamp, self._corrupt = cfg, stamp, None
        return cfg

    def _corrupt_error(self, reason: str) -> ConfigError:
        self._corrupt = reason
        return ConfigError(f"{self.path}: {reason}")

    def changed_on_disk(self) -> bool:
        return _stamp(self.path) != self._stamp

    def save(self, cfg: Config) -> None:
        """Write ``cfg`` atomically; refuse if the file is corrupt or changed under us."""
        if self._corrupt is not None:
            raise ConfigError(
                f"{self.path}: refusing to overwrite a configuration that could not be "
                f"loaded ({self._corrupt}); fix or remove it first"
            )
        if self.changed_on_disk():
            raise ConfigError(f"{self.path}: changed on disk since it was read")
        data = (json.dumps(config_to_json(cfg), indent=2, ensure_ascii=False) + "\n").encode()
        directory = os.path.dirname(self.path)
        tmp = os.path.join(directory, f".{os.path.basename(self.path)}.tmp.{os.getpid()}")
        try:
            os.makedirs(directory, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise ConfigError(f"{self.path}: cannot save: {exc.strerror}") from None
        try:
            dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as exc:
            # The new file is in place; only its durability across a crash is unsure.
            raise ConfigError(f"{directory}: cannot sync directory: {exc.strerror}") from None
        self.config = cfg
        self._stamp = _stamp(self.path)

    def transact(self, commands: Sequence[VsctlCommand], attempts: int = 3) -> list[str]:
        """Apply vsctl-style commands all-or-nothing and save; return each one's output.

        Any error (``ConfigError``, ``VsctlExit``) leaves the file untouched.  The file
        is re-read first when it changed on disk, and the whole transaction is retried
        if another writer got in between.
        """
        for _ in range(attempts):
            if self._corrupt is not None or self.changed_on_disk():
                self.load()
            new, outputs, changed = execute(self.config, commands)
            if not changed:
                return outputs
            try:
                self.save(new)
            except ConfigError:
                if self.changed_on_disk() and self._corrupt is None:
                    continue
                raise
            return outputs
        raise ConfigError(f"{self.path}: kept changing while being updated; try again")
