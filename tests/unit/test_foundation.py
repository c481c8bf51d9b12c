"""The shared vocabulary: field registry, layout and Match."""

from pyvswitch.flow import layout as L
from pyvswitch.flow.fields import FIELDS, Prereq, field_by_name, field_by_wire
from pyvswitch.flow.match import Match, MatchBuilder


def test_wire_headers_match_spec_examples():
    # shared/spec/openflow.md 3.2: ct_state with mask, eth_type OXM
    assert field_by_name("ct_state").nxm.header(masked=True) == 0x0001D308
    assert field_by_name("eth_type").oxm.header() == 0x80000A02


def test_aliases_resolve_to_same_field():
    assert field_by_name("dl_src") is field_by_name("eth_src")
    assert field_by_name("nw_src") is field_by_name("ip_src")
    assert field_by_name("NXM_OF_IP_SRC") is field_by_name("ip_src")
    assert field_by_name("NXM_NX_REG0_W") is field_by_name("reg0")
    assert field_by_wire(0x0001, 105) is field_by_name("ct_state")


def test_xreg_spans_two_registers_high_first():
    b = MatchBuilder()
    b.set_field(field_by_name("xreg2"), 1)
    m = b.build()
    assert m.slot(L.REG0 + 4) == (0, 0xFFFFFFFF)
    assert m.slot(L.REG0 + 5) == (1, 0xFFFFFFFF)
    assert m.get(field_by_name("xreg2")) == (1, 0xFFFFFFFFFFFFFFFF)


def test_dl_vlan_implies_tag_present():
    m = Match().with_field(field_by_name("dl_vlan"), 10)
    assert m.slot(L.VLAN_TCI) == (0x1000 | 10, 0x1FFF)


def test_nw_tos_covers_dscp_bits_only():
    m = Match().with_field(field_by_name("nw_tos"), 0x10)
    assert m.slot(L.NW_TOS) == (0x10, 0xFC)
    m2 = Match().with_field(field_by_name("ip_dscp"), 4)
    assert m == m2


def test_prereqs():
    ip = Match().with_field(field_by_name("eth_type"), 0x0800)
    tcp = ip.with_field(field_by_name("nw_proto"), 6)
    assert tcp.prereqs_ok(Prereq.TCP) and not ip.prereqs_ok(Prereq.TCP)
    trk = ip.with_field(field_by_name("ct_state"), 0x20, 0x20)
    assert not trk.prereqs_ok(Prereq.CT_VALID)
    est = ip.with_field(field_by_name("ct_state"), 0x22, 0x22)
    assert est.prereqs_ok(Prereq.CT_VALID)
    not_inv = ip.with_field(field_by_name("ct_state"), 0x20, 0x30)
    assert not_inv.prereqs_ok(Prereq.CT_VALID)


def test_match_semantics():
    m = Match().with_field(field_by_name("ip_src"), 0x0A000000, 0xFF000000)
    flow = list(L.EMPTY_FLOW)
    flow[L.NW_SRC] = 0x0A010203
    assert m.matches(flow)
    flow[L.NW_SRC] = 0x0B010203
    assert not m.matches(flow)
    wider = Match().with_field(field_by_name("ip_src"), 0x0A000000, 0xFE000000)
    assert wider.covers(m) and not m.covers(wider)


def test_every_field_round_trips_through_slots():
    for f in FIELDS.values():
        flow = list(L.EMPTY_FLOW)
        v = (0x5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A & f.full_mask) | 1 & f.full_mask
        f.set(flow, v)
        assert f.get(flow) == v & f.full_mask, f.name
