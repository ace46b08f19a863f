"""The snapshots a node keeps, on disk: HOME/data/snapshots/<height>/{metadata.cbor, chunk-<i>}.

A snapshot is written into a temporary directory and renamed into place, so a listed snapshot is
always whole; a crash leaves only a `.tmp-*` directory, which the directory's writer removes when
it starts (`remove_partial`). Readers never delete: another process (a test, an import) may open
the directory while the node writes a snapshot into it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from voxpop.node.snapshots.errors import SnapshotNotFoundError
from voxpop.node.snapshots.format import SnapshotMetadata, chunk_hash

METADATA_FILE = "metadata.cbor"
_TMP_PREFIX = ".tmp-"


def chunk_file(index: int) -> str:
    return f"chunk-{index:06d}"


class SnapshotDir:
    """Snapshots under one directory, newest last. Safe for one writer and many readers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def remove_partial(self) -> None:
        """Delete the snapshots a crashed writer left half-written. Only the directory's one
        writer calls this, before it writes: for anyone else they may be in progress."""
        for leftover in self.root.glob(_TMP_PREFIX + "*"):
            shutil.rmtree(leftover, ignore_errors=True)

    def _path(self, height: int) -> Path:
        return self.root / f"{height:020d}"

    def heights(self) -> list[int]:
        return sorted(int(p.name) for p in self.root.iterdir() if p.name.isdigit())

    def metadata(self, height: int) -> SnapshotMetadata:
        """Raises SnapshotNotFoundError, SnapshotFormatError."""
        try:
            data = (self._path(height) / METADATA_FILE).read_bytes()
        except FileNotFoundError:
            raise SnapshotNotFoundError(f"no snapshot at height {height}") from None
        return SnapshotMetadata.decode(data)

    def raw_metadata(self, height: int) -> bytes:
        try:
            return (self._path(height) / METADATA_FILE).read_bytes()
        except FileNotFoundError:
            raise SnapshotNotFoundError(f"no snapshot at height {height}") from None

    def chunk(self, height: int, index: int) -> bytes:
        """The chunk as stored (not re-verified: the receiver checks every chunk's hash)."""
        try:
            return (self._path(height) / chunk_file(index)).read_bytes()
        except FileNotFoundError:
            raise SnapshotNotFoundError(f"no chunk {index} of snapshot {height}") from None

    def write(
        self,
        height: int,
        chunks: Iterable[bytes],
        metadata_for: Callable[[tuple[bytes, ...]], SnapshotMetadata],
    ) -> SnapshotMetadata:
        """Store the snapshot at `height` whose chunks are `chunks` (in order), atomically;
        `metadata_for(chunk hashes)` gives its metadata once every chunk is written."""
        tmp = self.root / f"{_TMP_PREFIX}{height}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        hashes = []
        for index, chunk in enumerate(chunks):
            (tmp / chunk_file(index)).write_bytes(chunk)
            hashes.append(chunk_hash(chunk))
        meta = metadata_for(tuple(hashes))
        (tmp / METADATA_FILE).write_bytes(meta.encode())
        final = self._path(height)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        return meta

    def prune(self, keep: int) -> list[int]:
        """Delete all but the newest `keep` snapshots; return the heights deleted."""
        heights = self.heights()
        gone = heights[: max(0, len(heights) - keep)]
        for height in gone:
            shutil.rmtree(self._path(height), ignore_errors=True)
        return gone
