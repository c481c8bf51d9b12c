"""The demo without namespaces: the same firewall on an in-process switch, fed with
packets built here.

Layer: top level (imports ``ofproto_dpif.switch``, ``packet.checksum``); no I/O, no
clock: time is a counter the demo advances.

Used when the demo cannot create network namespaces (not root).  The "hosts" are two
``dummy`` ports; a packet handed to one of them comes out of the other (or nowhere),
exactly as it would between real hosts, so the demo can show the same verdicts, the
conntrack table, the megaflows and a trace.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from pyvswitch.packet.checksum import checksum, l4_checksum_v4

__all__ = ["Endpoint", "InProcessLab", "icmp_echo", "tcp_segment"]

ETH_IP = 0x0800
ETH_ARP = 0x0806


@dataclass(frozen=True)
class Endpoint:
    port: str
    mac: bytes
    ip: bytes

    @property
    def ip_text(self) -> str:
        return ".".join(str(b) for b in self.ip)


def _ipv4(src: Endpoint, dst: Endpoint, proto: int, l4: bytes, ident: int) -> bytes:
    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0x4000, 64,
                                proto, 0, src.ip, dst.ip))
    struct.pack_into("!H", hdr, 10, checksum(hdr))
    return dst.mac + src.mac + struct.pack("!H", ETH_IP) + bytes(hdr) + l4


def icmp_echo(src: Endpoint, dst: Endpoint, reply: bool, ident: int, seq: int) -> bytes:
    body = bytearray(struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq) + bytes(32))
    struct.pack_into("!H", body, 2, checksum(body))
    return _ipv4(src, dst, 1, bytes(body), seq)


TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp_segment(src: Endpoint, dst: Endpoint, sport: int, dport: int, flags: int, seq: int,
                ack: int, payload: bytes = b"") -> bytes:
    hdr = bytearray(struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0,
                                0))
    seg = bytes(hdr) + payload
    struct.pack_into("!H", hdr, 16, l4_checksum_v4(src.ip, dst.ip, 6, seg))
    return _ipv4(src, dst, 6, bytes(hdr) + payload, seq & 0xFFFF)


def arp_request(src: Endpoint, dst: Endpoint) -> bytes:
    arp = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IP, 6, 4, 1, src.mac, src.ip, bytes(6), dst.ip)
    return b"\xff" * 6 + src.mac + struct.pack("!H", ETH_ARP) + arp


class InProcessLab:
    """An in-process switch with an inside (port 1) and an outside (port 2) host."""

    def __init__(self, flows: str) -> None:
        from pyvswitch.ofproto_dpif.switch import Switch

        self.switch = Switch()
        self.now = 1000.0
        self.bridge = self.switch.add_bridge("br0", fail_mode="secure")
        self.switch.add_port("br0", "inside", type="dummy", ofport_request=1)
        self.switch.add_port("br0", "outside", type="dummy", ofport_request=2)
        self.bridge.add_flows([line for line in flows.splitlines() if line.strip()],
                              now=self.now)
        self.inside = Endpoint("inside", bytes.fromhex("020000000001"), bytes([198, 51, 100, 1]))
        self.outside = Endpoint("outside", bytes.fromhex("020000000002"),
                                bytes([198, 51, 100, 2]))

    def send(self, src: Endpoint, frame: bytes) -> list[str]:
        """Hand ``frame`` to the switch on ``src``'s port; the ports it came out of."""
        self.now += 0.01
        out = self.switch.receive(src.port, [frame], self.now)
        return [name for name, _ in out]

    def exchange(self, steps: list[tuple[Endpoint, Endpoint, bytes]],
                 report: Callable[[Endpoint, Endpoint, bytes, list[str]], None]) -> bool:
        """Send each frame; ``report`` sees where it went.  True if all were delivered."""
        ok = True
        for src, dst, frame in steps:
            where = self.send(src, frame)
            report(src, dst, frame, where)
            ok = ok and dst.port in where
        return ok

    def ping(self, src: Endpoint, dst: Endpoint, seq: int) -> list[tuple[Endpoint, Endpoint,
                                                                          bytes]]:
        return [(src, dst, icmp_echo(src, dst, False, 0x4242, seq)),
                (dst, src, icmp_echo(dst, src, True, 0x4242, seq))]

    def tcp_session(self, client: Endpoint, server: Endpoint, sport: int, dport: int,
                    data: bytes) -> list[tuple[Endpoint, Endpoint, bytes]]:
        """A handshake, one data segment and its acknowledgement."""
        c, s = 1000, 5000
        return [
            (client, server, tcp_segment(client, server, sport, dport, TCP_SYN, c, 0)),
            (server, client, tcp_segment(server, client, dport, sport, TCP_SYN | TCP_ACK, s,
                                         c + 1)),
            (client, server, tcp_segment(client, server, sport, dport, TCP_ACK, c + 1, s + 1)),
            (client, server, tcp_segment(client, server, sport, dport, TCP_PSH | TCP_ACK, c + 1,
                                         s + 1, data)),
            (server, client, tcp_segment(server, client, dport, sport, TCP_ACK, s + 1,
                                         c + 1 + len(data))),
        ]

    # ------------------------------------------------------------------ views
    def dump_conntrack(self) -> str:
        lines = self.switch.conntrack.dump_conntrack(None, False, False, now=self.now)
        return "".join(line + "\n" for line in lines)

    def dump_megaflows(self) -> str:
        return self.switch.datapath.format_flows(now=self.now)

    def dump_flows(self) -> str:
        return self.bridge.dump_flows(now=self.now)

    def trace(self, flow: str) -> str:
        return self.bridge.trace(flow, now=self.now)
