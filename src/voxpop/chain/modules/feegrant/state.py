"""Feegrant state: fee allowances, one per (granter, grantee).

feegrant/allow/<granter 20><grantee 20>                  -> CBOR Allowance
feegrant/exp/<expiration u64 BE><granter 20><grantee 20> -> b"\\x01" (pruning queue)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, encode
from voxpop.chain.errors import (
    AllowanceExceededError,
    AllowanceExpiredError,
    MessageNotAllowedError,
    NoAllowanceError,
)
from voxpop.chain.kv import KVReader
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.limits import SpendLimits

PREFIX = b"feegrant/"
ALLOWANCE_PREFIX = b"feegrant/allow/"
EXPIRY_PREFIX = b"feegrant/exp/"
ADDRESS_LEN = 20
_QUEUED = b"\x01"


@dataclass(frozen=True, slots=True)
class Allowance:
    limits: SpendLimits = field(default_factory=SpendLimits)
    expiration: int = 0  # block time it ends at; 0 = never
    allowed_msgs: tuple[str, ...] = ()  # empty: any message type

    def to_value(self) -> dict[str, Any]:
        return {
            **self.limits.to_value(),
            "expiration": self.expiration,
            "allowed_msgs": list(self.allowed_msgs),
        }

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Allowance:
        return cls(SpendLimits.from_value(value), value["expiration"], tuple(value["allowed_msgs"]))


def allowance_key(granter: bytes, grantee: bytes) -> bytes:
    return ALLOWANCE_PREFIX + granter + grantee


def expiry_key(expiration: int, granter: bytes, grantee: bytes) -> bytes:
    return EXPIRY_PREFIX + expiration.to_bytes(8, "big") + granter + grantee


def get_allowance(ctx: Context, granter: bytes, grantee: bytes) -> Allowance | None:
    raw = ctx.get(allowance_key(granter, grantee))
    return Allowance.from_value(decode_state(raw)) if raw else None


def save_allowance(ctx: Context, granter: bytes, grantee: bytes, allowance: Allowance) -> None:
    """Write an allowance, replacing any the granter gave the grantee before."""
    old = get_allowance(ctx, granter, grantee)
    if old is not None and old.expiration and old.expiration != allowance.expiration:
        ctx.delete(expiry_key(old.expiration, granter, grantee))
    ctx.set(allowance_key(granter, grantee), encode(allowance.to_value()))
    if allowance.expiration:
        ctx.set(expiry_key(allowance.expiration, granter, grantee), _QUEUED)


def delete_allowance(ctx: Context, granter: bytes, grantee: bytes) -> None:
    """Remove an allowance and its queue entry. Raises NoAllowanceError."""
    allowance = get_allowance(ctx, granter, grantee)
    # Verify there is an allowance to remove
    if allowance is None:
        raise NoAllowanceError("no fee allowance from this granter to this grantee")
    ctx.delete(allowance_key(granter, grantee))
    if allowance.expiration:
        ctx.delete(expiry_key(allowance.expiration, granter, grantee))


def use_allowance(
    ctx: Context, granter: bytes, grantee: bytes, fee: int, msg_types: Sequence[str]
) -> None:
    """Charge `fee` to the allowance `granter` gave `grantee` for a tx of `msg_types` (the
    caller then moves the fee from the granter). An allowance whose total runs out is deleted.

    Raises NoAllowanceError, AllowanceExpiredError, MessageNotAllowedError, AllowanceExceededError.
    """
    allowance = get_allowance(ctx, granter, grantee)
    now = ctx.block.time_unix
    # Verify an allowance exists, is current, and covers every message type of the tx
    if allowance is None:
        raise NoAllowanceError("the fee granter has no fee allowance for this signer")
    if allowance.expiration and now >= allowance.expiration:
        raise AllowanceExpiredError(f"fee allowance expired at {allowance.expiration}")
    if allowance.allowed_msgs and not set(msg_types) <= set(allowance.allowed_msgs):
        raise MessageNotAllowedError("the fee allowance does not cover these message types")
    limits, used_up = allowance.limits.spend(fee, now, AllowanceExceededError)
    if used_up:
        delete_allowance(ctx, granter, grantee)
    else:
        save_allowance(ctx, granter, grantee, replace(allowance, limits=limits))
    ctx.emit(
        "use_fee_allowance", granter=addr_text(granter), grantee=addr_text(grantee), fee=str(fee)
    )


def prune_expired(ctx: Context) -> int:
    """Delete every allowance whose expiration is at or before the block time; return how many."""
    now = ctx.block.time_unix
    due = []
    for key, _ in ctx.iterate(EXPIRY_PREFIX):
        rest = key[len(EXPIRY_PREFIX) :]
        if int.from_bytes(rest[:8], "big") > now:
            break
        due.append((rest[8 : 8 + ADDRESS_LEN], rest[8 + ADDRESS_LEN :]))
    for granter, grantee in due:
        delete_allowance(ctx, granter, grantee)
    return len(due)


# --- unmetered reads for queries, genesis and invariants --------------------------------------


def read_allowances(reader: KVReader) -> list[tuple[bytes, bytes, Allowance]]:
    out = []
    for key, raw in reader.iterate(ALLOWANCE_PREFIX):
        rest = key[len(ALLOWANCE_PREFIX) :]
        out.append(
            (rest[:ADDRESS_LEN], rest[ADDRESS_LEN:], Allowance.from_value(decode_state(raw)))
        )
    return out


def read_expiry_queue(reader: KVReader) -> list[tuple[int, bytes, bytes]]:
    out = []
    for key, _ in reader.iterate(EXPIRY_PREFIX):
        rest = key[len(EXPIRY_PREFIX) :]
        out.append(
            (int.from_bytes(rest[:8], "big"), rest[8 : 8 + ADDRESS_LEN], rest[8 + ADDRESS_LEN :])
        )
    return out


def decode_allowance(raw: bytes) -> Allowance:
    """The value of `/feegrant/allowance`."""
    return Allowance.from_value(decode_state(raw))
