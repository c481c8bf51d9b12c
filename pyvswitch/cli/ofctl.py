"""``pyvs-ofctl``: flows, groups, ports and tables of a bridge, as ``ovs-ofctl``.

Layer: cli (imports ``cli.common``).

    pyvs-ofctl [OPTIONS] COMMAND BRIDGE [ARG...]

Argument counts, options and error texts are ovs-ofctl's.  The work is done by the
daemon; how a command reaches it is a :class:`Backend`: by default
:class:`~pyvswitch.cli.ofctl_openflow.OpenFlowBackend`, OpenFlow over the bridge's
``<bridge>.mgmt`` socket (or a ``unix:``/``tcp:`` target) exactly as ovs-ofctl speaks
it; :class:`ControlBackend`, the ``ofctl/*`` methods of the control socket, when
``PYVS_OFCTL_TRANSPORT=control``.  Files (``add-flows BR FILE``, ``-`` for stdin) are
read here and passed on as lines, so an error names ``FILE:LINE`` and a file with any
bad line installs nothing.
"""

from __future__ import annotations

import os
import sys
from typing import Protocol

from pyvswitch.cli.common import DaemonUnreachable, Fatal, call, fatal, paths

__all__ = ["COMMANDS", "Backend", "ControlBackend", "main"]

PROGRAM = "pyvs-ofctl"

#: command -> (min args, max args, which argument is a file or None)
COMMANDS: dict[str, tuple[int, int, int | None]] = {
    "show": (1, 1, None),
    "dump-flows": (1, 2, None),
    "dump-aggregate": (1, 2, None),
    "add-flow": (2, 2, None),
    "add-flows": (2, 2, 1),
    "mod-flows": (2, 2, None),
    "del-flows": (1, 2, None),
    "replace-flows": (2, 2, 1),
    "dump-ports": (1, 2, None),
    "dump-tables": (1, 1, None),
    "dump-groups": (1, 2, None),
    "add-group": (2, 2, None),
    "add-groups": (2, 2, 1),
    "mod-group": (2, 2, None),
    "del-groups": (1, 2, None),
    "packet-out": (4, 2**31, None),
}

USAGE = f"""\
{PROGRAM}: OpenFlow switch management utility for pyvswitch
usage: {PROGRAM} [OPTIONS] COMMAND [ARG...]

For OpenFlow switches:
  show SWITCH                 show OpenFlow information
  dump-tables SWITCH          print table stats
  dump-ports SWITCH [PORT]    print port statistics
  dump-flows SWITCH           print all flow entries
  dump-flows SWITCH FLOW      print matching FLOWs
  dump-aggregate SWITCH       print aggregate flow statistics
  dump-aggregate SWITCH FLOW  print aggregate stats for FLOWs
  add-flow SWITCH FLOW        add flow described by FLOW
  add-flows SWITCH FILE       add flows from FILE ("-" for stdin)
  mod-flows SWITCH FLOW       modify actions of matching FLOWs
  del-flows SWITCH [FLOW]     delete matching FLOWs
  replace-flows SWITCH FILE   replace flows with those in FILE
  packet-out SWITCH IN_PORT ACTIONS PACKET...
                              execute ACTIONS on PACKET
  dump-groups SWITCH [GROUP]  print group description
  add-group SWITCH GROUP      add group described by GROUP
  add-groups SWITCH FILE      add group from FILE
  mod-group SWITCH GROUP      modify specific group
  del-groups SWITCH [GROUP]   delete matching GROUPs

Options:
  --strict                    use strict match for flow commands
  --names, --no-names         show port names (default on a terminal) or numbers
  --no-stats                  do not show statistics in dump-flows
  --sort, --rsort             sort dump-flows output by priority
  -O, --protocols=VERSIONS    OpenFlow versions to allow (e.g. OpenFlow13)
  -h, --help                  display this help message
  -V, --version               display version information
"""

_FLAG_OPTIONS = ("--strict", "--names", "--no-names", "--no-stats", "--readd", "--bundle",
                 "--sort", "--rsort", "--color", "--read-only", "--may-create")


class Backend(Protocol):
    def run(self, command: str, target: str, options: list[str], args: list[str]) -> str:
        """Run one ofctl command on ``target`` (a bridge name or an OpenFlow target);
        its output, or raise Fatal."""
        ...


