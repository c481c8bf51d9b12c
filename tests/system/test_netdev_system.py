"""``system`` ports (AF_PACKET + PACKET_VNET_HDR) and ``internal`` taps with real traffic
between namespaces, with the kernel's default offloads on."""

import errno
import selectors
import struct
import time

import pytest

from pyvswitch.errors import NetdevError
from pyvswitch.netdev.provider import open_netdev
from pyvswitch.testbed import wait_for

pytestmark = pytest.mark.netns


def two_hosts(tb, ring=True, **kw):
    h1 = tb.add_host(ipv4=["198.51.100.1/24"], ipv6=["2001:db8::1/64"], **kw)
    h2 = tb.add_host(ipv4=["198.51.100.2/24"], ipv6=["2001:db8::2/64"], **kw)
    opts = {} if ring else {"rx_ring": "false"}
    with tb.in_switch_ns():
        p1 = open_netdev(h1.switch_ifname, "system", opts)
        p2 = open_netdev(h2.switch_ifname, "system", opts)
    assert p1.uses_ring is ring and p2.uses_ring is ring
    return h1, h2, p1, p2


def test_ping_v4_and_v6(testbed, forwarder):
    h1, h2, p1, p2 = two_hosts(testbed)
    try:
        with forwarder(p1, p2) as fw:
            testbed.run(h1, ["ping", "-c", "2", "-W", "2", h2.ip], timeout=15)
            testbed.run(h1, ["ping", "-6", "-c", "2", "-W", "2", h2.ip6], timeout=15)
        assert fw.n_frames >= 8
        s1, s2 = p1.get_stats(), p2.get_stats()
        assert s1.rx_packets > 0 and s2.tx_packets == s1.rx_packets
        assert s2.rx_packets > 0 and s1.tx_packets == s2.rx_packets
    finally:
        p1.close()
        p2.close()


@pytest.mark.parametrize("ring", [True, False], ids=["ring", "recvmsg"])
@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_tcp_default_offloads_forwarded_whole(testbed, forwarder, tcp_transfer, family, ring):
    """Partial-checksum and 64 KB GSO frames pass through with their virtio-net header."""
    h1, h2, p1, p2 = two_hosts(testbed, ring=ring)
    dst = h2.ip if family == "ipv4" else h2.ip6
    try:
        with forwarder(p1, p2) as fw:
            sent, got = tcp_transfer(testbed, h1, h2, dst, 30_000_000)
        assert sent == got
        assert fw.n_csum > 0, "no partial-checksum frame seen: offloads not exercised"
        assert fw.n_gso > 0 and fw.max_len > 20000, "no GSO super-frame seen"
        assert p2.get_stats().tx_errors == 0
    finally:
        p1.close()
        p2.close()


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_tcp_offloads_finished_in_software(testbed, forwarder, tcp_transfer, family):
    """The fallback for devices that cannot take the header: our checksum completion and
    segmentation must produce frames the receiving kernel accepts."""
    h1, h2, p1, p2 = two_hosts(testbed)
    dst = h2.ip if family == "ipv4" else h2.ip6
    try:
        with forwarder(p1, p2, soft=True) as fw:
            sent, got = tcp_transfer(testbed, h1, h2, dst, 8_000_000)
        assert sent == got
        assert fw.n_gso > 0
    finally:
        p1.close()
        p2.close()


def test_jumbo_frames(testbed, forwarder, tcp_transfer):
    h1, h2, p1, p2 = two_hosts(testbed, mtu=9000)
    try:
        assert p1.get_mtu() == 9000
        with forwarder(p1, p2) as fw:
            testbed.run(
                h1, ["ping", "-c", "2", "-W", "2", "-s", "8972", "-M", "do", h2.ip], timeout=15
            )
        assert fw.max_len >= 9000 + 14 - 1
    finally:
        p1.close()
        p2.close()


INJECT = r"""
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
for hexframe in sys.argv[1:]:
    s.send(bytes.fromhex(hexframe))
"""


