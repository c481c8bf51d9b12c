"""Helpers for the conntrack tests: scapy packet builders and a pass runner.

Addresses are from the test ranges (198.51.100.0/24 inside, 203.0.113.0/24 outside,
2001:db8::/32).
"""

from __future__ import annotations

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, raw

from pyvswitch.conntrack import Conntrack, CtResult
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import flow_extract

A = "198.51.100.1"
B = "198.51.100.2"
C = "198.51.100.3"
NAT_IP = "203.0.113.10"
A6 = "2001:db8::1"
B6 = "2001:db8::2"

NEW = L.CS_NEW | L.CS_TRACKED
EST = L.CS_ESTABLISHED | L.CS_TRACKED
EST_RPL = L.CS_ESTABLISHED | L.CS_REPLY_DIR | L.CS_TRACKED
INV = L.CS_INVALID | L.CS_TRACKED
REL = L.CS_RELATED | L.CS_TRACKED
REL_RPL = L.CS_RELATED | L.CS_REPLY_DIR | L.CS_TRACKED


def ip4(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return a << 24 | b << 16 | c << 8 | d


def eth() -> Packet:
    return Ether(src="50:54:00:00:00:01", dst="50:54:00:00:00:02")


def tcp(src: str, dst: str, sport: int, dport: int, flags: str = "S", seq: int = 1000,
        ack: int = 0, window: int = 8192, payload: bytes = b"", options=None) -> bytearray:
    t = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=window,
            options=options or [])
    if ":" in src:
        return bytearray(raw(eth() / IPv6(src=src, dst=dst) / t / payload))
    return bytearray(raw(eth() / IP(src=src, dst=dst) / t / payload))


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes = b"x") -> bytearray:
    if ":" in src:
        return bytearray(raw(eth() / IPv6(src=src, dst=dst) / UDP(sport=sport, dport=dport)
                             / payload))
    return bytearray(raw(eth() / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / payload))


def icmp_echo(src: str, dst: str, ident: int, seq: int = 1, reply: bool = False) -> bytearray:
    return bytearray(raw(eth() / IP(src=src, dst=dst)
                         / ICMP(type=0 if reply else 8, id=ident, seq=seq) / b"ping"))


def icmp_error(src: str, dst: str, inner: bytearray, itype: int = 3, code: int = 3) -> bytearray:
    """An ICMP error from ``src`` to ``dst`` quoting ``inner`` (a whole frame)."""
    quoted = bytes(inner[14:])
    return bytearray(raw(eth() / IP(src=src, dst=dst) / ICMP(type=itype, code=code) / quoted))


def flow_of(pkt: bytearray, prev: CtResult | None = None) -> list[int]:
    """The packet's datapath key, carrying the previous pass's ct verdict if any."""
    flow = list(flow_extract(bytes(pkt)))
    if prev is not None:
        flow[L.CT_STATE:L.CT_TP_DST + 1] = prev.ct
    return flow


def run(ct: Conntrack, pkt: bytearray, *, zone: int = 0, now: float = 0.0,
        prev: CtResult | None = None, **kw) -> CtResult:
    return ct.execute(pkt, flow_of(pkt, prev), zone=zone, now=now, **kw)


class TcpSession:
    """Drives a TCP connection through the tracker, keeping sequence numbers right."""

    def __init__(self, ct: Conntrack, cli: str = A, srv: str = B, cport: int = 40000,
                 sport: int = 80, zone: int = 0, iss_c: int = 1000, iss_s: int = 5000) -> None:
        self.ct = ct
        self.cli, self.srv, self.cport, self.sport, self.zone = cli, srv, cport, sport, zone
        self.cseq = iss_c
        self.sseq = iss_s
        self.now = 0.0

    def c2s(self, flags: str, payload: bytes = b"", commit: bool = True, **kw) -> CtResult:
        pkt = tcp(self.cli, self.srv, self.cport, self.sport, flags, self.cseq,
                  self.sseq if "A" in flags else 0, payload=payload)
        self.cseq = (self.cseq + len(payload) + ("S" in flags) + ("F" in flags)) & 0xFFFFFFFF
        return run(self.ct, pkt, zone=self.zone, now=self.now, commit=commit, **kw)

    def s2c(self, flags: str, payload: bytes = b"", commit: bool = True, **kw) -> CtResult:
        pkt = tcp(self.srv, self.cli, self.sport, self.cport, flags, self.sseq,
                  self.cseq if "A" in flags else 0, payload=payload)
        self.sseq = (self.sseq + len(payload) + ("S" in flags) + ("F" in flags)) & 0xFFFFFFFF
        return run(self.ct, pkt, zone=self.zone, now=self.now, commit=commit, **kw)

    def handshake(self) -> tuple[CtResult, CtResult, CtResult]:
        return self.c2s("S"), self.s2c("SA"), self.c2s("A")


def dump(ct: Conntrack, zone: int | None = None, now: float = 0.0, **kw) -> list[str]:
    return sorted(ct.dump_conntrack(zone, now=now, **kw))


def scapy_checksums_ok(pkt: bytearray) -> bool:
    """Every checksum scapy knows in ``pkt`` (outer and quoted headers) is what scapy
    computes for the packet as it is."""
    from scapy.layers.inet import ICMP as _ICMP
    from scapy.layers.inet import IP as _IP
    from scapy.layers.inet import TCP as _TCP
    from scapy.layers.inet import UDP as _UDP
    from scapy.layers.inet import ICMPerror, IPerror, TCPerror, UDPerror
    from scapy.layers.inet6 import _ICMPv6
    from scapy.layers.sctp import SCTP

    original = Ether(bytes(pkt))
    fields = {_IP: "chksum", _TCP: "chksum", _UDP: "chksum", _ICMP: "chksum",
              IPerror: "chksum", TCPerror: "chksum", UDPerror: "chksum",
              ICMPerror: "chksum", _ICMPv6: "cksum", SCTP: "chksum"}
    checked = 0
    layer = original
    depth = 0
    while layer is not None and layer.name != "NoPayload":
        for cls, name in fields.items():
            if isinstance(layer, cls):
                have = getattr(layer, name)
                if cls is _UDP and have == 0 and _IP in original:
                    continue
                copy = Ether(bytes(pkt))
                target = copy
                for _ in range(depth):
                    target = target.payload
                setattr(target, name, None)
                rebuilt = Ether(raw(copy))
                target = rebuilt
                for _ in range(depth):
                    target = target.payload
                if getattr(target, name) != have:
                    return False
                checked += 1
                break
        layer = layer.payload
        depth += 1
    return checked > 0
