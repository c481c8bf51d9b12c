"""MAC learning: aging on a fake clock, moves, VLAN separation, eviction, fdb/show."""

from __future__ import annotations

from pyvswitch.ofproto.mac_learning import MacLearning
from pyvswitch.types import OFPP_LOCAL

MAC1 = 0x505400000001
MAC2 = 0x505400000002
MAC3 = 0x505400000003
BCAST = 0xFFFFFFFFFFFF
MCAST = 0x01005E000001


def test_learn_lookup_and_aging():
    ml = MacLearning(max_age=300)
    assert ml.learn(0, MAC1, 1, now=100.0) is True
    assert ml.lookup(0, MAC1, now=100.5) == 1
    assert ml.learn(0, MAC1, 1, now=100.9) is False  # same second, same port: no-op
    assert ml.lookup(0, MAC1, now=399.9) == 1
    assert ml.lookup(0, MAC1, now=400.0) is None  # expired at learn time + 300
    assert ml.learn(0, MAC1, 1, now=450.0) is True  # a fresh entry again
    # Relearning later refreshes the expiry.
    assert ml.learn(0, MAC1, 1, now=600.0) is False
    assert ml.lookup(0, MAC1, now=899.0) == 1
    assert ml.expire(now=899.0) == 0 and len(ml) == 1
    assert ml.expire(now=900.0) == 1 and len(ml) == 0


def test_moves_and_generation():
    ml = MacLearning()
    ml.learn(0, MAC1, 1, now=0.0)
    gen = ml.generation
    assert ml.learn(0, MAC1, 1, now=5.0) is False and ml.generation == gen
    assert ml.learn(0, MAC1, 2, now=5.0) is True  # moved, even within the second
    assert ml.lookup(0, MAC1, now=5.0) == 2 and ml.generation > gen
    assert ml.n_moved == 1


def test_vlans_are_separate_and_multicast_is_not_learned():
    ml = MacLearning()
    ml.learn(10, MAC1, 1, now=0.0)
    ml.learn(20, MAC1, 2, now=0.0)
    assert ml.lookup(10, MAC1, now=1.0) == 1
    assert ml.lookup(20, MAC1, now=1.0) == 2
    assert ml.lookup(30, MAC1, now=1.0) is None
    assert ml.learn(0, BCAST, 1, now=0.0) is False
    assert ml.learn(0, MCAST, 1, now=0.0) is False
    assert ml.lookup(0, BCAST, now=0.0) is None and len(ml) == 2


def test_flush_port_flush_and_static():
    ml = MacLearning()
    ml.learn(0, MAC1, 1, now=0.0)
    ml.learn(0, MAC2, 2, now=0.0)
    ml.add_static(0, MAC3, 3)
    ml.flush_port(1)
    assert ml.lookup(0, MAC1, now=1.0) is None and ml.lookup(0, MAC2, now=1.0) == 2
    ml.flush()
    assert ml.lookup(0, MAC2, now=1.0) is None
    assert ml.lookup(0, MAC3, now=10_000.0) == 3  # static: never ages, not flushed
    assert ml.learn(0, MAC3, 4, now=1.0) is False  # nor moves
    assert ml.del_static(0, MAC3) and len(ml) == 0


def test_full_table_evicts_from_the_busiest_port():
    ml = MacLearning(max_entries=3)
    ml.learn(0, MAC1, 1, now=0.0)
    ml.learn(0, MAC2, 1, now=1.0)
    ml.learn(0, MAC3, 2, now=2.0)
    ml.learn(0, 0x505400000004, 3, now=3.0)
    assert ml.lookup(0, MAC1, now=3.0) is None  # port 1 had two: its oldest went
    assert ml.lookup(0, MAC2, now=3.0) == 1 and ml.n_evicted == 1


def test_fdb_show_text_and_lru_order():
    """The layout of `ovs-appctl fdb/show br0` in OVS 3.1 (port numbers, LOCAL by
    name), entries least recently learned first."""
    ml = MacLearning()
    ml.learn(0, MAC1, 1, now=10.0)
    ml.learn(5, MAC3, 3, now=11.0)
    ml.learn(0, MAC2, OFPP_LOCAL, now=12.0)
    ml.learn(0, MAC1, 1, now=13.0)  # refreshed: now the most recent
    assert ml.format_fdb_show(now=14.2) == (
        " port  VLAN  MAC                Age\n"
        "    3     5  50:54:00:00:00:03    3\n"
        "LOCAL     0  50:54:00:00:00:02    2\n"
        "    1     0  50:54:00:00:00:01    1\n"
    )
    assert ml.format_fdb_show({1: "p1"}, now=14.2).splitlines()[3].startswith("   p1")
    ml.add_static(7, MAC1, 2)
    assert ml.format_fdb_show(now=14.2).splitlines()[-1] == \
        "    2     7  50:54:00:00:00:01  static"
