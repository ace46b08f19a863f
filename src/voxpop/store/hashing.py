"""Domain-separated SHA-256 hashing of the state tree (docs/protocol/state-tree.md).

Pure: no I/O, no database. The proof verifier and the tree builder share these definitions.
"""

from __future__ import annotations

from hashlib import sha256

HASH_SIZE = 32
# The tree is keyed by SHA-256 of the key, so a path has at most 256 bits.
MAX_DEPTH = 256
# The hash of an empty subtree, and so the root of the empty tree.
EMPTY_HASH = bytes(HASH_SIZE)
EMPTY_ROOT = EMPTY_HASH
LEAF_PREFIX = b"\x00"
INTERNAL_PREFIX = b"\x01"


def compute_key_hash(key: bytes) -> bytes:
    return sha256(key).digest()


def compute_value_hash(value: bytes) -> bytes:
    return sha256(value).digest()


def compute_leaf_hash(key_hash: bytes, value_hash: bytes) -> bytes:
    return sha256(LEAF_PREFIX + key_hash + value_hash).digest()


def compute_internal_hash(left: bytes, right: bytes) -> bytes:
    return sha256(INTERNAL_PREFIX + left + right).digest()


def get_path_bit(key_hash: bytes, depth: int) -> int:
    """The branch taken at `depth` (0 = root): bit `depth` of the key hash, MSB first."""
    return (key_hash[depth >> 3] >> (7 - (depth & 7))) & 1


def count_common_prefix_bits(a: bytes, b: bytes) -> int:
    """How many leading bits two equal-length hashes share."""
    diff = int.from_bytes(a, "big") ^ int.from_bytes(b, "big")
    return len(a) * 8 - diff.bit_length()
