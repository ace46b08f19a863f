"""Devices state: pending pairing requests, devices (tombstones of removed ones included), the
requests' expiry queue, and two lists per owner.

devices/params                                   -> CBOR DeviceParams
devices/pair/<pairing id 32>                     -> CBOR Pairing (a pending request)
devices/exp/<expires_at u64 BE><pairing id 32>   -> 0x01: the requests' expiry queue
devices/dev/<device id 32>                       -> CBOR Device (active, or a removed tombstone)
devices/bo/<owner 20><id 32>, devices/boc/<owner 20>  -> the list of an owner's active devices
devices/po/<owner 20><id 32>, devices/poc/<owner 20>  -> the list of an owner's pending requests

A device's id is the id of the request it was claimed from. An id is in at most one of
`devices/pair/` and `devices/dev/`, and a device record is never deleted, so no id is used twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListIndex, ListRoute, decode_commitment
from voxpop.chain.modules.bounds import param_int
from voxpop.chain.modules.devices.messages import MAX_BLOB_BYTES
from voxpop.crypto.pairing import PAIRING_ID_SIZE

PREFIX = b"devices/"
PARAMS_KEY = b"devices/params"
PAIRING_PREFIX = b"devices/pair/"
EXPIRY_PREFIX = b"devices/exp/"
DEVICE_PREFIX = b"devices/dev/"
ADDRESS_LEN = 20
TIME_LEN = 8
_QUEUED = b"\x01"

ACTIVE = "active"
REMOVED = "removed"
PENDING = "pending"  # how the API shows a pairing request; never stored as a device's status

# The params' upper bounds: the lists are sized for them (each change re-commits the whole list)
MAX_DEVICES_PER_OWNER = 1_024
MAX_PAIRINGS_PER_OWNER = 64
MIN_PAIRING_TTL = 60
MAX_PAIRING_TTL = 86_400
MIN_BLOB_BYTES = 64  # room for the blob format's own overhead (41 bytes) and a name
# Requests pruned in one end-block at most; any more wait for the next block (and are refused
# as expired meanwhile), so a burst of expiries cannot make one block slow
MAX_PRUNED_PER_BLOCK = 1_000

DEVICES_BY_OWNER = ListIndex(
    index_prefix=b"devices/bo/",
    commit_prefix=b"devices/boc/",
    owner_len=ADDRESS_LEN,
    id_len=PAIRING_ID_SIZE,
    max_items=MAX_DEVICES_PER_OWNER,
)
PAIRINGS_BY_OWNER = ListIndex(
    index_prefix=b"devices/po/",
    commit_prefix=b"devices/poc/",
    owner_len=ADDRESS_LEN,
    id_len=PAIRING_ID_SIZE,
    max_items=MAX_PAIRINGS_PER_OWNER,
)

PARAM_NAMES = frozenset(
    {"pairing_ttl_seconds", "max_devices_per_owner", "max_blob_bytes", "max_pairings_per_owner"}
)


@dataclass(frozen=True, slots=True)
class DeviceParams:
    # How long a pairing request (and so the code the device speaks) can be claimed
    pairing_ttl_seconds: int = 600
    max_devices_per_owner: int = 256
    max_blob_bytes: int = 2_048
    max_pairings_per_owner: int = 16

    @classmethod
    def from_value(cls, value: Any) -> DeviceParams:
        """Params from genesis or state, each within its bounds. Raises InvalidGenesisError."""
        if not isinstance(value, dict) or set(value) != PARAM_NAMES:
            raise InvalidGenesisError(f"devices params need exactly {sorted(PARAM_NAMES)}")
        return cls(
            param_int(
                "devices",
                "pairing_ttl_seconds",
                value["pairing_ttl_seconds"],
                MIN_PAIRING_TTL,
                MAX_PAIRING_TTL,
            ),
            param_int(
                "devices",
                "max_devices_per_owner",
                value["max_devices_per_owner"],
                1,
                MAX_DEVICES_PER_OWNER,
            ),
            param_int(
                "devices", "max_blob_bytes", value["max_blob_bytes"], MIN_BLOB_BYTES, MAX_BLOB_BYTES
            ),
            param_int(
                "devices",
                "max_pairings_per_owner",
                value["max_pairings_per_owner"],
                1,
                MAX_PAIRINGS_PER_OWNER,
            ),
        )

    def to_value(self) -> dict[str, Any]:
        return {
            "pairing_ttl_seconds": self.pairing_ttl_seconds,
            "max_devices_per_owner": self.max_devices_per_owner,
            "max_blob_bytes": self.max_blob_bytes,
            "max_pairings_per_owner": self.max_pairings_per_owner,
        }


PAIRING_FIELDS = ("owner", "agent", "salt", "blob", "requested_at", "expires_at")
DEVICE_FIELDS = ("owner", "agent", "status", "blob", "paired_at", "updated_at")


@dataclass(frozen=True, slots=True)
class Pairing:
    """A pending pairing request: who may claim it, the agent serving the device, the salt the
    owner's code is hashed with, and the device's encrypted blob."""

    owner: bytes
    agent: bytes
    salt: bytes
    blob: bytes
    requested_at: int  # block time
    expires_at: int  # block time from which it can no longer be claimed

    def is_expired(self, now: int) -> bool:
        return now >= self.expires_at

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PAIRING_FIELDS}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Pairing:
        return cls(*(value[name] for name in PAIRING_FIELDS))


@dataclass(frozen=True, slots=True)
class Device:
    """A paired device. A removed one is a tombstone: status removed, no blob."""

    owner: bytes
    agent: bytes
    status: str  # ACTIVE or REMOVED
    blob: bytes  # ciphertext; empty once removed
    paired_at: int  # block time of the claim
    updated_at: int  # block time of the last change (claim, update, removal)

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in DEVICE_FIELDS}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Device:
        return cls(*(value[name] for name in DEVICE_FIELDS))


# --- keys -------------------------------------------------------------------------------------


def pairing_key(pairing_id: bytes) -> bytes:
    return PAIRING_PREFIX + pairing_id


def device_key(device_id: bytes) -> bytes:
    return DEVICE_PREFIX + device_id


def expiry_key(expires_at: int, pairing_id: bytes) -> bytes:
    return EXPIRY_PREFIX + expires_at.to_bytes(TIME_LEN, "big") + pairing_id


DEVICE_LIST = ListRoute(DEVICES_BY_OWNER, lambda _owner, device_id: device_key(device_id))
PAIRING_LIST = ListRoute(PAIRINGS_BY_OWNER, lambda _owner, pairing_id: pairing_key(pairing_id))


# --- params -----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> DeviceParams:
    return DeviceParams.from_value(decode_state(raw))


def get_params(state: KVReader | Context) -> DeviceParams:
    raw = state.get(PARAMS_KEY)
    return decode_params(raw) if raw else DeviceParams()


def set_params(ctx: Context, params: DeviceParams) -> None:
    ctx.set(PARAMS_KEY, encode(params.to_value()))


# --- reads (metered through a Context, unmetered through a KVReader) --------------------------


def decode_pairing(raw: bytes) -> Pairing:
    """The value of `/devices/pairing`."""
    return Pairing.from_value(decode_state(raw))


def decode_device(raw: bytes) -> Device:
    """The value of `/devices/device`."""
    return Device.from_value(decode_state(raw))


def get_pairing(state: KVReader | Context, pairing_id: bytes) -> Pairing | None:
    raw = state.get(pairing_key(pairing_id))
    return decode_pairing(raw) if raw else None


def get_device(state: KVReader | Context, device_id: bytes) -> Device | None:
    """The device `device_id` (a removed one too: check `is_active`), or None. For other modules
    and the agent: the one way to learn a device's owner, agent and status."""
    raw = state.get(device_key(device_id))
    return decode_device(raw) if raw else None


