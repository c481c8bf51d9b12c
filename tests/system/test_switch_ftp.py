"""FTP through the stateful firewall with conntrack's FTP helper: a real vsftpd on the
outside host, a real lftp client inside, in active (PORT: the server opens the data
connection inwards, allowed only as +rel) and passive (PASV) mode."""

import hashlib
import os
import re
import subprocess

import pytest

from tests.system import fixtures
from tests.system.fixtures import add_bridge, flows_file, ping_eventually

switch = fixtures.switch  # the pytest fixture
pytestmark = pytest.mark.netns

FTP_FIREWALL = """\
table=0,priority=100,arp,actions=NORMAL
table=0,priority=60,tcp,in_port=1,tp_dst=21,actions=ct(commit,zone=1,alg=ftp),output:2
table=0,priority=50,ip,in_port=1,actions=ct(commit,zone=1),output:2
table=0,priority=50,ip,in_port=2,actions=ct(zone=1,table=1)
table=0,priority=0,actions=drop
table=1,priority=50,ct_state=+trk+est,actions=output:1
table=1,priority=50,ip,ct_state=+trk+rel,actions=ct(commit,zone=1),output:1
table=1,priority=0,actions=drop
"""

VSFTPD_CONF = """\
listen=YES
listen_address={ip}
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root={root}
local_enable=NO
write_enable=NO
pasv_enable=YES
pasv_min_port=30000
pasv_max_port=30100
port_enable=YES
connect_from_port_20=YES
seccomp_sandbox=NO
secure_chroot_dir={empty}
xferlog_enable=NO
dirmessage_enable=NO
hide_ids=YES
"""


@pytest.fixture
def ftp_server(testbed, tmp_path):
    """vsftpd on the outside host, serving one 300 KB file; (host, file digest)."""
    if not os.path.exists("/usr/sbin/vsftpd"):
        pytest.fail("vsftpd is not installed (scripts/setup.sh installs it)")

    def start(host):
        root = tmp_path / "ftproot"
        root.mkdir()
        data = os.urandom(300_000)
        (root / "data.bin").write_bytes(data)
        os.chmod(root, 0o555)
        empty = tmp_path / "empty"
        empty.mkdir()
        conf = tmp_path / "vsftpd.conf"
        conf.write_text(VSFTPD_CONF.format(ip=host.ip, root=root, empty=empty))
        os.chmod(conf, 0o600)
        proc = testbed.popen(host, ["/usr/sbin/vsftpd", str(conf)])
        ok = testbed.run(host, "for i in $(seq 50); do ss -ltn | grep -q ':21 ' && exit 0; "
                               "sleep 0.1; done; exit 1", check=False)
        assert ok.returncode == 0, proc.stderr.read() if proc.poll() is not None else ""
        return hashlib.sha256(data).hexdigest()

    return start


def lftp_get(testbed, host, server_ip, passive, dest):
    script = (f"set ftp:passive-mode {'on' if passive else 'off'}; "
              "set ftp:prefer-epsv false; set net:timeout 4; set net:max-retries 1; "
              "set net:reconnect-interval-base 1; "
              f"get data.bin -o {dest}; bye")
    return testbed.run(host, ["timeout", "30", "lftp", "-e", script, f"ftp://{server_ip}"],
                       timeout=40, check=False)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.mark.parametrize("passive", [False, True], ids=["active", "passive"])
def test_ftp_through_the_firewall(testbed, switch, ftp_server, tmp_path, passive):
    inside = testbed.add_host(ipv4=["198.51.100.1/24"])
    outside = testbed.add_host(ipv4=["198.51.100.2/24"])
    add_bridge(switch, [inside, outside], fail_mode="secure")
    flows_file(switch, "br0", FTP_FIREWALL)
    want = ftp_server(outside)
    assert ping_eventually(testbed, inside, outside.ip)
    dest = tmp_path / "got.bin"
    r = lftp_get(testbed, inside, outside.ip, passive, dest)
    assert r.returncode == 0, (r.stdout, r.stderr, switch.appctl("dpctl/dump-conntrack"))
    assert digest(dest) == want
    ct = switch.appctl("dpctl/dump-conntrack")
    assert re.search(r"^tcp,orig=\(src=198\.51\.100\.1,dst=198\.51\.100\.2,sport=\d+,dport=21\),"
                     r".*,zone=1,protoinfo=\(state=\w+\),helper=ftp$", ct, re.M), ct
    if passive:
        data = r"^tcp,orig=\(src=198\.51\.100\.1,dst=198\.51\.100\.2,sport=\d+,dport=30\d\d\d\)"
    else:
        data = r"^tcp,orig=\(src=198\.51\.100\.2,dst=198\.51\.100\.1,sport=20,dport=\d+\)"
    assert re.search(data, ct, re.M), ct
    if not passive:
        # the inbound data connection got in only because it was related
        rel = [line for line in switch.ofctl("dump-flows", "br0", "table=1").splitlines()
               if "ct_state=+rel+trk" in line]
        assert rel and int(re.search(r"n_packets=(\d+)", rel[0]).group(1)) >= 1


def test_active_ftp_needs_the_helper(testbed, switch, ftp_server, tmp_path):
    """Without alg=ftp the server's data connection is new, not related: it is dropped."""
    inside = testbed.add_host(ipv4=["198.51.100.1/24"])
    outside = testbed.add_host(ipv4=["198.51.100.2/24"])
    add_bridge(switch, [inside, outside], fail_mode="secure")
    flows_file(switch, "br0", FTP_FIREWALL.replace(",alg=ftp", ""))
    ftp_server(outside)
    assert ping_eventually(testbed, inside, outside.ip)
    try:
        r = lftp_get(testbed, inside, outside.ip, False, tmp_path / "got.bin")
        failed = r.returncode != 0
    except subprocess.TimeoutExpired:
        failed = True
    assert failed
    assert not (tmp_path / "got.bin").exists() or (tmp_path / "got.bin").stat().st_size == 0
