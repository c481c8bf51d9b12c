"""Differential test: the same ovs-vsctl command lines through the real ovs-vsctl (on a
private ovsdb-server) and through our config layer must print the same output, the
same error text and exit with the same status."""

import os
import subprocess
import time

import pytest

from pyvswitch import __version__
from pyvswitch.config.model import Config
from pyvswitch.config.vsctl import VsctlExit, execute, parse_commands
from pyvswitch.errors import ConfigError

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"

# Each entry is one ovs-vsctl invocation (argv after the global options); state carries
# over from one to the next on both sides.
SCRIPT = [
    ["add-br", "br0"],
    ["add-br", "br0"],
    ["--may-exist", "add-br", "br0"],
    ["add-br", ""],
    ["add-br", "a", "b"],
    ["add-br", "a", "b", "c", "d"],
    ["del-br", "br9"],
    ["--if-exists", "del-br", "br9"],
    [
        "add-port",
        "br0",
        "p1",
        "--",
        "set",
        "Interface",
        "p1",
        "type=dummy",
        "ofport_request=5",
        "options:foo=bar",
    ],
    ["add-port", "br0", "p1"],
    ["add-port", "br0", "br0"],
    ["add-port", "br9", "p2"],
    ["add-port", "br0", ""],
    ["add-port", "br0"],
    ["--may-exist", "add-port", "br0", "p1"],
    ["add-br", "br1"],
    ["add-br", "p1"],
    ["--may-exist", "add-port", "br1", "p1"],
    [
        "add-port",
        "br1",
        "x0",
        "tag=10",
        "trunks=1,2,3",
        "--",
        "set",
        "interface",
        "x0",
        "type=pcap",
        "options:rx=/tmp/a.pcap",
        "options:tx=/tmp/b.pcap",
    ],
    ["add-port", "br1", "x1", "badcol=3"],
    ["add-port", "br1", "x1", "tag=5000"],
    ["list-br"],
    ["--real", "list-br"],
    ["--fake", "list-br"],
    ["list-ports", "br0"],
    ["list-ports", "br1"],
    ["list-ports", "br9"],
    ["list-ifaces", "br1"],
    ["port-to-br", "p1"],
    ["port-to-br", "br0"],
    ["port-to-br", "p9"],
    ["iface-to-br", "x0"],
    ["iface-to-br", "br1"],
    ["br-exists", "br0"],
    ["br-exists", "br9"],
    ["br-exists"],
    ["br-to-vlan", "br0"],
    ["br-to-parent", "br1"],
    ["del-port", "p9"],
    ["--if-exists", "del-port", "br0", "p9"],
    ["del-port", "br0"],
    ["--if-exists", "del-port", "br0"],
    ["del-port", "br1", "p1"],
    ["del-port", "br9", "p1"],
    ["get", "Interface", "p1", "ofport_request", "type", "options", "options:foo", "name"],
    ["get", "Interface", "p1", "options:nokey"],
    ["--if-exists", "get", "Interface", "p1", "options:nokey"],
    ["get", "Interface", "p9", "type"],
    ["--if-exists", "get", "Interface", "p9", "type"],
    ["get", "Interface", "p1", "type:x"],
    ["get", "Bridge", "br0", "fail_mode", "datapath_type", "other_config", "protocols"],
    ["get", "Nosuch", "x", "y"],
    ["get", "Interface", "p1", "nosuchcol"],
    ["set", "Interface", "p1", "ofport_request=0"],
    ["set", "Interface", "p1", "ofport_request=70000"],
    ["set", "Interface", "p1", "ofport_request=abc"],
    ["set", "Interface", "p1", "ofport_request=[]"],
    ["get", "Interface", "p1", "ofport_request"],
    ["set", "Interface", "p1", "mtu_request=0"],
    ["set", "Interface", "p1", "mtu_request=9000"],
    ["set", "Bridge", "br0", "fail_mode=foo"],
    ["set", "Bridge", "br0", "fail_mode=secure", "datapath_type=netdev"],
    ["set", "Bridge", "br9", "fail_mode=secure"],
    ["--if-exists", "set", "Bridge", "br9", "fail_mode=secure"],
    ["set", "Bridge", "br0", "nosuch=1"],
    ["set", "Bridge", "br0", "other_config"],
    ["set", "Bridge", "br0", "other_config:x"],
    ["set", "Bridge", "br0", "other_config:x="],
    ["set", "Bridge", "br0", "name=x"],
    ["set", "Bridge", "br0", "fail_mode:k=v"],
    ["set", "Bridge", "br0", "other_config={a=b,c=d}", 'other_config:e="x y"'],
    ["get", "Bridge", "br0", "other_config", "other_config:e"],
    ["set", "bridge", "br0", "fail-mode=standalone"],
    ["set", "Bridge", "br0", "fail_=secure"],
    ["set", "Bridge", "br0", "protocols=OpenFlow10,OpenFlow13"],
    ["set", "Bridge", "br0", "protocols=OpenFlow99"],
    ["get", "Bridge", "br0", "protocols", "fail_mode"],
    ["set", "Bridge", "br0", "external-ids:k=v"],
    ["br-set-external-id", "br0", "k2", "v2"],
    ["br-get-external-id", "br0"],
    ["br-get-external-id", "br0", "k"],
    ["br-get-external-id", "br0", "nokey"],
    ["br-set-external-id", "br0", "k"],
    ["br-get-external-id", "br0"],
    ["set", "Port", "x0", "vlan_mode=bad"],
    ["set", "Port", "x0", "tag=-1"],
    ["set", "Port", "x0", "trunks=5-3"],
    ["set", "Port", "x0", "trunks=10-12", "vlan_mode=trunk"],
    ["get", "Port", "x0", "trunks", "tag", "vlan_mode"],
    ["add", "Port", "x0", "trunks", "1", "2"],
    ["remove", "Port", "x0", "trunks", "11"],
    ["get", "Port", "x0", "trunks"],
    ["add", "Interface", "p1", "options", "foo=new", "z=1"],
    ["get", "Interface", "p1", "options"],
    ["remove", "Interface", "p1", "options", "z", "foo=bar"],
    ["get", "Interface", "p1", "options"],
    ["remove", "Interface", "p1", "options", "foo=other"],
    ["get", "Interface", "p1", "options"],
    ["clear", "Interface", "p1", "options", "ofport_request"],
    ["clear", "Interface", "p1", "type"],
    ["clear", "Port", "x0", "name"],
    ["get", "Interface", "p1", "options", "ofport_request"],
    ["set-fail-mode", "br0", "x"],
    ["set-fail-mode", "br1", "secure"],
    ["get-fail-mode", "br1"],
    ["del-fail-mode", "br1"],
    ["get-fail-mode", "br1"],
    ["set-controller", "br0", "tcp:127.0.0.1:6653", "ptcp:6654"],
    ["get-controller", "br0"],
    ["get-controller", "br9"],
    ["del-controller", "br0"],
    ["get-controller", "br0"],
    ["foo"],
    ["--foo", "add-br", "x"],
    ["--", "--foo", "add-br", "x"],
    ["--", "--may-exist", "del-br", "x"],
    ["--"],
    ["set", "Bridge"],
    ["del-port", "a", "b", "--if-exists"],
    ["add-br", "br5", "--", "add-br", "br5"],
    ["list-br"],
    [
        "add-br",
        "br5",
        "--",
        "add-port",
        "br5",
        "q1",
        "--",
        "set",
        "Interface",
        "q1",
        "ofport_request=abc",
    ],
    ["list-br"],
    ["add-br", "br5", "--", "list-br", "--", "add-port", "br5", "q1", "--", "list-ports", "br5"],
    ["del-br", "br0", "--", "list-br"],
    ["iface-to-br", "p1"],
    ["add-port", "br1", "p1", "--", "get", "Interface", "p1", "ofport_request", "type"],
    ["comment", "anything", "goes"],
]


