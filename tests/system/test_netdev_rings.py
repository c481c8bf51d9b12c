"""``system`` ports with each ring setup: TPACKET_V2 or V3 receive ring or none, transmit
ring or ``sendmsg``; order, bursts larger than the transmit ring, frames too big for a
slot, and offloaded TCP passing whole."""

import errno
import json

import pytest

from pyvswitch.errors import NetdevError
from pyvswitch.netdev import afpacket
from pyvswitch.netdev.provider import open_netdev
from pyvswitch.testbed import wait_for

pytestmark = pytest.mark.netns

SETUPS = {
    "v2+tx": ({}, 2, True),
    "v3+tx": ({"rx_ring": "v3"}, 3, True),
    "v2+sendmsg": ({"tx_ring": "false"}, 2, False),
    "recvmsg+tx": ({"rx_ring": "false"}, 0, True),
}


def hosts(tb, opts, mtu=None):
    h1 = tb.add_host(ipv4=["198.51.100.1/24"], mtu=mtu)
    h2 = tb.add_host(ipv4=["198.51.100.2/24"], mtu=mtu)
    with tb.in_switch_ns():
        p1 = open_netdev(h1.switch_ifname, "system", opts)
        p2 = open_netdev(h2.switch_ifname, "system", opts)
    return h1, h2, p1, p2


@pytest.mark.parametrize("setup", list(SETUPS))
def test_offloaded_tcp_and_ping_through_each_setup(testbed, forwarder, tcp_transfer, setup):
    opts, version, tx = SETUPS[setup]
    h1, h2, p1, p2 = hosts(testbed, opts)
    try:
        assert (p1.rx_ring_version, p1.uses_tx_ring) == (version, tx)
        with forwarder(p1, p2) as fw:
            testbed.run(h1, ["ping", "-c", "2", "-i", "0.2", "-W", "2", h2.ip], timeout=15)
            sent, got = tcp_transfer(testbed, h1, h2, h2.ip, 20_000_000)
        assert sent == got
        # 64 KB GSO frames went through whole (sendmsg beside the ring), partial
        # checksums were passed on
        assert fw.n_gso > 0 and fw.max_len > 20000 and fw.n_csum > 0
        assert p2.get_stats().tx_errors == 0 and p1.get_stats().tx_errors == 0
    finally:
        p1.close()
        p2.close()


def test_bad_ring_options(testbed):
    h1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    for opts in ({"rx_ring": "v4"}, {"tx_ring": "maybe"}):
        with testbed.in_switch_ns(), pytest.raises(NetdevError) as e:
            open_netdev(h1.switch_ifname, "system", opts)
        assert e.value.errno == errno.EINVAL


# The receiver: counts frames of our test ethertype in order, with a big buffer so the
# burst is not dropped at the socket.
SINK = r"""
import json, socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88B5))
s.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
s.bind(("eth0", 0x88B5))
s.settimeout(3)
print("ready", flush=True)
seq, sizes = [], []
try:
    while len(seq) < int(sys.argv[1]):
        f = s.recv(65536)
        seq.append(int.from_bytes(f[14:18], "big")); sizes.append(len(f))
except socket.timeout:
    pass
print(json.dumps([seq, sizes]), flush=True)
"""


def test_burst_larger_than_the_ring_keeps_order_with_big_frames(testbed):
    """More frames than the transmit ring has slots in one batch, with jumbo frames
    (too big for a slot: sendmsg) in between: all arrive, in order."""
    n = afpacket.TX_RING_FRAMES * 2 + 50
    h1, h2, p1, p2 = hosts(testbed, {}, mtu=9000)
    try:
        assert p2.uses_tx_ring
        sink = testbed.popen(h2, ["python3", "-c", SINK, str(n)], text=True)
        assert sink.stdout.readline().strip() == "ready"
        dst = bytes.fromhex("ffffffffffff020000000001") + b"\x88\xb5"
        frames = []
        for i in range(n):
            size = 4000 if i % 97 == 5 else 60
            frames.append((bytearray(dst + i.to_bytes(4, "big") + bytes(size - 18)), None))
        sent = 0
        for k in range(0, n, 400):  # a few big batches
            sent += p2.send_batch(frames[k:k + 400])
        out, _ = sink.communicate(timeout=20)
        seq, sizes = json.loads(out.strip().splitlines()[-1])
        assert sent == n == len(seq)
        assert seq == list(range(n))
        assert sizes.count(4000) == sum(1 for i in range(n) if i % 97 == 5)
        stats = p2.get_stats()
        assert stats.tx_packets == n and stats.tx_errors == 0
    finally:
        p1.close()
        p2.close()


def test_v3_ring_hands_over_a_lone_frame_within_its_timer(testbed):
    """A V3 block is handed over when its timer expires: a single frame is not held."""
    h1, h2, p1, p2 = hosts(testbed, {"rx_ring": "v3"})
    try:
        testbed.run(h1, ["ping", "-c", "1", "-W", "1", h2.ip], timeout=10, check=False)
        got = []
        assert wait_for(lambda: bool(got.extend(p1.recv_batch(64))) or len(got) >= 1, 2)
    finally:
        p1.close()
        p2.close()
