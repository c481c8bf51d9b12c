"""pyvswitchd's operator commands against a private Open vSwitch 3.1 fed the same packets.

* packets built from flows (``netdev-dummy/receive PORT FLOW``, trace ``-generate``) are
  byte for byte the frames OVS composes (``ovs-ofctl compose-packet`` prints them);
* after the same packets -- composed from datapath flows, padded with ``--len``, or
  given in hex -- ``ovs-ofctl dump-ports`` shows the same counters on both switches;
* ``dpctl/dump-flows`` with ``filter=``, ``type=`` and ``pmd=`` keeps the same
  megaflows and refuses the same arguments with the same texts.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from pyvswitch.daemon.compose import flow_compose
from pyvswitch.flow.match_text import parse_match
from tests.interop.test_ofctl_support import OVS_OFCTL, pyvs, realovs  # noqa: F401

pytestmark = pytest.mark.interop

COMPOSE_FLOWS = [
    "tcp,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_src=198.51.100.1,"
    "nw_dst=198.51.100.2,tcp_src=1,tcp_dst=80,tcp_flags=syn",
    "tcp,nw_src=198.51.100.1,nw_dst=198.51.100.2,tcp_src=1,tcp_dst=80,tcp_flags=ack,"
    "nw_ttl=64,nw_tos=32",
    "tcp,nw_src=198.51.100.1,nw_dst=198.51.100.2,tcp_src=1,tcp_dst=80,tcp_flags=fin|ack",
    "udp,nw_src=198.51.100.1,nw_dst=198.51.100.2,udp_src=1,udp_dst=80,nw_ttl=64",
    "udp,dl_vlan=10,dl_vlan_pcp=3,nw_src=198.51.100.1,nw_dst=198.51.100.2,udp_src=53,"
    "udp_dst=5353",
    "icmp,nw_src=198.51.100.1,nw_dst=198.51.100.2,icmp_type=8,icmp_code=0,nw_ttl=64",
    "icmp,nw_src=198.51.100.1,nw_dst=198.51.100.2,icmp_type=3,icmp_code=3",
    "sctp,nw_src=198.51.100.1,nw_dst=198.51.100.2,sctp_src=5,sctp_dst=6",
    "ip,nw_src=198.51.100.1,nw_dst=198.51.100.2,nw_proto=47",
    "ip,nw_src=198.51.100.1,nw_dst=198.51.100.2,nw_proto=2",
    "udp,nw_src=198.51.100.1,nw_dst=198.51.100.2,nw_frag=first,udp_src=1,udp_dst=2",
    "udp,nw_src=198.51.100.1,nw_dst=198.51.100.2,nw_frag=later",
    "arp,arp_op=1,arp_spa=198.51.100.1,arp_tpa=198.51.100.2,arp_sha=02:00:00:00:00:01",
    "arp,arp_op=3",
    "tcp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,tcp_src=1,tcp_dst=22,nw_ttl=64",
    "udp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,udp_src=1,udp_dst=22,"
    "ipv6_label=0x12345,nw_tos=8",
    "icmp6,icmpv6_type=128,icmpv6_code=0,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2",
    "icmp6,icmpv6_type=1,icmpv6_code=4,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2",
    "dl_type=0x1234,dl_src=02:00:00:00:00:01",
    "dl_vlan=5,dl_type=0x1234",
    "dl_type=0x05ff",
]


def ovs_compose(flow: str, l7: str | None = None) -> bytes:
    r = subprocess.run([OVS_OFCTL, "compose-packet", flow, *([l7] if l7 is not None else [])],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    # ovs_hex_dump: "OFFSET  xx xx ... xx-xx ...  |ascii|"
    return b"".join(bytes.fromhex(line[10:59].replace("-", " "))
                    for line in r.stdout.splitlines())


@pytest.mark.parametrize("flow", COMPOSE_FLOWS)
def test_composed_frames_are_the_ones_ovs_composes(flow):
    match, _ = parse_match(flow)
    assert flow_compose(list(match.value)).hex() == ovs_compose(flow).hex()


def test_composed_payload_given_or_sized():
    flow = COMPOSE_FLOWS[3]
    value = list(parse_match(flow)[0].value)
    assert flow_compose(value, bytes.fromhex("deadbeef"), 4) == ovs_compose(flow, "deadbeef")
    assert flow_compose(value, b"", 0) == ovs_compose(flow, "")


# ----------------------------------------------------------------------------- daemons
def appctl(sw, *args: str) -> subprocess.CompletedProcess:
    """``ovs-appctl`` for the private OVS, ``pyvs-appctl`` for pyvswitchd."""
    if hasattr(sw, "proc"):
        return sw.proc.run("pyvs-appctl", *args, check=False)
    ctl = f"{sw.rundir}/ovs-vswitchd.{sw.pids[-1]}.ctl"
    env = dict(os.environ, OVS_RUNDIR=sw.rundir)
    return subprocess.run(["ovs-appctl", "-t", ctl, *args], capture_output=True, text=True,
                          env=env, timeout=30)


FLOWS = """\
table=0,priority=10,tcp,in_port=1,tp_dst=80,actions=output:2
table=0,priority=10,udp,in_port=2,actions=output:1
table=0,priority=5,ip,in_port=1,nw_src=198.51.100.1,actions=output:3
table=0,priority=0,actions=drop
"""

SYN = ("in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
       "ipv4(src=198.51.100.1,dst=198.51.100.2,proto=6,tos=0,ttl=64,frag=no),"
       "tcp(src=40000,dst=80),tcp_flags(syn)")
UDP = ("in_port(2),eth(src=02:00:00:00:00:02,dst=02:00:00:00:00:01),eth_type(0x0800),"
       "ipv4(src=198.51.100.2,dst=198.51.100.1,proto=17,tos=0,ttl=64,frag=no),"
       "udp(src=53,dst=4000)")
# an ICMP echo 198.51.100.1 -> 198.51.100.3, in hex
ICMP = ("0200000000030200000000010800450000540000400040010000c6336401c6336403"
        "0800f7ff00000000" + "00" * 56)


@pytest.fixture(scope="module")
def fed(pyvs, realovs):  # noqa: F811
    """Both switches with FLOWS after the same packets."""
    for sw in (pyvs, realovs):
        sw.reset()
        sw.ofctl("del-flows", "BR")
        sw.ofctl("add-flows", "BR", "-", input=FLOWS)
        appctl(sw, "dpctl/del-flows")
        for port, pkt in (("p1", [SYN]), ("p2", [UDP]), ("p1", [ICMP]), ("p1", [SYN]),
                          ("p2", [UDP, "--len", "300"]), ("p3", [ICMP])):
            r = appctl(sw, "netdev-dummy/receive", port, *pkt)
            assert r.returncode == 0, r.stderr
    return pyvs, realovs


def test_port_counters_match_ovs(fed):
    a, b = (sw.ofctl("dump-ports", "BR").stdout for sw in fed)
    assert a == b
    assert "rx pkts=3, bytes=" in a  # p1 got three frames


_USED = re.compile(r"used:(never|[0-9.]+s)")


def _dump(sw, *args: str) -> tuple[int, list[str], str]:
    r = appctl(sw, "dpctl/dump-flows", *args)
    lines = _USED.sub("used:X", r.stdout).splitlines()
    head = [x for x in lines if x.startswith("flow-dump")]
    return r.returncode, head + sorted(x for x in lines if not x.startswith("flow-dump")), \
        r.stderr.splitlines()[0] if r.stderr else ""


FILTERS = [
    [], ["filter=in_port=1"], ["filter=in_port=p2"], ["filter=tcp"], ["filter=udp,in_port=2"],
    ["filter=tcp,tp_dst=80"], ["filter=tcp,tp_dst=81"], ["filter=ip,nw_src=198.51.100.1"],
    ["filter=icmp"], ["filter=ip,nw_dst=198.51.100.3"], ["filter=recirc_id=0"],
    ["filter=in_port=9"], ["type=ovs"], ["type=non-offloaded"], ["type=offloaded"],
    ["pmd=-1"], ["pmd=0"], ["filter=tcp", "type=ovs"], ["filter=ip", "pmd=-1"],
    # refusals
    ["filter=tcp,foo=1"], ["filter=tcp,tp_dst=x"], ["filter=ip,nw_src=198.51.100.0/24"],
    ["filter=ip,arp_op=1"], ["filter=tcp,nw_src=198.51.100.1,nw_src=198.51.100.5"],
    ["filter=ct_state=+trk"], ["type=bogus"],
]


@pytest.mark.parametrize("args", FILTERS, ids=lambda a: " ".join(a) or "all")
def test_dump_flows_selection_matches_ovs(fed, args):
    ours, theirs = (_dump(sw, *args) for sw in fed)
    rc, lines, err = ours
    assert (rc, lines) == theirs[:2]
    # errors: the same text, from "pyvswitchd" instead of "ovs-vswitchd"
    assert err.replace("pyvswitchd:", "ovs-vswitchd:") == theirs[2]


def test_fdb_show_matches_ovs(pyvs, realovs):  # noqa: F811
    """NORMAL learns the same MACs on the same ports and VLANs; ``fdb/show`` prints them
    the same way (ages aside)."""
    tagged = ("in_port(3),eth(src=02:00:00:00:00:03,dst=ff:ff:ff:ff:ff:ff),"
              "eth_type(0x8100),vlan(vid=10,pcp=0),encap(eth_type(0x0800),"
              "ipv4(src=198.51.100.3,dst=198.51.100.255,proto=17,tos=0,ttl=64,frag=no),"
              "udp(src=1,dst=2))")
    shows = []
    for sw in (pyvs, realovs):
        sw.reset()
        assert appctl(sw, "fdb/flush", "br0").returncode == 0
        for port, pkt in (("p1", SYN), ("p2", UDP), ("p3", tagged)):
            r = appctl(sw, "netdev-dummy/receive", port, pkt)
            assert r.returncode == 0, r.stderr
        r = appctl(sw, "fdb/show", "br0")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        shows.append([lines[0]] + sorted(re.sub(r"\s+\d+$", " AGE", x) for x in lines[1:]))
    assert shows[0] == shows[1]
    assert len(shows[0]) == 4
