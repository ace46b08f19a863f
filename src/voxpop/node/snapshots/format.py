"""Snapshot format 1: the state at one height as hashed chunks, and the metadata that names them.

The spec, with a test vector, is docs/protocol/snapshots.md. In short:

    record    u16 BE key length | key | u32 BE value length | value
    chunk     whole records in ascending key order, at most `chunk_bytes` (a bigger record alone)
    metadata  canonical CBOR {"format": 1, "height", "app_hash", "block_time", "records",
              "chunk_hashes": [sha256(chunk)...], "aux": [[db, key, value]...]}
    hash      sha256(metadata): the snapshot's identity (ABCI Snapshot.hash)

The chunks hold the state tree's (key, value) pairs, whose root is the app hash whatever order
they are written in; ascending order makes a snapshot of one state byte-identical on every node,
so CometBFT can fetch its chunks from several peers, and lets a restore refuse duplicates.
`aux` carries the few rows outside the tree the app needs to continue (the last block time; in
a solo backup also the last block, which the next block's header links to).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import cbor2

from voxpop.chain.encoding import encode
from voxpop.node.snapshots.errors import SnapshotFormatError

FORMAT = 1
DEFAULT_CHUNK_BYTES = 4 << 20  # well under CometBFT's 16 MB p2p message limit
MAX_CHUNKS = 100_000  # metadata of 100,000 hashes is 3.4 MB: still one small p2p message
_KEY_LEN = 2
_VALUE_LEN = 4


def encode_record(key: bytes, value: bytes) -> bytes:
    return len(key).to_bytes(_KEY_LEN, "big") + key + len(value).to_bytes(_VALUE_LEN, "big") + value


def decode_records(chunk: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The records of one chunk, in order. Raises SnapshotFormatError if it is cut or malformed."""
    offset, size = 0, len(chunk)
    while offset < size:
        # Verify each length and the bytes it announces are all there
        if offset + _KEY_LEN > size:
            raise SnapshotFormatError("chunk ends inside a key length")
        key_len = int.from_bytes(chunk[offset : offset + _KEY_LEN], "big")
        key_end = offset + _KEY_LEN + key_len
        if key_len == 0 or key_end + _VALUE_LEN > size:
            raise SnapshotFormatError("chunk has an empty or cut key")
        value_len = int.from_bytes(chunk[key_end : key_end + _VALUE_LEN], "big")
        value_end = key_end + _VALUE_LEN + value_len
        if value_end > size:
            raise SnapshotFormatError("chunk ends inside a value")
        yield chunk[offset + _KEY_LEN : key_end], chunk[key_end + _VALUE_LEN : value_end]
        offset = value_end


def chunk_records(records: Iterable[tuple[bytes, bytes]], chunk_bytes: int) -> Iterator[bytes]:
    """Records (in ascending key order) packed into chunks of at most `chunk_bytes`."""
    parts: list[bytes] = []
    size = 0
    for key, value in records:
        record = encode_record(key, value)
        if parts and size + len(record) > chunk_bytes:
            yield b"".join(parts)
            parts, size = [], 0
        parts.append(record)
        size += len(record)
    if parts or size == 0:
        yield b"".join(parts)


@dataclass(frozen=True, slots=True)
class SnapshotMetadata:
    """What a snapshot says about itself; `encode()` is ABCI Snapshot.metadata."""

    height: int
    app_hash: bytes
    block_time: int
    records: int
    chunk_hashes: tuple[bytes, ...]
    aux: tuple[tuple[str, bytes, bytes], ...] = ()

    @property
    def chunks(self) -> int:
        return len(self.chunk_hashes)

    def encode(self) -> bytes:
        return encode(
            {
                "format": FORMAT,
                "height": self.height,
                "app_hash": self.app_hash,
                "block_time": self.block_time,
                "records": self.records,
                "chunk_hashes": list(self.chunk_hashes),
                "aux": [list(row) for row in self.aux],
            }
        )

    def hash(self) -> bytes:
        return hashlib.sha256(self.encode()).digest()

    @classmethod
    def decode(cls, data: bytes) -> SnapshotMetadata:
        """Raises SnapshotFormatError unless `data` is format-1 metadata in canonical CBOR."""
        try:
            doc: Any = cbor2.loads(data)
        except (cbor2.CBORDecodeError, ValueError) as exc:
            raise SnapshotFormatError(f"metadata is not CBOR: {exc}") from None
        # Verify the shape, then that this is the one encoding of it (the hash names one snapshot)
        try:
            meta = cls(
                height=_int(doc["height"]),
                app_hash=_bytes(doc["app_hash"]),
                block_time=_int(doc["block_time"]),
                records=_int(doc["records"]),
                chunk_hashes=tuple(_bytes(h) for h in doc["chunk_hashes"]),
                aux=tuple((str(db), _bytes(k), _bytes(v)) for db, k, v in doc["aux"]),
            )
            fmt = doc["format"]
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotFormatError(f"malformed metadata: {exc!r}") from None
        if fmt != FORMAT:
            raise SnapshotFormatError(f"snapshot format {fmt!r}, this node reads {FORMAT}")
        if meta.encode() != data:
            raise SnapshotFormatError("metadata is not in canonical form")
        if not 1 <= meta.chunks <= MAX_CHUNKS or meta.height < 1 or len(meta.app_hash) != 32:
            raise SnapshotFormatError("metadata has no chunks, too many, or a bad height/app hash")
        if any(len(h) != 32 for h in meta.chunk_hashes):
            raise SnapshotFormatError("a chunk hash is not 32 bytes")
        return meta


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a non-negative integer, got {value!r}")
    return value


def _bytes(value: Any) -> bytes:
    if not isinstance(value, bytes):
        raise ValueError(f"expected bytes, got {type(value).__name__}")
    return value


def chunk_hash(chunk: bytes) -> bytes:
    return hashlib.sha256(chunk).digest()
