"""A path-compressed binary prefix trie, used to keep megaflows wide.

The classifier consults prefix tries (one per tracked address field, and one per subtable
for the L4 ports) to prove that *no* rule of a subtable can match a packet after looking
at only the first few bits of a field.  The lookup therefore reports two things:

* ``plens``: a bit set with bit ``L - 1`` set when some stored prefix of length ``L``
  equals the value's first ``L`` bits;
* ``maskbits``: how many leading bits of the value had to be examined to reach that
  verdict -- the bits a megaflow must then match on.

These are the semantics of OVS's ``trie_lookup_value()``: walk the stored prefixes along
the value; on the first disagreeing bit, that bit counts too (it is what excluded the
other branch); when the walk ends at a prefix with nothing longer below it, no extra
bit is needed.  The result depends only on the multiset of stored prefixes, not on the
shape of the tree, which is what makes it testable against a brute-force model.

Values are ``width``-bit unsigned ints read from the most significant bit; a prefix of
length ``L`` is the top ``L`` bits of its value (lower bits are ignored).

Layer: classifier.  Imports: nothing.
"""

from __future__ import annotations


class _Node:
    """A node of the trie, identified by its position: every value reaching it shares
    its first ``end`` bits, ``path``.  (Its own bits are those below its parent's
    ``end``; splitting or merging nodes never changes a surviving node's position.)
    ``n_rules`` counts the stored prefixes of length ``end`` equal to ``path``."""

    __slots__ = ("end", "path", "n_rules", "e0", "e1")

    def __init__(self, end: int, path: int, n_rules: int) -> None:
        self.end = end
        self.path = path
        self.n_rules = n_rules
        # the children on a 0 and a 1 bit (two slots: a trie may have a million nodes)
        self.e0: _Node | None = None
        self.e1: _Node | None = None

    def child(self, bit: int) -> _Node | None:
        return self.e1 if bit else self.e0

    def set_child(self, bit: int, node: _Node | None) -> None:
        if bit:
            self.e1 = node
        else:
            self.e0 = node

    def is_leaf(self) -> bool:
        return self.e0 is None and self.e1 is None


