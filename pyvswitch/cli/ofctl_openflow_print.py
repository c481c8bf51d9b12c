"""The texts ``ovs-ofctl`` prints for switch replies: ``show``, ``dump-ports``,
``dump-tables``, ``dump-aggregate`` (flow and group lines come from the flow text
module).  Formatting only: values in, text out.

Layer: cli.  Imports: openflow.messages, types.
"""

from __future__ import annotations

from pyvswitch.openflow import messages as M
from pyvswitch.openflow.consts import OFP10_VERSION
from pyvswitch.types import OFPP_LOCAL

__all__ = ["format_aggregate", "format_features", "format_port_stats", "format_tables",
           "reply_name", "version_tag"]

_UNKNOWN = (1 << 64) - 1
_CAPS_10 = ((0x1, "FLOW_STATS"), (0x2, "TABLE_STATS"), (0x4, "PORT_STATS"), (0x8, "STP"),
            (0x20, "IP_REASM"), (0x40, "QUEUE_STATS"), (0x80, "ARP_MATCH_IP"))
_CAPS_11 = ((0x1, "FLOW_STATS"), (0x2, "TABLE_STATS"), (0x4, "PORT_STATS"),
            (0x8, "GROUP_STATS"), (0x20, "IP_REASM"), (0x40, "QUEUE_STATS"),
            (0x100, "PORT_BLOCKED"), (0x200, "BUNDLES"))
#: OpenFlow 1.0 action bits, in the order ovs-ofctl lists them
_ACTIONS_10 = ((0, "output"), (11, "enqueue"), (1, "set_vlan_vid"), (2, "set_vlan_pcp"),
               (3, "strip_vlan"), (4, "mod_dl_src"), (5, "mod_dl_dst"), (6, "mod_nw_src"),
               (7, "mod_nw_dst"), (8, "mod_nw_tos"), (9, "mod_tp_src"), (10, "mod_tp_dst"))
_CONFIG = ((0x1, "PORT_DOWN"), (0x2, "NO_STP"), (0x4, "NO_RECV"), (0x8, "NO_RECV_STP"),
           (0x10, "NO_FLOOD"), (0x20, "NO_FWD"), (0x40, "NO_PACKET_IN"))
_STATE = ((0x1, "LINK_DOWN"), (0x2, "BLOCKED"), (0x4, "LIVE"))
_FEATURES = ((0x1, "10MB-HD"), (0x2, "10MB-FD"), (0x4, "100MB-HD"), (0x8, "100MB-FD"),
             (0x10, "1GB-HD"), (0x20, "1GB-FD"), (0x40, "10GB-FD"), (0x80, "40GB-FD"),
             (0x100, "100GB-FD"), (0x200, "1TB-FD"), (0x400, "OTHER"), (0x800, "COPPER"),
             (0x1000, "FIBER"), (0x2000, "AUTO_NEG"), (0x4000, "AUTO_PAUSE"),
             (0x8000, "AUTO_PAUSE_ASYM"))
_OF10_MATCHING = ("      exact match or wildcard: in_port eth_{src,dst,type} vlan_{vid,pcp} "
                  "ip_{src,dst} nw_{proto,tos} tcp_{src,dst}")
N_TABLES = 254


def version_tag(version: int) -> str:
    """`` (OF1.3)`` after a message name, nothing for OpenFlow 1.0."""
    return "" if version == OFP10_VERSION else f" (OF1.{version - 1})"


def reply_name(version: int, name10: str, name: str) -> str:
    """``NXST_FLOW reply`` (1.0) or ``OFPST_FLOW reply (OF1.3)``."""
    return f"{name10} reply" if version == OFP10_VERSION else f"{name} reply{version_tag(version)}"


def _bits(value: int, names: tuple[tuple[int, str], ...]) -> str:
    words = [n for bit, n in names if value & bit]
    return " ".join(words) if words else "0"


def _mac(v: int) -> str:
    return ":".join(f"{b:02x}" for b in v.to_bytes(6, "big"))


def _port_label(port: int) -> str:
    return "LOCAL" if port == OFPP_LOCAL else str(port)


def format_port(p: M.PortDesc, version: int) -> list[str]:
    state = p.state & (0x1 if version == OFP10_VERSION else 0x7)
    lines = [f" {_port_label(p.port_no)}({p.name}): addr:{_mac(p.hw_addr)}",
             f"     config:     {_bits(p.config, _CONFIG)}",
             f"     state:      {_bits(state, _STATE)}"]
    for label, v in (("current:   ", p.curr), ("advertised:", p.advertised),
                     ("supported: ", p.supported), ("peer:      ", p.peer)):
        if v:
            lines.append(f"     {label} {_bits(v, _FEATURES)}")
    lines.append(f"     speed: {p.curr_speed // 1000} Mbps now, "
                 f"{p.max_speed // 1000} Mbps max")
    return lines


