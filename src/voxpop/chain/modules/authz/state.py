"""Authz state: who may send which messages for whom, within which limits.

authz/grant/<granter 20><grantee 20><msg_type>                  -> CBOR Grant
authz/gl/<granter 20><grantee 20><msg_type>                     -> 0x01: grants listed by granter
authz/glc/<granter 20>                                          -> CBOR [count, root] of that list
authz/exp/<expiration u64 BE><granter 20><grantee 20><msg_type> -> 0x01 (pruning queue)

The list by granter (chain/listing.py) lets "what has this account granted" be answered with a
proof that nothing was left out; it is bounded by MAX_GRANTS_PER_GRANTER.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import (
    AuthorizationExceededError,
    AuthorizationExpiredError,
    NoAuthorizationError,
    TooManyGrantsError,
)
from voxpop.chain.fields import MSG_TYPE
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListIndex
from voxpop.chain.modules.limits import SpendLimits

PREFIX = b"authz/"
GRANT_PREFIX = b"authz/grant/"
EXPIRY_PREFIX = b"authz/exp/"
ADDRESS_LEN = 20
MAX_GRANTS_PER_GRANTER = 32
_QUEUED = b"\x01"
# Item id: grantee 20 ‖ msg_type (the type's length varies; id_len is its most)
GRANTS_BY_GRANTER = ListIndex(
    index_prefix=b"authz/gl/",
    commit_prefix=b"authz/glc/",
    owner_len=ADDRESS_LEN,
    id_len=ADDRESS_LEN + MSG_TYPE.max_bytes,
    max_items=MAX_GRANTS_PER_GRANTER,
)


@dataclass(frozen=True, slots=True)
class Grant:
    limits: SpendLimits = field(default_factory=SpendLimits)
    expiration: int = 0  # block time it ends at; 0 = never
    uses_left: int = 0  # messages it may still authorize; 0 = no limit

    def to_value(self) -> dict[str, Any]:
        return {
            **self.limits.to_value(),
            "expiration": self.expiration,
            "uses_left": self.uses_left,
        }

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Grant:
        return cls(SpendLimits.from_value(value), value["expiration"], value["uses_left"])


def grant_key(granter: bytes, grantee: bytes, msg_type: str) -> bytes:
    return GRANT_PREFIX + granter + grantee + msg_type.encode()


def expiry_key(expiration: int, granter: bytes, grantee: bytes, msg_type: str) -> bytes:
    return EXPIRY_PREFIX + expiration.to_bytes(8, "big") + granter + grantee + msg_type.encode()


def split_grant_key(key: bytes) -> tuple[bytes, bytes, str]:
    """(granter, grantee, msg_type) of a grant key (or of an expiry key without its prefix and
    time)."""
    rest = key[len(GRANT_PREFIX) :] if key.startswith(GRANT_PREFIX) else key
    return rest[:ADDRESS_LEN], rest[ADDRESS_LEN : 2 * ADDRESS_LEN], rest[2 * ADDRESS_LEN :].decode()


def listed_grant_key(granter: bytes, item: bytes) -> bytes:
    """The grant a list item (grantee ‖ msg_type) of `granter` stands for."""
    return GRANT_PREFIX + granter + item


# --- reads and writes -------------------------------------------------------------------------


def get_grant(ctx: Context, granter: bytes, grantee: bytes, msg_type: str) -> Grant | None:
    raw = ctx.get(grant_key(granter, grantee, msg_type))
    return Grant.from_value(decode_state(raw)) if raw else None


def save_grant(ctx: Context, granter: bytes, grantee: bytes, msg_type: str, grant: Grant) -> None:
    """Write a grant, replacing any with the same (granter, grantee, msg_type).

    Raises TooManyGrantsError if it is new and the granter holds the most allowed."""
    old = get_grant(ctx, granter, grantee, msg_type)
    if old is None:
        # Verify the granter's list has room
        if len(GRANTS_BY_GRANTER.ids(ctx, granter)) >= MAX_GRANTS_PER_GRANTER:
            raise TooManyGrantsError(
                f"an account may hold at most {MAX_GRANTS_PER_GRANTER} authorizations"
            )
        GRANTS_BY_GRANTER.add(ctx, granter, grantee + msg_type.encode())
    elif old.expiration and old.expiration != grant.expiration:
        ctx.delete(expiry_key(old.expiration, granter, grantee, msg_type))
    ctx.set(grant_key(granter, grantee, msg_type), encode(grant.to_value()))
    if grant.expiration:
        ctx.set(expiry_key(grant.expiration, granter, grantee, msg_type), _QUEUED)


def delete_grant(ctx: Context, granter: bytes, grantee: bytes, msg_type: str) -> None:
    """Remove a grant, its index entry and its queue entry. Raises NoAuthorizationError."""
    grant = get_grant(ctx, granter, grantee, msg_type)
    # Verify there is a grant to remove
    if grant is None:
        raise NoAuthorizationError(f"no authorization for {msg_type}")
    ctx.delete(grant_key(granter, grantee, msg_type))
    if grant.expiration:
        ctx.delete(expiry_key(grant.expiration, granter, grantee, msg_type))
    GRANTS_BY_GRANTER.remove(ctx, granter, grantee + msg_type.encode())


def use_grant(
    ctx: Context,
    granter: bytes,
    grantee: bytes,
    msg_type: str,
    spent: Callable[[], int] | None = None,
) -> None:
    """Spend one use of the grant, and, for a type that spends, the uvox `spent()` reads off the
    message from the grant's limits (a type without limits spends none of them).

    A grant whose uses or total run out is deleted. Raises NoAuthorizationError,
    AuthorizationExpiredError, AuthorizationExceededError, or what `spent` raises.
    """
    grant = get_grant(ctx, granter, grantee, msg_type)
    now = ctx.block.time_unix
    # Verify a grant exists and is current
    if grant is None:
        raise NoAuthorizationError(f"no authorization for {msg_type} from this granter")
    if grant.expiration and now >= grant.expiration:
        raise AuthorizationExpiredError(f"authorization expired at {grant.expiration}")
    limits, used_up = grant.limits, False
    if spent is not None and (limits.spend_limit or limits.period_limit):
        limits, used_up = limits.spend(spent(), now, AuthorizationExceededError)
    if grant.uses_left == 1 or used_up:
        delete_grant(ctx, granter, grantee, msg_type)
        return
    uses_left = grant.uses_left - 1 if grant.uses_left else 0
    save_grant(ctx, granter, grantee, msg_type, replace(grant, limits=limits, uses_left=uses_left))


def prune_expired(ctx: Context) -> int:
    """Delete every grant whose expiration is at or before the block time; return how many."""
    now = ctx.block.time_unix
    due = []
    for key, _ in ctx.iterate(EXPIRY_PREFIX):
        expiration = int.from_bytes(key[len(EXPIRY_PREFIX) : len(EXPIRY_PREFIX) + 8], "big")
        if expiration > now:
            break
        due.append(split_grant_key(key[len(EXPIRY_PREFIX) + 8 :]))
    for granter, grantee, msg_type in due:
        delete_grant(ctx, granter, grantee, msg_type)
    return len(due)


# --- unmetered reads for queries, genesis and invariants --------------------------------------


def read_grants(reader: KVReader) -> list[tuple[bytes, bytes, str, Grant]]:
    return [
        (*split_grant_key(k), Grant.from_value(decode_state(v)))
        for k, v in reader.iterate(GRANT_PREFIX)
    ]


def read_listed(reader: KVReader) -> list[tuple[bytes, bytes, str]]:
    """(granter, grantee, msg_type) of every item of the lists by granter."""
    n = len(GRANTS_BY_GRANTER.index_prefix)
    return [split_grant_key(k[n:]) for k, _ in reader.iterate(GRANTS_BY_GRANTER.index_prefix)]


def read_expiry_queue(reader: KVReader) -> list[tuple[int, bytes, bytes, str]]:
    out = []
    for key, _ in reader.iterate(EXPIRY_PREFIX):
        rest = key[len(EXPIRY_PREFIX) :]
        out.append((int.from_bytes(rest[:8], "big"), *split_grant_key(rest[8:])))
    return out


def decode_grant(raw: bytes) -> Grant:
    """The value of `/authz/grant`."""
    return Grant.from_value(decode_state(raw))
