"""Settings state: each owner's key epochs, the wraps of each epoch's keys, and the encrypted
records.

settings/params                                          -> CBOR SettingsParams
settings/epoch/<owner 20>                                -> CBOR Epoch: the owner's current epoch
settings/wrap/<owner 20><epoch u32 BE><recipient 20>     -> the sealed envelope of the epoch's keys
settings/rec/<owner 20><record id 32>                    -> CBOR Record
settings/ri/<owner 20><record id 32>                     -> 0x01: records listed by owner
settings/rc/<owner 20>                                   -> CBOR [count, root] of that list

The chain sees record ids (HMAC of a name under the owner's naming key), versions, epochs and
ciphertext: never a name or a plaintext.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListIndex
from voxpop.chain.modules.bounds import param_int
from voxpop.chain.modules.settings.messages import MAX_CIPHERTEXT_BYTES

PREFIX = b"settings/"
PARAMS_KEY = b"settings/params"
EPOCH_PREFIX = b"settings/epoch/"
WRAP_PREFIX = b"settings/wrap/"
RECORD_PREFIX = b"settings/rec/"
ADDRESS_LEN = 20
RECORD_ID_LEN = 32
EPOCH_LEN = 4
# The most records any owner may hold (the list's bound); the param lowers it
MAX_RECORDS = 1_024
RECORDS_BY_OWNER = ListIndex(
    index_prefix=b"settings/ri/",
    commit_prefix=b"settings/rc/",
    owner_len=ADDRESS_LEN,
    id_len=RECORD_ID_LEN,
    max_items=MAX_RECORDS,
)


@dataclass(frozen=True, slots=True)
class SettingsParams:
    # The longest record ciphertext (a skill's settings values are the largest records)
    max_record_bytes: int = 16_384
    # Records per owner: a device's settings, location, two or three per skill
    max_records_per_owner: int = 512

    @classmethod
    def from_value(cls, value: Any) -> SettingsParams:
        """Params from genesis or state, each within its bounds. Raises InvalidGenesisError."""
        names = {"max_record_bytes", "max_records_per_owner"}
        if not isinstance(value, dict) or set(value) != names:
            raise InvalidGenesisError(f"settings params need exactly {sorted(names)}")
        return cls(
            param_int(
                "settings", "max_record_bytes", value["max_record_bytes"], 64, MAX_CIPHERTEXT_BYTES
            ),
            param_int(
                "settings", "max_records_per_owner", value["max_records_per_owner"], 1, MAX_RECORDS
            ),
        )

    def to_value(self) -> dict[str, Any]:
        return {
            "max_record_bytes": self.max_record_bytes,
            "max_records_per_owner": self.max_records_per_owner,
        }


@dataclass(frozen=True, slots=True)
class Epoch:
    """An owner's current key epoch, who its keys are wrapped to, and the block that set it."""

    epoch: int
    recipients: tuple[bytes, ...]  # ascending
    height: int
    time: int

    def to_value(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "recipients": list(self.recipients),
            "height": self.height,
            "time": self.time,
        }

    @classmethod
    def from_value(cls, v: Any) -> Epoch:
        return cls(v["epoch"], tuple(v["recipients"]), v["height"], v["time"])


@dataclass(frozen=True, slots=True)
class Record:
    """One encrypted record: its version, the key epoch it was written under, the ciphertext."""

    version: int
    epoch: int
    ciphertext: bytes

    def to_value(self) -> dict[str, Any]:
        return {"version": self.version, "epoch": self.epoch, "ciphertext": self.ciphertext}

    @classmethod
    def from_value(cls, v: Any) -> Record:
        return cls(v["version"], v["epoch"], v["ciphertext"])


def epoch_key(owner: bytes) -> bytes:
    return EPOCH_PREFIX + owner


def wrap_key(owner: bytes, epoch: int, recipient: bytes) -> bytes:
    return WRAP_PREFIX + owner + epoch.to_bytes(EPOCH_LEN, "big") + recipient


def record_key(owner: bytes, record_id: bytes) -> bytes:
    return RECORD_PREFIX + owner + record_id