def format_features(version: int, fxid: int, f: M.FeaturesReply, pxid: int | None,
                    ports: tuple[M.PortDesc, ...], cxid: int, config: M.GetConfigReply
                    ) -> str:
    """``ovs-ofctl show``."""
    tag = version_tag(version)
    caps = _CAPS_10 if version == OFP10_VERSION else _CAPS_11
    lines = [f"OFPT_FEATURES_REPLY{tag} (xid={fxid:#x}): dpid:{f.datapath_id:016x}",
             f"n_tables:{f.n_tables}, n_buffers:{f.n_buffers}",
             f"capabilities: {_bits(f.capabilities, caps)}"]
    if version == OFP10_VERSION:
        lines.append("actions: " + " ".join(n for bit, n in _ACTIONS_10
                                            if f.actions & (1 << bit)))
    if pxid is not None:
        lines.append(f"OFPST_PORT_DESC reply{tag} (xid={pxid:#x}):")
    for p in sorted(ports, key=lambda p: p.port_no):
        lines += format_port(p, version)
    frags = {0: "normal", 1: "drop", 2: "reassemble"}.get(config.flags & 3, "nx-match")
    lines.append(f"OFPT_GET_CONFIG_REPLY{tag} (xid={cxid:#x}): frags={frags} "
                 f"miss_send_len={config.miss_send_len}")
    return "\n".join(lines) + "\n"


def _n(v: int) -> str:
    return "?" if v == _UNKNOWN else str(v)


def format_port_stats(version: int, xid: int, reply: M.PortStatsReply) -> str:
    """``ovs-ofctl dump-ports``."""
    lines = [f"{reply_name(version, 'OFPST_PORT', 'OFPST_PORT')} (xid={xid:#x}): "
             f"{len(reply.stats)} ports"]
    for s in reply.stats:
        lines.append(f"  port {_port_label(s.port_no):>2}: rx pkts={_n(s.rx_packets)}, "
                     f"bytes={_n(s.rx_bytes)}, drop={_n(s.rx_dropped)}, "
                     f"errs={_n(s.rx_errors)}, frame={_n(s.rx_frame_err)}, "
                     f"over={_n(s.rx_over_err)}, crc={_n(s.rx_crc_err)}")
        lines.append(f"           tx pkts={_n(s.tx_packets)}, bytes={_n(s.tx_bytes)}, "
                     f"drop={_n(s.tx_dropped)}, errs={_n(s.tx_errors)}, "
                     f"coll={_n(s.collisions)}")
        if version != OFP10_VERSION:
            lines.append(f"           duration={s.duration_sec}."
                         f"{s.duration_nsec // 1000000:03d}s")
    return "\n".join(lines) + "\n"


def format_tables(version: int, xid: int, reply: M.TableStatsReply) -> str:
    """``ovs-ofctl dump-tables``: a run of tables equal to the one printed before it is
    written ``tables A...B: ditto``."""
    stats = {t.table_id: (t.active_count, t.lookup_count, t.matched_count)
             for t in reply.tables}
    ids = sorted(stats)
    blocks: list[list[str]] = []
    i = 0
    while i < len(ids):
        tid = ids[i]
        active, lookup, matched = stats[tid]
        block = [f"  table {tid}:", f"    active={active}, lookup={lookup}, "
                                      f"matched={matched}"]
        if version == OFP10_VERSION:
            if i == 0:
                block += ["    max_entries=1000000", "    matching:", _OF10_MATCHING]
            else:
                block.append("    (same features)")
        blocks.append(block)
        j = i + 1
        if i > 0:
            while j < len(ids) and stats[ids[j]] == stats[tid]:
                j += 1
            if j - i > 1:
                span = (f"tables {ids[i + 1]}...{ids[j - 1]}" if j - i > 2
                        else f"table {ids[i + 1]}")
                blocks.append([f"  {span}: ditto"])
        i = j
    head = f"{reply_name(version, 'OFPST_TABLE', 'OFPST_TABLE')} (xid={xid:#x}):"
    return head + "\n" + "\n\n".join("\n".join(b) for b in blocks) + "\n"


def format_aggregate(version: int, xid: int, reply: M.AggregateStatsReply) -> str:
    head = reply_name(version, "NXST_AGGREGATE", "OFPST_AGGREGATE")
    return (f"{head} (xid={xid:#x}): packet_count={reply.packet_count} "
            f"byte_count={reply.byte_count} flow_count={reply.flow_count}\n")
