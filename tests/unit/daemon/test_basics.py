"""Paths, the pidfile lock and the vlog levels of pyvswitchd."""

import multiprocessing
import os
import re

import pytest

from pyvswitch.daemon.paths import default_paths
from pyvswitch.daemon.pidfile import AlreadyRunning, Pidfile, read_pidfile
from pyvswitch.daemon.vlog import Vlog, VlogError


def test_paths_root_defaults_and_overrides():
    p = default_paths({}, euid=0)
    assert (p.rundir, p.dbdir, p.logdir) == ("/var/run/pyvswitch", "/etc/pyvswitch",
                                             "/var/log/pyvswitch")
    assert p.ctl == "/var/run/pyvswitch/pyvswitchd.ctl"
    assert p.conf == "/etc/pyvswitch/conf.json"
    assert p.mgmt("br0") == "/var/run/pyvswitch/br0.mgmt"
    env = {"PYVS_RUNDIR": "/r", "PYVS_DBDIR": "/d", "PYVS_LOGDIR": "/l"}
    p = default_paths(env, euid=0)
    assert (p.pidfile, p.conf, p.log) == ("/r/pyvswitchd.pid", "/d/conf.json",
                                          "/l/pyvswitchd.log")


def test_paths_non_root():
    p = default_paths({"HOME": "/home/u", "XDG_RUNTIME_DIR": "/run/user/7"}, euid=1000)
    assert p.rundir == "/run/user/7/pyvswitch"
    assert p.dbdir == p.logdir == "/home/u/.local/state/pyvswitch"
    p = default_paths({"HOME": "/home/u"}, euid=1000)
    assert p.rundir == "/home/u/.local/state/pyvswitch"


def _try_lock(path, q):
    try:
        Pidfile(path).acquire()
        q.put("locked")
    except AlreadyRunning as exc:
        q.put(str(exc))


def test_pidfile_excludes_a_second_process(tmp_path):
    path = str(tmp_path / "run" / "x.pid")
    pf = Pidfile(path)
    pf.acquire()
    try:
        # (reading the file here would drop our own lock: POSIX locks go away when the
        # process closes any descriptor of the file; the child reads the pid instead)
        q = multiprocessing.Queue()
        p = multiprocessing.Process(target=_try_lock, args=(path, q))
        p.start()
        p.join(10)
        msg = q.get(timeout=5)
        assert msg == f"{path}: already running as pid {os.getpid()}, aborting"
    finally:
        pf.release()
    assert not os.path.exists(path)


def test_stale_pidfile_is_taken_over(tmp_path):
    path = tmp_path / "x.pid"
    path.write_text("999999\n")  # left behind by a daemon killed with SIGKILL
    pf = Pidfile(str(path))
    pf.acquire()
    pf.release()
    assert not path.exists()
    pf.acquire()
    assert read_pidfile(str(path)) == os.getpid()
    pf.release()


def test_vlog_set_and_list():
    v = Vlog(modules=("bridge", "netdev"))
    text = v.format_list()
    assert text.splitlines()[:2] == [
        "                 console    syslog    file",
        "                 -------    ------    ------",
    ]
    assert "bridge            WARN       INFO       INFO" in text
    v.set_spec("bridge:file:dbg")
    assert v.levels["bridge"] == [3, 4, 5]
    assert v.levels["netdev"] == [3, 4, 4]
    v.set_spec("console:off")
    assert v.levels["netdev"][0] == 0 and v.levels["bridge"][0] == 0
    v.set_spec("netdev")  # no level: dbg everywhere for that module
    assert v.levels["netdev"] == [5, 5, 5]
    v.set_spec("ANY:ANY:info")
    assert v.levels == {"bridge": [4, 4, 4], "netdev": [4, 4, 4]}
    with pytest.raises(VlogError, match='no destination, level, or module "foo"'):
        v.set_spec("foo:dbg")
    with pytest.raises(VlogError, match="multiple levels"):
        v.set_spec("info:dbg")


def test_vlog_file_lines(tmp_path, capsys):
    v = Vlog(modules=("bridge",))
    log = tmp_path / "l" / "d.log"
    v.open_file(str(log))
    v.info("bridge", "added interface p1")
    v.dbg("bridge", "not written at INFO")
    v.warn("bridge", "to the console too")
    lines = log.read_text().splitlines()
    assert len(lines) == 2
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(stamp + r"\|00001\|bridge\|INFO\|added interface p1", lines[0])
    assert re.fullmatch(stamp + r"\|00002\|bridge\|WARN\|to the console too", lines[1])
    err = capsys.readouterr().err
    assert err.strip().endswith("|bridge|WARN|to the console too")
    assert "added interface" not in err
