"""The NORMAL action: an Ethernet learning switch with 802.1Q VLANs (OVS ``xlate_normal``).

A packet's VLAN is worked out from its tags and the input port's mode (access ports
put untagged traffic in their VLAN, trunks carry tagged traffic, native modes do
both); its source MAC is learned in that VLAN when a real packet is processed; it goes
to the learned port of its destination, or is flooded to every other port in the VLAN.
Each output re-tags the packet for the output port's mode.  Translation always
looks at both MACs, the VLAN id and the input port, so the megaflow matches on them.

Layer: ofproto_dpif.  Imports: flow, ofproto_dpif.{xlate_ctx,xlate_actions,ports}.
"""

from __future__ import annotations

from pyvswitch.flow import layout as L
from pyvswitch.ofproto_dpif import xlate_actions as XA
from pyvswitch.ofproto_dpif.ports import OFPPC_NO_FLOOD, XPort
from pyvswitch.ofproto_dpif.trace_tree import NodeType
from pyvswitch.ofproto_dpif.trace_values import format_mac
from pyvswitch.ofproto_dpif.xlate_ctx import XlateCtx
from pyvswitch.types import OFPP_CONTROLLER, OFPP_NONE

_VLAN_TPIDS = (L.ETH_TYPE_VLAN_8021Q, L.ETH_TYPE_VLAN_8021AD)
_ETH_ALL = (1 << 48) - 1

# a VLAN header as translation thinks of it: (tpid, vid, pcp bits of the TCI)
XVlan = list[tuple[int, int, int]]


def _xvlan_extract(flow: list[int]) -> XVlan:
    out: XVlan = [(0, 0, 0), (0, 0, 0)]
    for i, (ts, cs) in enumerate(((L.VLAN_TPID, L.VLAN_TCI), (L.VLAN2_TPID, L.VLAN2_TCI))):
        tpid, tci = flow[ts], flow[cs]
        if tpid not in _VLAN_TPIDS or not tci & L.VLAN_CFI:
            break
        out[i] = (tpid, tci & L.VLAN_VID_MASK, tci & L.VLAN_PCP_MASK)
    return out


def _xvlan_put(flow: list[int], xvlan: XVlan) -> None:
    for (tpid, vid, pcp), (ts, cs) in zip(
            xvlan, ((L.VLAN_TPID, L.VLAN_TCI), (L.VLAN2_TPID, L.VLAN2_TCI))):
        tci = vid | (pcp & L.VLAN_PCP_MASK)
        if tci:
            tci |= L.VLAN_CFI
            flow[ts] = tpid or L.ETH_TYPE_VLAN_8021Q
        flow[cs] = tci


def _input_vid_ok(ctx: XlateCtx, vid: int, port: XPort) -> bool:
    if port.dp_port < 0:
        return True  # the controller's pseudo port carries any VLAN
    mode = port.vlan_mode
    if mode == "access":
        if vid:
            ctx.report_error(f"dropping VLAN {vid} tagged packet received on port "
                             f"{port.name} configured as VLAN {port.vlan} access port")
            return False
        return True
    if mode in ("native-untagged", "native-tagged") and not vid:
        return True
    if not port.trunks_vlan(vid):
        ctx.report_error(f"dropping VLAN {vid} packet received on port {port.name} "
                         f"not configured for trunking VLAN {vid}")
        return False
    return True


def _input_translate(port: XPort, in_xvlan: XVlan) -> XVlan:
    mode = port.vlan_mode
    if mode == "access":
        return [(in_xvlan[0][0] or L.ETH_TYPE_VLAN_8021Q, port.vlan, in_xvlan[0][2]), (0, 0, 0)]
    xvlan = list(in_xvlan)
    if mode != "trunk" and not in_xvlan[0][1]:
        xvlan[0] = (in_xvlan[0][0] or L.ETH_TYPE_VLAN_8021Q, port.vlan, in_xvlan[0][2])
    return xvlan


def _output_translate(port: XPort, xvlan: XVlan) -> XVlan:
    mode = port.vlan_mode
    if mode == "access":
        return [(0, 0, 0), (0, 0, 0)]
    if mode == "native-untagged" and xvlan[0][1] == port.vlan:
        return [xvlan[1], (0, 0, 0)]
    return list(xvlan)


def output_normal(ctx: XlateCtx, port: XPort, xvlan: XVlan) -> None:
    flow = ctx.flow
    saved = (flow[L.VLAN_TPID], flow[L.VLAN_TCI], flow[L.VLAN2_TPID], flow[L.VLAN2_TCI])
    _xvlan_put(flow, _output_translate(port, xvlan))
    XA.compose_output(ctx, port.ofport)
    flow[L.VLAN_TPID], flow[L.VLAN_TCI], flow[L.VLAN2_TPID], flow[L.VLAN2_TCI] = saved


