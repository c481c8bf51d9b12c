"""The flat flow layout: which slot of a flow tuple holds which header or metadata value.

A *flow* (OVS ``struct flow``) is a tuple (or, during translation, a list) of Python ints,
one per slot below.  Everything that classifies packets -- the datapath caches, the
classifier, translation -- indexes flows with these constants, so a flow is cheap to
build (``struct.unpack_from`` results dropped into place), hash and mask.

The layout has three regions:

* ``[0, N_MD)``: packet metadata the datapath carries with a packet (recirc id, input
  port, ct verdict, tunnel); a packet arriving from a port has these at their defaults.
* ``[N_MD, N_DP)``: header fields extracted from the packet bytes.
* ``[N_DP, N_FLOW)``: OpenFlow-only state (metadata, registers) that exists only while a
  packet is being translated; datapath keys are the ``[0, N_DP)`` prefix.

Several OpenFlow fields share a slot the way they share a member of OVS's
``struct flow``: ARP's SPA/TPA live in ``NW_SRC``/``NW_DST`` and its opcode in
``NW_PROTO``; ICMP type/code live in ``TP_SRC``/``TP_DST``; ND's SLL/TLL live in
``ARP_SHA``/``ARP_THA``; DSCP and ECN are bit ranges of ``NW_TOS``.

Layer: flow.  Imports: nothing.
"""

from __future__ import annotations

# --- metadata ------------------------------------------------------------------------
RECIRC_ID = 0
DP_HASH = 1
IN_PORT = 2  # datapath port in datapath keys, OpenFlow port during translation
PKT_MARK = 3
CT_STATE = 4
CT_ZONE = 5
CT_MARK = 6
CT_LABEL = 7  # 128-bit
CT_NW_PROTO = 8
CT_NW_SRC = 9
CT_NW_DST = 10
CT_IPV6_SRC = 11
CT_IPV6_DST = 12
CT_TP_SRC = 13
CT_TP_DST = 14
TUN_ID = 15
TUN_SRC = 16
TUN_DST = 17
N_MD = 18

# --- headers -------------------------------------------------------------------------
ETH_SRC = 18  # 48-bit int
ETH_DST = 19
VLAN_TPID = 20  # outer tag's TPID (0x8100 / 0x88a8), 0 when untagged
VLAN_TCI = 21  # outer tag's TCI with 0x1000 (CFI) set when a tag is present
VLAN2_TPID = 22  # inner tag (802.1ad QinQ)
VLAN2_TCI = 23
ETH_TYPE = 24  # 0x05ff for 802.3 frames without a valid ethertype (OVS's FLOW_DL_TYPE_NONE)
NW_SRC = 25  # IPv4 source / ARP SPA
NW_DST = 26  # IPv4 destination / ARP TPA
IPV6_SRC = 27  # 128-bit
IPV6_DST = 28
IPV6_LABEL = 29  # 20 bits
NW_PROTO = 30  # IP protocol / low 8 bits of the ARP opcode
NW_TOS = 31  # DSCP << 2 | ECN
NW_TTL = 32
NW_FRAG = 33  # FLOW_NW_FRAG_ANY | FLOW_NW_FRAG_LATER
ARP_SHA = 34  # ARP SHA / ND source link-layer address
ARP_THA = 35  # ARP THA / ND target link-layer address
ND_TARGET = 36  # 128-bit
TP_SRC = 37  # L4 source port / ICMP type
TP_DST = 38  # L4 destination port / ICMP code
TCP_FLAGS = 39  # 12 bits
N_DP = 40

# --- OpenFlow-only -------------------------------------------------------------------
METADATA = 40
REG0 = 41  # REG0 .. REG15 are 41 .. 56
N_REGS = 16
N_FLOW = REG0 + N_REGS

