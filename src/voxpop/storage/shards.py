"""The shards on disk, content-addressed: `data/shards/<merkle root hex>` and
`data/headers/<sha256 hex>`.

A file is written to `data/tmp/`, fsynced, renamed into place and its directory fsynced: after a
crash (kill -9, power cut) a name either holds the whole checked content or does not exist, so
what the node confirmed on chain is what it can prove. Leftovers in tmp/ are removed at open.
The name is the content's commitment, checked before the file takes it, so a file is never
overwritten with other bytes and two deals that commit to the same shard share one file. A shard
being received streams into its tmp/ file (`ShardWrite`), checked as it comes.

Capacity: the bytes of every stored file plus the bytes of writes in flight (reserved before the
body is written) never exceed the configured capacity.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO


class OverCapacityError(Exception):
    """Storing this would take the node over its capacity."""


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ShardStore:
    """Files named by their commitment under one data directory, within a capacity in bytes."""

    def __init__(self, directory: Path, capacity: int) -> None:
        self.directory = directory
        self.capacity = capacity
        self.shards_dir = directory / "shards"
        self.headers_dir = directory / "headers"
        self.tmp_dir = directory / "tmp"
        for d in (directory, self.shards_dir, self.headers_dir, self.tmp_dir):
            d.mkdir(parents=True, exist_ok=True)
        # Writes a crash interrupted were never acknowledged: drop them
        for leftover in self.tmp_dir.iterdir():
            with contextlib.suppress(OSError):
                leftover.unlink()
        self.used = sum(p.stat().st_size for p in self._files())
        self.reserved = 0

    def _files(self) -> Iterator[Path]:
        yield from self.shards_dir.iterdir()
        yield from self.headers_dir.iterdir()

    # --- capacity --------------------------------------------------------------------------------

    @property
    def free(self) -> int:
        return self.capacity - self.used - self.reserved

    def reserve(self, size: int) -> None:
        """Hold `size` bytes for a write about to happen. Raises OverCapacityError."""
        # Verify the write fits beside everything stored and everything being written
        if size > self.free:
            raise OverCapacityError(
                f"{size} bytes do not fit: {self.free} of {self.capacity} bytes are free"
            )
        self.reserved += size

    def release(self, size: int) -> None:
        self.reserved -= size

    # --- shards ----------------------------------------------------------------------------------

    def shard_path(self, root: bytes) -> Path:
        return self.shards_dir / root.hex()

    def header_path(self, header_hash: bytes) -> Path:
        return self.headers_dir / header_hash.hex()

    def has_shard(self, root: bytes) -> bool:
        return self.shard_path(root).is_file()

    def has_header(self, header_hash: bytes) -> bool:
        return self.header_path(header_hash).is_file()

    def roots(self) -> list[bytes]:
        """The roots of every shard held, sorted."""
        out = []
        for path in self.shards_dir.iterdir():
            with contextlib.suppress(ValueError):
                out.append(bytes.fromhex(path.name))
        return sorted(out)

    def begin_shard(self) -> ShardWrite:
        """A shard to receive into tmp/ as its bytes come (ShardWrite). Raises OSError."""
        return ShardWrite(self)

    def write_shard(self, root: bytes, data: bytes | bytearray | memoryview) -> bool:
        """Store `data` (already checked to have this root) durably; False if it was held already.
        Call from a worker thread; the caller reserved len(data) bytes and releases them."""
        return self._write(self.shard_path(root), data)

    def write_header(self, header_hash: bytes, data: bytes) -> bool:
        return self._write(self.header_path(header_hash), data)

    def _write(self, target: Path, data: bytes | bytearray | memoryview) -> bool:
        if target.is_file():
            return False
        tmp = self.tmp_dir / secrets.token_hex(8)
        try:
            with tmp.open("wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(target.parent)
        self.used += len(data)
        return True

    def read_shard(self, root: bytes) -> bytes | None:
        return _read(self.shard_path(root))

    def open_shard(self, root: bytes) -> BinaryIO | None:
        """The shard's file opened for reading; None if not held. The caller closes it."""
        try:
            return self.shard_path(root).open("rb")
        except FileNotFoundError:
            return None

    def read_header(self, header_hash: bytes) -> bytes | None:
        return _read(self.header_path(header_hash))

    def map_shard(self, root: bytes) -> mmap.mmap | None:
        """The shard mapped read-only (pages come from the file, not the heap); None if absent
        or empty."""
        try:
            with self.shard_path(root).open("rb") as f:
                return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return None

    def drop_shard(self, root: bytes) -> None:
        self._drop(self.shard_path(root))

    def drop_header(self, header_hash: bytes) -> None:
        self._drop(self.header_path(header_hash))

    def _drop(self, path: Path) -> None:
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return
        self.used -= size


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


_IOV_MAX = 1024  # pieces per writev (Linux's IOV_MAX)


class ShardWrite:
    """A shard being received: its bytes go to a file in tmp/ as they come (the node never
    holds a whole shard in memory), and become the shard, fsynced and renamed into place, only
    once the caller has checked their root. Unless committed, `abort` removes the file."""

    def __init__(self, store: ShardStore) -> None:
        self._store = store
        self._tmp = store.tmp_dir / secrets.token_hex(8)
        self._fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._committing = False
        self.size = 0

    def write(self, pieces: Sequence[bytes | memoryview]) -> None:
        """Append `pieces`, in order, without joining them (writev). Raises OSError."""
        left = [memoryview(p) for p in pieces if len(p)]
        self.size += sum(len(p) for p in left)
        while left:
            done = os.writev(self._fd, left[:_IOV_MAX])
            # A short write: drop what went out and go on from there
            while done and done >= len(left[0]):
                done -= len(left.pop(0))
            if done:
                left[0] = left[0][done:]

    def commit(self, root: bytes) -> bool:
        """Keep the bytes as the shard of `root` (checked by the caller) durably; False if it
        was held already. Call from a worker thread; from then on this object is the commit's
        (an `abort` from a caller that stopped waiting does nothing). Raises OSError."""
        self._committing = True
        target = self._store.shard_path(root)
        if target.is_file():
            self._discard()
            return False
        try:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            os.replace(self._tmp, target)
        except BaseException:
            self._discard()
            raise
        _fsync_dir(target.parent)
        self._store.used += self.size
        return True

    def abort(self) -> None:
        """Drop what was received (a no-op once a commit has begun)."""
        if not self._committing:
            self._discard()

    def _discard(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        with contextlib.suppress(OSError):
            self._tmp.unlink()
