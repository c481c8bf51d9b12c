"""ovs-vsctl's commands over the configuration model, applied all-or-nothing.

Layer: config (imports ``config.model``, ``config.dbctl``, ``pyvswitch.errors``).

``pyvs-vsctl`` (and the daemon, when a vsctl request reaches it) does:

    commands = parse_commands(argv_after_global_options)
    new_config, outputs, changed = execute(config, commands)

:func:`execute` runs every command on a copy, so any error leaves the caller's
configuration untouched; the texts of the errors are ovs-vsctl's ("no bridge named
br9", "cannot create a bridge named br0 because a bridge named br0 already exists").
``br-exists`` on a missing bridge raises :class:`VsctlExit` with status 2, as
ovs-vsctl exits 2 then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pyvswitch import __version__
from pyvswitch.config import dbctl
from pyvswitch.config.model import Bridge, Config, Interface, Port
from pyvswitch.errors import ConfigError, SwitchError

__all__ = ["COMMANDS", "VsctlCommand", "VsctlExit", "execute", "parse_commands"]


class VsctlExit(SwitchError):
    """A command ends the run with a status and no error text (``br-exists``)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"exit status {status}")
        self.status = status


@dataclass
class VsctlCommand:
    name: str
    args: list[str] = field(default_factory=list)
    options: dict[str, str | None] = field(default_factory=dict)

    def __str__(self) -> str:
        """As ovs-vsctl quotes a command back in its errors."""
        opts = [k if v is None else f"{k}={v}" for k, v in self.options.items()]
        return " ".join([*opts, self.name, *self.args])


@dataclass(frozen=True)
class _Syntax:
    min_args: int
    max_args: int
    options: tuple[str, ...]
    run: Callable[[Config, VsctlCommand], str | None]
    writes: bool


_MANY = 2**31


# --------------------------------------------------------------- helpers


def _find_bridge(cfg: Config, name: str, must_exist: bool = True) -> Bridge | None:
    br = cfg.bridges.get(name)
    if br is None and must_exist:
        raise ConfigError(f"no bridge named {name}")
    return br


def _find_port(cfg: Config, name: str, must_exist: bool = True) -> Port | None:
    port = cfg.ports.get(name)
    if port is not None and name in cfg.bridges:  # a bridge's local port is not "a port"
        port = None
    if port is None and must_exist:
        raise ConfigError(f"no port named {name}")
    return port


def _find_iface(cfg: Config, name: str, must_exist: bool = True) -> Interface | None:
    iface = cfg.interfaces.get(name)
    if iface is not None and name in cfg.bridges:
        iface = None
    if iface is None and must_exist:
        raise ConfigError(f"no interface named {name}")
    return iface


def _check_conflicts(cfg: Config, name: str, msg: str) -> None:
    if name in cfg.bridges:
        raise ConfigError(f"{msg} because a bridge named {name} already exists")
    if name in cfg.ports:
        br = cfg.port_bridge(name)
        raise ConfigError(
            f"{msg} because a port named {name} already exists on bridge {br.name if br else '?'}"
        )
    if name in cfg.interfaces:
        port = cfg.iface_port(name)
        br = cfg.port_bridge(port.name) if port else None
        raise ConfigError(
            f"{msg} because an interface named {name} already exists on bridge "
            f"{br.name if br else '?'}"
        )


def _lines(names: Sequence[str]) -> str:
    return "".join(f"{n}\n" for n in sorted(names))


def _del_port(cfg: Config, br: Bridge, port: Port) -> None:
    br.ports.remove(port.name)
    for iname in port.interfaces:
        del cfg.interfaces[iname]
    del cfg.ports[port.name]


# ------------------------------------------------------------- commands


def _noop(cfg: Config, cmd: VsctlCommand) -> None:
    return None


def _add_br(cfg: Config, cmd: VsctlCommand) -> None:
    name = cmd.args[0]
    if not name:
        raise ConfigError("bridge name must not be empty string")
    if len(cmd.args) == 2:
        raise ConfigError(f"'{cmd.name}' command takes exactly 1 or 3 arguments")
    if len(cmd.args) == 3:
        raise ConfigError(f"{cmd}: VLAN (fake) bridges are not supported by pyvswitch")
    if "--may-exist" in cmd.options and name in cfg.bridges:
        return
    _check_conflicts(cfg, name, f"cannot create a bridge named {name}")
    cfg.interfaces[name] = Interface(name=name, type="internal")
    cfg.ports[name] = Port(name=name, interfaces=[name])
    cfg.bridges[name] = Bridge(name=name, ports=[name])


