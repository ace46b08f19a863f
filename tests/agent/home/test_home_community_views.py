"""The community page's view functions: proposals and tallies, validators, funding rounds, and
the vote and delegate forms' input."""

from __future__ import annotations

import pytest

from voxpop.agent.home.views.amounts import Amount
from voxpop.agent.home.views.community import (
    build_proposals,
    build_rounds,
    build_tally,
    build_validators,
    delegate_msg,
    vote_msg,
)
from voxpop.agent.home.views.errors import InputError
from voxpop.chain.modules.gov import rewards_state, state
from voxpop.chain.modules.staking.state import Status, Validator
from voxpop.crypto.address import encode_address

OWNER = bytes([1]) * 20
VAL_A = bytes([3]) * 20
VAL_B = bytes([4]) * 20


def proposal(pid: int, status: state.Status, **extra: object) -> state.Proposal:
    fields: dict[str, object] = {
        "id": pid,
        "proposer": OWNER,
        "title": f"Proposal {pid}",
        "summary": "why",
        "actions": [],
        "status": status,
        "submit_time": 1_000,
        "deposit_end_time": 2_000,
        "total_deposit": 5,
        "voting_start_time": 1_000,
        "voting_end_time": 5_000,
    }
    fields.update(extra)
    return state.Proposal(**fields)  # type: ignore[arg-type]


def tally(
    yes: int, no: int, abstain: int = 0, veto: int = 0, bonded: int = 100
) -> state.TallyResult:
    return state.TallyResult(yes, abstain, no, veto, bonded, 10, 1, b"\x00" * 32, 1)


def test_tally_bars_are_shares_of_the_votes_cast_and_turnout_of_the_stake() -> None:
    bars, turnout = build_tally(tally(yes=30, no=10, bonded=80))
    assert [(b.option, b.share) for b in bars] == [
        ("yes", 75),
        ("no", 25),
        ("abstain", 0),
        ("no_with_veto", 0),
    ]
    assert bars[0].amount == Amount(30) and bars[3].label == "No, and veto"
    assert turnout == 50
    assert build_tally(None) == ((), 0)
    assert build_tally(tally(0, 0))[1] == 0


def test_proposals_newest_first_with_status_in_words_and_the_owners_vote() -> None:
    rows = build_proposals(
        [
            proposal(1, state.Status.PASSED),
            proposal(2, state.Status.VOTING),
            proposal(3, state.Status.DEPOSIT),
            proposal(4, state.Status.FAILED, failed_reason="no funds"),
        ],
        {1: tally(60, 40)},
        {2: [[int(state.VoteOption.NO_WITH_VETO), 1_000_000]]},
        now=3_000,
    )
    assert [r.id for r in rows] == [4, 3, 2, 1]
    by = {r.id: r for r in rows}
    assert by[2].can_vote and by[2].my_vote == "No, and veto"
    assert by[2].status_text.startswith("Open for votes until 1970-01-01 01:23")
    assert not by[1].can_vote and by[1].status_text == "Passed" and by[1].tally[0].share == 60
    assert by[3].status_text.startswith("Waiting for its deposit")
    assert by[4].status_text.endswith("no funds") and by[4].my_vote is None
    # once voting has ended (before the tally lands) the form is gone
    late = build_proposals([proposal(2, state.Status.VOTING)], {}, {}, now=5_000)
    assert not late[0].can_vote


def validator(operator: bytes, tokens: int, status: Status, **extra: object) -> Validator:
    return Validator(
        operator,
        b"\x09" * 32,
        tokens,
        tokens,
        500,
        2_000,
        100,
        0,
        "",
        "",
        status,
        **extra,  # type: ignore[arg-type]
    )


def test_validators_active_first_by_stake_with_the_owners_part() -> None:
    vals = [
        validator(VAL_A, 1_000, Status.UNBONDED),
        validator(VAL_B, 500, Status.BONDED),
        validator(bytes([5]) * 20, 900, Status.BONDED, jailed=True),
    ]
    rows = build_validators(vals, {VAL_A: 100})
    assert [r.operator for r in rows][:2] == [
        encode_address(bytes([5]) * 20),
        encode_address(VAL_B),
    ]
    assert rows[0].state == "paused (jailed)" and rows[1].state == "active"
    assert rows[2].state == "not in the active set" and rows[2].mine == Amount(100)
    assert rows[1].commission == "5 %" and rows[1].name == encode_address(VAL_B)[:12]


def test_rounds_say_where_they_are() -> None:
    open_round = rewards_state.Round(
        1, 7, 1_000, [OWNER], [VAL_A], 0, 100, 200, rewards_state.RoundStatus.OPEN
    )
    paid = rewards_state.Round(
        2, 8, 500, [OWNER], [], 0, 100, 200, rewards_state.RoundStatus.PAID, 1, 400, 100
    )
    rows = build_rounds([open_round, paid], now=150)
    assert [r.id for r in rows] == [2, 1]
    assert rows[0].status_text == "Paid out (1 reviews)" and rows[0].paid == Amount(400)
    assert rows[1].status_text.startswith("Under review until") and rows[1].applicants == 1
    assert build_rounds([open_round], now=50)[0].status_text.startswith("Taking applications")


def test_vote_and_delegate_forms_build_the_owners_messages() -> None:
    vote = vote_msg(OWNER, "7", "No_With_Veto")
    assert (vote.voter, vote.proposal_id, vote.option) == (OWNER, 7, 4)
    delegate = delegate_msg(OWNER, encode_address(VAL_A), "2")
    assert (delegate.delegator, delegate.validator, delegate.amount) == (OWNER, VAL_A, 2_000_000)


@pytest.mark.parametrize(
    ("pid", "choice", "code"),
    [
        ("x", "yes", "unknown_proposal"),
        ("", "yes", "unknown_proposal"),
        ("1", "maybe", "invalid_vote_option"),
    ],
)
def test_invalid_vote_is_refused_in_words(pid: str, choice: str, code: str) -> None:
    with pytest.raises(InputError) as err:
        vote_msg(OWNER, pid, choice)
    assert err.value.code == code


@pytest.mark.parametrize(
    ("who", "amount", "code"),
    [("nobody", "1", "invalid_validator"), (encode_address(VAL_A), "1e5", "invalid_amount")],
)
def test_invalid_delegation_is_refused_in_words(who: str, amount: str, code: str) -> None:
    with pytest.raises(InputError) as err:
        delegate_msg(OWNER, who, amount)
    assert err.value.code == code
