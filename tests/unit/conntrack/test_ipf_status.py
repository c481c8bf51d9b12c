"""``dpctl/ipf-get-status [-m]`` text and the ipf settings (conntrack.md §12)."""

import pytest

from pyvswitch.conntrack.ipf import Ipf
from pyvswitch.errors import ConfigError
from tests.unit.conntrack.test_ipf import feed, v4_frag, v4_frags, v6_frags

# Verbatim from OVS's tests (system-userspace-macros.at, DPCTL_MODIFY_FRAGMENTATION and
# DPCTL_CHECK_V6_FRAGMENTATION_PASS).
AFTER_MODIFY = """\
        Fragmentation Module Status
        ---------------------------
        v4 enabled: 1
        v6 enabled: 1
        max num frags (v4/v6): 500
        num frag: 0
        min v4 frag size: 1000
        v4 frags accepted: 0
        v4 frags completed: 0
        v4 frags expired: 0
        v4 frags too small: 0
        v4 frags overlapped: 0
        v4 frags purged: 0
        min v6 frag size: 1280
        v6 frags accepted: 0
        v6 frags completed: 0
        v6 frags expired: 0
        v6 frags too small: 0
        v6 frags overlapped: 0
        v6 frags purged: 0
"""

V6_PASS = """\
        Fragmentation Module Status
        ---------------------------
        v4 enabled: 1
        v6 enabled: 1
        max num frags (v4/v6): 1000
        num frag: 0
        min v4 frag size: 1200
        v4 frags accepted: 0
        v4 frags completed: 0
        v4 frags expired: 0
        v4 frags too small: 0
        v4 frags overlapped: 0
        v4 frags purged: 0
        min v6 frag size: 1280
        v6 frags accepted: 30
        v6 frags completed: 30
        v6 frags expired: 0
        v6 frags too small: 0
        v6 frags overlapped: 0
        v6 frags purged: 0

        Fragment Lists:

"""


def test_status_after_settings():
    ipf = Ipf()
    ipf.set_min_frag(False, 1000)
    ipf.set_max_nfrags(500)
    assert ipf.format_status() == AFTER_MODIFY


def test_status_with_lists_after_v6_traffic():
    ipf = Ipf()
    for ident in range(10):  # ten pings of three fragments each
        assert feed(ipf, v6_frags(ident=ident))[-1].frags
    assert ipf.format_status(verbose=True) == V6_PASS


def test_fragment_list_lines():
    ipf = Ipf()
    feed(ipf, v4_frags(ip_id=7)[:1], zone=9)  # first fragment only
    feed(ipf, v4_frags(ip_id=8)[-1:], zone=9, recirc_id=3)  # last only
    feed(ipf, v4_frags(ip_id=9, size=5000)[1:2])  # a middle one
    feed(ipf, v6_frags(ident=70000)[1:2])
    feed(ipf, [v4_frag(11, 0, b"z" * 1480, True), v4_frag(11, 1480, b"z" * 64040, False)])
    text = ipf.format_status(verbose=True)
    head, _, lists = text.partition("\n        Fragment Lists:\n\n")
    assert "        num frag: 6\n" in head
    assert "        v4 frags accepted: 5\n" in head
    assert "        v6 frags accepted: 1\n" in head
    assert lists.splitlines() == [
        "(src=198.51.100.1,dst=198.51.100.2,recirc_id=0,ip_id=7,dl_type=0x800,zone=9,"
        "nw_proto=17,num_fragments=1,state=first frag)",
        "(src=198.51.100.1,dst=198.51.100.2,recirc_id=3,ip_id=8,dl_type=0x800,zone=9,"
        "nw_proto=17,num_fragments=1,state=last frag)",
        "(src=198.51.100.1,dst=198.51.100.2,recirc_id=0,ip_id=9,dl_type=0x800,zone=0,"
        "nw_proto=17,num_fragments=1,state=other frag)",
        "(src=2001:db8::1,dst=2001:db8::2,recirc_id=0,ip_id=70000,dl_type=0x86dd,zone=0,"
        "nw_proto=0,num_fragments=1,state=other frag)",
        "(src=198.51.100.1,dst=198.51.100.2,recirc_id=0,ip_id=11,dl_type=0x800,zone=0,"
        "nw_proto=17,num_fragments=2,state=reassemble fail)",
    ]


def test_disabled_families_show_zero():
    ipf = Ipf()
    ipf.set_enabled(True, False)
    text = ipf.format_status()
    assert "        v4 enabled: 1\n        v6 enabled: 0\n" in text
    ipf.set_enabled(True, True)
    assert "        v6 enabled: 1\n" in ipf.format_status()


def test_setting_bounds():
    ipf = Ipf()
    for v6 in (False, True):
        with pytest.raises(ConfigError, match="requested minimum fragment size too small"):
            ipf.set_min_frag(v6, 399)
        ipf.set_min_frag(v6, 400)
    assert (ipf.min_v4_frag_size, ipf.min_v6_frag_size) == (400, 400)
    # The per-datagram cap follows the IPv4 minimum: ceil(65475 / (400 - 60)).
    assert ipf.max_v4_list_size == 193
    with pytest.raises(ConfigError, match="setting maximum fragments failed"):
        ipf.set_max_nfrags(5001)
    ipf.set_max_nfrags(5000)
    assert ipf.nfrag_max == 5000
