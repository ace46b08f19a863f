"""Snapshot errors. Node-side, not chain errors: each has a stable `code` the CLI prints."""

from __future__ import annotations


class SnapshotError(Exception):
    code = "snapshot_error"


class SnapshotFormatError(SnapshotError):
    """Metadata or a chunk is not snapshot format 1 (docs/protocol/snapshots.md)."""

    code = "snapshot_format"


class ChunkHashError(SnapshotError):
    """A chunk's sha256 is not the one its snapshot's metadata lists."""

    code = "snapshot_chunk_hash"


class AppHashMismatchError(SnapshotError):
    """The restored state's root is not the app hash the snapshot was offered with."""

    code = "snapshot_app_hash"


class SnapshotNotFoundError(SnapshotError):
    """No snapshot at that height (or no chunk at that index) is kept."""

    code = "snapshot_not_found"


class StateNotEmptyError(SnapshotError):
    """A snapshot is restored only into an empty store."""

    code = "snapshot_state_not_empty"
