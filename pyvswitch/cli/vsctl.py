"""``pyvs-vsctl``: edit and show the switch configuration, as ``ovs-vsctl``.

Layer: cli (imports ``cli.common``, ``config.store``, ``config.vsctl``, ``config.dbctl``).

    pyvs-vsctl [OPTIONS] COMMAND [ARG...] [-- [OPTIONS] COMMAND [ARG...]]...

The command words are checked here first (so a typo fails without touching anything),
then sent to pyvswitchd, which applies the whole transaction to the running switch and
saves it atomically, or refuses all of it.  When no daemon runs the transaction is
applied to ``$PYVS_DBDIR/conf.json`` directly, with the same all-or-nothing rule; the
daemon picks it up when it starts.
"""

from __future__ import annotations

import json
import sys

from pyvswitch.cli.common import DaemonUnreachable, Fatal, call, fatal, paths
from pyvswitch.config.store import ConfigStore
from pyvswitch.config.vsctl import COMMANDS, VsctlExit, parse_commands
from pyvswitch.errors import ConfigError

__all__ = ["main"]

PROGRAM = "pyvs-vsctl"
USAGE = f"""\
{PROGRAM}: pyvswitch configuration utility
usage: {PROGRAM} [OPTIONS] COMMAND [ARG...]

Bridge commands:
  add-br BRIDGE               create a new bridge named BRIDGE
  del-br BRIDGE               delete BRIDGE and all of its ports
  list-br                     print the names of all the bridges
  br-exists BRIDGE            exit 2 if BRIDGE does not exist
  set-fail-mode BRIDGE MODE   set the fail-mode for BRIDGE to MODE
  get-fail-mode BRIDGE        print the fail-mode for BRIDGE
  del-fail-mode BRIDGE        delete the fail-mode for BRIDGE

Port commands:
  list-ports BRIDGE           print the names of all the ports on BRIDGE
  add-port BRIDGE PORT        add network device PORT to BRIDGE
  del-port [BRIDGE] PORT      delete PORT (which may be bonded) from BRIDGE
  port-to-br PORT             print name of bridge that contains PORT

Interface commands:
  list-ifaces BRIDGE          print the names of all interfaces on BRIDGE
  iface-to-br IFACE           print name of bridge that contains IFACE

Controller commands:
  get-controller BRIDGE       print the controllers for BRIDGE
  del-controller BRIDGE       delete the controllers for BRIDGE
  set-controller BRIDGE TARGET...  set the controllers for BRIDGE

Database commands:
  get TBL REC COL[:KEY]       print values of COLumns in RECord in TBL
  set TBL REC COL[:KEY]=VALUE set COLumn values in RECord in TBL
  add TBL REC COL [KEY=]VALUE add (KEY=)VALUE to COLumn in RECord in TBL
  remove TBL REC COL [KEY=]VALUE  remove (KEY=)VALUE from COLumn
  clear TBL REC COL           clear values from COLumn in RECord in TBL

Other commands:
  show                        print overview of database contents
  init                        initialize database, if not yet initialized

Options:
  --oneline                   print exactly one line of output per command
  --timeout=SECS              wait at most SECS seconds for the daemon
  --no-wait                   accepted for compatibility (changes apply at once)
  -h, --help                  display this help message
  -V, --version               display version information
"""

_GLOBAL_FLAGS = ("--no-wait", "--oneline", "--dry-run", "--no-syslog", "--retry")
_GLOBAL_VALUED = ("--db", "--timeout", "-t", "--format", "--data")


def _split_global(argv: list[str]) -> tuple[dict[str, str | None], list[str]]:
    opts: dict[str, str | None] = {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            raise SystemExit(0)
        if arg in ("-V", "--version"):
            from pyvswitch.daemon.loop import VERSION

            print(f"{PROGRAM} (pyvswitch) {VERSION}")
            raise SystemExit(0)
        if arg in _GLOBAL_FLAGS:
            opts[arg] = None
        elif name in _GLOBAL_VALUED:
            if not eq:
                if i + 1 >= len(argv):
                    raise Fatal(f"option '{name}' requires an argument")
                i += 1
                value = argv[i]
            opts[name] = value
        else:
            break
        i += 1
    return opts, argv[i:]


def _run_offline(words: list[str]) -> list[str]:
    commands = parse_commands(words)
    store = ConfigStore(paths().conf)
    if all(not COMMANDS[c.name].writes for c in commands):
        from pyvswitch.config.vsctl import execute

        return execute(store.load(), commands)[1]
    return store.transact(commands)


def _run(words: list[str], timeout: float | None) -> list[str]:
    parse_commands(words)  # a malformed command line never reaches the daemon
    try:
        ok, text = call(paths().ctl, "vsctl", words, timeout)
    except DaemonUnreachable:
        return _run_offline(words)
    if not ok:
        raise Fatal(text.rstrip("\n"))
    reply = json.loads(text)
    if "exit" in reply:
        raise VsctlExit(int(reply["exit"]))
    return list(reply["outputs"])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        opts, words = _split_global(argv)
        timeout = None
        if opts.get("--timeout") or opts.get("-t"):
            try:
                timeout = float(opts.get("--timeout") or opts.get("-t") or 0) or None
            except ValueError:
                raise Fatal("value on --timeout is invalid") from None
        outputs = _run(words, timeout)
    except VsctlExit as exc:
        return exc.status
    except ConfigError as exc:
        fatal(PROGRAM, str(exc))
    except Fatal as exc:
        fatal(PROGRAM, exc.msg, exc.status)
    for out in outputs:
        if "--oneline" in opts:
            sys.stdout.write(out.rstrip("\n").replace("\\", "\\\\").replace("\n", "\\n") + "\n")
        else:
            sys.stdout.write(out)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
