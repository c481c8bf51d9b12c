"""Asynchronous messages seen by ``ovs-ofctl monitor`` and packet-out delivery, on
pyvswitchd and on a private Open vSwitch 3.1 fed the same events.

``monitor BR 65535`` asks for NXT_PACKET_IN2 (pyvswitch accepts it, as OVS does),
sets a miss_send_len (a management-socket connection gets no asynchronous message
without one), then prints packet-ins, port-status and flow-removed messages.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from tests.interop.test_ofctl_support import OVS_OFCTL, pyvs, realovs  # noqa: F401

pytestmark = pytest.mark.interop

# an ICMP echo request 198.51.100.1 -> 198.51.100.2
PACKET = ("ffffffffffff0200000000010800450000540000400040012ccfc6336401c6336402"
          "0800f7ff0000000000000000000000000000000000000000000000000000000000000000"
          "00000000000000000000000000000000000000000000000000000000000000000000")


class Monitor:
    """``ovs-ofctl monitor`` in the background.  Its output goes to a file, stderr
    included: otherwise what it buffered is lost when it is terminated."""

    def __init__(self, sw, *args: str) -> None:
        env = dict(os.environ, OVS_RUNDIR=sw.rundir, OVS_LOGDIR=sw.rundir)
        self.path = os.path.join(sw.rundir, "monitor.out")
        self.out = open(self.path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([OVS_OFCTL, *args, "monitor", sw.target, "65535"],
                                     env=env, stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        time.sleep(0.7)  # connected and configured (GET_CONFIG, SET_CONFIG, barriers)

    def stop(self) -> str:
        time.sleep(0.7)
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        finally:
            self.proc.wait(timeout=10)
            self.out.close()
        with open(self.path) as f:
            return f.read()


def receive(sw, port: str, packet: str) -> None:
    if hasattr(sw, "proc"):
        sw.proc.appctl("netdev-dummy/receive", port, packet)
    else:
        subprocess.run(["ovs-appctl", "-t", f"{sw.rundir}/ovs-vswitchd.{_pid(sw)}.ctl",
                        "netdev-dummy/receive", port, packet], check=True, timeout=30,
                       capture_output=True)


def _pid(sw) -> int:
    return sw.pids[-1]


def vsctl(sw, *args: str) -> None:
    if hasattr(sw, "proc"):
        sw.proc.vsctl(*args)
    else:
        subprocess.run(["ovs-vsctl", f"--db={sw.db}", *args], check=True, timeout=30,
                       capture_output=True, env=sw.env)


def _norm(text: str) -> list[str]:
    text = re.sub(r"addr:[0-9a-f:]+", "addr:X", text)
    text = re.sub(r"duration[=:]?[0-9.]+s", "duration=X", text)
    return [x for x in text.splitlines() if "fatal_signal" not in x]


@pytest.mark.parametrize("of", [[], ["-O", "OpenFlow13"]])
def test_packet_in_from_flow_and_packet_out(pyvs, realovs, of):  # noqa: F811
    outs = []
    for sw in (pyvs, realovs):
        sw.reset()
        sw.ofctl("add-flow", "BR", "table=0,priority=200,in_port=2,actions=controller")
        sw.ofctl("add-flow", "BR", "table=0,cookie=0x42,priority=201,in_port=3,ip,"
                 "actions=load:0x7->NXM_NX_REG3[],resubmit(,1)")
        sw.ofctl("add-flow", "BR", "table=1,priority=1,actions=controller(max_len=20)")
        mon = Monitor(sw, *of)
        receive(sw, "p2", PACKET)
        receive(sw, "p3", PACKET)
        sw.ofctl("packet-out", "BR", f"in_port=1 packet={PACKET} actions=controller")
        outs.append(_norm(mon.stop()))
    assert outs[0] == outs[1]
    assert sum("PACKET_IN" in x for x in outs[0]) == 3
    assert any("reg3=0x7" in x for x in outs[0])


def test_port_status_and_flow_removed(pyvs, realovs):  # noqa: F811
    outs = []
    for sw in (pyvs, realovs):
        sw.reset()
        sw.ofctl("add-flow", "BR", "table=0,priority=10,send_flow_rem,ip,actions=drop")
        sw.ofctl("add-flow", "BR", "table=3,priority=11,send_flow_rem,tcp,tp_dst=22,"
                 "actions=drop")
        mon = Monitor(sw)
        vsctl(sw, "add-port", "br0", "p9", "--", "set", "interface", "p9", "type=dummy",
              "ofport_request=9")
        vsctl(sw, "del-port", "br0", "p9")
        sw.ofctl("del-flows", "BR", "ip")
        outs.append(_norm(mon.stop()))
    assert outs[0] == outs[1]
    text = "\n".join(outs[0])
    assert "PORT_STATUS" in text and "ADD: 9(p9)" in text and "DEL: 9(p9)" in text
    assert text.count("FLOW_REMOVED") == 2


def test_flow_removed_on_hard_timeout(pyvs):  # noqa: F811
    pyvs.reset()
    pyvs.ofctl("add-flow", "BR", "table=2,priority=5,hard_timeout=1,send_flow_rem,udp,"
               "actions=drop")
    mon = Monitor(pyvs, "-O", "OpenFlow13")
    time.sleep(2.0)
    out = "\n".join(_norm(mon.stop()))
    assert "OFPT_FLOW_REMOVED (OF1.3)" in out and "reason=hard" in out


def _tx(sw, port: int) -> int:
    text = sw.ofctl("dump-ports", "BR", str(port)).stdout
    return int(re.search(r"tx pkts=(\d+)", text).group(1))


def test_packet_out_reaches_the_port(pyvs):  # noqa: F811
    pyvs.reset()
    before = _tx(pyvs, 2)
    pyvs.ofctl("packet-out", "BR", f"in_port=1 packet={PACKET} actions=output:2")
    pyvs.ofctl("-O", "OpenFlow13", "packet-out", "BR", "1", "output:2", PACKET)
    pyvs.ofctl("packet-out", "BR", f"in_port=LOCAL packet={PACKET} "
               "actions=ct(commit,zone=3),output:2")
    assert _tx(pyvs, 2) == before + 3
    r = pyvs.ofctl("packet-out", "BR", f"in_port=1 packet={PACKET} actions=group:77",
                   check=False)
    assert r.returncode == 1 and "OFPBAC_BAD_OUT_GROUP" in r.stderr
