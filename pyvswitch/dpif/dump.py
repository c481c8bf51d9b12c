"""One megaflow as a ``dpctl/dump-flows`` line.

``KEY, packets:N, bytes:N, used:T[, flags:F], actions:A`` -- and with ``-m`` a ``ufid:``
prefix, ``dp:ovs`` and ``dp-extra-info:miniflow_bits(a,b)``.  The last one counts the
64-bit words of OVS's ``struct flow`` (3.1 layout) that the mask touches, split in OVS's
two map units; we derive it from the flat mask with the word each slot lives in.

Layer: dpif.  Imports: flow.layout, odp.format, odp.text.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyvswitch.flow import layout as L
from pyvswitch.odp.format import format_actions, format_key
from pyvswitch.odp.text import format_tcp_flags_stats

# struct flow (OVS 3.1) 64-bit word of each slot, as ((word, bit-mask within slot), ...);
# a slot spanning two words lists the part of its value in each.
_HI16_OF48 = 0xFFFF00000000
_LO32 = 0xFFFFFFFF
_HI64 = ((1 << 64) - 1) << 64
_LO64 = (1 << 64) - 1
_WORDS: dict[int, tuple[tuple[int, int], ...]] = {
    L.TUN_DST: ((0, _LO32),),
    L.TUN_SRC: ((2, _LO32),),
    L.TUN_ID: ((5, _LO64),),
    L.PKT_MARK: ((52, _LO32),),
    L.DP_HASH: ((53, _LO32),),
    L.RECIRC_ID: ((54, _LO32),),
    L.CT_STATE: ((54, 0xFF),),
    L.CT_NW_PROTO: ((54, 0xFF),),
    L.CT_ZONE: ((54, 0xFFFF),),
    L.CT_MARK: ((55, _LO32),),
    L.CT_LABEL: ((56, _LO64), (57, _HI64)),
    L.ETH_DST: ((59, (1 << 48) - 1),),
    L.ETH_SRC: ((59, _HI16_OF48), (60, _LO32)),
    L.ETH_TYPE: ((60, 0xFFFF),),
    L.VLAN_TPID: ((61, 0xFFFF),),
    L.VLAN_TCI: ((61, 0xFFFF),),
    L.VLAN2_TPID: ((61, 0xFFFF),),
    L.VLAN2_TCI: ((61, 0xFFFF),),
    L.NW_SRC: ((64, _LO32),),
    L.NW_DST: ((64, _LO32),),
    L.CT_NW_SRC: ((65, _LO32),),
    L.CT_NW_DST: ((65, _LO32),),
    L.IPV6_SRC: ((66, _HI64), (67, _LO64)),
    L.IPV6_DST: ((68, _HI64), (69, _LO64)),
    L.CT_IPV6_SRC: ((70, _HI64), (71, _LO64)),
    L.CT_IPV6_DST: ((72, _HI64), (73, _LO64)),
    L.IPV6_LABEL: ((74, 0xFFFFF),),
    L.NW_FRAG: ((74, 0xFF),),
    L.NW_TOS: ((74, 0xFF),),
    L.NW_TTL: ((74, 0xFF),),
    L.NW_PROTO: ((74, 0xFF),),
    L.ND_TARGET: ((75, _HI64), (76, _LO64)),
    L.ARP_SHA: ((77, (1 << 48) - 1),),
    L.ARP_THA: ((77, _HI16_OF48), (78, _LO32)),
    L.TCP_FLAGS: ((78, 0xFFF),),
    L.TP_SRC: ((82, 0xFFFF),),
    L.TP_DST: ((82, 0xFFFF),),
    L.CT_TP_SRC: ((82, 0xFFFF),),
    L.CT_TP_DST: ((82, 0xFFFF),),
}
_PACKET_TYPE_WORD = 55  # always exact in a userspace megaflow


def miniflow_bits(mask: tuple[int, ...]) -> tuple[int, int]:
    """How many struct-flow words the mask uses in each of OVS's two map units."""
    words = {_PACKET_TYPE_WORD}
    for slot, parts in _WORDS.items():
        m = mask[slot]
        if m:
            for word, bits in parts:
                if m & bits:
                    words.add(word)
    low = sum(1 for w in words if w < 64)
    return low, len(words) - low


def format_flow(mf: object, *, verbose: bool, port_names: Mapping[int, str] | None,
                now: float) -> str:
    """``mf`` is a megaflow or a :class:`DpFlow` snapshot (same attribute names)."""
    parts = []
    if verbose:
        parts.append(f"ufid:{mf.ufid}")
    parts.append(format_key(mf.key, mf.mask, verbose, port_names))
    parts.append(f"packets:{mf.n_packets}")
    parts.append(f"bytes:{mf.n_bytes}")
    if mf.used is None:
        parts.append("used:never")
    else:
        ms = max(0, int(now * 1000) - int(mf.used * 1000))
        parts.append("used:%.3fs" % (ms / 1000.0))
    if mf.tcp_flags:
        parts.append("flags:" + format_tcp_flags_stats(mf.tcp_flags))
    if verbose:
        parts.append("dp:ovs")
    parts.append("actions:" + format_actions(mf.actions, port_names))
    if verbose:
        low, high = miniflow_bits(mf.mask)
        parts.append(f"dp-extra-info:miniflow_bits({low},{high})")
    return ", ".join(parts)