def ours(cfg: Config, argv: list[str]) -> tuple[Config, tuple[int, str, str]]:
    try:
        cmds = parse_commands(argv)
        new, outputs, _ = execute(cfg, cmds)
    except VsctlExit as e:
        return cfg, (e.status, "", "")
    except ConfigError as e:
        return cfg, (1, "", f"ovs-vsctl: {e}\n")
    return new, (0, "".join(outputs), "")


@pytest.fixture(scope="module")
def ovsdb(tmp_path_factory):
    d = tmp_path_factory.mktemp("ovsdb")
    db = d / "conf.db"
    sock = d / "db.sock"
    subprocess.run(["ovsdb-tool", "create", str(db), SCHEMA], check=True, timeout=30)
    env = dict(os.environ, OVS_RUNDIR=str(d), OVS_DBDIR=str(d), OVS_LOGDIR=str(d))
    proc = subprocess.Popen(
        ["ovsdb-server", f"--remote=punix:{sock}", "--no-chdir", str(db)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            if sock.exists():
                break
            time.sleep(0.05)
        assert sock.exists(), "ovsdb-server did not start"
        yield ["ovs-vsctl", f"--db=unix:{sock}", "--no-wait"], env
    finally:
        proc.terminate()
        proc.wait(10)


def test_same_as_real_ovs_vsctl(ovsdb):
    base, env = ovsdb
    subprocess.run([*base, "init"], check=True, env=env, timeout=30)
    cfg = Config()
    mismatches = []
    for argv in SCRIPT:
        r = subprocess.run([*base, *argv], capture_output=True, text=True, env=env, timeout=30)
        cfg, mine = ours(cfg, argv)
        theirs = (r.returncode, r.stdout, r.stderr)
        if mine != theirs:
            mismatches.append(f"{argv}:\n  ovs:  {theirs}\n  ours: {mine}")
    assert not mismatches, "\n".join(mismatches)


def _canonical_show(text: str) -> list:
    """The show tree with siblings sorted (OVS orders rows by UUID) and the UUID line
    dropped, so two shows of the same configuration compare equal."""
    lines = text.splitlines()[1:]

    def build(i: int, indent: int) -> tuple[list, int]:
        out = []
        while i < len(lines):
            depth = len(lines[i]) - len(lines[i].lstrip(" "))
            if depth < indent:
                break
            children, j = build(i + 1, depth + 4)
            out.append((lines[i].strip(), children))
            i = j
        return sorted(out), i

    return build(0, 4)[0]


SHOW_SCRIPT = [
    ["add-br", "sb0"],
    [
        "add-port",
        "sb0",
        "p1",
        "tag=10",
        "trunks=1,2",
        "--",
        "set",
        "Interface",
        "p1",
        "type=dummy",
        "options:foo=bar",
        "options:path=/tmp/x y",
    ],
    ["add-port", "sb0", "p2"],
    ["set-controller", "sb0", "tcp:127.0.0.1:6653", "ptcp:6654"],
    ["set-fail-mode", "sb0", "secure"],
    ["set", "Bridge", "sb0", "datapath_type=netdev"],
    ["add-br", "sb1"],
    ["add-port", "sb1", "x0", "--", "set", "Interface", "x0", "type=internal"],
]


def test_show_same_as_real_ovs_vsctl(ovsdb):
    base, env = ovsdb
    subprocess.run(
        [*base, "--", "--if-exists", "del-br", "br1", "--", "--if-exists", "del-br", "br5"],
        check=True,
        env=env,
        timeout=30,
    )
    cfg = Config()
    for argv in SHOW_SCRIPT:
        subprocess.run([*base, *argv], check=True, env=env, timeout=30)
        cfg, (rc, _, err) = ours(cfg, argv)
        assert rc == 0, err
    # OVS's start-up script records the version; ours is the package's
    subprocess.run([*base, "set", "Open_vSwitch", ".", f"ovs_version={__version__}"],
                   check=True, env=env, timeout=30)
    theirs = subprocess.run([*base, "show"], capture_output=True, text=True, env=env, timeout=30)
    _, (rc, mine, _) = ours(cfg, ["show"])
    assert mine.splitlines()[0] == cfg.uuid
    assert _canonical_show(mine) == _canonical_show(theirs.stdout)
    assert mine.endswith(f'\n    ovs_version: "{__version__}"\n')
