"""Matches: OVS's printing rules, port names, and ``parse(format(m)) == m`` for generated
matches (the golden and oracle tests pin the exact text against real OVS)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.errors import ParseError
from pyvswitch.flow import layout as L
from pyvswitch.flow.fields import FIELDS
from pyvswitch.flow.match import MatchBuilder
from pyvswitch.flow.match_text import format_match, match_from_string, parse_match


def _fmt(text: str, port_map=None, port_names=None, priority=None) -> str:
    return format_match(match_from_string(text, port_map), priority, port_names)


@pytest.mark.parametrize(("text", "out"), [
    ("", ""),
    ("ip,in_port=1", "ip,in_port=1"),
    ("in_port=1,ip", "ip,in_port=1"),
    ("dl_type=0x0800", "ip"),
    ("dl_type=0x86dd,nw_proto=6", "tcp6"),
    ("ip,nw_proto=6,tp_dst=80", "tcp,tp_dst=80"),
    ("ip,nw_proto=50", "ip,nw_proto=50"),
    ("arp,nw_proto=2", "arp,arp_op=2"),
    ("ct_state=+trk+new-est", "ct_state=+new-est+trk"),
    ("xreg0=0x100000002", "reg0=0x1,reg1=0x2"),
    ("metadata=0x1/0xff", "metadata=0x1/0xff"),
    ("ip,ip_dscp=46,ip_ecn=2", "ip,nw_tos=184,nw_ecn=2"),
    ("udp6,udp_src=5", "udp6,tp_src=5"),
    ("icmp6,icmpv6_type=135,nd_target=2001:db8::1", "icmp6,icmp_type=135,nd_target=2001:db8::1"),
    ("icmp,tp_src=8", "icmp,icmp_type=8"),
    ("dl_vlan=5", "dl_vlan=5"),
    ("vlan_vid=0x1005", "dl_vlan=5"),
    ("vlan_vid=5", "vlan_tci=0x0005/0x1fff"),
    ("dl_vlan_pcp=7", "dl_vlan_pcp=7"),
    ("vlan_pcp=3", "dl_vlan_pcp=3"),
    ("vlan_vid=0x1005,vlan_pcp=3", "dl_vlan=5,dl_vlan_pcp=3"),
    ("vlan_tci=0", "vlan_tci=0x0000"),
    ("in_port_oxm=LOCAL", "in_port=LOCAL"),
    ("eth,ip", "ip"),
    ("tcp,tp_dst=*", "tcp"),
    ("reg3=0/0", ""),
    ("ipv6,ipv6_label=5", "ipv6,ipv6_label=0x00005"),
    ("ct_nw_proto=17,ct_tp_dst=53", "ct_nw_proto=17,ct_tp_dst=53"),
    ("ct_tp_dst=53", ""),  # ct_tp_* print only with ct_nw_proto, as in OVS
    ("tun_id=0x1,tun_src=10.0.0.1,pkt_mark=0x5/0x7", "pkt_mark=0x5/0x7,tun_id=0x1,"
                                                    "tun_src=10.0.0.1"),
    ("ip,nw_src=10.0.0.0/8,nw_dst=198.51.100.1", "ip,nw_src=10.0.0.0/8,nw_dst=198.51.100.1"),
    ("tcp,tcp_flags=+syn-ack", "tcp,tcp_flags=+syn-ack"),
    ("udp,tcp_flags=+syn", "udp"),  # tcp_flags print only for tcp
])
def test_format(text, out):
    assert _fmt(text) == out


def test_priority_and_names():
    assert _fmt("ip", priority=32768) == "ip"
    assert _fmt("ip", priority=0) == "priority=0,ip"
    ports = {"vin": 3, "my-port": 4}
    names = {v: k for k, v in ports.items()}
    assert _fmt("in_port=vin", ports, names) == "in_port=vin"
    assert _fmt('in_port="my-port"', ports, names) == 'in_port="my-port"'
    assert _fmt("in_port=vin", ports) == "in_port=3"


def test_extras_are_returned_in_order():
    m, extras = parse_match("table=3,priority=5,tcp,actions=drop,cookie=0x1/0x1")
    assert extras == [("table", "3"), ("priority", "5"), ("actions", "drop"),
                      ("cookie", "0x1/0x1")]
    assert format_match(m) == "tcp"
    with pytest.raises(ParseError, match="unknown keyword table"):
        match_from_string("tcp,table=3")


def test_later_value_replaces_earlier():
    m = match_from_string("reg0=0x1/0xf,reg0=0x10/0xf0")
    assert m.get(FIELDS["reg0"]) == (0x10, 0xF0)
    m = match_from_string("tcp,udp")
    assert m.nw_proto() == L.IPPROTO_UDP
    m = match_from_string("dl_vlan=5,dl_vlan_pcp=3")
    assert format_match(m) == "dl_vlan=5,dl_vlan_pcp=3"


def test_subfield_assignment_merges_bits():
    m = match_from_string("NXM_NX_REG0[0..3]=5,NXM_NX_REG0[8]=1")
    assert m.get(FIELDS["reg0"]) == (0x105, 0x10F)
    with pytest.raises(ParseError, match=r"NXM_NX_REG0\[0..3\]: value 0x11 does not fit into 4"):
        match_from_string("NXM_NX_REG0[0..3]=17")
    with pytest.raises(ParseError, match="cannot be matched on part of its bits"):
        match_from_string("NXM_OF_IN_PORT[0..7]=1")


def test_frag_names_that_do_not_read_back():
    """As in OVS, two masked fragment matches print as names of wider ones."""
    b = MatchBuilder()
    b.set_field(FIELDS["eth_type"], L.ETH_TYPE_IP)
    b.set_field(FIELDS["ip_frag"], 0, 1)
    assert format_match(b.build()) == "ip,nw_frag=no"
    assert match_from_string("ip,nw_frag=no").get(FIELDS["ip_frag"]) == (0, 3)
    b.clear_slot(L.NW_FRAG)
    b.set_field(FIELDS["ip_frag"], 2, 2)
    assert format_match(b.build()) == "ip,nw_frag=later"
    assert match_from_string("ip,nw_frag=later").get(FIELDS["ip_frag"]) == (3, 3)


def test_empty_value_matches_anything():
    assert match_from_string("tcp,tp_dst").get(FIELDS["tcp_dst"]) == (0, 0)


# ----------------------------------------------------------------------------- round trip
def _masked(nbits: int):
    full = (1 << nbits) - 1
    return st.tuples(st.integers(0, full), st.one_of(st.just(full), st.integers(1, full)))


def _cidr(nbits: int):
    full = (1 << nbits) - 1
    return st.tuples(st.integers(0, full),
                     st.integers(0, nbits).map(lambda n: full ^ ((1 << (nbits - n)) - 1)))


_GENERAL = {
    "in_port": st.integers(0, 0xFEFF).map(lambda p: (p, None)),
    "eth_src": _masked(48), "eth_dst": _masked(48),
    "vlan_tci": _masked(16),
    "reg0": _masked(32), "reg7": _masked(32), "reg15": _masked(32),
    "metadata": _masked(64), "tun_id": _masked(64),
    "tun_src": _masked(32), "tun_dst": _cidr(32),
    "pkt_mark": _masked(32), "dp_hash": _masked(32),
    # ct_state is a 32-bit field over 8 bits of state: every mask covering the 8 bits is
    # "exact" and prints as such, so exact is the field's full mask
    "ct_state": st.tuples(st.integers(0, 0xFF), st.integers(1, 0xFF).map(
        lambda m: 0xFFFFFFFF if m == 0xFF else m)),
    "ct_zone": st.integers(0, 0xFFFF).map(lambda z: (z, None)),
    "ct_mark": _masked(32), "ct_label": _masked(128),
    "ct_nw_src": _masked(32), "ct_ipv6_dst": _masked(128),
}
_IP4 = {"ip_src": _masked(32), "ip_dst": _cidr(32), "nw_ttl": st.tuples(
    st.integers(0, 255), st.none()), "ip_dscp": st.tuples(st.integers(0, 63), st.none()),
    "nw_ecn": st.tuples(st.integers(0, 3), st.none()),
    # not (0, 1) or (2, 2): OVS prints them "no" and "later", which read back as (0, 3)
    # and (3, 3) -- see test_frag_names_that_do_not_read_back
    "ip_frag": st.sampled_from([(0, 3), (1, 3), (3, 3), (1, 1), (0, 2)])}
_IP6 = {"ipv6_src": _masked(128), "ipv6_dst": _cidr(128), "ipv6_label": _masked(20),
        "nw_ttl": st.tuples(st.integers(0, 255), st.none())}
_L4 = {"tcp_src": _masked(16), "tcp_dst": _masked(16)}
_ARP = {"arp_spa": _masked(32), "arp_tpa": _masked(32), "arp_sha": _masked(48),
        "arp_tha": _masked(48), "arp_op": st.tuples(st.integers(0, 255), st.none())}
_ICMP = {"icmp_type": st.tuples(st.integers(0, 255), st.none()),
         "icmp_code": st.tuples(st.integers(0, 255), st.none())}
_ICMP6 = {"icmpv6_type": st.tuples(st.integers(0, 255), st.none()),
          "icmpv6_code": st.tuples(st.integers(0, 255), st.none()),
          "nd_target": _masked(128), "nd_sll": _masked(48), "nd_tll": _masked(48)}

_CONTEXTS = [
    (None, None, {}), (L.ETH_TYPE_IP, None, _IP4), (L.ETH_TYPE_IP, 6, {**_IP4, **_L4}),
    (L.ETH_TYPE_IP, 17, {**_IP4, **_L4}), (L.ETH_TYPE_IP, 1, {**_IP4, **_ICMP}),
    (L.ETH_TYPE_IP, 89, _IP4), (L.ETH_TYPE_IPV6, None, _IP6),
    (L.ETH_TYPE_IPV6, 6, {**_IP6, **_L4}), (L.ETH_TYPE_IPV6, 58, {**_IP6, **_ICMP6}),
    (L.ETH_TYPE_ARP, None, _ARP), (L.ETH_TYPE_RARP, None, _ARP), (0x88CC, None, {}),
]


@st.composite
def matches(draw):
    b = MatchBuilder()
    dl_type, proto, extra = draw(st.sampled_from(_CONTEXTS))
    if dl_type is not None:
        b.set_field(FIELDS["eth_type"], dl_type)
    if proto is not None:
        b.set_field(FIELDS["nw_proto"], proto)
    fields = {**_GENERAL, **extra}
    names = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=6))
    for name in names:
        value, mask = draw(fields[name])
        b.set_field(FIELDS[name], value, mask)
    if "ct_nw_src" in names or draw(st.booleans()):
        b.set_field(FIELDS["ct_nw_proto"], draw(st.integers(0, 255)))
        value, mask = draw(_masked(16))
        b.set_field(FIELDS["ct_tp_src"], value, mask)
    if proto == 6 and draw(st.booleans()):
        value, mask = draw(_masked(12))
        b.set_field(FIELDS["tcp_flags"], value, mask)
    return b.build(), draw(st.integers(0, 0xFFFF))


@settings(max_examples=300, deadline=None)
@given(matches())
def test_parse_format_round_trip(mp):
    match, priority = mp
    text = format_match(match, priority)
    m2, extras = parse_match(text)
    assert m2 == match, text
    assert (extras == [("priority", str(priority))]) == (priority != 32768)
    assert format_match(m2, priority) == text
