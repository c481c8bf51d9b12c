"""Scalar values of the flow syntax: C-style numbers, addresses, ports, flag sets,
fragment types, the key/value tokenizer.  IPv6 is checked against the C library's own
``inet_ntop``/``inet_pton`` (which is what OVS prints and reads with)."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyvswitch.errors import ParseError
from pyvswitch.flow import layout as L
from pyvswitch.flow.values import (
    IntSyntaxError,
    atoi,
    format_flags,
    format_flags_masked,
    format_frag,
    format_hex_bytes,
    format_ipv4_masked,
    format_ipv6,
    format_ipv6_masked,
    format_mac_masked,
    format_output_port,
    format_port,
    inet_pton6,
    iter_kv,
    parse_flags,
    parse_frag,
    parse_hex_bytes,
    parse_int_string,
    parse_ipv4,
    parse_ipv4_masked,
    parse_ipv6_masked,
    parse_mac_masked,
    parse_port,
    str_to_u16,
    str_to_u32,
    str_to_u64,
    strtoull,
)

# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(("text", "value", "end"), [
    ("0x10", 16, 4), ("010", 8, 3), ("10", 10, 2), ("-1", 2**64 - 1, 2),
    ("  12abc", 12, 4), ("0x", 0, 1), ("0xg", 0, 1), ("+7", 7, 2), ("09", 0, 1),
    ("18446744073709551615", 2**64 - 1, 20),
])
def test_strtoull_is_c_strtoull(text, value, end):
    assert strtoull(text)[:2] == (value, end)


def test_strtoull_overflow_and_empty():
    assert strtoull("18446744073709551616")[2] is True
    assert strtoull("")[0] is None
    assert strtoull("zz")[0] is None


def test_str_to_helpers():
    assert str_to_u16("0x10", "priority") == 16
    assert str_to_u16("010", "priority") == 8
    with pytest.raises(ParseError, match='invalid priority "65536"'):
        str_to_u16("65536", "priority")
    with pytest.raises(ParseError, match='invalid priority "-1"'):
        str_to_u16("-1", "priority")
    assert str_to_u64("-1") == 2**64 - 1
    assert str_to_u32("0x100000001") == 1  # C truncation into 32 bits
    with pytest.raises(ParseError, match="missing required numeric argument"):
        str_to_u64("")
    with pytest.raises(ParseError, match="invalid numeric format 12x"):
        str_to_u64("12x")
    assert atoi("  42abc") == 42 and atoi("abc") == 0 and atoi("-3") == -3


def test_parse_int_string():
    assert parse_int_string("0x00000000000000000001", 1) == (1, 22)
    assert parse_int_string("0x1 2", 2) == (0x12, 5)  # OVS skips blanks between hexits
    assert parse_int_string("255", 1) == (255, 3)
    with pytest.raises(IntSyntaxError) as e:
        parse_int_string("256", 1)
    assert e.value.too_large
    with pytest.raises(IntSyntaxError) as e:
        parse_int_string("0x100", 1)
    assert e.value.too_large
    with pytest.raises(IntSyntaxError) as e:
        parse_int_string("x", 1)
    assert not e.value.too_large


# ----------------------------------------------------------------------------- addresses
_WORDS = st.lists(st.one_of(st.just(0), st.just(0xFFFF), st.integers(0, 0xFFFF)),
                  min_size=8, max_size=8)


@given(_WORDS)
def test_format_ipv6_is_glibc_inet_ntop(words):
    v = 0
    for w in words:
        v = (v << 16) | w
    assert format_ipv6(v) == socket.inet_ntop(socket.AF_INET6, v.to_bytes(16, "big"))


@given(_WORDS)
def test_inet_pton6_reads_what_inet_ntop_prints(words):
    v = 0
    for w in words:
        v = (v << 16) | w
    text = socket.inet_ntop(socket.AF_INET6, v.to_bytes(16, "big"))
    assert inet_pton6(text) == v
    assert inet_pton6(text.upper()) == v


@given(st.text(alphabet="0123456789abcdef:.", max_size=24))
def test_inet_pton6_accepts_what_libc_accepts(text):
    try:
        expected = int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except OSError:
        expected = None
    assert inet_pton6(text) == expected


@pytest.mark.parametrize(("text", "out"), [
    ("2001:db8::/64", "2001:db8::/64"),
    ("2001:db8::1", "2001:db8::1"),
    ("2001:db8::/ffff::ffff", "2001::/ffff::ffff"),
    ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
    ("fe80::/10", "fe80::/10"),
    ("::/0", "::/0"),
])
def test_ipv6_masked_round_trip(text, out):
    assert format_ipv6_masked(*_premask(parse_ipv6_masked(text))) == out


def _premask(vm):
    return vm[0] & vm[1], vm[1]


@pytest.mark.parametrize(("text", "out"), [
    ("10.0.0.1", "10.0.0.1"), ("10.0.0.0/8", "10.0.0.0/8"),
    ("10.1.2.3/255.255.0.0", "10.1.0.0/16"), ("10.0.0.0/255.0.255.0", "10.0.0.0/255.0.255.0"),
    ("0.0.0.0/0", "0.0.0.0/0"), ("10.0.0.300", "10.0.0.44"),
])
def test_ipv4_masked(text, out):
    assert format_ipv4_masked(*_premask(parse_ipv4_masked(text))) == out


def test_ipv4_errors():
    with pytest.raises(ParseError, match="10.0.0.1/33: IPv4 network prefix bits not between"):
        parse_ipv4_masked("10.0.0.1/33")
    with pytest.raises(ParseError, match="10.0.0: invalid IP address"):
        parse_ipv4_masked("10.0.0")
    with pytest.raises(ParseError, match="01.2.3.4: could not convert to IP address"):
        parse_ipv4("01.2.3.4")
    assert parse_ipv4("198.51.100.7") == 0xC6336407


def test_mac():
    v, m = parse_mac_masked("01:00:00:00:00:00/01:00:00:00:00:00")
    assert format_mac_masked(v, m) == "01:00:00:00:00:00/01:00:00:00:00:00"
    assert format_mac_masked(*parse_mac_masked("0:1:2:a:B:c")) == "00:01:02:0a:0b:0c"
    with pytest.raises(ParseError, match="00:11: invalid Ethernet address"):
        parse_mac_masked("00:11")


# ----------------------------------------------------------------------------- ports
def test_ports():
    assert parse_port("LOCAL") == 0xFFFE and parse_port("local") == 0xFFFE
    assert parse_port("in_port") == 0xFFF8 and parse_port("NONE") == 0xFFFF
    assert parse_port("4294967294") == 0xFFFE  # OpenFlow 1.1 LOCAL
    assert parse_port("65536") is None and parse_port("-1") is None
    assert parse_port("0x10") is None  # ports are decimal
    assert parse_port("vin", {"vin": 7}) == 7
    assert parse_port('"my port"', {"my port": 9}) == 9
    assert parse_port("vin") is None
    assert format_port(0xFFFF) == "ANY" and format_port(0xFFFA) == "NORMAL"
    assert format_port(7, {7: "vin"}) == "vin"
    assert format_port(9, {9: "my port"}) == '"my port"'
    assert format_port(9, {9: "9p"}) == '"9p"'
    assert format_output_port(3) == "output:3"
    assert format_output_port(0xFFFC) == "ALL"
    assert format_output_port(0xFF00) == "65280"


# ----------------------------------------------------------------------------- flags
@given(st.integers(0, 0xFF), st.integers(1, 0xFF))
def test_ct_state_masked_round_trip(flags, mask):
    flags &= mask
    text = format_flags_masked(flags, mask, L.CT_STATE_NAMES, 0xFF)
    value, m = parse_flags(text, L.CT_STATE_NAMES, 0xFF, "ct_state")
    assert (value, 0xFF if m is None else m) == (flags, mask)


@given(st.integers(0, 0xFFF), st.integers(1, 0xFFF))
def test_tcp_flags_masked_round_trip(flags, mask):
    flags &= mask
    text = format_flags_masked(flags, mask, L.TCP_FLAG_NAMES, 0xFFF)
    value, m = parse_flags(text, L.TCP_FLAG_NAMES, 0xFFF, "TCP")
    assert (value, 0xFFF if m is None else m) == (flags, mask)


def test_flag_syntax():
    names = L.CT_STATE_NAMES
    assert parse_flags("+trk-new", names, 0xFF, "ct_state") == (0x20, 0x21)
    assert parse_flags("0x22/0x23", names, 0xFF, "ct_state") == (0x22, 0x23)
    assert parse_flags("new|trk", names, 0xFF, "ct_state") == (0x21, None)
    assert parse_flags("0x21", names, 0xFF, "ct_state") == (0x21, None)
    assert parse_flags("new|0x20", names, 0xFF, "ct_state") == (0x21, None)
    assert format_flags(0x21, names) == "new|trk" and format_flags(0, names) == "0"
    assert format_flags_masked(0x20, 0x31, names, 0xFF) == "-new-inv+trk"
    with pytest.raises(ParseError, match=r"^foo: unknown ct_state flag\(s\)$"):
        parse_flags("+trk+foo", names, 0xFF, "ct_state")
    with pytest.raises(ParseError, match="trk: Each ct_state flag can be specified only once"):
        parse_flags("+trk+trk", names, 0xFF, "ct_state")


@pytest.mark.parametrize("name", ["no", "yes", "first", "later", "not_later"])
def test_frag_round_trip(name):
    assert format_frag(*parse_frag(name)) == name


# ----------------------------------------------------------------------------- tokenizer
@pytest.mark.parametrize(("text", "pairs"), [
    ("a=1,b:2 c", [("a", "1"), ("b", "2"), ("c", "")]),
    ("ct(commit,exec(set_field:1->ct_mark)),output:2",
     [("ct", "commit,exec(set_field:1->ct_mark)"), ("output", "2")]),
    ("load(0x1)->NXM_NX_REG0[],x", [("load", "0x1)->NXM_NX_REG0[]"), ("x", "")]),
    ("  ,, a  , b=c(d,e),", [("a", ""), ("b", "c(d,e)")]),
    ("resubmit(,3)", [("resubmit", ",3")]),
    ("note:(", [("note", "(")]),
])
def test_iter_kv(text, pairs):
    assert [(k, v) for k, v, _ in iter_kv(text)] == pairs


def test_hex_bytes():
    assert parse_hex_bytes("01.02 0304") == (b"\x01\x02\x03\x04", "")
    assert parse_hex_bytes("0102x") == (b"\x01\x02", "x")
    assert format_hex_bytes(b"\x01\xab") == "01.ab"
