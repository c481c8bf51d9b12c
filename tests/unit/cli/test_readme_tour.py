"""The README's five-minute tour, run as written: every ``$ command`` of its console
blocks, with its output compared (durations, ages and the uuid aside; ``...`` in the
README skips lines)."""

import os
import pathlib
import re
import subprocess
import sys

from pyvswitch.daemon.runner import SwitchProcess

README = pathlib.Path(__file__).resolve().parents[3] / "README.md"


def tour_commands() -> list[tuple[str, list[str]]]:
    text = README.read_text()
    tour = text.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    out: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", tour, re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            assert line.startswith("$ "), line
            cmd = [line[2:]]
            i += 1
            if "<<'EOF'" in line:
                while lines[i] != "EOF":
                    cmd.append(lines[i])
                    i += 1
                cmd.append("EOF")
                i += 1
            expected = []
            while i < len(lines) and not lines[i].startswith("$ "):
                expected.append(lines[i])
                i += 1
            out.append(("\n".join(cmd), expected))
    return out


def normalize(line: str) -> str:
    line = re.sub(r"duration=[\d.]+s", "duration=X", line)
    line = re.sub(r"idle_age=\d+", "idle_age=X", line)
    return re.sub(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", "UUID", line)


def matches(expected: list[str], actual: list[str]) -> bool:
    exp = [normalize(x) for x in expected]
    act = [normalize(x) for x in actual]
    if "..." not in exp:
        return exp == act
    pos = 0
    for chunk in "\n".join(exp).split("..."):
        body = chunk.strip("\n")
        want = body.split("\n") if body else []
        while pos < len(act) and act[pos:pos + len(want)] != want:
            pos += 1
        if pos >= len(act) and want:
            return False
        pos += len(want)
    return True


def test_readme_tour_runs_as_written(tmp_path):
    sw = SwitchProcess(str(tmp_path))
    env = sw.env
    # the tour's commands by their installed names, run from this checkout
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("pyvswitchd", "pyvs-vsctl", "pyvs-ofctl", "pyvs-appctl"):
        f = bindir / tool
        f.write_text(f'#!/bin/sh\nexec {sys.executable} -m {sw.argv(tool)[2]} "$@"\n')
        f.chmod(0o755)
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    sw.start()
    try:
        commands = tour_commands()
        assert len(commands) >= 10
        for cmd, expected in commands:
            r = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True,
                               timeout=30)
            assert r.returncode == 0, (cmd, r.stderr)
            assert matches(expected, r.stdout.splitlines()), (cmd, r.stdout)
    finally:
        sw.stop()
