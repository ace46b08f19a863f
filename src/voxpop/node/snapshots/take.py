"""Taking a snapshot of the committed state, beside block production.

Right after Commit of height H (under the app lock) a worker thread opens a read transaction on
the store and says so; only then does the next block proceed. That transaction sees exactly the
state of H however many blocks commit while the worker writes the chunks, so a snapshot costs
block production only the moment it takes to open it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from voxpop.node.snapshots.disk import SnapshotDir
from voxpop.node.snapshots.format import SnapshotMetadata, chunk_records

log = logging.getLogger("voxpop.node.snapshots")


class SnapshotSource(Protocol):
    """What a snapshot is taken from: the app's committed state (voxpop.chain.app.VoxApp)."""

    @property
    def last_height(self) -> int: ...

    @property
    def last_app_hash(self) -> bytes: ...

    @property
    def last_block_time(self) -> int: ...

    def iterate_state(self) -> Iterator[tuple[bytes, bytes]]: ...


def _counted(
    records: Iterator[tuple[bytes, bytes]], first: tuple[bytes, bytes] | None, counter: list[int]
) -> Iterator[tuple[bytes, bytes]]:
    if first is not None:
        counter[0] += 1
        yield first
    for record in records:
        counter[0] += 1
        yield record


def write_snapshot(
    snapshots: SnapshotDir,
    records: Iterator[tuple[bytes, bytes]],
    *,
    height: int,
    app_hash: bytes,
    block_time: int,
    aux: tuple[tuple[str, bytes, bytes], ...],
    chunk_bytes: int,
    first: tuple[bytes, bytes] | None = None,
) -> SnapshotMetadata:
    """Write the snapshot of `records` (ascending keys; `first` already taken from them)."""
    counter = [0]
    chunks = chunk_records(_counted(records, first, counter), chunk_bytes)
    return snapshots.write(
        height,
        chunks,
        lambda hashes: SnapshotMetadata(height, app_hash, block_time, counter[0], hashes, aux),
    )


class Snapshotter:
    """Takes a snapshot every `interval` heights, keeps the newest `keep`, one at a time."""

    def __init__(
        self,
        snapshots: SnapshotDir,
        *,
        interval: int,
        keep: int,
        chunk_bytes: int,
        on_done: Callable[[SnapshotMetadata], None] | None = None,
    ) -> None:
        self.snapshots = snapshots
        self.interval = interval
        self.keep = keep
        self.chunk_bytes = chunk_bytes
        self._on_done = on_done
        self._worker: threading.Thread | None = None
        # The directory's writer: what a crashed predecessor left half-written is ours to remove
        snapshots.remove_partial()

    def due(self, height: int) -> bool:
        return self.interval > 0 and height > 0 and height % self.interval == 0

    def after_commit(self, source: SnapshotSource) -> None:
        """Call right after a Commit, before the next block: start the snapshot if one is due."""
        height = source.last_height
        if not self.due(height):
            return
        if self._worker is not None and self._worker.is_alive():
            log.warning("snapshot at %d skipped: the previous one is still being written", height)
            return
        opened = threading.Event()
        app_hash, block_time = source.last_app_hash, source.last_block_time

        def run() -> None:
            try:
                records = source.iterate_state()
                first = next(records, None)  # opens the read transaction: the state of `height`
                opened.set()
                meta = write_snapshot(
                    self.snapshots,
                    records,
                    height=height,
                    app_hash=app_hash,
                    block_time=block_time,
                    aux=(),
                    chunk_bytes=self.chunk_bytes,
                    first=first,
                )
                self.snapshots.prune(self.keep)
                log.info(
                    "snapshot at height %d: %d records in %d chunks",
                    height,
                    meta.records,
                    meta.chunks,
                )
                if self._on_done is not None:
                    self._on_done(meta)
            except Exception:
                log.exception("snapshot at height %d failed", height)
            finally:
                opened.set()

        self._worker = threading.Thread(target=run, name=f"snapshot-{height}", daemon=True)
        self._worker.start()
        opened.wait()

    def wait(self) -> None:
        """Block until the snapshot being written (if any) is done."""
        if self._worker is not None:
            self._worker.join()
