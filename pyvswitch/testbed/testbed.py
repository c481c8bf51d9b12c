"""Test hosts in network namespaces, for system tests, benchmarks and the demo.

Layer: testbed (standard library only; runs ``ip``, ``ethtool``, ``sysctl``).

    with Testbed() as tb:
        h1 = tb.add_host(ipv4=["198.51.100.1/24"], ipv6=["2001:db8::1/64"])
        h2 = tb.add_host(ipv4=["198.51.100.2/24"])
        with tb.in_switch_ns():
            port = open_netdev(h1.switch_ifname, "system")   # socket stays in that netns
        tb.run(h1, ["ping", "-c", "1", "198.51.100.2"], timeout=10)

Every host is a namespace ``<prefix>-hN`` holding ``eth0``, one end of a veth pair;
the other end (``<prefix>sN``) sits in the switch namespace ``<prefix>-sw`` (or, with
``switch_ns=False``, in the root namespace with IPv6 disabled and no address), up and
address-less.  The prefix is random per testbed, so parallel and crashed runs never
collide.

Safety rules (shared/testbed.md): only addresses in 198.51.100.0/24, 203.0.113.0/24 and
2001:db8::/32 are accepted, and never a default route to the outside; cleanup (our
processes killed by pid, our namespaces and veths deleted) runs on exit, on exceptions,
on Ctrl-C, on SIGTERM while inside the ``with``, and at interpreter exit as a last resort.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ipaddress
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

__all__ = ["ALLOWED_NETWORKS", "Host", "Testbed", "TestbedError", "check_address"]

ALLOWED_NETWORKS = (
    ipaddress.ip_network("198.51.100.0/24"),
    ipaddress.ip_network("203.0.113.0/24"),
    ipaddress.ip_network("2001:db8::/32"),
)
_CLONE_NEWNET = 0x40000000


class TestbedError(RuntimeError):
    """A testbed could not be built, or was asked for something unsafe."""

    __test__ = False  # not a pytest test class despite the name


def check_address(addr: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    """Parse ``addr`` (``IP/PREFIX``) and refuse anything outside the test ranges."""
    try:
        iface = ipaddress.ip_interface(addr)
    except ValueError as exc:
        raise TestbedError(f"invalid address {addr!r}: {exc}") from None
    if not any(iface.ip in net for net in ALLOWED_NETWORKS):
        raise TestbedError(
            f"address {addr} is outside the test ranges "
            "(198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)"
        )
    if iface.network.prefixlen < (16 if iface.version == 4 else 32):
        raise TestbedError(f"address {addr}: prefix reaches outside the test ranges")
    return iface


@dataclass
class Host:
    name: str
    ns: str
    ifname: str
    switch_ifname: str
    mac: str
    ipv4: list[str] = field(default_factory=list)
    ipv6: list[str] = field(default_factory=list)

    @property
    def ip(self) -> str:
        """The first IPv4 address without its prefix (for ping targets)."""
        return self.ipv4[0].split("/")[0]

    @property
    def ip6(self) -> str:
        return self.ipv6[0].split("/")[0]


def _run(
    cmd: Sequence[str], timeout: float = 30, check: bool = True
) -> subprocess.CompletedProcess:
    try:
        r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise TestbedError(f"{' '.join(cmd)}: timed out after {timeout} s") from exc
    if check and r.returncode != 0:
        raise TestbedError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def _setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise TestbedError(f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


class Testbed:
    """Namespaces, veth pairs and processes, all removed again on exit."""

    __test__ = False

    def __init__(self, prefix: str | None = None, switch_ns: bool = True) -> None:
        if os.geteuid() != 0:
            raise TestbedError("a testbed needs root (network namespaces)")
        self.prefix = prefix or self._unique_prefix()
        if len(self.prefix) > 8 or not self.prefix.isalnum():
            raise TestbedError("prefix must be 1-8 alphanumeric characters (veth names are short)")
        self.switch_ns: str | None = f"{self.prefix}-sw" if switch_ns else None
        self.hosts: list[Host] = []
        self._namespaces: list[str] = []
        self._root_links: list[str] = []
        self._procs: list[subprocess.Popen] = []
        self._closed = False
        self._old_sigterm: object = None
        atexit.register(self.cleanup)
        try:
            if self.switch_ns:
                self._add_ns(self.switch_ns)
        except BaseException:
            self.cleanup()
            raise

    @staticmethod
    def _unique_prefix() -> str:
        existing = set(_run(["ip", "netns", "list"]).stdout.split())
        while True:
            prefix = "pv" + secrets.token_hex(3)
            if not any(n.startswith(prefix) for n in existing):
                return prefix

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> Testbed:
        with contextlib.suppress(ValueError):  # not the main thread: no handler
            self._old_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def _on_sigterm(self, signum: int, frame: object) -> None:
        raise KeyboardInterrupt("SIGTERM")

    def cleanup(self) -> None:
        """Kill our processes, delete our namespaces and links.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        for proc in self._procs:
            self._kill(proc)
        for link in self._root_links:
            _run(["ip", "link", "del", link], check=False)
        for ns in reversed(self._namespaces):
            _run(["ip", "netns", "del", ns], check=False)
        if self._old_sigterm is not None:
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signal.SIGTERM, self._old_sigterm)  # type: ignore[arg-type]
        atexit.unregister(self.cleanup)

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        if proc.poll() is not None:
            return
        # the process leads its own session (start_new_session), so its group id is
        # its pid: this reaches its children too and nothing else
        for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def namespaces(self) -> list[str]:
        return list(self._namespaces)

    # ------------------------------------------------------------- topology

    def _add_ns(self, ns: str) -> None:
        _run(["ip", "netns", "add", ns])
        self._namespaces.append(ns)
        _run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def add_host(
        self,
        ipv4: Sequence[str] = (),
        ipv6: Sequence[str] = (),
        mac: str | None = None,
        mtu: int | None = None,
        offloads: dict[str, str] | None = None,
    ) -> Host:
        """A new host namespace with ``eth0`` wired to a new switch-side veth end."""
        v4 = [str(check_address(a)) for a in ipv4]
        v6 = [str(check_address(a)) for a in ipv6]
        for a in v4 + v6:
            if ipaddress.ip_interface(a).version != (4 if a in v4 else 6):
                raise TestbedError(f"address {a} given in the wrong family")
        n = len(self.hosts) + 1
        ns = f"{self.prefix}-h{n}"
        sw_if = f"{self.prefix}s{n}"
        mac = mac or f"02:70:{self.prefix[-6:-4]}:{self.prefix[-4:-2]}:{self.prefix[-2:]}:{n:02x}"
        self._add_ns(ns)
        where = ["netns", self.switch_ns] if self.switch_ns else []
        _run(
            [
                "ip",
                "link",
                "add",
                sw_if,
                *where,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns,
            ]
        )
        if not self.switch_ns:
            self._root_links.append(sw_if)
            _run(["sysctl", "-q", "-w", f"net.ipv6.conf.{sw_if}.disable_ipv6=1"])
        sw = ["ip", "-n", self.switch_ns] if self.switch_ns else ["ip"]
        host = Host(f"h{n}", ns, "eth0", sw_if, mac, v4, v6)
        self.hosts.append(host)
        _run(["ip", "-n", ns, "link", "set", "eth0", "address", mac])
        if mtu:
            _run(["ip", "-n", ns, "link", "set", "eth0", "mtu", str(mtu)])
            _run([*sw, "link", "set", sw_if, "mtu", str(mtu)])
        for a in v4:
            _run(["ip", "-n", ns, "addr", "add", a, "dev", "eth0"])
        for a in v6:
            _run(["ip", "-n", ns, "-6", "addr", "add", a, "dev", "eth0", "nodad"])
        if offloads:
            self.set_offloads(host, offloads)
        _run([*sw, "link", "set", sw_if, "up"])
        _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        return host

    def set_offloads(self, host: Host, settings: dict[str, str], switch_side: bool = False) -> None:
        """``ethtool -K`` on the host's ``eth0`` (or its switch-side end)."""
        args = [x for kv in settings.items() for x in kv]
        if switch_side:
            self.run_switch(["ethtool", "-K", host.switch_ifname, *args])
        else:
            self.run(host, ["ethtool", "-K", host.ifname, *args])

    def add_vlan(self, host: Host, vid: int, ipv4: Sequence[str] = ()) -> str:
        """A VLAN sub-interface ``eth0.VID`` in the host, with addresses; its name."""
        name = f"eth0.{vid}"
        self.run(
            host,
            ["ip", "link", "add", "link", "eth0", "name", name, "type", "vlan", "id", str(vid)],
        )
        for a in ipv4:
            self.run(host, ["ip", "addr", "add", str(check_address(a)), "dev", name])
        self.run(host, ["ip", "link", "set", name, "up"])
        return name

    def set_mtu(self, host: Host, mtu: int) -> None:
        self.run(host, ["ip", "link", "set", "eth0", "mtu", str(mtu)])
        self.run_switch(["ip", "link", "set", host.switch_ifname, "mtu", str(mtu)])

    # ------------------------------------------------------------ commands

    def _wrap(self, ns: str | None, cmd: str | Sequence[str]) -> list[str]:
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        return ["ip", "netns", "exec", ns, *argv] if ns else argv

    def _ns_of(self, where: Host | str | None) -> str | None:
        if isinstance(where, Host):
            return where.ns
        return where

    def run(
        self,
        host: Host | str | None,
        cmd: str | Sequence[str],
        timeout: float = 30,
        check: bool = True,
    ) -> subprocess.CompletedProcess:
        """Run ``cmd`` (argv, or a shell string) in a host (or a namespace by name)."""
        return _run(self._wrap(self._ns_of(host), cmd), timeout=timeout, check=check)

    def run_switch(
        self, cmd: str | Sequence[str], timeout: float = 30, check: bool = True
    ) -> subprocess.CompletedProcess:
        return _run(self._wrap(self.switch_ns, cmd), timeout=timeout, check=check)

    def popen(
        self, host: Host | str | None, cmd: str | Sequence[str], **kwargs
    ) -> subprocess.Popen:
        """Start ``cmd`` in a host; it is killed (by pid, with its children) on cleanup."""
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.Popen(
            self._wrap(self._ns_of(host), cmd), start_new_session=True, **kwargs
        )
        self._procs.append(proc)
        return proc

    def popen_switch(self, cmd: str | Sequence[str], **kwargs) -> subprocess.Popen:
        return self.popen(self.switch_ns, cmd, **kwargs)

    def kill(self, proc: subprocess.Popen) -> None:
        self._kill(proc)

    @contextlib.contextmanager
    def in_switch_ns(self) -> Iterator[None]:
        """Run the body in the switch namespace (this thread only); sockets and taps
        opened inside stay in it afterwards."""
        with self.in_ns(self.switch_ns):
            yield

    @contextlib.contextmanager
    def in_ns(self, ns: str | None) -> Iterator[None]:
        if ns is None:
            yield
            return
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(f"/run/netns/{ns}")
            try:
                yield
            finally:
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.setns(home, _CLONE_NEWNET) != 0:
                    raise TestbedError("could not return to the original network namespace")
        finally:
            os.close(home)


def wait_for(cond: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``cond`` until true or ``timeout`` seconds pass; the final answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return cond()
