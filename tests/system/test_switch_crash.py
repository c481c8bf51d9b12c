"""SIGKILL while the configuration is being written never leaves a file that fails to
load: the daemon (and pyvs-vsctl without a daemon) write a temporary file, fsync it
and rename it over the old one."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from pyvswitch.config.store import ConfigStore
from pyvswitch.daemon.runner import SwitchProcess

pytestmark = pytest.mark.netns

HAMMER = r"""
import socket, sys
from pyvswitch.control.client import transact
path, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        name = "q%d" % (i % 7)
        transact(s, "vsctl", ["--may-exist", "add-port", "br0", name] if i % 2 == 0
                 else ["--if-exists", "del-port", name])
    except OSError:
        break
    finally:
        s.close()
"""


def big_config(sw: SwitchProcess) -> None:
    args = ["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy"]
    for n in range(150):
        args += ["--", "add-port", "br0", f"p{n}", f"tag={n % 4000 + 1}",
                 "--", "set", "Interface", f"p{n}", f"options:note=padding-{'x' * 40}"]
    sw.vsctl(*args)


def test_sigkill_mid_write_never_breaks_the_config(tmp_path):
    rnd = random.Random(4)
    sw = SwitchProcess(str(tmp_path))
    try:  # a failure anywhere must not leave a daemon behind
        sw.start()
        big_config(sw)
        sw.stop()
        for _ in range(6):
            sw.start()
            hammer = subprocess.Popen([sys.executable, "-c", HAMMER, sw.paths.ctl, "400"],
                                      env=sw.env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            time.sleep(rnd.uniform(0.2, 0.8))
            sw.kill(signal.SIGKILL)
            hammer.wait(20)
            sw.proc = None
            cfg = ConfigStore(sw.paths.conf).load()  # raises if the file were torn
            assert len(cfg.bridges["br0"].ports) >= 151
        # and the daemon comes back with it
        sw.start()
        assert "p149" in sw.vsctl("list-ports", "br0")
    finally:
        sw.stop()


def test_sigkill_of_offline_vsctl_mid_write(tmp_path):
    rnd = random.Random(5)
    sw = SwitchProcess(str(tmp_path))
    big_config(sw)  # no daemon: pyvs-vsctl writes the store itself
    for i in range(6):
        p = subprocess.Popen(sw.argv("pyvs-vsctl", "add-port", "br0", f"z{i}"), env=sw.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        time.sleep(rnd.uniform(0.05, 0.5))
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(10)
        ConfigStore(sw.paths.conf).load()
