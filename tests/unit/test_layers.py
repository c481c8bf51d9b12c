"""STYLE.md 6.2 rule 5: only netdev/afpacket-like modules, daemon/, cli/, testbed/ touch
sockets, threads, selectors or the clock.  Everything else is sans-I/O."""

import ast
import pathlib

PKG = pathlib.Path(__file__).resolve().parents[2] / "pyvswitch"
FORBIDDEN = {"socket", "select", "selectors", "asyncio", "threading", "time", "fcntl"}
ALLOWED_DIRS = {"netdev", "daemon", "cli", "testbed"}
ALLOWED_FILES = {"demo.py"}


def test_no_io_outside_shells():
    bad = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] in ALLOWED_DIRS or rel.name in ALLOWED_FILES:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module.split(".")[0]]
            for n in names:
                if n in FORBIDDEN:
                    bad.append(f"{rel}:{node.lineno} imports {n}")
    assert not bad, "\n".join(bad)
