"""Command table and the sans-I/O session: OVS's texts for every refusal."""

import json

import pytest

from pyvswitch.control.client import TargetError, UnixctlClient, report_reply, resolve_target
from pyvswitch.control.commands import CommandError, CommandTable, normalize_reply
from pyvswitch.control.jsonrpc import encode_notify, encode_reply, encode_request
from pyvswitch.control.server import UnixctlSession
from pyvswitch.errors import ParseError, RemoteProtocolError


def make_table() -> CommandTable:
    t = CommandTable(version="pyvswitchd (pyvswitch) 9.9")
    t.register("echo", "[ARG...]", 0, 3, lambda args: " ".join(args))
    t.register("fdb/show", "bridge", 1, 1, lambda args: f"fdb of {args[0]}")
    t.register("hidden", None, 0, 0, lambda args: "secret")

    def fail(args):
        raise ParseError(f"bad flow '{args[0]}'")

    t.register("parse", "FLOW", 1, 1, fail)
    t.register("silent", "", 0, 0, lambda args: None)
    return t


def test_dispatch_success_and_newline():
    t = make_table()
    assert t.dispatch("echo", ["a", "b"]) == (True, "a b\n")
    assert t.dispatch("echo", []) == (True, "")
    assert t.dispatch("silent", []) == (True, "")
    assert t.dispatch("version", []) == (True, "pyvswitchd (pyvswitch) 9.9\n")


def test_dispatch_errors_use_ovs_texts():
    t = make_table()
    assert t.dispatch("foo", []) == (
        False,
        '"foo" is not a valid command (use "list-commands" to see a list of valid commands)\n',
    )
    assert t.dispatch("fdb/show", []) == (
        False,
        '"fdb/show" command requires at least 1 arguments\n',
    )
    assert t.dispatch("fdb/show", ["a", "b"]) == (
        False,
        '"fdb/show" command takes at most 1 arguments\n',
    )
    assert t.dispatch("echo", [1]) == (False, '"echo" command has non-string argument\n')
    assert t.dispatch("parse", ["x"]) == (False, "bad flow 'x'\n")


def test_list_commands_format():
    text = make_table().dispatch("list-commands", [])[1]
    lines = text.splitlines()
    assert lines[0] == "The available commands are:"
    # sorted, 23-column name field, hidden commands left out
    assert lines[1:] == [
        "  echo                    [ARG...]",
        "  fdb/show                bridge",
        "  list-commands           ",
        "  parse                   FLOW",
        "  silent                  ",
        "  version                 ",
    ]


def test_register_twice_and_bad_range():
    t = make_table()
    with pytest.raises(ValueError):
        t.register("echo", "", 0, 0, lambda a: "")
    with pytest.raises(ValueError):
        t.register("x", "", 2, 1, lambda a: "")


def test_bugs_in_handlers_propagate():
    t = CommandTable()
    t.register("boom", "", 0, 0, lambda a: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        t.dispatch("boom", [])


def test_normalize_reply():
    assert normalize_reply(None) == ""
    assert normalize_reply("") == ""
    assert normalize_reply("x") == "x\n"
    assert normalize_reply("x\n") == "x\n"


def test_session_answers_in_order_byte_by_byte():
    sess = UnixctlSession(make_table())
    data = encode_request("echo", ["hi"], 1) + encode_request("nope", [], 2)
    for b in data:
        sess.receive_data(bytes([b]))
    out = sess.data_to_send()
    assert not sess.closed
    replies = [json.loads(x) for x in out.replace(b"}{", b"}\n{").split(b"\n")]
    assert replies[0] == {"result": "hi\n", "error": None, "id": 1}
    assert replies[1]["result"] is None and replies[1]["id"] == 2
    assert replies[1]["error"].startswith('"nope" is not a valid command')
    assert sess.data_to_send() == b""
    assert sess.n_requests == 2


def test_session_closes_on_non_request_and_bad_framing():
    sess = UnixctlSession(make_table())
    sess.receive_data(encode_notify("echo", []))
    assert sess.closed and sess.error == "received unexpected notify message"
    sess = UnixctlSession(make_table())
    sess.receive_data(encode_reply(1, result="x"))
    assert sess.closed and "unexpected reply" in sess.error
    sess = UnixctlSession(make_table())
    sess.receive_data(b"nonsense")
    assert sess.closed and "syntax error" in sess.error
    # replies queued before the violation are still delivered
    sess = UnixctlSession(make_table())
    sess.receive_data(encode_request("echo", ["a"], 1) + b"]")
    assert sess.closed
    assert json.loads(sess.data_to_send())["result"] == "a\n"


def test_session_eof():
    sess = UnixctlSession(make_table())
    sess.receive_data(b"")
    assert sess.closed and sess.error is None
    sess = UnixctlSession(make_table())
    sess.receive_data(b'{"method":')
    sess.receive_data(b"")
    assert sess.closed and "end of input" in sess.error


def test_client_matches_reply_and_skips_notifications():
    c = UnixctlClient()
    req = json.loads(c.request("echo", ["x"]))
    assert req == {"method": "echo", "params": ["x"], "id": 0}
    assert c.receive_data(encode_notify("log", ["x"])) is None
    assert c.receive_data(encode_reply(0, error="nope\n")) == (False, "nope\n")
    c = UnixctlClient()
    c.request("a", [])
    c.request("b", [])  # ids increase
    assert c.receive_data(encode_reply(1, result="")) == (True, "")
    c = UnixctlClient()
    c.request("a", [])
    with pytest.raises(RemoteProtocolError):
        c.receive_data(encode_reply(99, result=""))
    c = UnixctlClient()
    c.request("a", [])
    with pytest.raises(RemoteProtocolError):
        c.receive_data(b"")


def test_resolve_target(tmp_path):
    rundir = str(tmp_path)
    assert resolve_target(None, rundir) == f"{rundir}/pyvswitchd.ctl"
    assert resolve_target("/x/y.ctl", rundir) == "/x/y.ctl"
    (tmp_path / "pyvswitchd.ctl").write_text("")
    assert resolve_target("pyvswitchd", rundir) == f"{rundir}/pyvswitchd.ctl"
    (tmp_path / "other.pid").write_text("1234\n")
    assert resolve_target("other", rundir) == f"{rundir}/other.1234.ctl"
    with pytest.raises(TargetError, match=r'cannot read pidfile ".*/gone.pid" \(No such file'):
        resolve_target("gone", rundir)


def test_report_reply(capsys):
    import sys

    assert report_reply(True, "out\n", "/s.ctl", "pyvs-appctl", sys.stdout, sys.stderr) == 0
    assert report_reply(False, "bad\n", "/s.ctl", "pyvs-appctl", sys.stdout, sys.stderr) == 2
    out, err = capsys.readouterr()
    assert out == "out\n"
    assert err == "bad\npyvs-appctl: /s.ctl: server returned an error\n"


def test_command_error_is_a_switch_error():
    t = CommandTable()

    def h(args):
        raise CommandError("no such bridge")

    t.register("x", "", 0, 0, h)
    assert t.dispatch("x", []) == (False, "no such bridge\n")
