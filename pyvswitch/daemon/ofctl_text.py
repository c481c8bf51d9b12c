"""The texts of ``ovs-ofctl show``, ``dump-ports``, ``dump-tables`` and ``dump-aggregate``.

Layer: daemon (imports ``daemon.ports`` for the port table, ``types``).  Pure formatting
over the bridge and the daemon's ports; the OpenFlow layer can reuse it once it decodes
the same replies.

Counters a device does not keep print as ``?``, as OVS prints them for ``dummy`` ports.
"""

from __future__ import annotations

import re
from typing import Any

from pyvswitch.daemon.ports import PortTable
from pyvswitch.errors import ParseError
from pyvswitch.types import OFPP_LOCAL

__all__ = ["N_TABLES", "flow_error", "format_aggregate", "format_features",
           "format_port_stats", "format_tables"]

#: tables ovs-ofctl shows (OVS has 255 but reports 254: table 254 is internal)
N_TABLES = 254
_OF10_ACTIONS = ("output enqueue set_vlan_vid set_vlan_pcp strip_vlan mod_dl_src mod_dl_dst "
                 "mod_nw_src mod_nw_dst mod_nw_tos mod_tp_src mod_tp_dst")


def _mac(b: bytes) -> str:
    return ":".join(f"{x:02x}" for x in b)


def _port_label(ofport: int) -> str:
    return "LOCAL" if ofport == OFPP_LOCAL else str(ofport)


def _sorted_ports(br: Any) -> list[Any]:
    """Ports by number, LOCAL last (its number is the largest)."""
    return [br.xports[n] for n in sorted(br.xports)]


def _hw_addr(ports: PortTable, name: str, dpid: int) -> bytes:
    st = ports.get(name)
    nd = st.netdev if st is not None else None
    if nd is not None:
        try:
            return bytes(nd.get_hw_addr())
        except Exception:  # noqa: BLE001 - a vanished device has no address
            pass
    return dpid.to_bytes(8, "big")[2:]


def _link_up(ports: PortTable, name: str) -> bool:
    st = ports.get(name)
    nd = st.netdev if st is not None else None
    if nd is None:
        return False
    try:
        return bool(nd.get_carrier())
    except Exception:  # noqa: BLE001 - a vanished device is down
        return False


def format_features(br: Any, ports: PortTable, version: int) -> str:
    """``ovs-ofctl show BR``: features, port descriptions and the switch config."""
    v = f" (OF1.{version - 10})" if version > 10 else ""
    lines = [f"OFPT_FEATURES_REPLY{v} (xid=0x2): dpid:{br.dpid:016x}",
             f"n_tables:{N_TABLES}, n_buffers:0"]
    if version == 10:
        lines.append("capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP")
        lines.append(f"actions: {_OF10_ACTIONS}")
    else:
        lines.append("capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS")
        lines.append(f"OFPST_PORT_DESC reply{v} (xid=0x3):")
    for xp in _sorted_ports(br):
        up = _link_up(ports, xp.name)
        down = getattr(xp, "config", 0) & 1
        lines.append(f" {_port_label(xp.ofport)}({xp.name}): "
                     f"addr:{_mac(_hw_addr(ports, xp.name, br.dpid))}")
        lines.append(f"     config:     {'PORT_DOWN' if down else '0'}")
        state = ("LIVE" if version > 10 else "0") if up else "LINK_DOWN"
        lines.append(f"     state:      {state}")
        lines.append("     speed: 0 Mbps now, 0 Mbps max")
    xid = 0x4 if version == 10 else 0x5
    lines.append(f"OFPT_GET_CONFIG_REPLY{v} (xid={xid:#x}): frags=normal miss_send_len=0")
    return "\n".join(lines) + "\n"


