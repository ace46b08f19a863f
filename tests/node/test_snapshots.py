"""Snapshot format 1 end to end on a real app and store: take, restore, and every refusal."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chain.harness import Chain, key
from voxpop.chain.app import VoxApp
from voxpop.node.blockstore import AUX_DBS
from voxpop.node.snapshots.disk import SnapshotDir, chunk_file
from voxpop.node.snapshots.errors import (
    AppHashMismatchError,
    ChunkHashError,
    SnapshotFormatError,
    StateNotEmptyError,
)
from voxpop.node.snapshots.format import (
    SnapshotMetadata,
    chunk_hash,
    chunk_records,
    encode_record,
)
from voxpop.node.snapshots.restore import Restorer
from voxpop.node.snapshots.service import ApplyResult, OfferResult, SnapshotService
from voxpop.node.snapshots.take import Snapshotter
from voxpop.store import MerkleStore

KEYS = [key(n) for n in range(1, 40)]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    chain = Chain.start(tmp_path_factory.mktemp("chain"), [(k, 10**9) for k in KEYS])
    for _ in range(3):
        chain.block([])
    return chain


def empty_app(path: Path) -> VoxApp:
    return VoxApp(MerkleStore(path, aux_dbs=AUX_DBS, keep_versions=10))


def take(chain: Chain, path: Path, chunk_bytes: int = 1024) -> tuple[SnapshotDir, SnapshotMetadata]:
    snapshots = SnapshotDir(path)
    taker = Snapshotter(snapshots, interval=1, keep=2, chunk_bytes=chunk_bytes)
    taker.after_commit(chain.app)
    taker.wait()
    height = chain.app.last_height
    return snapshots, snapshots.metadata(height)


def test_metadata_vector() -> None:
    """The vector of docs/protocol/snapshots.md."""
    records = [(b"a", b"1"), (b"bb", b""), (b"c", b"\x00\x01")]
    chunks = list(chunk_records(iter(records), 16))
    assert [c.hex() for c in chunks] == ["00016100000001310002626200000000", "000163000000020001"]
    vector = SnapshotMetadata(
        100, bytes(range(32)), 1_800_000_000, 3, tuple(chunk_hash(c) for c in chunks)
    )
    assert vector.hash().hex() == (
        "0206c1aa7b8b046f822e2afd0c01b957acb8a3ee1df71834672dfa53ad8299e5"
    )
    meta = SnapshotMetadata(7, bytes(32), 1_800_000_000, 1, (bytes(range(32)),))
    assert SnapshotMetadata.decode(meta.encode()) == meta
    assert encode_record(b"k", b"v") == bytes.fromhex("00016b0000000176")
    assert list(chunk_records([(b"a", b"1"), (b"b", b"2")], 1)) == [
        encode_record(b"a", b"1"),
        encode_record(b"b", b"2"),
    ]


def test_restore_gives_the_same_app_hash_and_state(chain: Chain, tmp_path: Path) -> None:
    snapshots, meta = take(chain, tmp_path / "snap")
    assert meta.chunks > 3 and meta.app_hash == chain.app.last_app_hash
    target = empty_app(tmp_path / "new")
    restorer = Restorer(target)
    restorer.offer(meta, chain.app.last_app_hash)
    done = [restorer.apply(i, snapshots.chunk(meta.height, i)) for i in range(meta.chunks)]
    assert done == [False] * (meta.chunks - 1) + [True]
    assert (target.last_height, target.last_app_hash) == (meta.height, meta.app_hash)
    assert target.last_block_time == chain.app.last_block_time
    assert list(target.iterate_state()) == list(chain.app.iterate_state())


def test_invalid_chunk_is_refused_and_fetched_again(chain: Chain, tmp_path: Path) -> None:
    snapshots, meta = take(chain, tmp_path / "snap")
    service = SnapshotService(
        empty_app(tmp_path / "new"),
        SnapshotDir(tmp_path / "mine"),
        interval=0,
        keep=1,
        chunk_bytes=1024,
    )
    listed = SnapshotService(chain.app, snapshots, interval=0, keep=2, chunk_bytes=1024).list()[0]
    result = service.offer(1, listed.metadata, listed.hash, meta.app_hash)
    assert result is OfferResult.ACCEPT
    good = snapshots.chunk(meta.height, 0)
    bad = service.apply(0, good[:-1] + bytes([good[-1] ^ 1]), "peer-a")
    assert (bad.result, bad.refetch_chunks, bad.reject_senders) == (
        ApplyResult.RETRY,
        (0,),
        ("peer-a",),
    )
    for i in range(meta.chunks):
        assert (
            service.apply(i, snapshots.chunk(meta.height, i), "peer-b").result is ApplyResult.ACCEPT
        )
    assert service.app.last_app_hash == meta.app_hash


def test_invalid_offers(chain: Chain, tmp_path: Path) -> None:
    _, meta = take(chain, tmp_path / "snap")
    target = empty_app(tmp_path / "new")
    service = SnapshotService(
        target, SnapshotDir(tmp_path / "mine"), interval=0, keep=1, chunk_bytes=1024
    )
    raw = meta.encode()
    # another app hash than the verified one, a hash that is not the metadata's, another format
    assert service.offer(1, raw, meta.hash(), bytes(32)) is OfferResult.REJECT
    assert service.offer(1, raw, bytes(32), meta.app_hash) is OfferResult.REJECT_FORMAT
    assert service.offer(2, raw, meta.hash(), meta.app_hash) is OfferResult.REJECT_FORMAT
    # a node with state of its own restores nothing
    with pytest.raises(StateNotEmptyError):
        Restorer(chain.app).offer(
            SnapshotMetadata(meta.height + 5, meta.app_hash, 0, 1, (bytes(32),)), meta.app_hash
        )
    with pytest.raises(ChunkHashError):
        restorer = Restorer(target)
        restorer.offer(meta, meta.app_hash)
        restorer.apply(0, b"junk")


def test_invalid_records(tmp_path: Path) -> None:
    target = empty_app(tmp_path / "new")
    # keys out of order: refused even though the hash matches the metadata
    chunk = encode_record(b"b", b"1") + encode_record(b"a", b"2")
    meta = SnapshotMetadata(3, bytes(32), 0, 2, (chunk_hash(chunk),))
    restorer = Restorer(target)
    restorer.offer(meta, bytes(32))
    with pytest.raises(SnapshotFormatError):
        restorer.apply(0, chunk)
    # records whose root is not the app hash: nothing is written
    chunk = encode_record(b"a", b"1")
    meta = SnapshotMetadata(3, bytes(32), 0, 1, (chunk_hash(chunk),))
    restorer.offer(meta, bytes(32))
    with pytest.raises(AppHashMismatchError):
        restorer.apply(0, chunk)
    assert target.last_height == 0


def test_disk_keeps_the_newest(chain: Chain, tmp_path: Path) -> None:
    snapshots, meta = take(chain, tmp_path / "snap")
    assert (tmp_path / "snap" / f"{meta.height:020d}" / chunk_file(0)).exists()
    assert snapshots.prune(0) == [meta.height] and snapshots.heights() == []


class _HeldSource:
    """The chain's app as a snapshot source whose records pause after the first (`paused`) until
    `go`: the writer is then mid-snapshot, its chunks in its temporary directory."""

    def __init__(self, app: VoxApp) -> None:
        self.app = app
        self.paused = threading.Event()
        self.go = threading.Event()
        self.last_height = app.last_height
        self.last_app_hash = app.last_app_hash
        self.last_block_time = app.last_block_time

    def iterate_state(self) -> Iterator[tuple[bytes, bytes]]:
        records = self.app.iterate_state()
        yield next(records)
        self.paused.set()
        # Verify the test releases us (a hung writer would otherwise hang the test)
        assert self.go.wait(30)
        yield from records


def test_reader_leaves_a_snapshot_being_written_alone(chain: Chain, tmp_path: Path) -> None:
    """Another process reading the directory (a test polling a node's snapshots, an import from
    it) must not delete the snapshot its writer is still writing."""
    root = tmp_path / "snap"
    source = _HeldSource(chain.app)
    taker = Snapshotter(SnapshotDir(root), interval=1, keep=2, chunk_bytes=1024)
    taker.after_commit(source)
    assert source.paused.wait(30) and (root / f".tmp-{source.last_height}").is_dir()
    assert SnapshotDir(root).heights() == []
    source.go.set()
    taker.wait()
    assert SnapshotDir(root).heights() == [source.last_height]


def test_writer_removes_what_a_crashed_writer_left(tmp_path: Path) -> None:
    leftover = tmp_path / "snap" / ".tmp-7"
    leftover.mkdir(parents=True)
    (leftover / chunk_file(0)).write_bytes(b"partial")
    Snapshotter(SnapshotDir(tmp_path / "snap"), interval=1, keep=2, chunk_bytes=1024)
    assert not leftover.exists()
