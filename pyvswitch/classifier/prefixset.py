"""A multiset of equal-length bit-string prefixes with the prefix trie's lookup.

Each subtable's ports "trie" holds the ``tp_src:tp_dst`` prefixes of its rules, all of
one length (the subtable's mask decides it).  For prefixes of a single length ``L`` the
trie's answer has a closed form: a value whose first ``L`` bits are stored needs all
``L`` bits examined; otherwise it needs the longest prefix it shares with any stored
prefix plus the first bit that differs -- and among sorted numbers the one sharing the
longest prefix with a value is next to it in sort order.  So a sorted sequence answers
with two binary searches, and an insertion costs a binary search and a short move, where
a trie walks a node per bit and keeps four objects per prefix.  Same results as
:class:`~pyvswitch.classifier.trie.PrefixTrie` (a property test compares them).

The sequence is kept in blocks of at most ``2 * LOAD`` sorted ints (a list of lists, as
``sortedcontainers`` does), so inserting into a million entries moves a few thousand
words, not a million.

Layer: classifier.  Imports: nothing.
"""

from __future__ import annotations

from bisect import bisect_left, insort

#: target block size
LOAD = 512


class EqualLengthPrefixSet:
    """Prefixes of ``width``-bit values, all ``plen`` bits long (fixed by the first
    insertion; 0 while empty).  ``insert``/``remove``/``lookup`` take full values, as
    ``PrefixTrie`` does."""

    __slots__ = ("width", "plen", "blocks", "maxes", "n_prefixes")

    def __init__(self, width: int) -> None:
        self.width = width
        self.plen = 0
        self.blocks: list[list[int]] = []
        self.maxes: list[int] = []
        self.n_prefixes = 0

    def insert(self, value: int, plen: int) -> None:
        """Add the ``plen``-bit prefix of ``value``; every prefix has the same length."""
        if self.plen != plen:
            if self.n_prefixes:
                raise ValueError(f"prefix length {plen}, the set holds {self.plen}-bit ones")
            self.plen = plen
        x = value >> (self.width - plen)
        self.n_prefixes += 1
        maxes = self.maxes
        if not maxes:
            self.blocks.append([x])
            maxes.append(x)
            return
        i = bisect_left(maxes, x)
        if i == len(maxes):
            i -= 1
            self.blocks[i].append(x)
            maxes[i] = x
        else:
            insort(self.blocks[i], x)
        block = self.blocks[i]
        if len(block) > 2 * LOAD:
            self.blocks[i:i + 1] = [block[:LOAD], block[LOAD:]]
            maxes[i:i + 1] = [block[LOAD - 1], block[-1]]

    def remove(self, value: int, plen: int) -> bool:
        """Remove one copy of the ``plen``-bit prefix of ``value``; False if absent."""
        if plen != self.plen or not self.n_prefixes:
            return False
        x = value >> (self.width - plen)
        maxes = self.maxes
        i = bisect_left(maxes, x)
        if i == len(maxes):
            return False
        block = self.blocks[i]
        j = bisect_left(block, x)
        if j == len(block) or block[j] != x:
            return False
        del block[j]
        self.n_prefixes -= 1
        if block:
            maxes[i] = block[-1]
        else:
            del self.blocks[i]
            del maxes[i]
        return True

    def lookup(self, value: int) -> tuple[int, int]:
        """(maskbits, plens) as ``PrefixTrie.lookup`` answers them."""
        maxes = self.maxes
        if not maxes:
            return 0, 0
        plen = self.plen
        x = value >> (self.width - plen)
        i = bisect_left(maxes, x)
        if i < len(maxes):
            block = self.blocks[i]
            j = bisect_left(block, x)
            succ = block[j]
            if succ == x:
                return plen, 1 << (plen - 1)
            pred = block[j - 1] if j else (self.blocks[i - 1][-1] if i else None)
            diff = (x ^ succ).bit_length()
        else:
            pred = maxes[-1]
            diff = plen + 1
        if pred is not None:
            diff = min(diff, (x ^ pred).bit_length())
        # the bits shared with the nearest stored prefix, plus the first that differs
        return plen - diff + 1, 0

    def __len__(self) -> int:
        return self.n_prefixes
