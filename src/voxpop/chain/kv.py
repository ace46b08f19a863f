"""Layered key-value views of state: a block branches from committed state, a tx from the block.

A branch keeps its own writes (None marks a delete) and either writes them into its parent or is
dropped. That is how a tx's messages are applied atomically and how check_tx can run a tx without
touching the block being built.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from typing import Protocol


class KVReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...
    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]: ...


class CommittedView:
    """Reads of the latest committed state, through functions handed in by the store owner."""

    __slots__ = ("_get", "_iterate")

    def __init__(
        self,
        get: Callable[[bytes], bytes | None],
        iterate: Callable[[bytes], Iterator[tuple[bytes, bytes]]],
    ) -> None:
        self._get = get
        self._iterate = iterate

    def get(self, key: bytes) -> bytes | None:
        return self._get(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return self._iterate(prefix)


class CachedView(CommittedView):
    """Committed state with a write-through read cache.

    The owner applies exactly the changes it commits (`apply`), so the cache never holds a stale
    value. Hot accounts then cost a dict lookup instead of an LMDB read transaction.
    """

    __slots__ = ("_cache", "_max")
    _MISSING = object()

    def __init__(
        self,
        get: Callable[[bytes], bytes | None],
        iterate: Callable[[bytes], Iterator[tuple[bytes, bytes]]],
        max_entries: int = 500_000,
    ) -> None:
        super().__init__(get, iterate)
        self._cache: dict[bytes, bytes | None] = {}
        self._max = max_entries

    def get(self, key: bytes) -> bytes | None:
        value = self._cache.get(key, self._MISSING)
        if value is self._MISSING:
            value = self._get(key)
            if len(self._cache) >= self._max:
                self._cache.clear()  # simple bound; refills with what is hot
            self._cache[key] = value
        return value  # type: ignore[return-value]

    def apply(self, changes: dict[bytes, bytes | None]) -> None:
        """Record committed changes (None = deleted)."""
        if len(self._cache) + len(changes) >= self._max:
            self._cache.clear()
        self._cache.update(changes)

    def clear(self) -> None:
        self._cache.clear()


class Branch:
    """Buffered writes over a parent view."""

    __slots__ = ("parent", "writes")

    def __init__(self, parent: KVReader) -> None:
        self.parent = parent
        self.writes: dict[bytes, bytes | None] = {}

    def get(self, key: bytes) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        return self.parent.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        self.writes[key] = None

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Ascending key order, this branch's writes shadowing the parent's values."""
        own = sorted((k, v) for k, v in self.writes.items() if k.startswith(prefix))
        if not own:
            yield from self.parent.iterate(prefix)
            return
        shadowed = {k for k, _ in own}
        merged = heapq.merge(
            ((k, 0, v) for k, v in own),
            ((k, 1, v) for k, v in self.parent.iterate(prefix) if k not in shadowed),
        )
        for key, _, value in merged:
            if value is not None:
                yield key, value

    def write(self) -> None:
        """Apply this branch's writes to its parent (which must be a Branch)."""
        parent = self.parent
        if not isinstance(parent, Branch):
            raise TypeError("only a branch of a branch can be written through")
        parent.writes.update(self.writes)
        self.writes = {}
