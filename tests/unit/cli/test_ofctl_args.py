"""pyvs-ofctl's own argument handling, with a recording backend in place of the daemon
(the transport is a swappable Backend)."""

import pytest

from pyvswitch.cli import ofctl
from pyvswitch.cli.common import Fatal


class Recorder:
    def __init__(self):
        self.calls = []

    def run(self, command, bridge, options, args):
        self.calls.append((command, bridge, options, args))
        return "ok\n"


def run(argv, stdin=None):
    rec = Recorder()
    options, words, _ = ofctl._parse(argv)
    ofctl.run_command(rec, options, words)
    return rec.calls[0]


def test_options_and_targets(monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    assert run(["-O", "OpenFlow13", "--no-stats", "dump-flows", "br0", "tcp"]) == (
        "dump-flows", "br0", ["--protocols=OpenFlow13", "--no-stats"], ["tcp"])
    assert run(["-OOpenFlow10", "--strict", "del-flows", "unix:/var/run/x/br1.mgmt", "ip"]) \
        == ("del-flows", "unix:/var/run/x/br1.mgmt", ["--protocols=OpenFlow10", "--strict"],
            ["ip"])
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)  # names by default on a terminal
    assert run(["show", "br0"])[2] == ["--names"]
    assert run(["--no-names", "show", "br0"])[2] == ["--no-names"]


def test_files_are_read_here(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    f = tmp_path / "f"
    f.write_text("priority=1,actions=drop\n\n# c\n")
    cmd, br, opts, args = run(["add-flows", "br0", str(f)])
    assert (cmd, br, opts, args) == ("add-flows", "br0", [f"--source={f}"],
                                     ["priority=1,actions=drop", "", "# c"])
    with pytest.raises(Fatal, match=r"nosuch: open failed \(No such file or directory\)"):
        run(["add-flows", "br0", str(tmp_path / "nosuch")])


@pytest.mark.parametrize("argv, msg", [
    (["frob", "br0"], "unknown command 'frob'; use --help for help"),
    (["show"], "'show' command requires at least 1 arguments"),
    (["show", "br0", "x"], "'show' command takes at most 1 arguments"),
    (["--bogus", "show", "br0"], "unrecognized option '--bogus'"),
    ([], "missing command name; use --help for help"),
])
def test_errors(argv, msg, monkeypatch):
    monkeypatch.setattr("sys.stdout.isatty", lambda: False)
    with pytest.raises(Fatal) as exc:
        run(argv)
    assert exc.value.msg == msg


def test_control_transport_takes_bridge_names_only(monkeypatch):
    """The control-socket transport maps a bridge's own socket to its name and refuses
    other OpenFlow targets (those need the OpenFlow transport)."""
    seen = []
    monkeypatch.setattr(ofctl, "call", lambda path, method, params, timeout: (
        seen.append((method, params)) or (True, "x\n")))
    be = ofctl.ControlBackend()
    assert be.run("show", "unix:/r/br1.mgmt", [], []) == "x\n"
    assert seen == [("ofctl/show", ["br1"])]
    with pytest.raises(Fatal, match="tcp:127.0.0.1:6653: OpenFlow connections"):
        be.run("show", "tcp:127.0.0.1:6653", [], [])
    monkeypatch.setenv("PYVS_OFCTL_TRANSPORT", "control")
    assert isinstance(ofctl.default_backend(), ofctl.ControlBackend)
    monkeypatch.delenv("PYVS_OFCTL_TRANSPORT")
    assert type(ofctl.default_backend()).__name__ == "OpenFlowBackend"
