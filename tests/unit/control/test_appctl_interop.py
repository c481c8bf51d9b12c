"""The real ``ovs-appctl -t SOCKET`` against a tiny server built on our control classes,
and our client against the same server."""

import os
import selectors
import socket
import subprocess
import threading

import pytest

from pyvswitch.control.client import report_reply, transact
from pyvswitch.control.commands import CommandError, CommandTable
from pyvswitch.control.server import UnixctlSession


class TinyServer:
    """A selectors loop on a Unix socket, the way the daemon will drive the session."""

    def __init__(self, path: str, table: CommandTable) -> None:
        self.path = path
        self.table = table
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # socket mode 0600, as the daemon must create it
        try:
            self.listener.bind(path)
        finally:
            os.umask(old)
        self.listener.listen(8)
        self.listener.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.listener, selectors.EVENT_READ, None)
        self.stop_r, self.stop_w = os.pipe()
        self.sel.register(self.stop_r, selectors.EVENT_READ, "stop")
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        running = True
        while running:
            for key, _ in self.sel.select(timeout=5):
                if key.data == "stop":
                    running = False
                elif key.data is None:
                    conn, _ = self.listener.accept()
                    conn.setblocking(False)
                    self.sel.register(conn, selectors.EVENT_READ, UnixctlSession(self.table))
                else:
                    conn, sess = key.fileobj, key.data
                    try:
                        data = conn.recv(65536)
                    except BlockingIOError:
                        continue
                    sess.receive_data(data)
                    out = sess.data_to_send()
                    if out:
                        conn.setblocking(True)
                        conn.sendall(out)
                        conn.setblocking(False)
                    if sess.closed:
                        self.sel.unregister(conn)
                        conn.close()
        for key in list(self.sel.get_map().values()):
            if key.fileobj not in (self.listener, self.stop_r):
                key.fileobj.close()
        self.sel.close()
        self.listener.close()
        os.close(self.stop_r)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        os.write(self.stop_w, b"x")
        self.thread.join(10)
        os.close(self.stop_w)
        assert not self.thread.is_alive()


@pytest.fixture
def server(tmp_path):
    table = CommandTable(version="pyvswitchd (pyvswitch) 0.1.0")
    table.register("echo", "[ARG...]", 0, 5, lambda args: " ".join(args))
    table.register("fdb/show", "bridge", 1, 1, lambda args: _fdb(args[0]))
    table.register("big", "", 0, 0, lambda args: "line\n" * 50000)
    with TinyServer(str(tmp_path / "pyvswitchd.ctl"), table) as srv:
        yield srv


def _fdb(br: str) -> str:
    if br != "br0":
        raise CommandError("no such bridge")
    return " port  VLAN  MAC                Age\n"


def appctl(srv, *args):
    return subprocess.run(
        ["ovs-appctl", "-t", srv.path, *args],
        capture_output=True,
        text=True,
        timeout=20,
    )


def test_real_appctl_success(server):
    r = appctl(server, "version")
    assert (r.returncode, r.stdout) == (0, "pyvswitchd (pyvswitch) 0.1.0\n")
    r = appctl(server, "echo", "a", "b c", 'q"uote')
    assert (r.returncode, r.stdout) == (0, 'a b c q"uote\n')
    r = appctl(server, "fdb/show", "br0")
    assert (r.returncode, r.stdout) == (0, " port  VLAN  MAC                Age\n")
    r = appctl(server, "big")
    assert r.returncode == 0 and r.stdout == "line\n" * 50000


def test_real_appctl_list_commands(server):
    r = appctl(server, "list-commands")
    assert r.returncode == 0
    assert r.stdout.splitlines() == [
        "The available commands are:",
        "  big                     ",
        "  echo                    [ARG...]",
        "  fdb/show                bridge",
        "  list-commands           ",
        "  version                 ",
    ]


@pytest.mark.parametrize(
    "args, text",
    [
        (
            ["nosuch"],
            '"nosuch" is not a valid command (use "list-commands" to see a list of valid'
            " commands)\n",
        ),
        (["fdb/show"], '"fdb/show" command requires at least 1 arguments\n'),
        (["fdb/show", "a", "b"], '"fdb/show" command takes at most 1 arguments\n'),
        (["fdb/show", "br9"], "no such bridge\n"),
    ],
)
def test_real_appctl_errors(server, args, text):
    r = appctl(server, *args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == text + f"ovs-appctl: {server.path}: server returned an error\n"


def test_our_client_against_the_server(server, capsys):
    import sys

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(server.path)
        assert transact(s, "echo", ["x"]) == (True, "x\n")
        # several requests on one connection, as the session allows
        ok, text = transact(s, "fdb/show", ["br9"])
    assert (ok, text) == (False, "no such bridge\n")
    assert report_reply(ok, text, server.path, "pyvs-appctl", sys.stdout, sys.stderr) == 2
    assert capsys.readouterr().err.endswith("server returned an error\n")
