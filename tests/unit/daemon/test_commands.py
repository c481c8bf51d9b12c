"""The daemon's control commands in process: a Daemon with a real Switch and dummy ports,
requests dispatched through the one command table (no sockets)."""

import re

import pytest

from pyvswitch.config.vsctl import parse_commands
from pyvswitch.daemon.loop import Daemon
from pyvswitch.daemon.paths import Paths
from pyvswitch.daemon.vlog import Vlog
from pyvswitch.packet import headers

SYN = ("in_port(1),eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02),eth_type(0x0800),"
       "ipv4(src=198.51.100.1,dst=198.51.100.2,proto=6,tos=0,ttl=64,frag=no),"
       "tcp(src=40000,dst=80),tcp_flags(syn)")
FW = ["priority=100,arp,actions=NORMAL",
      "priority=50,in_port=1,ip,actions=ct(commit,zone=1),output:2",
      "priority=50,in_port=2,ip,actions=ct(zone=1,table=1)",
      "table=1,priority=50,ct_state=+trk+est,ip,actions=output:1",
      "table=1,priority=0,actions=drop"]


@pytest.fixture
def d(tmp_path):
    limit = headers.get_vlan_limit()
    daemon = Daemon(Paths(str(tmp_path / "r"), str(tmp_path / "d"), str(tmp_path / "l")),
                    Vlog(modules=("bridge", "vswitchd", "unixctl")))
    daemon.start()
    daemon.transact(parse_commands(
        "add-br br0 -- set bridge br0 datapath_type=dummy -- add-port br0 p1 -- "
        "add-port br0 p2".split()))
    yield daemon
    daemon.stop()
    headers.set_vlan_limit(limit)


def ok(d, *args):
    good, text = d.table.dispatch(args[0], list(args[1:]))
    assert good, text
    return text


def err(d, *args):
    good, text = d.table.dispatch(args[0], list(args[1:]))
    assert not good, text
    return text


def firewall(d):
    ok(d, "ofctl/del-flows", "br0")
    ok(d, "ofctl/add-flows", "br0", *FW)


def test_dpctl_show_and_flows(d):
    show = ok(d, "dpctl/show")
    assert show.splitlines()[0] == "netdev@ovs-netdev:"
    assert "  port 1: p1 (dummy)" in show and "  port 100: br0 (dummy)" not in show
    assert "    RX packets:0 errors:? dropped:? overruns:? frame:?" in ok(d, "dpctl/show", "-s")
    assert err(d, "dpctl/show", "foo") == (
        "pyvswitchd: opening datapath foo failed (No such device)\n")
    ok(d, "netdev-dummy/receive", "p1", SYN)
    flows = ok(d, "dpctl/dump-flows")
    assert flows.startswith("flow-dump from the main thread:\nrecirc_id(0),in_port(1),")
    verbose = ok(d, "dpctl/dump-flows", "-m")
    assert re.search(r"^ufid:[0-9a-f-]{36}, .*in_port\(p1\)", verbose, re.M)
    assert ok(d, "dpctl/dump-flows", "ovs-netdev") == flows
    assert err(d, "dpctl/dump-flows", "foo") == (
        "pyvswitchd: datapath not found (Invalid argument)\n")
    assert ok(d, "dpctl/del-flows") == ""
    assert ok(d, "dpctl/dump-flows") == ""


def test_conntrack_commands(d):
    firewall(d)
    ok(d, "netdev-dummy/receive", "p1", SYN)
    line = ("tcp,orig=(src=198.51.100.1,dst=198.51.100.2,sport=40000,dport=80),"
            "reply=(src=198.51.100.2,dst=198.51.100.1,sport=80,dport=40000),zone=1,"
            "protoinfo=(state=SYN_SENT)")
    assert ok(d, "dpctl/dump-conntrack") == line + "\n"
    assert ok(d, "dpctl/dump-conntrack", "zone=1") == line + "\n"
    assert ok(d, "dpctl/dump-conntrack", "zone=2") == ""
    assert ok(d, "dpctl/dump-conntrack", "-m").startswith("tcp,orig=")
    assert err(d, "dpctl/dump-conntrack", "-z") == "Unrecognized option -z\n"
    assert ok(d, "dpctl/ct-stats-show") == "Connections Stats:\n    Total: 1\n  TCP: 1\n"
    assert ok(d, "dpctl/ct-get-nconns") == "1\n"
    assert ok(d, "dpctl/ct-set-maxconns", "1000") == "setting maxconns successful\n"
    assert ok(d, "dpctl/ct-get-maxconns") == "1000\n"
    assert err(d, "dpctl/ct-set-maxconns", "abc") == (
        "pyvswitchd: maxconns missing or malformed (Invalid argument)\n")
    assert ok(d, "dpctl/ct-set-limits", "zone=1,limit=5") == ""
    assert ok(d, "dpctl/ct-get-limits") == "default limit=0\nzone=1,limit=5,count=0\n"
    assert ok(d, "dpctl/ct-del-limits", "zone=1") == ""
    assert err(d, "dpctl/flush-conntrack", "bogus") == (
        "pyvswitchd: field bogus missing value (Invalid argument)\n")
    full = ("ct_nw_src=198.51.100.9,ct_nw_dst=198.51.100.2,ct_nw_proto=6,ct_tp_src=1,"
            "ct_tp_dst=80")
    assert err(d, "dpctl/flush-conntrack", "zone=1", full) == (
        "pyvswitchd: failed to flush conntrack (No such file or directory)\n")
    assert ok(d, "dpctl/flush-conntrack", "zone=2") == ""
    assert ok(d, "dpctl/ct-get-nconns") == "1\n"
    ok(d, "dpctl/flush-conntrack", "zone=1", full.replace("198.51.100.9", "198.51.100.1")
       .replace("ct_tp_src=1,", "ct_tp_src=40000,"))
    assert ok(d, "dpctl/dump-conntrack") == ""
    assert "v4 enabled: 1" in ok(d, "dpctl/ipf-get-status")


