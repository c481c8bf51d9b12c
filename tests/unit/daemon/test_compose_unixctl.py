"""Packets composed from flows; the control socket server with a real client socket."""

import os
import selectors
import socket
import stat

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import ICMPv6ND_NS
from scapy.layers.l2 import ARP, Ether

from pyvswitch.control.client import transact
from pyvswitch.control.commands import CommandError, CommandTable
from pyvswitch.daemon.compose import flow_compose, packet_expand
from pyvswitch.daemon.unixctl import UnixctlServer
from pyvswitch.daemon.vlog import Vlog
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import extract_headers
from pyvswitch.flow.match_text import parse_match

FLOWS = [
    "tcp,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_src=198.51.100.1,"
    "nw_dst=203.0.113.9,tp_src=33000,tp_dst=80,nw_ttl=64,tcp_flags=+syn",
    "udp,dl_vlan=10,nw_src=198.51.100.1,nw_dst=198.51.100.2,tp_src=53,tp_dst=5353,nw_ttl=3",
    "icmp,nw_src=198.51.100.1,nw_dst=198.51.100.2,icmp_type=8,icmp_code=0,nw_ttl=64",
    "arp,arp_op=1,arp_spa=198.51.100.1,arp_tpa=198.51.100.2,arp_sha=02:00:00:00:00:01",
    "tcp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,tp_src=1,tp_dst=22,nw_ttl=64",
    "icmp6,icmp_type=135,icmp_code=0,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,"
    "nd_target=2001:db8::2,nd_sll=02:00:00:00:00:01,nw_ttl=255",
]


@pytest.mark.parametrize("text", FLOWS)
def test_composed_packet_extracts_to_the_flow(text):
    match, _ = parse_match(text)
    pkt = flow_compose(list(match.value))
    key = (0,) * L.N_MD + extract_headers(bytearray(pkt))
    for slot in range(L.N_MD, L.N_DP):
        if match.mask[slot]:
            assert key[slot] & match.mask[slot] == match.value[slot], slot
    # the checksums are right: scapy recomputes them equal
    p = Ether(pkt)
    for layer, name in ((IP, "chksum"), (TCP, "chksum"), (UDP, "chksum"), (ICMP, "chksum"),
                        (ICMPv6ND_NS, "cksum")):
        if layer in p:
            want = getattr(p[layer], name)
            delattr(p[layer], name)
            assert getattr(Ether(bytes(p))[layer], name) == want
    if ARP in p:
        assert p[ARP].psrc == "198.51.100.1"
    if ICMPv6ND_NS in p:
        assert p[ICMPv6ND_NS].tgt == "2001:db8::2"


def test_icmp_echo_is_the_size_ovs_composes():
    match, _ = parse_match(FLOWS[2])
    assert len(flow_compose(list(match.value))) == 106


def test_payload_only_where_ovs_puts_one():
    """As OVS: a SYN carries no data (54 bytes), a plain segment the 64 counting bytes;
    ``packet_expand`` pads to a length and fixes IP/UDP lengths and checksums."""
    syn = list(parse_match(FLOWS[0])[0].value)
    assert len(flow_compose(syn)) == 54
    ack = list(parse_match(FLOWS[0].replace("+syn", "+ack"))[0].value)
    assert flow_compose(ack)[-64:] == bytes(range(64))
    udp = list(parse_match(FLOWS[1])[0].value)
    bare = flow_compose(udp, None, 0)
    big = packet_expand(bare, udp, 200)
    p = Ether(big)
    assert len(big) == 200 and p[IP].len == 200 - 18 and p[UDP].len == 200 - 18 - 20
    for layer in (IP, UDP):
        want = p[layer].chksum
        del p[layer].chksum
        assert Ether(bytes(p))[layer].chksum == want
    assert packet_expand(bare, udp, 10) == bare


def _serve(sel, rounds=20):
    for _ in range(rounds):
        for key, mask in sel.select(0.01):
            key.data(mask)


def test_control_socket_answers_and_is_private(tmp_path):
    path = str(tmp_path / "run" / "d.ctl")
    table = CommandTable()

    def fail(args):
        raise CommandError("no such bridge")

    table.register("echo", "ARG...", 0, 5, lambda args: " ".join(args))
    table.register("fail", "", 0, 0, fail)
    sel = selectors.DefaultSelector()
    srv = UnixctlServer(path, table, sel, Vlog(modules=("unixctl",)))
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        c = socket.socket(socket.AF_UNIX)
        c.connect(path)
        c.setblocking(False)
        from pyvswitch.control.client import UnixctlClient

        client = UnixctlClient()
        c.sendall(client.request("echo", ["a", "b"]))
        _serve(sel)
        assert client.receive_data(c.recv(65536)) == (True, "a b\n")
        c.sendall(client.request("fail", []))
        _serve(sel)
        assert client.receive_data(c.recv(65536)) == (False, "no such bridge\n")
        c.sendall(b'{"nonsense"')
        c.shutdown(socket.SHUT_WR)
        _serve(sel)
        assert c.recv(100) == b""  # a broken stream is closed, the server survives
        c.close()
        c2 = socket.socket(socket.AF_UNIX)
        c2.connect(path)
        c2.settimeout(0.01)
        c2.sendall(UnixctlClient().request("version", []))
        _serve(sel)
        c2.settimeout(2)
        assert b"pyvswitchd" in c2.recv(65536)
        c2.close()
    finally:
        srv.close()
        sel.close()
    assert not os.path.exists(path)


def test_stale_socket_file_is_replaced(tmp_path):
    path = str(tmp_path / "d.ctl")
    old = socket.socket(socket.AF_UNIX)
    old.bind(path)
    old.close()  # a daemon killed with SIGKILL leaves this behind
    sel = selectors.DefaultSelector()
    srv = UnixctlServer(path, CommandTable(), sel, Vlog(modules=("unixctl",)))
    try:
        c = socket.socket(socket.AF_UNIX)
        c.connect(path)
        c.settimeout(0.01)
        c.sendall(b'{"method":"version","params":[],"id":0}')
        _serve(sel)
        c.settimeout(2)
        assert b'"error":null' in c.recv(65536)
        c.close()
    finally:
        srv.close()
        sel.close()
    _ = transact  # the CLI path is covered end to end in tests/unit/cli
