"""The TFTP helper: opcodes and the expectation's destination port."""

import pytest
from scapy.layers.tftp import TFTP, TFTP_ACK, TFTP_DATA, TFTP_ERROR, TFTP_RRQ, TFTP_WRQ

from pyvswitch.conntrack.alg_tftp import (
    TFTP_PORT,
    TftpOpcode,
    is_tftp_request,
    parse_tftp_opcode,
    tftp_expectation_port,
)


@pytest.mark.parametrize(
    ("layer", "opcode", "is_request"),
    [
        (TFTP() / TFTP_RRQ(filename=b"boot.img", mode=b"octet"), TftpOpcode.RRQ, True),
        (TFTP() / TFTP_WRQ(filename=b"up.txt", mode=b"netascii"), TftpOpcode.WRQ, True),
        (TFTP() / TFTP_DATA(block=1) / b"abc", TftpOpcode.DATA, False),
        (TFTP() / TFTP_ACK(block=1), TftpOpcode.ACK, False),
        (TFTP() / TFTP_ERROR(errorcode=1, errormsg=b"nope"), TftpOpcode.ERROR, False),
    ],
)
def test_opcodes_from_scapy_packets(layer, opcode, is_request):
    payload = bytes(layer)
    assert parse_tftp_opcode(payload) is opcode
    assert is_tftp_request(payload) is is_request


@pytest.mark.parametrize("payload", [b"", b"\x00", b"\x00\x07rest", b"\x01\x01"])
def test_not_tftp(payload):
    assert parse_tftp_opcode(payload) is None
    assert not is_tftp_request(payload)


def test_request_needs_a_file_name():
    assert not is_tftp_request(b"\x00\x01no-terminator")


def test_expectation_port_is_the_client_request_port():
    # conntrack.md 8.2: dst port of the expectation = P.FWD.src port.
    assert tftp_expectation_port(40001) == 40001
    assert TFTP_PORT == 69
