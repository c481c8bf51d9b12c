"""OVSDB text syntax for column values: parsing, formatting, OVS's error texts."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyvswitch.config.schema import (
    BaseType,
    ColumnType,
    atom_to_string,
    datum_from_string,
    datum_to_string,
    string_needs_quotes,
)
from pyvswitch.errors import ConfigError

STR = BaseType("string")
MAP = ColumnType(STR, STR, 0, 2**31)
VLANS = ColumnType(BaseType("integer", 0, 4095), None, 0, 4096)
OPT_INT = ColumnType(BaseType("integer", 1, 65279), None, 0, 1)
MODE = ColumnType(BaseType("string", enum=("secure", "standalone")), None, 0, 1)
BOOL = ColumnType(BaseType("boolean"))


@pytest.mark.parametrize(
    "s, quoted",
    [
        ("br0", False),
        ("a-b.c_d", False),
        ("0abc", True),
        ("true", True),
        ("a b", True),
        ("/tmp/x", True),
        ("ptcp:6654", True),
        ("", True),
        ("2e2ba409-548a-40df-be3a-3ee36881a47c", True),
    ],
)
def test_string_needs_quotes(s, quoted):
    assert string_needs_quotes(s) is quoted


def test_datum_formats():
    assert datum_to_string(MAP, {}) == "{}"
    assert datum_to_string(MAP, {"rx": "/tmp/a.pcap", "b": "x y"}) == '{b="x y", rx="/tmp/a.pcap"}'
    assert datum_to_string(VLANS, [1, 2]) == "[1, 2]"
    assert datum_to_string(VLANS, []) == "[]"
    assert datum_to_string(OPT_INT, None) == "[]"
    assert datum_to_string(OPT_INT, 5) == "5"
    assert datum_to_string(BOOL, True) == "true"
    assert atom_to_string("é") == '"é"'  # C isalpha() is ASCII-only


def test_datum_parse_forms():
    assert datum_from_string(MAP, "{a=b, c=d}") == {"a": "b", "c": "d"}
    assert datum_from_string(MAP, "a=b,c=d") == {"a": "b", "c": "d"}
    assert datum_from_string(MAP, '{x="a b", "k:1"=""}') == {"x": "a b", "k:1": ""}
    assert datum_from_string(MAP, "{}") == {}
    assert datum_from_string(VLANS, "[3,1,2]") == [1, 2, 3]
    assert datum_from_string(VLANS, "1,2") == [1, 2]
    assert datum_from_string(VLANS, "10-12") == [10, 11, 12]
    assert datum_from_string(VLANS, "[]") == []
    assert datum_from_string(OPT_INT, "[]") is None
    assert datum_from_string(OPT_INT, "7") == 7
    assert datum_from_string(MODE, "secure") == "secure"
    assert datum_from_string(BOOL, "yes") is True


@pytest.mark.parametrize(
    "ctype, s, msg",
    [
        (OPT_INT, "abc", '"abc" is not a valid integer or range'),
        (OPT_INT, "0", "constraint violation: 0 is not in the valid range 1 to 65279 (inclusive)"),
        (
            ColumnType(BaseType("integer", 1), None, 0, 1),
            "0",
            "constraint violation: 0 is less than minimum allowed value 1",
        ),
        (
            MODE,
            "foo",
            "constraint violation: foo is not one of the allowed values ([secure, standalone])",
        ),
        (
            VLANS,
            "1,2,5000",
            "constraint violation: 5000 is not in the valid range 0 to 4095 (inclusive)",
        ),
        (VLANS, "5-3", '"5-3" is not a valid range. Range end cannot be before start.'),
        (VLANS, "1,1", "1,1: set contains duplicate value"),
        (MAP, "{a=b,a=c}", "{a=b,a=c}: map contains duplicate key"),
        (MAP, "", 'use "{}" to specify the empty map'),
        (VLANS, "", 'use "[]" to specify the empty set'),
        (MAP, "{a}", 'a}: syntax error at "}" expecting "="'),
        (MAP, "{a=b", '{a=b: missing "}" at end of data'),
        (MAP, "{a=b} x", '{a=b} x: trailing garbage after "}"'),
        (OPT_INT, "[1,2]", "[1,2]: 2 value(s) specified but the maximum number is 1"),
        (MAP, '{a="b}', '"b}: quoted string extends past end of argument'),
        (BOOL, "maybe", '"maybe" is not a valid boolean (use "true" or "false")'),
        (VLANS, "[1,{", '[1,{: unexpected "{" parsing set of integers'),
    ],
)
def test_datum_errors(ctype, s, msg):
    with pytest.raises(ConfigError) as e:
        datum_from_string(ctype, s)
    assert str(e.value) == msg


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=5))
def test_map_roundtrip(d):
    assert datum_from_string(MAP, datum_to_string(MAP, d)) == d


@given(st.sets(st.integers(0, 4095), max_size=10))
def test_set_roundtrip(s):
    assert datum_from_string(VLANS, datum_to_string(VLANS, sorted(s))) == sorted(s)