class PrefixTrie:
    """A multiset of bit-string prefixes of values ``width`` bits wide."""

    __slots__ = ("width", "root", "n_prefixes", "_memo", "_k", "_stored")

    #: most memoised walks kept before the memo starts over
    MEMO_MAX = 1 << 16

    def __init__(self, width: int) -> None:
        self.width = width
        self.root: _Node | None = None
        self.n_prefixes = 0
        # The walk through the nodes covering a value's first ``_k`` bits depends on
        # those bits only, so it is memoised per ``_k``-bit prefix: 12 bits beyond
        # the path every stored prefix shares.  Any update forgets the memo.
        self._k = 0
        self._memo: dict[int, tuple] = {}
        # The node of every stored prefix, by (prefix << 8 | length): a prefix stored
        # again (a table holds many rules per address) is counted without a walk, and
        # leaves lookups unchanged (they only ask whether a prefix is stored).
        self._stored: dict[int, _Node] = {}

    # -- updates --------------------------------------------------------------------
    def insert(self, value: int, plen: int) -> None:
        """Add the ``plen``-bit prefix of ``value`` (``1 <= plen <= width``)."""
        w = self.width
        self.n_prefixes += 1
        key = ((value >> (w - plen)) << 8) | plen
        node = self._stored.get(key)
        if node is not None:
            node.n_rules += 1
            return
        self._memo.clear()
        self._k = 0
        stored = self._stored
        parent: _Node | None = None
        branch = 0
        node = self.root
        while node is not None:
            end = node.end
            cap = min(end, plen)
            top_bits = node.path >> (end - cap)
            common = cap - ((value >> (w - cap)) ^ top_bits).bit_length()
            if common < end:
                # The new prefix leaves this node's path (or ends inside it): split.
                top = _Node(common, node.path >> (end - common), 1 if common == plen else 0)
                old_branch = (node.path >> (end - common - 1)) & 1
                top.set_child(old_branch, node)
                if common < plen:
                    leaf = _Node(plen, value >> (w - plen), 1)
                    top.set_child(1 - old_branch, leaf)
                    stored[key] = leaf
                else:
                    stored[key] = top
                self._set_edge(parent, branch, top)
                return
            if end == plen:
                node.n_rules += 1  # a branch point becomes a stored prefix
                stored[key] = node
                return
            parent, branch = node, (value >> (w - end - 1)) & 1
            node = node.e1 if branch else node.e0
        leaf = _Node(plen, value >> (w - plen), 1)
        stored[key] = leaf
        self._set_edge(parent, branch, leaf)

    def _set_edge(self, parent: _Node | None, branch: int, node: _Node | None) -> None:
        if parent is None:
            self.root = node
        else:
            parent.set_child(branch, node)

    def remove(self, value: int, plen: int) -> bool:
        """Remove one copy of the ``plen``-bit prefix of ``value``; False if absent."""
        w = self.width
        key = ((value >> (w - plen)) << 8) | plen
        node = self._stored.get(key)
        if node is None:
            return False
        if node.n_rules > 1:
            node.n_rules -= 1
            self.n_prefixes -= 1
            return True
        del self._stored[key]
        path: list[tuple[_Node | None, int]] = []  # (parent, branch) leading to each node
        parent: _Node | None = None
        branch = 0
        node = self.root
        while node is not None:
            end = node.end
            if end > plen or value >> (w - end) != node.path:
                return False
            path.append((parent, branch))
            if end == plen:
                break
            parent, branch = node, (value >> (w - end - 1)) & 1
            node = node.e1 if branch else node.e0
        if node is None or node.n_rules == 0:
            return False
        node.n_rules -= 1
        self.n_prefixes -= 1
        self._memo.clear()
        self._k = 0
        # Prune: a node with no rules keeps a reason to exist only as a branch point.
        while node is not None and node.n_rules == 0:
            e0, e1 = node.e0, node.e1
            if e0 is not None and e1 is not None:
                break
            parent, branch = path.pop()
            child = e0 if e0 is not None else e1
            self._set_edge(parent, branch, child)
            if child is not None:
                break
            node = parent
        return True

    # -- lookup ---------------------------------------------------------------------
    def lookup(self, value: int) -> tuple[int, int]:
        """(maskbits, plens) for ``value`` -- see the module docstring."""
        w = self.width
        k = self._k
        if not k:
            k = self._k = min(w, (self.root.end if self.root is not None else 0) + 12)
        top = value >> (w - k)
        state = self._memo.get(top)
        if state is None:
            if len(self._memo) >= self.MEMO_MAX:
                self._memo.clear()
            state = self._memo[top] = self._walk(top << (w - k), k)
        if len(state) == 2:
            return state  # decided within the first _k bits
        plens, prev, _ = state
        if prev is None:
            node = self.root
        else:
            node = prev.e1 if (value >> (w - prev.end - 1)) & 1 else prev.e0
        while node is not None:
            end = node.end
            x = value >> (w - end)
            if x != node.path:
                # Disagreement inside this node: the common bits plus the first
                # differing one.
                return end - (x ^ node.path).bit_length() + 1, plens
            if node.n_rules:
                plens |= 1 << (end - 1)
            if end >= w:
                return w, plens
            prev = node
            node = node.e1 if (value >> (w - end - 1)) & 1 else node.e0
        if prev is None:
            return 0, plens
        return (prev.end if prev.is_leaf() else prev.end + 1), plens

    def _walk(self, value: int, limit: int) -> tuple:
        """Walk the nodes that lie within ``value``'s first ``limit`` bits: either the
        final (maskbits, plens), or (plens, prev, 0) with ``prev`` the last node
        passed (None: none yet); the walk goes on with ``prev``'s child chosen by the
        next bit, which may lie beyond ``limit``."""
        w = self.width
        node = self.root
        prev: _Node | None = None
        plens = 0
        while node is not None and node.end <= limit:
            end = node.end
            x = value >> (w - end)
            if x != node.path:
                return end - (x ^ node.path).bit_length() + 1, plens
            if node.n_rules:
                plens |= 1 << (end - 1)
            if end >= w:
                return w, plens
            prev = node
            if end == limit:
                break
            node = node.e1 if (value >> (w - end - 1)) & 1 else node.e0
        if node is None:
            if prev is None:
                return 0, plens
            return (prev.end if prev.is_leaf() else prev.end + 1), plens
        return plens, prev, 0


def prefix_mask(width: int, n_bits: int) -> int:
    """A ``width``-bit mask with its ``n_bits`` most significant bits set."""
    if n_bits <= 0:
        return 0
    if n_bits >= width:
        return (1 << width) - 1
    return ((1 << n_bits) - 1) << (width - n_bits)


def cidr_len(mask: int, width: int) -> int:
    """The prefix length of ``mask`` when it is a non-empty CIDR mask, else 0."""
    if mask == 0:
        return 0
    inv = ~mask & ((1 << width) - 1)
    if inv & (inv + 1):
        return 0  # not of the form 1...10...0
    return width - inv.bit_length()
