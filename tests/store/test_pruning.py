"""Pruning: versions older than keep_versions go, with exactly the records only they used."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.store.changes import apply_changes
from tests.store.conftest import OpenStore
from tests.store.storage_check import check_storage
from voxpop.store import MerkleStore, StoreError, VersionError, verify_proof


def random_history(
    store: MerkleStore, versions: range, seed: int = 3
) -> dict[int, dict[bytes, bytes]]:
    """Commit random changes as each version; the model state after each."""
    rng = random.Random(seed)
    state: dict[bytes, bytes] = {}
    states = {}
    for version in versions:
        changes: dict[bytes, bytes | None] = {}
        for _ in range(rng.randrange(0, 60)):
            changes[b"k%d" % rng.randrange(150)] = None if rng.random() < 0.25 else b"%d" % version
        apply_changes(state, changes)
        store.commit(version, changes)
        states[version] = dict(state)
    return states


def check_retained(store: MerkleStore, states: dict[int, dict[bytes, bytes]], keep: int) -> None:
    latest = store.version
    assert store.earliest_version() == latest - keep + 1
    for version, state in states.items():
        if version < latest - keep + 1:
            with pytest.raises(VersionError):
                store.root_hash(version)
            with pytest.raises(VersionError):
                store.get(b"k1", version)
            continue
        root = store.root_hash(version)
        for key in (b"k%d" % n for n in range(0, 150, 7)):
            value, proof = store.get_with_proof(key, version)
            assert value == state.get(key) == store.get(key, version)
            assert verify_proof(root, key, value, proof)


@pytest.mark.parametrize("background", [False, True])
def test_old_versions_pruned(open_store: OpenStore, background: bool) -> None:
    store = open_store(keep_versions=4, prune_in_background=background)
    states = random_history(store, range(1, 31))
    store.wait_for_pruning()
    check_retained(store, states, keep=4)
    check_storage(store)


def test_keep_one_version(open_store: OpenStore) -> None:
    store = open_store(keep_versions=1, prune_in_background=False)
    states = random_history(store, range(1, 16))
    check_retained(store, states, keep=1)
    check_storage(store)


def test_reopen_with_fewer_versions_prunes_backlog(tmp_path: Path) -> None:
    with MerkleStore(tmp_path, keep_versions=100) as store:
        states = random_history(store, range(1, 41))
    with MerkleStore(tmp_path, keep_versions=5) as store:
        store.wait_for_pruning()
        check_retained(store, states, keep=5)
        check_storage(store)


def test_pruning_skips_missing_heights(open_store: OpenStore) -> None:
    store = open_store(keep_versions=3, prune_in_background=False)
    for version in (1, 5, 10, 20):
        store.commit(version, {b"a": b"%d" % version, b"v%d" % version: b"x"})
    # Retained: versions >= 18, of which only 20 exists.
    assert store.earliest_version() == 20
    check_storage(store)


def test_background_failure_is_reported(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(self: MerkleStore, earliest: int) -> bool:
        raise OSError("disk on fire")

    monkeypatch.setattr(MerkleStore, "_prune_batch", fail)
    store = open_store(keep_versions=2)
    store.commit(1, {b"a": b"1"})
    store.commit(2, {b"a": b"2"})
    store.commit(3, {b"a": b"3"})
    with pytest.raises(StoreError, match="background pruning failed"):
        store.wait_for_pruning()
    with pytest.raises(StoreError, match="background pruning failed"):
        store.commit(4, {b"a": b"4"})


def test_reads_during_background_pruning(open_store: OpenStore) -> None:
    store = open_store(keep_versions=3)
    rng = random.Random(5)
    for version in range(1, 41):
        store.commit(version, {b"k%d" % rng.randrange(300): b"%d" % version for _ in range(200)})
        # Whatever pruning is under way, retained versions read in full.
        for old in range(max(1, version - 2), version + 1):
            value, proof = store.get_with_proof(b"k7", old)
            assert verify_proof(store.root_hash(old), b"k7", value, proof)
    store.wait_for_pruning()
    check_storage(store)