#: width in bits of each slot (used for full masks and formatting)
SLOT_BITS: tuple[int, ...] = (
    32, 32, 32, 32, 8, 16, 32, 128, 8, 32, 32, 128, 128, 16, 16, 64, 32, 32,  # metadata
    48, 48, 16, 16, 16, 16, 16, 32, 32, 128, 128, 20, 8, 8, 8, 2, 48, 48, 128, 16, 16, 12,
    64, *([32] * N_REGS),
)
assert len(SLOT_BITS) == N_FLOW

SLOT_FULL: tuple[int, ...] = tuple((1 << b) - 1 for b in SLOT_BITS)

SLOT_NAMES: tuple[str, ...] = (
    "recirc_id", "dp_hash", "in_port", "pkt_mark", "ct_state", "ct_zone", "ct_mark",
    "ct_label", "ct_nw_proto", "ct_nw_src", "ct_nw_dst", "ct_ipv6_src", "ct_ipv6_dst",
    "ct_tp_src", "ct_tp_dst", "tun_id", "tun_src", "tun_dst",
    "eth_src", "eth_dst", "vlan_tpid", "vlan_tci", "vlan2_tpid", "vlan2_tci", "eth_type",
    "nw_src", "nw_dst", "ipv6_src", "ipv6_dst", "ipv6_label", "nw_proto", "nw_tos", "nw_ttl",
    "nw_frag", "arp_sha", "arp_tha", "nd_target", "tp_src", "tp_dst", "tcp_flags",
    "metadata", *(f"reg{i}" for i in range(N_REGS)),
)
assert len(SLOT_NAMES) == N_FLOW

# --- value constants -----------------------------------------------------------------
FLOW_NW_FRAG_ANY = 1
FLOW_NW_FRAG_LATER = 2
FLOW_NW_FRAG_MASK = 3
VLAN_CFI = 0x1000
VLAN_VID_MASK = 0x0FFF
VLAN_PCP_MASK = 0xE000
DL_TYPE_NONE = 0x05FF

ETH_TYPE_IP = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_RARP = 0x8035
ETH_TYPE_IPV6 = 0x86DD
ETH_TYPE_VLAN_8021Q = 0x8100
ETH_TYPE_VLAN_8021AD = 0x88A8

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
IPPROTO_SCTP = 132

# ct_state bits, as OVS numbers them
CS_NEW = 0x01
CS_ESTABLISHED = 0x02
CS_RELATED = 0x04
CS_REPLY_DIR = 0x08
CS_INVALID = 0x10
CS_TRACKED = 0x20
CS_SRC_NAT = 0x40
CS_DST_NAT = 0x80
CT_STATE_NAMES: tuple[tuple[int, str], ...] = (
    (CS_NEW, "new"), (CS_ESTABLISHED, "est"), (CS_RELATED, "rel"), (CS_REPLY_DIR, "rpl"),
    (CS_INVALID, "inv"), (CS_TRACKED, "trk"), (CS_SRC_NAT, "snat"), (CS_DST_NAT, "dnat"),
)

# TCP flag bits (low 12 bits of the flags word)
TCP_FIN = 0x001
TCP_SYN = 0x002
TCP_RST = 0x004
TCP_PSH = 0x008
TCP_ACK = 0x010
TCP_URG = 0x020
TCP_ECE = 0x040
TCP_CWR = 0x080
TCP_NS = 0x100
TCP_FLAG_NAMES: tuple[tuple[int, str], ...] = (
    (TCP_FIN, "fin"), (TCP_SYN, "syn"), (TCP_RST, "rst"), (TCP_PSH, "psh"), (TCP_ACK, "ack"),
    (TCP_URG, "urg"), (TCP_ECE, "ece"), (TCP_CWR, "cwr"), (TCP_NS, "ns"),
    (0x200, "[200]"), (0x400, "[400]"), (0x800, "[800]"),
)

EMPTY_FLOW: tuple[int, ...] = (0,) * N_FLOW
EMPTY_MASK: tuple[int, ...] = (0,) * N_FLOW