def listed_record_key(owner: bytes, record_id: bytes) -> bytes:
    """The record a list item of `owner` stands for."""
    return record_key(owner, record_id)


# --- reads and writes -------------------------------------------------------------------------


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> SettingsParams:
    return SettingsParams.from_value(decode_state(raw))


def get_params(state: KVReader | Context) -> SettingsParams:
    raw = state.get(PARAMS_KEY)
    return decode_params(raw) if raw else SettingsParams()


def set_params(ctx: Context, params: SettingsParams) -> None:
    ctx.set(PARAMS_KEY, encode(params.to_value()))


def get_epoch(state: KVReader | Context, owner: bytes) -> Epoch | None:
    raw = state.get(epoch_key(owner))
    return Epoch.from_value(decode_state(raw)) if raw else None


def current_epoch(state: KVReader | Context, owner: bytes) -> int:
    """The owner's current key epoch (0: no settings key yet)."""
    epoch = get_epoch(state, owner)
    return epoch.epoch if epoch else 0


def set_epoch(ctx: Context, owner: bytes, epoch: Epoch, wraps: dict[bytes, bytes]) -> None:
    """Make `epoch` the owner's current one and store its wraps (recipient -> sealed). The
    wraps of earlier epochs stay: the records written under them are read with them."""
    ctx.set(epoch_key(owner), encode(epoch.to_value()))
    for recipient, sealed in sorted(wraps.items()):
        ctx.set(wrap_key(owner, epoch.epoch, recipient), sealed)


def get_record(state: KVReader | Context, owner: bytes, record_id: bytes) -> Record | None:
    raw = state.get(record_key(owner, record_id))
    return Record.from_value(decode_state(raw)) if raw else None


def count_records(ctx: Context, owner: bytes) -> int:
    return len(RECORDS_BY_OWNER.ids(ctx, owner))


def put_record(ctx: Context, owner: bytes, record_id: bytes, record: Record) -> None:
    """Store `record` (listing it under its owner if it is new)."""
    ctx.set(record_key(owner, record_id), encode(record.to_value()))
    RECORDS_BY_OWNER.add(ctx, owner, record_id)


def delete_record(ctx: Context, owner: bytes, record_id: bytes) -> None:
    ctx.delete(record_key(owner, record_id))
    RECORDS_BY_OWNER.remove(ctx, owner, record_id)


# --- unmetered reads for genesis export and invariants ----------------------------------------


def read_epochs(reader: KVReader) -> list[tuple[bytes, Epoch]]:
    return [
        (key[len(EPOCH_PREFIX) :], Epoch.from_value(decode_state(raw)))
        for key, raw in reader.iterate(EPOCH_PREFIX)
    ]


def read_wraps(reader: KVReader) -> list[tuple[bytes, int, bytes, bytes]]:
    """(owner, epoch, recipient, sealed) of every wrap, in key order."""
    out = []
    for key, sealed in reader.iterate(WRAP_PREFIX):
        rest = key[len(WRAP_PREFIX) :]
        owner, rest = rest[:ADDRESS_LEN], rest[ADDRESS_LEN:]
        epoch = int.from_bytes(rest[:EPOCH_LEN], "big")
        out.append((owner, epoch, rest[EPOCH_LEN:], sealed))
    return out


def read_records(reader: KVReader) -> list[tuple[bytes, bytes, Record]]:
    """(owner, record id, record) of every record, in key order."""
    out = []
    for key, raw in reader.iterate(RECORD_PREFIX):
        rest = key[len(RECORD_PREFIX) :]
        out.append((rest[:ADDRESS_LEN], rest[ADDRESS_LEN:], Record.from_value(decode_state(raw))))
    return out


def read_listed(reader: KVReader) -> list[tuple[bytes, bytes]]:
    n = len(RECORDS_BY_OWNER.index_prefix)
    return [
        (key[n : n + ADDRESS_LEN], key[n + ADDRESS_LEN :])
        for key, _ in reader.iterate(RECORDS_BY_OWNER.index_prefix)
    ]
