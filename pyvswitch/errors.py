"""The exception hierarchy of pyvswitch.

Control-path code raises these; the packet path never raises (it returns typed results
and bumps coverage counters instead).  Every error carries a message that can be shown
to a user as one line.
"""

from __future__ import annotations


class SwitchError(Exception):
    """Base of every error pyvswitch raises on purpose."""


class ParseError(SwitchError):
    """User text (a flow, an action, a command argument) could not be parsed.

    ``text`` is the whole input and ``pos`` the offset of the offending token when known,
    so front ends can point at it.
    """

    def __init__(self, msg: str, text: str | None = None, pos: int | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.text = text
        self.pos = pos


class ConfigError(SwitchError):
    """The configuration store or a configuration request is invalid."""


class OFPError(SwitchError):
    """An OpenFlow-level refusal: becomes an OFPT_ERROR with (type, code).

    ``type``/``code`` use OpenFlow 1.3 numbering; ``nx`` marks Nicira extension errors,
    which the codec encodes as vendor/experimenter errors.  The semantic layer raises
    these with a symbolic name so the codec can map them per version.
    """

    def __init__(self, name: str, msg: str = "", data: bytes = b"") -> None:
        super().__init__(msg or name)
        self.name = name
        self.msg = msg or name
        self.data = data


class NetdevError(SwitchError):
    """A port could not be opened or used."""

    def __init__(self, name: str, errno: int, msg: str) -> None:
        super().__init__(f"{name}: {msg}")
        self.name = name
        self.errno = errno


class DpifError(SwitchError):
    """A datapath operation was refused."""


class ProtocolError(SwitchError):
    """A framing or protocol violation on a control connection."""


class LocalProtocolError(ProtocolError):
    """We misused a protocol state machine."""


class RemoteProtocolError(ProtocolError):
    """The peer violated the protocol; the connection must close."""
