"""Connection tracker cost: established TCP packets, new connections, memory per entry.

    python bench/bench_conntrack.py [--packets N] [--conns N] [--mem-conns N]

* established: one ACK of an established connection through ``Conntrack.execute``, as
  the datapath calls it (keyword arguments, a fresh flow key), with and without
  ``l4_csum_good``, 64-byte and 1500-byte frames.  Target: <= 2 us (200,000/s).
* new: full handshakes (SYN commit, SYN-ACK, ACK) on distinct ports.  Target: >= 30,000
  connections/s (three packets each).
* memory: RSS growth divided by the number of committed connections, at 1,000,000
  connections by default.  Target: <= 1 KiB.

Timings are CPU time (``time.process_time``), the best of several rounds, so that a
shared machine disturbs them less.  Packets are built
with struct (no scapy on the measured path).
"""

from __future__ import annotations

import argparse
import gc
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyvswitch.conntrack import Conntrack  # noqa: E402
from pyvswitch.flow.extract import flow_extract  # noqa: E402
from pyvswitch.packet.checksum import checksum  # noqa: E402

ETH = bytes.fromhex("505400000002505400000001") + b"\x08\x00"


def tcp_frame(src: int, dst: int, sport: int, dport: int, flags: int, seq: int, ack: int,
              payload: bytes = b"") -> bytearray:
    """An Ethernet/IPv4/TCP frame with correct checksums."""
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    seg = bytearray(tcp + payload)
    pseudo = struct.pack("!IIBBH", src, dst, 0, 6, len(seg))
    struct.pack_into("!H", seg, 16, checksum(pseudo + seg))
    ip = bytearray(struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(seg), 1, 0, 64, 6, 0, src, dst))
    struct.pack_into("!H", ip, 10, checksum(ip))
    return bytearray(ETH + ip + seg)


A, B = 0xC6336401, 0xC6336402  # 198.51.100.1, .2
SYN, ACK, SYNACK, PSHACK = 0x02, 0x10, 0x12, 0x18


def best_of(fn, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def bench_established(n: int) -> None:
    for size, label in ((0, "64-byte"), (1446, "1500-byte")):
        ct = Conntrack(seed=1)
        pl = b"x" * size
        now = 1.0
        for pkt, commit in ((tcp_frame(A, B, 40000, 80, SYN, 1000, 0), True),
                            (tcp_frame(B, A, 80, 40000, SYNACK, 5000, 1001), True),
                            (tcp_frame(A, B, 40000, 80, ACK, 1001, 5001), True)):
            ct.execute(pkt, flow_extract(pkt), zone=0, commit=commit, now=now)
        pkt = tcp_frame(A, B, 40000, 80, PSHACK, 1001, 5001, pl)
        flow = flow_extract(pkt)
        ex = ct.execute
        res = ex(pkt, flow, zone=0, commit=True, now=now)
        assert res.ct[0] == 0x22, res
        for good in (False, True):
            def loop(ex=ex, pkt=pkt, flow=flow, good=good):
                for _ in range(n):
                    ex(pkt, flow, zone=0, commit=True, now=1.0, l4_csum_good=good)
            dt = best_of(loop) / n
            print(f"established {label:9s} l4_csum_good={good!s:5s} "
                  f"{dt * 1e6:6.2f} us/pkt  {1 / dt:10,.0f} pkt/s")


def bench_new(n: int) -> None:
    frames = []
    for i in range(n):
        sport = 1024 + i % 60000
        src = A + i // 60000 * 256
        frames.append((tcp_frame(src, B, sport, 80, SYN, 1000, 0),
                       tcp_frame(B, src, 80, sport, SYNACK, 5000, 1001),
                       tcp_frame(src, B, sport, 80, ACK, 1001, 5001)))
    flows = [tuple(flow_extract(p) for p in trio) for trio in frames]
    best = float("inf")
    for _ in range(3):
        ct = Conntrack(seed=1)
        ex = ct.execute
        t = time.process_time()
        for (syn, synack, ack), (f1, f2, f3) in zip(frames, flows):
            ex(syn, f1, zone=0, commit=True, now=1.0)
            ex(synack, f2, zone=0, commit=True, now=1.0)
            ex(ack, f3, zone=0, commit=True, now=1.0)
        best = min(best, time.process_time() - t)
        assert ct.get_nconns() == n
    print(f"new connections (SYN commit, SYN-ACK, ACK): {n / best:10,.0f} conn/s "
          f"({best / n / 3 * 1e6:.2f} us/pkt)")


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * 4


def bench_memory(n: int, established: bool) -> None:
    """RSS per connection: SYN-only (SYN_SENT) or full handshakes (ESTABLISHED)."""
    ct = Conntrack(seed=1)
    gc.collect()
    # Templates per source address (the IP checksum changes), ports patched in place;
    # TCP checksums are not verified (l4_csum_good), as after a NIC's check.
    per_addr = 60000
    templates: dict[int, tuple[bytearray, ...]] = {}
    flow = (0,) * 40
    before = rss_kib()
    for i in range(n):
        a = i // per_addr
        tpl = templates.get(a)
        if tpl is None:
            src = A + a * 256
            tpl = templates[a] = (tcp_frame(src, B, 1, 80, SYN, 1000, 0),
                                  tcp_frame(B, src, 80, 1, SYNACK, 5000, 1001),
                                  tcp_frame(src, B, 1, 80, ACK, 1001, 5001))
        port = 1024 + i % per_addr
        syn, synack, ack = tpl
        struct.pack_into("!H", syn, 34, port)
        res = ct.execute(syn, flow, zone=0, commit=True, now=1.0, l4_csum_good=True)
        if established:
            struct.pack_into("!H", synack, 36, port)
            struct.pack_into("!H", ack, 34, port)
            ct.execute(synack, flow, zone=0, commit=True, now=1.0, l4_csum_good=True)
            res = ct.execute(ack, flow, zone=0, commit=True, now=1.0, l4_csum_good=True)
        if i == 0:
            assert res.ct[0] == (0x22 if established else 0x21), res
    gc.collect()
    after = rss_kib()
    assert ct.get_nconns() == n
    kind = "established" if established else "SYN_SENT"
    print(f"memory: {n:,} {kind} connections, RSS +{(after - before) / 1024:.0f} MiB, "
          f"{(after - before) * 1024 / n:.0f} bytes/connection")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=200_000)
    ap.add_argument("--conns", type=int, default=30_000)
    ap.add_argument("--mem-conns", type=int, default=1_000_000)
    ap.add_argument("--mem-established", action="store_true",
                    help="measure memory with full handshakes instead of SYNs only")
    args = ap.parse_args()
    bench_established(args.packets)
    bench_new(args.conns)
    if args.mem_conns:
        bench_memory(args.mem_conns, args.mem_established)


if __name__ == "__main__":
    main()
