"""``pyvswitchd``: command line, detaching, pidfile, logging, then the loop.

Layer: daemon (imports ``daemon.*``, ``errors``).

    pyvswitchd [--detach] [--pidfile[=FILE]] [--log-file[=FILE]]
               [-v[SPEC] | --verbose[=SPEC]] [--no-chdir]

The pidfile (default ``$PYVS_RUNDIR/pyvswitchd.pid``) is always taken, locked, so a
second daemon on the same run directory refuses to start, naming the first one's pid.
With ``--detach`` the parent waits until the child has loaded its configuration and
opened its control socket, and exits with the child's verdict: a start-up error is
printed on the terminal and the exit status is 1, as with OVS's daemons.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field

from pyvswitch.daemon.paths import Paths, default_paths
from pyvswitch.daemon.pidfile import Pidfile
from pyvswitch.daemon.vlog import Vlog, VlogError
from pyvswitch.errors import SwitchError

__all__ = ["Options", "main", "parse_args"]

PROGRAM = "pyvswitchd"
USAGE = f"""\
{PROGRAM}: Open vSwitch semantics with an integrated connection tracker, in Python
usage: {PROGRAM} [OPTIONS]

Daemon options:
  --detach                run in background as daemon
  --pidfile[=FILE]        create pidfile (default: $PYVS_RUNDIR/{PROGRAM}.pid)
  --no-chdir              do not chdir to '/' when detaching
Logging options:
  -vSPEC, --verbose=SPEC  set logging levels (module:destination:level)
  -v, --verbose           set maximum verbosity level
  --log-file[=FILE]       enable logging to FILE (default: $PYVS_LOGDIR/{PROGRAM}.log)
Other options:
  -h, --help              display this help message
  -V, --version           display version information

Files: $PYVS_RUNDIR (run dir, control socket {PROGRAM}.ctl), $PYVS_DBDIR (conf.json),
$PYVS_LOGDIR (log file).
"""


class UsageError(SwitchError):
    pass


@dataclass
class Options:
    detach: bool = False
    pidfile: str | None = None
    log_file: str | None = None
    verbose: list[str] = field(default_factory=list)
    chdir: bool = True
    help: bool = False
    version: bool = False


def parse_args(argv: list[str], paths: Paths) -> Options:
    opts = Options()
    for arg in argv:
        name, eq, value = arg.partition("=")
        if arg == "--detach":
            opts.detach = True
        elif name == "--pidfile":
            opts.pidfile = value if eq else paths.pidfile
        elif name == "--log-file":
            opts.log_file = value if eq else paths.log
        elif name == "--verbose":
            opts.verbose.append(value if eq else "dbg")
        elif arg.startswith("-v") and not arg.startswith("--"):
            opts.verbose.append(arg[2:] or "dbg")
        elif arg == "--no-chdir":
            opts.chdir = False
        elif arg in ("-h", "--help"):
            opts.help = True
        elif arg in ("-V", "--version"):
            opts.version = True
        elif arg in ("--monitor", "--mlockall", "--no-self-confinement"):
            continue  # OVS options with no meaning here
        elif arg.startswith("-"):
            raise UsageError(f"unrecognized option '{name}'")
        else:
            raise UsageError(f"unexpected argument '{arg}' (try --help)")
    return opts


def _absolute(paths: Paths) -> Paths:
    return Paths(os.path.abspath(paths.rundir), os.path.abspath(paths.dbdir),
                 os.path.abspath(paths.logdir))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    paths = _absolute(default_paths())
    try:
        opts = parse_args(argv, paths)
    except UsageError as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return 1
    if opts.help:
        sys.stdout.write(USAGE)
        return 0
    if opts.version:
        from pyvswitch.daemon.loop import VERSION

        print(f"{PROGRAM} (pyvswitch) {VERSION}")
        return 0
    vlog = Vlog()
    try:
        for spec in opts.verbose:
            vlog.set_spec(spec)
    except VlogError as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return 1
    ready_fd = _detach(opts) if opts.detach else None
    return _run(opts, paths, vlog, ready_fd)


def _detach(opts: Options) -> int:
    """Fork; the parent waits for the child's "ready" byte and exits with its verdict.
    Returns, in the child, the pipe to write that byte to."""
    r, w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(w)
        with os.fdopen(r, "rb") as pipe:
            ok = pipe.read(1) == b"1"
        os._exit(0 if ok else 1)
    os.close(r)
    os.setsid()
    if opts.chdir:
        os.chdir("/")
    return w


def _ready(vlog: Vlog, ready_fd: int | None) -> None:
    """Tell the waiting parent we are up; leave the terminal."""
    if ready_fd is None:
        return
    os.write(ready_fd, b"1")
    os.close(ready_fd)
    vlog.set_console_off()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def _run(opts: Options, paths: Paths, vlog: Vlog, ready_fd: int | None) -> int:
    from pyvswitch.daemon.loop import Daemon

    pidfile = Pidfile(opts.pidfile or paths.pidfile)
    daemon = None
    try:
        if opts.log_file:
            vlog.open_file(opts.log_file)
        pidfile.acquire()
        daemon = Daemon(paths, vlog)
        daemon.install_signals()
        daemon.start()
        _ready(vlog, ready_fd)
        daemon.serve()
        return 0
    except SwitchError as exc:
        vlog.log("vswitchd", 2, str(exc), console=False)
        with contextlib.suppress(OSError, ValueError):
            print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if daemon is not None:
            daemon.stop()
        pidfile.release()
        vlog.close_file()


if __name__ == "__main__":
    sys.exit(main())
