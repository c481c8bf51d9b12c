"""Actions and instructions: the spelling chosen per version, the spelling kept on
decoding, the errors OVS reports for bad actions, and random round trips."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.errors import OFPError
from pyvswitch.flow import ofpacts as A
from pyvswitch.flow.actions_text import format_actions, parse_actions
from pyvswitch.flow.fields import FIELDS
from pyvswitch.flow.match_text import parse_match
from pyvswitch.openflow.actions import decode_actions, encode_actions
from pyvswitch.openflow.instructions import (
    decode_flow_actions,
    decode_instructions,
    encode_flow_actions,
    encode_instructions,
)

from .gen import random_actions_text, random_match_text


def wire(text: str, version: int, match: str = "") -> bytes:
    return encode_flow_actions(parse_actions(text), version, parse_match(match)[0])


def back(text: str, version: int, match: str = "") -> str:
    """ovs-ofctl text -> our encoding -> our decoding -> text."""
    return format_actions(decode_flow_actions(wire(text, version, match), version))


def types(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        t, n = struct.unpack_from("!HH", data, pos)
        out.append(t if t != 0xFFFF else -struct.unpack_from("!H", data, pos + 8)[0])
        pos += n
    return out


# ----------------------------------------------------------------------------- spellings
@pytest.mark.parametrize("text,v10,v13", [
    ("set_field:198.51.100.1->ip_dst", "mod_nw_dst:198.51.100.1",
     "set_field:198.51.100.1->ip_dst"),
    ("mod_nw_dst:198.51.100.1", "mod_nw_dst:198.51.100.1", "set_field:198.51.100.1->ip_dst"),
    ("set_field:0x5->reg3", "load:0x5->NXM_NX_REG3[]", "set_field:0x5->reg3"),
    ("load:0x5->NXM_NX_REG3[]", "load:0x5->NXM_NX_REG3[]", "load:0x5->NXM_NX_REG3[]"),
    ("ct(commit,exec(set_field:0xabc/0xfff->ct_label))",
     "ct(commit,exec(load:0xabc->NXM_NX_CT_LABEL[0..11]))",
     "ct(commit,exec(load:0xabc->NXM_NX_CT_LABEL[0..11]))"),
    ("ct(commit,exec(set_field:0x1->ct_mark))", "ct(commit,exec(load:0x1->NXM_NX_CT_MARK[]))",
     "ct(commit,exec(set_field:0x1->ct_mark))"),
    ("strip_vlan", "strip_vlan", "pop_vlan"),
    ("mod_nw_tos:32", "mod_nw_tos:32", "set_field:8->ip_dscp"),
    ("dec_ttl", "dec_ttl", "dec_ttl"),
    ("dec_ttl(1,2)", "dec_ttl(1,2)", "dec_ttl(1,2)"),
    ("group:5", "group:5", "group:5"),
    ("CONTROLLER:65535", "CONTROLLER:65535", "CONTROLLER:65535"),
    ("controller(reason=no_match,max_len=128)", "controller(reason=no_match,max_len=128)",
     "controller(reason=no_match,max_len=128)"),
    ("controller(userdata=01.02,pause)", "controller(userdata=01.02,pause)",
     "controller(userdata=01.02,pause)"),
    ("mod_nw_ttl:9", "load:0x9->NXM_NX_IP_TTL[]", "mod_nw_ttl:9"),
    ("resubmit:3", "resubmit:3", "resubmit:3"),
    ("resubmit(,3,ct)", "resubmit(,3,ct)", "resubmit(,3,ct)"),
    ("output:NXM_NX_REG1[0..15]", "output:NXM_NX_REG1[0..15]", "output:NXM_NX_REG1[0..15]"),
    ("note:01.02", "note:01.02.00.00.00.00", "note:01.02.00.00.00.00"),
    ("exit", "exit", "exit"),
    ("ct_clear", "ct_clear", "ct_clear"),
    ("ct(commit,zone=NXM_NX_REG0[0..15],alg=ftp)", "ct(commit,zone=NXM_NX_REG0[0..15],alg=ftp)",
     "ct(commit,zone=NXM_NX_REG0[0..15],alg=ftp)"),
    ("ct(commit,nat(src=198.51.100.1-198.51.100.5:1000-2000,persistent,hash))",
     "ct(commit,nat(src=198.51.100.1-198.51.100.5:1000-2000,persistent,hash))",
     "ct(commit,nat(src=198.51.100.1-198.51.100.5:1000-2000,persistent,hash))"),
    ("ct(commit,nat(dst=[2001:db8::1]-[2001:db8::9]:80))",
     "ct(commit,nat(dst=[2001:db8::1]-[2001:db8::9]:80))",
     "ct(commit,nat(dst=[2001:db8::1]-[2001:db8::9]:80))"),
    ("learn(table=10,idle_timeout=5,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],"
     "load:0x7->NXM_NX_REG0[0..2],output:NXM_OF_IN_PORT[])", None, None),
    ("learn(table=1,limit=10,result_dst=NXM_NX_REG0[3],NXM_OF_IN_PORT[])", None, None),
    ("write_metadata:0x10/0xff", "write_metadata:0x10/0xff", "write_metadata:0x10/0xff"),
    ("goto_table:7", "resubmit(,7)", "goto_table:7"),
])
def test_spelling_per_version(text, v10, v13):
    assert back(text, 1) == (v10 or text)
    assert back(text, 4) == (v13 or text)


def test_mod_tp_uses_the_flow_protocol_in_openflow13():
    assert back("mod_tp_dst:8080", 4, "tcp") == "set_field:8080->tcp_dst"
    assert back("mod_tp_dst:8080", 4, "udp") == "set_field:8080->udp_dst"
    assert back("mod_tp_src:9", 4, "sctp") == "set_field:9->sctp_src"
    assert back("mod_tp_dst:8080", 4, "ip") == "mod_tp_dst:8080"
    assert back("mod_tp_dst:8080", 1, "tcp") == "mod_tp_dst:8080"


def test_mod_vlan_vid_pushes_a_tag_only_when_the_flow_has_none():
    assert back("mod_vlan_vid:40", 4, "dl_vlan=30") == "set_field:4136->vlan_vid"
    assert back("mod_vlan_vid:40", 4) == "push_vlan:0x8100,set_field:4136->vlan_vid"
    assert back("mod_vlan_vid:40", 1) == "mod_vlan_vid:40"
    assert back("push_vlan:0x8100,mod_vlan_vid:40", 4) == \
        "push_vlan:0x8100,set_field:4136->vlan_vid"
    assert back("push_vlan:0x8100,mod_vlan_vid:40", 1) == "mod_vlan_vid:40"


def test_instructions_in_openflow13_and_their_nicira_forms_in_10():
    text = "output:1,clear_actions,write_actions(output:2),write_metadata:0x1/0xff,goto_table:5"
    assert types(wire("output:1", 4)) == [4]
    inst = wire(text, 4)
    assert types(inst) == [4, 5, 3, 2, 1]
    assert format_actions(decode_instructions(inst, 4)) == text
    assert types(wire(text, 1)) == [0, -22, -14]  # output, NX write_metadata, NX resubmit
    assert wire("drop", 4) == b"" and wire("drop", 1) == b""


def test_spec_examples():
    """The byte layouts shared/spec/openflow.md 4.2 and 4.3 give."""
    data = wire("ct(commit,zone=1),output:2", 4)
    assert data.hex() == ("0004003000000000"
                          "ffff00180000232000230001000000000001ff0000000000"
                          "00000010000000020000000000000000")
    dnat = wire("ct(commit,nat(dst=10.0.0.10:8080))", 4)[8 + 24:]
    assert dnat.hex() == "ffff00180000232000240000000200110a00000a1f900000"
    snat = wire("ct(commit,nat(src=192.168.0.1-192.168.0.5:1000-2000,random))", 4)[8 + 24:]
    assert struct.unpack_from("!H", snat, 2)[0] == 32
    assert struct.unpack_from("!HH", snat, 12) == (0x11, 0x33)
    zone = wire("ct(commit,zone=NXM_NX_REG0[0..15])", 4)[8:]
    assert struct.unpack_from("!IH", zone, 12) == (0x00010004, 0x000F)


# ----------------------------------------------------------------------------- errors
def _err(data: bytes, version: int = 4, instructions: bool = False) -> str:
    with pytest.raises(OFPError) as e:
        if instructions:
            decode_instructions(data, version)
        else:
            decode_actions(data, version)
    return e.value.name


def nx(subtype: int, body: bytes) -> bytes:
    n = 10 + len(body)
    n += (8 - n % 8) % 8
    return struct.pack("!HHIH", 0xFFFF, n, 0x2320, subtype) + body + bytes(n - 10 - len(body))


OUT2 = struct.pack("!HHIH6x", 0, 16, 2, 0)


@pytest.mark.parametrize("data,version,name", [
    (struct.pack("!HH4x", 99, 8), 4, "OFPBAC_BAD_TYPE"),
    (struct.pack("!HH4x", 12, 8), 1, "OFPBAC_BAD_TYPE"),
    (struct.pack("!HH", 0, 12) + bytes(8), 4, "OFPBAC_BAD_LEN"),
    (struct.pack("!HH", 0, 8) + bytes(4), 4, "OFPBAC_BAD_LEN"),
    (OUT2[:12], 4, "OFPBAC_BAD_LEN"),
    (struct.pack("!HHIH6x", 0xFFFF, 16, 0x1234, 1), 4, "OFPBAC_BAD_VENDOR"),
    (nx(99, bytes(6)), 4, "OFPBAC_BAD_VENDOR_TYPE"),
    (nx(99, bytes(6)), 1, "OFPBAC_BAD_VENDOR_TYPE"),
    (struct.pack("!HHIH6x", 0, 16, 0xFFFFFFFF, 0), 4, "OFPBAC_BAD_OUT_PORT"),
    (struct.pack("!HHHH", 0, 8, 0xFFFF, 0), 1, "OFPBAC_BAD_OUT_PORT"),
    (struct.pack("!HHH2x", 1, 8, 0x1000), 1, "OFPBAC_BAD_ARGUMENT"),
    (struct.pack("!HHB3x", 8, 8, 3), 1, "OFPBAC_BAD_ARGUMENT"),
    (struct.pack("!HHH2x", 17, 8, 0x0800), 4, "OFPBAC_BAD_ARGUMENT"),
])
def test_bad_actions(data, version, name):
    assert _err(data, version) == name


def test_bad_set_field_actions():
    def set_field(code: bytes, value: bytes) -> bytes:
        n = 4 + len(code) + len(value)
        n += (8 - n % 8) % 8
        return struct.pack("!HH", 25, n) + code + value + bytes(n - 4 - len(code) - len(value))
    ok = set_field(bytes.fromhex("80000c02"), b"\x10\x05")
    assert decode_actions(ok, 4) == (A.SetField(FIELDS["vlan_vid"], 0x1005, 0x1FFF),)
    assert _err(set_field(bytes.fromhex("80000c02"), b"\x00\x05")) == "OFPBAC_BAD_SET_ARGUMENT"
    assert _err(set_field(bytes.fromhex("80000d04"), b"\x10\x05\xff\xff")) == \
        "OFPBAC_BAD_SET_MASK"
    assert _err(set_field(bytes.fromhex("80000a02"), b"\x08\x00")) == "OFPBAC_BAD_SET_ARGUMENT"
    assert _err(set_field(bytes.fromhex("80000004"), b"\x00\x00\x00\x01")) == \
        "OFPBAC_BAD_SET_ARGUMENT"
    assert _err(set_field(bytes.fromhex("8000ff04"), bytes(4))) == "OFPBAC_BAD_SET_TYPE"
    assert _err(set_field(bytes.fromhex("0001d604"), bytes(4))) == "OFPBAC_BAD_SET_ARGUMENT"


def test_bad_nicira_actions():
    reg0 = FIELDS["reg0"].nxm.header()
    # reg_load: bits 30..33 of a 32-bit register; a value wider than 4 bits
    assert _err(nx(7, struct.pack("!HIQ", (30 << 6) | 3, reg0, 1))) == "OFPBAC_BAD_SET_LEN"
    assert _err(nx(7, struct.pack("!HIQ", 3, reg0, 0x10))) == "OFPBAC_BAD_ARGUMENT"
    eth_type = FIELDS["eth_type"].nxm.header()
    assert _err(nx(7, struct.pack("!HIQ", 15, eth_type, 1))) == "OFPBAC_BAD_SET_ARGUMENT"
    assert _err(nx(7, struct.pack("!HIQ", 15, 0x0001FE04, 1))) == "OFPBAC_BAD_SET_TYPE"
    assert _err(nx(14, struct.pack("!HB3s", 1, 2, b"\x00\x01\x00"))) == "OFPBAC_BAD_ARGUMENT"
    assert _err(nx(6, struct.pack("!HHHII", 8, 30, 0, reg0, reg0))) == "OFPBAC_BAD_SET_LEN"


def test_bad_ct_actions():
    output = struct.pack("!HHIH6x", 0, 16, 2, 0)
    ct = struct.pack("!HIHB3xH", 1, 0, 1, 0xFF, 0)
    assert _err(nx(35, ct + output)) == "OFPBAC_BAD_ARGUMENT"
    mark = wire("ct(commit,exec(set_field:0x1->ct_mark))", 4)[8 + 24:]
    no_commit = struct.pack("!HIHB3xH", 0, 0, 1, 0xFF, 0)
    assert _err(nx(35, no_commit + mark)) == "OFPBAC_BAD_ARGUMENT"
    nat = wire("ct(commit,nat(src=198.51.100.1))", 4)[8 + 24:]
    assert _err(nx(35, no_commit + nat)) == "OFPBAC_BAD_ARGUMENT"
    bare_nat = wire("ct(nat)", 4)[8 + 24:]
    assert decode_actions(nx(35, no_commit + bare_nat), 4)[0].nat == A.Nat()
    force = struct.pack("!HIHB3xH", 2, 0, 1, 0xFF, 0)
    assert _err(nx(35, force)) == "OFPBAC_BAD_ARGUMENT"
    assert _err(nat) == "OFPBAC_BAD_SET_ARGUMENT"
    assert _err(mark) == "OFPBAC_BAD_SET_ARGUMENT"
    both = struct.pack("!2xHH", 3, 0)
    assert _err(nx(36, both)) == "OFPBAC_BAD_ARGUMENT"
    ports_without_addr = struct.pack("!2xHHH", 1, 0x10, 80)
    assert _err(nx(36, ports_without_addr)) == "OFPBAC_BAD_ARGUMENT"


def test_bad_instructions():
    goto = struct.pack("!HHB3x", 1, 8, 5)
    assert _err(goto + goto, instructions=True) == "OFPBIC_DUP_INST"
    assert _err(struct.pack("!HH4x", 9, 8), instructions=True) == "OFPBIC_UNKNOWN_INST"
    assert _err(struct.pack("!HH4x", 1, 16) + bytes(8), instructions=True) == "OFPBIC_BAD_LEN"
    assert _err(struct.pack("!HH", 4, 12) + bytes(8), instructions=True) == "OFPBIC_BAD_LEN"
    assert _err(struct.pack("!HHI", 0xFFFF, 8, 1), instructions=True) == \
        "OFPBIC_BAD_EXPERIMENTER"
    write = encode_instructions(parse_actions("write_actions(output:1)"), 4)
    apply = encode_instructions(parse_actions("output:2"), 4)
    ordered = decode_instructions(write + apply + goto, 4)
    assert format_actions(ordered) == "output:2,write_actions(output:1),goto_table:5"


# ----------------------------------------------------------------------------- round trips
@settings(max_examples=150, deadline=None)
@given(st.randoms(use_true_random=False), st.sampled_from([1, 4]))
def test_random_actions_round_trip(rnd, version):
    match, proto = random_match_text(rnd)
    text = random_actions_text(rnd, match, proto, version, rnd.randrange(200))
    m = parse_match(match)[0]
    data = encode_flow_actions(parse_actions(text), version, m)
    decoded = decode_flow_actions(data, version)
    assert encode_flow_actions(decoded, version, m) == data
    assert decode_flow_actions(encode_flow_actions(decoded, version, m), version) == decoded
    assert encode_actions((), version) == b""
