"""RFC 6962 Merkle tree hashing, inclusion and consistency proofs (stdlib only).

Leaf hash   = SHA-256(0x00 || leaf bytes)
Node hash   = SHA-256(0x01 || left || right)
MTH(D[n])   splits at k, the largest power of two smaller than n (RFC 6962 §2.1).

This module imports nothing from Django so that the offline verifier
(`python -m phiwarden.audit.verify`) can run where only the bundle and this code exist.
Proof verification follows RFC 9162 §2.1.3.2 and §2.1.4.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The compact state of a growing tree: the roots of its complete subtrees, largest first.

    Appending a leaf merges equal-sized subtrees like a binary counter, so a tree of n
    leaves is held in O(log n) hashes and its root is computed without the leaves.
    """

    def __init__(self, size: int = 0, nodes: Sequence[tuple[int, bytes]] = ()) -> None:
        self.size = size
        self.nodes: list[tuple[int, bytes]] = list(nodes)
        if sum(s for s, _ in self.nodes) != size:
            raise ValueError("frontier sizes do not add up to the tree size")

    def append(self, leaf: bytes) -> None:
        size, node = 1, leaf
        while self.nodes and self.nodes[-1][0] == size:
            left_size, left = self.nodes.pop()
            node = node_hash(left, node)
            size += left_size
        self.nodes.append((size, node))
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        root = self.nodes[-1][1]
        for _size, node in reversed(self.nodes[:-1]):
            root = node_hash(node, root)
        return root

    def to_json(self) -> list[list[int | str]]:
        return [[size, node.hex()] for size, node in self.nodes]

    @classmethod
    def from_json(cls, data: Sequence[Sequence[int | str]]) -> Frontier:
        nodes = [(int(size), bytes.fromhex(str(node))) for size, node in data]
        return cls(sum(s for s, _ in nodes), nodes)


def root_of(leaves: Sequence[bytes]) -> bytes:
    frontier = Frontier()
    frontier.extend(leaves)
    return frontier.root()


def _subtree(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    if end - start == 1:
        return leaves[start]
    return root_of(leaves[start:end])


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1 for the leaf at `index`."""
    n = len(leaves)
    if not 0 <= index < n:
        raise IndexError("leaf index outside the tree")
    proof: list[bytes] = []
    start, end, m = 0, n, index
    stack: list[bytes] = []
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            stack.append(_subtree(leaves, start + k, end))
            end = start + k
        else:
            stack.append(_subtree(leaves, start, start + k))
            start, m = start + k, m - k
    proof.extend(reversed(stack))
    return proof


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2 between the first `old_size` leaves and all of them."""
    n = len(leaves)
    if not 0 < old_size <= n:
        raise ValueError("old size must be between 1 and the tree size")
    if old_size == n:
        return []
    return _subproof(leaves, 0, n, old_size, complete=True)


def _subproof(
    leaves: Sequence[bytes], start: int, end: int, m: int, *, complete: bool
) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [_subtree(leaves, start, end)]
    k = _split(n)
    if m <= k:
        return [
            *_subproof(leaves, start, start + k, m, complete=complete),
            _subtree(leaves, start + k, end),
        ]
    return [
        *_subproof(leaves, start + k, end, m - k, complete=False),
        _subtree(leaves, start, start + k),
    ]


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2."""
    if old_size > new_size or old_size == 0:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
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
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
