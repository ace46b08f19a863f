"""RFC 6962 Merkle trees over shards: known answers, every path verifies, any change fails."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.crypto.merkle import (
    MerkleError,
    MerkleTree,
    RootBuilder,
    hash_leaf,
    leaf_count,
    leaves,
    merkle_path,
    merkle_root,
    root_of_leaves,
    verify_path,
)

# Certificate Transparency's RFC 6962 known answers (merkle_tree_test.cc in
# google/certificate-transparency): eight leaves of varying length, the roots of the trees of
# their first 1..8 leaves, and some audit paths as (leaf index, tree size, path).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_PATHS = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def mth(items: list[bytes]) -> bytes:
    """RFC 6962 §2.1 read literally (recursive split at the largest power of two below n)."""
    if len(items) == 1:
        return hash_leaf(items[0])
    k = 1
    while k * 2 < len(items):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(items[:k]) + mth(items[k:])).digest()


@pytest.mark.parametrize("n", range(1, 9))
def test_ct_roots(n: int) -> None:
    assert root_of_leaves(CT_LEAVES[:n]).hex() == CT_ROOTS[n - 1]
    assert mth(CT_LEAVES[:n]).hex() == CT_ROOTS[n - 1]


@pytest.mark.parametrize(("index", "size", "path"), CT_PATHS)
def test_ct_paths(index: int, size: int, path: list[str]) -> None:
    root = bytes.fromhex(CT_ROOTS[size - 1])
    raw = [bytes.fromhex(p) for p in path]
    assert verify_path(root, CT_LEAVES[index], index, size, raw)
    # The path the tree gives is the published one: equal-sized leaves give the same shape
    from voxpop.crypto.merkle import _Levels

    assert _Levels([hash_leaf(x) for x in CT_LEAVES[:size]]).path(index) == raw


def test_leaves_and_count() -> None:
    assert leaves(b"abcdefg", 3) == [b"abc", b"def", b"g"]
    assert leaf_count(7, 3) == 3
    assert leaf_count(6, 3) == 2
    assert leaf_count(1, 4096) == 1


def test_tree_agrees_with_functions() -> None:
    data = bytes(range(256)) * 40
    tree = MerkleTree(data, 100)
    assert tree.leaf_count == 103
    assert tree.root == merkle_root(data, 100) == mth(leaves(data, 100))
    assert tree.path(102) == merkle_path(data, 100, 102)
    assert tree.leaf(102) == data[10200:]


@settings(max_examples=40, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=3000),
    leaf=st.integers(1, 300),
    cuts=st.lists(st.integers(0, 3000)),
)
def test_root_builder_as_bytes_arrive(data: bytes, leaf: int, cuts: list[int]) -> None:
    """Hashed leaf by leaf as the bytes come (in pieces of any sizes): merkle_root's root."""
    builder = RootBuilder(leaf)
    at = 0
    for cut in [*sorted(c for c in cuts if c <= len(data)), len(data)]:
        builder.feed(memoryview(data)[at:cut] if cut > at else b"")
        at = max(at, cut)
    assert builder.root() == merkle_root(data, leaf) == mth(leaves(data, leaf))
    with pytest.raises(MerkleError):
        RootBuilder(leaf).root()


def test_invalid_empty_shard_and_bad_index() -> None:
    with pytest.raises(MerkleError):
        merkle_root(b"", 4096)
    with pytest.raises(MerkleError):
        MerkleTree(b"x", 0)
    tree = MerkleTree(b"abc", 1)
    for bad in (-1, 3):
        with pytest.raises(MerkleError):
            tree.path(bad)
    root = tree.root
    assert not verify_path(root, b"a", 3, 3, tree.path(0))
    assert not verify_path(root, b"a", -1, 3, tree.path(0))
    # The wrong tree size, a missing or an extra path element
    # (leaf 0's path has the same shape in trees of 3 and 4 leaves: the chain fixes the size)
    assert not verify_path(root, b"c", 2, 4, tree.path(2))
    assert not verify_path(root, b"c", 2, 2, tree.path(2))
    assert not verify_path(root, b"a", 0, 3, tree.path(0)[:-1])
    assert not verify_path(root, b"a", 0, 3, [*tree.path(0), root])
    assert not verify_path(root[:31], b"a", 0, 3, tree.path(0))


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=600),
    leaf_size=st.integers(1, 40),
    pick=st.integers(0, 10**6),
    flip=st.integers(0, 10**6),
)
def test_every_path_verifies_and_any_flip_fails(
    data: bytes, leaf_size: int, pick: int, flip: int
) -> None:
    tree = MerkleTree(data, leaf_size)
    n = tree.leaf_count
    assert n == leaf_count(len(data), leaf_size)
    assert tree.root == mth(leaves(data, leaf_size))
    for i in range(n):
        assert verify_path(tree.root, tree.leaf(i), i, n, tree.path(i))
    i = pick % n
    leaf, path = tree.leaf(i), tree.path(i)
    # One flipped bit anywhere in the leaf, the path or the root fails verification
    blob = bytearray(leaf + b"".join(path) + tree.root)
    at = flip % len(blob)
    blob[at] ^= 1 << (flip % 8)
    bad_leaf = bytes(blob[: len(leaf)])
    rest = bytes(blob[len(leaf) :])
    bad_path = [rest[j : j + 32] for j in range(0, 32 * len(path), 32)]
    bad_root = rest[32 * len(path) :]
    assert not verify_path(bad_root, bad_leaf, i, n, bad_path)
    # Another index for the same leaf and path fails unless that leaf's bytes and position agree
    if n > 1:
        j = (i + 1) % n
        assert verify_path(tree.root, leaf, j, n, path) == (
            tree.leaf(j) == leaf and tree.path(j) == path
        )
