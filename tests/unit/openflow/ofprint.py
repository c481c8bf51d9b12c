"""The real ``ovs-ofctl`` as an oracle: decode many OpenFlow messages in one call.

``ovs-ofctl ofp-parse-pcap`` prints every OpenFlow message of the TCP streams in a pcap;
writing our messages as one TCP stream (segments of at most 1400 bytes) lets a test check
hundreds of encodings with a single process.  Test addresses only (198.51.100.0/24).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Sequence

OVS_OFCTL = shutil.which("ovs-ofctl")
_BLOCK = re.compile(r"^198\.51\.100\.1\.40000 > 198\.51\.100\.2\.6653:$", re.M)


def _pcap(messages: Sequence[bytes]) -> bytes:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    seq = 1000
    for msg in messages:
        for i in range(0, len(msg), 1400):
            payload = msg[i:i + 1400]
            tcp = struct.pack("!HHIIBBHHH", 40000, 6653, seq, 0, 5 << 4, 0x18, 65535, 0, 0)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0,
                             64, 6, 0, bytes((198, 51, 100, 1)), bytes((198, 51, 100, 2)))
            eth = bytes(6) + bytes((2, 0, 0, 0, 0, 1)) + b"\x08\x00"
            frame = eth + ip + tcp + payload
            out += struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame
            seq += len(payload)
    return bytes(out)


def ofp_print_many(messages: Sequence[bytes]) -> list[str]:
    """ovs-ofctl's text for each message, in order (one entry per message)."""
    with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
        f.write(_pcap(messages))
        f.flush()
        text = subprocess.run([OVS_OFCTL, "ofp-parse-pcap", f.name], capture_output=True,
                              text=True, check=True, timeout=60).stdout
    blocks = [b.strip("\n") for b in _BLOCK.split(text)[1:]]
    return blocks


def ofp_print(message: bytes) -> str:
    """ovs-ofctl ofp-print of one message."""
    return subprocess.run([OVS_OFCTL, "ofp-print", message.hex()], capture_output=True,
                          text=True, check=True, timeout=30).stdout
