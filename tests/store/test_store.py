"""MerkleStore's API: reads, writes, versions, iteration, aux tables, staging, reopening."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.store.conftest import OpenStore
from tests.store.reference import reference_root
from tests.store.storage_check import check_storage, collect_record_keys
from voxpop.store import (
    EMPTY_ROOT,
    MAX_KEY_SIZE,
    MAX_VALUE_SIZE,
    MerkleStore,
    StoreError,
    VersionError,
)
from voxpop.store.tree import TreeBatch


def test_new_store(store: MerkleStore) -> None:
    assert store.version == 0
    assert store.earliest_version() == 0
    assert store.root_hash() == store.root_hash(0) == EMPTY_ROOT
    assert store.get(b"missing") is None
    assert list(store.iterate()) == []


def test_insert_update_delete(store: MerkleStore) -> None:
    root1 = store.commit(1, {b"a": b"1", b"b": b"2"})
    assert store.version == 1
    assert store.root_hash() == root1
    assert store.get(b"a") == b"1"
    root2 = store.commit(2, {b"a": b"10", b"c": b""})
    assert root2 != root1
    assert store.get(b"a") == b"10"
    assert store.get(b"c") == b""
    store.commit(3, {b"b": None, b"absent": None})
    assert store.get(b"b") is None
    assert dict(store.iterate()) == {b"a": b"10", b"c": b""}
    assert store.root_hash() == reference_root({b"a": b"10", b"c": b""})


def test_empty_commit_creates_version_with_same_root(store: MerkleStore) -> None:
    root = store.commit(1, {b"a": b"1"})
    assert store.commit(2, {}) == root
    assert store.version == 2
    assert store.root_hash(1) == store.root_hash(2) == root


def test_historical_reads(store: MerkleStore) -> None:
    store.commit(1, {b"a": b"1", b"b": b"1"})
    store.commit(2, {b"a": b"2"})
    store.commit(3, {b"a": None, b"c": b"3"})
    assert [store.get(b"a", v) for v in (1, 2, 3)] == [b"1", b"2", None]
    assert [store.get(b"c", v) for v in (1, 2, 3)] == [None, None, b"3"]
    assert store.get(b"b", 1) == store.get(b"b", 3) == b"1"
    assert store.root_hash(1) == reference_root({b"a": b"1", b"b": b"1"})


def test_versions_may_skip_heights(store: MerkleStore) -> None:
    store.commit(5, {b"a": b"1"})
    store.commit(9, {b"a": b"2"})
    assert store.get(b"a", 5) == b"1"
    with pytest.raises(VersionError):
        store.get(b"a", 7)


def test_invalid_commit_version(store: MerkleStore) -> None:
    store.commit(3, {b"a": b"1"})
    for version in (0, 2, 3, -1, 1 << 64):
        with pytest.raises(VersionError):
            store.commit(version, {b"a": b"2"})
    assert store.version == 3
    assert store.get(b"a") == b"1"


def test_invalid_version_reads(store: MerkleStore) -> None:
    store.commit(1, {b"a": b"1"})
    for version in (0, 2, -5):
        with pytest.raises(VersionError):
            store.root_hash(version)
        with pytest.raises(VersionError):
            store.get(b"a", version)
        with pytest.raises(VersionError):
            store.get_with_proof(b"a", version)


@pytest.mark.parametrize(
    "changes",
    [
        {b"": b"empty key"},
        {b"k" * (MAX_KEY_SIZE + 1): b"long key"},
        {b"k": b"v" * (MAX_VALUE_SIZE + 1)},
        {b"k": "not bytes"},
        {"k": b"str key"},
    ],
)
def test_invalid_changes_write_nothing(store: MerkleStore, changes: dict[bytes, bytes]) -> None:
    root = store.commit(1, {b"a": b"1"})
    with pytest.raises(StoreError):
        store.commit(2, {b"a": b"2", **changes})
    assert (store.version, store.root_hash(), store.get(b"a")) == (1, root, b"1")


def test_largest_key_and_value(store: MerkleStore) -> None:
    key = b"k" * MAX_KEY_SIZE
    value = b"v" * MAX_VALUE_SIZE
    store.commit(1, {key: value, b"small": b"x"})
    store.commit(2, {b"small": b"y"})
    assert store.get(key) == store.get(key, 1) == value
    assert store.root_hash() == reference_root({key: value, b"small": b"y"})


def test_invalid_key_reads(store: MerkleStore) -> None:
    with pytest.raises(StoreError):
        store.get(b"")
    with pytest.raises(StoreError):
        store.get_with_proof(b"k" * (MAX_KEY_SIZE + 1))


def test_iterate_prefix_in_key_order(store: MerkleStore) -> None:
    store.commit(1, {b"bank/b": b"2", b"bank/a": b"1", b"bankz": b"x", b"auth/a": b"y"})
    assert list(store.iterate(b"bank/")) == [(b"bank/a", b"1"), (b"bank/b", b"2")]
    assert [k for k, _ in store.iterate()] == [b"auth/a", b"bank/a", b"bank/b", b"bankz"]
    assert list(store.iterate(b"zzz")) == []


def test_iterate_reads_a_snapshot(store: MerkleStore) -> None:
    store.commit(1, {b"a": b"1", b"b": b"2"})
    rows = store.iterate()
    assert next(rows) == (b"a", b"1")
    store.commit(2, {b"b": b"changed", b"c": b"3"})
    assert list(rows) == [(b"b", b"2")]


def test_aux_rows_commit_with_state(open_store: OpenStore) -> None:
    store = open_store(aux_dbs=["blocks", "txs"])
    store.commit(1, {b"a": b"1"}, aux=[("blocks", b"\x01", b"block 1"), ("txs", b"t", b"tx")])
    assert store.get_aux("blocks", b"\x01") == b"block 1"
    store.commit(2, {}, aux=[("txs", b"t", None), ("blocks", b"\x02", b"block 2")])
    assert store.get_aux("txs", b"t") is None
    assert list(store.iterate_aux("blocks")) == [(b"\x01", b"block 1"), (b"\x02", b"block 2")]


def test_iterate_aux_directions(open_store: OpenStore) -> None:
    store = open_store(aux_dbs=["blocks"])
    rows = [(bytes([n]), b"%d" % n) for n in (2, 4, 6)]
    store.commit(1, {}, aux=[("blocks", key, value) for key, value in rows])
    assert list(store.iterate_aux("blocks", b"\x03")) == rows[1:]
    assert list(store.iterate_aux("blocks", reverse=True)) == rows[::-1]
    assert list(store.iterate_aux("blocks", b"\x04", reverse=True)) == [rows[1], rows[0]]
    assert list(store.iterate_aux("blocks", b"\x05", reverse=True)) == [rows[1], rows[0]]
    assert list(store.iterate_aux("blocks", b"\x09", reverse=True)) == rows[::-1]
    assert list(store.iterate_aux("blocks", b"\x01", reverse=True)) == []


def test_invalid_aux(open_store: OpenStore) -> None:
    store = open_store(aux_dbs=["blocks"])
    store.commit(1, {b"a": b"1"})
    for aux in ([("nope", b"k", b"v")], [("blocks", b"", b"v")], [("blocks", b"k", "v")]):
        with pytest.raises(StoreError):
            store.commit(2, {b"a": b"2"}, aux=aux)  # type: ignore[arg-type]
    assert (store.version, store.get(b"a")) == (1, b"1")
    with pytest.raises(StoreError):
        store.get_aux("nope", b"k")
    with pytest.raises(StoreError):
        store.iterate_aux("nope")


def test_failed_commit_writes_nothing(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(aux_dbs=["blocks"])
    root = store.commit(1, {b"a": b"1"}, aux=[("blocks", b"1", b"one")])
    original = TreeBatch.apply

    def apply_then_fail(self: TreeBatch, *args: object) -> object:
        original(self, *args)  # tree records are written, then the commit fails
        raise OSError("disk on fire")

    monkeypatch.setattr(TreeBatch, "apply", apply_then_fail)
    with pytest.raises(OSError):
        store.commit(2, {b"a": b"2", b"b": b"2"}, aux=[("blocks", b"2", b"two")])
    monkeypatch.undo()
    assert (store.version, store.root_hash(), store.get(b"a")) == (1, root, b"1")
    assert store.get_aux("blocks", b"2") is None
    check_storage(store)
    assert store.commit(2, {b"b": b"2"}) == reference_root({b"a": b"1", b"b": b"2"})
    # Nothing of the failed attempt at version 2 lingers (in caches either).
    expected = {b"a": b"1", b"b": b"2", b"c": b"3"}
    assert store.commit(3, {b"c": b"3"}) == reference_root(expected)


def test_reopen(tmp_path: Path) -> None:
    with MerkleStore(tmp_path, aux_dbs=["blocks"]) as store:
        store.commit(1, {b"a": b"1"})
        root = store.commit(2, {b"b": b"2"}, aux=[("blocks", b"2", b"block")])
    with MerkleStore(tmp_path, aux_dbs=["blocks"]) as store:
        assert (store.version, store.root_hash(), store.earliest_version()) == (2, root, 1)
        assert store.get(b"a") == b"1"
        assert store.get(b"b", 1) is None
        assert store.get_aux("blocks", b"2") == b"block"
        assert store.commit(3, {b"a": None}) == reference_root({b"b": b"2"})


def test_closed_store(store: MerkleStore) -> None:
    store.close()
    store.close()
    with pytest.raises(StoreError):
        store.get(b"a")
    with pytest.raises(StoreError):
        store.commit(1, {})


def test_foreign_database_rejected(tmp_path: Path) -> None:
    with MerkleStore(tmp_path) as store:
        internals = store
        with internals._env.begin(write=True) as txn:
            txn.put(b"format", b"something-else/9", db=internals._meta)
    with pytest.raises(StoreError):
        MerkleStore(tmp_path)


def test_invalid_options(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        MerkleStore(tmp_path, keep_versions=0)
    with pytest.raises(StoreError):
        MerkleStore(tmp_path, aux_dbs=["a", "a"])


def test_stage_then_commit_staged(open_store: OpenStore) -> None:
    store = open_store(aux_dbs=["blocks"])
    store.commit(1, {b"a": b"1"})
    staged_root = store.stage(2, {b"a": b"2", b"b": b"2"})
    # Nothing is visible before commit_staged.
    assert (store.version, store.get(b"a")) == (1, b"1")
    assert store.commit_staged([("blocks", b"2", b"block")]) == staged_root
    assert (store.version, store.root_hash(), store.get(b"a")) == (2, staged_root, b"2")
    assert store.get_aux("blocks", b"2") == b"block"
    assert staged_root == reference_root({b"a": b"2", b"b": b"2"})
    check_storage(store)


def test_stage_replaces_and_commit_discards(store: MerkleStore) -> None:
    store.stage(1, {b"a": b"first"})
    root = store.stage(1, {b"a": b"second"})
    assert store.commit_staged() == root
    assert store.get(b"a") == b"second"
    store.stage(2, {b"a": b"staged"})
    store.commit(2, {b"a": b"committed"})
    with pytest.raises(StoreError):
        store.commit_staged()
    assert store.get(b"a") == b"committed"


def test_chunk_cache_holds_only_current_records(open_store: OpenStore) -> None:
    store = open_store(keep_versions=2)
    rng = random.Random(9)
    store.commit(1, {b"k%d" % i: b"0" for i in range(3000)})
    for version in range(2, 12):
        store.commit(version, {b"k%d" % rng.randrange(4000): b"%d" % version for _ in range(300)})
    store.wait_for_pruning()
    internals = store
    cached = internals._chunk_cache._records
    assert cached
    with internals._env.begin() as txn:
        for key, record in cached.items():
            assert txn.get(key, db=internals._nodes) == record
    # Every cached chunk belongs to the latest version's tree.
    latest = set(collect_record_keys(store, store.version))
    assert set(cached) <= latest
