"""Running os-ken applications against pyvswitchd in the namespace testbed (no tests here).

The applications are written to a temporary directory and run by os-ken 3.x
(``os-ken<4``: 4.x hangs apps after the first event-loop turn) in a child process inside
the testbed's switch namespace, listening on 127.0.0.1 there; pyvswitchd, in the same
namespace, connects out to it (``set-controller br0 tcp:127.0.0.1:PORT``).  Every
process is stopped by pid and every namespace removed when the test ends.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyvswitch.daemon.runner import SwitchProcess
from pyvswitch.testbed import Host, Testbed, wait_for

RUNNER = """\
import logging, sys
from os_ken.lib import hub
hub.patch(thread=False)
from os_ken import cfg
from os_ken.base import app_manager as _am  # noqa: F401  (import order matters)
import os_ken.controller.controller  # noqa: F401  (registers the ofp options)
from os_ken.base import app_manager

logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                    format="%(asctime)s %(name)s %(message)s")
cfg.CONF(args=["--ofp-tcp-listen-port", sys.argv[2], "--ofp-listen-host", "127.0.0.1"],
         project="os_ken")
app_manager.AppManager.run_apps([sys.argv[1]])
"""

#: the controller port inside the switch namespace
OSKEN_PORT = 16653


@contextmanager
def osken_network(tmp: Path, app_name: str, app_source: str, n_hosts: int,
                  fail_mode: str = "secure") -> Iterator[tuple[Testbed, SwitchProcess,
                                                                list[Host], Path]]:
    """A testbed with ``n_hosts`` hosts on 198.51.100.N/24, pyvswitchd with bridge br0
    (port N = host N) controlled by the os-ken app; yields (testbed, switch, hosts,
    controller log path)."""
    appdir = tmp / "app"
    appdir.mkdir(parents=True, exist_ok=True)
    (appdir / f"{app_name}.py").write_text(app_source)
    (appdir / "run_osken.py").write_text(RUNNER)
    log = tmp / "osken.log"
    with Testbed() as tb:
        hosts = [tb.add_host(ipv4=[f"198.51.100.{i}/24"]) for i in range(1, n_hosts + 1)]
        out = open(log, "w")  # noqa: SIM115 - closed below
        try:
            ctl = tb.popen_switch([sys.executable, str(appdir / "run_osken.py"), app_name,
                                   str(OSKEN_PORT)], stdout=out, stderr=subprocess.STDOUT,
                                  cwd=str(appdir), env=_env(appdir))
            assert wait_for(lambda: _listening(tb), timeout=20), log.read_text()
            sw = SwitchProcess(str(tmp / "pyvs"), netns=tb.switch_ns)
            sw.start()
            try:
                args = ["add-br", "br0", "--", "set-fail-mode", "br0", fail_mode]
                for n, h in enumerate(hosts, 1):
                    args += ["--", "add-port", "br0", h.switch_ifname, "--", "set",
                             "Interface", h.switch_ifname, f"ofport_request={n}"]
                args += ["--", "set-controller", "br0", f"tcp:127.0.0.1:{OSKEN_PORT}"]
                sw.vsctl(*args)
                yield tb, sw, hosts, log
            finally:
                status = sw.stop()
                text = sw.log_text()
                assert "unexpected exception" not in text, text[-3000:]
                assert status == 0
            tb.kill(ctl)
        finally:
            out.close()


def _env(appdir: Path) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(appdir), env.get("PYTHONPATH", "")])
    return env


def _listening(tb: Testbed) -> bool:
    r = tb.run_switch(["ss", "-ltnH", f"sport = :{OSKEN_PORT}"], check=False)
    return str(OSKEN_PORT) in r.stdout


def ping(tb: Testbed, src: Host, dst_ip: str, count: int = 2) -> bool:
    r = tb.run(src, ["ping", "-c", str(count), "-i", "0.2", "-W", "1", dst_ip],
               timeout=count * 2 + 5, check=False)
    return r.returncode == 0


def wait_log(log: Path, text: str, timeout: float = 15.0) -> bool:
    return wait_for(lambda: text in log.read_text(), timeout=timeout, interval=0.1)
