"""An in-memory cache of the tree's upper chunk records.

Every commit of a large block reads and rewrites nearly all chunks in the top 16 levels (the
chunks rooted at depths 0, 4, 8 and 12: at most 4,369 of them, about 5 MB). Records never
change under their keys, so a cached record is never wrong; entries are dropped when superseded,
which keeps the cache to the latest version's upper chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from voxpop.store.nodes import CHUNK_TAG

# Record keys are 8 + depth // 8 + 1 bytes, so keys of at most 10 bytes are the top 16 levels.
_MAX_KEY_SIZE = 10

RecordReader = Callable[[bytes], bytes | None]


def _is_upper_chunk(key: bytes, record: bytes) -> bool:
    return len(key) <= _MAX_KEY_SIZE and record[0] == CHUNK_TAG


class UpperChunkCache:
    def __init__(self) -> None:
        self._records: dict[bytes, bytes] = {}

    def reader(self, read_record: RecordReader) -> RecordReader:
        """`read_record`, answered from the cache when it can; upper chunks read are kept."""
        records = self._records

        def read_cached(key: bytes) -> bytes | None:
            record = records.get(key)
            if record is None:
                record = read_record(key)
                if record is not None and _is_upper_chunk(key, record):
                    records[key] = record
            return record

        return read_cached

    def update(self, written: Iterable[tuple[bytes, bytes]], superseded: Iterable[bytes]) -> None:
        """After a commit is durable: keep its upper chunks, forget those it superseded."""
        records = self._records
        for key in superseded:
            records.pop(key, None)
        for key, record in written:
            if _is_upper_chunk(key, record):
                records[key] = record