def _flood(ctx: XlateCtx, in_port: XPort, xvlan: XVlan) -> None:
    vid = xvlan[0][1]
    for _ofport, port in sorted(ctx.bridge.xports.items()):
        if port is in_port or port.config & OFPPC_NO_FLOOD:
            continue
        if port.includes_vlan(vid):
            output_normal(ctx, port, xvlan)


def _is_gratuitous_arp(flow: list[int], wc: list[int]) -> bool:
    if flow[L.ETH_TYPE] != L.ETH_TYPE_ARP:
        return False
    wc[L.ETH_DST] = _ETH_ALL
    if flow[L.ETH_DST] != _ETH_ALL:
        return False
    wc[L.NW_PROTO] = 0xFF
    if flow[L.NW_PROTO] == 2:
        return True
    if flow[L.NW_PROTO] == 1:
        wc[L.NW_SRC] = 0xFFFFFFFF
        wc[L.NW_DST] = 0xFFFFFFFF
        return flow[L.NW_SRC] == flow[L.NW_DST]
    return False


def _is_reserved(mac: int) -> bool:
    """01:80:c2:00:00:0x, the addresses bridges must not forward (802.1D)."""
    return mac >> 4 == 0x0180C200000


def xlate_normal(ctx: XlateCtx) -> None:
    flow, wc = ctx.flow, ctx.wc
    wc[L.ETH_SRC] = _ETH_ALL
    wc[L.ETH_DST] = _ETH_ALL
    wc[L.VLAN_TCI] |= L.VLAN_VID_MASK | L.VLAN_CFI
    bridge = ctx.bridge
    in_port = bridge.xports.get(flow[L.IN_PORT])
    none_bundle = False
    if in_port is None:
        if flow[L.IN_PORT] in (OFPP_CONTROLLER, OFPP_NONE):
            # traffic a controller sources: any VLAN, nothing learned
            in_port = XPort("", flow[L.IN_PORT], -1)
            none_bundle = True
        else:
            ctx.report_error(f"received packet on unknown port {flow[L.IN_PORT]}")
            ctx.report(NodeType.WARN, "no input bundle, dropping")
            return
    if flow[L.VLAN_TPID] in _VLAN_TPIDS and not flow[L.VLAN_TCI] & L.VLAN_CFI:
        if ctx.xin.packet is not None:
            ctx.report_error(f"dropping packet with partial VLAN tag received on port "
                             f"{in_port.name}")
        ctx.report(NodeType.WARN, "partial VLAN tag, dropping")
        return
    in_xvlan = _xvlan_extract(flow)
    if not _input_vid_ok(ctx, in_xvlan[0][1], in_port):
        ctx.report(NodeType.WARN, "disallowed VLAN VID for this input port, dropping")
        return
    xvlan = _input_translate(in_port, in_xvlan)
    vlan = xvlan[0][1]
    if not none_bundle and _is_reserved(flow[L.ETH_DST]):
        ctx.report(NodeType.DETAIL, "packet has reserved destination MAC, dropping")
        return
    is_grat_arp = _is_gratuitous_arp(flow, wc)
    src = flow[L.ETH_SRC]
    if not none_bundle:
        if ctx.xin.allow_side_effects and learn_mac(ctx, in_port, src, vlan, is_grat_arp):
            ctx.report(NodeType.DETAIL, f"learned that {format_mac(src)} is on port "
                       f"{in_port.name} in VLAN {vlan}")
        ctx.out_normal.append((in_port.ofport, src, vlan))

    ml = bridge.ml
    dst_port = ml.lookup(vlan, flow[L.ETH_DST], ctx.now) if not flow[L.ETH_DST] >> 40 & 1 \
        else None
    if dst_port is None:
        ctx.report(NodeType.DETAIL, "no learned MAC for destination, flooding")
        _flood(ctx, in_port, xvlan)
        return
    out = bridge.xports.get(dst_port)
    if out is None:
        ctx.report(NodeType.WARN, "learned port is unknown, dropping")
    elif out is not in_port:
        ctx.report(NodeType.DETAIL, "forwarding to learned port")
        output_normal(ctx, out, xvlan)
    else:
        ctx.report(NodeType.DETAIL, "learned port is input port, dropping")


def learn_mac(ctx: XlateCtx, in_port: XPort, src: int, vlan: int, is_grat_arp: bool) -> bool:
    """Learn ``src`` on ``in_port``; True when the table changed (new or moved MAC)."""
    if src >> 40 & 1:  # multicast sources are never learned
        return False
    changed = ctx.bridge.ml.learn(vlan, src, in_port.ofport, ctx.now)
    if changed:
        ctx.bridge.mac_table_changed()
    return bool(changed)
