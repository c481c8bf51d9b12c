"""A bridge port as translation sees it: numbers on both sides and VLAN configuration.

OVS keeps this in ``xport``/``xbundle``; here one port is one bundle (no bonds).  The
VLAN mode follows ``vswitchd/bridge.c`` and ``bundle_set``: an explicit ``vlan_mode``
wins; otherwise a port with a ``tag`` is an access port and any other port is a trunk.
Native modes always trunk their own VLAN and never VLAN 0.

Layer: ofproto_dpif.  Imports: errors, ofproto.ports (the OFPPC_* bits).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyvswitch.errors import ConfigError
from pyvswitch.ofproto.ports import (
    OFPPC_NO_FLOOD,
    OFPPC_NO_FWD,
    OFPPC_NO_PACKET_IN,
    OFPPC_NO_RECV,
    OFPPC_PORT_DOWN,
)

VLAN_MODES = ("access", "trunk", "native-tagged", "native-untagged")

__all__ = ["OFPPC_NO_FLOOD", "OFPPC_NO_FWD", "OFPPC_NO_PACKET_IN", "OFPPC_NO_RECV",
           "OFPPC_PORT_DOWN", "VLAN_MODES", "XPort", "make_vlan_config"]


@dataclass(slots=True)
class XPort:
    name: str
    ofport: int
    dp_port: int
    type: str = "dummy"
    #: "access", "trunk", "native-tagged" or "native-untagged"
    vlan_mode: str = "trunk"
    #: OVS ``bundle->vlan``: -1 for trunks, else the access/native VLAN (0 if unset)
    vlan: int = -1
    #: trunked VLANs, None = all
    trunks: frozenset[int] | None = None
    options: dict[str, str] = field(default_factory=dict)
    #: OFPPC_* bits
    config: int = 0
    #: link up and not administratively down (liveness for fast-failover groups)
    may_enable: bool = True

    def trunks_vlan(self, vid: int) -> bool:
        return self.vlan_mode != "access" and (self.trunks is None or vid in self.trunks)

    def includes_vlan(self, vid: int) -> bool:
        """Does a packet in VLAN ``vid`` belong on this port (OVS
        ``xbundle_includes_vlan``)?"""
        if self.vlan_mode == "access":
            return vid == self.vlan
        return self.trunks_vlan(vid)


def make_vlan_config(tag: int | None, trunks: list[int] | tuple[int, ...] | frozenset[int] | None,
                     vlan_mode: str | None) -> tuple[str, int, frozenset[int] | None]:
    """(vlan_mode, vlan, trunks) from a port's ``tag``/``trunks``/``vlan_mode`` settings."""
    if tag is not None and not 0 <= tag <= 4095:
        raise ConfigError(f"tag {tag} is not a valid VLAN (0 to 4095)")
    tset = None
    if trunks:
        tset = frozenset(int(t) for t in trunks)
        for t in tset:
            if not 0 <= t <= 4095:
                raise ConfigError(f"trunk {t} is not a valid VLAN (0 to 4095)")
    if vlan_mode is None:
        mode = "access" if tag is not None else "trunk"
    elif vlan_mode in VLAN_MODES:
        mode = vlan_mode
    else:
        raise ConfigError(f"unknown vlan_mode '{vlan_mode}'")
    if mode == "trunk":
        vlan = -1
    else:
        vlan = tag if tag is not None else 0
    if mode == "access":
        tset = None
    elif mode in ("native-tagged", "native-untagged"):
        if vlan != 0 and (tset is None or vlan not in tset or 0 in tset):
            tset = frozenset(range(4096)) if tset is None else tset
            tset = (tset | {vlan}) - {0}
    return mode, vlan, tset
