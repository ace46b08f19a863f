"""Restoring a snapshot into an empty node, chunk by chunk, trusting nothing it is sent.

    restorer.offer(metadata, app_hash)   app_hash: the one in the light-client-verified header H+1
    restorer.apply(index, chunk)         in order; the last one commits

Every chunk must hash to what the metadata lists (else it is refused and fetched again, from
another peer); keys must ascend strictly across the whole snapshot; the metadata's app hash
must be the verified one; and the root of the restored records must be that app hash before
anything is written. Until the last chunk nothing touches the store, so a node killed during a
restore restarts empty and simply restores again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from voxpop.node.snapshots.errors import (
    AppHashMismatchError,
    ChunkHashError,
    SnapshotError,
    SnapshotFormatError,
    StateNotEmptyError,
)
from voxpop.node.snapshots.format import SnapshotMetadata, chunk_hash, decode_records

log = logging.getLogger("voxpop.node.snapshots")


class RestoreTarget(Protocol):
    """What a snapshot is restored into: the app (voxpop.chain.app.VoxApp)."""

    @property
    def last_height(self) -> int: ...

    @property
    def last_app_hash(self) -> bytes: ...

    def restore_snapshot(
        self,
        height: int,
        state: dict[bytes, bytes],
        block_time: int,
        aux: tuple[tuple[str, bytes, bytes], ...],
        app_hash: bytes,
    ) -> bytes: ...

    def iterate_state(self) -> Iterator[tuple[bytes, bytes]]: ...


@dataclass(slots=True)
class _Restore:
    meta: SnapshotMetadata
    next_index: int = 0
    last_key: bytes = b""
    state: dict[bytes, bytes] = field(default_factory=dict)
    already_there: bool = False  # the app holds this very state (a restart after the last chunk)


class Restorer:
    """One restore at a time into `target`."""

    def __init__(self, target: RestoreTarget) -> None:
        self.target = target
        self._current: _Restore | None = None

    @property
    def active(self) -> bool:
        return self._current is not None

    def offer(self, meta: SnapshotMetadata, app_hash: bytes) -> None:
        """Start restoring `meta`, whose state must have root `app_hash`.

        Raises AppHashMismatchError if the metadata names another app hash, StateNotEmptyError
        if the app already holds some other state.
        """
        self._current = None
        # Verify the snapshot claims the verified app hash (its chunks are then checked by hash)
        if meta.app_hash != app_hash:
            raise AppHashMismatchError(
                f"snapshot {meta.height} is of app hash {meta.app_hash.hex()}, "
                f"the verified header says {app_hash.hex()}"
            )
        height = self.target.last_height
        # Verify the app is empty, or already holds exactly this state
        if height != 0 and (height, self.target.last_app_hash) != (meta.height, app_hash):
            raise StateNotEmptyError(
                f"the app is at height {height}; a snapshot restores only into an empty node"
            )
        self._current = _Restore(meta, already_there=height != 0)
        log.info("restoring snapshot %d (%d chunks)", meta.height, meta.chunks)

    def apply(self, index: int, chunk: bytes) -> bool:
        """Apply chunk `index`; returns True once the snapshot is restored (after the last).

        Raises ChunkHashError (fetch it again, elsewhere), SnapshotFormatError, or
        AppHashMismatchError (the whole snapshot is bad); SnapshotError without an offer.
        """
        current = self._current
        if current is None:
            raise SnapshotError("no snapshot is being restored")
        meta = current.meta
        # Verify the chunks come in order
        if index != current.next_index:
            raise SnapshotFormatError(f"chunk {index} came, chunk {current.next_index} is next")
        # Verify the chunk is the one the metadata lists
        if chunk_hash(chunk) != meta.chunk_hashes[index]:
            raise ChunkHashError(f"chunk {index} of snapshot {meta.height} has the wrong hash")
        last_key = current.last_key
        state = current.state
        for key, value in decode_records(chunk):
            # Verify keys strictly ascend: no record twice, one byte string per snapshot
            if key <= last_key:
                raise SnapshotFormatError(f"chunk {index}: keys out of order")
            state[key] = value
            last_key = key
        current.last_key = last_key
        current.next_index += 1
        log.info("applied snapshot chunk %d/%d", index + 1, meta.chunks)
        if current.next_index < meta.chunks:
            return False
        self._current = None
        # Verify the record count, then (in restore_snapshot) the root, before writing
        if len(state) != meta.records:
            raise SnapshotFormatError(f"{len(state)} records, the metadata says {meta.records}")
        if current.already_there:
            log.info("snapshot %d was already restored", meta.height)
            return True
        root = self.target.restore_snapshot(
            meta.height, state, meta.block_time, meta.aux, meta.app_hash
        )
        if root != meta.app_hash:
            raise AppHashMismatchError(
                f"the restored state's root is {root.hex()}, not {meta.app_hash.hex()}"
            )
        log.info("restored snapshot %d: app hash %s", meta.height, root.hex().upper())
        return True

    def abort(self) -> None:
        self._current = None
