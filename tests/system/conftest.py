"""System-test fixtures: a namespace testbed per test and a tiny two-port forwarder.

System tests need root (network namespaces, raw sockets); as anyone else they are
skipped, and only then.
"""

import os
import selectors
import subprocess
import threading

import pytest

from pyvswitch.netdev.offload import finish_offload
from pyvswitch.testbed import Testbed

ROOT = os.geteuid() == 0


def pytest_collection_modifyitems(config, items):
    """System tests need root.  A developer running the suite as a normal user gets them
    skipped; CI (PYVS_REQUIRE_SYSTEM=1, set by .ci/run) fails instead, so a system test
    that cannot run there never passes silently."""
    if ROOT:
        return
    if os.environ.get("PYVS_REQUIRE_SYSTEM") == "1":
        raise pytest.UsageError("system tests must run as root here (PYVS_REQUIRE_SYSTEM=1)")
    skip = pytest.mark.skip(reason="system tests need root")
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(skip)


def _netns_list() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=10)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


@pytest.fixture
def testbed():
    """A fresh testbed; the test fails if any of its namespaces outlive it."""
    tb = Testbed()
    with tb:
        yield tb
    leaked = {ns for ns in _netns_list() if ns.startswith(tb.prefix)}
    assert not leaked, f"namespaces leaked: {leaked}"


class Forwarder:
    """Moves frames between two ports in a thread, the way a datapath would, and
    records what it saw.  With ``soft=True`` it finishes offloads in software and sends
    plain frames (the path for ports that cannot take the virtio-net header)."""

    def __init__(self, a, b, soft: bool = False, batch: int = 64) -> None:
        self.ports = (a, b)
        self.soft = soft
        self.batch = batch
        self.n_frames = 0
        self.n_csum = 0
        self.n_gso = 0
        self.max_len = 0
        self.vlan_frames = 0
        # per direction: index 0 is frames received on the first port
        self.csum_from = [0, 0]
        self.max_len_from = [0, 0]
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        a, b = self.ports
        sel = selectors.DefaultSelector()
        sel.register(a.fileno(), selectors.EVENT_READ, (a, b, 0))
        sel.register(b.fileno(), selectors.EVENT_READ, (b, a, 1))
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(0.05):
                    src, dst, side = key.data
                    pkts = src.recv_batch(self.batch)
                    for frame, info in pkts:
                        self.n_frames += 1
                        self.max_len = max(self.max_len, len(frame))
                        self.max_len_from[side] = max(self.max_len_from[side], len(frame))
                        if frame[12:14] == b"\x81\x00":
                            self.vlan_frames += 1
                        if info is not None:
                            self.n_csum += info.needs_csum
                            self.csum_from[side] += info.needs_csum
                            self.n_gso += info.is_gso
                    if self.soft:
                        pkts = [(s, None) for f, i in pkts for s in finish_offload(f, i)]
                    dst.send_batch(pkts)
        except BaseException as exc:  # surfaced by __exit__
            self.errors.append(exc)
        finally:
            sel.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive()
        if self.errors:
            raise self.errors[0]


@pytest.fixture
def forwarder():
    return Forwarder


# A TCP transfer whose content is checked end to end: the receiver prints the byte
# count and SHA-256 of what it got; the sender prints the same for what it sent.
SERVER = r"""
import hashlib, socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
s.settimeout(20)
c, _ = s.accept()
c.settimeout(20)
h = hashlib.sha256(); n = 0
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    h.update(d); n += len(d)
print(n, h.hexdigest(), flush=True)
"""

CLIENT = r"""
import hashlib, random, socket, sys, time
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
total = int(sys.argv[3])
rnd = random.Random(7)
for _ in range(100):
    try:
        c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
        break
    except OSError:
        time.sleep(0.05)
c.settimeout(20)
h = hashlib.sha256(); n = 0
while n < total:
    d = rnd.randbytes(min(1 << 18, total - n))
    c.sendall(d); h.update(d); n += len(d)
c.shutdown(socket.SHUT_WR)
c.recv(1)
print(n, h.hexdigest(), flush=True)
"""


@pytest.fixture
def tcp_transfer():
    """``tcp_transfer(tb, src_host, dst_host, dst_ip, nbytes)`` -> (sent, received) lines."""

    def run(tb, src, dst, dst_ip, nbytes, port=5001, timeout=40):
        srv = tb.popen(dst, ["python3", "-c", SERVER, dst_ip, str(port)], text=True)
        cli = tb.run(
            src,
            ["python3", "-c", CLIENT, dst_ip, str(port), str(nbytes)],
            timeout=timeout,
            check=False,
        )
        try:
            out, err = srv.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            tb.kill(srv)
            out, err = srv.communicate()
        assert cli.returncode == 0, cli.stderr
        assert srv.returncode == 0, err
        return cli.stdout.strip(), out.strip()

    return run
