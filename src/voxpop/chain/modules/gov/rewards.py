"""Developer rewards transitions (M15): vesting spends paid per block, and retro funding rounds
(apply, allocate, and at the end of the review period, pay each applicant the median).

Both are started by proposal actions (`gov/VestedSpend`, `gov/FundingRound` in actions.py),
which move the amount from the community pool into the gov account at once: a passed proposal
is a promise the pool can no longer break. What a vesting has not paid when cancelled, and what
a round does not pay out, goes back to the pool. All amounts are integers, rounded down.
"""

from __future__ import annotations

from dataclasses import replace

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    AlreadyAppliedError,
    InvalidAllocationError,
    NotApplicationPeriodError,
    NotReviewerError,
    NotReviewPeriodError,
    ReviewerCannotApplyError,
    RoundFullError,
)
from voxpop.chain.module_accounts import COMMUNITY_POOL, module_address
from voxpop.chain.modules.bank.state import move
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.gov import rewards_state as rs
from voxpop.chain.modules.gov.rewards_messages import MAX_APPLICANTS, MsgAllocate, MsgApply
from voxpop.chain.modules.gov.state import GOV_ADDRESS

COMMUNITY_POOL_ADDRESS = module_address(COMMUNITY_POOL)


# --- vestings ---------------------------------------------------------------------------------


def compute_vested(total: int, start: int, end: int, now: int) -> int:
    """What of `total` is due by block time `now`: total * elapsed / duration, rounded down,
    and all of it from `end` on."""
    if now >= end:
        return total
    if now <= start:
        return 0
    return total * (now - start) // (end - start)


def start_vesting(
    ctx: Context, proposal_id: int, recipient: bytes, amount: int, duration: int
) -> rs.Vesting:
    """Reserve `amount` from the pool in the gov account, to pay out over `duration` seconds
    from now. Raises InsufficientFundsError (the pool)."""
    now = ctx.block.time_unix
    move(ctx, COMMUNITY_POOL_ADDRESS, GOV_ADDRESS, amount)
    vesting = rs.Vesting(
        id=rs.next_vesting_id(ctx),
        proposal=proposal_id,
        recipient=recipient,
        total=amount,
        paid=0,
        start_time=now,
        end_time=now + duration,
        status=rs.VestingStatus.ACTIVE,
    )
    rs.set_vesting(ctx, vesting)
    ctx.emit(
        "vesting_started",
        vesting_id=str(vesting.id),
        recipient=addr_text(recipient),
        amount=str(amount),
        end_time=str(vesting.end_time),
    )
    return vesting


def cancel_vesting(ctx: Context, vesting_id: int) -> None:
    """Stop an active vesting; what it has not paid goes back to the pool.
    Raises UnknownVestingError."""
    vesting = rs.require_active_vesting(ctx, vesting_id)
    rest = vesting.total - vesting.paid
    if rest:
        move(ctx, GOV_ADDRESS, COMMUNITY_POOL_ADDRESS, rest)
    rs.set_vesting(ctx, replace(vesting, status=rs.VestingStatus.CANCELLED, returned=rest))
    ctx.emit("vesting_cancelled", vesting_id=str(vesting_id), returned=str(rest))


def process_vestings(ctx: Context) -> None:
    """Pay each active vesting what has become due since the last block."""
    now = ctx.block.time_unix
    for vesting_id in rs.active_vesting_ids(ctx):
        vesting = rs.require_active_vesting(ctx, vesting_id)
        due = compute_vested(vesting.total, vesting.start_time, vesting.end_time, now)
        pay = due - vesting.paid
        if pay <= 0:
            continue
        move(ctx, GOV_ADDRESS, vesting.recipient, pay)
        done = due == vesting.total
        status = rs.VestingStatus.COMPLETED if done else rs.VestingStatus.ACTIVE
        rs.set_vesting(ctx, replace(vesting, paid=due, status=status))
        ctx.emit(
            "vesting_paid",
            vesting_id=str(vesting_id),
            recipient=addr_text(vesting.recipient),
            amount=str(pay),
            paid=str(due),
        )


# --- funding rounds ---------------------------------------------------------------------------


def start_round(
    ctx: Context,
    proposal_id: int,
    budget: int,
    application_seconds: int,
    review_seconds: int,
    reviewers: tuple[bytes, ...],
) -> rs.Round:
    """Reserve `budget` from the pool in the gov account and open the round for applications.
    Raises InsufficientFundsError (the pool)."""
    now = ctx.block.time_unix
    move(ctx, COMMUNITY_POOL_ADDRESS, GOV_ADDRESS, budget)
    round_ = rs.Round(
        id=rs.next_round_id(ctx),
        proposal=proposal_id,
        budget=budget,
        reviewers=list(reviewers),
        applicants=[],
        start_time=now,
        application_end=now + application_seconds,
        review_end=now + application_seconds + review_seconds,
        status=rs.RoundStatus.OPEN,
    )
    rs.set_round(ctx, round_)
    ctx.emit(
        "round_started",
        round_id=str(round_.id),
        budget=str(budget),
        application_end=str(round_.application_end),
        review_end=str(round_.review_end),
        reviewers=",".join(addr_text(r) for r in reviewers),
    )
    return round_


