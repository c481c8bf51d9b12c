"""Revalidation after group changes: a cached megaflow that went through a group must
follow the group's new buckets (or its deletion) on the very next packet."""

from pyvswitch.flow.flow_text import parse_group_mod
from pyvswitch.flow.flowmod import GroupModCommand

from .conftest import make_switch, ports, udp, upcalls


def test_modified_and_deleted_group_apply_to_the_very_next_packet():
    sw = make_switch(3, fail_mode="secure")
    br = sw.bridge("br0")
    br.add_group("group_id=1,type=all,bucket=output:2")
    br.add_flow("in_port=1,actions=group:1")
    assert ports(sw.receive("p1", [udp(1, 2)], 1.0)) == ["p2"]
    n = upcalls()
    assert ports(sw.receive("p1", [udp(1, 2)], 1.1)) == ["p2"]
    assert upcalls() == n  # served from the cache
    br.handle_group_mod(parse_group_mod("group_id=1,type=all,bucket=output:3,bucket=output:2",
                                        GroupModCommand.MODIFY))
    assert sorted(ports(sw.receive("p1", [udp(1, 2)], 1.2))) == ["p2", "p3"]
    br.handle_group_mod(parse_group_mod("group_id=1,type=indirect,bucket=output:3",
                                        GroupModCommand.MODIFY))
    assert ports(sw.receive("p1", [udp(1, 2)], 1.3)) == ["p3"]
    # deleting the group deletes the flows that use it: table miss, drop
    br.del_groups("group_id=1")
    assert ports(sw.receive("p1", [udp(1, 2)], 1.4)) == []
    assert "group:1" not in br.dump_flows()


def test_select_group_bucket_change_moves_the_cached_connection():
    sw = make_switch(4, fail_mode="secure")
    br = sw.bridge("br0")
    br.add_group("group_id=5,type=select,bucket=output:2,bucket=output:3")
    br.add_flow("in_port=1,ip,actions=group:5")
    first = ports(sw.receive("p1", [udp(1, 2)], 1.0))
    assert first in (["p2"], ["p3"])
    assert ports(sw.receive("p1", [udp(1, 2)], 1.1)) == first
    br.handle_group_mod(parse_group_mod("group_id=5,type=select,bucket=output:4",
                                        GroupModCommand.MODIFY))
    assert ports(sw.receive("p1", [udp(1, 2)], 1.2)) == ["p4"]
