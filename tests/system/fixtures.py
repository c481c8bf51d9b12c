"""System-test fixtures for the whole switch: pyvswitchd in the testbed's switch
namespace, driven by the real CLIs, and small traffic helpers.

Import what a test module needs: ``from tests.system.fixtures import switch, ...``
(``switch`` is a pytest fixture; the ``testbed`` fixture comes from conftest.py).
"""

from __future__ import annotations

import subprocess

import pytest

from pyvswitch.daemon.runner import SwitchProcess
from pyvswitch.testbed import Host, Testbed, wait_for

__all__ = [
    "FIREWALL",
    "UDP_ECHO_SERVER",
    "add_bridge",
    "flows_file",
    "ping",
    "switch",
    "tcp_connect",
    "udp_request",
]


@pytest.fixture
def switch(testbed: Testbed, tmp_path):
    """A running pyvswitchd whose ports are the testbed's switch-side veth ends."""
    sw = SwitchProcess(str(tmp_path / "pyvs"), netns=testbed.switch_ns)
    sw.start()
    try:
        yield sw
    finally:
        status = sw.stop()
        assert "unexpected exception" not in sw.log_text(), sw.log_text()[-3000:]
        assert status == 0, f"pyvswitchd exit status {status}"


def add_bridge(sw: SwitchProcess, hosts: list[Host], bridge: str = "br0",
               fail_mode: str | None = None, tags: list[int | None] | None = None) -> None:
    """A bridge whose port N (OpenFlow number N) is host N's veth end."""
    args = ["add-br", bridge]
    if fail_mode:
        args += ["--", "set-fail-mode", bridge, fail_mode]
    for n, h in enumerate(hosts, 1):
        args += ["--", "add-port", bridge, h.switch_ifname]
        if tags and tags[n - 1] is not None:
            args.append(f"tag={tags[n - 1]}")
        args += ["--", "set", "Interface", h.switch_ifname, f"ofport_request={n}"]
    sw.vsctl(*args)


def flows_file(sw: SwitchProcess, bridge: str, text: str) -> None:
    """Replace the bridge's flows with ``text`` (one flow per line)."""
    sw.ofctl("del-flows", bridge)
    sw.run("pyvs-ofctl", "add-flows", bridge, "-", input=text)


#: the stateful firewall: port 1 inside, port 2 outside; ARP and neighbour discovery pass
FIREWALL = """\
table=0,priority=100,arp,actions=NORMAL
table=0,priority=100,icmp6,icmp_type=135,actions=NORMAL
table=0,priority=100,icmp6,icmp_type=136,actions=NORMAL
table=0,priority=50,ip,in_port=1,actions=ct(commit,zone=1),output:2
table=0,priority=50,ipv6,in_port=1,actions=ct(commit,zone=1),output:2
table=0,priority=50,ip,in_port=2,actions=ct(zone=1,table=1)
table=0,priority=50,ipv6,in_port=2,actions=ct(zone=1,table=1)
table=0,priority=0,actions=drop
table=1,priority=50,ct_state=+trk+est,actions=output:1
table=1,priority=50,ct_state=+trk+rel,actions=output:1
table=1,priority=0,actions=drop
"""


def ping(tb: Testbed, src: Host, dst_ip: str, count: int = 2, timeout: float = 1.0) -> bool:
    """Whether ``src`` gets every echo reply from ``dst_ip`` (IPv4 or IPv6)."""
    fam = ["-6"] if ":" in dst_ip else []
    r = tb.run(src, ["ping", *fam, "-c", str(count), "-i", "0.2", "-W", str(timeout), dst_ip],
               timeout=count * (timeout + 1) + 5, check=False)
    return r.returncode == 0


def ping_eventually(tb: Testbed, src: Host, dst_ip: str, timeout: float = 10.0) -> bool:
    """The first pings of a fresh topology may race neighbour discovery: retry."""
    return wait_for(lambda: ping(tb, src, dst_ip, count=1), timeout=timeout, interval=0.2)


_TCP_CLIENT = r"""
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
if len(sys.argv) > 3:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", int(sys.argv[3])))
s.settimeout(float(sys.argv[4]) if len(sys.argv) > 4 else 3)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    s.sendall(b"hello\n")
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    print("OK", data.decode().strip())
except OSError as exc:
    print("FAIL", type(exc).__name__)
"""

_TCP_SERVER = r"""
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
s.settimeout(float(sys.argv[3]))
print("listening", flush=True)
try:
    while True:
        c, peer = s.accept()
        c.settimeout(5)
        data = b""
        while not data.endswith(b"\n"):
            d = c.recv(4096)
            if not d:
                break
            data += d
        c.sendall(("from %s:%d" % peer[:2]).encode() + b"\n")
        c.close()
        print("peer", peer[0], peer[1], flush=True)
except OSError:
    pass
"""


def tcp_server(tb: Testbed, host: Host, ip: str, port: int,
               lifetime: float = 20.0) -> subprocess.Popen:
    """A TCP server that answers each connection with ``from PEER_IP:PEER_PORT``."""
    proc = tb.popen(host, ["python3", "-c", _TCP_SERVER, ip, str(port), str(lifetime)],
                    text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "listening", line
    return proc


def tcp_connect(tb: Testbed, host: Host, ip: str, port: int, src_port: int | None = None,
                timeout: float = 3.0) -> str:
    """``OK <server's answer>`` or ``FAIL <error>`` for one connection from ``host``."""
    args = ["python3", "-c", _TCP_CLIENT, ip, str(port)]
    if src_port is not None:
        args += [str(src_port), str(timeout)]
    r = tb.run(host, args, timeout=timeout + 10, check=False)
    return r.stdout.strip()


UDP_ECHO_SERVER = r"""
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(float(sys.argv[3]))
print("listening", flush=True)
try:
    while True:
        d, peer = s.recvfrom(2048)
        s.sendto(b"echo:" + d, peer)
except OSError:
    pass
"""

_UDP_CLIENT = r"""
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(float(sys.argv[3]))
s.connect((sys.argv[1], int(sys.argv[2])))
for _ in range(3):
    try:
        s.send(b"ping")
        print("OK", s.recv(2048).decode())
        break
    except ConnectionRefusedError:
        print("REFUSED")
        break
    except OSError as exc:
        last = type(exc).__name__
else:
    print("FAIL", last)
"""


def udp_server(tb: Testbed, host: Host, ip: str, port: int,
               lifetime: float = 20.0) -> subprocess.Popen:
    proc = tb.popen(host, ["python3", "-c", UDP_ECHO_SERVER, ip, str(port), str(lifetime)],
                    text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "listening"
    return proc


def udp_request(tb: Testbed, host: Host, ip: str, port: int, timeout: float = 1.0) -> str:
    """``OK echo:ping``, ``REFUSED`` (an ICMP port unreachable came back) or ``FAIL``."""
    r = tb.run(host, ["python3", "-c", _UDP_CLIENT, ip, str(port), str(timeout)],
               timeout=3 * timeout + 10, check=False)
    return r.stdout.strip()
