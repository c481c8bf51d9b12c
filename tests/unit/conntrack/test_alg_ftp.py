"""The FTP ALG helpers: parsing as OVS's conntrack does, NAT rewrite, sequence skew."""

import ipaddress
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from pyvswitch.conntrack.alg_ftp import (
    INVALID,
    FtpKind,
    FtpMessage,
    adjust_ack,
    adjust_seq,
    apply_seq_skew,
    fix_tcp_checksum,
    format_ipv6,
    ftp_address_allowed,
    ftp_nat_address,
    parse_ftp_message,
    parse_ipv4,
    parse_ipv6,
    rewrite_ftp_address,
    rewrite_ftp_packet,
    tcp_payload_offset,
)
from pyvswitch.packet.headers import ETH_TYPE_IP, ETH_TYPE_IPV6, l3_offset, l4_offset


def v4(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def v6(text: str) -> int:
    return int(ipaddress.IPv6Address(text))


CLIENT = v4("198.51.100.1")
SERVER = v4("198.51.100.2")
SNAT = v4("203.0.113.240")

# (payload, ipv6, kind, address, port, address text) -- address text locates the span.
VALID = [
    (b"PORT 198,51,100,1,4,1\r\n", False, FtpKind.PORT, CLIENT, 4 * 256 + 1, b"198,51,100,1"),
    (b"port 198,51,100,1,4,1\r\n", False, FtpKind.PORT, CLIENT, 1025, b"198,51,100,1"),
    (b"PoRt 198,51,100,1,255,255\r\n", False, FtpKind.PORT, CLIENT, 65535, b"198,51,100,1"),
    (b"PORT 198,51,100,1,0,0\r\n", False, FtpKind.PORT, CLIENT, 0, b"198,51,100,1"),
    # p1 may have four digits (OVS's loop bound), p2 any number of digits.
    (b"PORT 198,51,100,1,0004,00001\r\n", False, FtpKind.PORT, CLIENT, 1025, b"198,51,100,1"),
    # Anything that is neither digit nor dot ends the address; anything separates p1, p2.
    (b"PORT 198,51,100,1 4x1\r\n", False, FtpKind.PORT, CLIENT, 1025, b"198,51,100,1"),
    # A fifth number is read as p1: OVS keeps only four octets.
    (b"PORT 198,51,100,1,9,4,1\r\n", False, FtpKind.PORT, CLIENT, 9 * 256 + 4, b"198,51,100,1"),
    (
        b"227 Entering Passive Mode (198,51,100,2,156,64).\r\n",
        False,
        FtpKind.PASV,
        SERVER,
        156 * 256 + 64,
        b"198,51,100,2",
    ),
    (b"227 =198,51,100,2,1,2\r\n", False, FtpKind.PASV, SERVER, 258, b"198,51,100,2"),
    (b"229 Entering Extended Passive Mode (|||6446|)\r\n", False, FtpKind.EPSV, None, 6446, None),
    (b"229 x (|||065535|)\r\n", False, FtpKind.EPSV, None, 65535, None),
    (b"EPRT |1|198.51.100.1|5282|\r\n", False, FtpKind.EPRT, CLIENT, 5282, b"198.51.100.1"),
    (b"eprt |1|198.51.100.1|5282|\r\n", False, FtpKind.EPRT, CLIENT, 5282, b"198.51.100.1"),
    (
        b"EPRT |2|2001:db8::1|5282|\r\n",
        True,
        FtpKind.EPRT,
        v6("2001:db8::1"),
        5282,
        b"2001:db8::1",
    ),
    (
        b"EPRT |2|2001:DB8:0:0:0:0:0:1|1|\r\n",
        True,
        FtpKind.EPRT,
        v6("2001:db8::1"),
        1,
        b"2001:DB8:0:0:0:0:0:1",
    ),
    (
        b"EPRT |2|::ffff:198.51.100.1|21000|\r\n",
        True,
        FtpKind.EPRT,
        v6("::ffff:198.51.100.1"),
        21000,
        b"::ffff:198.51.100.1",
    ),
    (b"229 Entering Extended Passive Mode (|||6446|)\r\n", True, FtpKind.EPSV, None, 6446, None),
    # IPv6: "EXTENDED PASSIVE" anywhere, any case; the port is the first number after "(".
    (b"150 extended passive 7 (|||6446|)\r\n", True, FtpKind.EPSV, None, 6446, None),
    # Extended ports: only the first six digits are read (OVS's loop bound).
    (b"229 x (|||0065535|)\r\n", False, FtpKind.EPSV, None, 6553, None),
]


@pytest.mark.parametrize(("payload", "ipv6", "kind", "addr", "port", "text"), VALID)
def test_valid_messages(payload, ipv6, kind, addr, port, text):
    msg = parse_ftp_message(payload, False, ipv6)
    assert isinstance(msg, FtpMessage)
    assert (msg.kind, msg.addr, msg.port, msg.ipv6) == (kind, addr, port, ipv6)
    if text is None:
        assert msg.addr_span is None
    else:
        start = payload.index(text)
        assert msg.addr_span == (start, start + len(text))


INVALID_CASES = [
    (b"PORT 198,51,100,1,256,1\r\n", False),  # p1 > 255
    (b"PORT 198,51,100,1,4,256\r\n", False),  # p2 > 255
    (b"PORT 198,51,100,1,00004,1\r\n", False),  # p1 with five digits
    (b"PORT 198,51,100,1,4\r\n", False),  # no p2
    (b"PORT 198,51,100,1,4,\r\n", False),
    (b"PORT 198,51,100,1\r\n", False),
    (b"PORT 198,051,100,1,4,1\r\n", False),  # leading zero: inet_pton refuses
    (b"PORT 198,51,100,256,4,1\r\n", False),
    (b"PORT 198.51.100.1,4,1\r\n", False),  # dots and commas: more than 4 parts
    (b"PORT 198,51,100,4,1\r\n", False),  # only 5 numbers: p2 missing
    (b"PORT\r\n", False),  # no space
    (b"PORTX\r\n", False),
    (b"PORT abc\r\n", False),  # no digit
    (b"PORT 198,51,100,1,4,1", False),  # the last byte is never looked at
    (b"227 Entering Passive Mode (198,51,100,2)\r\n", False),
    (b"227 Entering Passive Mode\r\n", False),
    (b"229 Entering Extended Passive Mode (|||65536|)\r\n", False),
    (b"229 x (|||7", False),  # the port is the last byte, which is never looked at
    (b"229\r\n", False),
    (b"EPRT |2|198.51.100.1|5282|\r\n", False),  # wrong family for IPv4
    (b"EPRT |12|198.51.100.1|5282|\r\n", False),
    (b"EPRT |1|198.51.100|5282|\r\n", False),
    (b"EPRT |1|198.51.100.1|70000|\r\n", False),
    (b"EPRT |1|198.51.100.1||\r\n", False),
    (b"EPRT |1|2001:db8::1|5282|\r\n", True),  # wrong family for IPv6
    (b"EPRT |2|2001:db8:::1|5282|\r\n", True),
    (b"EPRT |2|2001:db8::1|65536|\r\n", True),
    (b"EPRT |2|2001:db8::1|\r\n", True),
    (b"229 Entering Extended Passive Mode (|||x|)\r\n", True),
    (b"229 Extended Passive Mode\r\n", True),
    (b"500 Extended Passive 12345\r\n", True),  # the port is looked for after "("
]


@pytest.mark.parametrize(("payload", "ipv6"), INVALID_CASES)
def test_invalid_messages(payload, ipv6):
    assert parse_ftp_message(payload, False, ipv6) is INVALID


UNRELATED = [
    (b"", False),
    (b"USER anonymous\r\n", False),
    (b"200 PORT command successful.\r\n", False),
    (b"230 Login successful.\r\n", False),
    (b" PORT 198,51,100,1,4,1\r\n", False),  # prefixes must open the payload
    (b"P\r\n", False),
    (b"PORT 2001:db8::1\r\n", True),  # IPv6 knows only EPRT and EXTENDED PASSIVE
    (b"227 Entering Passive Mode (198,51,100,2,1,2)\r\n", True),
    (b"229 Entering Extended Passive Mode (|||6446|)\r\n"[:4], True),
    (b"EXTENDED PASSIVE\r\n", False),  # IPv4 only recognises the 229 code
    (b"EPRX |2|2001:db8::1|1|\r\n", True),
]


@pytest.mark.parametrize(("payload", "ipv6"), UNRELATED)
def test_unrelated_payloads(payload, ipv6):
    assert parse_ftp_message(payload, False, ipv6) is None


def test_only_the_first_127_bytes_count():
    head = b"229 Entering Extended Passive Mode (|||"
    filler = b" " * (127 - len(head) - 4)
    inside = head + filler + b"6446|)\r\n"  # port digits 123..126: "6446"
    msg = parse_ftp_message(inside, False, False)
    assert isinstance(msg, FtpMessage) and msg.port == 6446
    late = head + filler + b"    6446|)\r\n"  # the digits start past byte 127
    assert parse_ftp_message(late, False, False) is INVALID
    # A NUL ends the C string OVS parses.
    assert parse_ftp_message(b"229 x (|||\x006446|)\r\n", False, False) is INVALID


def test_direction_is_recorded_not_used():
    request = parse_ftp_message(b"PORT 198,51,100,1,4,1\r\n", True, False)
    assert isinstance(request, FtpMessage) and request.reply and request.port == 1025


def test_address_checks_and_nat_address():
    port = parse_ftp_message(b"PORT 198,51,100,1,4,1\r\n", False, False)
    pasv = parse_ftp_message(b"227 x (198,51,100,2,4,1)\r\n", True, False)
    epsv = parse_ftp_message(b"229 x (|||4000|)\r\n", True, False)
    assert isinstance(port, FtpMessage) and isinstance(pasv, FtpMessage)
    assert isinstance(epsv, FtpMessage)
    other = v4("203.0.113.9")
    # SNAT'ed client: FWD client->server, REV server->SNAT address.
    fwd_src, fwd_dst, rev_src, rev_dst = CLIENT, SERVER, SERVER, SNAT
    assert ftp_address_allowed(port, fwd_src, fwd_dst, rev_src, rev_dst)
    assert ftp_nat_address(port, fwd_dst, rev_dst) == SNAT
    assert not ftp_address_allowed(port, other, fwd_dst, rev_src, rev_dst)
    assert ftp_address_allowed(port, other, fwd_dst, rev_src, CLIENT)  # NAT'ed counterpart
    assert ftp_address_allowed(pasv, fwd_src, fwd_dst, rev_src, rev_dst)
    assert ftp_nat_address(pasv, fwd_dst, rev_dst) == SERVER
    assert not ftp_address_allowed(pasv, fwd_src, other, other, rev_dst)
    assert ftp_address_allowed(epsv, other, other, other, other)


@pytest.mark.parametrize(
    ("payload", "ipv6", "new", "expected"),
    [
        (
            b"PORT 198,51,100,1,4,1\r\n",
            False,
            SNAT,
            b"PORT 203,0,113,240,4,1\r\n",
        ),
        (
            b"227 Entering Passive Mode (198,51,100,2,156,64).\r\n",
            False,
            v4("203.0.113.7"),
            b"227 Entering Passive Mode (203,0,113,7,156,64).\r\n",
        ),
        (
            b"EPRT |1|198.51.100.1|5282|\r\n",
            False,
            SNAT,
            b"EPRT |1|203.0.113.240|5282|\r\n",
        ),
        (
            b"EPRT |2|2001:db8::1|5282|\r\n",
            True,
            v6("2001:db8:0:0:1:0:0:99"),
            b"EPRT |2|2001:db8::1:0:0:99|5282|\r\n",
        ),
        (
            b"229 Entering Extended Passive Mode (|||6446|)\r\n",
            False,
            SNAT,
            b"229 Entering Extended Passive Mode (|||6446|)\r\n",
        ),
    ],
)
def test_rewrite_formats(payload, ipv6, new, expected):
    msg = parse_ftp_message(payload, False, ipv6)
    assert isinstance(msg, FtpMessage)
    out, delta = rewrite_ftp_address(payload, msg, new)
    assert out == expected
    assert delta == len(expected) - len(payload)


def test_rewrite_delta_example_from_spec():
    # conntrack.md 8.4: "10,1,1,1" -> "10,1,1,240" is +2; same shape in our ranges.
    msg = parse_ftp_message(b"PORT 198,51,100,1,4,1\r\n", False, False)
    assert isinstance(msg, FtpMessage)
    assert rewrite_ftp_address(b"PORT 198,51,100,1,4,1\r\n", msg, v4("198.51.100.240"))[1] == 2


TEST_V4 = st.one_of(
    st.integers(0, 255).map(lambda n: v4("198.51.100.0") + n),
    st.integers(0, 255).map(lambda n: v4("203.0.113.0") + n),
)
TEST_V6 = st.integers(0, (1 << 96) - 1).map(lambda n: v6("2001:db8::") | n)


@settings(max_examples=200, deadline=None)
@given(old=TEST_V4, new=TEST_V4, port=st.integers(0, 65535), style=st.sampled_from("PCE"))
def test_rewrite_round_trip_v4(old, new, port, style):
    dotted = str(ipaddress.IPv4Address(old))
    if style == "P":
        payload = f"PORT {dotted.replace('.', ',')},{port >> 8},{port & 255}\r\n".encode()
    elif style == "C":
        payload = f"227 Passive ({dotted.replace('.', ',')},{port >> 8},{port & 255})\r\n".encode()
    else:
        payload = f"EPRT |1|{dotted}|{port}|\r\n".encode()
    msg = parse_ftp_message(payload, False, False)
    assert isinstance(msg, FtpMessage) and msg.addr == old and msg.port == port
    out, delta = rewrite_ftp_address(payload, msg, new)
    assert len(out) == len(payload) + delta
    again = parse_ftp_message(out, False, False)
    assert isinstance(again, FtpMessage)
    assert (again.kind, again.addr, again.port) == (msg.kind, new, port)


@settings(max_examples=200, deadline=None)
@given(old=TEST_V6, new=TEST_V6, port=st.integers(0, 65535))
def test_rewrite_round_trip_v6(old, new, port):
    payload = f"EPRT |2|{ipaddress.IPv6Address(old)}|{port}|\r\n".encode()
    msg = parse_ftp_message(payload, False, True)
    assert isinstance(msg, FtpMessage) and msg.addr == old and msg.port == port
    out, delta = rewrite_ftp_address(payload, msg, new)
    assert len(out) == len(payload) + delta
    again = parse_ftp_message(out, False, True)
    assert isinstance(again, FtpMessage) and (again.addr, again.port) == (new, port)
    assert out[again.addr_span[0] : again.addr_span[1]] == format_ipv6(new).encode()


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=200), ipv6=st.booleans())
def test_parser_never_raises(payload, ipv6):
    msg = parse_ftp_message(payload, False, ipv6)
    assert msg is None or msg is INVALID or isinstance(msg, FtpMessage)


