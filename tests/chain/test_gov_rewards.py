"""Developer rewards (M15): vesting spends and retro funding rounds, each transition and each
bad input. Invariants (supply, the gov escrow) are checked after every block by the harness."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.chain.harness import Chain, key, send_msg
from tests.chain.pos import DELEGATOR, DELEGATOR2, OP1, OP2, addr
from tests.chain.test_gov import (
    NOBODY,
    VOTING,
    YES,
    end_voting,
    event,
    gov_chain,
    ok,
    proposal,
    refused,
    spend,
    submit,
    submit_msg,
    vote_msg,
)
from voxpop.chain import errors
from voxpop.chain.app import event_attrs
from voxpop.chain.encoding import decode_state
from voxpop.chain.module_accounts import COMMUNITY_POOL, GOV, module_address
from voxpop.chain.modules.gov.rewards import compute_median, compute_payouts, compute_vested
from voxpop.chain.modules.gov.rewards_state import (
    Application,
    Round,
    RoundStatus,
    Vesting,
    VestingStatus,
)
from voxpop.chain.modules.gov.state import Status, id_bytes
from voxpop.crypto.keys import PrivateKey

POOL = module_address(COMMUNITY_POOL)
GOV_ACCOUNT = module_address(GOV)
FUNDING = 100_000_000  # sent to the pool at the start (the community tax adds a little)
APPLY = 30  # seconds of applications
REVIEW = 30  # then seconds of review
REVIEWERS = (DELEGATOR, DELEGATOR2, NOBODY)
RECIPIENT = key(777).public_key.address


@pytest.fixture
def gov(tmp_path: Path) -> Iterator[Chain]:
    c = gov_chain(tmp_path / "gov")
    ok(c, OP1, send_msg(OP1, POOL, FUNDING))
    yield c
    c.app.store.close()


# --- helpers ------------------------------------------------------------------------------------


def vested(recipient: bytes, amount: int, duration: int) -> dict[str, Any]:
    return {
        "type": "gov/VestedSpend",
        "value": {"recipient": recipient, "amount": amount, "duration_seconds": duration},
    }


def cancel(vesting_id: int) -> dict[str, Any]:
    return {"type": "gov/CancelVesting", "value": {"vesting_id": vesting_id}}


def funding_round(
    budget: int, reviewers: Sequence[PrivateKey] = REVIEWERS, apply: int = APPLY
) -> dict[str, Any]:
    return {
        "type": "gov/FundingRound",
        "value": {
            "budget": budget,
            "application_seconds": apply,
            "review_seconds": REVIEW,
            "reviewers": [addr(r) for r in reviewers],
        },
    }


def apply_msg(who: PrivateKey, round_id: int, link: str = "https://x") -> tuple[str, Any]:
    return "gov/Apply", {
        "applicant": addr(who),
        "round_id": round_id,
        "link": link,
        "description": "did the work",
    }


def allocate_msg(
    who: PrivateKey, round_id: int, allocations: Sequence[tuple[PrivateKey | bytes, int]]
) -> tuple[str, Any]:
    return "gov/Allocate", {
        "reviewer": addr(who),
        "round_id": round_id,
        "allocations": [
            [a if isinstance(a, bytes) else addr(a), amount] for a, amount in allocations
        ],
    }


def pass_proposal(chain: Chain, *actions: dict[str, Any]) -> int:
    pid = submit(chain, *actions)
    ok(chain, OP1, vote_msg(OP1, pid, YES))
    end_voting(chain)
    return pid


def vesting(chain: Chain, vesting_id: int) -> Vesting:
    return Vesting.from_value(decode_state(chain.query("/gov/vesting", id_bytes(vesting_id))))


def round_of(chain: Chain, round_id: int) -> Round:
    return Round.from_value(decode_state(chain.query("/gov/round", id_bytes(round_id))))


def application(chain: Chain, round_id: int, who: PrivateKey) -> Application:
    raw = chain.query("/gov/application", id_bytes(round_id) + addr(who))
    return Application.from_value(decode_state(raw))


def pool(chain: Chain) -> int:
    return chain.balance(POOL)


def taxed(chain: Chain) -> int:
    """What the community tax added to the pool in the last block."""
    return sum(int(event_attrs(e)["amount"]) for e in chain.events if e.type == "community_pool")


def events(chain: Chain, type_: str) -> list[dict[str, str]]:
    return [event_attrs(e) for e in chain.events if e.type == type_]


# --- pure rules ---------------------------------------------------------------------------------


def test_compute_vested_is_floor_then_all() -> None:
    assert [compute_vested(10, 100, 103, t) for t in (99, 100, 101, 102, 103, 200)] == [
        0,
        0,
        3,
        6,
        10,
        10,
    ]


def test_compute_median_odd_even_and_rounding() -> None:
    assert compute_median([5]) == 5
    assert compute_median([9, 1, 5]) == 5
    assert compute_median([1, 2]) == 1  # (1 + 2) // 2
    assert compute_median([0, 0, 7, 100]) == 3


def test_compute_payouts_scales_down_only_above_budget() -> None:
    assert compute_payouts([10, 20], 100) == [10, 20]
    assert compute_payouts([60, 60, 60], 100) == [33, 33, 33]
    assert compute_payouts([0, 0], 0) == [0, 0]


# --- vesting spends -----------------------------------------------------------------------------


def test_vested_spend_pays_per_block_exactly(gov: Chain) -> None:
    amount, duration = 1_000_003, 23
    pid = submit(gov, vested(RECIPIENT, amount, duration))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    assert proposal(gov, pid).status == Status.PASSED
    start = gov.time
    # nothing is due in the block it starts
    v = vesting(gov, 1)
    assert (v.recipient, v.total, v.paid, v.start_time, v.end_time, v.status) == (
        RECIPIENT,
        amount,
        0,
        start,
        start + duration,
        VestingStatus.ACTIVE,
    )
    assert gov.balance(RECIPIENT) == 0
    while gov.time < start + duration:
        gov.block([], advance=4)
        due = amount * min(gov.time - start, duration) // duration
        assert gov.balance(RECIPIENT) == due
        assert vesting(gov, 1).paid == due
    assert gov.balance(RECIPIENT) == amount
    assert vesting(gov, 1).status == VestingStatus.COMPLETED
    gov.block([])
    assert gov.balance(RECIPIENT) == amount and not events(gov, "vesting_paid")


def test_vesting_reserves_from_pool_at_once(gov: Chain) -> None:
    pid = submit(gov, vested(RECIPIENT, 5_000_000, 1_000))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    before_pool, before_gov = pool(gov), gov.balance(GOV_ACCOUNT)
    end_voting(gov)
    assert pool(gov) == before_pool + taxed(gov) - 5_000_000
    # the gov account gave back the deposit and holds the vesting
    assert gov.balance(GOV_ACCOUNT) == before_gov - proposal(gov, pid).total_deposit + 5_000_000
    assert event(gov, "vesting_started")["amount"] == "5000000"


def test_cancel_vesting_returns_unpaid_to_pool(gov: Chain) -> None:
    amount = 9_000_000
    pass_proposal(gov, vested(RECIPIENT, amount, 10 * VOTING))
    pid = submit(gov, cancel(1))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    before_pool = pool(gov)
    end_voting(gov)
    v = vesting(gov, 1)
    assert v.status == VestingStatus.CANCELLED
    assert 0 < v.paid < amount and v.paid + v.returned == amount
    assert gov.balance(RECIPIENT) == v.paid
    assert pool(gov) == before_pool + taxed(gov) + v.returned
    assert event(gov, "vesting_cancelled")["returned"] == str(v.returned)
    gov.block([], advance=20 * VOTING)
    assert gov.balance(RECIPIENT) == v.paid  # nothing more is paid


def test_invalid_cancel_unknown_vesting(gov: Chain) -> None:
    refused(gov, OP1, submit_msg(OP1, [cancel(7)]), errors.UnknownVestingError.code)


def test_invalid_cancel_completed_vesting(gov: Chain) -> None:
    pass_proposal(gov, vested(RECIPIENT, 1_000, 1))
    gov.block([])
    assert vesting(gov, 1).status == VestingStatus.COMPLETED
    refused(gov, OP1, submit_msg(OP1, [cancel(1)]), errors.UnknownVestingError.code)


def test_cancel_of_a_vesting_already_ended_fails_the_proposal(gov: Chain) -> None:
    # Active at submission, paid out before the cancel passes: the proposal fails, nothing moves
    pass_proposal(gov, vested(RECIPIENT, 1_000, VOTING // 2))
    pid = submit(gov, spend(RECIPIENT, 1), cancel(1))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    gov.block([], advance=VOTING // 2)  # the vesting completes
    assert vesting(gov, 1).status == VestingStatus.COMPLETED
    gov.block([], advance=VOTING // 2)
    p = proposal(gov, pid)
    assert p.status == Status.FAILED and "unknown_vesting" in p.failed_reason
    assert gov.balance(RECIPIENT) == 1_000  # the vesting, not the spend of 1


def test_invalid_vested_spend_to_a_module_account(gov: Chain) -> None:
    code = errors.BlockedRecipientError.code
    refused(gov, OP1, submit_msg(OP1, [vested(GOV_ACCOUNT, 1_000, 10)]), code)


def test_invalid_vested_spend_larger_than_pool(gov: Chain) -> None:
    code = errors.CommunityPoolInsufficientError.code
    refused(gov, OP1, submit_msg(OP1, [vested(RECIPIENT, pool(gov) + 1_000_000, 10)]), code)


@pytest.mark.parametrize("duration", [0, 10**12])
def test_invalid_vested_spend_duration(gov: Chain, duration: int) -> None:
    code = errors.InvalidProposalActionError.code
    refused(gov, OP1, submit_msg(OP1, [vested(RECIPIENT, 1_000, duration)]), code)


# --- funding rounds -----------------------------------------------------------------------------


def start_round(chain: Chain, budget: int, **kw: Any) -> Round:
    pass_proposal(chain, funding_round(budget, **kw))
    return round_of(chain, 1)


def test_round_reserves_budget_and_records_its_periods(gov: Chain) -> None:
    pid = submit(gov, funding_round(2_000_000))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    before_pool = pool(gov)
    end_voting(gov)
    r = round_of(gov, 1)
    assert (r.budget, r.proposal, r.status, r.applicants) == (2_000_000, pid, RoundStatus.OPEN, [])
    assert r.reviewers == [addr(k) for k in REVIEWERS]
    assert (r.application_end, r.review_end) == (gov.time + APPLY, gov.time + APPLY + REVIEW)
    assert pool(gov) == before_pool + taxed(gov) - 2_000_000
    assert event(gov, "round_started")["budget"] == "2000000"


def test_round_pays_the_medians_and_returns_the_rest(gov: Chain) -> None:
    budget = 3_000_000
    r = start_round(gov, budget)
    ok(gov, OP1, apply_msg(OP1, r.id, "https://git.example/op1"))
    ok(gov, OP2, apply_msg(OP2, r.id))
    assert round_of(gov, r.id).applicants == [addr(OP1), addr(OP2)]
    assert application(gov, r.id, OP1).link == "https://git.example/op1"
    gov.block([], advance=APPLY)  # applications close
    ok(gov, DELEGATOR, allocate_msg(DELEGATOR, r.id, [(OP1, 1_000_000), (OP2, 100)]))
    ok(gov, DELEGATOR2, allocate_msg(DELEGATOR2, r.id, [(OP1, 500_000)]))  # OP2: 0
    ok(gov, NOBODY, allocate_msg(NOBODY, r.id, [(OP1, 2_000_000), (OP2, 300)]))
    before = {k: gov.balance(k) for k in (OP1, OP2)}
    before_pool = pool(gov)
    gov.block([], advance=REVIEW)
    # medians: OP1 of (1,000,000, 500,000, 2,000,000); OP2 of (100, 0, 300)
    assert gov.balance(OP1) - before[OP1] == 1_000_000
    assert gov.balance(OP2) - before[OP2] == 100
    done = round_of(gov, r.id)
    assert (done.status, done.reviews, done.paid, done.returned) == (
        RoundStatus.PAID,
        3,
        1_000_100,
        budget - 1_000_100,
    )
    assert pool(gov) == before_pool + taxed(gov) + budget - 1_000_100
    assert (application(gov, r.id, OP1).median, application(gov, r.id, OP1).payout) == (
        1_000_000,
        1_000_000,
    )
    assert [e["amount"] for e in events(gov, "round_payout")] == ["1000000", "100"]
    assert event(gov, "round_paid")["returned"] == str(budget - 1_000_100)


def test_round_scales_medians_down_to_the_budget(gov: Chain) -> None:
    budget = 1_000_000
    r = start_round(gov, budget, reviewers=[DELEGATOR])
    for who in (OP1, OP2, DELEGATOR2):
        ok(gov, who, apply_msg(who, r.id))
    gov.block([], advance=APPLY)
    ok(gov, DELEGATOR, allocate_msg(DELEGATOR, r.id, [(OP1, 500_000), (OP2, 400_000)]))
    # a later allocation replaces the earlier one: medians now sum to exactly the budget
    ok(
        gov,
        DELEGATOR,
        allocate_msg(DELEGATOR, r.id, [(OP1, 333_334), (OP2, 333_333), (DELEGATOR2, 333_333)]),
    )
    gov.block([], advance=REVIEW)
    assert round_of(gov, r.id).paid == budget and round_of(gov, r.id).returned == 0
    assert application(gov, r.id, OP2).payout == 333_333


def test_round_with_medians_over_budget_pays_proportionally() -> None:
    # Two reviewers each spend the whole budget on a different applicant: the medians are half
    # each (even count), which fits; three reviewers with spread picks exceed and are scaled
    assert compute_payouts([compute_median([10, 0]), compute_median([0, 10])], 10) == [5, 5]
    medians = [compute_median(v) for v in ([6, 6, 0], [4, 4, 10], [0, 0, 0])]
    assert medians == [6, 4, 0] and compute_payouts(medians, 9) == [5, 3, 0]


def test_round_without_reviews_returns_the_whole_budget(gov: Chain) -> None:
    r = start_round(gov, 777_777)
    ok(gov, OP1, apply_msg(OP1, r.id))
    gov.block([], advance=APPLY + REVIEW)
    done = round_of(gov, r.id)
    assert (done.status, done.reviews, done.paid, done.returned) == (
        RoundStatus.PAID,
        0,
        0,
        777_777,
    )
    assert application(gov, r.id, OP1).payout == 0


def test_round_larger_than_pool_at_apply_fails_the_proposal(gov: Chain) -> None:
    # Both fit the pool at submission; the first to pass takes it, the second fails
    budget = pool(gov) * 3 // 4
    first = submit(gov, funding_round(budget))
    second = submit(gov, funding_round(budget))
    for pid in (first, second):
        ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    assert proposal(gov, first).status == Status.PASSED
    p = proposal(gov, second)
    assert p.status == Status.FAILED and "community_pool_insufficient" in p.failed_reason
    assert gov.query("/gov/round", id_bytes(2)) == b""


def test_invalid_round_budget_larger_than_pool(gov: Chain) -> None:
    code = errors.CommunityPoolInsufficientError.code
    refused(gov, OP1, submit_msg(OP1, [funding_round(pool(gov) + 1_000_000)]), code)


def test_invalid_round_repeated_reviewer(gov: Chain) -> None:
    action = funding_round(1_000, reviewers=[DELEGATOR, DELEGATOR])
    refused(gov, OP1, submit_msg(OP1, [action]), errors.InvalidProposalActionError.code)


def test_invalid_round_without_reviewers(gov: Chain) -> None:
    action = funding_round(1_000, reviewers=[])
    refused(gov, OP1, submit_msg(OP1, [action]), errors.InvalidProposalActionError.code)


def test_invalid_apply_unknown_round(gov: Chain) -> None:
    refused(gov, OP1, apply_msg(OP1, 9), errors.UnknownRoundError.code)


def test_invalid_apply_after_the_period(gov: Chain) -> None:
    r = start_round(gov, 1_000)
    gov.block([], advance=APPLY)
    refused(gov, OP1, apply_msg(OP1, r.id), errors.NotApplicationPeriodError.code)


def test_invalid_apply_twice(gov: Chain) -> None:
    r = start_round(gov, 1_000)
    ok(gov, OP1, apply_msg(OP1, r.id))
    refused(gov, OP1, apply_msg(OP1, r.id, "https://other"), errors.AlreadyAppliedError.code)


def test_invalid_apply_by_a_reviewer(gov: Chain) -> None:
    r = start_round(gov, 1_000)
    refused(gov, DELEGATOR, apply_msg(DELEGATOR, r.id), errors.ReviewerCannotApplyError.code)


@pytest.mark.parametrize(
    "field,value", [("link", "x" * 257), ("description", "y" * 2_001), ("round_id", 0)]
)
def test_invalid_apply_fields(gov: Chain, field: str, value: Any) -> None:
    start_round(gov, 1_000)
    name, msg = apply_msg(OP1, 1)
    code = errors.InvalidMessageError.code
    refused(gov, OP1, (name, {**msg, field: value}), code)


def test_invalid_allocate_by_a_non_reviewer(gov: Chain) -> None:
    r = start_round(gov, 1_000)
    ok(gov, OP1, apply_msg(OP1, r.id))
    gov.block([], advance=APPLY)
    refused(gov, OP2, allocate_msg(OP2, r.id, [(OP1, 10)]), errors.NotReviewerError.code)


def test_invalid_allocate_before_and_after_the_review_period(gov: Chain) -> None:
    r = start_round(gov, 1_000)
    ok(gov, OP1, apply_msg(OP1, r.id))
    msg = allocate_msg(DELEGATOR, r.id, [(OP1, 10)])
    refused(gov, DELEGATOR, msg, errors.NotReviewPeriodError.code)
    gov.block([], advance=APPLY + REVIEW)
    refused(gov, DELEGATOR, msg, errors.NotReviewPeriodError.code)


@pytest.mark.parametrize(
    "allocations",
    [
        [(OP2, 10)],  # did not apply
        [(OP1, 10), (OP1, 20)],  # twice
        [(OP1, 1_001)],  # above the budget
    ],
)
def test_invalid_allocation(gov: Chain, allocations: list[tuple[PrivateKey, int]]) -> None:
    r = start_round(gov, 1_000)
    ok(gov, OP1, apply_msg(OP1, r.id))
    gov.block([], advance=APPLY)
    msg = allocate_msg(DELEGATOR, r.id, allocations)
    refused(gov, DELEGATOR, msg, errors.InvalidAllocationError.code)


def test_invalid_allocate_unknown_round(gov: Chain) -> None:
    refused(gov, DELEGATOR, allocate_msg(DELEGATOR, 3, []), errors.UnknownRoundError.code)
