"""Properties of key extraction over arbitrary input: any bytes in, a key out; the fast
paths agree with the general path everywhere."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch import coverage
from pyvswitch.flow import layout as L
from pyvswitch.flow.extract import _extract_general, extract_headers, flow_extract
from tests.unit.packet.samples import samples

SAMPLES = [frame for _, frame in samples()]
ETH_TYPES = [0x0800, 0x86DD, 0x0806, 0x8035, 0x8100, 0x88A8, 0x8847, 0x0100, 0x05FF, 0x0600]


def assert_valid_headers(key: tuple[int, ...]) -> None:
    assert len(key) == L.N_DP - L.N_MD
    for i, value in enumerate(key):
        assert type(value) is int
        assert 0 <= value <= L.SLOT_FULL[L.N_MD + i], L.SLOT_NAMES[L.N_MD + i]


@given(st.binary(max_size=200))
def test_any_bytes_give_a_key(data):
    key = flow_extract(data)
    assert len(key) == L.N_DP
    assert_valid_headers(key[L.N_MD:])
    assert extract_headers(bytearray(data)) == extract_headers(memoryview(data)) == key[L.N_MD:]


@st.composite
def ethernet_frames(draw):
    """A header that steers the parser somewhere interesting, then random bytes."""
    head = draw(st.binary(min_size=12, max_size=12))
    types = draw(st.lists(st.sampled_from(ETH_TYPES), min_size=1, max_size=3))
    tags = b"".join(t.to_bytes(2, "big") + draw(st.binary(min_size=2, max_size=2))
                    for t in types[:-1])
    return head + tags + types[-1].to_bytes(2, "big") + draw(st.binary(max_size=120))


@st.composite
def mutated_samples(draw):
    """A sample frame with some bytes overwritten and possibly cut or extended."""
    frame = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(12, len(frame) - 1))
        frame[pos] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(frame)))
    return bytes(frame[:cut]) + draw(st.binary(max_size=8))


@settings(max_examples=400)
@given(st.one_of(ethernet_frames(), mutated_samples()))
def test_structured_input_gives_a_key_and_fast_path_agrees(data):
    key = extract_headers(data)
    assert_valid_headers(key)
    assert key == _extract_general(data)


def test_fast_path_agrees_on_every_sample_and_cut():
    for frame in SAMPLES:
        for n in range(len(frame) + 1):
            assert extract_headers(frame[:n]) == _extract_general(frame[:n])


def test_well_formed_samples_count_nothing():
    malformed = {"nd_dup_sll", "nd_zero_len_opt", "arp_hrd6"}
    for name, frame in samples():
        if name not in malformed:
            extract_headers(frame)
    assert coverage.snapshot() == {}