def format_port_stats(br: Any, ports: PortTable, version: int, only: int | None,
                      head: str, now: float) -> str:
    """``ovs-ofctl dump-ports BR [PORT]``."""
    xps = _sorted_ports(br)
    xps.sort(key=lambda x: x.ofport != OFPP_LOCAL)
    if only is not None:
        xps = [x for x in xps if x.ofport == only]
    lines = [f"{head}: {len(xps)} ports"]
    for xp in xps:
        st = ports.get(xp.name)
        s = st.stats() if st is not None else None
        known = st is not None and st.type != "dummy"

        def n(v: int | None, known: bool = known) -> str:
            return str(v) if known and v is not None else "?"

        rx_p = s.rx_packets if s else 0
        rx_b = s.rx_bytes if s else 0
        tx_p = s.tx_packets if s else 0
        tx_b = s.tx_bytes if s else 0
        lines.append(
            f"  port {_port_label(xp.ofport):>2}: rx pkts={rx_p}, bytes={rx_b}, "
            f"drop={n(s.rx_dropped if s else None)}, errs={n(s.rx_errors if s else None)}, "
            f"frame={n(0)}, over={n(0)}, crc={n(0)}")
        lines.append(
            f"           tx pkts={tx_p}, bytes={tx_b}, drop={n(s.tx_dropped if s else None)}, "
            f"errs={n(s.tx_errors if s else None)}, coll={n(0)}")
        if version > 10:
            created = getattr(xp, "created", None)
            dur = now - created if isinstance(created, float) else now
            lines.append(f"           duration={dur:.3f}s")
    return "\n".join(lines) + "\n"


def _table_lines(version: int, tid: int, active: int, lookup: int, matched: int,
                 first: bool) -> list[str]:
    lines = [f"  table {tid}:", f"    active={active}, lookup={lookup}, matched={matched}"]
    if version == 10:
        if first:
            lines += ["    max_entries=1000000", "    matching:",
                      "      exact match or wildcard: in_port eth_{src,dst,type} "
                      "vlan_{vid,pcp} ip_{src,dst} nw_{proto,tos} tcp_{src,dst}"]
        else:
            lines.append("    (same features)")
    return lines


def format_tables(br: Any, version: int, head: str) -> str:
    """``ovs-ofctl dump-tables BR``: runs of tables equal to the one before are
    written as ``tables A...B: ditto``."""
    stats = [(0, 0, 0)] * N_TABLES
    for ts in br.ofproto.table_stats():
        if ts.table_id < N_TABLES:
            stats[ts.table_id] = (ts.active, ts.lookup, ts.matched)
    blocks: list[list[str]] = []
    tid = 0
    while tid < N_TABLES:
        blocks.append(_table_lines(version, tid, *stats[tid], first=tid == 0))
        end = tid + 1
        if tid > 0:
            while end < N_TABLES and stats[end] == stats[tid]:
                end += 1
            if end - tid > 1:
                span = f"tables {tid + 1}...{end - 1}" if end - tid > 2 else f"table {tid + 1}"
                blocks.append([f"  {span}: ditto"])
        tid = end
    return head + "\n" + "\n\n".join("\n".join(b) for b in blocks) + "\n"


def format_aggregate(head: str, xid: int, flows: list[Any]) -> str:
    packets = sum(f.packet_count for f in flows)
    nbytes = sum(f.byte_count for f in flows)
    return (f"{head} (xid={xid:#x}): packet_count={packets} byte_count={nbytes} "
            f"flow_count={len(flows)}\n")


_SOURCE = re.compile(r"^(\S+:\d+: )")


def flow_error(exc: ParseError, text: str | None = None) -> str:
    """A flow-text error in the form of INTERFACE.md, naming the token and the flow:
    ``unknown field 'tcp_dts' in "tcp,tcp_dts=80"``.

    The rest of ovs-ofctl's wording is kept (``foo: invalid or unknown port for
    in_port in "in_port=foo"``), and so is the ``FILE:LINE:`` of a flow file; ``text``
    is the flow the message is about when the error does not carry it.
    """
    msg = exc.msg
    m = _SOURCE.match(msg)
    prefix = m.group(1) if m else ""
    body = msg[len(prefix):]
    if body.startswith("unknown keyword "):
        body = f"unknown field '{body[len('unknown keyword '):]}'"
    flow = exc.text if exc.text is not None else text
    if flow is not None and flow.strip():
        body += f' in "{flow.strip()}"'
    return prefix + body

