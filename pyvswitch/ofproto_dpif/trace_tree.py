"""The tree of notes translation leaves behind when it is traced (``ofproto/trace``).

Translation appends :class:`TraceNode`\\ s to whatever list it currently writes into
(a bridge, a table, a bucket, a "thaw" block); nested lookups write into the new node's
``subs``.  :func:`format_nodes` prints the tree with OVS's indentation rule, in which the
last non-terminal child of a list is printed at its parent's depth instead of one level
deeper.  That rule is why a tail ``resubmit`` shows its table at the left margin, so the
tree has to be built with the same shape as OVS builds it, not just printed alike.

Layer: ofproto_dpif.  Imports: nothing.
"""

from __future__ import annotations

from enum import Enum


class NodeType(Enum):
    BRIDGE = "bridge"
    TABLE = "table"
    THAW = "thaw"
    ACTION = "action"
    DETAIL = "detail"
    WARN = "warn"
    ERROR = "error"
    BUCKET = "bucket"


_TERMINAL = frozenset(
    (NodeType.ACTION, NodeType.DETAIL, NodeType.WARN, NodeType.ERROR, NodeType.BUCKET)
)


class TraceNode:
    __slots__ = ("type", "text", "subs")

    def __init__(self, type: NodeType, text: str) -> None:
        self.type = type
        self.text = text
        self.subs: list[TraceNode] = []

    def __repr__(self) -> str:
        return f"TraceNode({self.type.name}, {self.text!r}, {len(self.subs)} subs)"


def report(nodes: list[TraceNode], type: NodeType, text: str) -> list[TraceNode]:
    """Append a node to ``nodes``; returns the new node's child list."""
    node = TraceNode(type, text)
    nodes.append(node)
    return node.subs


def format_nodes(nodes: list[TraceNode], level: int = 0) -> str:
    out: list[str] = []
    _format(out, nodes, level)
    return "".join(out)


def _format(out: list[str], nodes: list[TraceNode], level: int) -> None:
    last = len(nodes) - 1
    for i, node in enumerate(nodes):
        if node.type is NodeType.BRIDGE:
            out.append("\n")
        more = 1 if (i != last or node.type in _TERMINAL) else 0
        indent = " " * ((level + more) * 4)
        t = node.type
        if t is NodeType.DETAIL:
            out.append(f"{indent} -> {node.text}\n")
        elif t is NodeType.WARN:
            out.append(f"{indent} >> {node.text}\n")
        elif t is NodeType.ERROR:
            out.append(f"{indent} >>>> {node.text} <<<<\n")
        elif t is NodeType.BRIDGE:
            out.append(f"{indent}{node.text}\n{indent}{'-' * len(node.text)}\n")
        else:
            out.append(f"{indent}{node.text}\n")
        _format(out, node.subs, level + more + more)
