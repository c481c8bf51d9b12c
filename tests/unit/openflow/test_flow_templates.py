"""Flow_mod templates decode exactly as the full decoder does.

A template made from one flow_mod must, for any message with the same bytes outside
its free ranges, either step aside (None) or give the flow_mod the full decoder gives;
messages that differ only in free values must mostly hit it (or the fast path would be
dead code).  Checked on every flow_mod of the ovs-ofctl captures and on random valid
flows of every version and encoding, with random free values and random byte flips.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.errors import OFPError
from pyvswitch.flow.actions_text import parse_actions
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand
from pyvswitch.flow.match_text import parse_match
from pyvswitch.openflow import codec
from pyvswitch.openflow import flow_templates as FT
from pyvswitch.openflow.codec import encode
from pyvswitch.openflow.instructions import decode_flow_actions, encode_flow_actions
from pyvswitch.openflow.messages import SessionState

from .gen import random_actions_text, random_match_text
from .vectors import TO_SWITCH

NXM10 = SessionState(flow_format=2, flow_mod_table_id=True)
OF10 = SessionState(flow_format=0, flow_mod_table_id=True)


def full_decode(data: bytes, state: SessionState | None) -> object:
    """What the full decoder says: a message, or the name of the error."""
    try:
        return codec._decode(data, state)
    except OFPError as e:
        return e.name


def kind(data: bytes) -> tuple[int, bool]:
    return data[0], data[1] != 14


def template_for(data: bytes, state: SessionState | None) -> tuple[FT.TemplateCache, list]:
    fm = full_decode(data, state)
    assert isinstance(fm, FlowMod)
    version, nx = kind(data)
    cache = FT.TemplateCache()
    cache.learn(data, fm, version, nx)
    free = FT._free_ranges(data, fm, version, nx) or []
    return cache, free


def with_free_values(data: bytes, free: list, rng: random.Random) -> bytes:
    out = bytearray(data)
    for ofs, width, _kind, _arg in free:
        if rng.random() < 0.7:
            out[ofs:ofs + width] = rng.getrandbits(8 * width).to_bytes(width, "big")
    return bytes(out)


def check_agrees(cache: FT.TemplateCache, data: bytes, state: SessionState | None) -> bool:
    """The template's answer (if any) is the full decoder's; True when it answered."""
    fast = cache.decode(data)
    if fast is None:
        return False
    assert full_decode(data, state) == fast
    return True


def exercise(data: bytes, state: SessionState | None, rng: random.Random) -> tuple[int, int]:
    """(hits, tries) over free-value variations; byte flips anywhere must agree too."""
    cache, free = template_for(data, state)
    assert check_agrees(cache, data, state)  # its own message
    hits = 0
    for _ in range(12):
        hits += check_agrees(cache, with_free_values(data, free, rng), state)
    for _ in range(12):
        flipped = bytearray(data)
        i = rng.randrange(len(flipped))
        flipped[i] ^= 1 << rng.randrange(8)
        check_agrees(cache, bytes(flipped), state)
    return hits, 12


FLOW_MODS = [m for m in TO_SWITCH if m.type in ("OFPT_FLOW_MOD", "NXT_FLOW_MOD")
             and isinstance(full_decode(m.data, m.state), FlowMod)]


def test_captured_flow_mods():
    assert len(FLOW_MODS) > 100
    rng = random.Random(1)
    hits = tries = 0
    for m in FLOW_MODS:
        h, t = exercise(m.data, m.state, rng)
        hits += h
        tries += t
    # masked fields whose random values leave their masks fall back, the rest hit
    assert hits > tries // 2


@st.composite
def flow_mods(draw):
    rnd = draw(st.randoms(use_true_random=False))
    version = draw(st.sampled_from([1, 4, 5]))
    nxm = version == 1 and draw(st.booleans())
    mtext, proto = random_match_text(rnd, nxm or version != 1)
    table = rnd.randrange(200)
    match = parse_match(mtext)[0]
    acts = parse_actions(random_actions_text(rnd, mtext, proto, version if version != 5 else 4,
                                             table))
    acts = decode_flow_actions(encode_flow_actions(acts, version, match), version)
    command = draw(st.sampled_from(list(FlowModCommand)))
    fm = FlowMod(command=command, match=match, priority=rnd.randrange(65536),
                 table_id=table, idle_timeout=rnd.randrange(3), cookie=rnd.getrandbits(64),
                 actions=acts if command not in (FlowModCommand.DELETE,
                                                 FlowModCommand.DELETE_STRICT) else ())
    if version != 1 and command is not FlowModCommand.ADD:
        fm.cookie_mask = draw(st.sampled_from([0, 0xFFFF]))
        fm.cookie &= fm.cookie_mask
    state = (NXM10 if nxm else OF10) if version == 1 else None
    return encode(fm, version, rnd.getrandbits(32), state), state, rnd


@settings(max_examples=150, deadline=None)
@given(flow_mods())
def test_random_flow_mods(case):
    data, state, rnd = case
    if not isinstance(full_decode(data, state), FlowMod):
        return  # the encoder may write what a decoder refuses (covered elsewhere)
    exercise(data, state, rnd)


@pytest.mark.parametrize("version,state", [(1, OF10), (1, NXM10), (4, None), (5, None)])
def test_table_load_hits_the_template(version, state):
    """What ``ovs-ofctl add-flows`` sends: after the first flow, every flow_mod of the
    same shape comes from the template, with its own values."""
    FT._CACHES.clear()
    fms = []
    for i in range(50):
        text = (f"priority={10 + i},ip,nw_src=198.51.100.{i},nw_dst=203.0.113.{i},"
                f"tcp,tp_dst={1000 + i}")
        m, _ = parse_match(text.split(",", 1)[1])
        fms.append(FlowMod(command=FlowModCommand.ADD, match=m, priority=10 + i, table_id=0,
                           cookie=i, actions=parse_actions("output:2")))
    got = [codec.decode(encode(fm, version, 7 + i, state), state) for i, fm in enumerate(fms)]
    cache = FT.cache_for(version, state is not None and state.flow_format == 2,
                         version == 1)
    assert cache.n == 1  # one template served all fifty
    for fm, g in zip(fms, got):
        assert (g.match, g.priority, g.cookie) == (fm.match, fm.priority, fm.cookie)
    assert len({id(g.actions) for g in got}) == 1  # and they share one actions tuple
