"""Upcall handling: the datapath's misses become translations, userspace actions become
packet-ins (OVS ``ofproto-dpif-upcall``).

On a miss the packet's datapath key is turned into a translation flow (datapath port ->
OpenFlow port of the bridge that owns it), translated with side effects allowed (MAC
learning, ``learn``), and answered with the datapath actions and the megaflow mask.  The
:class:`MegaflowOwner` stored with the megaflow remembers what the megaflow was built
from, so statistics can be credited to the rules and groups and NORMAL's MAC entries
refreshed, and so revalidation can translate the same key again.

Layer: ofproto_dpif.  Imports: dpif.provider, flow, ofproto_dpif.{xlate,events}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvswitch import coverage
from pyvswitch.dpif.provider import Upcall, UpcallKind, UpcallResult
from pyvswitch.flow import layout as L
from pyvswitch.ofproto_dpif.events import ControllerCookie, PacketIn
from pyvswitch.ofproto_dpif.xlate import xlate_actions
from pyvswitch.ofproto_dpif.xlate_ctx import XlateIn, XlateOut

if TYPE_CHECKING:
    from pyvswitch.ofproto_dpif.bridge import Bridge
    from pyvswitch.ofproto_dpif.switch import Switch

_PAD = (0,) * (L.N_FLOW - L.N_DP)
_FULL32 = 0xFFFFFFFF
_ALWAYS_EXACT = (L.RECIRC_ID, L.IN_PORT, L.ETH_TYPE, L.VLAN_TPID, L.VLAN2_TPID)


class MegaflowOwner:
    """What one cached megaflow was translated from, for stats and revalidation."""

    __slots__ = ("bridge", "rules", "groups", "normal", "n_packets", "n_bytes",
                 "recircs", "tables")

    def __init__(self, bridge: str, xout: XlateOut) -> None:
        self.bridge = bridge
        self.rules = xout.rules
        self.groups = xout.groups
        self.normal = xout.normal
        self.recircs = xout.recircs
        self.tables = xout.tables
        #: statistics already credited to the rules
        self.n_packets = 0
        self.n_bytes = 0


def dp_mask(wc: list[int]) -> tuple[int, ...]:
    """The datapath mask for translation wildcards: the first ``N_DP`` slots, with the
    slots every datapath flow matches exactly (recirc id, port, Ethernet and VLAN
    types, which also tell tagged from untagged frames)."""
    m = wc[: L.N_DP]
    for s in _ALWAYS_EXACT:
        m[s] = L.SLOT_FULL[s]
    return tuple(m)


def translation_flow(bridge: Bridge, key: tuple[int, ...] | list[int]) -> list[int] | None:
    """A datapath key as translation sees it (OpenFlow in_port, empty registers)."""
    flow = list(key[: L.N_DP])
    flow.extend(_PAD)
    ofport = bridge.switch.dp_to_ofport(key[L.IN_PORT])
    if ofport is None:
        return None
    flow[L.IN_PORT] = ofport
    return flow


def translate_key(bridge: Bridge, key: tuple[int, ...], now: float, *,
                  packet: bytearray | None = None) -> XlateOut | None:
    flow = translation_flow(bridge, key)
    if flow is None:
        return None
    xin = XlateIn(bridge, flow, now, packet=packet, allow_side_effects=packet is not None,
                  for_datapath=True)
    return xlate_actions(xin)


def credit(xout: XlateOut | MegaflowOwner, n_packets: int, n_bytes: int, used: float,
           ofproto: Any = None) -> None:
    """Credit statistics to the rules, group buckets and tables a translation went
    through."""
    if ofproto is not None:
        count = ofproto.count_lookup
        for tid, matched in xout.tables:
            count(tid, matched, n_packets)
    for rule in xout.rules:
        rule.credit(n_packets, n_bytes, used)
    for group, bucket in xout.groups:
        fn = getattr(group, "credit", None)
        if fn is not None:
            fn(n_packets, n_bytes, bucket)


class UpcallHandler:
    """The callback registered with the datapath."""

    def __init__(self, switch: Switch) -> None:
        self.switch = switch

    def __call__(self, up: Upcall) -> UpcallResult | None:
        if up.kind is UpcallKind.MISS:
            return self.miss(up)
        self.action(up)
        return None

    def miss(self, up: Upcall) -> UpcallResult:
        sw = self.switch
        key = up.flow
        bridge = sw.bridge_of_dp_port(key[L.IN_PORT])
        if bridge is None:
            coverage.inc("upcall_unknown_port")
            return UpcallResult((), None)
        xin_flow = translation_flow(bridge, key)
        if xin_flow is None:
            return UpcallResult((), None)
        xin = XlateIn(bridge, xin_flow, up.now, packet=up.packet, allow_side_effects=True,
                      for_datapath=True)
        xout = xlate_actions(xin)
        coverage.inc("upcall_xlate")
        credit(xout, 1, len(up.packet), up.now, bridge.ofproto)
        if xout.avoid_caching:
            return UpcallResult(xout.actions, None)
        owner = MegaflowOwner(bridge.name, xout)
        return UpcallResult(xout.actions, dp_mask(xout.wc), owner)

    def action(self, up: Upcall) -> None:
        cookie = up.cookie
        if not isinstance(cookie, ControllerCookie):
            coverage.inc("upcall_unknown_cookie")
            return
        bridge = self.switch.bridges.get(cookie.bridge)
        if bridge is None or cookie.dont_send:
            return
        bridge.events.append(make_packet_in(bridge, cookie, bytes(up.packet), up.flow))


def make_packet_in(bridge: Bridge, cookie: ControllerCookie, packet: bytes,
                   flow: tuple[int, ...] | list[int]) -> PacketIn:
    md: dict[str, int] = {}
    state = bridge.recirc.find(cookie.recirc_id)
    if state is not None:
        m = state.metadata
        md["in_port"] = m[0]
        if m[1]:
            md["metadata"] = m[1]
        for i in range(L.N_REGS):
            if m[2 + i]:
                md[f"reg{i}"] = m[2 + i]
        if m[2 + L.N_REGS]:
            md["tun_id"] = m[2 + L.N_REGS]
    if flow:
        for name, slot in (("ct_state", L.CT_STATE), ("ct_zone", L.CT_ZONE),
                           ("ct_mark", L.CT_MARK), ("ct_label", L.CT_LABEL),
                           ("pkt_mark", L.PKT_MARK)):
            if flow[slot]:
                md[name] = flow[slot]
    return PacketIn(
        reason=cookie.reason, table_id=cookie.table_id, cookie=cookie.rule_cookie,
        packet=packet, max_len=cookie.max_len, controller_id=cookie.controller_id,
        metadata=md, userdata=cookie.userdata, flow=tuple(flow),
    )


def owner_of(obj: Any) -> MegaflowOwner | None:
    return obj if isinstance(obj, MegaflowOwner) else None
