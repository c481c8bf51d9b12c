"""The four programs end to end: a real pyvswitchd (dummy ports, private directories)
driven by pyvs-vsctl, pyvs-ofctl, pyvs-appctl and the real ovs-appctl."""

import json
import os
import shutil
import stat
import subprocess

import pytest

from pyvswitch.daemon.runner import CommandFailed, SwitchProcess

ICMP_1_TO_2 = (
    "505400000002505400000001080045000054000040004001f6a5c6336401c6336402"
    "0800f7ff00000000" + "00" * 56
)
SETUP = ["add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
         "--", "add-port", "br0", "p1", "--", "add-port", "br0", "p2",
         "--", "set", "Interface", "p2", "ofport_request=5"]


@pytest.fixture
def sw(tmp_path):
    s = SwitchProcess(str(tmp_path))
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(params=["openflow", "control"])
def sw_any(request, tmp_path, monkeypatch):
    """The daemon, with pyvs-ofctl on either transport (OpenFlow, the default, or the
    control socket)."""
    if request.param == "control":
        monkeypatch.setenv("PYVS_OFCTL_TRANSPORT", "control")
    s = SwitchProcess(str(tmp_path))
    s.start()
    try:
        yield s
    finally:
        s.stop()


def fails(fn, *args, status=1):
    with pytest.raises(CommandFailed) as exc:
        fn(*args)
    assert exc.value.status == status
    lines = exc.value.stderr.splitlines()
    assert len(lines) == 1, exc.value.stderr
    return lines[0]


def test_vsctl_edits_are_live_persistent_and_all_or_nothing(sw):
    sw.vsctl(*SETUP)
    show = sw.vsctl("show")
    assert show.splitlines()[1:] == [
        "    Bridge br0",
        "        datapath_type: dummy",
        "        Port br0",
        "            Interface br0",
        "                type: internal",
        "        Port p1",
        "            Interface p1",
        "        Port p2",
        "            Interface p2",
        '    ovs_version: "0.1.0"',
    ]
    assert sw.vsctl("list-br") == "br0\n"
    assert sw.vsctl("list-ports", "br0") == "p1\np2\n"
    assert sw.vsctl("port-to-br", "p2") == "br0\n"
    assert sw.run("pyvs-vsctl", "br-exists", "br9", check=False).returncode == 2
    assert fails(sw.vsctl, "del-br", "br9") == "pyvs-vsctl: no bridge named br9"
    assert fails(sw.vsctl, "add-port", "br0", "p3", "--", "add-port", "br0", "p1") == (
        "pyvs-vsctl: cannot create a port named p1 because a port named p1 already exists "
        "on bridge br0")
    assert fails(sw.vsctl, "frobnicate") == (
        "pyvs-vsctl: unknown command 'frobnicate'; use --help for help")
    assert sw.vsctl("list-ports", "br0") == "p1\np2\n"  # p3 was not added either
    # the daemon applied it: OpenFlow numbers as requested
    assert " 5(p2): " in sw.ofctl("show", "br0")
    saved = json.loads(open(sw.paths.conf).read())
    ifaces = {i["name"]: i.get("ofport") for p in saved["bridges"][0]["ports"]
              for i in p["interfaces"]}
    assert ifaces == {"br0": 65534, "p1": 1, "p2": 5}
    assert stat.S_IMODE(os.stat(sw.paths.ctl).st_mode) == 0o600