def _del_br(cfg: Config, cmd: VsctlCommand) -> None:
    br = _find_bridge(cfg, cmd.args[0], must_exist="--if-exists" not in cmd.options)
    if br is None:
        return
    for pname in list(br.ports):
        _del_port(cfg, br, cfg.ports[pname])
    del cfg.bridges[br.name]


def _list_br(cfg: Config, cmd: VsctlCommand) -> str:
    # no fake bridges exist, so "--fake" alone lists nothing
    if "--fake" in cmd.options and "--real" not in cmd.options:
        return ""
    return _lines(list(cfg.bridges))


def _br_exists(cfg: Config, cmd: VsctlCommand) -> None:
    if cmd.args[0] not in cfg.bridges:
        raise VsctlExit(2)


def _br_to_vlan(cfg: Config, cmd: VsctlCommand) -> str:
    _find_bridge(cfg, cmd.args[0])
    return "0\n"


def _br_to_parent(cfg: Config, cmd: VsctlCommand) -> str:
    br = _find_bridge(cfg, cmd.args[0])
    return f"{br.name}\n"  # type: ignore[union-attr]


def _br_set_external_id(cfg: Config, cmd: VsctlCommand) -> None:
    br = _find_bridge(cfg, cmd.args[0])
    ids = dict(br.external_ids)  # type: ignore[union-attr]
    if len(cmd.args) > 2:
        ids[cmd.args[1]] = cmd.args[2]
    else:
        ids.pop(cmd.args[1], None)
    br.external_ids = dict(sorted(ids.items()))  # type: ignore[union-attr]


def _br_get_external_id(cfg: Config, cmd: VsctlCommand) -> str:
    br = _find_bridge(cfg, cmd.args[0])
    ids = br.external_ids  # type: ignore[union-attr]
    if len(cmd.args) > 1:
        return f"{ids[cmd.args[1]]}\n" if cmd.args[1] in ids else ""
    return "".join(f"{k}={v}\n" for k, v in sorted(ids.items()))


def _list_ports(cfg: Config, cmd: VsctlCommand) -> str:
    br = _find_bridge(cfg, cmd.args[0])
    return _lines([p for p in br.ports if p != br.name])  # type: ignore[union-attr]


def _add_port(cfg: Config, cmd: VsctlCommand) -> None:
    br_name, port_name, settings = cmd.args[0], cmd.args[1], cmd.args[2:]
    if not port_name:
        raise ConfigError("port name must not be empty string")
    if "--may-exist" in cmd.options:
        port = _find_port(cfg, port_name, must_exist=False)
        if port is not None:
            owner = cfg.port_bridge(port_name)
            if owner is not None and owner.name != br_name:
                raise ConfigError(
                    f'"{cmd}" but {port_name} is actually attached to bridge {owner.name}'
                )
            if port.interfaces != [port_name]:
                have = ", ".join(sorted(port.interfaces))
                raise ConfigError(f'"{cmd}" but {port_name} actually has interface(s) {have}')
            return
    _check_conflicts(cfg, port_name, f"cannot create a port named {port_name}")
    br = _find_bridge(cfg, br_name)
    port = Port(name=port_name, interfaces=[port_name])
    for arg in settings:
        dbctl.set_column("Port", port, arg)
    cfg.interfaces[port_name] = Interface(name=port_name)
    cfg.ports[port_name] = port
    br.ports.append(port_name)  # type: ignore[union-attr]


def _del_port_cmd(cfg: Config, cmd: VsctlCommand) -> None:
    must_exist = "--if-exists" not in cmd.options
    target = cmd.args[-1]
    if target in cfg.bridges:
        if must_exist:
            raise ConfigError(
                f"cannot delete port {target} because it is the local port for bridge {target} "
                "(deleting this port requires deleting the entire bridge)"
            )
        return
    if "--with-iface" not in cmd.options:
        port = _find_port(cfg, target, must_exist)
    else:
        port = _find_port(cfg, target, False)
        if port is None and target in cfg.interfaces:
            port = cfg.iface_port(target)
        if port is None and must_exist:
            raise ConfigError(f"no port or interface named {target}")
    if port is None:
        return
    owner = cfg.port_bridge(port.name)
    if len(cmd.args) == 2:
        br = _find_bridge(cfg, cmd.args[0])
        if owner is not br:
            raise ConfigError(f"bridge {cmd.args[0]} does not have a port {cmd.args[1]}")
    if owner is not None:
        _del_port(cfg, owner, port)