_PREFIXES = [b"PORT ", b"EPRT |1|", b"EPRT |2|", b"227 (", b"229 (|||", b"Extended passive ("]


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(_PREFIXES),
    tail=st.text(alphabet="0123456789,.|:()abcdef ", max_size=40).map(str.encode),
    ipv6=st.booleans(),
)
def test_spans_point_at_the_address(prefix, tail, ipv6):
    payload = prefix + tail + b"\r\n"
    msg = parse_ftp_message(payload, False, ipv6)
    if isinstance(msg, FtpMessage) and msg.addr_span is not None:
        start, end = msg.addr_span
        text = payload[start:end]
        if ipv6:
            assert parse_ipv6(text) == msg.addr
        else:
            assert parse_ipv4(text.replace(b",", b".")) == msg.addr
        assert 0 <= msg.port <= 65535


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEF:.", max_size=30))
def test_ipv6_text_parsing_matches_inet_pton(suffix):
    text = "2001:db8:" + suffix
    try:
        expected = int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except OSError:
        expected = None
    assert parse_ipv6(text.encode()) == expected


@pytest.mark.parametrize(
    "text", ["", ":", ":::", "2001:db8::1::", "2001:db8:1:2:3:4:5:6:7", "1.2.3", "::g"]
)
def test_ipv6_text_rejects(text):
    assert parse_ipv6(text.encode()) is None


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from([0, 0, 0, 1, 0xFFFF, 0xDB8, 0x2001]), min_size=6, max_size=6),
    st.booleans(),
)
def test_ipv6_formatting_matches_inet_ntop(words, mapped):
    if mapped:  # ::ffff:198.51.100.x and ::198.51.100.x forms
        value = (words[5] & 0xFFFF) << 32 | v4("198.51.100.7")
    else:
        value = v6("2001:db8::")
        for i, w in enumerate(words):
            value |= w << (16 * (5 - i))
    expected = socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))
    assert format_ipv6(value) == expected


