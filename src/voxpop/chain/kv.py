"""Layered key-value views of state: a block branches from committed state, a tx from the block.

A branch keeps its own writes (None marks a delete) and either writes them into its parent or is
dropped. That is how a tx's messages are applied atomically and how check_tx can run a tx without
touching the block being built.
"""

from __future__ import annotations

from bisect import bisect_left, insort
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

    __slots__ = ("_keys", "parent", "writes")

    def __init__(self, parent: KVReader) -> None:
        self.parent = parent
        self.writes: dict[bytes, bytes | None] = {}
        # The keys of `writes`, ascending, as of the last iterate (see _sorted_keys)
        self._keys: list[bytes] = []

    def get(self, key: bytes) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        return self.parent.get(key)

    def set(self, key: bytes, value: bytes) -> None:
        self.writes[key] = value

    def delete(self, key: bytes) -> None:
        self.writes[key] = None

    def _sorted_keys(self) -> list[bytes]:
        """The keys of `writes`, ascending.

        A block's branch holds thousands of writes and its txs iterate hundreds of times, so the
        order is kept between iterates instead of sorting every write each time. Keys are never
        removed from `writes` (a delete writes None) and a dict keeps insertion order, so the keys
        added since the last call are the last ones: this holds even for writes made straight
        into the dict (`writes.update`).
        """
        keys = self._keys
        writes = self.writes
        known = len(keys)
        if len(writes) != known:
            added = list(writes)[known:]
            if len(added) <= 8:
                for key in added:
                    insort(keys, key)
            else:
                keys.extend(added)
                keys.sort()
        return keys

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Ascending key order, this branch's writes shadowing the parent's values."""
        writes = self.writes
        keys = self._sorted_keys()
        start = bisect_left(keys, prefix)
        end = start
        count = len(keys)
        while end < count and keys[end].startswith(prefix):
            end += 1
        if start == end:
            yield from self.parent.iterate(prefix)
            return
        # This branch's writes under `prefix`, as of now (later writes are not seen)
        own = [(key, writes[key]) for key in keys[start:end]]
        count = len(own)
        at = 0
        for key, value in self.parent.iterate(prefix):
            # Own writes before the parent's key come first
            while at < count and own[at][0] < key:
                own_key, own_value = own[at]
                at += 1
                if own_value is not None:
                    yield own_key, own_value
            # An own write of the same key shadows the parent's value (None: a delete)
            if at < count and own[at][0] == key:
                own_value = own[at][1]
                at += 1
                if own_value is not None:
                    yield key, own_value
                continue
            yield key, value
        for own_key, own_value in own[at:]:
            if own_value is not None:
                yield own_key, own_value

    def write(self) -> None:
        """Apply this branch's writes to its parent (which must be a Branch)."""
        parent = self.parent
        if not isinstance(parent, Branch):
            raise TypeError("only a branch of a branch can be written through")
        parent.writes.update(self.writes)
        self.writes = {}
        self._keys = []
