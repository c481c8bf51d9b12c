"""pyvswitchd's life: one instance per run directory, clean exits, --detach, restarts that
keep the configuration, a corrupt configuration refused, pyvs-vsctl without a daemon."""

import os
import signal
import subprocess
import sys
import time

import pytest

from pyvswitch.daemon.pidfile import read_pidfile
from pyvswitch.daemon.runner import SwitchProcess


def wait_gone(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not os.path.exists(path)


def test_second_instance_refuses_and_exit_cleans_up(tmp_path):
    sw = SwitchProcess(str(tmp_path))
    sw.start()
    try:
        pid = read_pidfile(sw.paths.pidfile)
        assert pid == sw.proc.pid
        r = subprocess.run(sw.argv("pyvswitchd"), env=sw.env, capture_output=True, text=True,
                           timeout=20)
        assert r.returncode == 1
        assert r.stderr == (f"pyvswitchd: {sw.paths.pidfile}: already running as pid {pid}, "
                            "aborting\n")
        assert sw.appctl("version")  # the first one is untouched
    finally:
        status = sw.stop()
    assert status == 0
    assert not os.path.exists(sw.paths.ctl) and not os.path.exists(sw.paths.pidfile)


def test_sigterm_is_a_clean_exit(tmp_path):
    sw = SwitchProcess(str(tmp_path))
    sw.start()
    sw.proc.send_signal(signal.SIGTERM)
    assert sw.proc.wait(10) == 0
    assert wait_gone(sw.paths.ctl)
    assert "SIGTERM received, exiting" in sw.log_text()


def test_detach(tmp_path):
    sw = SwitchProcess(str(tmp_path))
    r = subprocess.run(sw.argv("pyvswitchd", "--detach", "--pidfile", "--log-file"),
                       env=sw.env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    pid = read_pidfile(sw.paths.pidfile)
    try:
        assert pid and os.path.exists(sw.paths.ctl)
        assert sw.appctl("version").startswith("pyvswitchd")
        sw.appctl("exit")
        assert wait_gone(sw.paths.ctl) and wait_gone(sw.paths.pidfile)
    finally:
        if pid and os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGKILL)
    # a start-up failure is reported by the waiting parent, with status 1
    with open(sw.paths.conf, "w") as f:
        f.write("{broken")
    r = subprocess.run(sw.argv("pyvswitchd", "--detach"), env=sw.env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert r.stderr.startswith(f"pyvswitchd: {sw.paths.conf}: invalid JSON")


def test_restart_keeps_bridges_ports_and_numbers(tmp_path):
    sw = SwitchProcess(str(tmp_path))
    with sw:
        sw.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
                 "--", "add-port", "br0", "a", "--", "add-port", "br0", "b",
                 "--", "add-port", "br0", "c", "--", "set", "Interface", "c",
                 "ofport_request=9", "--", "set", "Port", "b", "tag=7")
        sw.vsctl("del-port", "a")
        before = sw.ofctl("show", "br0")
        show = sw.vsctl("show")
    def ports(show_text):  # port lines and states; dummy MACs are new on every start
        return [line.split(": addr:")[0] for line in show_text.splitlines()]

    with sw:
        assert ports(sw.ofctl("show", "br0")) == ports(before)
        assert sw.vsctl("show") == show
        assert " 2(b): " in before and " 9(c): " in before
        sw.vsctl("add-port", "br0", "d")
        assert " 1(d): " in sw.ofctl("show", "br0")


def test_corrupt_config_is_refused_not_overwritten(tmp_path):
    sw = SwitchProcess(str(tmp_path))
    os.makedirs(sw.paths.dbdir, exist_ok=True)
    with open(sw.paths.conf, "w") as f:
        f.write('{"format": "pyvswitch-config", "version": 1, "bridges": [{"nme": "x"}]}')
    with pytest.raises(RuntimeError, match="pyvswitchd exited with status 1"):
        sw.start()
    with open(sw.paths.conf) as f:
        assert '"nme"' in f.read()
    r = sw.run("pyvs-vsctl", "add-br", "br0", check=False)  # offline: refused too
    assert r.returncode == 1 and sw.paths.conf in r.stderr
    with open(sw.paths.conf) as f:
        assert '"nme"' in f.read()


def test_vsctl_without_daemon_edits_the_store(tmp_path):
    sw = SwitchProcess(str(tmp_path))
    sw.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
             "--", "add-port", "br0", "p1")
    assert sw.vsctl("list-ports", "br0") == "p1\n"
    r = sw.run("pyvs-ofctl", "dump-flows", "br0", check=False)
    assert (r.returncode, r.stderr) == (1, "pyvs-ofctl: br0 is not a bridge or a socket\n")
    r = sw.run("pyvs-appctl", "version", check=False)
    assert r.returncode == 1
    assert r.stderr == f'pyvs-appctl: cannot connect to "{sw.paths.ctl}" (No such file or ' \
                       'directory)\n'
    with sw:  # the daemon picks the stored bridge up
        assert "priority=0 actions=NORMAL" in sw.ofctl("dump-flows", "br0")
        assert " 1(p1): " in sw.ofctl("show", "br0")


def test_usage_errors(tmp_path):
    sw = SwitchProcess(str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "pyvswitch.daemon.main", "--bogus"], env=sw.env,
                       capture_output=True, text=True, timeout=20)
    assert (r.returncode, r.stderr) == (1, "pyvswitchd: unrecognized option '--bogus'\n")
    r = sw.run("pyvs-appctl", check=False)
    assert r.stderr == ("pyvs-appctl: at least one non-option argument is required "
                        "(use --help for help)\n")
    r = sw.run("pyvs-ofctl", "frob", "br0", check=False)
    assert r.stderr == "pyvs-ofctl: unknown command 'frob'; use --help for help\n"
    r = sw.run("pyvs-vsctl", "--bogus", "show", check=False)
    assert (r.returncode, r.stderr) == (1, "pyvs-vsctl: unrecognized option '--bogus'\n")


def test_verbose_option_sets_log_levels(tmp_path):
    """``-vMODULE:DEST:LEVEL`` on the command line is ``vlog/set`` at start; a bad
    specification stops the start with one line."""
    sw = SwitchProcess(str(tmp_path), extra_args=("--log-file", "-vbridge:file:dbg",
                                                  "--verbose=unixctl:console:err"))
    with sw:
        levels = {line.split()[0]: line.split()[1:] for line in
                  sw.appctl("vlog/list").splitlines()[2:]}
        assert levels["bridge"][1:] == ["INFO", "DBG"]
        assert levels["unixctl"] == ["ERR", "INFO", "INFO"]
        assert levels["vswitchd"][1:] == ["INFO", "INFO"]
    r = subprocess.run([*sw.argv("pyvswitchd"), "-vfrob"], env=sw.env, capture_output=True,
                       text=True, timeout=20)
    assert (r.returncode, r.stderr) == (1, 'pyvswitchd: no destination, level, or module '
                                           '"frob"\n')

