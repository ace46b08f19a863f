"""Key directory state: each account's published encryption keys, versioned.

directory/params                            -> CBOR {"versions_kept": int}
directory/latest/<addr 20>                  -> CBOR KeyRecord of the account's current version
directory/keys/<addr 20><version u64 BE>    -> CBOR KeyRecord of each version kept

A KeyRecord is {"version", "x25519", "secp256k1", "height", "time"}; a revocation is a version
whose two keys are null.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.fields import MAX_UINT64
from voxpop.chain.kv import KVReader
from voxpop.crypto.encryption_keys import is_secp256k1_public_key, is_x25519_public_key

PREFIX = b"directory/"
PARAMS_KEY = b"directory/params"
LATEST_PREFIX = b"directory/latest/"
VERSION_PREFIX = b"directory/keys/"
ADDRESS_LEN = 20
VERSION_LEN = 8
RECORD_FIELDS = frozenset({"version", "x25519", "secp256k1", "height", "time"})
MAX_VERSIONS_KEPT = 1_000


@dataclass(frozen=True, slots=True)
class DirectoryParams:
    # Versions readable per account (the current one included): enough for holders of data
    # wrapped to an old key to re-wrap it after a rotation, bounded so that rotating often
    # cannot grow state without limit
    versions_kept: int = 8

    @classmethod
    def from_value(cls, value: Any) -> DirectoryParams:
        if not isinstance(value, dict) or set(value) != {"versions_kept"}:
            raise InvalidGenesisError("directory params need exactly versions_kept")
        kept = value["versions_kept"]
        if type(kept) is not int or not 1 <= kept <= MAX_VERSIONS_KEPT:
            raise InvalidGenesisError(f"directory versions_kept must be 1 to {MAX_VERSIONS_KEPT}")
        return cls(kept)

    def to_value(self) -> dict[str, Any]:
        return {"versions_kept": self.versions_kept}


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One version of an account's keys, and the block that published it."""

    version: int
    x25519: bytes | None
    secp256k1: bytes | None
    height: int
    time: int

    @property
    def revoked(self) -> bool:
        return self.x25519 is None

    def to_value(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "x25519": self.x25519,
            "secp256k1": self.secp256k1,
            "height": self.height,
            "time": self.time,
        }

    @classmethod
    def from_value(cls, value: Any) -> KeyRecord:
        """A record from its CBOR value, checked in full. Raises InvalidGenesisError."""
        if not isinstance(value, dict) or value.keys() != RECORD_FIELDS:
            raise InvalidGenesisError(f"a key record has exactly {sorted(RECORD_FIELDS)}")
        version, height, time = value["version"], value["height"], value["time"]
        # Verify the numbers: a version from 1, heights and times within 64 bits
        if type(version) is not int or not 1 <= version <= MAX_UINT64:
            raise InvalidGenesisError("a key record's version is 1 to 2^64-1")
        for n in (height, time):
            if type(n) is not int or not 0 <= n <= MAX_UINT64:
                raise InvalidGenesisError("a key record's height and time are 64-bit integers")
        x25519, secp256k1 = value["x25519"], value["secp256k1"]
        # Verify both keys are valid, or both absent (a revocation)
        if (x25519, secp256k1) != (None, None) and not (
            isinstance(x25519, bytes)
            and is_x25519_public_key(x25519)
            and isinstance(secp256k1, bytes)
            and is_secp256k1_public_key(secp256k1)
        ):
            raise InvalidGenesisError("a key record holds two valid keys, or none")
        return cls(version, x25519, secp256k1, height, time)


def latest_key(address: bytes) -> bytes:
    return LATEST_PREFIX + address


def version_key(address: bytes, version: int) -> bytes:
    return VERSION_PREFIX + address + version.to_bytes(VERSION_LEN, "big")


def version_query_key(data: bytes) -> bytes:
    """`version_key` for query data `address (20) || version (8, big-endian)`."""
    return VERSION_PREFIX + data


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> DirectoryParams:
    return DirectoryParams.from_value(decode_state(raw))


def get_params(ctx: Context) -> DirectoryParams:
    raw = ctx.get(PARAMS_KEY)
    return decode_params(raw) if raw else DirectoryParams()


def set_params(ctx: Context, params: DirectoryParams) -> None:
    ctx.set(PARAMS_KEY, encode(params.to_value()))


def encode_record(record: KeyRecord) -> bytes:
    return encode(record.to_value())


def decode_record(raw: bytes) -> KeyRecord:
    """A record this chain stored (checked when it was written: not checked again)."""
    v = decode_state(raw)
    return KeyRecord(v["version"], v["x25519"], v["secp256k1"], v["height"], v["time"])


def get_latest(ctx: Context, address: bytes) -> KeyRecord | None:
    raw = ctx.get(latest_key(address))
    return decode_record(raw) if raw else None


def set_record(ctx: Context, address: bytes, record: KeyRecord) -> None:
    """Store `record` as the account's current version, and as that version."""
    raw = encode_record(record)
    ctx.set(latest_key(address), raw)
    ctx.set(version_key(address, record.version), raw)


def prune_versions(ctx: Context, address: bytes, current: int, kept: int) -> None:
    """Delete the account's versions older than the last `kept` (the current one included)."""
    prefix = VERSION_PREFIX + address
    stale = []
    for key, _ in ctx.iterate(prefix):
        if int.from_bytes(key[len(prefix) :], "big") > current - kept:
            break  # keys ascend by version
        stale.append(key)
    for key in stale:
        ctx.delete(key)


# --- unmetered reads for genesis export and invariants ----------------------------------------


def read_params(reader: KVReader) -> DirectoryParams:
    raw = reader.get(PARAMS_KEY)
    return decode_params(raw) if raw else DirectoryParams()


def iter_versions(reader: KVReader) -> list[tuple[bytes, KeyRecord]]:
    """(address, record) of every version kept, by address then version."""
    start = len(VERSION_PREFIX)
    return [
        (key[start : start + ADDRESS_LEN], decode_record(raw))
        for key, raw in reader.iterate(VERSION_PREFIX)
    ]


def iter_latest(reader: KVReader) -> list[tuple[bytes, KeyRecord]]:
    return [(k[len(LATEST_PREFIX) :], decode_record(v)) for k, v in reader.iterate(LATEST_PREFIX)]
