"""Developer rewards state (M15): vesting spends and retro funding rounds.

gov/vseq                                  -> uint128: the last vesting id handed out
gov/vest/<id u64>                         -> CBOR map of Vesting (kept after it ends: auditable)
gov/vact/<id u64>                         -> 0x01: vestings still paying out
gov/rseq                                  -> uint128: the last funding round id handed out
gov/round/<id u64>                        -> CBOR map of Round (kept after it ends: auditable)
gov/rq/<review end u64><id u64>           -> 0x01: open rounds, by the end of their review
gov/ra/<round u64><applicant 20>          -> CBOR map of Application (its result once paid)
gov/rv/<round u64><reviewer 20>           -> CBOR [[applicant, uvox], ...] by applicant

What is not yet paid of an active vesting, and the budget of an open round, is held by the `gov`
module account alongside open proposals' deposits (the `gov/escrow-held` invariant).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, decode_uint, encode, encode_uint
from voxpop.chain.errors import UnknownRoundError, UnknownVestingError
from voxpop.chain.kv import KVReader
from voxpop.chain.modules.gov.state import PRESENT, id_bytes

VESTING_SEQ_KEY = b"gov/vseq"
VESTING_PREFIX = b"gov/vest/"
ACTIVE_VESTING_PREFIX = b"gov/vact/"
ROUND_SEQ_KEY = b"gov/rseq"
ROUND_PREFIX = b"gov/round/"
ROUND_QUEUE_PREFIX = b"gov/rq/"
APPLICATION_PREFIX = b"gov/ra/"
ALLOCATION_PREFIX = b"gov/rv/"


class VestingStatus(IntEnum):
    ACTIVE = 1
    COMPLETED = 2  # paid in full
    CANCELLED = 3  # a later proposal stopped it; the unpaid rest went back to the pool


class RoundStatus(IntEnum):
    OPEN = 1  # applications, then reviews
    PAID = 2  # the review period ended and the payouts were made


VESTING_STATUS_NAMES = {
    VestingStatus.ACTIVE: "active",
    VestingStatus.COMPLETED: "completed",
    VestingStatus.CANCELLED: "cancelled",
}
ROUND_STATUS_NAMES = {RoundStatus.OPEN: "open", RoundStatus.PAID: "paid"}


@dataclass(frozen=True, slots=True)
class Vesting:
    """`total` paid to `recipient` over [start_time, end_time]: by block time t, the share
    total * (t - start) / (end - start), rounded down; the rest exactly at the end."""

    id: int
    proposal: int
    recipient: bytes
    total: int
    paid: int
    start_time: int
    end_time: int
    status: VestingStatus
    returned: int = 0  # given back to the pool when cancelled

    @property
    def unpaid(self) -> int:
        return self.total - self.paid if self.status == VestingStatus.ACTIVE else 0

    def to_value(self) -> dict[str, Any]:
        return {**asdict(self), "status": int(self.status)}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Vesting:
        return cls(**{**value, "status": VestingStatus(value["status"])})


@dataclass(frozen=True, slots=True)
class Round:
    """A retro funding round: `budget` reserved from the pool when the proposal passed,
    applications until `application_end`, the reviewers' allocations until `review_end`."""

    id: int
    proposal: int
    budget: int
    reviewers: list[bytes]
    applicants: list[bytes]  # in the order they applied
    start_time: int
    application_end: int
    review_end: int
    status: RoundStatus
    reviews: int = 0  # reviewers who had submitted allocations when the round was paid
    paid: int = 0  # paid to applicants
    returned: int = 0  # the rest, given back to the pool

    @property
    def held(self) -> int:
        return self.budget if self.status == RoundStatus.OPEN else 0

    def to_value(self) -> dict[str, Any]:
        return {**asdict(self), "status": int(self.status)}

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Round:
        return cls(**{**value, "status": RoundStatus(value["status"])})