def test_ofctl_flows(sw_any, tmp_path):
    sw = sw_any
    sw.vsctl(*SETUP)
    out = sw.ofctl("dump-flows", "br0")
    head, line = out.splitlines()
    assert head == "NXST_FLOW reply (xid=0x4):"
    assert line.startswith(" cookie=0x0, duration=") and line.endswith(
        "table=0, n_packets=0, n_bytes=0, idle_age=0, priority=0 actions=NORMAL")
    sw.ofctl("add-flow", "br0", "priority=10,in_port=p1,tcp,tp_dst=80,actions=drop")
    assert sw.ofctl("--no-stats", "dump-flows", "br0", "tcp") == (
        " priority=10,tcp,in_port=1,tp_dst=80 actions=drop\n")
    assert sw.ofctl("-O", "OpenFlow13", "dump-flows", "br0", "tcp").splitlines()[0] == (
        "OFPST_FLOW reply (OF1.3) (xid=0x6):")
    assert ",in_port=p1," in sw.ofctl("--names", "dump-flows", "br0")
    # errors name the token and the flow (INTERFACE.md), in ovs-ofctl's words otherwise
    assert fails(sw.ofctl, "add-flow", "br0", "tcp,tcp_dts=80,actions=drop") == (
        "pyvs-ofctl: unknown field 'tcp_dts' in \"tcp,tcp_dts=80,actions=drop\"")
    assert fails(sw.ofctl, "dump-flows", "br0", "tcp,tcp_dts=80") == (
        "pyvs-ofctl: unknown field 'tcp_dts' in \"tcp,tcp_dts=80\"")
    assert fails(sw.ofctl, "add-flow", "br0", "in_port=p9,actions=drop") == (
        "pyvs-ofctl: p9: invalid or unknown port for in_port in \"in_port=p9,actions=drop\"")
    assert fails(sw.ofctl, "packet-out", "br0", "1", "frob", "00" * 60) == (
        "pyvs-ofctl: unknown action frob in \"frob\"")
    assert fails(sw.ofctl, "packet-out", "br0", "p9", "output:1", "00" * 60) == (
        "pyvs-ofctl: br0: unknown port `p9'")
    assert fails(sw.ofctl, "packet-out", "br0", "1", "output:2", "00" * 6) == (
        "pyvs-ofctl: Packet data too short for Ethernet")
    assert fails(sw.ofctl, "dump-ports", "br0", "p9") == "pyvs-ofctl: br0: unknown port `p9'"
    assert fails(sw.ofctl, "-O", "OpenFlow13", "add-group", "br0", "group_id=1,type=frob") == (
        "pyvs-ofctl: invalid group type frob in \"group_id=1,type=frob\"")
    assert fails(sw.ofctl, "dump-flows", "br9") == "pyvs-ofctl: br9 is not a bridge or a socket"
    assert fails(sw.ofctl, "add-flow", "br0") == (
        "pyvs-ofctl: 'add-flow' command requires at least 2 arguments")
    # a file with one bad line installs nothing
    f = tmp_path / "flows.txt"
    f.write_text("priority=1,udp,actions=drop\n# comment\npriority=2,bogus=1,actions=drop\n")
    assert fails(sw.ofctl, "add-flows", "br0", str(f)) == (
        f"pyvs-ofctl: {f}:3: unknown field 'bogus' in \"priority=2,bogus=1,actions=drop\"")
    assert "udp" not in sw.ofctl("dump-flows", "br0")
    sw.run("pyvs-ofctl", "add-flows", "br0", "-", input="priority=1,udp,actions=drop\n")
    assert "priority=1,udp actions=drop" in sw.ofctl("dump-flows", "br0")
    sw.ofctl("--strict", "del-flows", "br0", "priority=1,udp")
    assert "udp" not in sw.ofctl("dump-flows", "br0")
    sw.ofctl("mod-flows", "br0", "tcp,actions=output:p2")
    assert "actions=output:5" in sw.ofctl("dump-flows", "br0", "tcp")
    # replace-flows: the tables become exactly the file
    f.write_text("priority=0,actions=NORMAL\npriority=7,arp,actions=NORMAL\n")
    sw.ofctl("replace-flows", "br0", str(f))
    flows = sw.ofctl("--no-stats", "--sort", "dump-flows", "br0")
    assert flows == " priority=0 actions=NORMAL\n priority=7,arp actions=NORMAL\n"
    sw.ofctl("del-flows", "br0")
    assert sw.ofctl("dump-flows", "br0") == "NXST_FLOW reply (xid=0x4):\n"
    assert sw.ofctl("dump-aggregate", "br0") == (
        "NXST_AGGREGATE reply (xid=0x4): packet_count=0 byte_count=0 flow_count=0\n")


