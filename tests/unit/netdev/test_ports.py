"""dummy and pcap ports, the pcap format (read back by the real tcpdump), the registry."""

import errno
import struct
import subprocess

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap, wrpcap

from pyvswitch.errors import NetdevError
from pyvswitch.netdev.dummy import NetdevDummy, set_present
from pyvswitch.netdev.offload import F_NEEDS_CSUM, GSO_TCPV4, VnetHdr
from pyvswitch.netdev.pcap import NetdevPcap, read_pcap
from pyvswitch.netdev.provider import (
    NetdevProvider,
    netdev_types,
    open_netdev,
    register_netdev_type,
)

MAC = dict(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def frames(n):
    return [
        bytes(
            Ether(**MAC)
            / IP(src="198.51.100.1", dst="198.51.100.2")
            / UDP(sport=1000 + i, dport=53)
            / (b"q" * i)
        )
        for i in range(n)
    ]


def test_registry_types_and_unknown():
    assert netdev_types() == ["dummy", "internal", "pcap", "system", "tap"]
    with pytest.raises(NetdevError) as e:
        open_netdev("p1", "vxlan", {})
    assert e.value.errno == errno.EAFNOSUPPORT
    assert str(e.value) == 'p1: unknown port type "vxlan"'


def test_register_a_fake_type(monkeypatch):
    from pyvswitch.netdev import provider

    monkeypatch.setattr(provider, "_TYPES", dict(provider._TYPES))
    register_netdev_type("fake", lambda name, type_, opts: NetdevDummy(name, type_, opts))
    port = open_netdev("f1", "fake", {})
    assert port.type == "fake" and isinstance(port, NetdevProvider)


def test_dummy_receive_send_and_stats(tmp_path):
    tx = tmp_path / "tx.pcap"
    rx = tmp_path / "rx.pcap"
    port = open_netdev("p1", "dummy", {"tx_pcap": str(tx), "rxq_pcap": str(rx)})
    assert isinstance(port, NetdevDummy) and port.fileno() is None
    assert port.get_hw_addr()[:4] == b"\xaa\x55\xaa\x55"
    fs = frames(5)
    for f in fs:
        port.receive(f)
    assert port.rx_ready()
    got = port.recv_batch(3) + port.recv_batch(10)
    assert [bytes(f) for f, _ in got] == fs
    assert all(isinstance(f, bytearray) and info is None for f, info in got)
    assert not port.rx_ready() and port.recv_batch(10) == []
    assert port.send_batch([(f, None) for f in fs[:2]]) == 2
    assert [bytes(f) for f in port.sent] == fs[:2]
    s = port.get_stats()
    assert (s.rx_packets, s.tx_packets) == (5, 2)
    assert s.rx_bytes == sum(map(len, fs)) and s.tx_bytes == len(fs[0]) + len(fs[1])
    port.close()
    assert [bytes(p) for p in rdpcap(str(tx))] == fs[:2]
    assert [bytes(p) for p in rdpcap(str(rx))] == fs


def test_dummy_finishes_offloads_before_storing():
    port = NetdevDummy("p1", "dummy", {})
    payload = b"z" * 4000
    pkt = Ether(**MAC) / IP(src="198.51.100.1", dst="198.51.100.2") / TCP(flags="A") / payload
    raw = bytearray(bytes(pkt))
    info = VnetHdr(F_NEEDS_CSUM, GSO_TCPV4, 54, 1460, 34, 16)
    assert port.send_batch([(raw, info)]) == 1
    assert [len(Ether(bytes(f))[TCP].payload) for f in port.sent] == [1460, 1460, 1080]
    assert port.get_stats().tx_packets == 3


def test_dummy_vanishes_and_returns():
    port = NetdevDummy("gone0", "dummy", {})
    set_present("gone0", False)
    try:
        with pytest.raises(NetdevError) as e:
            port.recv_batch(1)
        assert e.value.errno == errno.ENODEV and str(e.value) == "gone0: No such device"
        with pytest.raises(NetdevError):
            port.send_batch([(frames(1)[0], None)])
        with pytest.raises(NetdevError):
            port.reopen()
        with pytest.raises(NetdevError):
            NetdevDummy("gone0", "dummy", {})
    finally:
        set_present("gone0", True)
    port.reopen()
    assert port.recv_batch(1) == []


def test_pcap_port_replays_and_captures(tmp_path):
    src = tmp_path / "in.pcap"
    dst = tmp_path / "out.pcap"
    fs = frames(7)
    wrpcap(str(src), [Ether(f) for f in fs])
    port = open_netdev("pc0", "pcap", {"rx": str(src), "tx": str(dst)})
    assert port.rx_ready()
    got = port.recv_batch(4) + port.recv_batch(4)
    assert [bytes(f) for f, _ in got] == fs
    assert port.exhausted and not port.rx_ready() and port.recv_batch(4) == []
    port.send_batch([(f, None) for f, _ in got])
    assert read_pcap(str(dst)) == [bytearray(f) for f in fs]  # readable while open
    port.reopen()  # rewinds the replay
    assert len(port.recv_batch(100)) == 7
    port.close()


def test_pcap_written_is_readable_by_tcpdump(tmp_path):
    path = tmp_path / "cap.pcap"
    port = NetdevPcap("pc0", "pcap", {"tx": str(path)})
    fs = frames(3)
    port.send_batch([(f, None) for f in fs])
    port.close()
    r = subprocess.run(
        ["tcpdump", "-n", "-r", str(path)], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3
    assert "198.51.100.1.1000 > 198.51.100.2.53" in lines[0]
    assert "198.51.100.1.1002 > 198.51.100.2.53" in lines[2]


def test_pcap_reads_tcpdump_output_and_other_byte_orders(tmp_path):
    fs = frames(2)
    be = tmp_path / "be.pcap"
    body = struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for f in fs:
        body += struct.pack(">IIII", 1, 2, len(f), len(f)) + f
    be.write_bytes(body)
    assert read_pcap(str(be)) == [bytearray(f) for f in fs]
    ns = tmp_path / "ns.pcap"
    ns.write_bytes(
        struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1)
        + struct.pack("<IIII", 1, 2, len(fs[0]), len(fs[0]))
        + fs[0]
        + b"\x01\x02"
    )  # truncated tail: ignored
    assert read_pcap(str(ns)) == [bytearray(fs[0])]


@pytest.mark.parametrize(
    "content, msg",
    [
        (b"short", "pcap file is too short"),
        (b"\x00" * 24, "not a pcap file (magic 0x00000000)"),
        (
            struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 105),
            "link type 105 is not Ethernet",
        ),
    ],
)
def test_pcap_bad_files(tmp_path, content, msg):
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    with pytest.raises(NetdevError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        NetdevPcap("pc0", "pcap", {"rx": str(path)})


def test_pcap_option_errors(tmp_path):
    with pytest.raises(NetdevError, match="needs options:rx or options:tx"):
        NetdevPcap("pc0", "pcap", {})
    with pytest.raises(NetdevError) as e:
        NetdevPcap("pc0", "pcap", {"rx": str(tmp_path / "missing.pcap")})
    assert e.value.errno == errno.ENOENT and "No such file or directory" in str(e.value)
    with pytest.raises(NetdevError, match="invalid mtu 'x'"):
        NetdevDummy("d0", "dummy", {"mtu": "x"})