@pytest.mark.parametrize("ring", [True, False], ids=["ring", "recvmsg"])
def test_vlan_tag_survives_acceleration(testbed, ring):
    """The receiving veth moves an 802.1Q tag into packet metadata; the port must put
    it back so the switch sees the frame as sent (also for a frame too big for a ring
    slot, which takes the copy path)."""
    h1 = testbed.add_host(ipv4=["198.51.100.1/24"], mtu=9000)
    with testbed.in_switch_ns():
        p1 = open_netdev(h1.switch_ifname, "system", {} if ring else {"rx_ring": "false"})
    frames = [
        bytes.fromhex("0200000000020270000000018100a00a0800")
        + bytes.fromhex("4500001c0001000040110000c6336401c6336402")
        + b"\x00\x09" * 4,
        bytes.fromhex("02000000000202700000000188a8006481000005") + b"\x88\xb5" + b"qinq" * 12,
        bytes.fromhex("0200000000020270000000018100000788b5") + bytes(range(256)) * 8,
    ]
    try:
        testbed.run(h1, ["python3", "-c", INJECT, *(f.hex() for f in frames)])
        got = []
        assert wait_for(lambda: bool(got.extend(p1.recv_batch(64))) or len(got) >= 3, 5)
        tagged = [bytes(f) for f, _ in got if f[12:14] in (b"\x81\x00", b"\x88\xa8")]
        assert tagged == frames
    finally:
        p1.close()


def _arp_probe_frames(tb, host, n):
    """Make ``host`` emit ARP requests (ping to an address nobody has)."""
    tb.run(
        host,
        ["ping", "-c", str(n), "-i", "0.2", "-W", "1", "198.51.100.77"],
        check=False,
        timeout=20,
    )


def _wait_readable(port, timeout=5.0):
    sel = selectors.DefaultSelector()
    sel.register(port.fileno(), selectors.EVENT_READ)
    try:
        return bool(sel.select(timeout))
    finally:
        sel.close()


def test_batched_rx_and_no_loopback_of_own_frames(testbed):
    h1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    with testbed.in_switch_ns():
        p1 = open_netdev(h1.switch_ifname, "system")
    try:
        # a burst of 200 UDP datagrams to a static neighbour: no ARP, one frame each
        testbed.run(
            h1, ["ip", "neigh", "add", "198.51.100.9", "lladdr", "02:00:00:00:00:09", "dev", "eth0"]
        )
        burst = (
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "for i in range(200): s.sendto(b'x%d' % i, ('198.51.100.9', 9))\n"
        )
        testbed.run(h1, ["python3", "-c", burst])
        assert _wait_readable(p1)
        first = p1.recv_batch(64)
        assert len(first) == 64
        rest = []

        def drained():
            rest.extend(p1.recv_batch(64))
            return len(first) + len(rest) >= 200

        wait_for(drained, 5)
        udp = [f for f, _ in first + rest if f[12:14] == b"\x08\x00" and f[23] == 17]
        assert len(udp) == 200
        # a frame we send out of the port is not received back on it
        marker = b"pyvswitch-loopback-check"
        frame = bytes.fromhex("ffffffffffff020000000001") + b"\x88\xb5" + marker
        assert p1.send_batch([(frame, None)]) == 1
        time.sleep(0.2)
        back = p1.recv_batch(64)
        assert not [f for f, _ in back if marker in f]
    finally:
        p1.close()


def test_vanished_device_reported_and_reopened(testbed):
    h1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    with testbed.in_switch_ns():
        p1 = open_netdev(h1.switch_ifname, "system")
    try:
        testbed.run_switch(["ip", "link", "del", h1.switch_ifname])
        with pytest.raises(NetdevError) as e:
            assert _wait_readable(p1)
            p1.recv_batch(64)
        assert e.value.errno == errno.ENODEV
        assert "No such device" in str(e.value)
        with testbed.in_switch_ns(), pytest.raises(NetdevError) as e:
            p1.reopen()
        assert e.value.errno == errno.ENODEV
        # the device comes back (same name): reopen works and traffic is seen again
        testbed.run_switch(
            [
                "ip",
                "link",
                "add",
                h1.switch_ifname,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                h1.ns,
            ]
        )
        testbed.run_switch(["ip", "link", "set", h1.switch_ifname, "up"])
        testbed.run(h1, "ip addr add 198.51.100.1/24 dev eth0 && ip link set eth0 up")
        with testbed.in_switch_ns():
            p1.reopen()
        assert wait_for(p1.get_carrier, 5)
        _arp_probe_frames(testbed, h1, 2)
        assert _wait_readable(p1)
        frames = p1.recv_batch(64)
        assert any(f[12:14] == b"\x08\x06" for f, _ in frames)
    finally:
        p1.close()


def test_system_port_on_missing_device(testbed):
    with testbed.in_switch_ns(), pytest.raises(NetdevError) as e:
        open_netdev(f"{testbed.prefix}zz", "system")
    assert e.value.errno == errno.ENODEV
    assert str(e.value) == f"{testbed.prefix}zz: No such device"


