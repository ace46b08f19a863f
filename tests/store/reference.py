"""A deliberately simple model of the state tree: the root computed recursively from a dict.

It follows docs/protocol/state-tree.md literally and shares no code with voxpop.store, so the
store's incremental, versioned tree is checked against an independent reading of the spec.
"""

from __future__ import annotations

from hashlib import sha256

ZERO = bytes(32)


def _bit(key_hash: bytes, depth: int) -> int:
    return (key_hash[depth // 8] >> (7 - depth % 8)) & 1


def _subtree_root(depth: int, leaves: list[tuple[bytes, bytes]]) -> bytes:
    if not leaves:
        return ZERO
    if len(leaves) == 1:
        key_hash, value_hash = leaves[0]
        return sha256(b"\x00" + key_hash + value_hash).digest()
    left = [leaf for leaf in leaves if _bit(leaf[0], depth) == 0]
    right = [leaf for leaf in leaves if _bit(leaf[0], depth) == 1]
    return sha256(
        b"\x01" + _subtree_root(depth + 1, left) + _subtree_root(depth + 1, right)
    ).digest()


def reference_root(state: dict[bytes, bytes]) -> bytes:
    leaves = [(sha256(key).digest(), sha256(value).digest()) for key, value in state.items()]
    return _subtree_root(0, leaves)
