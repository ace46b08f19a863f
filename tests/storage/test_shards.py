"""The storage node's pieces without processes: the shard store on disk, sizes, routes, batches."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voxpop.crypto.merkle import merkle_root
from voxpop.storage.app import ApiError, parse_route
from voxpop.storage.config import (
    StorageConfig,
    StorageConfigError,
    load_config,
    parse_size,
    write_config,
)
from voxpop.storage.prover import TreeCache, _batches
from voxpop.storage.shards import OverCapacityError, ShardStore


def test_shard_is_named_by_its_root_and_counted(tmp_path: Path) -> None:
    store = ShardStore(tmp_path, capacity=10_000)
    data = os.urandom(3000)
    root = merkle_root(data, 1024)
    assert store.write_shard(root, data) is True
    assert store.write_shard(root, data) is False  # held already: nothing written twice
    assert store.read_shard(root) == data and store.roots() == [root]
    assert store.used == 3000 and store.free == 7000
    assert list(store.tmp_dir.iterdir()) == []
    store.drop_shard(root)
    assert store.used == 0 and store.read_shard(root) is None


def test_a_received_shard_takes_its_name_only_when_committed(tmp_path: Path) -> None:
    store = ShardStore(tmp_path, capacity=10_000)
    data = os.urandom(3000)
    root = merkle_root(data, 1024)
    # Streamed in pieces: in tmp/ until committed, not counted as held
    upload = store.begin_shard()
    pieces = [memoryview(data)[at : at + 700] for at in range(0, len(data), 700)]
    upload.write(pieces[:2])
    upload.write([b"", *pieces[2:]])
    assert upload.size == 3000 and len(list(store.tmp_dir.iterdir())) == 1
    assert not store.has_shard(root) and store.used == 0
    assert upload.commit(root) is True
    upload.abort()  # after a commit: nothing to drop
    assert store.read_shard(root) == data and store.used == 3000
    assert list(store.tmp_dir.iterdir()) == []
    # The same shard again: held already, the second copy is dropped
    again = store.begin_shard()
    again.write([data])
    assert again.commit(root) is False
    assert store.used == 3000 and list(store.tmp_dir.iterdir()) == []
    # Refused bytes (their root did not match): dropped, nothing counted
    refused = store.begin_shard()
    refused.write([os.urandom(1000)])
    refused.abort()
    assert store.used == 3000 and list(store.tmp_dir.iterdir()) == []


def test_a_write_of_more_pieces_than_one_writev_takes(tmp_path: Path) -> None:
    store = ShardStore(tmp_path, capacity=1 << 20)
    data = os.urandom(3 * 1024 * 7 + 5)
    upload = store.begin_shard()
    upload.write([data[at : at + 7] for at in range(0, len(data), 7)])  # 3,073 pieces
    root = merkle_root(data, 1024)
    assert upload.commit(root) is True
    assert store.read_shard(root) == data and store.used == len(data)


def test_reopen_counts_what_is_held_and_drops_unfinished_writes(tmp_path: Path) -> None:
    store = ShardStore(tmp_path, capacity=10_000)
    data = os.urandom(2048)
    store.write_shard(merkle_root(data, 1024), data)
    store.write_header(b"\x01" * 32, b"header")
    (store.tmp_dir / "torn").write_bytes(b"half a shard")  # a crash mid-write
    again = ShardStore(tmp_path, capacity=10_000)
    assert again.used == 2048 + len(b"header")
    assert list(again.tmp_dir.iterdir()) == []


def test_capacity_counts_writes_in_flight(tmp_path: Path) -> None:
    store = ShardStore(tmp_path, capacity=5_000)
    store.reserve(3_000)
    with pytest.raises(OverCapacityError):
        store.reserve(2_001)
    store.release(3_000)
    store.reserve(5_000)


def test_tree_cache_forgets_a_deleted_shard(tmp_path: Path) -> None:
    store = ShardStore(tmp_path, capacity=1 << 20)
    data = os.urandom(5000)
    root = merkle_root(data, 1024)
    store.write_shard(root, data)
    cache = TreeCache(store)
    tree = cache.tree(root, 1024)
    assert tree is not None and tree.leaf(4) == data[4096:]
    store.shard_path(root).unlink()
    assert cache.tree(root, 1024) is None  # the map outlives the name: the node must not use it
    cache.close()


def test_proofs_are_cut_into_txs_within_the_size_budget() -> None:
    proof = (b"\x00" * 32, 0, 0, b"\x00" * 4096, tuple(b"\x00" * 32 for _ in range(10)))
    batches = _batches([proof] * 16)
    assert sum(len(b) for b in batches) == 16 and len(batches) == 3
    # The default 1 KiB leaves: an epoch's 16 answers on a 1 GiB shard (20-step paths) in one tx
    proof = (b"\x00" * 32, 0, 0, b"\x00" * 1024, tuple(b"\x00" * 32 for _ in range(20)))
    assert [len(b) for b in _batches([proof] * 16)] == [16]


@pytest.mark.parametrize(
    ("text", "size"),
    [("20GiB", 20 * 1024**3), ("500MB", 500 * 1000**2), ("1048576", 1 << 20), ("4 kib", 4096)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "1.5GiB", "-1", "20 GB GB", "12parsecs"])
def test_invalid_parse_size(text: str) -> None:
    with pytest.raises(StorageConfigError):
        parse_size(text)


def test_config_round_trip(tmp_path: Path) -> None:
    config = StorageConfig(tmp_path, capacity=1 << 30, port=7801, keyring_backend="test")
    write_config(config)
    assert load_config(tmp_path) == config
    with pytest.raises(StorageConfigError):
        write_config(config.with_changes(capacity=0))


def test_routes() -> None:
    oid = "ab" * 32
    assert parse_route(f"/v1/objects/{oid}/shards/3") == (bytes.fromhex(oid), "shards", 3)
    assert parse_route(f"/v1/objects/{oid}/header") == (bytes.fromhex(oid), "header", None)
    assert parse_route("/v1/offer") is None
    for bad in (
        f"/v1/objects/{oid}/shards/03",
        f"/v1/objects/{oid[:-2]}/header",
        "/v1/objects/zz/header",
    ):
        with pytest.raises(ApiError):
            parse_route(bad)