class ControlBackend:
    """``ofctl/<command>`` requests over pyvswitchd's control socket (the transport
    before the OpenFlow sockets existed; ``PYVS_OFCTL_TRANSPORT=control`` selects it)."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout

    def run(self, command: str, target: str, options: list[str], args: list[str]) -> str:
        bridge = _bridge_of(target)
        try:
            ok, text = call(paths().ctl, f"ofctl/{command}", [*options, bridge, *args],
                            self.timeout)
        except DaemonUnreachable:
            raise Fatal(f"{bridge} is not a bridge or a socket") from None
        if not ok:
            raise Fatal(text.rstrip("\n"))
        return text


def _bridge_of(target: str) -> str:
    """A bridge name; ``unix:…/BR.mgmt`` (the bridge's own socket) also names it."""
    if target.startswith("unix:"):
        base = os.path.basename(target[5:])
        if base.endswith(".mgmt"):
            return base[:-5]
    if ":" in target:
        raise Fatal(f"{target}: OpenFlow connections are not supported yet; "
                    "name the bridge instead")
    return target


def _parse(argv: list[str]) -> tuple[list[str], list[str], float | None]:
    options: list[str] = []
    timeout = None
    names_set = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg == "-":
            break
        if arg == "--":
            i += 1
            break
        name, eq, value = arg.partition("=")
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            raise SystemExit(0)
        if arg in ("-V", "--version"):
            from pyvswitch.daemon.loop import VERSION

            print(f"{PROGRAM} (pyvswitch) {VERSION}")
            raise SystemExit(0)
        if arg.startswith("-O") and len(arg) > 2:
            options.append(f"--protocols={arg[2:]}")
        elif name in ("-O", "--protocols", "-t", "--timeout"):
            if not eq:
                if i + 1 >= len(argv):
                    raise Fatal(f"option '{name}' requires an argument")
                i += 1
                value = argv[i]
            if name in ("-O", "--protocols"):
                options.append(f"--protocols={value}")
            else:
                try:
                    timeout = float(value)
                except ValueError:
                    raise Fatal(f"value {value} on -t or --timeout is invalid") from None
        elif name in _FLAG_OPTIONS:
            options.append(arg)
            names_set = names_set or name in ("--names", "--no-names")
        else:
            raise Fatal(f"unrecognized option '{name}'")
        i += 1
    if not names_set and sys.stdout.isatty():
        options.append("--names")
    return options, argv[i:], timeout


def _read_lines(path: str) -> list[str]:
    try:
        if path == "-":
            return sys.stdin.read().splitlines()
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except OSError as exc:
        raise Fatal(f"{path}: open failed ({exc.strerror})") from None


def run_command(backend: Backend, options: list[str], words: list[str]) -> str:
    """Check one command line and run it; its output."""
    if not words:
        raise Fatal("missing command name; use --help for help")
    command, args = words[0], words[1:]
    spec = COMMANDS.get(command)
    if spec is None:
        raise Fatal(f"unknown command '{command}'; use --help for help")
    lo, hi, file_arg = spec
    if len(args) < lo:
        raise Fatal(f"'{command}' command requires at least {lo} arguments")
    if len(args) > hi:
        raise Fatal(f"'{command}' command takes at most {hi} arguments")
    rest = args[1:]
    if file_arg is not None:
        path = rest[file_arg - 1]
        options = [*options, f"--source={path}"]
        rest = _read_lines(path)
    return backend.run(command, args[0], options, rest)


def default_backend(timeout: float | None = None) -> Backend:
    """OpenFlow to the bridge's ``<br>.mgmt`` socket, as ovs-ofctl does; the control
    socket when ``PYVS_OFCTL_TRANSPORT=control``."""
    if os.environ.get("PYVS_OFCTL_TRANSPORT") == "control":
        return ControlBackend(timeout)
    from pyvswitch.cli.ofctl_openflow import OpenFlowBackend

    return OpenFlowBackend(timeout)


def main(argv: list[str] | None = None, backend: Backend | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        options, words, timeout = _parse(argv)
        out = run_command(backend or default_backend(timeout), options, words)
    except Fatal as exc:
        fatal(PROGRAM, exc.msg, exc.status)
    sys.stdout.write(out)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
