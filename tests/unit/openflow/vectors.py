"""The captured ovs-ofctl / os-ken conversations (``/work/shared/ofctl-vectors``) as
test data: every message with its direction, the connection's Nicira session state at
that point, and the JSON record it came from."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass

from pyvswitch.errors import OFPError
from pyvswitch.openflow.codec import decode
from pyvswitch.openflow.header import parse_header
from pyvswitch.openflow.messages import FlowModTableId, SessionState, SetFlowFormat

VECTORS = pathlib.Path("/work/shared/ofctl-vectors")


@dataclass
class VMsg:
    file: str
    record: dict
    dir: str
    type: str
    data: bytes
    decoded: str
    state: SessionState  # the session state before this message
    version: int
    xid: int

    @property
    def to_switch(self) -> bool:
        return self.dir.endswith("->switch")

    @property
    def from_ovs_ofctl(self) -> bool:
        return self.dir == "ofctl->switch"


def vector_files() -> list[pathlib.Path]:
    return sorted(VECTORS.glob("*/*.json"))


def messages() -> Iterator[VMsg]:
    """Every message of every capture, with the session state a switch would have."""
    for path in vector_files():
        record = json.loads(path.read_text())
        conns = record.get("connections") or [{"messages": record.get("messages", [])}]
        name = f"{path.parent.name}/{path.name}"
        for conn in conns:
            msgs = conn["messages"]
            state = SessionState()
            for i, m in enumerate(msgs):
                data = bytes.fromhex(m["hex"])
                h = parse_header(data)
                yield VMsg(name, record, m["dir"], m["type"], data, m.get("decoded", ""),
                           SessionState(state.flow_format, state.flow_mod_table_id),
                           h.version, h.xid)
                if not m["dir"].endswith("->switch"):
                    continue
                refused = any(n["dir"].endswith("->ofctl") and n["type"] == "OFPT_ERROR"
                              and parse_header(bytes.fromhex(n["hex"])).xid == h.xid
                              for n in msgs[i + 1:])
                try:
                    msg = decode(data, state)
                except OFPError:
                    continue
                if refused:
                    continue
                if isinstance(msg, SetFlowFormat):
                    state.flow_format = msg.format
                elif isinstance(msg, FlowModTableId):
                    state.flow_mod_table_id = msg.enable


ALL = list(messages())
TO_SWITCH = [m for m in ALL if m.to_switch]
FROM_SWITCH = [m for m in ALL if not m.to_switch]


def ids(msgs: list[VMsg]) -> list[str]:
    return [f"{m.file}:{m.type}:{m.xid:#x}" for m in msgs]