def _port_to_br(cfg: Config, cmd: VsctlCommand) -> str:
    port = _find_port(cfg, cmd.args[0])
    return f"{cfg.port_bridge(port.name).name}\n"  # type: ignore[union-attr]


def _list_ifaces(cfg: Config, cmd: VsctlCommand) -> str:
    br = _find_bridge(cfg, cmd.args[0])
    names = [i.name for i in cfg.bridge_interfaces(br.name) if i.name != br.name]  # type: ignore[union-attr]
    return _lines(names)


def _iface_to_br(cfg: Config, cmd: VsctlCommand) -> str:
    iface = _find_iface(cfg, cmd.args[0])
    port = cfg.iface_port(iface.name)  # type: ignore[union-attr]
    return f"{cfg.port_bridge(port.name).name}\n"  # type: ignore[union-attr]


def _get_controller(cfg: Config, cmd: VsctlCommand) -> str:
    return _lines(_find_bridge(cfg, cmd.args[0]).controller)  # type: ignore[union-attr]


def _del_controller(cfg: Config, cmd: VsctlCommand) -> None:
    _find_bridge(cfg, cmd.args[0]).controller = []  # type: ignore[union-attr]


def _set_controller(cfg: Config, cmd: VsctlCommand) -> None:
    br = _find_bridge(cfg, cmd.args[0])
    targets = cmd.args[1:]
    for t in targets:
        if not t:
            raise ConfigError("controller target must not be empty string")
    br.controller = sorted(set(targets))  # type: ignore[union-attr]


def _get_fail_mode(cfg: Config, cmd: VsctlCommand) -> str:
    mode = _find_bridge(cfg, cmd.args[0]).fail_mode  # type: ignore[union-attr]
    return f"{mode}\n" if mode else ""


def _del_fail_mode(cfg: Config, cmd: VsctlCommand) -> None:
    _find_bridge(cfg, cmd.args[0]).fail_mode = None  # type: ignore[union-attr]


def _set_fail_mode(cfg: Config, cmd: VsctlCommand) -> None:
    br = _find_bridge(cfg, cmd.args[0])
    if cmd.args[1] not in ("standalone", "secure"):
        raise ConfigError('fail-mode must be "standalone" or "secure"')
    br.fail_mode = cmd.args[1]  # type: ignore[union-attr]


def _generic(fn: Callable[[Config, list[str], bool], str | None]) -> Callable[..., str | None]:
    def run(cfg: Config, cmd: VsctlCommand) -> str | None:
        return fn(cfg, cmd.args, "--if-exists" in cmd.options)

    return run


def _show(cfg: Config, cmd: VsctlCommand) -> str:
    # OVS's start-up script records the switch's version in the database and ``show``
    # ends with it; ours is the package's.
    return dbctl.format_show(cfg, ovs_version=__version__)


