"""The prefix trie against a brute-force model of OVS's trie_lookup_value semantics."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pyvswitch.classifier.trie import PrefixTrie, cidr_len, prefix_mask


def _model_lookup(prefixes: list[tuple[int, int]], value: int, width: int) -> tuple[int, int]:
    """Derive (maskbits, plens) from the stored prefixes alone.

    d = the longest length whose leading bits of ``value`` start some stored prefix;
    a stored prefix equal to value's first L bits sets plens bit L-1; one more bit is
    needed when some stored prefix continues beyond d (it excluded that branch).
    """

    def top(v: int, n: int) -> int:
        return v >> (width - n)

    d = 0
    for p, plen in prefixes:
        common = 0
        while common < plen and top(value, common + 1) == top(p, common + 1):
            common += 1
        d = max(d, common)
    plens = 0
    for p, plen in prefixes:
        if plen <= d and top(value, plen) == top(p, plen):
            plens |= 1 << (plen - 1)
    if d >= width:
        return width, plens
    longer = any(plen > d and top(p, d) == top(value, d) for p, plen in prefixes)
    return (d + 1 if longer else d), plens


_ops = st.lists(
    st.tuples(st.booleans(), st.integers(0, 255), st.integers(1, 8)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(ops=_ops, values=st.lists(st.integers(0, 255), min_size=1, max_size=8))
def test_trie_matches_model(ops, values):
    width = 8
    trie = PrefixTrie(width)
    stored: list[tuple[int, int]] = []
    for add, v, plen in ops:
        v &= prefix_mask(width, plen)
        if add or (v, plen) not in stored:
            trie.insert(v, plen)
            stored.append((v, plen))
        else:
            assert trie.remove(v, plen)
            stored.remove((v, plen))
        for value in values:
            assert trie.lookup(value) == _model_lookup(stored, value, width)
    assert trie.n_prefixes == len(stored)


# 32-bit values clustered under a few 20-bit heads: the walk is memoised per prefix
# of 16 bits beyond the shared root path, so lookups go through both the memo and the
# continued walk below it.
_heads = st.sampled_from([0xC6336 << 12, 0xC6337 << 12, 0xCB007 << 12, 0x0A000 << 12])
_val32 = st.builds(lambda h, lo: h | lo, _heads, st.integers(0, 0xFFF))
_ops32 = st.lists(st.tuples(st.booleans(), _val32, st.integers(1, 32)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(ops=_ops32, values=st.lists(_val32, min_size=1, max_size=8))
def test_trie_matches_model_32_bits(ops, values):
    width = 32
    trie = PrefixTrie(width)
    stored: list[tuple[int, int]] = []
    for add, v, plen in ops:
        v &= prefix_mask(width, plen)
        if add or (v, plen) not in stored:
            trie.insert(v, plen)
            stored.append((v, plen))
        else:
            assert trie.remove(v, plen)
            stored.remove((v, plen))
        for value in values:
            expected = _model_lookup(stored, value, width)
            assert trie.lookup(value) == expected
            assert trie.lookup(value) == expected  # again, now from the memo


def test_remove_absent_prefix_reports_false():
    trie = PrefixTrie(32)
    trie.insert(0xC6336400, 24)
    assert not trie.remove(0xC6336400, 23)
    assert not trie.remove(0xCB007100, 24)
    assert trie.remove(0xC6336400, 24)
    assert trie.root is None


def test_empty_trie_needs_no_bits():
    assert PrefixTrie(32).lookup(0x12345678) == (0, 0)


def test_cidr_len():
    assert cidr_len(0xFFFFFF00, 32) == 24
    assert cidr_len(0xFFFFFFFF, 32) == 32
    assert cidr_len(0, 32) == 0
    assert cidr_len(0xFF00FF00, 32) == 0
    assert cidr_len(0x0000FFFF, 32) == 0
    assert cidr_len(1 << 127, 128) == 1


@settings(max_examples=300, deadline=None)
@given(plen=st.integers(1, 8), ops=st.lists(st.tuples(st.booleans(), st.integers(0, 255)),
                                            max_size=60),
       probes=st.lists(st.integers(0, 255), min_size=1, max_size=8),
       load=st.sampled_from([1, 2, 512]))
def test_equal_length_prefix_set_answers_as_the_trie(plen, ops, probes, load):
    """The ports tries hold prefixes of one length: the sorted set that replaces them
    must give the trie's answers, through insertions, removals and block splits."""
    from pyvswitch.classifier import prefixset

    saved, prefixset.LOAD = prefixset.LOAD, load
    try:
        trie, pset = PrefixTrie(8), prefixset.EqualLengthPrefixSet(8)
        for add, v in ops:
            if add:
                trie.insert(v, plen)
                pset.insert(v, plen)
            else:
                assert trie.remove(v, plen) == pset.remove(v, plen)
            assert len(pset) == trie.n_prefixes
            for p in probes:
                assert pset.lookup(p) == trie.lookup(p)
        for p in range(256):  # every value, once the set is built
            assert pset.lookup(p) == trie.lookup(p)
    finally:
        prefixset.LOAD = saved
