"""Pruning: deleting the versions that fell out of the retention window.

Each commit records, under its version s, the keys of the records it superseded (the stale
index). A record superseded at s belongs to versions before s only, so once the oldest retained
version is `earliest`, every record superseded at s <= earliest can go, and so can the root
records of versions before `earliest`.

Pruning deletes records scattered across the whole database, so each delete dirties its own
page; at a million keys that costs more disk time than the commit itself. It therefore runs by
default on a background thread, in write transactions of its own, right after each commit:
commit returns as soon as the new version is durable, and the pruning overlaps the next block's
execution. Pruning only removes data no retained version uses, so a crash at any point leaves
a consistent store that prunes the rest later.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from voxpop.store.errors import StoreError

# Versions pruned per background transaction, so a commit never waits long for the write lock.
PRUNE_BATCH_VERSIONS = 8


def encode_key_list(keys: list[bytes]) -> bytes:
    """Record keys are 9..41 bytes: each is stored after a one-byte length."""
    return b"".join([bytes((len(key),)) + key for key in keys])


def decode_key_list(data: bytes) -> list[bytes]:
    keys = []
    offset = 0
    size = len(data)
    while offset < size:
        end = offset + 1 + data[offset]
        keys.append(data[offset + 1 : end])
        offset = end
    if offset != size:
        raise StoreError("corrupt store: bad stale index entry")
    return keys


def prune_versions(
    txn: Any, *, nodes: Any, stale: Any, versions: Any, earliest: int, max_versions: int = 0
) -> bool:
    """In `txn`, drop the root records of versions before `earliest`, then the records no
    retained version uses (at most `max_versions` stale entries' worth if nonzero). Returns
    whether such records remain."""
    # Root records go first: a version must stop being readable before its records go.
    cursor = txn.cursor(db=versions)
    while cursor.first() and int.from_bytes(cursor.key(), "big") < earliest:
        cursor.delete()
    if not cursor.first():
        return False
    # Versions need not be consecutive: the oldest retained one may be above `earliest`.
    earliest = int.from_bytes(cursor.key(), "big")
    cursor = txn.cursor(db=stale)
    done = 0
    delete = txn.delete
    while cursor.first() and int.from_bytes(cursor.key(), "big") <= earliest:
        if max_versions and done == max_versions:
            return True
        for key in decode_key_list(cursor.value()):
            delete(key, b"", nodes)
        cursor.delete()
        done += 1
    return False


class BackgroundPruner:
    """Runs `prune_batch(earliest) -> more left` on a worker thread until caught up with the
    latest request. Commits take precedence: while one is waiting, no new batch starts."""

    def __init__(self, prune_batch: Callable[[int], bool]) -> None:
        self._prune_batch = prune_batch
        self._cond = threading.Condition()
        self._requested = 0
        self._completed = 0
        self._commits_waiting = 0
        self._stopping = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="voxpop-store-pruner", daemon=True)
        self._thread.start()

    def request(self, earliest: int) -> None:
        """Prune up to `earliest`. (A failure is reported by the next hold or wait.)"""
        with self._cond:
            if earliest > self._requested:
                self._requested = earliest
                self._cond.notify_all()

    def hold(self) -> None:
        """A commit is about to start: let it have the write lock after the current batch.
        Raises StoreError if background pruning failed."""
        with self._cond:
            self._raise_error()
            self._commits_waiting += 1

    def release(self) -> None:
        with self._cond:
            self._commits_waiting -= 1
            self._cond.notify_all()

    def wait(self) -> None:
        """Block until every requested prune is done. Raises StoreError if one failed."""
        with self._cond:
            while self._completed < self._requested and self._error is None:
                self._cond.wait()
            self._raise_error()

    def close(self) -> None:
        """Stop after the batch in progress; unfinished pruning resumes after reopening."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise StoreError(f"background pruning failed: {self._error}") from self._error

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (
                    self._completed >= self._requested or self._commits_waiting
                ):
                    self._cond.wait()
                if self._stopping:
                    return
                target = self._requested
            try:
                more = self._prune_batch(target)
            except BaseException as exc:  # reported to the committing thread
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                return
            if not more:
                with self._cond:
                    self._completed = max(self._completed, target)
                    self._cond.notify_all()
