"""The PACKET_MMAP ring readers and writer on memory laid out as the kernel lays it out
(no kernel needed: the system tests run them against real rings)."""

import mmap
import struct

import pytest

from pyvswitch import coverage
from pyvswitch.netdev.offload import F_DATA_VALID, F_NEEDS_CSUM, VNET_HDR, VnetHdr
from pyvswitch.netdev.provider import NetdevStats
from pyvswitch.netdev.ring import (
    STUCK_SKIP_AFTER,
    TX_DATA_OFFSET,
    TX_DATA_OFFSET_V3,
    RxRingV2,
    RxRingV3,
    TxRing,
    v2_request,
    v3_request,
)

FS, NF = 256, 8
MAC = 64  # where the frame starts in a V2 slot (the header sits just before)


def frame(i: int, n: int = 60) -> bytes:
    return bytes.fromhex("020000000002020000000001") + b"\x88\xb5" + bytes([i]) * (n - 14)


def v2_slot(mem, idx, data, vnet=b"\0" * 10, status=1, length=None, tci=None, tpid=0):
    off = idx * FS
    length = len(data) if length is None else length
    if tci is not None:
        status |= 0x10 | (0x40 if tpid else 0)
    struct.pack_into("=IIIHHIIHH", mem, off, status, length, len(data), MAC, MAC, 0, 0,
                     tci or 0, tpid)
    mem[off + MAC - 10:off + MAC] = vnet
    mem[off + MAC:off + MAC + len(data)] = data


