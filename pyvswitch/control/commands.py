"""The one command table behind the control socket (unixctl) and the CLIs.

Layer: control (imports only the standard library and ``pyvswitch.errors``).

A command is a name, a usage string for ``list-commands`` (``None`` hides it), an
argument-count range and a handler.  :meth:`CommandTable.dispatch` checks the method
and the arguments exactly as OVS's unixctl server does, with its error texts, so the
real ``ovs-appctl`` prints the same messages for pyvswitchd as for ovs-vswitchd.

Handlers receive the argument strings (without the command name) and return the
reply text (``None`` means empty).  They report a failure by raising any
:class:`SwitchError` (``ParseError``, ``OFPError``, ``CommandError``...): its one-line
message becomes the error reply.  Other exceptions are bugs and propagate, so the
daemon's loop boundary can log them with a traceback and tests see them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pyvswitch.errors import SwitchError

__all__ = ["Command", "CommandError", "CommandTable", "Handler", "normalize_reply"]

Handler = Callable[[list[str]], "str | None"]


class CommandError(SwitchError):
    """A command refused its arguments or failed; the message is the error reply."""


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    usage: str | None
    min_args: int
    max_args: int
    handler: Handler


def normalize_reply(text: str | None) -> str:
    """Reply text as OVS sends it: empty stays empty, anything else ends in a newline.

    ``ovs-appctl`` prints the reply verbatim, so the newline decides whether the
    user's prompt lands on a line of its own.
    """
    if not text:
        return ""
    return text if text.endswith("\n") else text + "\n"


class CommandTable:
    """Named commands with usage and argument limits; ``list-commands`` and ``version``
    are built in, as every OVS daemon has them."""

    def __init__(self, version: str = "pyvswitchd (pyvswitch) 0.1.0") -> None:
        self._commands: dict[str, Command] = {}
        self._version = version
        self.register("list-commands", "", 0, 0, lambda args: self.format_list())
        self.register("version", "", 0, 0, lambda args: self._version)

    def register(
        self, name: str, usage: str | None, min_args: int, max_args: int, handler: Handler
    ) -> None:
        """Add a command.  Registering a name twice is a programming error."""
        if name in self._commands:
            raise ValueError(f"command {name!r} is already registered")
        if not 0 <= min_args <= max_args:
            raise ValueError(f"command {name!r}: bad argument range {min_args}..{max_args}")
        self._commands[name] = Command(name, usage, min_args, max_args, handler)

    def unregister(self, name: str) -> None:
        self._commands.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._commands

    def __iter__(self) -> Iterator[Command]:
        return iter(sorted(self._commands.values(), key=lambda c: c.name))

    def get(self, name: str) -> Command | None:
        return self._commands.get(name)

    def format_list(self) -> str:
        """``list-commands`` output: sorted, hidden commands (usage ``None``) left out."""
        lines = ["The available commands are:"]
        for cmd in self:
            if cmd.usage is not None:
                lines.append(f"  {cmd.name:<23} {cmd.usage}")
        return "\n".join(lines) + "\n"

    def check(self, method: str, params: Sequence[Any]) -> Command:
        """The command for ``method`` if ``params`` suit it; else raise CommandError
        with the text OVS's unixctl server replies."""
        cmd = self._commands.get(method)
        if cmd is None:
            raise CommandError(
                f'"{method}" is not a valid command '
                '(use "list-commands" to see a list of valid commands)'
            )
        if len(params) < cmd.min_args:
            raise CommandError(f'"{method}" command requires at least {cmd.min_args} arguments')
        if len(params) > cmd.max_args:
            raise CommandError(f'"{method}" command takes at most {cmd.max_args} arguments')
        if not all(isinstance(p, str) for p in params):
            raise CommandError(f'"{method}" command has non-string argument')
        return cmd

    def dispatch(self, method: str, params: Sequence[Any]) -> tuple[bool, str]:
        """Run a command: ``(True, reply)`` or ``(False, error)``, both normalised."""
        try:
            cmd = self.check(method, params)
            text = cmd.handler(list(params))
        except SwitchError as exc:
            return False, normalize_reply(str(exc))
        return True, normalize_reply(text)
