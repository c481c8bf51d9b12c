"""Pipeline scenarios: a whole Switch in-process, dummy ports, scapy packets.

Helpers build packets, inject them and read back what came out; a check after every
test makes sure no upcall failed silently inside the datapath (the datapath turns an
exception in the slow path into a drop plus a coverage counter)."""

from __future__ import annotations

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Dot1Q, Ether

from pyvswitch import coverage
from pyvswitch.ofproto_dpif.switch import Switch
from pyvswitch.packet import headers

MAC = {i: f"50:54:00:00:00:{i:02x}" for i in range(1, 10)}
IP4 = {i: f"198.51.100.{i}" for i in range(1, 10)}
OUT = {i: f"203.0.113.{i}" for i in range(1, 10)}


@pytest.fixture(autouse=True)
def _no_silent_upcall_failures():
    yield
    snap = coverage.snapshot()
    bad = {k: v for k, v in snap.items() if k.startswith("datapath_drop_")}
    assert not bad, f"the datapath dropped packets on errors: {bad}"
    headers.set_vlan_limit(2)


def make_switch(n_ports: int = 3, fail_mode: str = "standalone", **port_kw) -> Switch:
    sw = Switch()
    sw.add_bridge("br0", fail_mode=fail_mode)
    for i in range(1, n_ports + 1):
        kw = port_kw.get(f"p{i}", {})
        sw.add_port("br0", f"p{i}", "dummy", ofport_request=i, **kw)
    return sw


@pytest.fixture
def sw():
    return make_switch()


def tcp(a: int, b: int, sport: int, dport: int, flags: str = "S", *, seq: int = 1000,
        ack: int = 0, src_ip: str | None = None, dst_ip: str | None = None,
        vlan: int | None = None, payload: bytes = b"") -> bytes:
    eth = Ether(src=MAC[a], dst=MAC[b])
    if vlan is not None:
        eth = eth / Dot1Q(vlan=vlan)
    ip = IP(src=src_ip or IP4[a], dst=dst_ip or IP4[b], ttl=64)
    return bytes(eth / ip / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
                                window=8192) / payload)


def udp(a: int, b: int, sport: int = 5000, dport: int = 53, *, ttl: int = 64,
        dst_ip: str | None = None, src_ip: str | None = None) -> bytes:
    return bytes(Ether(src=MAC[a], dst=MAC[b]) / IP(src=src_ip or IP4[a],
                                                    dst=dst_ip or IP4[b], ttl=ttl)
                 / UDP(sport=sport, dport=dport) / b"hello")


def icmp_echo(a: int, b: int, ident: int = 7) -> bytes:
    return bytes(Ether(src=MAC[a], dst=MAC[b]) / IP(src=IP4[a], dst=IP4[b])
                 / ICMP(type=8, id=ident, seq=1))


def arp_req(a: int, b: int) -> bytes:
    return bytes(Ether(src=MAC[a], dst="ff:ff:ff:ff:ff:ff")
                 / ARP(op=1, hwsrc=MAC[a], psrc=IP4[a], pdst=IP4[b]))


def eth(a: int, dst: str, vlan: int | None = None) -> bytes:
    e = Ether(src=MAC[a], dst=dst)
    if vlan is not None:
        e = e / Dot1Q(vlan=vlan)
    return bytes(e / IP(src=IP4[a], dst=IP4[9]) / UDP(sport=1, dport=2))


def ports(out: list[tuple[str, bytes]]) -> list[str]:
    return [name for name, _ in out]


def upcalls() -> int:
    return coverage.get("upcall_xlate")
