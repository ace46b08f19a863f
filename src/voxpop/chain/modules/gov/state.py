"""Governance state: proposals, deposits, votes, queues, tallies and the upgrade plan.

gov/params                                -> CBOR map of GovParams
gov/seq                                   -> uint128: the last proposal id handed out
gov/p/<id u64>                            -> CBOR map of Proposal
gov/d/<id u64><depositor 20>              -> uint128: what the depositor has deposited
gov/v/<id u64><voter 20>                  -> CBOR [[option, weight], ...], weights sum to WEIGHT_ONE
gov/dq/<deposit end u64><id u64>          -> 0x01: proposals in their deposit period, by deadline
gov/vq/<voting end u64><id u64>           -> 0x01: proposals in their voting period, by deadline
gov/t/<id u64>                            -> CBOR map of TallyResult (per-option totals, commitment)
gov/tl/<id u64><chunk u32>                -> CBOR list of tally entries (the list the tally counted)
gov/upgrade/plan                          -> CBOR {"name", "height", "info", "proposal"}
gov/upgrade/done/<name>                   -> uint128: the height the upgrade's migration ran at

Votes are kept after the tally so that anyone can check the tally against state at its height.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from enum import IntEnum
from functools import lru_cache
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, decode_uint, encode, encode_uint
from voxpop.chain.errors import InvalidGenesisError, UnknownProposalError
from voxpop.chain.kv import KVReader
from voxpop.chain.module_accounts import GOV, module_address
from voxpop.chain.modules.bounds import MAX_DURATION_SECONDS, MAX_UINT64, param_int

PREFIX = b"gov/"
PARAMS_KEY = b"gov/params"
SEQ_KEY = b"gov/seq"
PROPOSAL_PREFIX = b"gov/p/"
DEPOSIT_PREFIX = b"gov/d/"
VOTE_PREFIX = b"gov/v/"
DEPOSIT_QUEUE_PREFIX = b"gov/dq/"
VOTING_QUEUE_PREFIX = b"gov/vq/"
TALLY_PREFIX = b"gov/t/"
TALLY_LIST_PREFIX = b"gov/tl/"
PLAN_KEY = b"gov/upgrade/plan"
DONE_PREFIX = b"gov/upgrade/done/"
ID_LEN = 8
ADDRESS_LEN = 20
PRESENT = b"\x01"

BPS = 10_000
WEIGHT_ONE = 1_000_000  # a vote's option weights are parts of a million and sum to this
GOV_ADDRESS = module_address(GOV)


class VoteOption(IntEnum):
    YES = 1
    ABSTAIN = 2
    NO = 3
    NO_WITH_VETO = 4


OPTION_NAMES = {
    VoteOption.YES: "yes",
    VoteOption.ABSTAIN: "abstain",
    VoteOption.NO: "no",
    VoteOption.NO_WITH_VETO: "no_with_veto",
}


class Status(IntEnum):
    DEPOSIT = 1  # collecting the minimum deposit
    VOTING = 2
    PASSED = 3  # passed, and its actions applied
    REJECTED = 4
    FAILED = 5  # passed, but an action failed: nothing applied (see failed_reason)
    DROPPED = 6  # the deposit period ended short of the minimum deposit


STATUS_NAMES = {
    Status.DEPOSIT: "deposit",
    Status.VOTING: "voting",
    Status.PASSED: "passed",
    Status.REJECTED: "rejected",
    Status.FAILED: "failed",
    Status.DROPPED: "dropped",
}


@dataclass(frozen=True, slots=True)
class GovParams:
    min_deposit: int = 1_000_000_000  # 1,000 VOX
    min_initial_deposit_bps: int = 2_500  # due at submission: spam costs
    max_deposit_period_seconds: int = 2 * 86_400
    voting_period_seconds: int = 2 * 86_400
    quorum_bps: int = 3_340
    threshold_bps: int = 5_000
    veto_threshold_bps: int = 3_340

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> GovParams:
        names = {f.name for f in fields(cls)}
        if not isinstance(value, dict) or set(value) != names:
            raise InvalidGenesisError(f"gov params need exactly {sorted(names)}")
        param_int("gov", "min_deposit", value["min_deposit"], 1, MAX_UINT64)
        for name in ("min_initial_deposit_bps", "quorum_bps", "veto_threshold_bps"):
            param_int("gov", name, value[name], 0, BPS)
        # Verify a threshold that a majority can pass (0 would pass with no yes at all)
        param_int("gov", "threshold_bps", value["threshold_bps"], 1, BPS)
        # Verify periods within the horizon (block time + a period lands in an 8-byte key)
        for name in ("max_deposit_period_seconds", "voting_period_seconds"):
            param_int("gov", name, value[name], 1, MAX_DURATION_SECONDS)
        return cls(**value)


@dataclass(frozen=True, slots=True)
class Proposal:
    id: int
    proposer: bytes
    title: str
    summary: str
    actions: list[dict[str, Any]]  # the actions' wire values: [{"type", "value"}, ...]
    status: Status
    submit_time: int
    deposit_end_time: int
    total_deposit: int
    voting_start_time: int = 0
    voting_end_time: int = 0
    failed_reason: str = ""

    def to_value(self) -> dict[str, Any]:
        value = asdict(self)
        value["status"] = int(self.status)
        return value

    @classmethod
    def from_value(cls, value: dict[str, Any]) -> Proposal:
        return cls(**{**value, "status": Status(value["status"])})


@dataclass(frozen=True, slots=True)
class TallyResult:
    """The per-option totals, what was bonded, and the commitment to the list counted."""

    yes: int
    abstain: int
    no: int
    no_with_veto: int
    bonded: int  # all bonded tokens at the tally
    height: int  # the block whose state the tally read (its end-block)
    count: int  # entries in the tally list
    root: bytes  # RFC 6962 Merkle root of the encoded entries, in order
    chunks: int  # gov/tl/<id><chunk> keys holding the list

    @property
    def total(self) -> int:
        return self.yes + self.abstain + self.no + self.no_with_veto

    def to_value(self) -> dict[str, Any]:
        return asdict(self)


def id_bytes(proposal_id: int) -> bytes:
    return proposal_id.to_bytes(ID_LEN, "big")


def proposal_key(proposal_id: int) -> bytes:
    return PROPOSAL_PREFIX + id_bytes(proposal_id)


def deposit_key(proposal_id: int, depositor: bytes) -> bytes:
    return DEPOSIT_PREFIX + id_bytes(proposal_id) + depositor


def vote_key(proposal_id: int, voter: bytes) -> bytes:
    return VOTE_PREFIX + id_bytes(proposal_id) + voter


def tally_key(proposal_id: int) -> bytes:
    return TALLY_PREFIX + id_bytes(proposal_id)


def tally_chunk_key(proposal_id: int, chunk: int) -> bytes:
    return TALLY_LIST_PREFIX + id_bytes(proposal_id) + chunk.to_bytes(4, "big")


def queue_key(prefix: bytes, time: int, proposal_id: int) -> bytes:
    return prefix + time.to_bytes(8, "big") + id_bytes(proposal_id)


def done_key(name: str) -> bytes:
    return DONE_PREFIX + name.encode()


# --- params -----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def decode_params(raw: bytes) -> GovParams:
    return GovParams.from_value(decode_state(raw))


def get_params(ctx: Context) -> GovParams:
    raw = ctx.get(PARAMS_KEY)
    return decode_params(raw) if raw else GovParams()


def set_params(ctx: Context, params: GovParams) -> None:
    ctx.set(PARAMS_KEY, encode(asdict(params)))


# --- proposals --------------------------------------------------------------------------------


def next_proposal_id(ctx: Context) -> int:
    raw = ctx.get(SEQ_KEY)
    n = (decode_uint(raw) if raw else 0) + 1
    ctx.set(SEQ_KEY, encode_uint(n))
    return n


def decode_proposal(raw: bytes) -> Proposal:
    return Proposal.from_value(decode_state(raw))


def get_proposal(ctx: Context, proposal_id: int) -> Proposal | None:
    raw = ctx.get(proposal_key(proposal_id))
    return decode_proposal(raw) if raw else None


def require_proposal(ctx: Context, proposal_id: int) -> Proposal:
    proposal = get_proposal(ctx, proposal_id)
    # Verify the proposal exists
    if proposal is None:
        raise UnknownProposalError(f"no proposal {proposal_id}")
    return proposal


def set_proposal(ctx: Context, proposal: Proposal) -> None:
    ctx.set(proposal_key(proposal.id), encode(proposal.to_value()))


def set_status(ctx: Context, proposal: Proposal, status: Status, reason: str = "") -> Proposal:
    proposal = replace(proposal, status=status, failed_reason=reason)
    set_proposal(ctx, proposal)
    return proposal


# --- deposits ---------------------------------------------------------------------------------


def get_deposit(ctx: Context, proposal_id: int, depositor: bytes) -> int:
    raw = ctx.get(deposit_key(proposal_id, depositor))
    return decode_uint(raw) if raw else 0


def add_deposit(ctx: Context, proposal_id: int, depositor: bytes, amount: int) -> None:
    held = get_deposit(ctx, proposal_id, depositor)
    ctx.set(deposit_key(proposal_id, depositor), encode_uint(held + amount))


def pop_deposits(ctx: Context, proposal_id: int) -> list[tuple[bytes, int]]:
    """Every (depositor, amount) of the proposal, deleted from state."""
    prefix = DEPOSIT_PREFIX + id_bytes(proposal_id)
    found = [(k, decode_uint(v)) for k, v in ctx.iterate(prefix)]
    for k, _ in found:
        ctx.delete(k)
    return [(k[len(prefix) :], amount) for k, amount in found]


# --- votes ------------------------------------------------------------------------------------


def set_vote(ctx: Context, proposal_id: int, voter: bytes, options: list[list[int]]) -> None:
    ctx.set(vote_key(proposal_id, voter), encode(options))


def iter_votes(reader: KVReader, proposal_id: int) -> Iterator[tuple[bytes, list[list[int]]]]:
    """(voter, [[option, weight], ...]) of the proposal, by voter."""
    prefix = VOTE_PREFIX + id_bytes(proposal_id)
    n = len(prefix)
    for key, raw in reader.iterate(prefix):
        yield key[n:], decode_state(raw)


# --- queues -----------------------------------------------------------------------------------


def enqueue(ctx: Context, prefix: bytes, time: int, proposal_id: int) -> None:
    ctx.set(queue_key(prefix, time, proposal_id), PRESENT)


def dequeue(ctx: Context, prefix: bytes, time: int, proposal_id: int) -> None:
    ctx.delete(queue_key(prefix, time, proposal_id))


def due(ctx: Context, prefix: bytes, now: int) -> list[int]:
    """Ids of the proposals queued under `prefix` whose deadline is at or before `now`."""
    out = []
    for key, _ in ctx.iterate(prefix):
        rest = key[len(prefix) :]
        if int.from_bytes(rest[:8], "big") > now:
            break  # keys ascend by deadline
        out.append(int.from_bytes(rest[8:], "big"))
    return out


# --- tallies ----------------------------------------------------------------------------------


def set_tally(ctx: Context, proposal_id: int, result: TallyResult, chunks: list[bytes]) -> None:
    ctx.set(tally_key(proposal_id), encode(result.to_value()))
    for i, chunk in enumerate(chunks):
        ctx.set(tally_chunk_key(proposal_id, i), chunk)


def read_tally(reader: KVReader, proposal_id: int) -> TallyResult | None:
    raw = reader.get(tally_key(proposal_id))
    return TallyResult(**decode_state(raw)) if raw else None


# --- the upgrade plan -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UpgradePlan:
    name: str
    height: int
    info: str
    proposal: int

    def to_value(self) -> dict[str, Any]:
        return asdict(self)


def read_plan(reader: KVReader) -> UpgradePlan | None:
    raw = reader.get(PLAN_KEY)
    return UpgradePlan(**decode_state(raw)) if raw else None


def set_plan(ctx: Context, plan: UpgradePlan) -> None:
    ctx.set(PLAN_KEY, encode(plan.to_value()))


def clear_plan(ctx: Context) -> None:
    ctx.delete(PLAN_KEY)


def mark_done(ctx: Context, name: str, height: int) -> None:
    ctx.set(done_key(name), encode_uint(height))


def done_height(reader: KVReader, name: str) -> int | None:
    raw = reader.get(done_key(name))
    return decode_uint(raw) if raw else None


# --- unmetered reads for queries, genesis export and invariants -------------------------------


def read_params(reader: KVReader) -> GovParams:
    raw = reader.get(PARAMS_KEY)
    return decode_params(raw) if raw else GovParams()


def read_proposals(reader: KVReader) -> list[Proposal]:
    return [decode_proposal(v) for _, v in reader.iterate(PROPOSAL_PREFIX)]


def read_proposal(reader: KVReader, proposal_id: int) -> Proposal | None:
    raw = reader.get(proposal_key(proposal_id))
    return decode_proposal(raw) if raw else None


def read_deposits(reader: KVReader) -> list[tuple[int, bytes, int]]:
    """(proposal id, depositor, amount) of every deposit held."""
    n = len(DEPOSIT_PREFIX)
    return [
        (int.from_bytes(k[n : n + ID_LEN], "big"), k[n + ID_LEN :], decode_uint(v))
        for k, v in reader.iterate(DEPOSIT_PREFIX)
    ]


def read_tally_chunks(reader: KVReader, proposal_id: int) -> list[bytes]:
    prefix = TALLY_LIST_PREFIX + id_bytes(proposal_id)
    return [v for _, v in reader.iterate(prefix)]