def test_ipv4_text_parsing():
    assert parse_ipv4(b"198.51.100.1") == CLIENT
    for bad in (b"198.51.100", b"198.51.100.1.", b"198.51.100.01", b"198.51.100.256", b""):
        assert parse_ipv4(bad) is None


def test_sequence_arithmetic_wraps():
    assert adjust_seq(0xFFFFFFFF, 2) == 1
    assert adjust_seq(100, -2) == 98
    assert adjust_ack(1, 2) == 0xFFFFFFFF
    assert adjust_ack(100, -3) == 103


def _frame(ipv6: bool, payload: bytes, seq: int = 1000, ack: int = 2000) -> bytearray:
    if ipv6:
        net = IPv6(src="2001:db8::1", dst="2001:db8::2")
    else:
        net = IP(src="198.51.100.1", dst="198.51.100.2")
    pkt = Ether() / net / TCP(sport=40000, dport=21, seq=seq, ack=ack, flags="PA") / Raw(payload)
    return bytearray(bytes(pkt))


@pytest.mark.parametrize("ipv6", [False, True])
def test_packet_rewrite_keeps_headers_consistent(ipv6):
    if ipv6:
        payload, new = b"EPRT |2|2001:db8::1|5282|\r\n", v6("2001:db8:ffff::abcd")
    else:
        payload, new = b"PORT 198,51,100,1,4,1\r\n", SNAT
    pkt = _frame(ipv6, payload)
    before = len(pkt)
    l3, eth_type = l3_offset(pkt)
    l4 = l4_offset(pkt, l3, eth_type)[0]
    data = tcp_payload_offset(pkt, l4)
    msg = parse_ftp_message(pkt[data:], False, ipv6)
    assert isinstance(msg, FtpMessage)
    delta = rewrite_ftp_packet(pkt, l3, l4, eth_type, msg, new)
    expected_payload, expected_delta = rewrite_ftp_address(payload, msg, new)
    assert delta == expected_delta
    assert len(pkt) == before + delta
    apply_seq_skew(pkt, l4, 5, True)
    end = len(pkt)
    fix_tcp_checksum(pkt, l3, l4, end, ETH_TYPE_IPV6 if ipv6 else ETH_TYPE_IP)
    parsed = Ether(bytes(pkt))
    assert bytes(parsed[TCP].payload) == expected_payload
    assert parsed[TCP].seq == 1005 and parsed[TCP].ack == 2000
    # Rebuilding with lengths and checksums recomputed by scapy must change nothing.
    rebuilt = parsed.copy()
    if ipv6:
        del rebuilt[IPv6].plen
    else:
        del rebuilt[IP].len
        del rebuilt[IP].chksum
    del rebuilt[TCP].chksum
    assert bytes(rebuilt) == bytes(pkt)


def test_ack_adjustment_in_the_other_direction():
    pkt = _frame(False, b"200 ok\r\n", seq=7, ack=3)
    l3, eth_type = l3_offset(pkt)
    l4 = l4_offset(pkt, l3, eth_type)[0]
    apply_seq_skew(pkt, l4, 5, False)
    apply_seq_skew(pkt, l4, 0, True)  # no skew: untouched
    parsed = Ether(bytes(pkt))
    assert (parsed[TCP].seq, parsed[TCP].ack) == (7, (3 - 5) & 0xFFFFFFFF)
