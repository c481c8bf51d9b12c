"""OpenFlow error names and their (type, code) in each OpenFlow version we speak.

The semantic layers raise :class:`~pyvswitch.errors.OFPError` with a symbolic OVS name
("OFPBMC_BAD_PREREQ", "OFPFMFC_OVERLAP"...).  What goes on the wire depends on the
negotiated version: a standard ``type/code`` pair, a Nicira vendor error in OpenFlow 1.0
(error type 0xb0c2, then vendor id, type and code), or an experimenter error in 1.2+
(error type 0xffff, code = experimenter type, then the experimenter id).  A name with no
encoding in a version is sent as NXBRC_UNENCODABLE_ERROR, as OVS does.

:data:`_SPEC` lists, per name, ``VERSION:ENCODING`` items: ``T/C`` a standard error,
``nx/T/C`` (1.0) or ``nx/C`` (1.2+) a Nicira one, ``onf/C`` an ONF one.

Layer: openflow.  Imports: errors, openflow.consts, openflow.header.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pyvswitch.errors import OFPError
from pyvswitch.openflow.consts import (
    NX_VENDOR_ID,
    NXET_VENDOR,
    NXVC_VENDOR_ERROR,
    OFP10_VERSION,
    OFP13_VERSION,
    OFP14_VERSION,
    OFPET_EXPERIMENTER,
    OFPT,
    ONF_VENDOR_ID,
    wire_type,
)
from pyvswitch.openflow.header import HEADER

_SPEC: dict[str, str] = {
    "OFPHFC_INCOMPATIBLE": "10:0/0 13:0/0 14:0/0",
    "OFPHFC_EPERM": "10:0/1 13:0/1 14:0/1",
    "OFPBRC_BAD_VERSION": "10:1/0 13:1/0 14:1/0",
    "OFPBRC_BAD_TYPE": "10:1/1 13:1/1 14:1/1",
    "OFPBRC_BAD_STAT": "10:1/2 13:1/2 14:1/2",
    "OFPBRC_BAD_VENDOR": "10:1/3 13:1/3 14:1/3",
    "OFPBRC_BAD_SUBTYPE": "10:1/4 13:1/4 14:1/4",
    "OFPBRC_EPERM": "10:1/5 13:1/5 14:1/5",
    "OFPBRC_BAD_LEN": "10:1/6 13:1/6 14:1/6",
    "OFPBRC_BUFFER_EMPTY": "10:1/7 13:1/7 14:1/7",
    "OFPBRC_BUFFER_UNKNOWN": "10:1/8 13:1/8 14:1/8",
    "OFPBRC_BAD_TABLE_ID": "10:nx/1/512 13:1/9 14:1/9",
    "OFPBRC_IS_SECONDARY": "10:1/5 13:1/10 14:1/10",
    "OFPBRC_BAD_PORT": "10:nx/1/514 13:1/11 14:1/11",
    "OFPBRC_BAD_PACKET": "13:1/12 14:1/12",
    "OFPBRC_MULTIPART_BUFFER_OVERFLOW": "13:1/13 14:1/13",
    "OFPBRC_MULTIPART_REQUEST_TIMEOUT": "13:onf/2640 14:1/14",
    "OFPBRC_MULTIPART_REPLY_TIMEOUT": "13:onf/2641 14:1/15",
    "NXBRC_NXM_INVALID": "10:nx/1/256 13:nx/2 14:nx/2",
    "NXBRC_NXM_BAD_TYPE": "10:nx/1/257 13:nx/3 14:nx/3",
    "NXBRC_MUST_BE_ZERO": "10:nx/1/515 13:nx/4 14:nx/4",
    "NXBRC_BAD_REASON": "10:nx/1/516 13:nx/5 14:nx/5",
    "NXBRC_FM_BAD_EVENT": "10:nx/1/520 13:nx/9 14:nx/9",
    "NXBRC_UNENCODABLE_ERROR": "10:nx/1/521 13:nx/10 14:nx/10",
    "OFPBAC_BAD_TYPE": "10:2/0 13:2/0 14:2/0",
    "OFPBAC_BAD_LEN": "10:2/1 13:2/1 14:2/1",
    "OFPBAC_BAD_VENDOR": "10:2/2 13:2/2 14:2/2",
    "OFPBAC_BAD_VENDOR_TYPE": "10:2/3 13:2/3 14:2/3",
    "OFPBAC_BAD_OUT_PORT": "10:2/4 13:2/4 14:2/4",
    "OFPBAC_BAD_ARGUMENT": "10:2/5 13:2/5 14:2/5",
    "OFPBAC_EPERM": "10:2/6 13:2/6 14:2/6",
    "OFPBAC_TOO_MANY": "10:2/7 13:2/7 14:2/7",
    "OFPBAC_BAD_QUEUE": "10:2/8 13:2/8 14:2/8",
    "OFPBAC_BAD_OUT_GROUP": "10:nx/2/9 13:2/9 14:2/9",
    "OFPBAC_MATCH_INCONSISTENT": "10:nx/1/522 13:2/10 14:2/10",
    "OFPBAC_UNSUPPORTED_ORDER": "13:2/11 14:2/11",
    "OFPBAC_BAD_TAG": "13:2/12 14:2/12",
    "OFPBAC_BAD_SET_TYPE": "10:nx/1/523 13:2/13 14:2/13",
    "OFPBAC_BAD_SET_LEN": "10:nx/1/524 13:2/14 14:2/14",
    "OFPBAC_BAD_SET_ARGUMENT": "10:nx/1/525 13:2/15 14:2/15",
    "OFPBAC_BAD_SET_MASK": "13:onf/4250 14:onf/4250",
    "NXBAC_MUST_BE_ZERO": "10:nx/2/256 13:nx/11 14:nx/11",
    "NXBAC_BAD_CONJUNCTION": "10:nx/2/526 13:nx/15 14:nx/15",
    "NXBAC_BAD_HEADER_TYPE": "13:nx/39 14:nx/39",
    "NXBAC_UNKNOWN_ED_PROP": "13:nx/40 14:nx/40",
    "NXBAC_BAD_ED_PROP": "13:nx/41 14:nx/41",
    "NXBAC_CT_DATAPATH_SUPPORT": "10:nx/1/265 13:nx/42 14:nx/42",
    "OFPBIC_UNKNOWN_INST": "13:3/0 14:3/0",
    "OFPBIC_UNSUP_INST": "10:nx/2/257 13:3/1 14:3/1",
    "OFPBIC_BAD_TABLE_ID": "13:3/2 14:3/2",
    "OFPBIC_UNSUP_METADATA": "13:3/3 14:3/3",
    "OFPBIC_UNSUP_METADATA_MASK": "13:3/4 14:3/4",
    "OFPBIC_BAD_EXPERIMENTER": "13:3/5 14:3/5",
    "OFPBIC_BAD_EXP_TYPE": "13:3/6 14:3/6",
    "OFPBIC_BAD_LEN": "13:3/7 14:3/7",
    "OFPBIC_EPERM": "13:3/8 14:3/8",
    "OFPBIC_DUP_INST": "13:onf/2600 14:3/9",
    "OFPBMC_BAD_TYPE": "13:4/0 14:4/0",
    "OFPBMC_BAD_LEN": "13:4/1 14:4/1",
    "OFPBMC_BAD_TAG": "13:4/2 14:4/2",
    "OFPBMC_BAD_DL_ADDR_MASK": "13:4/3 14:4/3",
    "OFPBMC_BAD_NW_ADDR_MASK": "13:4/4 14:4/4",
    "OFPBMC_BAD_WILDCARDS": "10:nx/1/262 13:4/5 14:4/5",
    "OFPBMC_BAD_FIELD": "10:nx/0/263 13:4/6 14:4/6",
    "OFPBMC_BAD_VALUE": "10:nx/1/258 13:4/7 14:4/7",
    "OFPBMC_BAD_MASK": "10:nx/1/259 13:4/8 14:4/8",
    "OFPBMC_BAD_PREREQ": "10:nx/1/260 13:4/9 14:4/9",
    "OFPBMC_DUP_FIELD": "10:nx/1/261 13:4/10 14:4/10",
    "OFPBMC_EPERM": "13:4/11 14:4/11",
    "NXBMC_CT_DATAPATH_SUPPORT": "10:nx/1/264 13:nx/43 14:nx/43",
    "OFPFMFC_UNKNOWN": "13:5/0 14:5/0",
    "OFPFMFC_TABLE_FULL": "10:3/0 13:5/1 14:5/1",
    "OFPFMFC_BAD_TABLE_ID": "13:5/2 14:5/2",
    "OFPFMFC_OVERLAP": "10:3/1 13:5/3 14:5/3",
    "OFPFMFC_EPERM": "10:3/2 13:5/4 14:5/4",
    "OFPFMFC_BAD_TIMEOUT": "13:5/5 14:5/5",
    "OFPFMFC_BAD_EMERG_TIMEOUT": "10:3/3",
    "OFPFMFC_BAD_COMMAND": "10:3/4 13:5/6 14:5/6",
    "OFPFMFC_BAD_FLAGS": "10:nx/3/258 13:5/7 14:5/7",
    "OFPFMFC_CANT_SYNC": "14:5/8",
    "OFPFMFC_BAD_PRIORITY": "13:onf/2360 14:5/9",
    "OFPFMFC_IS_SYNC": "14:5/10",
    "OFPFMFC_UNSUPPORTED": "10:3/5",
    "NXFMFC_HARDWARE": "10:nx/5/256 13:nx/12 14:nx/12",
    "NXFMFC_BAD_TABLE_ID": "10:nx/5/257 13:nx/13 14:nx/13",
    "NXFMFC_INVALID_TLV_FIELD": "10:nx/1/536 13:nx/37 14:nx/37",
    "OFPGMFC_GROUP_EXISTS": "10:nx/6/0 13:6/0 14:6/0",
    "OFPGMFC_INVALID_GROUP": "10:nx/6/1 13:6/1 14:6/1",
    "OFPGMFC_WEIGHT_UNSUPPORTED": "10:nx/6/2 13:6/2 14:6/2",
    "OFPGMFC_OUT_OF_GROUPS": "10:nx/6/3 13:6/3 14:6/3",
    "OFPGMFC_OUT_OF_BUCKETS": "10:nx/6/4 13:6/4 14:6/4",
    "OFPGMFC_CHAINING_UNSUPPORTED": "10:nx/6/5 13:6/5 14:6/5",
    "OFPGMFC_WATCH_UNSUPPORTED": "10:nx/6/6 13:6/6 14:6/6",
    "OFPGMFC_LOOP": "10:nx/6/7 13:6/7 14:6/7",
    "OFPGMFC_UNKNOWN_GROUP": "10:nx/6/8 13:6/8 14:6/8",
    "OFPGMFC_CHAINED_GROUP": "10:nx/6/9 13:6/9 14:6/9",
    "OFPGMFC_BAD_TYPE": "10:nx/6/10 13:6/10 14:6/10",
    "OFPGMFC_BAD_COMMAND": "10:nx/6/11 13:6/11 14:6/11",
    "OFPGMFC_BAD_BUCKET": "10:nx/6/12 13:6/12 14:6/12",
    "OFPGMFC_BAD_WATCH": "10:nx/6/13 13:6/13 14:6/13",
    "OFPGMFC_EPERM": "10:nx/6/14 13:6/14 14:6/14",
    "OFPGMFC_UNKNOWN_BUCKET": "10:nx/6/15",
    "OFPGMFC_BUCKET_EXISTS": "10:nx/6/16",
    "OFPPMFC_BAD_PORT": "10:4/0 13:7/0 14:7/0",
    "OFPPMFC_BAD_HW_ADDR": "10:4/1 13:7/1 14:7/1",
    "OFPPMFC_BAD_CONFIG": "13:7/2 14:7/2",
    "OFPPMFC_BAD_ADVERTISE": "13:7/3 14:7/3",
    "OFPPMFC_EPERM": "13:7/4 14:7/4",
    "OFPTMFC_BAD_TABLE": "13:8/0 14:8/0",
    "OFPTMFC_BAD_CONFIG": "13:8/1 14:8/1",
    "OFPTMFC_EPERM": "13:8/2 14:8/2",
    "OFPQOFC_BAD_PORT": "10:5/0 13:9/0 14:9/0",
    "OFPQOFC_BAD_QUEUE": "10:5/1 13:9/1 14:9/1",
    "OFPQOFC_EPERM": "10:5/2 13:9/2 14:9/2",
    "NXQOFC_QUEUE_ERROR": "14:nx/23",
    "OFPSCFC_BAD_FLAGS": "13:10/0 14:10/0",
    "OFPSCFC_BAD_LEN": "13:10/1 14:10/1",
    "OFPSCFC_EPERM": "13:10/2 14:10/2",
    "OFPRRFC_STALE": "13:11/0 14:11/0",
    "OFPRRFC_UNSUP": "13:11/1 14:11/1",
    "OFPRRFC_BAD_ROLE": "10:nx/1/513 13:11/2 14:11/2",
    "OFPMMFC_UNKNOWN": "13:12/0 14:12/0",
    "OFPMMFC_METER_EXISTS": "13:12/1 14:12/1",
    "OFPMMFC_INVALID_METER": "13:12/2 14:12/2",
    "OFPMMFC_UNKNOWN_METER": "13:12/3 14:12/3",
    "OFPMMFC_BAD_COMMAND": "13:12/4 14:12/4",
    "OFPMMFC_BAD_FLAGS": "13:12/5 14:12/5",
    "OFPMMFC_BAD_RATE": "13:12/6 14:12/6",
    "OFPMMFC_BAD_BURST": "13:12/7 14:12/7",
    "OFPMMFC_BAD_BAND": "13:12/8 14:12/8",
    "OFPMMFC_BAD_BAND_VALUE": "13:12/9 14:12/9",
    "OFPMMFC_OUT_OF_METERS": "13:12/10 14:12/10",
    "OFPMMFC_OUT_OF_BANDS": "13:12/11 14:12/11",
    "OFPTFFC_BAD_TABLE": "13:13/0 14:13/0",
    "OFPTFFC_BAD_METADATA": "13:13/1 14:13/1",
    "OFPTFFC_EPERM": "13:13/5 14:13/5",
    "NXTFFC_DUP_TABLE": "13:nx/44 14:nx/44",
    "OFPBPC_BAD_TYPE": "10:nx/13/2 13:13/2 14:14/0",
    "OFPBPC_BAD_LEN": "10:nx/13/3 13:13/3 14:14/1",
    "OFPBPC_BAD_VALUE": "10:nx/13/4 13:13/4 14:14/2",
    "OFPBPC_TOO_MANY": "10:nx/14/3 13:onf/4443 14:14/3",
    "OFPBPC_DUP_TYPE": "10:nx/14/4 13:onf/4444 14:14/4",
    "OFPBPC_BAD_EXPERIMENTER": "10:nx/14/5 13:onf/4445 14:14/5",
    "OFPBPC_BAD_EXP_TYPE": "10:nx/14/6 13:onf/4446 14:14/6",
    "OFPBPC_BAD_EXP_VALUE": "10:nx/14/7 13:onf/4447 14:14/7",
    "OFPBPC_EPERM": "10:nx/14/8 13:onf/4448 14:14/8",
    "OFPACFC_INVALID": "13:onf/2370 14:15/0",
    "OFPACFC_UNSUPPORTED": "13:onf/2371 14:15/1",
    "OFPACFC_EPERM": "13:onf/2372 14:15/2",
    "OFPBFC_UNKNOWN": "13:onf/2300 14:17/0",
    "OFPBFC_EPERM": "13:onf/2301 14:17/1",
    "OFPBFC_BAD_ID": "13:onf/2302 14:17/2",
    "OFPBFC_BUNDLE_EXIST": "13:onf/2303 14:17/3",
    "OFPBFC_BUNDLE_CLOSED": "13:onf/2304 14:17/4",
    "OFPBFC_OUT_OF_BUNDLES": "13:onf/2305 14:17/5",
    "OFPBFC_BAD_TYPE": "13:onf/2306 14:17/6",
    "OFPBFC_BAD_FLAGS": "13:onf/2307 14:17/7",
    "OFPBFC_MSG_BAD_LEN": "13:onf/2308 14:17/8",
    "OFPBFC_MSG_BAD_XID": "13:onf/2309 14:17/9",
    "OFPBFC_MSG_UNSUP": "13:onf/2310 14:17/10",
    "OFPBFC_MSG_CONFLICT": "13:onf/2311 14:17/11",
    "OFPBFC_MSG_TOO_MANY": "13:onf/2312 14:17/12",
    "OFPBFC_MSG_FAILED": "13:onf/2313 14:17/13",
    "OFPBFC_TIMEOUT": "13:onf/2314 14:17/14",
    "OFPBFC_BUNDLE_IN_PROGRESS": "13:onf/2315 14:17/15",
    "OFPBFC_BAD_VERSION": "14:nx/22",
    "OFPMOFC_UNKNOWN": "14:16/0",
    "OFPMOFC_MONITOR_EXISTS": "10:nx/1/517 13:nx/6 14:16/1",
    "OFPMOFC_INVALID_MONITOR": "14:16/2",
    "OFPMOFC_UNKNOWN_MONITOR": "10:nx/1/519 13:nx/8 14:16/3",
    "OFPMOFC_BAD_COMMAND": "14:16/4",
    "OFPMOFC_BAD_FLAGS": "10:nx/1/518 13:nx/7 14:16/5",
    "OFPMOFC_BAD_TABLE_ID": "14:16/6",
    "OFPMOFC_BAD_OUT": "14:16/7",
    "NXTTMFC_BAD_COMMAND": "10:nx/1/527 13:nx/16 14:nx/16",
    "NXTTMFC_BAD_OPT_LEN": "10:nx/1/528 13:nx/17 14:nx/17",
    "NXTTMFC_BAD_FIELD_IDX": "10:nx/1/529 13:nx/18 14:nx/18",
    "NXTTMFC_TABLE_FULL": "10:nx/1/530 13:nx/19 14:nx/19",
    "NXTTMFC_ALREADY_MAPPED": "10:nx/1/531 13:nx/20 14:nx/20",
    "NXTTMFC_DUP_ENTRY": "10:nx/1/532 13:nx/21 14:nx/21",
    "NXTTMFC_INVALID_TLV_DEL": "10:nx/1/537 13:nx/38 14:nx/38",
    "NXR_NOT_SUPPORTED": "10:nx/1/533 13:nx/34 14:nx/34",
    "NXR_STALE": "10:nx/1/534 13:nx/35 14:nx/35",
    "NXST_NOT_CONFIGURED": "10:nx/1/535 13:nx/36 14:nx/36",
}

#: names OpenFlow 1.1+ spells differently, and older OVS spellings
ALIASES: dict[str, str] = {
    "OFPBRC_BAD_MULTIPART": "OFPBRC_BAD_STAT",
    "OFPBRC_BAD_EXPERIMENTER": "OFPBRC_BAD_VENDOR",
    "OFPBRC_BAD_EXP_TYPE": "OFPBRC_BAD_SUBTYPE",
    "OFPBRC_IS_SLAVE": "OFPBRC_IS_SECONDARY",
    "OFPBAC_BAD_EXPERIMENTER": "OFPBAC_BAD_VENDOR",
    "OFPBAC_BAD_EXP_TYPE": "OFPBAC_BAD_VENDOR_TYPE",
    "OFPFMFC_ALL_TABLES_FULL": "OFPFMFC_TABLE_FULL",
}

_VERSION_KEYS = {10: OFP10_VERSION, 13: OFP13_VERSION, 14: OFP14_VERSION}


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """Where an error lives on the wire: ``vendor`` 0 for standard errors."""

    vendor: int
    type: int
    code: int


def _parse_spec() -> tuple[dict[tuple[str, int], ErrorCode], dict[tuple[int, ErrorCode], str]]:
    by_name: dict[tuple[str, int], ErrorCode] = {}
    by_code: dict[tuple[int, ErrorCode], str] = {}
    for name, spec in _SPEC.items():
        for item in spec.split():
            ver_s, enc = item.split(":")
            version = _VERSION_KEYS[int(ver_s)]
            parts = enc.split("/")
            if parts[0] == "nx":
                nums = [int(p) for p in parts[1:]]
                ec = (ErrorCode(NX_VENDOR_ID, nums[0], nums[1]) if len(nums) == 2
                      else ErrorCode(NX_VENDOR_ID, nums[0], 0))
            elif parts[0] == "onf":
                ec = ErrorCode(ONF_VENDOR_ID, int(parts[1]), 0)
            else:
                ec = ErrorCode(0, int(parts[0]), int(parts[1]))
            by_name[(name, version)] = ec
            by_code.setdefault((version, ec), name)
    return by_name, by_code


_BY_NAME, _BY_CODE = _parse_spec()


def canonical_name(name: str) -> str:
    """``name`` without an ``OFPERR_`` prefix and with aliases resolved."""
    if name.startswith("OFPERR_"):
        name = name[7:]
    return ALIASES.get(name, name)


def is_known(name: str) -> bool:
    return canonical_name(name) in _SPEC


def error_code(name: str, version: int) -> ErrorCode:
    """The wire encoding of error ``name`` in ``version`` (UNENCODABLE if it has none)."""
    ec = _BY_NAME.get((canonical_name(name), version))
    if ec is None:
        ec = _BY_NAME[("NXBRC_UNENCODABLE_ERROR", version)]
    return ec


def error_name(version: int, ec: ErrorCode) -> str | None:
    """The symbolic name of a received error, or None if we do not know it."""
    return _BY_CODE.get((version, ec))


def encode_error(err: OFPError | str, version: int, xid: int,
                 request: bytes = b"") -> bytes:
    """An OFPT_ERROR for ``err`` in ``version`` with ``request`` (as much as fits) as data.

    Hello-failure errors carry text instead of a request: pass it encoded as ``request``.
    """
    name = err.name if isinstance(err, OFPError) else err
    ec = error_code(name, version)
    out = bytearray(HEADER.pack(version, wire_type(version, OFPT.ERROR), 0, xid & 0xFFFFFFFF))
    if not ec.vendor:
        out += struct.pack("!HH", ec.type, ec.code)
    elif version == OFP10_VERSION:
        out += struct.pack("!HHIHH", NXET_VENDOR, NXVC_VENDOR_ERROR, ec.vendor, ec.type,
                           ec.code)
    else:
        out += struct.pack("!HHI", OFPET_EXPERIMENTER, ec.type, ec.vendor)
    out += request[: 0xFFFF - len(out)]
    struct.pack_into("!H", out, 2, len(out))
    return bytes(out)


def decode_error_body(version: int, body: bytes) -> tuple[ErrorCode, bytes]:
    """Split an OFPT_ERROR body into its code and its data."""
    if len(body) < 4:
        raise OFPError("OFPBRC_BAD_LEN", "error message shorter than 12 bytes")
    etype, code = struct.unpack_from("!HH", body, 0)
    if etype == NXET_VENDOR and code == NXVC_VENDOR_ERROR and version == OFP10_VERSION:
        if len(body) < 12:
            raise OFPError("OFPBRC_BAD_LEN", "vendor error truncated")
        vendor, vtype, vcode = struct.unpack_from("!IHH", body, 4)
        return ErrorCode(vendor, vtype, vcode), body[12:]
    if etype == OFPET_EXPERIMENTER and version != OFP10_VERSION:
        if len(body) < 8:
            raise OFPError("OFPBRC_BAD_LEN", "experimenter error truncated")
        (vendor,) = struct.unpack_from("!I", body, 4)
        return ErrorCode(vendor, code, 0), body[8:]
    return ErrorCode(0, etype, code), body[4:]
