"""JSON-RPC stream framing: incremental parsing, validation, sticky errors."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyvswitch.control.jsonrpc import (
    MAX_DEPTH,
    JsonRpcStream,
    encode_reply,
    encode_request,
    message_kind,
    validate_message,
)
from pyvswitch.errors import LocalProtocolError, RemoteProtocolError


def feed_all(stream: JsonRpcStream, data: bytes, chunk: int) -> list[dict]:
    out = []
    for i in range(0, len(data), chunk):
        stream.receive_data(data[i : i + chunk])
        while (msg := stream.next_message()) is not None:
            out.append(msg)
    return out


def test_request_roundtrip_whole():
    s = JsonRpcStream()
    s.receive_data(b'{"method":"version","params":[],"id":0}')
    msg = s.next_message()
    assert msg == {"method": "version", "params": [], "result": None, "error": None, "id": 0}
    assert message_kind(msg) == "request"
    assert s.next_message() is None
    assert s.idle


def test_byte_at_a_time_with_tricky_strings():
    params = ['a"}]{[', "back\\slash\\", "uni\u00e9\u4e2d", '\\"', "", "x" * 3000]
    data = (
        encode_request("fdb/show", params, 7)
        + b"  \n"
        + encode_request("b", [], "id-str")
        + b"\t"
        + encode_request("c", ["{"], 9)
    )
    s = JsonRpcStream()
    msgs = feed_all(s, data, 1)
    assert [m["method"] for m in msgs] == ["fdb/show", "b", "c"]
    assert msgs[0]["params"] == params
    assert msgs[1]["id"] == "id-str"
    assert msgs[2]["params"] == ["{"]


@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=20), st.lists(st.text(max_size=30), max_size=4)),
        min_size=1,
        max_size=5,
    ),
    st.integers(min_value=1, max_value=17),
)
def test_any_chunking_gives_the_same_messages(reqs, chunk):
    data = b"".join(encode_request(m, p, i) for i, (m, p) in enumerate(reqs))
    msgs = feed_all(JsonRpcStream(), data, chunk)
    assert [(m["method"], m["params"], m["id"]) for m in msgs] == [
        (m, p, i) for i, (m, p) in enumerate(reqs)
    ]


def test_encode_reply_shapes():
    ok = json.loads(encode_reply(3, result="text\n"))
    assert ok == {"result": "text\n", "error": None, "id": 3}
    err = json.loads(encode_reply(4, error="bad"))
    assert err == {"result": None, "error": "bad", "id": 4}
    # the empty string is a valid result (OVS replies "" for silent commands)
    assert json.loads(encode_reply(5, result=""))["result"] == ""
    with pytest.raises(LocalProtocolError):
        encode_reply(1)
    with pytest.raises(LocalProtocolError):
        encode_reply(1, result="a", error="b")
    with pytest.raises(LocalProtocolError):
        encode_request("x", [], None)


def test_reply_and_error_kinds():
    s = JsonRpcStream()
    s.receive_data(encode_reply(1, result="r") + encode_reply(2, error="e"))
    assert message_kind(s.next_message()) == "reply"
    assert message_kind(s.next_message()) == "error"


def test_null_members_count_as_absent():
    msg = validate_message({"method": "m", "params": [], "id": None})
    assert message_kind(msg) == "notify"


@pytest.mark.parametrize(
    "data, reason",
    [
        (b'"just a string"', "syntax error at beginning of input"),
        (b"42", "syntax error at beginning of input"),
        (b"[1,2]", "message is not a JSON object"),
        (b'{"method":1,"params":[],"id":1}', "method is not a JSON string"),
        (b'{"method":"m","params":[],"id":1,"x":1}', 'unexpected member "x"'),
        (b'{"method":"m","params":{},"id":1}', '"params" must be JSON array'),
        (b'{"method":"m","id":1}', 'request must have "params"'),
        (b'{"result":"r","error":"e","id":1}', 'reply must not have "error"'),
        (b'{"result":"r"}', 'reply must have "id"'),
        (b'{"method":"m","params":[],"result":1,"id":1}', 'reply must not have "method"'),
        (b'{"method":"m","params":[NaN],"id":1}', "error parsing stream"),
        (b'{"method":"m" "params":[],"id":1}', "error parsing stream"),
        (b'{"method":"\xff","params":[],"id":1}', "error parsing stream"),
        (b"{" * (MAX_DEPTH + 1), "maximum nesting depth"),
    ],
)
def test_bad_framing_is_sticky(data, reason):
    s = JsonRpcStream()
    s.receive_data(data)
    with pytest.raises(RemoteProtocolError, match=reason):
        s.next_message()
    assert s.failed
    # sticky: every later call fails the same way, even with good input
    with pytest.raises(RemoteProtocolError, match=reason):
        s.receive_data(encode_request("ok", [], 1))
    with pytest.raises(RemoteProtocolError, match=reason):
        s.next_message()


def test_garbage_after_a_message():
    s = JsonRpcStream()
    s.receive_data(encode_request("a", [], 1) + b" x")
    assert s.next_message()["method"] == "a"
    with pytest.raises(RemoteProtocolError, match="beginning of input"):
        s.next_message()


def test_eof_mid_message():
    s = JsonRpcStream()
    s.receive_data(b'{"method":"a",')
    assert s.next_message() is None
    with pytest.raises(RemoteProtocolError, match="unexpected end of input"):
        s.receive_eof()
    clean = JsonRpcStream()
    clean.receive_data(encode_request("a", [], 1) + b"\n")
    assert clean.next_message() is not None
    clean.receive_eof()  # nothing pending: a clean close


def test_size_limit():
    s = JsonRpcStream(max_size=100)
    s.receive_data(b'{"method":"' + b"a" * 200)
    with pytest.raises(RemoteProtocolError, match="maximum size"):
        s.next_message()


def test_whitespace_only_does_not_accumulate():
    s = JsonRpcStream()
    for _ in range(1000):
        s.receive_data(b" \n")
        assert s.next_message() is None
    assert len(s._buf) == 0
