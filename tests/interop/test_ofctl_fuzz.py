"""Bad input against the running daemon: mutated captures and random bytes sent on its
management socket.

Each message goes on a connection of its own (after a proper handshake) followed by a
BARRIER_REQUEST.  The daemon must answer with replies or OFPT_ERRORs, or close only
that connection (a framing violation); a refused message must not change the flow
table or the groups; the daemon must stay up, answer on the next connection, and log no
unexpected exception.
"""

from __future__ import annotations

import random
import socket
import struct
import time

import pytest

from pyvswitch.openflow.connection import NEED_DATA, MessageReceived, OFConnection
from pyvswitch.openflow.messages import BarrierReply, BarrierRequest, FlowStatsRequest
from tests.interop.test_ofctl_support import pyvs  # noqa: F401
from tests.unit.ofserver.test_fuzz import SAMPLES, SETUP

pytestmark = pytest.mark.interop

BARRIER_XID = 0x7EADBEEF
N_MESSAGES = 300


class Client:
    """A blocking controller-side connection to the management socket."""

    def __init__(self, path: str, version: int) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(path)
        self.ctl = OFConnection("controller", frozenset((version,)))
        self.sock.sendall(self.ctl.initiate())
        self.closed = False
        while self.ctl.version is None:
            self._read()

    def _read(self) -> list[tuple[object, int, bytes]]:
        data = self.sock.recv(65536)
        self.ctl.receive_data(data)
        if not data:
            self.closed = True
        out = []
        while True:
            ev = self.ctl.next_event()
            if ev is NEED_DATA:
                break
            if isinstance(ev, MessageReceived):
                out.append((ev.msg, ev.xid, ev.data))
            elif not hasattr(ev, "version"):
                self.closed = True
                break
        return out

    def exchange(self, raw: bytes) -> tuple[list[tuple[object, int, bytes]], bool]:
        """Send ``raw`` then a barrier; everything received until the barrier reply
        (or the close)."""
        self.sock.sendall(raw + self.ctl.send(BarrierRequest(), BARRIER_XID))
        got: list[tuple[object, int, bytes]] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self.closed:
            try:
                got += self._read()
            except (ConnectionResetError, BrokenPipeError):
                self.closed = True
                break
            if any(isinstance(m, BarrierReply) and x == BARRIER_XID for m, x, _ in got):
                break
        return got, self.closed

    def request(self, msg: object) -> list[object]:
        got, _ = self.exchange(self.ctl.send(msg, 5))
        return [m for m, x, _ in got if x == 5]

    def close(self) -> None:
        self.sock.close()


def _state(path: str) -> list[str]:
    c = Client(path, 4)
    try:
        replies = c.request(FlowStatsRequest())
        return sorted(repr((f.table_id, f.priority, f.match, f.actions, f.cookie))
                      for r in replies for f in r.flows)
    finally:
        c.close()


def _mutate(rng: random.Random, msg: bytes, version: int) -> bytes:
    m = bytearray(msg)
    struct.pack_into("!I", m, 4, 0x77)
    how = rng.choice(["flip", "truncate", "extend", "type", "random"])
    if how == "flip":
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(8, max(9, len(m)))
            if i < len(m):
                m[i] ^= rng.randint(1, 255)
    elif how == "truncate" and len(m) > 8:
        del m[rng.randrange(8, len(m)):]
        struct.pack_into("!H", m, 2, len(m))
    elif how == "extend":
        m += bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        struct.pack_into("!H", m, 2, len(m))
    elif how == "type":
        m[1] = rng.randrange(41)
    else:
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 48)))
        m = bytearray(struct.pack("!BBHI", version, rng.randrange(41), 8 + len(body), 0x77)
                      + body)
    return bytes(m)


def test_mutated_messages_against_the_daemon(pyvs):  # noqa: F811
    pyvs.reset()
    pyvs.ofctl("-O", "OpenFlow13", "add-group", "BR",
               "group_id=1,type=all,bucket=output:1,bucket=output:2")
    pyvs.ofctl("add-flows", "BR", "-", input=SETUP)
    path = pyvs.target[len("unix:"):]
    rng = random.Random(20261128)
    versions = sorted(v for v in SAMPLES if SAMPLES[v])
    base = _state(path)
    state = base
    n_errors = n_closed = 0
    for _ in range(N_MESSAGES):
        version = rng.choice(versions)
        raw = _mutate(rng, rng.choice(SAMPLES[version]), version)
        c = Client(path, version)
        try:
            got, closed = c.exchange(raw)
        finally:
            c.close()
        refused = any(type(m).__name__ == "Error" and x == 0x77 for m, x, _ in got)
        n_errors += refused
        n_closed += closed
        now = _state(path)
        if refused:
            assert now == state, raw.hex()
        state = now
    assert n_errors > N_MESSAGES // 4  # most mutations are refused, not ignored
    log = pyvs.proc.log_text()
    assert "unexpected exception" not in log, log[-3000:]
    # still serving ovs-ofctl
    assert "NXST_FLOW reply" in pyvs.ofctl("dump-flows", "BR").stdout
