"""Key extraction checked against real OVS: ``ovs-ofctl parse-pcap`` runs OVS's own
``flow_extract`` on a pcap and prints each packet's flow.

The frames are the sample packets, every prefix of them (raw, and with the IP length
fields rewritten so that a cut reaches the transport and extension headers), and
seeded random corruptions of their headers.  Every field OVS prints must equal ours;
every field it leaves out must be zero in ours, except the few slots OVS never prints
(the VLAN TPIDs, ND's option type in ``TCP_FLAGS``, ND fields of ICMPv6 inside IPv4).
"""

from __future__ import annotations

import ipaddress
import random
import shutil
import struct
import subprocess

import pytest

from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import flow_extract
from pyvswitch.packet import headers
from tests.unit.packet.samples import samples, truncations

OVS_OFCTL = shutil.which("ovs-ofctl")

_PROTO_WORDS = {
    "ip": (0x0800, None), "icmp": (0x0800, 1), "tcp": (0x0800, 6), "udp": (0x0800, 17),
    "sctp": (0x0800, 132), "ipv6": (0x86DD, None), "icmp6": (0x86DD, 58),
    "tcp6": (0x86DD, 6), "udp6": (0x86DD, 17), "sctp6": (0x86DD, 132),
    "arp": (0x0806, None), "rarp": (0x8035, None), "mpls": (0x8847, None),
    "mplsm": (0x8848, None),
}
_MAC_KEYS = {"dl_src": L.ETH_SRC, "dl_dst": L.ETH_DST, "arp_sha": L.ARP_SHA,
             "arp_tha": L.ARP_THA, "nd_sll": L.ARP_SHA, "nd_tll": L.ARP_THA}
_IP4_KEYS = {"nw_src": L.NW_SRC, "nw_dst": L.NW_DST, "arp_spa": L.NW_SRC,
             "arp_tpa": L.NW_DST}
_IP6_KEYS = {"ipv6_src": L.IPV6_SRC, "ipv6_dst": L.IPV6_DST, "nd_target": L.ND_TARGET}
_INT_KEYS = {"dl_type": L.ETH_TYPE, "nw_proto": L.NW_PROTO, "arp_op": L.NW_PROTO,
             "nw_ttl": L.NW_TTL, "tp_src": L.TP_SRC, "tp_dst": L.TP_DST,
             "icmp_type": L.TP_SRC, "icmp_code": L.TP_DST, "ipv6_label": L.IPV6_LABEL,
             "vlan_tci": L.VLAN_TCI, "vlan_tci1": L.VLAN2_TCI}
_FRAG = {"no": 0, "first": 1, "later": 3}
_TCP_FLAG_BITS = {name: bit for bit, name in L.TCP_FLAG_NAMES}


def _parse_ovs_flow(line: str) -> dict[int, int]:
    """ovs-ofctl's flow text (as parse-pcap prints it) to ``{slot: value}``."""
    out: dict[int, int] = {}
    vlan_parts: dict[str, int] = {}
    for item in line.split(","):
        if item in _PROTO_WORDS:
            eth_type, proto = _PROTO_WORDS[item]
            out[L.ETH_TYPE] = eth_type
            if proto is not None:
                out[L.NW_PROTO] = proto
            continue
        key, value = item.split("=", 1)
        if key == "in_port" or key.startswith("mpls_"):
            continue  # MPLS labels have no slots
        if key in _MAC_KEYS:
            out[_MAC_KEYS[key]] = int(value.replace(":", ""), 16)
        elif key in _IP4_KEYS:
            out[_IP4_KEYS[key]] = int(ipaddress.IPv4Address(value))
        elif key in _IP6_KEYS:
            out[_IP6_KEYS[key]] = int(ipaddress.IPv6Address(value))
        elif key in _INT_KEYS:
            out[_INT_KEYS[key]] = int(value, 0)
        elif key in ("dl_vlan", "dl_vlan_pcp", "dl_vlan1", "dl_vlan_pcp1"):
            vlan_parts[key] = int(value)
        elif key == "nw_tos":
            out[L.NW_TOS] = out.get(L.NW_TOS, 0) | int(value)
        elif key == "nw_ecn":
            out[L.NW_TOS] = out.get(L.NW_TOS, 0) | int(value)
        elif key == "nw_frag":
            out[L.NW_FRAG] = _FRAG[value]
        elif key == "tcp_flags":
            bits = 0
            if value != "0":
                for name in value.split("|"):
                    bits |= _TCP_FLAG_BITS[name]
            out[L.TCP_FLAGS] = bits
        else:
            raise AssertionError(f"unexpected key {key!r} in {line!r}")
    if "dl_vlan" in vlan_parts:
        out[L.VLAN_TCI] = 0x1000 | vlan_parts["dl_vlan_pcp"] << 13 | vlan_parts["dl_vlan"]
    if "dl_vlan1" in vlan_parts:
        out[L.VLAN2_TCI] = 0x1000 | vlan_parts["dl_vlan_pcp1"] << 13 | vlan_parts["dl_vlan1"]
    return out


