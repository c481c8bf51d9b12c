"""The packet path never raises: mangled and random frames through a pipeline that uses
every kind of translation (NORMAL with VLANs, conntrack and NAT with recirculation,
groups, learn, packet-ins, TTL, header rewrites) only ever get forwarded or dropped --
no upcall may fail (the conftest checks the datapath's error counters after each test).
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvswitch import coverage

from .conftest import arp_req, eth, icmp_echo, make_switch, tcp, udp

FLOWS = [
    "table=0,priority=100,ip,ct_state=-trk,actions=ct(zone=1,nat,table=1)",
    "table=0,priority=90,ipv6,actions=resubmit(,2)",
    "table=0,priority=10,actions=resubmit(,2)",
    "table=1,priority=100,tcp,ct_state=+trk+new,actions=ct(commit,zone=1,"
    "nat(src=203.0.113.1-203.0.113.3:1000-2000)),dec_ttl,resubmit(,2)",
    "table=1,priority=90,udp,ct_state=+trk+new,actions=ct(commit,zone=1,"
    "exec(set_field:0x1->ct_mark)),group:1",
    "table=1,priority=80,icmp,actions=controller(max_len=64),mod_nw_tos:16,resubmit(,2)",
    "table=1,priority=70,ct_state=+trk+est,actions=resubmit(,2)",
    "table=1,priority=0,actions=learn(table=3,priority=5,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],"
    "output:NXM_OF_IN_PORT[]),resubmit(,2)",
    "table=2,priority=50,dl_vlan=10,actions=strip_vlan,NORMAL",
    "table=2,priority=10,actions=mod_vlan_pcp:3,NORMAL",
]
GROUPS = ["group_id=1,type=select,bucket=output:2,bucket=output:3,bucket=NORMAL"]

SEEDS = [tcp(1, 2, 1000, 80), tcp(2, 1, 80, 1000, "SA"), udp(1, 3), icmp_echo(1, 2),
         arp_req(1, 2), eth(4, "ff:ff:ff:ff:ff:ff", vlan=10), udp(2, 4, ttl=1),
         bytes.fromhex("505400000002505400000001" "86dd" "6000000000080640"
                       + "20010db8" + "0" * 22 + "01" + "20010db8" + "0" * 22 + "02"
                       + "04d20050" + "0" * 8)]


def _switch():
    sw = make_switch(4, fail_mode="secure", p4={"tag": 10})
    br = sw.bridge("br0")
    for g in GROUPS:
        br.add_group(g)
    br.add_flows(FLOWS)
    return sw


frames = st.one_of(
    st.binary(min_size=0, max_size=120),
    st.tuples(st.sampled_from(SEEDS), st.integers(0, 119), st.integers(0, 255),
              st.integers(0, 80)).map(
        lambda t: (t[0][:t[1]] + bytes([t[2]]) + t[0][t[1] + 1:])[: len(t[0]) - t[3]]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 4), frames), min_size=1, max_size=12))
def test_mangled_frames_never_break_the_pipeline(batch):
    sw = _switch()
    now = 1.0
    for port, frame in batch:
        now += 0.01
        out = sw.receive(f"p{port}", [frame], now)
        assert all(name in ("p1", "p2", "p3", "p4", "br0") for name, _ in out)
    sw.run(now + 1)
    bad = {k: v for k, v in coverage.snapshot().items() if k.startswith("datapath_drop_")}
    assert not bad, bad
