"""Actions: what each spelling is stored as and prints as, the parse-time rules of
``ofpacts_verify``, and ``parse(format(a)) == a`` for generated action lists."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.errors import ParseError
from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.actions_text import format_action, format_actions, parse_actions
from pyvswitch.flow.field_text import has_nxm_header
from pyvswitch.flow.fields import FIELDS
from pyvswitch.types import OFPP_CONTROLLER, OFPP_LOCAL


def _rt(text: str, port_map=None, port_names=None) -> str:
    return format_actions(parse_actions(text, port_map), port_names)


@pytest.mark.parametrize(("text", "out"), [
    ("", "drop"), ("drop", "drop"),
    ("2,LOCAL,normal,in_port,TABLE", "output:2,LOCAL,NORMAL,IN_PORT,TABLE"),
    ("CONTROLLER,controller:7,controller()", "CONTROLLER:65535,CONTROLLER:7,CONTROLLER:65535"),
    ("controller(reason=no_match)", "controller(reason=no_match)"),
    ("mod_nw_ecn:2,mod_nw_ttl:9,set_nw_ttl:3", "mod_nw_ecn:2,mod_nw_ttl:9,mod_nw_ttl:3"),
    ("set_vlan_vid:5,set_vlan_pcp:1,mod_vlan_pcp:2",
     "set_vlan_vid:5,set_vlan_pcp:1,mod_vlan_pcp:2"),
    ("pop_vlan,strip_vlan", "pop_vlan,strip_vlan"),
    ("write_actions(drop)", "write_actions(drop)"),
    ("resubmit(1,,ct)", "resubmit:1"),  # OVS prints it so too
    ("resubmit(in_port,2)", "resubmit(,2)"),
    ("dec_ttl()", "dec_ttl"),
    ("dec_ttl(0)", "dec_ttl(0)"),
    ("load:0x0->NXM_NX_REG0[]", "load:0->NXM_NX_REG0[]"),
    ("set_field:0->reg0", "set_field:0->reg0"),
    ("set_field:80->tp_dst", "set_field:80->tcp_dst"),
    ("set_field:LOCAL->in_port", "set_field:LOCAL->in_port"),
    ("set_field:1->in_port_oxm", "set_field:1->in_port_oxm"),
    ("set_field:+syn->tcp_flags", None),
    ("ct(commit,exec(set_field:1->ct_mark),nat)", "ct(commit,exec(set_field:0x1->ct_mark,nat))"),
    ("ct(zone=0x10,commit,table=3,alg=tftp)", "ct(commit,table=3,zone=16,alg=tftp)"),
    ("ct(zone=0)", "ct()"),
    ("ct,ct()", "ct(),ct()"),
    ("ct(commit,nat(src=[2001:db8::1]:80))", "ct(commit,nat(src=[2001:db8::1]:80))"),
    ("ct(commit,nat(src=2001:db8::1-2001:db8::1))", "ct(commit,nat(src=2001:db8::1))"),
    ("ct(commit,nat(src=10.0.0.1:0-5))", "ct(commit,nat(src=10.0.0.1))"),
    ("ct(commit,nat(src,persistent))", "ct(commit,nat(src))"),
    ("learn(table=1,in_port=3)", "learn(table=1,in_port=3)"),
    ("learn(NXM_NX_REG0[0..3]=0x0)", "learn(table=1,NXM_NX_REG0[0..3]=0)"),
    ("learn(load:0->NXM_NX_REG0[0..3])", "learn(table=1,load:0->NXM_NX_REG0[0..3])"),
    ("note:", "note:"),
    ("exit,ct_clear", "exit,ct_clear"),
    ("group:4294967295", "group:4294967295"),
    ("meter:2,clear_actions,write_metadata:0/0", "meter:2,clear_actions,write_metadata:0/0"),
])
def test_round_trip_text(text, out):
    if out is None:
        with pytest.raises(ParseError):
            parse_actions(text)
        return
    assert _rt(text) == out


def test_stored_spellings():
    """What each spelling becomes, as the module docstring promises the codec."""
    assert parse_actions("CONTROLLER:9") == (A.Output(OFPP_CONTROLLER, 9),)
    assert parse_actions("output:CONTROLLER") == (A.Output(OFPP_CONTROLLER, 0xFFFF),)
    assert parse_actions("controller(max_len=5)") == (A.Output(OFPP_CONTROLLER, 5),)
    assert parse_actions("load:0x3->NXM_NX_REG1[4..7]") == (
        A.SetField(FIELDS["reg1"], 0x30, 0xF0, A.SetRaw.LOAD),)
    assert parse_actions("set_field:0x3/0xf->reg1") == (
        A.SetField(FIELDS["reg1"], 3, 0xF, A.SetRaw.SET_FIELD),)
    assert parse_actions("mod_nw_tos:0x20") == (
        A.SetField(FIELDS["nw_tos"], 0x20, 0xFC, A.SetRaw.MOD_NW_TOS),)
    assert parse_actions("mod_tp_src:5") == (
        A.SetField(FIELDS["tp_src"], 5, 0xFFFF, A.SetRaw.MOD_TP_SRC),)
    assert parse_actions("mod_vlan_vid:5,set_vlan_vid:6") == (A.SetVlanVid(5, True),
                                                              A.SetVlanVid(6, False))
    assert parse_actions("mod_nw_ttl:4") == (A.SetIPTtl(4),)
    assert parse_actions("strip_vlan") == (A.PopVlan(A.PopVlanRaw.STRIP_VLAN),)
    assert parse_actions("resubmit:3") == (A.Resubmit(3, None),)
    assert parse_actions("output:p1", {"p1": 1}) == (A.Output(1),)
    assert parse_actions("drop") == ()
    ct = parse_actions("ct(commit,zone=NXM_NX_REG0[0..15],nat(dst=10.0.0.1:80))")[0]
    assert ct.zone_src == A.SubField(FIELDS["reg0"], 0, 16)
    assert ct.nat == A.Nat(A.NAT_F_DST, False, 0x0A000001, None, 80, None)


def test_format_of_codec_spellings():
    """Spellings only the OpenFlow codec produces still print as OVS prints them."""
    reg1 = FIELDS["reg1"]
    assert format_action(A.SetField(reg1, 0xF00F, 0xF00F, A.SetRaw.LOAD)) == \
        "load:0xf->NXM_NX_REG1[0..3],load:0xf->NXM_NX_REG1[12..15]"
    assert format_action(A.SetField(FIELDS["ip_dscp"], 8, 0x3F, A.SetRaw.MOD_NW_TOS)) == \
        "mod_nw_tos:32"
    assert format_action(A.SetField(FIELDS["vlan_vid"], 0x1005, 0x1FFF,
                                    A.SetRaw.MOD_VLAN_VID)) == "mod_vlan_vid:5"
    assert format_action(A.SetField(FIELDS["nw_ttl"], 7, 0xFF, A.SetRaw.MOD_NW_TTL)) == \
        "mod_nw_ttl:7"
    assert format_action(A.Controller(max_len=100)) == "CONTROLLER:100"
    assert format_action(A.Output(OFPP_LOCAL)) == "LOCAL"
    assert format_action(A.Output(5), {5: "vin"}) == "output:vin"
    assert format_action(A.Drop()) == "drop"


@pytest.mark.parametrize(("text", "error"), [
    ("ct(commit,exec(ct_clear))", "ct action doesn't support nested action ct_clear"),
    ("ct(commit,exec(mod_nw_ttl:3))", "ct action doesn't support nested action mod_nw_ttl"),
    ("ct(exec(move:NXM_NX_REG0[]->NXM_NX_REG1[]))",
     "ct action doesn't support nested modification of reg1"),
    ("move:NXM_NX_REG0[]->NXM_NX_CT_MARK[]", "cannot set CT fields outside of ct action"),
    ("write_actions(nat)", 'Cannot have NAT action outside of "ct" action'),
    ("write_actions(meter:1)", "write_actions action doesn't support nested action meter"),
    ("write_metadata:1,write_actions(output:1)",
     "invalid instruction ordering: write_actions must appear before write_metadata, "
     "for OpenFlow 1.1+ compatibility"),
    ("output:1,meter:1", "invalid instruction ordering: meter must appear before "
                         "apply_actions, for OpenFlow 1.1+ compatibility"),
    ("bundle(eth_src,0,hrw,ofport,members:1)", "action bundle is not supported"),
    ("output(port=1,max_len=100)", "action output_trunc is not supported"),
    ("frob", "unknown action frob"),
])
def test_errors(text, error):
    with pytest.raises(ParseError) as e:
        parse_actions(text)
    assert str(e.value) == error


def test_instructions_not_allowed_for_packet_out():
    with pytest.raises(ParseError, match="goto_table instruction not allowed here"):
        parse_actions("goto_table:1", allow_instructions=False)
    assert parse_actions("meter:1,output:1", allow_instructions=False)


def test_nesting_depth_is_limited():
    text = "write_actions(" * 101 + ")" * 101
    with pytest.raises(ParseError):
        parse_actions(text)


# ----------------------------------------------------------------------------- round trip
_PORTS = st.one_of(st.integers(1, 0xFEFF),
                   st.sampled_from([0xFFF8, 0xFFF9, 0xFFFA, 0xFFFB, 0xFFFC, 0xFFFE]))
# (tp_src/tp_dst read back as tcp_src/tcp_dst, as in OVS; ct_mark/ct_label may only be
# written inside ct(exec(...)))
_SUBFIELD_FIELDS = sorted(n for n in FIELDS
                          if n not in ("tp_src", "tp_dst", "ct_mark", "ct_label"))


_LEARNABLE = [n for n in _SUBFIELD_FIELDS if has_nxm_header(FIELDS[n])]


@st.composite
def subfields(draw, n_bits=None, names=_SUBFIELD_FIELDS):
    f = FIELDS[draw(st.sampled_from(names))]
    if n_bits is None:
        n_bits = draw(st.integers(1, f.nbits))
    if n_bits > f.nbits:
        f = FIELDS["xxreg0"]
    ofs = draw(st.integers(0, f.nbits - n_bits))
    return A.SubField(f, ofs, n_bits)


@st.composite
def loads(draw, fields=None):
    """Loads of up to 64 bits: OVS prints wider ones as several ``load:``."""
    sf = draw(subfields(draw(st.integers(1, 64)))) if fields is None else A.SubField(
        FIELDS[draw(st.sampled_from(fields))], 0, 0)
    if fields is not None:
        n = draw(st.integers(1, min(64, sf.field.nbits)))
        sf = A.SubField(sf.field, draw(st.integers(0, sf.field.nbits - n)), n)
    value = draw(st.integers(0, (1 << sf.n_bits) - 1))
    return A.SetField(sf.field, value << sf.ofs, sf.mask, A.SetRaw.LOAD)


_SETTABLE = sorted(n for n, f in FIELDS.items() if f.writable and n in _SUBFIELD_FIELDS)
_VALID = {"nw_tos": 0xFC, "dl_vlan": 0xFFF, "vlan_vid": 0x1FFF}


@st.composite
def set_fields(draw, names=_SETTABLE):
    f = FIELDS[draw(st.sampled_from(names))]
    full = f.full_mask
    value = draw(st.integers(0, full)) & _VALID.get(f.name, full)
    if f.fmt.name.startswith("OFP_PORT"):
        value = draw(_PORTS)
    mask = full
    if f.maskable and draw(st.booleans()):
        mask = draw(st.integers(1, full))
    return A.SetField(f, value & mask, mask, A.SetRaw.SET_FIELD)


def _moves(draw_sf):
    return st.integers(1, 32).flatmap(lambda n: st.tuples(subfields(n), subfields(n))).map(
        lambda t: A.Move(*t))


_CT_FIELDS = ["ct_mark", "ct_label"]


@st.composite
def nats(draw):
    kind = draw(st.sampled_from([0, A.NAT_F_SRC, A.NAT_F_DST]))
    if not kind:
        return A.Nat()
    if not draw(st.booleans()):
        return A.Nat(kind)
    ipv6 = draw(st.booleans())
    top = (1 << 128) - 1 if ipv6 else 0xFFFFFFFF
    lo = draw(st.integers(1, top - 1))
    hi = draw(st.one_of(st.none(), st.integers(lo + 1, top)))
    plo = draw(st.one_of(st.none(), st.integers(1, 0xFFFE)))
    phi = None if plo is None else draw(st.one_of(st.none(), st.integers(plo + 1, 0xFFFF)))
    flags = kind | draw(st.sampled_from([0, A.NAT_F_PERSISTENT])) | draw(
        st.sampled_from([0, A.NAT_F_PROTO_HASH, A.NAT_F_PROTO_RANDOM]))
    return A.Nat(flags, ipv6, lo, hi, plo, phi)


@st.composite
def cts(draw):
    flags = draw(st.sampled_from([0, A.CT_F_COMMIT, A.CT_F_COMMIT | A.CT_F_FORCE]))
    zone_src = draw(st.one_of(st.none(), subfields(16)))
    inner = []
    if draw(st.booleans()):
        inner.append(draw(nats()))
    inner += draw(st.lists(st.one_of(set_fields(_CT_FIELDS), loads(_CT_FIELDS)), max_size=2))
    return A.Ct(flags=flags, zone_imm=0 if zone_src else draw(st.integers(0, 0xFFFF)),
                zone_src=zone_src, recirc_table=draw(st.sampled_from([255, 0, 7])),
                alg=draw(st.sampled_from([0, 21, 69])), actions=tuple(inner))


@st.composite
def controllers(draw):
    c = A.Controller(max_len=draw(st.integers(0, 0xFFFF)),
                     reason=draw(st.sampled_from(list(A.ControllerReason))),
                     controller_id=draw(st.integers(0, 0xFFFF)),
                     userdata=draw(st.binary(max_size=4)), pause=draw(st.booleans()),
                     meter_id=draw(st.sampled_from([0xFFFFFFFF, 0, 7])), nx_form=True)
    if (c.reason is A.ControllerReason.ACTION and not c.controller_id and not c.userdata
            and not c.pause and c.meter_id == 0xFFFFFFFF):
        return A.Output(OFPP_CONTROLLER, c.max_len)
    return c


@st.composite
def learns(draw):
    specs = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["match", "match_imm", "load", "load_imm", "output"]))
        if kind == "output":
            src = draw(subfields(names=_LEARNABLE))
            specs.append(A.LearnSpec("output", src, 0, None, src.n_bits))
            continue
        dst = draw(subfields(names=_LEARNABLE))
        if kind.endswith("imm"):
            imm = draw(st.integers(0, (1 << dst.n_bits) - 1))
            if kind == "match_imm" and dst.is_whole and dst.field.fmt.name.startswith("OFP"):
                imm = draw(_PORTS) & ((1 << dst.n_bits) - 1)
            specs.append(A.LearnSpec(kind[:-4], None, imm, dst, dst.n_bits))
        else:
            src = draw(subfields(dst.n_bits, _LEARNABLE))
            specs.append(A.LearnSpec(kind, src, 0, dst, dst.n_bits))
    return A.Learn(table_id=draw(st.integers(0, 254)), priority=draw(st.integers(0, 0xFFFF)),
                   idle_timeout=draw(st.integers(0, 0xFFFF)),
                   hard_timeout=draw(st.integers(0, 9)), fin_idle_timeout=draw(
                       st.integers(0, 9)), fin_hard_timeout=draw(st.integers(0, 9)),
                   cookie=draw(st.integers(0, 2**64 - 1)),
                   flags=draw(st.sampled_from([0, 1, 2, 3])), specs=tuple(specs),
                   limit=draw(st.integers(0, 5)))


_PLAIN = st.one_of(
    _PORTS.map(A.Output), subfields().map(lambda sf: A.OutputReg(sf, 0xFFFF)),
    st.integers(0, 0xFFFF).map(lambda n: A.Output(OFPP_CONTROLLER, n)), controllers(),
    st.integers(0, 2**32 - 1).map(A.Group),
    st.tuples(st.integers(1, 0xFEFF), st.integers(0, 2**32 - 1)).map(lambda t: A.Enqueue(*t)),
    st.integers(0, 2**32 - 1).map(A.SetQueue), st.just(A.Exit()), st.just(A.CtClear()),
    st.binary(max_size=6).map(A.Note), set_fields(), loads(), _moves(None),
    st.tuples(st.one_of(st.none(), _PORTS.filter(lambda p: p != 0xFFF8)),
              st.one_of(st.none(), st.integers(0, 254)), st.booleans())
    .filter(lambda t: t[1] is not None or (t[0] is not None and not t[2])
            ).map(lambda t: A.Resubmit(*t)),
    st.just(A.DecTtl()), st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=3).map(
        lambda ids: A.DecTtl(tuple(ids), True)),
    st.integers(0, 255).map(A.SetIPTtl), st.sampled_from([0x8100, 0x88A8]).map(A.PushVlan),
    st.sampled_from(list(A.PopVlanRaw)).map(A.PopVlan),
    st.tuples(st.integers(0, 0xFFF), st.booleans()).map(lambda t: A.SetVlanVid(*t)),
    st.tuples(st.integers(0, 7), st.booleans()).map(lambda t: A.SetVlanPcp(*t)),
    cts(), learns(),
)


@st.composite
def action_lists(draw):
    acts = []
    if draw(st.booleans()):
        acts.append(A.Meter(draw(st.integers(0, 2**32 - 1))))
    acts += draw(st.lists(_PLAIN, max_size=5))
    if draw(st.booleans()):
        acts.append(A.ClearActions())
    if draw(st.booleans()):
        acts.append(A.WriteActions(tuple(draw(st.lists(_PLAIN, max_size=3)))))
    if draw(st.booleans()):
        acts.append(A.WriteMetadata(draw(st.integers(0, 2**64 - 1)),
                                    draw(st.integers(0, 2**64 - 1))))
    if draw(st.booleans()):
        acts.append(A.GotoTable(draw(st.integers(0, 254))))
    return tuple(acts)


@settings(max_examples=400, deadline=None)
@given(action_lists())
def test_parse_format_round_trip(acts):
    text = format_actions(acts)
    assert parse_actions(text) == acts, text