@dataclass(frozen=True, slots=True)
class Application:
    link: str
    description: str
    median: int | None = None  # set when the round is paid
    payout: int | None = None

    def to_value(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Application:
        return cls(**value)


def vesting_key(vesting_id: int) -> bytes:
    return VESTING_PREFIX + id_bytes(vesting_id)


def round_key(round_id: int) -> bytes:
    return ROUND_PREFIX + id_bytes(round_id)


def round_queue_key(review_end: int, round_id: int) -> bytes:
    return ROUND_QUEUE_PREFIX + review_end.to_bytes(8, "big") + id_bytes(round_id)


def application_key(round_id: int, applicant: bytes) -> bytes:
    return APPLICATION_PREFIX + id_bytes(round_id) + applicant


def allocation_key(round_id: int, reviewer: bytes) -> bytes:
    return ALLOCATION_PREFIX + id_bytes(round_id) + reviewer


def _next_id(ctx: Context, key: bytes) -> int:
    raw = ctx.get(key)
    n = (decode_uint(raw) if raw else 0) + 1
    ctx.set(key, encode_uint(n))
    return n


# --- vestings ---------------------------------------------------------------------------------


def next_vesting_id(ctx: Context) -> int:
    return _next_id(ctx, VESTING_SEQ_KEY)


def get_vesting(ctx: Context, vesting_id: int) -> Vesting | None:
    raw = ctx.get(vesting_key(vesting_id))
    return Vesting.from_value(decode_state(raw)) if raw else None


def require_active_vesting(ctx: Context, vesting_id: int) -> Vesting:
    vesting = get_vesting(ctx, vesting_id)
    # Verify the vesting exists and is still paying out
    if vesting is None or vesting.status != VestingStatus.ACTIVE:
        raise UnknownVestingError(f"no active vesting {vesting_id}")
    return vesting


def set_vesting(ctx: Context, vesting: Vesting) -> None:
    ctx.set(vesting_key(vesting.id), encode(vesting.to_value()))
    if vesting.status == VestingStatus.ACTIVE:
        ctx.set(ACTIVE_VESTING_PREFIX + id_bytes(vesting.id), PRESENT)
    else:
        ctx.delete(ACTIVE_VESTING_PREFIX + id_bytes(vesting.id))


def active_vesting_ids(ctx: Context) -> list[int]:
    n = len(ACTIVE_VESTING_PREFIX)
    return [int.from_bytes(k[n:], "big") for k, _ in ctx.iterate(ACTIVE_VESTING_PREFIX)]


# --- rounds -----------------------------------------------------------------------------------


def next_round_id(ctx: Context) -> int:
    return _next_id(ctx, ROUND_SEQ_KEY)


def get_round(ctx: Context, round_id: int) -> Round | None:
    raw = ctx.get(round_key(round_id))
    return Round.from_value(decode_state(raw)) if raw else None


def require_round(ctx: Context, round_id: int) -> Round:
    found = get_round(ctx, round_id)
    # Verify the round exists
    if found is None:
        raise UnknownRoundError(f"no funding round {round_id}")
    return found


def set_round(ctx: Context, round_: Round) -> None:
    ctx.set(round_key(round_.id), encode(round_.to_value()))
    queued = round_queue_key(round_.review_end, round_.id)
    if round_.status == RoundStatus.OPEN:
        ctx.set(queued, PRESENT)
    else:
        ctx.delete(queued)


def due_rounds(ctx: Context, now: int) -> list[int]:
    """Ids of open rounds whose review period has ended by `now`, by deadline."""
    out = []
    for key, _ in ctx.iterate(ROUND_QUEUE_PREFIX):
        rest = key[len(ROUND_QUEUE_PREFIX) :]
        if int.from_bytes(rest[:8], "big") > now:
            break  # keys ascend by deadline
        out.append(int.from_bytes(rest[8:], "big"))
    return out


def get_application(ctx: Context, round_id: int, applicant: bytes) -> Application | None:
    raw = ctx.get(application_key(round_id, applicant))
    return Application.from_value(decode_state(raw)) if raw else None


def set_application(ctx: Context, round_id: int, applicant: bytes, app: Application) -> None:
    ctx.set(application_key(round_id, applicant), encode(app.to_value()))


def get_allocation(ctx: Context, round_id: int, reviewer: bytes) -> list[list[Any]] | None:
    raw = ctx.get(allocation_key(round_id, reviewer))
    return decode_state(raw) if raw else None


def set_allocation(
    ctx: Context, round_id: int, reviewer: bytes, allocation: list[list[Any]]
) -> None:
    ctx.set(allocation_key(round_id, reviewer), encode(allocation))


# --- unmetered reads for queries and invariants -----------------------------------------------


def read_vestings(reader: KVReader) -> Iterator[Vesting]:
    for _, raw in reader.iterate(VESTING_PREFIX):
        yield Vesting.from_value(decode_state(raw))


def read_rounds(reader: KVReader) -> Iterator[Round]:
    for _, raw in reader.iterate(ROUND_PREFIX):
        yield Round.from_value(decode_state(raw))


def read_active_vesting_ids(reader: KVReader) -> set[int]:
    n = len(ACTIVE_VESTING_PREFIX)
    return {int.from_bytes(k[n:], "big") for k, _ in reader.iterate(ACTIVE_VESTING_PREFIX)}


def read_round_queue(reader: KVReader) -> set[bytes]:
    return {k for k, _ in reader.iterate(ROUND_QUEUE_PREFIX)}


def escrow_held(reader: KVReader) -> int:
    """What the gov account holds for rewards: open rounds' budgets and vestings' unpaid rest."""
    return sum(r.held for r in read_rounds(reader)) + sum(v.unpaid for v in read_vestings(reader))
