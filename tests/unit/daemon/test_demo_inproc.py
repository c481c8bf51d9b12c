"""The demo's in-process mode (what a non-root user sees) gives every expected verdict."""

import subprocess
import sys

from pyvswitch.demo import FIREWALL
from pyvswitch.demo_inproc import InProcessLab


def test_in_process_lab_verdicts():
    lab = InProcessLab(FIREWALL)
    seen = []
    assert lab.exchange(lab.ping(lab.inside, lab.outside, 1), lambda *a: seen.append(a[3]))
    assert lab.exchange(lab.tcp_session(lab.inside, lab.outside, 40000, 80, b"hi"),
                        lambda *a: None)
    assert seen == [["outside"], ["inside"]]
    assert not lab.exchange(lab.ping(lab.outside, lab.inside, 2)[:1], lambda *a: None)
    assert not lab.exchange(lab.tcp_session(lab.outside, lab.inside, 40001, 22, b"")[:1],
                            lambda *a: None)
    ct = lab.dump_conntrack()
    assert ("tcp,orig=(src=198.51.100.1,dst=198.51.100.2,sport=40000,dport=80),"
            "reply=(src=198.51.100.2,dst=198.51.100.1,sport=80,dport=40000),zone=1,"
            "protoinfo=(state=ESTABLISHED)") in ct
    assert "dport=22" not in ct
    assert "ct_state(+est+trk),recirc_id(0x1),in_port(2)" in lab.dump_megaflows()


def test_demo_in_process_runs_to_the_end():
    r = subprocess.run([sys.executable, "-m", "pyvswitch.demo", "--in-process", "--no-color"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    assert r.stdout.rstrip().endswith("Every verdict was the expected one.")
    assert "\033[" not in r.stdout


def test_non_root_says_so_and_runs_in_process(monkeypatch, capsys):
    """What ``./demo`` does for a normal user: it explains why, then runs the same policy
    in process (and without colour when the output is not a terminal)."""
    from pyvswitch import demo

    monkeypatch.setattr(demo.os, "geteuid", lambda: 1000)
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    assert ("Running in-process (not running as root, so no network namespaces): same "
            "policy, packets injected into the switch.") in out
    assert out.rstrip().endswith("Every verdict was the expected one.")
    assert "\033[" not in out