COMMANDS: dict[str, _Syntax] = {
    "init": _Syntax(0, 0, (), _noop, True),
    "comment": _Syntax(0, _MANY, (), _noop, False),
    "show": _Syntax(0, 0, (), _show, False),
    "add-br": _Syntax(1, 3, ("--may-exist",), _add_br, True),
    "del-br": _Syntax(1, 1, ("--if-exists",), _del_br, True),
    "list-br": _Syntax(0, 0, ("--real", "--fake"), _list_br, False),
    "br-exists": _Syntax(1, 1, (), _br_exists, False),
    "br-to-vlan": _Syntax(1, 1, (), _br_to_vlan, False),
    "br-to-parent": _Syntax(1, 1, (), _br_to_parent, False),
    "br-set-external-id": _Syntax(2, 3, (), _br_set_external_id, True),
    "br-get-external-id": _Syntax(1, 2, (), _br_get_external_id, False),
    "list-ports": _Syntax(1, 1, (), _list_ports, False),
    "add-port": _Syntax(2, _MANY, ("--may-exist",), _add_port, True),
    "del-port": _Syntax(1, 2, ("--if-exists", "--with-iface"), _del_port_cmd, True),
    "port-to-br": _Syntax(1, 1, (), _port_to_br, False),
    "list-ifaces": _Syntax(1, 1, (), _list_ifaces, False),
    "iface-to-br": _Syntax(1, 1, (), _iface_to_br, False),
    "get-controller": _Syntax(1, 1, (), _get_controller, False),
    "del-controller": _Syntax(1, 1, (), _del_controller, True),
    "set-controller": _Syntax(1, _MANY, (), _set_controller, True),
    "get-fail-mode": _Syntax(1, 1, (), _get_fail_mode, False),
    "del-fail-mode": _Syntax(1, 1, (), _del_fail_mode, True),
    "set-fail-mode": _Syntax(2, 2, (), _set_fail_mode, True),
    "get": _Syntax(2, _MANY, ("--if-exists",), _generic(dbctl.cmd_get), False),
    "set": _Syntax(3, _MANY, ("--if-exists",), _generic(dbctl.cmd_set), True),
    "add": _Syntax(4, _MANY, ("--if-exists",), _generic(dbctl.cmd_add), True),
    "remove": _Syntax(4, _MANY, ("--if-exists",), _generic(dbctl.cmd_remove), True),
    "clear": _Syntax(3, _MANY, ("--if-exists",), _generic(dbctl.cmd_clear), True),
}
_ALL_OPTIONS = {opt for s in COMMANDS.values() for opt in s.options}


def parse_commands(argv: Sequence[str]) -> list[VsctlCommand]:
    """Split ``[--opt...] cmd args [-- [--opt...] cmd args]...`` into commands.

    ``argv`` is what follows the program's own global options.  An option before the
    first command that no command knows is "unrecognized" (ovs-vsctl's global option
    parser says so); after a ``--`` it is the command's to refuse.
    """
    segments: list[list[str]] = [[]]
    for arg in argv:
        if arg == "--":
            segments.append([])
        else:
            segments[-1].append(arg)
    if argv and argv[0] == "--":
        segments = segments[1:]
    commands = []
    for idx, seg in enumerate(segments):
        first = idx == 0 and not (argv and argv[0] == "--")
        if not seg:
            if idx == len(segments) - 1 and idx > 0:
                continue  # a trailing "--" ends the list harmlessly
            raise ConfigError("missing command name (use --help for help)")
        options: dict[str, str | None] = {}
        i = 0
        while i < len(seg) and seg[i].startswith("-"):
            opt, eq, value = seg[i].partition("=")
            if first and opt not in _ALL_OPTIONS:
                raise ConfigError(f"unrecognized option '{opt}'")
            if opt in options:
                raise ConfigError(f"'{seg[i]}' option specified multiple times")
            options[opt] = value if eq else None
            i += 1
        if i == len(seg):
            raise ConfigError("missing command name (use --help for help)")
        name, args = seg[i], seg[i + 1 :]
        syntax = COMMANDS.get(name)
        if syntax is None:
            raise ConfigError(f"unknown command '{name}'; use --help for help")
        for opt, value in options.items():
            if opt not in syntax.options:
                raise ConfigError(f"'{name}' command has no '{opt}' option")
            if value is not None:
                raise ConfigError(f"'{opt}' option on '{name}' does not accept an argument")
        if len(args) < syntax.min_args:
            raise ConfigError(f"'{name}' command requires at least {syntax.min_args} arguments")
        if len(args) > syntax.max_args:
            note = ""
            if any(a.startswith("-") for a in args):
                note = ' (note that options must precede command names and follow a "--" argument)'
            raise ConfigError(f"'{name}' command takes at most {syntax.max_args} arguments{note}")
        commands.append(VsctlCommand(name, list(args), options))
    return commands


def execute(cfg: Config, commands: Sequence[VsctlCommand]) -> tuple[Config, list[str], bool]:
    """Run ``commands`` on a copy of ``cfg``: (new config, outputs, whether it changed).

    Raises ``ConfigError`` (or ``VsctlExit``) on the first failure; ``cfg`` itself is
    never modified.
    """
    work = cfg.copy()
    outputs = []
    for cmd in commands:
        syntax = COMMANDS.get(cmd.name)
        if syntax is None:
            raise ConfigError(f"unknown command '{cmd.name}'; use --help for help")
        outputs.append(syntax.run(work, cmd) or "")
    changed = work != cfg
    return (work if changed else cfg), outputs, changed
