"""Error codes per version, and fuzzing: random and mutated messages only ever raise
``OFPError`` (the codec) or ``RemoteProtocolError`` (the connection's framing)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvswitch.errors import OFPError, RemoteProtocolError
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.codec import decode
from pyvswitch.openflow.connection import NEED_DATA, ConnectionClosed, OFConnection
from pyvswitch.openflow.errors import (
    ErrorCode,
    canonical_name,
    decode_error_body,
    encode_error,
    error_code,
    error_name,
)

from .vectors import ALL

NX = 0x2320


@pytest.mark.parametrize("name,v10,v13", [
    ("OFPBMC_BAD_PREREQ", ErrorCode(NX, 1, 260), ErrorCode(0, 4, 9)),
    ("OFPBAC_BAD_ARGUMENT", ErrorCode(0, 2, 5), ErrorCode(0, 2, 5)),
    ("OFPFMFC_OVERLAP", ErrorCode(0, 3, 1), ErrorCode(0, 5, 3)),
    ("OFPBRC_BAD_TABLE_ID", ErrorCode(NX, 1, 512), ErrorCode(0, 1, 9)),
    ("OFPBAC_MATCH_INCONSISTENT", ErrorCode(NX, 1, 522), ErrorCode(0, 2, 10)),
    ("OFPFMFC_BAD_TABLE_ID", ErrorCode(NX, 1, 521), ErrorCode(0, 5, 2)),
    ("NXBRC_NXM_INVALID", ErrorCode(NX, 1, 256), ErrorCode(NX, 2, 0)),
    ("OFPBFC_MSG_FAILED", ErrorCode(NX, 1, 521), ErrorCode(0x4F4E4600, 2313, 0)),
    ("OFPHFC_INCOMPATIBLE", ErrorCode(0, 0, 0), ErrorCode(0, 0, 0)),
])
def test_error_codes_per_version(name, v10, v13):
    assert error_code(name, 1) == v10
    assert error_code(name, 4) == v13


def test_error_wire_forms():
    req = bytes.fromhex("0412000800000003")
    assert encode_error("OFPBMC_BAD_PREREQ", 1, 3, req).hex() == (
        "0101001c00000003" "b0c2000000002320" "00010104" + req.hex())
    assert encode_error("OFPBMC_BAD_PREREQ", 4, 3, req).hex() == (
        "0401001400000003" "00040009" + req.hex())
    assert encode_error("NXBRC_NXM_INVALID", 4, 3).hex() == "0401001000000003ffff000200002320"
    assert encode_error(OFPError("OFPERR_OFPFMFC_OVERLAP"), 1, 3)[8:12].hex() == "00030001"
    big = encode_error("OFPBRC_BAD_LEN", 4, 3, bytes(70000))
    assert len(big) == 0xFFFF and struct.unpack_from("!H", big, 2)[0] == 0xFFFF
    for version in (1, 4, 5):
        for name in ("OFPBMC_BAD_PREREQ", "OFPBRC_BAD_LEN", "OFPGMFC_GROUP_EXISTS"):
            data = encode_error(name, version, 1, b"abc")
            ec, rest = decode_error_body(version, data[8:])
            assert rest == b"abc"
            assert error_name(version, ec) == canonical_name(name)


def test_names_and_aliases():
    assert canonical_name("OFPERR_OFPBRC_BAD_EXPERIMENTER") == "OFPBRC_BAD_VENDOR"
    assert error_code("OFPBAC_BAD_EXP_TYPE", 4) == error_code("OFPBAC_BAD_VENDOR_TYPE", 4)
    assert error_code("NO_SUCH_ERROR", 4) == error_code("NXBRC_UNENCODABLE_ERROR", 4)
    received = decode(encode_error("OFPGMFC_UNKNOWN_GROUP", 4, 9, b"xy"))
    assert received == M.Error(6, 8, b"xy", 0, "OFPGMFC_UNKNOWN_GROUP")


# ----------------------------------------------------------------------------- fuzzing
SAMPLES = [m.data for m in ALL]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([1, 4, 5, 2]), st.integers(0, 40), st.binary(max_size=120),
       st.sampled_from([None, 0x2320, 0x4F4E4600]), st.integers(0, 50))
def test_random_messages_only_raise_ofp_errors(version, mtype, body, vendor, subtype):
    if vendor is not None:
        body = struct.pack("!II", vendor, subtype) + body
    data = struct.pack("!BBHI", version, mtype, 8 + len(body), 1) + body
    try:
        decode(data, M.SessionState(flow_mod_table_id=bool(subtype & 1)))
    except OFPError:
        pass


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLES), st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 255)),
                                          max_size=4),
       st.integers(-16, 16))
def test_mutated_vector_messages_only_raise_ofp_errors(sample, flips, resize):
    data = bytearray(sample)
    for pos, value in flips:
        if len(data) > 8:
            data[8 + pos % (len(data) - 8)] = value
    if resize > 0:
        data += bytes(resize)
    elif resize < 0:
        del data[max(8, len(data) + resize):]
    struct.pack_into("!H", data, 2, len(data))
    try:
        decode(bytes(data))
    except OFPError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(SAMPLES[:200]))
def test_random_streams_only_raise_framing_errors(noise, sample):
    conn = OFConnection("switch")
    conn.initiate()
    conn.receive_data(bytes.fromhex("0100000800000001") + sample + noise)
    conn.receive_data(b"")
    try:
        for _ in range(1000):
            e = conn.next_event()
            if e is NEED_DATA or isinstance(e, ConnectionClosed):
                break
    except RemoteProtocolError:
        pass
    conn.data_to_send()
