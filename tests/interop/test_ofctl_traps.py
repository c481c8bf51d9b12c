"""Every command of ``shared/ofctl-vectors/traps`` run by the real ovs-ofctl against
pyvswitchd and against a private Open vSwitch 3.1: the same exit status and the same
output.  (The captures were made against a deliberately limited fake switch; what
matters here is behaving like OVS: offering OpenFlow 1.4 for ``--bundle``, answering
table-features and NXM requests, refusing ct tuple matches without a valid ct_state
with OFPBMC_BAD_PREREQ.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.interop.test_ofctl_support import flow_lines, no_times, pyvs, realovs  # noqa: F401

pytestmark = pytest.mark.interop

TRAPS = sorted(Path("/work/shared/ofctl-vectors/traps").glob("*.json"))


def _args(data: dict, tmp: Path) -> list[str]:
    out = []
    for a in data["command"][1:]:
        if a == "tcp:127.0.0.1:PORT":
            out.append("BR")
        elif a == "FLOWS_FILE":
            path = tmp / "flows.txt"
            path.write_text(data["flows_file_contents"])
            out.append(str(path))
        else:
            out.append(a)
    return out


def _norm(text: str) -> str:
    # the socket path differs (ovs-ofctl names it in its messages), so do datapath ids
    # and port addresses
    text = no_times(text).replace("unix:", "").split("br0.mgmt")[-1]
    text = re.sub(r"dpid:[0-9a-f]+", "dpid:X", text)
    return re.sub(r"addr:[0-9a-f:]+", "addr:X", text)


@pytest.mark.parametrize("path", TRAPS, ids=lambda p: p.stem)
def test_trap_command_behaves_as_ovs(pyvs, realovs, path, tmp_path):  # noqa: F811
    data = json.loads(path.read_text())
    args = _args(data, tmp_path)
    results = []
    for sw in (pyvs, realovs):
        sw.reset()
        r = sw.ofctl(*args, check=False)
        dump = sw.ofctl("dump-flows", "BR").stdout
        results.append((r.returncode, _norm(r.stdout), _norm(r.stderr),
                        flow_lines(no_times(dump))))
    assert results[0] == results[1]