def is_id_used(state: KVReader | Context, pairing_id: bytes) -> bool:
    """Whether a pending request or a device (removed ones included) holds this id."""
    return state.get(pairing_key(pairing_id)) is not None or (
        state.get(device_key(pairing_id)) is not None
    )


def count_listed(state: KVReader | Context, index: ListIndex, owner: bytes) -> int:
    """How many items the owner's list holds: its commitment's count (one read)."""
    count, _ = decode_commitment(state.get(index.commitment_key(owner)))
    return count


# --- writes -----------------------------------------------------------------------------------


def add_pairing(ctx: Context, pairing_id: bytes, pairing: Pairing) -> None:
    """Store a pending request, queue its expiry and list it under its owner. Raises
    ListFullError."""
    ctx.set(pairing_key(pairing_id), encode(pairing.to_value()))
    ctx.set(expiry_key(pairing.expires_at, pairing_id), _QUEUED)
    PAIRINGS_BY_OWNER.add(ctx, pairing.owner, pairing_id)


def delete_pairing(ctx: Context, pairing_id: bytes, pairing: Pairing) -> None:
    """Remove a request with its queue and list entries (claimed, or expired)."""
    ctx.delete(pairing_key(pairing_id))
    ctx.delete(expiry_key(pairing.expires_at, pairing_id))
    PAIRINGS_BY_OWNER.remove(ctx, pairing.owner, pairing_id)