def _link_state(tb, name):
    r = tb.run_switch(["ip", "-o", "link", "show", name], check=False)
    return r.stdout if r.returncode == 0 else None


def test_internal_tap_port(testbed, forwarder, tcp_transfer):
    """An internal port is a tap device created and brought up by the switch; frames
    with offloads pass between it and a veth whole."""
    h1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    name = f"{testbed.prefix}t0"
    with testbed.in_switch_ns():
        p1 = open_netdev(h1.switch_ifname, "system")
        tap = open_netdev(name, "internal", {"mtu": "1500", "mac": "02:00:00:00:00:fe"})
    try:
        state = _link_state(testbed, name)
        assert state is not None and ",UP" in state
        assert tap.get_hw_addr() == bytes.fromhex("0200000000fe")
        assert tap.get_mtu() == 1500
        testbed.run_switch(["ip", "addr", "add", "198.51.100.254/24", "dev", name])
        with forwarder(p1, tap) as fw:
            testbed.run(h1, ["ping", "-c", "2", "-W", "2", "198.51.100.254"], timeout=15)
            sent, got = tcp_transfer(testbed, h1, testbed.switch_ns, "198.51.100.254", 8_000_000)
        assert sent == got
        assert fw.n_csum > 0
    finally:
        tap.close()
        p1.close()
    assert wait_for(lambda: _link_state(testbed, name) is None, 5), "tap outlived its port"


def test_tap_name_taken_by_other_device(testbed):
    h1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    with testbed.in_switch_ns(), pytest.raises(NetdevError) as e:
        open_netdev(h1.switch_ifname, "internal")
    assert e.value.name == h1.switch_ifname


def test_vnet_header_layout_seen_on_gso(testbed, forwarder, tcp_transfer):
    """The parsed header of a TCPv4 GSO frame points at the TCP checksum field."""
    h1, h2, p1, p2 = two_hosts(testbed)
    seen = []

    class Spy:
        def __init__(self, port):
            self.port = port

        def fileno(self):
            return self.port.fileno()

        def recv_batch(self, n):
            pkts = self.port.recv_batch(n)
            seen.extend((bytes(f[:64]), i) for f, i in pkts if i is not None and i.is_gso)
            return pkts

        def send_batch(self, pkts):
            return self.port.send_batch(pkts)

    try:
        with forwarder(Spy(p1), p2):
            tcp_transfer(testbed, h1, h2, h2.ip, 4_000_000)
        assert seen
        head, info = seen[0]
        ihl = (head[14] & 0x0F) * 4
        assert info.csum_start == 14 + ihl
        assert info.csum_offset == 16
        assert info.gso_size > 0 and struct.unpack("!H", head[12:14])[0] == 0x0800
    finally:
        p1.close()
        p2.close()


def test_device_down_then_up_keeps_the_port(testbed):
    """A device brought down is not a vanished device: no error, traffic resumes."""
    h1 = testbed.add_host(ipv4=["198.51.100.1/24"])
    with testbed.in_switch_ns():
        p1 = open_netdev(h1.switch_ifname, "system")
    try:
        testbed.run_switch(["ip", "link", "set", h1.switch_ifname, "down"])
        assert not p1.get_carrier()
        if _wait_readable(p1, 1):
            assert p1.recv_batch(64) == []  # the ENETDOWN notice is not an error
        testbed.run_switch(["ip", "link", "set", h1.switch_ifname, "up"])
        assert wait_for(p1.get_carrier, 5)
        _arp_probe_frames(testbed, h1, 2)
        assert _wait_readable(p1)
        assert any(f[12:14] == b"\x08\x06" for f, _ in p1.recv_batch(64))
    finally:
        p1.close()


def test_host_without_tx_offload_sends_finished_frames(testbed, forwarder, tcp_transfer):
    """The testbed's offload switch works, and plain frames pass as well."""
    h1, h2, p1, p2 = two_hosts(testbed)
    testbed.set_offloads(h1, {"tx": "off", "gso": "off", "tso": "off"})
    try:
        with forwarder(p1, p2) as fw:
            sent, got = tcp_transfer(testbed, h1, h2, h2.ip, 2_000_000)
        assert sent == got
        # h1's frames are finished by its kernel and MTU-sized; h2 keeps the default
        # offloads, so its ACKs arrive with a partial checksum
        assert fw.csum_from[0] == 0 and fw.max_len_from[0] <= 1514
        assert fw.csum_from[1] > 0
    finally:
        p1.close()
        p2.close()
