"""RFC 6962 Merkle trees over a storage shard, cut into fixed-size leaves.

The chain commits to one root per shard; a storage node proves it still holds the shard by
answering a challenged leaf index with the leaf bytes and its audit path. The tree is RFC 6962's
Merkle Tree Hash (§2.1): leaf hash = sha256(0x00 || leaf), node hash =
sha256(0x01 || left || right), the tree over n leaves splitting at the largest power of two
below n. The domain prefixes keep a leaf from passing as an inner node (second preimages).
Audit paths are in §2.1.1 order, the sibling nearest the leaf first; verification is
RFC 9162 §2.1.3.2.

Format and test vectors: docs/protocol/storage.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from voxpop.crypto.errors import CryptoError

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
_LEAF_START = hashlib.sha256(LEAF_PREFIX)  # copied per leaf: no prefixed copy of each leaf


class MerkleError(CryptoError, ValueError):
    """An empty shard, a leaf size below 1, or a leaf index outside the tree."""

    code = "bad_merkle_input"


def leaf_count(size: int, leaf_size: int) -> int:
    """ceil(size / leaf_size): the number of leaves of a shard of `size` bytes."""
    _check_shape(size, leaf_size)
    return -(-size // leaf_size)


def leaves(data: bytes, leaf_size: int) -> list[bytes]:
    """Consecutive `leaf_size` slices of `data`; the last may be shorter. Raises MerkleError."""
    _check_shape(len(data), leaf_size)
    view = memoryview(data)
    return [bytes(view[i : i + leaf_size]) for i in range(0, len(data), leaf_size)]


def hash_leaf(leaf: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def hash_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def root_of_leaves(items: Sequence[bytes]) -> bytes:
    """The RFC 6962 Merkle Tree Hash of a non-empty list of leaves (any sizes)."""
    return _Levels([hash_leaf(x) for x in items]).root


def merkle_root(data: bytes, leaf_size: int) -> bytes:
    """The 32-byte root of the shard `data` cut into `leaf_size` leaves. Raises MerkleError."""
    return MerkleTree(data, leaf_size).root


def merkle_path(data: bytes, leaf_size: int, index: int) -> list[bytes]:
    """The audit path of leaf `index` (RFC 6962 §2.1.1 order). Raises MerkleError."""
    return MerkleTree(data, leaf_size).path(index)


def verify_path(
    root: bytes, leaf: bytes, index: int, leaf_count: int, path: Sequence[bytes]
) -> bool:
    """True if `leaf` is leaf `index` of a `leaf_count`-leaf tree with this root; never raises.

    The path must have exactly the length the tree shape implies (no extra or missing hashes).
    Callers that need the leaf to be a whole leaf also check its length against the leaf size.
    """
    # Verify the shape: the index inside the tree, every path element a full hash
    if not (0 <= index < leaf_count) or len(root) != HASH_SIZE:
        return False
    if any(len(p) != HASH_SIZE for p in path):
        return False
    fn, sn = index, leaf_count - 1
    r = hash_leaf(bytes(leaf))
    for p in path:
        # Verify the path is not longer than the tree is high
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hash_node(bytes(p), r)
            # A right edge node with no sibling at this level is promoted: skip those levels
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hash_node(r, bytes(p))
        fn >>= 1
        sn >>= 1
    # Verify the path reached the top and the recomputed root matches
    return sn == 0 and r == root


class MerkleTree:
    """The whole tree of one shard, built once so many challenges are answered without rehashing.

    Holds every level (about 2 x leaf_count hashes, 64 bytes a leaf: 16 MiB of hashes for a 1 GiB
    shard at 4 KiB leaves) and a view of the data for `leaf(index)`.
    """

    __slots__ = ("_data", "_leaf_size", "_levels")

    def __init__(self, data: bytes, leaf_size: int) -> None:
        """Raises MerkleError for an empty shard or a leaf size below 1."""
        _check_shape(len(data), leaf_size)
        self._data = data
        self._leaf_size = leaf_size
        self._levels = _Levels(_hash_leaves(memoryview(data), 0, len(data), leaf_size))

    @property
    def root(self) -> bytes:
        return self._levels.root

    @property
    def leaf_count(self) -> int:
        return len(self._levels.levels[0])

    def leaf(self, index: int) -> bytes:
        self._check_index(index)
        start = index * self._leaf_size
        return bytes(self._data[start : start + self._leaf_size])

    def path(self, index: int) -> list[bytes]:
        self._check_index(index)
        return self._levels.path(index)

    def _check_index(self, index: int) -> None:
        # Verify the leaf exists
        if not 0 <= index < self.leaf_count:
            raise MerkleError(f"leaf {index} is outside a tree of {self.leaf_count} leaves")


class RootBuilder:
    """The root of a shard hashed as its bytes come, in pieces of any sizes: leaves as they
    fill, and inner nodes as soon as both children are there, so almost nothing is left to hash
    once the last byte is in (`merkle_root` of the same bytes, the same root)."""

    __slots__ = ("_leaf_size", "_pending", "_size", "_tail")

    def __init__(self, leaf_size: int) -> None:
        """Raises MerkleError for a leaf size below 1."""
        _check_shape(1, leaf_size)
        self._leaf_size = leaf_size
        # Per level, bottom-up: the nodes still waiting for a right sibling (at most one once
        # a piece is absorbed)
        self._pending: list[list[bytes]] = []
        self._tail = bytearray()  # the start of a leaf whose end has not come yet
        self._size = 0

    def feed(self, piece: bytes | bytearray | memoryview) -> None:
        """The next bytes of the shard."""
        view = memoryview(piece)
        self._size += len(view)
        if self._tail:
            take = self._leaf_size - len(self._tail)
            self._tail += view[:take]
            view = view[take:]
            if len(self._tail) < self._leaf_size:
                return
            self._absorb(_hash_leaves(memoryview(self._tail), 0, self._leaf_size, self._leaf_size))
            self._tail = bytearray()
        whole = len(view) - len(view) % self._leaf_size
        self._absorb(_hash_leaves(view, 0, whole, self._leaf_size))
        self._tail += view[whole:]

    def root(self) -> bytes:
        """The root of the bytes fed (the last leaf may be short). Raises MerkleError for an
        empty shard."""
        _check_shape(self._size, self._leaf_size)
        self._absorb(_hash_leaves(memoryview(self._tail), 0, len(self._tail), self._leaf_size))
        self._tail = bytearray()
        # The nodes left are complete subtrees, larger going up and each left of those below:
        # RFC 6962 hashes each with everything to its right
        root: bytes | None = None
        for waiting in self._pending:
            if waiting:
                root = waiting[0] if root is None else hash_node(waiting[0], root)
        assert root is not None
        return root

    def _absorb(self, hashes: list[bytes]) -> None:
        sha = hashlib.sha256
        level = 0
        while hashes:
            if level == len(self._pending):
                self._pending.append([])
            waiting = self._pending[level]
            waiting += hashes
            pairs = len(waiting) // 2
            hashes = [
                sha(NODE_PREFIX + waiting[2 * i] + waiting[2 * i + 1]).digest()
                for i in range(pairs)
            ]
            del waiting[: 2 * pairs]
            level += 1


def _hash_leaves(view: memoryview, start: int, end: int, leaf_size: int) -> list[bytes]:
    """The leaf hashes of `view[start:end]` cut into `leaf_size` leaves (the last may be short)."""
    out = []
    fresh = _LEAF_START.copy
    for i in range(start, end, leaf_size):
        h = fresh()
        h.update(view[i : min(i + leaf_size, end)])
        out.append(h.digest())
    return out


class _Levels:
    """Levels bottom-up; a level's odd last node is promoted to the next one unchanged.

    Promoting the lone right node gives exactly RFC 6962's split at the largest power of two:
    the left subtrees are always complete, so the only unpaired node of a level is the right
    edge, which RFC 6962 also hashes in only at the level where it meets its left neighbour.
    """

    __slots__ = ("levels",)

    def __init__(self, bottom: list[bytes]) -> None:
        if not bottom:
            raise MerkleError("a Merkle tree needs at least one leaf")
        self.levels = [bottom]
        level = bottom
        sha = hashlib.sha256

        def pairs(level: list[bytes]) -> range:
            return range(0, len(level) - 1, 2)

        while len(level) > 1:
            # hash_node inlined (a third of building the tree is the calls)
            up = [sha(NODE_PREFIX + level[i] + level[i + 1]).digest() for i in pairs(level)]
            if len(level) % 2:
                up.append(level[-1])
            self.levels.append(up)
            level = up

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def path(self, index: int) -> list[bytes]:
        out: list[bytes] = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                out.append(level[sibling])
            index >>= 1
        return out


def _check_shape(size: int, leaf_size: int) -> None:
    # Verify a positive leaf size and a non-empty shard: the empty tree has no leaf to challenge
    if leaf_size < 1:
        raise MerkleError(f"the leaf size must be at least 1, got {leaf_size}")
    if size < 1:
        raise MerkleError("an empty shard has no Merkle tree")
