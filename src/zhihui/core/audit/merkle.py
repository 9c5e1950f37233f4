"""The Merkle tree of RFC 9162 section 2.1: hashing, proofs and their verification.

Pure functions, no database. Proofs are built in two steps so that a store of interior
hashes answers them in one read of O(log n) rows: a *plan* says which perfect subtrees
(``(level, index)``: the hash of leaves ``[index * 2**level, (index + 1) * 2**level)``) make
up each proof hash, and ``resolve`` folds the hashes a store returned for them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = SHA-256()

Key = tuple[int, int]  # (level, index) of a perfect subtree
Plan = list[list[Key]]  # one list of perfect subtrees per proof hash, folded right to left


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than n (n >= 2): where MTH splits D[n]."""
    return 1 << ((n - 1).bit_length() - 1)


def cover(start: int, end: int) -> list[Key]:
    """[start, end) as perfect subtrees from left to right, each as large as alignment allows.

    For the ranges RFC 9162 recursion meets (start a multiple of the range's size rounded up
    to a power of two) folding these right to left gives MTH(D[start:end])."""
    keys: list[Key] = []
    while start < end:
        size = start & -start if start else 1 << ((end - start).bit_length() - 1)
        while size > end - start:
            size >>= 1
        level = size.bit_length() - 1
        keys.append((level, start >> level))
        start += size
    return keys


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right to left: node(h0, node(h1, ... node(h[-2], h[-1])))."""
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = node_hash(h, result)
    return result


def root_plan(size: int) -> list[Key]:
    return cover(0, size)


def inclusion_plan(index: int, size: int) -> Plan:
    """PATH(m, D[n]) of RFC 9162 2.1.3.1, as perfect subtrees, in RFC order (leaf upwards)."""
    if not 0 <= index < size:
        raise ValueError("index out of range")
    path: Plan = []
    start, n, m = 0, size, index
    while n > 1:
        k = split_point(n)
        if m < k:
            path.append(cover(start + k, start + n))
            n = k
        else:
            path.append(cover(start, start + k))
            start, n, m = start + k, n - k, m - k
    path.reverse()
    return path


def consistency_plan(first: int, second: int) -> Plan:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) of RFC 9162 2.1.4.1, in RFC order."""
    if not 0 < first <= second:
        raise ValueError("sizes out of range")
    path: Plan = []
    start, n, m, complete = 0, second, first, True
    while m != n:
        k = split_point(n)
        if m <= k:
            path.append(cover(start + k, start + n))
            n = k
        else:
            path.append(cover(start, start + k))
            start, n, m, complete = start + k, n - k, m - k, False
    if not complete:
        path.append(cover(start, start + n))
    path.reverse()
    return path


def plan_keys(plan: Iterable[Iterable[Key]]) -> set[Key]:
    return {key for part in plan for key in part}


def resolve(plan: Plan, nodes: Mapping[Key, bytes]) -> list[bytes]:
    return [fold([nodes[key] for key in part]) for part in plan]


def root_from(size: int, nodes: Mapping[Key, bytes]) -> bytes:
    keys = root_plan(size)
    return fold([nodes[k] for k in keys]) if keys else EMPTY_ROOT


# --- verification (what an outside verifier does) -----------------------------------------


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """RFC 9162 2.1.3.2: the root the proof leads to, or None if it cannot be a proof."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    return root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2 (with the trivial cases: equal sizes, and the empty first tree)."""
    if first < 0 or second < first:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # first is a power of two: its root is the path's start
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


class CompactRange:
    """The right edge of a growing tree: append leaf hashes, read the root at any time.

    ``append`` returns every perfect subtree it completes, as ``(level, index, hash)``,
    so a store can keep them for proofs."""

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        keys = root_plan(size)
        if len(keys) != len(frontier):
            raise ValueError("frontier does not match the size")
        self.size = size
        self._stack = [(lvl, h) for (lvl, _), h in zip(keys, frontier, strict=True)]

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        self.size += 1
        n, level, h = self.size, 0, leaf
        made = [(0, n - 1, h)]
        stack = self._stack
        while stack and stack[-1][0] == level:
            h = node_hash(stack.pop()[1], h)
            level += 1
            made.append((level, (n >> level) - 1, h))
        stack.append((level, h))
        return made

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        return fold([h for _, h in self._stack])


def root_of(leaves: Iterable[bytes]) -> bytes:
    """MTH of raw entries (for tests and verifiers)."""
    tree = CompactRange()
    for entry in leaves:
        tree.append(leaf_hash(entry))
    return tree.root()
