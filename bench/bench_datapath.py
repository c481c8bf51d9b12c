"""Benchmark the userspace datapath's fast paths (run: ``python bench/bench_datapath.py``).

Prints packets per second and the ratio to the target for:
* EMC hit, one output, 64-byte UDP (target 500,000 pkt/s on one core);
* megaflow hit with the exact-match caches cold (target 200,000 pkt/s);
* the datapath's share of a conntrack pass: ct + recirc + second lookup with a tracker
  that answers at once (the real tracker's cost comes on top), then the same with the
  real tracker, and the one-pass ``ct(commit),output`` of the system benchmark's firewall;
* the upcall path: every packet a new flow, a trivial callback installing a megaflow.

Timings are CPU time (``time.process_time``): the machine is shared, and wall time
mostly measures the neighbours.  Not a test: numbers depend on the machine.
Layer: bench (uses dpif, flow, odp, conntrack).
"""

from __future__ import annotations

import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyvswitch.dpif.netdev import Datapath  # noqa: E402
from pyvswitch.dpif.provider import UpcallResult  # noqa: E402
from pyvswitch.flow import layout as L  # noqa: E402
from pyvswitch.odp.actions import Output  # noqa: E402

BATCH = 32


def _ip_csum(hdr: bytes) -> int:
    s = sum(struct.unpack(f"!{len(hdr) // 2}H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(src_port: int, dst_ip: int = 0xC6336402) -> bytes:
    """A 60-byte (64 with FCS) Ethernet/IPv4/UDP frame without a UDP checksum, as many
    are (the IP header checksum is right: conntrack checks it)."""
    eth = bytes.fromhex("525400000002525400000001") + b"\x08\x00"
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 46, 1, 0, 64, 17, 0, 0xC6336401, dst_ip)
    ip = ip[:10] + struct.pack("!H", _ip_csum(ip)) + ip[12:]
    udp = struct.pack("!HHHH", src_port, 5678, 26, 0)
    return eth + ip + udp + bytes(18)


def _mask_dst_only() -> tuple[int, ...]:
    m = [0] * L.N_DP
    m[L.ETH_TYPE] = 0xFFFF
    m[L.NW_DST] = 0xFFFFFFFF
    m[L.NW_PROTO] = 0xFF
    m[L.NW_FRAG] = 3
    return tuple(m)


def _mask_exact_ports() -> tuple[int, ...]:
    m = list(_mask_dst_only())
    m[L.TP_SRC] = 0xFFFF
    return tuple(m)


def _run(dp: Datapath, batches: list[list[bytearray]], seconds: float) -> float:
    n = 0
    start = time.process_time()
    end = start + seconds
    now = 1.0
    while time.process_time() < end:
        for b in batches:
            dp.process(1, b, now)
            n += len(b)
        now += 0.001
    return n / (time.process_time() - start)


def bench_emc(seconds: float) -> float:
    dp = Datapath()
    dp.port_add("p1")
    dp.port_add("p2")
    mask = _mask_dst_only()
    dp.register_upcall_cb(lambda up: UpcallResult((Output(2),), mask))
    pkts = [bytearray(udp_frame(1000 + i)) for i in range(BATCH)]
    dp.process(1, pkts, 0.0)
    return _run(dp, [pkts], seconds)


def _cold_rate(seconds: float) -> float:
    dp = Datapath()
    dp.port_add("p1")
    dp.port_add("p2")
    mask = _mask_dst_only()
    dp.register_upcall_cb(lambda up: UpcallResult((Output(2),), mask))
    dp.process(1, [bytearray(udp_frame(1))], 0.0)
    pool = [[bytearray(udp_frame((b * BATCH + i) % 65535 + 1)) for i in range(BATCH)]
            for b in range(2048)]
    spent = 0.0
    n = 0
    while spent < seconds:
        dp._emc.clear()
        dp._quick.clear()
        t0 = time.process_time()
        for batch in pool:
            dp.process(1, batch, 1.0)
        spent += time.process_time() - t0
        n += len(pool) * BATCH
    return n / spent


def bench_upcall(seconds: float) -> float:
    dp = Datapath()
    dp.port_add("p1")
    dp.port_add("p2")
    mask = _mask_exact_ports()
    dp.register_upcall_cb(lambda up: UpcallResult((Output(2),), mask))
    pool = [[bytearray(udp_frame((b * BATCH + i) % 65535 + 1)) for i in range(BATCH)]
            for b in range(512)]
    spent = 0.0
    n = 0
    while spent < seconds:
        dp.flow_flush()
        t0 = time.process_time()
        for batch in pool:
            dp.process(1, batch, 1.0)
        spent += time.process_time() - t0
        n += len(pool) * BATCH
    return n / spent


class _StubResult:
    __slots__ = ("ct", "modified", "packets")

    def __init__(self, ct):
        self.ct = ct
        self.modified = False
        self.packets = None


class _StubTracker:
    """Answers +trk+est at once: what is left is the datapath's own cost."""

    def __init__(self) -> None:
        self.result = _StubResult((L.CS_TRACKED | L.CS_ESTABLISHED, 1) + (0,) * 9)

    def execute(self, pkt, flow, **kwargs):
        return self.result


def bench_ct_recirc(seconds: float, tracker: object = None) -> float:
    from pyvswitch.odp.actions import Ct, Recirc

    dp = Datapath(tracker if tracker is not None else _StubTracker())
    dp.port_add("p1")
    dp.port_add("p2")
    first = list(_mask_dst_only())
    second = list(first)
    second[L.CT_STATE] = L.CS_TRACKED | L.CS_ESTABLISHED | L.CS_NEW

    def upcall(up):
        if up.flow[L.RECIRC_ID] == 0:
            return UpcallResult((Ct(zone=1), Recirc(1)), tuple(first))
        if up.flow[L.CT_STATE] & L.CS_NEW:
            return UpcallResult((Ct(zone=1, commit=True), Output(2)), tuple(second))
        return UpcallResult((Output(2),), tuple(second))

    dp.register_upcall_cb(upcall)
    pkts = [bytearray(udp_frame(1000 + i)) for i in range(BATCH)]
    dp.process(1, pkts, 0.0)
    dp.process(1, pkts, 0.0)  # committed connections: the rest is +est
    return _run(dp, [pkts], seconds)


def bench_ct_real(seconds: float) -> float:
    from pyvswitch.conntrack.tracker import Conntrack

    return bench_ct_recirc(seconds, Conntrack())


def bench_ct_commit_output(seconds: float) -> float:
    """The one-pass direction of the system benchmark's firewall (inside to outside):
    ``ct(commit,zone=1),output`` on 64-byte UDP, real tracker."""
    from pyvswitch.conntrack.tracker import Conntrack
    from pyvswitch.odp.actions import Ct

    dp = Datapath(Conntrack())
    dp.port_add("p1")
    dp.port_add("p2")
    mask = _mask_dst_only()
    dp.register_upcall_cb(lambda up: UpcallResult((Ct(zone=1, commit=True), Output(2)), mask))
    pkts = [bytearray(udp_frame(1000 + i)) for i in range(BATCH)]
    dp.process(1, pkts, 0.0)
    return _run(dp, [pkts], seconds)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    rows = [
        ("EMC hit, 1 output, 64-byte UDP", bench_emc(seconds), 500_000),
        ("megaflow hit, EMC cold", _cold_rate(seconds), 200_000),
        ("ct + recirc + 2nd lookup (stub tracker)", bench_ct_recirc(seconds), None),
        ("same with the real tracker (UDP +est)", bench_ct_real(seconds), None),
        ("ct(commit),output, real tracker, UDP", bench_ct_commit_output(seconds), None),
        ("upcall (trivial callback) + install", bench_upcall(seconds), None),
    ]
    for name, rate, target in rows:
        ratio = f"{rate / target:5.2f}x target {target:,}" if target else "(no target)"
        print(f"{name:40s} {rate:12,.0f} pkt/s  {ratio}")


if __name__ == "__main__":
    main()
