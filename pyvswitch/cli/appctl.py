"""``pyvs-appctl``: send one command to pyvswitchd's control socket, as ``ovs-appctl``.

Layer: cli (imports ``cli.common``, ``control.client``).

    pyvs-appctl [-t TARGET] [-T SECS | --timeout=SECS] COMMAND [ARG...]

The target defaults to ``$PYVS_RUNDIR/pyvswitchd.ctl``; a path or a program name is
resolved as ovs-appctl does.  Output, error texts and exit statuses (0, 1 for a local
failure, 2 when the daemon returned an error) are ovs-appctl's.
"""

from __future__ import annotations

import sys

from pyvswitch.cli.common import Fatal, call, fatal, paths
from pyvswitch.control.client import TargetError, report_reply, resolve_target

__all__ = ["main"]

PROGRAM = "pyvs-appctl"
USAGE = f"""\
{PROGRAM}, for querying and controlling the pyvswitch daemon
usage: {PROGRAM} [TARGET] COMMAND [ARG...]
Targets:
  -t, --target=TARGET  pidfile or socket to contact
Common commands:
  list-commands      List commands supported by the target
  version            Print version of the target
  vlog/list          List current logging levels
  vlog/set [SPEC]
      Set log levels as detailed in SPEC, which may include:
      A valid module name (all modules, by default)
      'syslog', 'console', 'file' (all destinations, by default))
      'off', 'emer', 'err', 'warn', 'info', or 'dbg' ('dbg', bydefault)
  vlog/reopen        Make the program reopen its log file
Other options:
  --timeout=SECS     wait at most SECS seconds for a response
  -h, --help         Print this helpful information
  -V, --version      Display {PROGRAM} version information
"""


def _parse(argv: list[str]) -> tuple[str | None, float | None, list[str]]:
    target = None
    timeout = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, value = arg.partition("=")
        if name in ("-t", "--target", "-T", "--timeout"):
            if not eq:
                if i + 1 >= len(argv):
                    fatal(PROGRAM, f"option '{name}' requires an argument")
                i += 1
                value = argv[i]
            if name in ("-t", "--target"):
                target = value
            else:
                try:
                    timeout = float(value)
                except ValueError:
                    fatal(PROGRAM, f"value {value} on -T or --timeout is invalid")
        elif arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            raise SystemExit(0)
        elif arg in ("-V", "--version"):
            from pyvswitch.daemon.loop import VERSION

            print(f"{PROGRAM} (pyvswitch) {VERSION}")
            raise SystemExit(0)
        elif arg.startswith("-t") and len(arg) > 2:
            target = arg[2:]
        elif arg == "--":
            i += 1
            break
        else:
            fatal(PROGRAM, f"unrecognized option '{name}'")
        i += 1
    rest = argv[i:]
    if not rest:
        fatal(PROGRAM, "at least one non-option argument is required (use --help for help)")
    return target, timeout, rest


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    target, timeout, rest = _parse(argv)
    try:
        path = resolve_target(target, paths().rundir)
    except TargetError as exc:
        fatal(PROGRAM, str(exc))
    try:
        ok, text = call(path, rest[0], rest[1:], timeout)
    except Fatal as exc:
        fatal(PROGRAM, exc.msg, exc.status)
    shown = target if target else "pyvswitchd"
    status = report_reply(ok, text, shown, PROGRAM, sys.stdout, sys.stderr)
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