def _pcap(frames: list[bytes]) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for frame in frames:
        out.append(struct.pack("<IIII", 0, 0, len(frame), len(frame)))
        out.append(frame)
    return b"".join(out)


def _ovs_flows(frames: list[bytes], tmp_path) -> list[dict[int, int]]:
    path = tmp_path / "frames.pcap"
    path.write_bytes(_pcap(frames))
    res = subprocess.run([OVS_OFCTL, "parse-pcap", str(path)], capture_output=True,
                         text=True, timeout=120, check=True)
    lines = res.stdout.splitlines()
    assert len(lines) == len(frames)
    return [_parse_ovs_flow(line) for line in lines]


def _never_printed(ours: tuple[int, ...]) -> set[int]:
    """Slots whose value OVS's flow text cannot show for this flow."""
    skip = {L.VLAN_TPID, L.VLAN2_TPID}
    if ours[L.NW_PROTO] == L.IPPROTO_ICMPV6 and ours[L.TP_SRC] in (135, 136):
        skip.add(L.TCP_FLAGS)  # nd_options_type
        if ours[L.ETH_TYPE] != L.ETH_TYPE_IPV6:
            skip |= {L.ND_TARGET, L.ARP_SHA, L.ARP_THA}
    return skip


def _corruptions(frame: bytes, rng: random.Random, n: int) -> list[bytes]:
    out = []
    for _ in range(n):
        buf = bytearray(frame)
        for _ in range(rng.randint(1, 3)):
            if len(buf) > 12:
                pos = rng.randrange(12, min(len(buf), 90))
                flipped = buf[pos] ^ 1 << rng.randrange(8)
                buf[pos] = rng.choice((0, 0xFF, rng.randrange(256), flipped))
        out.append(bytes(buf))
    return out


@pytest.fixture(scope="module")
def frames() -> list[bytes]:
    rng = random.Random(2024)
    out: list[bytes] = []
    for _, frame in samples():
        out += truncations(frame)
        out += _corruptions(frame, rng, 100)
    # ovs-ofctl reads an empty pcap record as the end of the file.
    return [frame for frame in out if frame]


def test_ovs_ofctl_is_installed():
    assert OVS_OFCTL, "ovs-ofctl (openvswitch-common) is needed as the reference"


def test_every_field_agrees_with_ovs(frames, tmp_path):
    headers.set_vlan_limit(2)  # what ovs-ofctl uses (ovs-vswitchd's default is 1)
    expected = _ovs_flows(frames, tmp_path)
    bad = []
    for frame, ovs in zip(frames, expected):
        ours = flow_extract(frame)
        skip = _never_printed(ours)
        for slot in range(L.N_MD, L.N_DP):
            if slot in skip:
                continue
            if ours[slot] != ovs.get(slot, 0):
                bad.append(f"{frame.hex()}: {L.SLOT_NAMES[slot]} ours={ours[slot]:#x} "
                           f"ovs={ovs.get(slot, 0):#x}")
                break
    assert not bad, f"{len(bad)} of {len(frames)} frames differ:\n" + "\n".join(bad[:20])

