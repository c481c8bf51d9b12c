"""What the daemon needs from the in-process switch, and a thin adapter for the packet path.

Layer: daemon (imports ``ofproto_dpif.switch`` lazily through :func:`new_switch`, and
``packet.headers``).

:class:`SwitchApi` lists the parts of :class:`pyvswitch.ofproto_dpif.switch.Switch` the
daemon drives, so the configuration logic can be tested against a small fake.

:func:`process` is the daemon's entry to the datapath.  ``Switch.receive`` takes plain
frames and returns ``(name, bytes)``; the daemon instead needs the frames' offload
metadata (virtio-net headers from veths and taps) carried through to the output ports
and wants datapath numbers, not names, so it calls the datapath directly, after the
same revalidation check ``Switch.receive`` makes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

__all__ = ["SwitchApi", "new_switch", "process"]


class SwitchApi(Protocol):
    bridges: dict[str, Any]
    datapath: Any
    conntrack: Any

    def add_bridge(self, name: str, fail_mode: str = "standalone") -> Any: ...

    def del_bridge(self, name: str) -> None: ...

    def bridge(self, name: str) -> Any: ...

    def add_port(self, bridge: str, name: str, type: str = "dummy",
                 ofport_request: int | None = None, options: dict[str, str] | None = None,
                 tag: int | None = None, trunks: Iterable[int] | None = None,
                 vlan_mode: str | None = None) -> tuple[int, int]: ...

    def del_port(self, name: str) -> None: ...

    def set_port_vlan(self, name: str, tag: int | None = None,
                      trunks: Iterable[int] | None = None,
                      vlan_mode: str | None = None) -> None: ...

    def port(self, name: str) -> Any: ...

    def run(self, now: float) -> None: ...

    def revalidate(self) -> int: ...


def new_switch() -> SwitchApi:
    """A fresh in-process switch (imported here so the daemon's other modules load
    without the whole pipeline)."""
    from pyvswitch.ofproto_dpif.switch import Switch

    return Switch()


def process(switch: Any, dp_port: int, frames: Sequence[bytearray],
            offloads: Sequence[object] | None, now: float) -> list[tuple[int, bytearray, object]]:
    """Run a received batch through the datapath; ``(dp_port, frame, offload)`` outputs."""
    switch.now = now
    if switch.need_revalidate or switch.need_revalidate_mac:
        switch.revalidate()
    return switch.datapath.process(dp_port, frames, now, offloads)
