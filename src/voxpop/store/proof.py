"""Merkle proofs of the state tree: the proof type, its canonical encoding, and verification.

Pure (no database import): the client SDK verifies query results with this module alone.

Encoding (all integers big-endian; see docs/protocol/state-tree.md):

    flags      1 byte    bit 0: a terminal leaf follows; other bits must be zero
    depth      2 bytes   number of siblings, 0..256
    bitmap     ceil(depth / 8) bytes; bit i (most significant first) set iff sibling i is
               non-empty; unused trailing bits must be zero
    siblings   32 bytes per set bitmap bit, from the root down
    leaf       64 bytes if flagged: the terminal leaf's key hash and value hash
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256

from voxpop.store.errors import ProofError
from voxpop.store.hashing import (
    EMPTY_HASH,
    HASH_SIZE,
    INTERNAL_PREFIX,
    LEAF_PREFIX,
    MAX_DEPTH,
    count_common_prefix_bits,
)

_FLAG_LEAF = 0x01
_HEADER_SIZE = 3
MAX_PROOF_SIZE = _HEADER_SIZE + MAX_DEPTH // 8 + MAX_DEPTH * HASH_SIZE + 2 * HASH_SIZE


@dataclass(frozen=True, slots=True)
class ProofLeaf:
    """A leaf met where a key's path ends, proving that key absent (its hash differs)."""

    key_hash: bytes
    value_hash: bytes


@dataclass(frozen=True, slots=True)
class Proof:
    """The path from the root to where a key's leaf is (or would be).

    `siblings[d]` is the hash of the subtree beside the path at depth d (EMPTY_HASH if empty).
    `leaf` is set only for an absence proof that ends at another key's leaf.
    """

    siblings: tuple[bytes, ...]
    leaf: ProofLeaf | None = None

    def encode(self) -> bytes:
        """The canonical encoding. Raises ProofError if a field has the wrong size."""
        depth = len(self.siblings)
        # Verify the proof is representable before encoding it.
        if depth > MAX_DEPTH:
            raise ProofError(f"proof depth {depth} exceeds {MAX_DEPTH}")
        bitmap = bytearray((depth + 7) // 8)
        present: list[bytes] = []
        for index, sibling in enumerate(self.siblings):
            if len(sibling) != HASH_SIZE:
                raise ProofError(f"sibling {index} is {len(sibling)} bytes, not {HASH_SIZE}")
            if sibling != EMPTY_HASH:
                bitmap[index >> 3] |= 0x80 >> (index & 7)
                present.append(sibling)
        parts = [bytes((_FLAG_LEAF if self.leaf else 0,)), depth.to_bytes(2, "big"), bytes(bitmap)]
        parts.extend(present)
        if self.leaf is not None:
            if len(self.leaf.key_hash) != HASH_SIZE or len(self.leaf.value_hash) != HASH_SIZE:
                raise ProofError("terminal leaf hashes must be 32 bytes")
            parts.append(self.leaf.key_hash)
            parts.append(self.leaf.value_hash)
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> Proof:
        """Parse a canonical encoding.

        Raises ProofError if the input is oversized, truncated, has trailing bytes, sets reserved
        bits, or is not the canonical form (an all-zero hash listed as a non-empty sibling).
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ProofError("proof must be bytes")
        data = bytes(data)
        # Verify the size before parsing anything.
        if len(data) > MAX_PROOF_SIZE:
            raise ProofError(f"proof is {len(data)} bytes, more than {MAX_PROOF_SIZE}")
        if len(data) < _HEADER_SIZE:
            raise ProofError("proof is truncated")
        flags = data[0]
        # Verify no reserved flag bits are set.
        if flags & ~_FLAG_LEAF:
            raise ProofError(f"unknown proof flags {flags:#04x}")
        depth = int.from_bytes(data[1:3], "big")
        if depth > MAX_DEPTH:
            raise ProofError(f"proof depth {depth} exceeds {MAX_DEPTH}")
        bitmap_size = (depth + 7) // 8
        offset = _HEADER_SIZE + bitmap_size
        if len(data) < offset:
            raise ProofError("proof is truncated")
        bitmap = data[_HEADER_SIZE:offset]
        # Verify unused trailing bitmap bits are zero, so each proof has one encoding.
        if depth & 7 and bitmap[-1] & (0xFF >> (depth & 7)):
            raise ProofError("proof bitmap has padding bits set")
        present = sum(byte.bit_count() for byte in bitmap)
        has_leaf = bool(flags & _FLAG_LEAF)
        expected = offset + HASH_SIZE * present + (2 * HASH_SIZE if has_leaf else 0)
        if len(data) != expected:
            raise ProofError(f"proof is {len(data)} bytes, expected {expected}")
        siblings: list[bytes] = []
        for index in range(depth):
            if bitmap[index >> 3] & (0x80 >> (index & 7)):
                sibling = data[offset : offset + HASH_SIZE]
                offset += HASH_SIZE
                # Verify a listed sibling is non-empty: empties belong in the bitmap only.
                if sibling == EMPTY_HASH:
                    raise ProofError(f"sibling {index} is listed but empty")
                siblings.append(sibling)
            else:
                siblings.append(EMPTY_HASH)
        leaf = None
        if has_leaf:
            leaf = ProofLeaf(data[offset : offset + HASH_SIZE], data[offset + HASH_SIZE :])
        return cls(tuple(siblings), leaf)


def verify_proof(root: bytes, key: bytes, value: bytes | None, proof: Proof) -> bool:
    """Whether `proof` shows that, in the tree with this root, `key` maps to `value`
    (or, with value None, that `key` is absent). Never raises on malformed input."""
    siblings = proof.siblings
    depth = len(siblings)
    # Verify the shapes first: a wrong-sized field is simply a failed proof.
    if len(root) != HASH_SIZE or depth > MAX_DEPTH:
        return False
    if any(len(sibling) != HASH_SIZE for sibling in siblings):
        return False
    key_hash = sha256(key).digest()
    if value is not None:
        # Verify a membership proof carries no foreign leaf.
        if proof.leaf is not None:
            return False
        node = sha256(LEAF_PREFIX + key_hash + sha256(value).digest()).digest()
    elif proof.leaf is None:
        node = EMPTY_HASH
    else:
        other = proof.leaf
        if len(other.key_hash) != HASH_SIZE or len(other.value_hash) != HASH_SIZE:
            return False
        # Verify the terminal leaf belongs to another key whose hash shares the key's path.
        if other.key_hash == key_hash:
            return False
        if count_common_prefix_bits(other.key_hash, key_hash) < depth:
            return False
        node = sha256(LEAF_PREFIX + other.key_hash + other.value_hash).digest()
    path = int.from_bytes(key_hash, "big")
    for index in range(depth - 1, -1, -1):
        if path >> (255 - index) & 1:
            node = sha256(INTERNAL_PREFIX + siblings[index] + node).digest()
        else:
            node = sha256(INTERNAL_PREFIX + node + siblings[index]).digest()
    return node == root
