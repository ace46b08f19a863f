"""Consent state: access grants, their expiry queue, access records, counts and misuse reports.

consent/params                                   -> CBOR ConsentParams
consent/g/<grant 32>                             -> CBOR Grant
consent/exp/<expiry u64 BE><grant 32>            -> 0x01: a grant not yet marked expired
consent/acc/<grant 32><request id 32>            -> CBOR Access
consent/oc/<grant 32><object 32>                 -> u64 BE: counted accesses of the object
consent/mis/<grant 32><request id 32><node 20>   -> 0x01: this answer was reported (slashed once)
consent/boi/<owner 20><grant 32>, consent/boc/<owner 20>       -> the list of an owner's grants
consent/bgi/<grantee 20><grant 32>, consent/bgc/<grantee 20>   -> the list of a grantee's grants
consent/ali/<grant 32><request id 32>, consent/alc/<grant 32>  -> the list of a grant's accesses

Heights, not times, say when a grant ended: `expired_at` is the first block whose time reached
the expiry (set by the begin-block hook), `revoked_at` the block of the Revoke. An answer at a
height below both was served while the grant was live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import ConsentGrantNotFoundError, InvalidGenesisError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListIndex
from voxpop.chain.modules.bounds import MAX_DURATION_SECONDS, MAX_UINT64, param_int
from voxpop.chain.modules.consent.messages import (
    MAX_ACCESSES,
    MAX_NODES,
    MAX_OBJECTS_LISTED,
    MAX_PURPOSE_LEN,
    MAX_RECORDS,
)

PREFIX = b"consent/"
PARAMS_KEY = b"consent/params"
GRANT_PREFIX = b"consent/g/"
EXPIRY_PREFIX = b"consent/exp/"
ACCESS_PREFIX = b"consent/acc/"
OBJECT_COUNT_PREFIX = b"consent/oc/"
MISUSE_PREFIX = b"consent/mis/"
ID_LEN = 32
ADDRESS_LEN = 20
TIME_LEN = 8
BPS = 10_000
MAX_PURPOSES = 64
_PRESENT = b"\x01"

GRANTS_BY_OWNER = ListIndex(
    index_prefix=b"consent/boi/",
    commit_prefix=b"consent/boc/",
    owner_len=ADDRESS_LEN,
    id_len=ID_LEN,
    max_items=1_024,
)
GRANTS_BY_GRANTEE = ListIndex(
    index_prefix=b"consent/bgi/",
    commit_prefix=b"consent/bgc/",
    owner_len=ADDRESS_LEN,
    id_len=ID_LEN,
    max_items=1_024,
)
# Every request any of the grant's nodes recorded, counted or not: a grantee asking for more
# than this fills the list, and its nodes' Records then fail (they stop serving it)
ACCESSES_OF_GRANT = ListIndex(
    index_prefix=b"consent/ali/",
    commit_prefix=b"consent/alc/",
    owner_len=ID_LEN,
    id_len=ID_LEN,
    max_items=MAX_ACCESSES,
)

DEFAULT_PURPOSES = ("asr-training", "wakeword-training", "research", "personalization")


@dataclass(frozen=True, slots=True)
class ConsentParams:
    # The governance-listed vocabulary a grant's purpose comes from
    purposes: tuple[str, ...] = DEFAULT_PURPOSES
    max_objects_listed: int = 64
    max_nodes: int = 16
    max_records_per_tx: int = 32  # ~18 KB of records: within the default 32 KiB tx size
    # The least reencrypt stake a grant's node holds (services' min_stake applies as well)
    min_node_stake: int = 1
    # How many blocks old an answer may be when its Record lands (bounds the count overrun)
    record_window_blocks: int = 20
    # How far ahead of its clock a node may accept a request's time (and its clock of block time)
    request_skew_seconds: int = 300
    # The part of a node's reencrypt stake one misuse report slashes, and the reporter's share
    # of it (the rest goes to the community pool)
    slash_fraction_bps: int = 1_000
    bounty_bps: int = 5_000
    # Gas per record, charged before its two signatures are verified
    gas_per_record: int = 2_000

    @classmethod
    def from_value(cls, value: Any) -> ConsentParams:
        """Params from genesis or governance, each within its bounds. Raises
        InvalidGenesisError."""
        names = set(PARAM_NAMES)
        if not isinstance(value, dict) or set(value) != names:
            raise InvalidGenesisError(f"consent params need exactly {sorted(names)}")
        purposes = value["purposes"]
        # Verify the vocabulary: distinct non-empty names within the declared size
        if (
            not isinstance(purposes, list)
            or not 1 <= len(purposes) <= MAX_PURPOSES
            or not all(
                isinstance(p, str) and 0 < len(p.encode()) <= MAX_PURPOSE_LEN for p in purposes
            )
            or len(set(purposes)) != len(purposes)
        ):
            raise InvalidGenesisError(
                f"consent purposes must be 1 to {MAX_PURPOSES} distinct names of 1 to "
                f"{MAX_PURPOSE_LEN} bytes"
            )

        def bounded(name: str, low: int, high: int) -> int:
            return param_int("consent", name, value[name], low, high)

        return cls(
            tuple(purposes),
            bounded("max_objects_listed", 1, MAX_OBJECTS_LISTED),
            bounded("max_nodes", 1, MAX_NODES),
            bounded("max_records_per_tx", 1, MAX_RECORDS),
            bounded("min_node_stake", 0, MAX_UINT64),
            bounded("record_window_blocks", 1, 100_000),
            bounded("request_skew_seconds", 0, MAX_DURATION_SECONDS),
            bounded("slash_fraction_bps", 0, BPS),
            bounded("bounty_bps", 0, BPS),
            bounded("gas_per_record", 1, 10_000_000),
        )

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PARAM_NAMES} | {
            "purposes": list(self.purposes)
        }


PARAM_NAMES = (
    "purposes",
    "max_objects_listed",
    "max_nodes",
    "max_records_per_tx",
    "min_node_stake",
    "record_window_blocks",
    "request_skew_seconds",
    "slash_fraction_bps",
    "bounty_bps",
    "gas_per_record",
)

GRANT_FIELDS = (
    "owner",
    "grantee",
    "purpose",
    "expiry",
    "max_accesses",
    "objects",
    "objects_root",
    "object_count",
    "nodes",
    "threshold",
    "delegating_pk",
    "verifying_pk",
    "offer_id",
    "created_at",
    "expired_at",
    "revoked_at",
    "revoked_time",
    "accesses",
    "exhausted_at",
)


@dataclass(frozen=True, slots=True)
class Grant:
    owner: bytes
    grantee: bytes
    purpose: str
    expiry: int  # unix seconds
    max_accesses: int
    objects: tuple[tuple[bytes, bytes, bytes], ...]  # (object_id, capsule_hash, content_hash)
    objects_root: bytes  # b"" when listed
    object_count: int
    nodes: tuple[bytes, ...]
    threshold: int
    delegating_pk: bytes
    verifying_pk: bytes
    offer_id: bytes  # b"" or a market offer id
    created_at: int  # height of the Grant
    expired_at: int = 0  # first height whose block time reached `expiry` (0: not yet)
    revoked_at: int = 0  # height of the Revoke (0: not revoked)
    revoked_time: int = 0  # block time of the Revoke
    accesses: int = 0  # counted accesses (requests answered by m of its nodes)
    exhausted_at: int = 0  # height whose block counted the max_accesses-th access (0: not yet)

    @property
    def ended_at(self) -> int:
        """The first height at which the grant was no longer live (0: live)."""
        ends = [h for h in (self.expired_at, self.revoked_at) if h]
        return min(ends) if ends else 0

    def is_live_at(self, height: int) -> bool:
        """True if state at `height` held the grant, not yet ended (a node answers from the
        state it checked, which includes the Grant's block)."""
        ended = self.ended_at
        return self.created_at <= height and (ended == 0 or height < ended)

    def is_exhausted_at(self, height: int) -> bool:
        """True if state at `height` showed no accesses left."""
        return self.exhausted_at != 0 and height >= self.exhausted_at

    def covers_listed(self, object_id: bytes) -> bool:
        return any(o[0] == object_id for o in self.objects)

    def to_value(self) -> dict[str, Any]:
        value = {name: getattr(self, name) for name in GRANT_FIELDS}
        value["objects"] = [list(o) for o in self.objects]
        value["nodes"] = list(self.nodes)
        return value

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Grant:
        fields = {name: value[name] for name in GRANT_FIELDS}
        fields["objects"] = tuple(tuple(o) for o in value["objects"])
        fields["nodes"] = tuple(value["nodes"])
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class Access:
    """One access request as its grant's nodes recorded it (never the content)."""

    object: bytes
    time: int  # the request's time, signed by the grantee
    nodes: tuple[bytes, ...]  # nodes that recorded an answer, in the order they landed
    height: int  # the first recorded answer's height
    counted_at: int = 0  # height of the answer that made m (0: fewer than m so far)

    def to_value(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "time": self.time,
            "nodes": list(self.nodes),
            "height": self.height,
            "counted_at": self.counted_at,
        }

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Access:
        return cls(
            value["object"],
            value["time"],
            tuple(value["nodes"]),
            value["height"],
            value["counted_at"],
        )


# --- keys -------------------------------------------------------------------------------------


def grant_key(grant_id: bytes) -> bytes:
    return GRANT_PREFIX + grant_id


def expiry_key(expiry: int, grant_id: bytes) -> bytes:
    return EXPIRY_PREFIX + expiry.to_bytes(TIME_LEN, "big") + grant_id


def access_key(grant_id: bytes, request_id: bytes) -> bytes:
    return ACCESS_PREFIX + grant_id + request_id


def object_count_key(grant_id: bytes, object_id: bytes) -> bytes:
    return OBJECT_COUNT_PREFIX + grant_id + object_id


def misuse_key(grant_id: bytes, request_id: bytes, node: bytes) -> bytes:
    return MISUSE_PREFIX + grant_id + request_id + node


# --- params -----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> ConsentParams:
    return ConsentParams.from_value(decode_state(raw))


def read_params(reader: KVReader | Context) -> ConsentParams:
    raw = reader.get(PARAMS_KEY)
    return decode_params(raw) if raw else ConsentParams()


def set_params(ctx: Context, params: ConsentParams) -> None:
    ctx.set(PARAMS_KEY, encode(params.to_value()))


# --- grants (exported reads take a Context or a committed-state reader) ------------------------


def decode_grant(raw: bytes) -> Grant:
    """The value of `/consent/grant`."""
    return Grant.from_value(decode_state(raw))


def get_grant(reader: KVReader | Context, grant_id: bytes) -> Grant | None:
    """The grant `grant_id`, or None. Exported for other modules (market)."""
    raw = reader.get(grant_key(grant_id))
    return decode_grant(raw) if raw else None


def require_grant(ctx: Context, grant_id: bytes) -> Grant:
    """The grant `grant_id`. Raises ConsentGrantNotFoundError."""
    grant = get_grant(ctx, grant_id)
    # Verify the grant exists
    if grant is None:
        raise ConsentGrantNotFoundError(f"no access grant {grant_id.hex()}")
    return grant


def set_grant(ctx: Context, grant_id: bytes, grant: Grant) -> None:
    ctx.set(grant_key(grant_id), encode(grant.to_value()))


def create_grant(ctx: Context, grant_id: bytes, grant: Grant) -> None:
    """Store a new grant, list it under its owner and grantee, queue its expiry. Raises
    ListFullError."""
    set_grant(ctx, grant_id, grant)
    GRANTS_BY_OWNER.add(ctx, grant.owner, grant_id)
    GRANTS_BY_GRANTEE.add(ctx, grant.grantee, grant_id)
    ctx.set(expiry_key(grant.expiry, grant_id), _PRESENT)


def revoke(ctx: Context, grant_id: bytes, grant: Grant) -> Grant:
    revoked = replace(grant, revoked_at=ctx.block.height, revoked_time=ctx.block.time_unix)
    set_grant(ctx, grant_id, revoked)
    return revoked


def mark_expired(ctx: Context) -> list[bytes]:
    """Set `expired_at` of every grant whose expiry the block time reached; return their ids."""
    now = ctx.block.time_unix
    start = len(EXPIRY_PREFIX)
    due: list[tuple[bytes, bytes]] = []
    for key, _ in ctx.iterate(EXPIRY_PREFIX):
        if int.from_bytes(key[start : start + TIME_LEN], "big") > now:
            break  # keys ascend by expiry
        due.append((key, key[start + TIME_LEN :]))
    for key, grant_id in due:
        ctx.delete(key)
        grant = require_grant(ctx, grant_id)
        set_grant(ctx, grant_id, replace(grant, expired_at=ctx.block.height))
    return [grant_id for _, grant_id in due]


# --- access records ---------------------------------------------------------------------------


def decode_access(raw: bytes) -> Access:
    """The value of `/consent/access`."""
    return Access.from_value(decode_state(raw))


def get_access(reader: KVReader | Context, grant_id: bytes, request_id: bytes) -> Access | None:
    raw = reader.get(access_key(grant_id, request_id))
    return decode_access(raw) if raw else None


def set_access(
    ctx: Context, grant_id: bytes, request_id: bytes, access: Access, *, listed: bool = True
) -> None:
    """Store an access record, listing it under its grant (`listed=False`: the caller lists it
    with `list_accesses`, once for a batch). Raises ListFullError."""
    ctx.set(access_key(grant_id, request_id), encode(access.to_value()))
    if listed:
        ACCESSES_OF_GRANT.add(ctx, grant_id, request_id)


def list_accesses(ctx: Context, grant_id: bytes, request_ids: Iterable[bytes]) -> None:
    """List access records under their grant, its commitment recomputed once. Raises
    ListFullError."""
    ACCESSES_OF_GRANT.add_many(ctx, grant_id, request_ids)


def access_counted(reader: KVReader | Context, grant_id: bytes, request_id: bytes) -> bool:
    """True once m distinct nodes of the grant recorded answers to this request. Exported."""
    access = get_access(reader, grant_id, request_id)
    return access is not None and access.counted_at != 0


def counted_accesses_of(reader: KVReader | Context, grant_id: bytes, object_id: bytes) -> int:
    """How many counted accesses the grant's grantee made to the object. Exported."""
    raw = reader.get(object_count_key(grant_id, object_id))
    return int.from_bytes(raw, "big") if raw else 0


def count_access(ctx: Context, grant_id: bytes, grant: Grant, object_id: bytes) -> Grant:
    """Count one access to `object_id`: the grant's total and the object's."""
    n = counted_accesses_of(ctx, grant_id, object_id) + 1
    ctx.set(object_count_key(grant_id, object_id), n.to_bytes(8, "big"))
    counted = replace(grant, accesses=grant.accesses + 1)
    if counted.accesses >= grant.max_accesses and not grant.exhausted_at:
        counted = replace(counted, exhausted_at=ctx.block.height)
    set_grant(ctx, grant_id, counted)
    return counted


def is_reported(ctx: Context, grant_id: bytes, request_id: bytes, node: bytes) -> bool:
    return ctx.get(misuse_key(grant_id, request_id, node)) is not None


def set_reported(ctx: Context, grant_id: bytes, request_id: bytes, node: bytes) -> None:
    ctx.set(misuse_key(grant_id, request_id, node), _PRESENT)


# --- unmetered reads for genesis and invariants -----------------------------------------------


def read_grants(reader: KVReader) -> list[tuple[bytes, Grant]]:
    start = len(GRANT_PREFIX)
    return [(key[start:], decode_grant(raw)) for key, raw in reader.iterate(GRANT_PREFIX)]


def read_accesses(reader: KVReader) -> list[tuple[bytes, bytes, Access]]:
    """(grant id, request id, access) of every access record, by grant then request."""
    start = len(ACCESS_PREFIX)
    return [
        (key[start : start + ID_LEN], key[start + ID_LEN :], decode_access(raw))
        for key, raw in reader.iterate(ACCESS_PREFIX)
    ]


def read_object_counts(reader: KVReader) -> list[tuple[bytes, bytes, int]]:
    start = len(OBJECT_COUNT_PREFIX)
    return [
        (key[start : start + ID_LEN], key[start + ID_LEN :], int.from_bytes(raw, "big"))
        for key, raw in reader.iterate(OBJECT_COUNT_PREFIX)
    ]


def read_expiry_queue(reader: KVReader) -> list[tuple[int, bytes]]:
    start = len(EXPIRY_PREFIX)
    return [
        (int.from_bytes(key[start : start + TIME_LEN], "big"), key[start + TIME_LEN :])
        for key, _ in reader.iterate(EXPIRY_PREFIX)
    ]


def read_reports(reader: KVReader) -> list[tuple[bytes, bytes, bytes]]:
    start = len(MISUSE_PREFIX)
    return [
        (
            key[start : start + ID_LEN],
            key[start + ID_LEN : start + 2 * ID_LEN],
            key[start + 2 * ID_LEN :],
        )
        for key, _ in reader.iterate(MISUSE_PREFIX)
    ]
