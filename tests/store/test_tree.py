"""The root hash: it follows the spec (checked against an independent model and library), and
depends only on the key/value set, never on the order or batching of the commits that built it."""

from __future__ import annotations

import random
import tempfile
from hashlib import sha256

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.store.changes import apply_changes, change_sets
from tests.store.conftest import OpenStore
from tests.store.reference import reference_root
from tests.store.storage_check import check_storage
from voxpop.store import EMPTY_ROOT, MerkleStore


def keys_sharing_prefix(bits: int, count: int) -> list[bytes]:
    """`count` keys whose SHA-256 hashes share their first `bits` bits."""
    target = int.from_bytes(sha256(b"p0").digest(), "big") >> (256 - bits)
    found = [b"p0"]
    n = 1
    while len(found) < count:
        key = b"p%d" % n
        if int.from_bytes(sha256(key).digest(), "big") >> (256 - bits) == target:
            found.append(key)
        n += 1
    return found


def test_empty_store_root_is_zero(store: MerkleStore) -> None:
    assert store.root_hash() == EMPTY_ROOT == bytes(32)
    assert store.commit(1, {}) == EMPTY_ROOT


def test_single_key_root_is_its_leaf_hash(store: MerkleStore) -> None:
    key_hash = sha256(b"alice").digest()
    leaf = sha256(b"\x00" + key_hash + sha256(b"100").digest()).digest()
    assert store.commit(1, {b"alice": b"100"}) == leaf


def test_two_keys_root(store: MerkleStore) -> None:
    root = store.commit(1, {b"a": b"1", b"b": b"2"})
    assert root == reference_root({b"a": b"1", b"b": b"2"})


def test_root_matches_reference_model(store: MerkleStore) -> None:
    rng = random.Random(7)
    state = {b"key-%d" % i: rng.randbytes(rng.randrange(0, 40)) for i in range(3000)}
    assert store.commit(1, state) == reference_root(state)
    for version in range(2, 6):
        changes: dict[bytes, bytes | None] = {}
        for _ in range(400):
            key = b"key-%d" % rng.randrange(4000)
            changes[key] = None if rng.random() < 0.3 else rng.randbytes(8)
        apply_changes(state, changes)
        assert store.commit(version, changes) == reference_root(state)
    check_storage(store)


def test_root_matches_sparse_merkle_tree_package(store: MerkleStore) -> None:
    # An independent implementation of the same hashing (Celestia's SMT, ported to Python).
    tree_module = pytest.importorskip("smt.tree")
    tree = tree_module.SparseMerkleTree(tree_module.TreeMemoryStore())
    state = {b"acct-%d" % i: b"%d" % (i * 7 + 1) for i in range(300)}
    for key, value in state.items():
        tree.update(key, value)
    assert store.commit(1, state) == tree.root


def test_deletes_restore_previous_roots(store: MerkleStore) -> None:
    base = {b"k%d" % i: b"v%d" % i for i in range(200)}
    base_root = store.commit(1, base)
    extra = {b"x%d" % i: b"w" for i in range(150)}
    store.commit(2, extra)
    assert store.commit(3, dict.fromkeys(extra)) == base_root
    assert store.commit(4, dict.fromkeys(base)) == EMPTY_ROOT
    check_storage(store)


def test_keys_sharing_long_prefixes(store: MerkleStore) -> None:
    # Leaves deep below long chains of one-child nodes, across several chunk boundaries.
    deep = keys_sharing_prefix(13, 4)
    state = {key: b"deep" for key in deep}
    state.update({b"other-%d" % i: b"x" for i in range(50)})
    assert store.commit(1, state) == reference_root(state)
    for version, key in enumerate(deep[:3], start=2):
        del state[key]
        assert store.commit(version, {key: None}) == reference_root(state)
        check_storage(store)


def test_same_value_rewrite_keeps_root(store: MerkleStore) -> None:
    root = store.commit(1, {b"a": b"1", b"b": b"2"})
    assert store.commit(2, {b"a": b"1"}) == root
    assert store.commit(3, {b"never-there": None}) == root
    check_storage(store)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(change_sets, min_size=1, max_size=8), st.integers(1, 3))
def test_root_depends_only_on_contents(history: list[dict[bytes, bytes | None]], keep: int) -> None:
    state: dict[bytes, bytes] = {}
    with tempfile.TemporaryDirectory() as directory:
        with MerkleStore(f"{directory}/a", keep_versions=keep, prune_in_background=False) as s:
            for version, changes in enumerate(history, start=1):
                apply_changes(state, changes)
                assert s.commit(version, changes) == reference_root(state)
            check_storage(s)
            final_root = s.root_hash()
        # The same contents built in one commit give the same root.
        with MerkleStore(f"{directory}/b") as fresh:
            assert fresh.commit(1, state) == final_root


def test_batched_and_one_by_one_commits_agree(open_store: OpenStore) -> None:
    rng = random.Random(11)
    changes = {b"k%d" % rng.randrange(500): rng.randbytes(4) for _ in range(400)}
    batched = open_store("batched")
    single = open_store("single")
    batched.commit(1, changes)
    for version, (key, value) in enumerate(changes.items(), start=1):
        single.commit(version, {key: value})
    assert batched.root_hash() == single.root_hash()