def test_requests_are_the_kernel_structs():
    assert struct.unpack("=IIII", v2_request(2048, 2048, 65536)) == (65536, 64, 2048, 2048)
    assert struct.unpack("=IIIIIII", v3_request(1 << 18, 16, 1)) == (
        1 << 18, 16, 2048, (1 << 18) * 16 // 2048, 1, 0, 0)


def test_v2_reads_in_order_wraps_and_releases():
    mem = bytearray(FS * NF)
    ring = RxRingV2(mem, memoryview(mem), FS, NF)
    stats = NetdevStats()
    for i in range(5):
        v2_slot(mem, i, frame(i))
    got = ring.read(3, stats, None)
    assert [bytes(f) for f, _ in got] == [frame(i) for i in range(3)]
    assert all(o is None for _, o in got)
    assert [mem[i * FS] for i in range(5)] == [0, 0, 0, 1, 1]  # released to the kernel
    # the rest, then the ring wraps around to slot 0
    for i in range(5, NF + 2):
        v2_slot(mem, i % NF, frame(i))
    got = ring.read(64, stats, None)
    assert [f[14] for f, _ in got] == list(range(3, NF + 2))
    assert ring.read(64, stats, None) == []
    assert (stats.rx_packets, stats.rx_bytes) == (NF + 2, 60 * (NF + 2))


def test_v2_offload_header_vlan_copy_and_damage():
    mem = bytearray(FS * NF)
    ring = RxRingV2(mem, memoryview(mem), FS, NF)
    stats = NetdevStats()
    csum = VNET_HDR.pack(F_NEEDS_CSUM, 0, 0, 0, 34, 6)
    v2_slot(mem, 0, frame(0), vnet=csum)
    v2_slot(mem, 1, frame(1), vnet=VNET_HDR.pack(F_DATA_VALID, 0, 0, 0, 0, 0), tci=5)
    v2_slot(mem, 2, frame(2)[:40], length=3000, status=1 | 2)  # too big: on the socket
    v2_slot(mem, 3, frame(3)[:40], length=3000)  # truncated, no copy: dropped
    v2_slot(mem, 4, frame(4)[:10])  # shorter than an Ethernet header
    v2_slot(mem, 5, frame(5), tci=7, tpid=0x88A8, vnet=csum)
    asked = []

    def copy(n):
        asked.append(n)
        return bytearray(frame(2, 3000)), None

    got = ring.read(64, stats, copy)
    assert asked == [3000]
    (f0, o0), (f1, o1), (f2, o2), (f5, o5) = got
    assert bytes(f0) == frame(0) and o0 == VnetHdr(F_NEEDS_CSUM, 0, 0, 0, 34, 6)
    assert f1[12:16] == b"\x81\x00\x00\x05" and bytes(f1[16:]) == frame(1)[12:]
    assert o1.flags == F_DATA_VALID
    assert len(f2) == 3000 and o2 is None
    # an accelerated tag is put back and the checksum start moves with the data
    assert f5[12:16] == b"\x88\xa8\x00\x07" and o5.csum_start == 38
    assert (stats.rx_dropped, stats.rx_errors, stats.rx_packets) == (1, 1, 4)
    assert coverage.get("netdev_rx_truncated") == 1 and coverage.get("netdev_rx_runt") == 1


def test_v2_same_header_same_object():
    """Frames of a flow share one parsed header (no object per frame)."""
    mem = bytearray(FS * NF)
    ring = RxRingV2(mem, memoryview(mem), FS, NF)
    csum = VNET_HDR.pack(F_NEEDS_CSUM, 0, 0, 0, 34, 6)
    for i in range(3):
        v2_slot(mem, i, frame(i), vnet=csum)
    (_, a), (_, b), (_, c) = ring.read(8, NetdevStats(), None)
    assert a is b is c


def test_v2_skips_a_slot_the_kernel_never_hands_over():
    """A written slot left marked as the kernel's while the next ones are ours (the
    kernel's side of the order broken under a flood): skipped once it has stayed so for
    STUCK_SKIP_AFTER, never earlier, and never when nothing after it is ready."""
    mem = bytearray(FS * NF)
    now = [100.0]
    ring = RxRingV2(mem, memoryview(mem), FS, NF, clock=lambda: now[0])
    stats = NetdevStats()
    assert not ring.pending()
    for _ in range(3):  # an empty ring is never "stuck", however long it stays empty
        now[0] += 1.0
        assert ring.read(8, stats, None) == []
    v2_slot(mem, 0, frame(0), status=0)  # written, never handed over
    v2_slot(mem, 1, frame(1))
    v2_slot(mem, 2, frame(2))
    assert not ring.pending()
    assert ring.read(8, stats, None) == []  # first seen: the writer may still be copying
    now[0] += STUCK_SKIP_AFTER / 2
    assert ring.read(8, stats, None) == []
    now[0] += STUCK_SKIP_AFTER
    got = ring.read(8, stats, None)
    assert [f[14] for f, _ in got] == [1, 2]
    assert (stats.rx_packets, stats.rx_dropped) == (2, 1)
    assert coverage.get("netdev_rx_ring_skipped") == 1
    # a slow writer that finishes in time is read in order, nothing skipped
    v2_slot(mem, 4, frame(4))
    assert ring.read(8, stats, None) == []
    now[0] += STUCK_SKIP_AFTER / 2
    v2_slot(mem, 3, frame(3))
    assert ring.pending()
    assert [f[14] for f, _ in ring.read(8, stats, None)] == [3, 4]
    assert coverage.get("netdev_rx_ring_skipped") == 1


BS, NB = 1024, 3


def v3_block(mem, blk, frames, vlan=None):
    """A block the kernel handed over: descriptor, then tpacket3_hdr + frame each."""
    base = blk * BS
    pos = 48
    struct.pack_into("=IIIII", mem, base, 1, 0, 1, len(frames), pos)
    for i, (data, vnet) in enumerate(frames):
        mac = 80
        nxt = (mac + len(data) + 15) // 16 * 16 if i < len(frames) - 1 else 0
        status = 1
        tci = 0
        if vlan is not None and i == 0:
            status |= 0x10
            tci = vlan
        struct.pack_into("=IIIIIIHHIIH", mem, base + pos, nxt, 0, 0, len(data), len(data),
                         status, mac, mac, 0, tci, 0)
        mem[base + pos + mac - 10:base + pos + mac] = vnet
        mem[base + pos + mac:base + pos + mac + len(data)] = data
        pos += nxt


def test_v3_reads_blocks_across_calls_and_releases_them():
    mem = bytearray(BS * NB)
    ring = RxRingV3(mem, memoryview(mem), BS, NB)
    stats = NetdevStats()
    z = b"\0" * 10
    v3_block(mem, 0, [(frame(i), z) for i in range(4)], vlan=9)
    v3_block(mem, 1, [(frame(10 + i), z) for i in range(2)])
    got = ring.read(3, stats)
    assert [f[-1] for f, _ in got] == [0, 1, 2]
    assert ring.pending()  # the rest of block 0
    assert got[0][0][12:16] == b"\x81\x00\x00\x09"
    assert struct.unpack_from("=I", mem, 8)[0] == 1  # block 0 still ours
    got = ring.read(64, stats)
    assert [f[-1] for f, _ in got] == [3, 10, 11]
    assert struct.unpack_from("=I", mem, 8)[0] == 0  # both blocks back to the kernel
    assert struct.unpack_from("=I", mem, BS + 8)[0] == 0
    assert ring.read(64, stats) == []
    assert not ring.pending()
    v3_block(mem, 2, [(frame(20), z)])
    assert ring.pending()
    v3_block(mem, 0, [(frame(21), z)])  # wraps
    assert [f[-1] for f, _ in ring.read(64, stats)] == [20, 21]
    assert stats.rx_packets == 8


@pytest.mark.parametrize("version", [2, 3])
def test_tx_ring_marks_slots_and_stops_when_full_or_too_big(version):
    mem = mmap.mmap(-1, 4096 + FS * 4)
    tx = TxRing(mem, 4096, FS, 4, version)
    data_at = TX_DATA_OFFSET_V3 if version == 3 else TX_DATA_OFFSET
    status_at = 20 if version == 3 else 0
    hdr = VNET_HDR.pack(F_NEEDS_CSUM, 0, 0, 0, 34, 6)
    for i in range(4):
        assert tx.put(hdr, frame(i))
    assert tx.pending == 4
    assert not tx.put(hdr, frame(9))  # every slot is the kernel's until it is sent
    for i in range(4):
        off = 4096 + i * FS
        assert struct.unpack_from("=I", mem, off + status_at)[0] == 1  # SEND_REQUEST
        if version == 3:
            snap, length = struct.unpack_from("=II", mem, off + 12)
        else:
            length, snap = struct.unpack_from("=II", mem, off + 4)
        assert length == snap == 70
        assert mem[off + data_at:off + data_at + 70] == hdr + frame(i)
    struct.pack_into("=I", mem, 4096 + status_at, 0)  # the kernel sent slot 0
    assert tx.put(b"\0" * 10, frame(5))  # wrapped around
    assert not tx.put(b"\0" * 10, frame(6))
    assert not tx.put(b"\0" * 10, bytes(FS))  # never fits
    assert mem[0:4096] == bytes(4096)  # the receive ring in front is untouched