def test_trace_forms(d):
    firewall(d)
    out = ok(d, "ofproto/trace", "br0", "in_port=2,tcp,nw_src=198.51.100.2,"
             "nw_dst=198.51.100.1,tp_dst=22")
    assert out.startswith("Flow: tcp,in_port=2,")
    assert "resume conntrack with default ct_state=trk|new" in out
    assert out.endswith("Datapath actions: drop\n")
    est = ok(d, "ofproto/trace", "br0", "in_port=2,tcp,nw_src=198.51.100.2,"
             "nw_dst=198.51.100.1", "--ct-next", "trk,est")
    assert est.endswith("Datapath actions: 1\n")
    # the datapath-flow form finds the bridge from the input port
    odp = ok(d, "ofproto/trace", SYN.replace("in_port(1)", "in_port(2)"))
    assert "ct(zone=1),recirc(0x" in odp
    gen = ok(d, "ofproto/trace", "br0", "in_port=1,tcp,nw_src=198.51.100.1,"
             "nw_dst=198.51.100.2,tp_dst=80", "-generate")
    assert "Datapath actions: ct(commit,zone=1),2" in gen
    # -generate builds the packet with the payload asked for (--l7 hex, --l7-len N)
    assert ok(d, "ofproto/trace", "br0", "in_port=1,udp,nw_src=198.51.100.1,"
              "nw_dst=198.51.100.2", "-generate", "--l7", "deadbeef").startswith("Flow: ")
    assert err(d, "ofproto/trace", "br0", "in_port=1", "-generate", "--l7", "zz") == (
        "Trailing garbage in packet data\n")
    assert err(d, "ofproto/trace", "br0", "in_port=1", "--l7-len", "70000") == (
        "70000: too much L7 data\n")
    assert err(d, "ofproto/trace", "br9", "in_port=1") == "br9: unknown bridge\n"
    assert err(d, "ofproto/trace", "br0") == (
        "syntax error at br0 (or the bridge name was omitted)\n")
    assert err(d, "ofproto/trace", "br0", "in_port=1", "zz") == (
        "Trailing garbage in packet data\n")
    assert err(d, "ofproto/trace", "br0", "in_port=1", "--ct-next") == (
        "Missing argument for option --ct-next\n")
    assert err(d, "ofproto/trace", "br0", "in_port=1", "--frob") == "--frob: unknown option\n"
    assert err(d, "ofproto/trace", "in_port(7),eth_type(0x800)") == (
        "no OpenFlow port for datapath port 7\n")


def test_basic_commands(d):
    ok(d, "netdev-dummy/receive", "p1", SYN)
    assert err(d, "netdev-dummy/receive", "p9", "00" * 60) == "no such dummy netdev\n"
    assert err(d, "netdev-dummy/receive", "p1", "zz") == "syntax error at zz\n"
    assert err(d, "netdev-dummy/receive", "p1", SYN, "--len", "20") == (
        "too small packet len\n")
    before = d.ports.get("p1").stats().rx_bytes
    ok(d, "netdev-dummy/receive", "p1", "--qid", "0", SYN, "--len", "300")
    assert d.ports.get("p1").stats().rx_bytes == before + 300
    fdb = ok(d, "fdb/show", "br0")
    assert fdb.splitlines()[1].split()[:3] == ["1", "0", "02:00:00:00:00:01"]
    assert err(d, "fdb/show", "br9") == "no such bridge\n"
    assert ok(d, "fdb/flush") == "table successfully flushed\n"
    assert ok(d, "ofproto/list") == "br0\n"
    assert re.fullmatch(r"conntrack:\d+ ports:3 rules:1 udpif keys:\d+\n",
                        ok(d, "memory/show"))
    assert ok(d, "coverage/show").startswith("Event coverage, avg rate over last:")
    ok(d, "vlog/set", "bridge:file:dbg")
    assert re.search(r"^bridge\s+WARN\s+INFO\s+DBG$", ok(d, "vlog/list"), re.M)
    assert err(d, "vlog/set", "nonsense") == 'no destination, level, or module "nonsense"\n'
    assert err(d, "vlog/reopen") == "Logging to file not configured\n"
    assert err(d, "exit", "--frob") == '"exit" command has unknown option "--frob"\n'
    assert not d.exiting
    assert ok(d, "exit") == ""
    assert d.exiting


def test_handler_bug_is_an_error_reply(d, monkeypatch):
    br = d.switch.bridges["br0"]
    monkeypatch.setattr(br, "fdb_show", lambda *a, **k: 1 / 0)
    text = err(d, "fdb/show", "br0")
    assert text == "fdb/show: internal error (ZeroDivisionError: division by zero)\n"


def test_ofctl_all_or_nothing_on_refusal(d):
    before = ok(d, "ofctl/dump-flows", "--no-stats", "br0")
    # the second flow is refused by the switch (group 9 does not exist): nothing stays
    text = err(d, "ofctl/add-flows", "br0", "priority=5,udp,actions=drop",
               "priority=6,tcp,actions=group:9")
    assert text.strip()
    assert ok(d, "ofctl/dump-flows", "--no-stats", "br0") == before
    ok(d, "ofctl/add-flows", "br0", "priority=5,udp,actions=drop",
       "priority=6,tcp,actions=drop")
    assert len(ok(d, "ofctl/dump-flows", "--no-stats", "br0").splitlines()) == 3
