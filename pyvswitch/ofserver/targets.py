"""OpenFlow connection targets as OVS spells them.

Active targets (the switch, or ``ovs-ofctl``, connects): ``tcp:IP[:PORT]`` and
``unix:PATH``.  Passive targets (the switch listens): ``ptcp:[PORT][:IP]`` and
``punix:PATH``.  The default TCP port is 6653, the IANA OpenFlow port OVS uses; an IPv6
address is written in brackets (``tcp:[2001:db8::1]:6653``).  SSL targets are refused:
we have no TLS.

OVS's bridge code makes an *active* controller a "primary" connection (its loss counts
towards fail-open, it receives asynchronous messages by default) and a *passive* one a
"service" connection (like the management socket: asynchronous messages only once the
client asks for them with a non-zero miss_send_len).

Layer: ofserver.  Imports: errors.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from pyvswitch.errors import ConfigError

#: the default OpenFlow TCP port (IANA; OVS's OFP_PORT)
OFP_TCP_PORT = 6653


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed target.  ``kind`` is "tcp" or "unix"; ``host`` is "" for "every
    address" on a passive TCP target; ``path`` is set for unix targets."""

    text: str
    passive: bool
    kind: str
    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def is_primary(self) -> bool:
        """OVS's rule: active targets are primary controllers, passive ones service."""
        return not self.passive


def _port(text: str, target: str) -> int:
    if not text:
        return OFP_TCP_PORT
    try:
        port = int(text, 10)
    except ValueError:
        raise ConfigError(f"{target}: bad port number \"{text}\"") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{target}: bad port number \"{text}\"")
    return port


def _host(text: str, target: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ConfigError(f"{target}: bad IP address \"{text}\"") from None


def _split_host_port(rest: str, target: str) -> tuple[str, str]:
    """``HOST[:PORT]`` with IPv6 hosts in brackets."""
    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise ConfigError(f"{target}: missing ']' in IPv6 address")
        host, tail = rest[1:end], rest[end + 1:]
        if tail and not tail.startswith(":"):
            raise ConfigError(f"{target}: bad syntax after IPv6 address")
        return host, tail[1:]
    host, _, port = rest.partition(":")
    return host, port


def parse_target(text: str) -> Target:
    """Parse one target; raises ConfigError with a one-line reason."""
    kind, sep, rest = text.partition(":")
    if not sep:
        raise ConfigError(f"{text}: not a valid OpenFlow target (expected TYPE:ARGS)")
    if kind in ("unix", "punix"):
        if not rest:
            raise ConfigError(f"{text}: missing socket path")
        return Target(text, kind == "punix", "unix", path=rest)
    if kind == "tcp":
        host, port = _split_host_port(rest, text)
        if not host:
            raise ConfigError(f"{text}: missing IP address")
        return Target(text, False, "tcp", _host(host, text), _port(port, text))
    if kind == "ptcp":
        # ptcp:[PORT][:IP]; the address may be bracketed IPv6
        port, _, host = rest.partition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return Target(text, True, "tcp", _host(host, text) if host else "", _port(port, text))
    if kind in ("ssl", "pssl"):
        raise ConfigError(f"{text}: SSL connections are not supported")
    raise ConfigError(f"{text}: unknown connection type \"{kind}\"")


def mgmt_target(rundir: str, bridge: str) -> Target:
    """The management socket every bridge listens on (``punix:RUNDIR/BR.mgmt``)."""
    return parse_target(f"punix:{rundir}/{bridge}.mgmt")


__all__ = ["OFP_TCP_PORT", "Target", "mgmt_target", "parse_target"]