def process_apply(ctx: Context, msg: MsgApply) -> None:
    round_ = rs.require_round(ctx, msg.round_id)
    # Verify the round still takes applications
    if round_.status != rs.RoundStatus.OPEN or ctx.block.time_unix >= round_.application_end:
        raise NotApplicationPeriodError(f"round {round_.id} no longer takes applications")
    # Verify the applicant reviews nothing of its own, applies once, and there is room
    if msg.applicant in round_.reviewers:
        raise ReviewerCannotApplyError(f"a reviewer of round {round_.id} cannot apply to it")
    if msg.applicant in round_.applicants:
        raise AlreadyAppliedError(f"this address has applied to round {round_.id} already")
    if len(round_.applicants) >= MAX_APPLICANTS:
        raise RoundFullError(f"round {round_.id} has {MAX_APPLICANTS} applicants")
    rs.set_application(ctx, round_.id, msg.applicant, rs.Application(msg.link, msg.description))
    rs.set_round(ctx, replace(round_, applicants=[*round_.applicants, msg.applicant]))
    ctx.emit("round_application", round_id=str(round_.id), applicant=addr_text(msg.applicant))


def process_allocate(ctx: Context, msg: MsgAllocate) -> None:
    """Record (or replace) a reviewer's allocations; an applicant left out is allocated 0."""
    round_ = rs.require_round(ctx, msg.round_id)
    # Verify the signer is one of the round's reviewers
    if msg.reviewer not in round_.reviewers:
        raise NotReviewerError(f"not a reviewer of round {round_.id}")
    now = ctx.block.time_unix
    # Verify the round is in its review period (applications closed, reviews not)
    if round_.status != rs.RoundStatus.OPEN or not (
        round_.application_end <= now < round_.review_end
    ):
        raise NotReviewPeriodError(f"round {round_.id} is not in its review period")
    applicants = set(round_.applicants)
    # Verify each address allocated to applied, and the allocations fit the budget
    for applicant, _ in msg.allocations:
        if applicant not in applicants:
            raise InvalidAllocationError(f"{addr_text(applicant)} did not apply to this round")
    total = sum(amount for _, amount in msg.allocations)
    if total > round_.budget:
        raise InvalidAllocationError(f"allocations sum to {total}, the budget is {round_.budget}")
    allocation = sorted([applicant, amount] for applicant, amount in msg.allocations)
    rs.set_allocation(ctx, round_.id, msg.reviewer, allocation)
    ctx.emit(
        "round_allocation",
        round_id=str(round_.id),
        reviewer=addr_text(msg.reviewer),
        total=str(total),
    )


def compute_median(values: list[int]) -> int:
    """The median, rounded down (of an even count, the mean of the middle two)."""
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) // 2


def compute_payouts(medians: list[int], budget: int) -> list[int]:
    """The medians, scaled down (each rounded down) so that they sum to at most the budget."""
    total = sum(medians)
    if total <= budget:
        return list(medians)
    return [m * budget // total for m in medians]


def process_rounds(ctx: Context) -> None:
    """Pay every round whose review period has ended."""
    for round_id in rs.due_rounds(ctx, ctx.block.time_unix):
        pay_round(ctx, rs.require_round(ctx, round_id))


def pay_round(ctx: Context, round_: rs.Round) -> None:
    """Each applicant gets the median of the allocations of the reviewers who submitted any
    (scaled to the budget); the rest of the budget goes back to the pool. With no review at
    all, nobody is paid and the whole budget goes back."""
    reviews = [
        dict((bytes(a), int(v)) for a, v in allocation)
        for reviewer in round_.reviewers
        if (allocation := rs.get_allocation(ctx, round_.id, reviewer)) is not None
    ]
    applicants = round_.applicants
    medians = [
        compute_median([review.get(a, 0) for review in reviews]) if reviews else 0
        for a in applicants
    ]
    payouts = compute_payouts(medians, round_.budget)
    for applicant, median, payout in zip(applicants, medians, payouts, strict=True):
        app = rs.get_application(ctx, round_.id, applicant) or rs.Application("", "")
        rs.set_application(ctx, round_.id, applicant, replace(app, median=median, payout=payout))
        if payout:
            move(ctx, GOV_ADDRESS, applicant, payout)
        ctx.emit(
            "round_payout",
            round_id=str(round_.id),
            applicant=addr_text(applicant),
            median=str(median),
            amount=str(payout),
        )
    paid = sum(payouts)
    rest = round_.budget - paid
    if rest:
        move(ctx, GOV_ADDRESS, COMMUNITY_POOL_ADDRESS, rest)
    rs.set_round(
        ctx,
        replace(round_, status=rs.RoundStatus.PAID, reviews=len(reviews), paid=paid, returned=rest),
    )
    ctx.emit(
        "round_paid",
        round_id=str(round_.id),
        paid=str(paid),
        returned=str(rest),
        reviews=str(len(reviews)),
    )