def set_device(ctx: Context, device_id: bytes, device: Device) -> None:
    ctx.set(device_key(device_id), encode(device.to_value()))


def create_device(ctx: Context, device_id: bytes, device: Device) -> None:
    """Store a new active device and list it under its owner. Raises ListFullError."""
    set_device(ctx, device_id, device)
    DEVICES_BY_OWNER.add(ctx, device.owner, device_id)


def remove_device(ctx: Context, device_id: bytes, device: Device, now: int) -> None:
    """Turn an active device into its tombstone (no blob) and unlist it: the id stays taken."""
    set_device(ctx, device_id, replace(device, status=REMOVED, blob=b"", updated_at=now))
    DEVICES_BY_OWNER.remove(ctx, device.owner, device_id)


def prune_expired(ctx: Context, limit: int = MAX_PRUNED_PER_BLOCK) -> list[tuple[bytes, Pairing]]:
    """Delete up to `limit` requests whose expiry is at or before the block time, oldest first;
    return them."""
    now = ctx.block.time_unix
    due: list[tuple[bytes, bytes]] = []
    for key, _ in ctx.iterate(EXPIRY_PREFIX):
        rest = key[len(EXPIRY_PREFIX) :]
        if int.from_bytes(rest[:TIME_LEN], "big") > now or len(due) >= limit:
            break
        due.append((key, rest[TIME_LEN:]))
    pruned = []
    for key, pairing_id in due:
        pairing = get_pairing(ctx, pairing_id)
        if pairing is None:  # never (an invariant): the queue names only pending requests
            ctx.delete(key)
            continue
        delete_pairing(ctx, pairing_id, pairing)
        pruned.append((pairing_id, pairing))
    return pruned


# --- unmetered reads for genesis and invariants -----------------------------------------------


def read_params(reader: KVReader) -> DeviceParams:
    return get_params(reader)


def read_pairings(reader: KVReader) -> list[tuple[bytes, Pairing]]:
    """(id, request) of every pending request, by id."""
    start = len(PAIRING_PREFIX)
    return [(key[start:], decode_pairing(raw)) for key, raw in reader.iterate(PAIRING_PREFIX)]


def read_devices(reader: KVReader) -> list[tuple[bytes, Device]]:
    """(id, device) of every device, removed ones included, by id."""
    start = len(DEVICE_PREFIX)
    return [(key[start:], decode_device(raw)) for key, raw in reader.iterate(DEVICE_PREFIX)]


def read_expiry_queue(reader: KVReader) -> list[tuple[int, bytes]]:
    start = len(EXPIRY_PREFIX)
    return [
        (int.from_bytes(key[start : start + TIME_LEN], "big"), key[start + TIME_LEN :])
        for key, _ in reader.iterate(EXPIRY_PREFIX)
    ]


def read_listed(reader: KVReader, index: ListIndex) -> list[tuple[bytes, bytes]]:
    """(owner, id) of every item of one kind of list, in key order."""
    start = len(index.index_prefix)
    return [
        (key[start : start + ADDRESS_LEN], key[start + ADDRESS_LEN :])
        for key, _ in reader.iterate(index.index_prefix)
    ]