def test_ofctl_groups_ports_tables(sw_any):
    sw = sw_any
    sw.vsctl(*SETUP)
    sw.ofctl("add-group", "br0", "group_id=1,type=all,bucket=output:1,bucket=output:5")
    assert sw.ofctl("dump-groups", "br0") == (
        "NXST_GROUP_DESC reply (xid=0x2):\n"
        " group_id=1,type=all,bucket=bucket_id:0,actions=output:1,"
        "bucket=bucket_id:1,actions=output:5\n")
    assert sw.ofctl("-O", "OpenFlow13", "dump-groups", "br0").splitlines()[1] == (
        " group_id=1,type=all,bucket=actions=output:1,bucket=actions=output:5")
    sw.ofctl("del-groups", "br0")
    assert sw.ofctl("dump-groups", "br0") == "NXST_GROUP_DESC reply (xid=0x2):\n"
    ports = sw.ofctl("dump-ports", "br0").splitlines()
    assert ports[0] == "OFPST_PORT reply (xid=0x2): 3 ports"
    assert ports[1] == ("  port LOCAL: rx pkts=0, bytes=0, drop=?, errs=?, frame=?, over=?, "
                        "crc=?")
    tables = sw.ofctl("dump-tables", "br0").splitlines()
    assert tables[:3] == ["OFPST_TABLE reply (xid=0x2):", "  table 0:",
                          "    active=1, lookup=0, matched=0"]
    assert tables[-1] == "  tables 2...253: ditto"
    # packet-out: the frame leaves on p2 (and is counted there)
    sw.ofctl("packet-out", "br0", "CONTROLLER", "output:p2", ICMP_1_TO_2)
    assert "tx pkts=1" in sw.ofctl("dump-ports", "br0", "5")


def test_appctl_and_real_ovs_appctl(sw):
    sw.vsctl(*SETUP)
    assert sw.appctl("version") == "pyvswitchd (pyvswitch) 0.1.0\n"
    assert "  dpctl/dump-conntrack    [-m] [-s] [dp] [zone=N]" in sw.appctl("list-commands")
    sw.appctl("netdev-dummy/receive", "p1", ICMP_1_TO_2)
    flows = sw.appctl("dpctl/dump-flows").splitlines()
    assert flows[0] == "flow-dump from the main thread:"
    assert flows[1].startswith("recirc_id(0),in_port(1),packet_type(ns=0,id=0),"
                               "eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02)")
    assert "    1     0  50:54:00:00:00:01" in sw.appctl("fdb/show", "br0")
    r = sw.run("pyvs-appctl", "fdb/show", "br9", check=False)
    assert (r.returncode, r.stderr) == (
        2, "no such bridge\npyvs-appctl: pyvswitchd: server returned an error\n")
    r = sw.run("pyvs-appctl", "frobnicate", check=False)
    assert r.returncode == 2 and r.stderr.startswith('"frobnicate" is not a valid command')
    assert sw.appctl("dpctl/ct-get-maxconns").strip().isdigit()
    assert sw.appctl("dpctl/dump-conntrack") == ""
    # the real ovs-appctl speaks to our socket
    if shutil.which("ovs-appctl") is None:
        pytest.fail("ovs-appctl is not installed (scripts/setup.sh installs it)")
    r = subprocess.run(["ovs-appctl", "-t", sw.paths.ctl, "ofproto/trace", "br0",
                        "in_port=5,dl_dst=50:54:00:00:00:01"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("Datapath actions: 1\n")  # the MAC learned on p1


def test_show_marks_a_connected_controller(sw, tmp_path):
    import socket
    import time

    path = str(tmp_path / "controller.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(15)
    try:
        sw.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
                 "--", "set-controller", "br0", f"unix:{path}")
        conn, _ = srv.accept()
        conn.sendall(bytes.fromhex("0104000800000001"))  # OFPT_HELLO, OpenFlow 1.3
        deadline = time.monotonic() + 10
        while "is_connected" not in sw.vsctl("show") and time.monotonic() < deadline:
            time.sleep(0.1)
        lines = sw.vsctl("show").splitlines()
        i = lines.index(f'        Controller "unix:{path}"')
        assert lines[i + 1] == "            is_connected: true"
        conn.close()
    finally:
        srv.close()


def test_pcap_ports_replay_and_capture(sw, tmp_path):
    import time

    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.utils import rdpcap, wrpcap

    frames = [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
              IP(src="198.51.100.1", dst="198.51.100.2") / UDP(sport=1000 + i, dport=53) /
              (b"x" * 20) for i in range(5)]
    wrpcap(str(tmp_path / "in.pcap"), frames)
    out = tmp_path / "out.pcap"
    sw.vsctl("add-br", "br0", "--", "set", "bridge", "br0", "datapath_type=dummy",
             "--", "add-port", "br0", "b", "--", "set", "Interface", "b", "type=pcap",
             f"options:tx={out}",
             "--", "add-port", "br0", "a", "--", "set", "Interface", "a", "type=pcap",
             f"options:rx={tmp_path / 'in.pcap'}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "tx pkts=5" not in sw.ofctl("dump-ports", "br0", "1"):
        time.sleep(0.1)
    got = rdpcap(str(out))
    assert [bytes(p) for p in got] == [bytes(f) for f in frames]
