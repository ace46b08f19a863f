"""MerkleStore: the chain's versioned, authenticated key-value state, persisted in LMDB.

One LMDB environment holds these named databases:

    nodes     record key -> record        the tree at every retained version (nodes.py)
    values    key -> value                the latest values, for O(1) reads and iteration
    stale     version u64 -> record keys  records superseded by that version (pruning.py)
    versions  version u64 -> root record  one row per committed, retained version
    meta      b"format" -> format tag
    aux.NAME  the caller's rows           block store, tx index, ... (aux_dbs)

A commit is one write transaction over all of them (pruning aside), so a process killed at any
moment reopens at exactly the last committed version. The tree's layout and the commit algorithm
are in nodes.py and tree.py; the spec is docs/protocol/state-tree.md.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from types import TracebackType
from typing import Any

import lmdb

from voxpop.store.changes import check_aux_row, check_key, prepare_changes
from voxpop.store.chunk_cache import UpperChunkCache
from voxpop.store.errors import StoreError, StoreLockedError, VersionError
from voxpop.store.nodes import EMPTY_REF, Ref, decode_root, encode_root
from voxpop.store.proof import Proof, ProofLeaf
from voxpop.store.pruning import (
    PRUNE_BATCH_VERSIONS,
    BackgroundPruner,
    encode_key_list,
    prune_versions,
)
from voxpop.store.tree import TreeBatch
from voxpop.store.walk import walk_path

FORMAT_TAG = b"voxpop-merkle-store/1"
_CORE_DBS = 5
_AUX_PREFIX = "aux."
# Commits writing more records than this (genesis) leave the chunk cache to fill on reads.
_CACHE_WRITES = 100_000

# Writes the tree records of a new version in the commit's transaction: (root, stale keys).
TreeWriter = Callable[[Any], tuple[Ref, list[bytes]]]


@dataclass(frozen=True, slots=True)
class _StagedVersion:
    """A version computed by `stage`, waiting for `commit_staged`."""

    version: int
    changes: dict[bytes, bytes | None]
    records: list[tuple[bytes, bytes]]
    stale: list[bytes]
    root: Ref


class MerkleStore:
    """A versioned sparse Merkle tree over arbitrary byte keys, plus caller-named aux tables.

    One process writes; readers in the same process may call the read methods between commits.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        keep_versions: int = 1000,
        aux_dbs: Sequence[str] = (),
        map_size: int = 64 << 30,
        prune_in_background: bool = True,
    ) -> None:
        """Open (creating if needed) the store in directory `path`.

        Versions older than the newest `keep_versions` are pruned after each commit: on a
        background thread by default (pruning.py says why), or inside the commit's own
        transaction with prune_in_background=False.

        Raises StoreError for keep_versions < 1, a bad aux name, or an unusable database.
        """
        if keep_versions < 1:
            raise StoreError(f"keep_versions must be at least 1, got {keep_versions}")
        if len(set(aux_dbs)) != len(aux_dbs) or not all(
            isinstance(name, str) and name for name in aux_dbs
        ):
            raise StoreError(f"aux_dbs must be distinct non-empty names, got {list(aux_dbs)}")
        self._keep_versions = keep_versions
        self._closed = False
        self._staged: _StagedVersion | None = None
        self._chunk_cache = UpperChunkCache()
        self._pruner: BackgroundPruner | None = None
        os.makedirs(path, exist_ok=True)
        self._lock_fd = _lock_writer(path)
        try:
            self._env: Any = lmdb.open(
                os.fspath(path),
                map_size=map_size,
                max_dbs=_CORE_DBS + len(aux_dbs),
                # Tree reads are random: reading ahead would only evict useful pages.
                readahead=False,
            )
        except (OSError, lmdb.Error) as exc:
            os.close(self._lock_fd)
            raise StoreError(f"cannot open store at {os.fspath(path)}: {exc}") from exc
        env = self._env
        self._nodes = env.open_db(b"nodes")
        self._values = env.open_db(b"values")
        self._stale = env.open_db(b"stale")
        self._versions = env.open_db(b"versions")
        self._meta = env.open_db(b"meta")
        self._aux = {name: env.open_db((_AUX_PREFIX + name).encode()) for name in aux_dbs}
        with env.begin(write=True) as txn:
            tag = txn.get(b"format", db=self._meta)
            if tag is None:
                txn.put(b"format", FORMAT_TAG, db=self._meta)
            cursor = txn.cursor(db=self._versions)
            if cursor.last():
                self._version = int.from_bytes(cursor.key(), "big")
                self._root = decode_root(cursor.value())
            else:
                self._version = 0
                self._root = EMPTY_REF
        # Verify the database is ours, in this format.
        if tag is not None and tag != FORMAT_TAG:
            env.close()
            os.close(self._lock_fd)
            raise StoreError(f"unknown store format {tag!r}")
        if prune_in_background:
            self._pruner = BackgroundPruner(self._prune_batch)
            # Finish any pruning a previous process stopped before completing.
            self._pruner.request(self._earliest_kept(self._version))

    # --- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store. Background pruning stops after its current batch; what is left is
        done after the store is reopened."""
        if not self._closed:
            self._closed = True
            if self._pruner is not None:
                self._pruner.close()
            self._env.close()
            os.close(self._lock_fd)  # releases the writer lock

    def __enter__(self) -> MerkleStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def wait_for_pruning(self) -> None:
        """Block until background pruning has caught up with the last commit.

        Raises StoreError if background pruning failed.
        """
        self._check_open()
        if self._pruner is not None:
            self._pruner.wait()

    # --- reads ---------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """The last committed version; 0 for a new store."""
        return self._version

    def earliest_version(self) -> int:
        """The oldest version still readable (0 for a new store)."""
        self._check_open()
        with self._env.begin(db=self._versions) as txn:
            cursor = txn.cursor()
            return int.from_bytes(cursor.key(), "big") if cursor.first() else 0

    def root_hash(self, version: int | None = None) -> bytes:
        """The root hash at `version` (default latest). Raises VersionError if not retained."""
        self._check_open()
        if version is None or version == self._version:
            return self._root[0]
        with self._env.begin() as txn:
            return self._get_root(txn, version)[0]

    def get(self, key: bytes, version: int | None = None) -> bytes | None:
        """The value of `key` at `version` (default latest), or None if absent.

        Raises StoreError for an invalid key, VersionError if the version is not retained.
        """
        self._check_open()
        check_key(key)
        with self._env.begin() as txn:
            if version is None or version == self._version:
                value: bytes | None = txn.get(key, db=self._values)
                return value
            root = self._get_root(txn, version)
            _, leaf = walk_path(txn.cursor(db=self._nodes).get, root, sha256(key).digest())
        return leaf[3] if leaf is not None and leaf[2] == key else None

    def get_with_proof(self, key: bytes, version: int | None = None) -> tuple[bytes | None, Proof]:
        """The value of `key` at `version` (default latest) and a proof of it against
        root_hash(version): of membership, or of absence when the value is None.

        Raises StoreError for an invalid key, VersionError if the version is not retained.
        """
        self._check_open()
        check_key(key)
        key_hash = sha256(key).digest()
        with self._env.begin() as txn:
            root = self._get_root(txn, self._version if version is None else version)
            siblings, leaf = walk_path(txn.cursor(db=self._nodes).get, root, key_hash)
        if leaf is None:
            return None, Proof(tuple(siblings))
        if leaf[0] == key_hash:
            return leaf[3], Proof(tuple(siblings))
        return None, Proof(tuple(siblings), ProofLeaf(leaf[0], leaf[1]))

    def iterate(self, prefix: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs of the latest version whose key starts with `prefix`, ascending.
        The iterator reads one snapshot: commits made while it runs are not seen."""
        self._check_open()
        return self._iterate(prefix)

    def get_aux(self, db: str, key: bytes) -> bytes | None:
        """A row of aux table `db`. Raises StoreError for an unknown table."""
        self._check_open()
        handle = self._aux_db(db)
        with self._env.begin(db=handle) as txn:
            value: bytes | None = txn.get(key)
            return value

    def iterate_aux(
        self, db: str, start: bytes = b"", reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Rows of aux table `db` in key order from `start` (inclusive): ascending, or with
        `reverse` descending from the last key <= start (from the end if start is empty).

        Raises StoreError for an unknown table.
        """
        self._check_open()
        return self._iterate_aux(self._aux_db(db), start, reverse)

    # --- writes --------------------------------------------------------------------------------

    def commit(
        self,
        version: int,
        changes: Mapping[bytes, bytes | None],
        aux: Sequence[tuple[str, bytes, bytes | None]] = (),
    ) -> bytes:
        """Apply `changes` (None deletes) as `version` and write the `aux` rows (db, key, value
        or None to delete), atomically and durably. Returns the new root hash. Discards a
        staged version.

        Raises VersionError unless version > self.version; StoreError for an invalid key,
        value, aux table or aux row (nothing is written then).
        """
        self._check_open()
        self._check_new_version(version)
        paths, entries = prepare_changes(changes)
        aux_rows = self._check_aux(aux)
        self._staged = None

        written: list[tuple[bytes, bytes]] = []

        def write_tree(txn: Any) -> tuple[Ref, list[bytes]]:
            cursor = txn.cursor(db=self._nodes)

            def write_records(records: list[tuple[bytes, bytes]]) -> None:
                cursor.putmulti(records)
                # Remembered for the chunk cache, except the bulk of a genesis-sized commit.
                if len(written) < _CACHE_WRITES:
                    written.extend(records)

            batch = TreeBatch(version, self._chunk_cache.reader(cursor.get), write_records)
            return batch.apply(self._root, paths, entries), batch.stale

        return self._write_version(version, changes, aux_rows, write_tree, written)

    def stage(self, version: int, changes: Mapping[bytes, bytes | None]) -> bytes:
        """Compute the root that committing `changes` as `version` gives, without writing;
        `commit_staged` then writes it. For ABCI, where FinalizeBlock must return the app hash
        and Commit persists it. Staging again replaces the staged version.

        Raises VersionError unless version > self.version; StoreError for an invalid key or
        value.
        """
        self._check_open()
        self._check_new_version(version)
        paths, entries = prepare_changes(changes)
        records: list[tuple[bytes, bytes]] = []
        with self._env.begin() as txn:
            read = self._chunk_cache.reader(txn.cursor(db=self._nodes).get)
            batch = TreeBatch(version, read, records.extend)
            root = batch.apply(self._root, paths, entries)
        self._staged = _StagedVersion(version, dict(changes), records, batch.stale, root)
        return root[0]

    def commit_staged(self, aux: Sequence[tuple[str, bytes, bytes | None]] = ()) -> bytes:
        """Write the staged version, with `aux` rows as in `commit`. Returns its root hash.

        Raises StoreError if nothing is staged or an aux row is invalid.
        """
        self._check_open()
        staged = self._staged
        if staged is None:
            raise StoreError("no staged version to commit")
        aux_rows = self._check_aux(aux)

        def write_tree(txn: Any) -> tuple[Ref, list[bytes]]:
            txn.cursor(db=self._nodes).putmulti(staged.records)
            return staged.root, staged.stale

        root = self._write_version(
            staged.version, staged.changes, aux_rows, write_tree, staged.records
        )
        self._staged = None
        return root

    # --- helpers -------------------------------------------------------------------------------

    def _write_version(
        self,
        version: int,
        changes: Mapping[bytes, bytes | None],
        aux_rows: list[tuple[Any, bytes, bytes | None]],
        write_tree: TreeWriter,
        written: list[tuple[bytes, bytes]],
    ) -> bytes:
        """The commit's write transaction: tree records, latest values, stale index, root
        record, aux rows, and (unless in the background) pruning."""
        earliest = self._earliest_kept(version)
        pruner = self._pruner
        if pruner is not None:
            pruner.hold()
        try:
            with self._env.begin(write=True) as txn:
                root, stale = write_tree(txn)
                txn.cursor(db=self._values).putmulti(
                    [(key, value) for key, value in changes.items() if value is not None]
                )
                for key, value in changes.items():
                    if value is None:
                        txn.delete(key, db=self._values)
                encoded_version = version.to_bytes(8, "big")
                if stale:
                    txn.put(encoded_version, encode_key_list(stale), db=self._stale)
                txn.put(encoded_version, encode_root(root), db=self._versions)
                for handle, key, value in aux_rows:
                    if value is None:
                        txn.delete(key, db=handle)
                    else:
                        txn.put(key, value, db=handle)
                if pruner is None:
                    prune_versions(
                        txn,
                        nodes=self._nodes,
                        stale=self._stale,
                        versions=self._versions,
                        earliest=earliest,
                    )
        finally:
            if pruner is not None:
                pruner.release()
        self._version = version
        self._root = root
        self._chunk_cache.update(written, stale)
        if pruner is not None:
            pruner.request(earliest)
        return root[0]

    def _prune_batch(self, earliest: int) -> bool:
        """One background pruning transaction. Returns whether work remains."""
        with self._env.begin(write=True) as txn:
            more: bool = prune_versions(
                txn,
                nodes=self._nodes,
                stale=self._stale,
                versions=self._versions,
                earliest=earliest,
                max_versions=PRUNE_BATCH_VERSIONS,
            )
        return more

    def _earliest_kept(self, version: int) -> int:
        return version - self._keep_versions + 1

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("store is closed")

    def _check_new_version(self, version: int) -> None:
        if isinstance(version, bool) or not isinstance(version, int):
            raise VersionError(f"version must be an int, got {version!r}", version=-1)
        if not self._version < version < 1 << 64:
            raise VersionError(
                f"version {version} must be above {self._version} (and below 2**64)",
                version=version,
            )

    def _check_aux(
        self, aux: Sequence[tuple[str, bytes, bytes | None]]
    ) -> list[tuple[Any, bytes, bytes | None]]:
        rows = []
        for db, key, value in aux:
            check_aux_row(db, key, value)
            rows.append((self._aux_db(db), key, value))
        return rows

    def _aux_db(self, db: str) -> Any:
        handle = self._aux.get(db)
        if handle is None:
            raise StoreError(f"unknown aux table {db!r}; open the store with aux_dbs=[{db!r}]")
        return handle

    def _get_root(self, txn: Any, version: int) -> Ref:
        """The root of `version`. Raises VersionError if it is not retained."""
        if version == self._version:
            return self._root
        record = None
        if 0 < version < 1 << 64:
            record = txn.get(version.to_bytes(8, "big"), db=self._versions)
        if record is None:
            raise VersionError(f"version {version} is not retained", version=version)
        return decode_root(record)

    def _iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        with self._env.begin(db=self._values) as txn:
            cursor = txn.cursor()
            if not cursor.set_range(prefix):
                return
            for key, value in cursor.iternext():
                if not key.startswith(prefix):
                    return
                yield key, value

    def _iterate_aux(
        self, handle: Any, start: bytes, reverse: bool
    ) -> Iterator[tuple[bytes, bytes]]:
        with self._env.begin(db=handle) as txn:
            cursor = txn.cursor()
            if not reverse:
                if cursor.set_range(start):
                    yield from cursor.iternext()
                return
            if not start:
                positioned = cursor.last()
            elif cursor.set_range(start):
                # On the first key >= start: step back unless it is start itself.
                positioned = cursor.key() == start or cursor.prev()
            else:
                positioned = cursor.last()
            if positioned:
                yield from cursor.iterprev()


WRITER_LOCK = "writer.lock"


def _lock_writer(path: str | os.PathLike[str]) -> int:
    """Take the store's writer lock (flock on `path/writer.lock`) or raise StoreLockedError.

    One process writes a store: two nodes started on one home would each commit their own blocks
    to it. The kernel drops the lock when the process dies, so a kill -9 leaves nothing to clean.
    """
    fd = os.open(os.path.join(path, WRITER_LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLockedError(
            f"the store at {os.fspath(path)} is in use by another process (is a node running on "
            "this home?)"
        ) from None
    return fd
