"""Governance: each transition, its invalid cases, the tally rules, actions and upgrades."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from tests.chain.harness import Chain, key
from tests.chain.pos import (
    CONS1,
    CONS2,
    DELEGATOR,
    DELEGATOR2,
    FUNDS,
    OP1,
    OP2,
    SELF_BOND,
    STAKING,
    addr,
    delegate_msg,
    redelegate_msg,
)
from voxpop.chain import errors
from voxpop.chain.abci import ExecTxResult
from voxpop.chain.app import event_attrs
from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, decode_uint, encode
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module import Module
from voxpop.chain.module_accounts import (
    COMMUNITY_POOL,
    GOV,
    GRANT_BONDS,
    GRANT_POOL,
    module_address,
)
from voxpop.chain.modules.gov import tally
from voxpop.chain.modules.gov.actions import action_table
from voxpop.chain.modules.gov.module import GovModule
from voxpop.chain.modules.gov.state import (
    WEIGHT_ONE,
    GovParams,
    Proposal,
    Status,
    TallyResult,
    id_bytes,
)
from voxpop.chain.modules.gov.upgrades import UpgradeRequired
from voxpop.chain.registry import default_modules
from voxpop.crypto.keys import PrivateKey

MIN_DEPOSIT = 10_000_000
VOTING = 50
DEPOSIT_PERIOD = 100
PARAMS = GovParams(
    min_deposit=MIN_DEPOSIT,
    max_deposit_period_seconds=DEPOSIT_PERIOD,
    voting_period_seconds=VOTING,
)
YES, ABSTAIN, NO, VETO = 1, 2, 3, 4
NOBODY = key(499)  # funded, never bonded
README = Path(__file__).resolve().parents[2] / "src/voxpop/chain/modules/gov/README.md"


def gov_chain(path: Path, *, modules: Sequence[Module] | None = None) -> Chain:
    """Two bonded validators of 100 VOX each (OP1, OP2) and funded delegators."""
    accounts = [OP1, OP2, DELEGATOR, DELEGATOR2, NOBODY]
    state = default_app_state(
        [(addr(k), FUNDS) for k in accounts],
        validators=[
            (addr(OP1), CONS1.public_key.raw, SELF_BOND),
            (addr(OP2), CONS2.public_key.raw, SELF_BOND),
        ],
        staking=STAKING,
    )
    state["gov"] = {"params": asdict(PARAMS)}
    return Chain.start(path, app_state=state, modules=modules)


@pytest.fixture
def gov(tmp_path: Path) -> Iterator[Chain]:
    c = gov_chain(tmp_path / "gov")
    yield c
    c.app.store.close()


# --- messages and reads ------------------------------------------------------------------------


def submit_msg(
    proposer: PrivateKey,
    actions: Sequence[dict[str, Any]] = (),
    deposit: int = MIN_DEPOSIT,
    title: str = "title",
) -> tuple[str, dict[str, Any]]:
    return "gov/SubmitProposal", {
        "proposer": addr(proposer),
        "title": title,
        "summary": "why",
        "actions": list(actions),
        "deposit": deposit,
    }


def deposit_msg(who: PrivateKey, pid: int, amount: int) -> tuple[str, dict[str, Any]]:
    return "gov/Deposit", {"depositor": addr(who), "proposal_id": pid, "amount": amount}


def vote_msg(who: PrivateKey, pid: int, option: int) -> tuple[str, dict[str, Any]]:
    return "gov/Vote", {"voter": addr(who), "proposal_id": pid, "option": option}


def weighted_msg(
    who: PrivateKey, pid: int, options: Sequence[tuple[int, int]]
) -> tuple[str, dict[str, Any]]:
    return "gov/WeightedVote", {
        "voter": addr(who),
        "proposal_id": pid,
        "options": [list(o) for o in options],
    }


def param_change(module: str, **changes: Any) -> dict[str, Any]:
    return {"type": "gov/ParamChange", "value": {"module": module, "changes": changes}}


def spend(recipient: bytes, amount: int) -> dict[str, Any]:
    return {"type": "gov/CommunitySpend", "value": {"recipient": recipient, "amount": amount}}


def upgrade(name: str, height: int) -> dict[str, Any]:
    return {
        "type": "gov/SoftwareUpgrade",
        "value": {"name": name, "height": height, "info": "v2"},
    }


def proposal(chain: Chain, pid: int) -> Proposal:
    return Proposal.from_value(decode_state(chain.query("/gov/proposal", id_bytes(pid))))


def tally_of(chain: Chain, pid: int) -> TallyResult:
    return TallyResult(**decode_state(chain.query("/gov/tally", id_bytes(pid))))


def ok(chain: Chain, signer: PrivateKey, *msgs: tuple[str, dict[str, Any]]) -> ExecTxResult:
    res = chain.deliver(chain.tx(signer, msgs, gas_limit=1_000_000))
    assert res.code == 0, res.log
    return res


def refused(chain: Chain, signer: PrivateKey, msg: tuple[str, dict[str, Any]], code: int) -> None:
    """check_tx refuses the message with `code`, and a block including it changes only the fee
    and sequence (the message's writes are dropped)."""
    tx = chain.tx(signer, [msg], gas_limit=1_000_000)
    res = chain.check(tx)
    assert res.code == code, res.log
    before = {k: v for k, v in chain.app.committed.iterate(b"gov/")}
    result = chain.deliver(tx)
    assert result.code == code
    assert dict(chain.app.committed.iterate(b"gov/")) == before


def submit(chain: Chain, *actions: dict[str, Any], deposit: int = MIN_DEPOSIT) -> int:
    ok(chain, OP1, submit_msg(OP1, actions, deposit))
    return decode_uint(chain.query("/store", b"gov/seq"))


def end_voting(chain: Chain) -> None:
    chain.block([], advance=VOTING)


def event(chain: Chain, type_: str) -> dict[str, str]:
    found = [event_attrs(e) for e in chain.events if e.type == type_]
    assert found, f"no {type_} event"
    return found[-1]


def burned_total(chain: Chain) -> int:
    return decode_uint(chain.query("/store", b"bank/burned") or bytes(16))


def staking_params(chain: Chain) -> dict[str, Any]:
    value: dict[str, Any] = decode_state(chain.query("/staking/params"))
    return value


# --- submit and deposit ------------------------------------------------------------------------


def test_submit_with_min_deposit_starts_voting(gov: Chain) -> None:
    before = gov.balance(OP1)
    pid = submit(gov)
    p = proposal(gov, pid)
    assert p.status == Status.VOTING and p.total_deposit == MIN_DEPOSIT
    assert p.voting_end_time == gov.time + VOTING
    assert gov.balance(module_address(GOV)) == MIN_DEPOSIT
    assert before - gov.balance(OP1) > MIN_DEPOSIT  # the deposit and the fee


def test_deposits_reach_minimum_then_voting(gov: Chain) -> None:
    pid = submit(gov, deposit=MIN_DEPOSIT // 4)
    assert proposal(gov, pid).status == Status.DEPOSIT
    ok(gov, DELEGATOR, deposit_msg(DELEGATOR, pid, MIN_DEPOSIT // 2))
    assert proposal(gov, pid).status == Status.DEPOSIT
    res = ok(gov, DELEGATOR2, deposit_msg(DELEGATOR2, pid, MIN_DEPOSIT // 4))
    p = proposal(gov, pid)
    assert p.status == Status.VOTING and p.total_deposit == MIN_DEPOSIT
    started = [event_attrs(e) for e in res.events if e.type == "voting_started"]
    assert started == [{"proposal_id": str(pid), "voting_end": str(gov.time + VOTING)}]


def test_deposit_in_voting_period_is_refunded(gov: Chain) -> None:
    pid = submit(gov)
    before = gov.balance(DELEGATOR)
    ok(gov, DELEGATOR, deposit_msg(DELEGATOR, pid, 1_000))
    fee = before - 1_000 - gov.balance(DELEGATOR)
    ok(gov, OP1, vote_msg(OP1, pid, YES), vote_msg(OP1, pid, YES))
    end_voting(gov)
    assert proposal(gov, pid).status == Status.PASSED
    assert gov.balance(DELEGATOR) == before - fee
    assert gov.balance(module_address(GOV)) == 0


def test_invalid_submit_deposit_too_small(gov: Chain) -> None:
    due = MIN_DEPOSIT * PARAMS.min_initial_deposit_bps // 10_000
    refused(gov, OP1, submit_msg(OP1, deposit=due - 1), errors.DepositTooSmallError.code)


def test_invalid_deposit_unknown_proposal(gov: Chain) -> None:
    refused(gov, DELEGATOR, deposit_msg(DELEGATOR, 7, 1), errors.UnknownProposalError.code)


def test_invalid_deposit_on_closed_proposal(gov: Chain) -> None:
    pid = submit(gov)
    end_voting(gov)  # nobody voted: no quorum
    assert proposal(gov, pid).status == Status.REJECTED
    refused(gov, DELEGATOR, deposit_msg(DELEGATOR, pid, 1), errors.DepositClosedError.code)


def test_deposit_period_expiry_drops_and_burns(gov: Chain) -> None:
    pid = submit(gov, deposit=MIN_DEPOSIT // 2)
    burned = burned_total(gov)
    gov.block([], advance=DEPOSIT_PERIOD)
    assert proposal(gov, pid).status == Status.DROPPED
    assert burned_total(gov) - burned == MIN_DEPOSIT // 2
    assert gov.balance(module_address(GOV)) == 0
    refused(gov, DELEGATOR, deposit_msg(DELEGATOR, pid, 1), errors.DepositClosedError.code)


# --- votes -------------------------------------------------------------------------------------


def test_invalid_vote_in_deposit_period(gov: Chain) -> None:
    pid = submit(gov, deposit=MIN_DEPOSIT // 2)
    refused(gov, OP1, vote_msg(OP1, pid, YES), errors.NotVotingPeriodError.code)


def test_invalid_vote_after_voting_ended(gov: Chain) -> None:
    pid = submit(gov)
    end_voting(gov)
    refused(gov, OP1, vote_msg(OP1, pid, YES), errors.NotVotingPeriodError.code)


def test_invalid_vote_option(gov: Chain) -> None:
    refused(gov, OP1, vote_msg(OP1, submit(gov), 5), errors.InvalidMessageError.code)


@pytest.mark.parametrize(
    "options",
    [[(YES, 500_000), (NO, 400_000)], [(YES, 500_000), (YES, 500_000)], [(YES, WEIGHT_ONE + 1)]],
    ids=["short", "repeated", "over"],
)
def test_invalid_weighted_vote(gov: Chain, options: list[tuple[int, int]]) -> None:
    pid = submit(gov)
    code = errors.InvalidVoteWeightsError.code if len(options) == 2 else 5
    refused(gov, OP1, weighted_msg(OP1, pid, options), code)


def test_vote_with_no_stake_is_kept_and_weighs_nothing(gov: Chain) -> None:
    pid = submit(gov)
    ok(gov, NOBODY, vote_msg(NOBODY, pid, NO))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    result = tally_of(gov, pid)
    assert result.no == 0 and result.yes == SELF_BOND
    entries = tally.decode_chunks(gov.app.committed.get(k) or b"" for k in chunk_keys(pid, result))
    assert (addr(NOBODY), tally.OWN, 0, [[NO, WEIGHT_ONE]], []) in entries


def test_later_vote_replaces_earlier(gov: Chain) -> None:
    pid = submit(gov)
    ok(gov, OP1, vote_msg(OP1, pid, NO))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    assert tally_of(gov, pid).yes == SELF_BOND and tally_of(gov, pid).no == 0


# --- the tally ---------------------------------------------------------------------------------


def chunk_keys(pid: int, result: TallyResult) -> list[bytes]:
    return [b"gov/tl/" + id_bytes(pid) + i.to_bytes(4, "big") for i in range(result.chunks)]


def test_delegator_inherits_validator_vote(gov: Chain) -> None:
    ok(gov, DELEGATOR, delegate_msg(DELEGATOR, OP1, 50_000_000))
    pid = submit(gov)
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    result = tally_of(gov, pid)
    assert (result.yes, result.no, result.bonded) == (150_000_000, 0, 250_000_000)
    assert proposal(gov, pid).status == Status.PASSED


def test_delegator_vote_overrides_validator(gov: Chain) -> None:
    ok(gov, DELEGATOR, delegate_msg(DELEGATOR, OP1, 50_000_000))
    pid = submit(gov)
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    ok(gov, DELEGATOR, vote_msg(DELEGATOR, pid, NO))
    end_voting(gov)
    result = tally_of(gov, pid)
    assert (result.yes, result.no) == (100_000_000, 50_000_000)


def test_redelegation_during_voting_counts_where_stake_ends(gov: Chain) -> None:
    ok(gov, DELEGATOR, delegate_msg(DELEGATOR, OP1, 50_000_000))
    pid = submit(gov)
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    ok(gov, OP2, vote_msg(OP2, pid, NO))
    ok(gov, DELEGATOR, redelegate_msg(DELEGATOR, OP1, OP2, 50_000_000))
    end_voting(gov)
    result = tally_of(gov, pid)
    assert (result.yes, result.no) == (100_000_000, 150_000_000)
    assert proposal(gov, pid).status == Status.REJECTED


def test_weighted_vote_splits_stake(gov: Chain) -> None:
    pid = submit(gov)
    ok(gov, OP1, weighted_msg(OP1, pid, [(YES, 700_000), (ABSTAIN, 300_000)]))
    ok(gov, OP2, weighted_msg(OP2, pid, [(NO, 250_000), (YES, 750_000)]))
    end_voting(gov)
    r = tally_of(gov, pid)
    assert (r.yes, r.abstain, r.no, r.no_with_veto) == (145_000_000, 30_000_000, 25_000_000, 0)


def test_tally_list_matches_commitment_and_totals(gov: Chain) -> None:
    ok(gov, DELEGATOR, delegate_msg(DELEGATOR, OP1, 50_000_000))
    ok(gov, DELEGATOR2, delegate_msg(DELEGATOR2, OP2, 30_000_000))
    pid = submit(gov)
    for who, option in ((OP1, YES), (DELEGATOR, NO), (OP2, ABSTAIN), (NOBODY, VETO)):
        ok(gov, who, vote_msg(who, pid, option))
    end_voting(gov)
    result = tally_of(gov, pid)
    chunks = [
        gov.query("/gov/tally_chunk", id_bytes(pid) + i.to_bytes(4, "big"))
        for i in range(result.chunks)
    ]
    entries = tally.decode_chunks(chunks)
    assert len(entries) == result.count == 6  # four voters, two validators' inherited rest
    assert tally.entries_root(entries) == result.root
    totals = tally.compute_totals(entries)
    assert (totals.yes, totals.abstain, totals.no, totals.no_with_veto) == (
        result.yes,
        result.abstain,
        result.no,
        result.no_with_veto,
    )
    assert result.abstain == 130_000_000  # OP2 and DELEGATOR2, who inherits
    assert result.height == gov.app.last_height


def test_tally_outcomes() -> None:
    def result(yes: int, abstain: int, no: int, veto: int, bonded: int = 100) -> TallyResult:
        return TallyResult(yes, abstain, no, veto, bonded, 1, 0, b"", 0)

    def decide(r: TallyResult) -> str:
        return tally.outcome(r, 3_340, 5_000, 3_340)

    assert decide(result(0, 0, 0, 0)) == "no_quorum"
    assert decide(result(33, 0, 0, 0)) == "no_quorum"
    assert decide(result(34, 0, 0, 0)) == "passed"
    assert decide(result(25, 0, 25, 0)) == "rejected"  # a tie does not pass
    assert decide(result(26, 0, 25, 0)) == "passed"
    assert decide(result(60, 0, 6, 34)) == "vetoed"
    assert decide(result(0, 50, 0, 0)) == "rejected"  # abstain only
    assert decide(result(0, 0, 0, 0, bonded=0)) == "no_quorum"


def test_veto_burns_deposits(gov: Chain) -> None:
    pid = submit(gov)
    ok(gov, OP1, vote_msg(OP1, pid, VETO))
    burned = burned_total(gov)
    end_voting(gov)
    assert proposal(gov, pid).status == Status.REJECTED
    assert event(gov, "proposal_ended")["verdict"] == "vetoed"
    assert burned_total(gov) - burned == MIN_DEPOSIT
    assert gov.balance(module_address(GOV)) == 0


def test_no_quorum_burns_and_rejection_refunds(gov: Chain) -> None:
    quiet = submit(gov)
    voted = submit(gov)
    ok(gov, OP1, vote_msg(OP1, voted, NO))
    before = gov.balance(OP1)
    end_voting(gov)
    assert event(gov, "proposal_ended")["verdict"] == "rejected"
    assert proposal(gov, quiet).status == proposal(gov, voted).status == Status.REJECTED
    assert gov.balance(OP1) == before + MIN_DEPOSIT  # refunded one, the other burned
    assert gov.balance(module_address(GOV)) == 0


# --- actions -----------------------------------------------------------------------------------


def test_param_change_applies_when_passed(gov: Chain) -> None:
    pid = submit(gov, param_change("staking", max_validators=5))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    assert staking_params(gov)["max_validators"] == STAKING.max_validators
    end_voting(gov)
    assert proposal(gov, pid).status == Status.PASSED
    assert staking_params(gov)["max_validators"] == 5
    assert event(gov, "param_change") == {"module": "staking", "changes": "max_validators"}


def test_param_change_of_the_services_module(gov: Chain) -> None:
    pid = submit(gov, param_change("services", min_stake=5_000_000, unbonding_seconds=7_200))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    assert proposal(gov, pid).status == Status.PASSED
    params = decode_state(gov.query("/services/params"))
    assert (params["min_stake"], params["unbonding_seconds"]) == (5_000_000, 7_200)
    # Verify the services module's own bounds hold under governance (unbonding >= 1 h)
    code = errors.InvalidProposalActionError.code
    refused(gov, OP1, submit_msg(OP1, [param_change("services", unbonding_seconds=60)]), code)


def test_gov_changes_its_own_params(gov: Chain) -> None:
    pid = submit(gov, param_change("gov", quorum_bps=5_000, voting_period_seconds=20))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    params = decode_state(gov.query("/gov/params"))
    assert (params["quorum_bps"], params["voting_period_seconds"]) == (5_000, 20)


@pytest.mark.parametrize(
    "action",
    [
        param_change("staking", max_validators=0),
        param_change("staking", no_such_param=1),
        param_change("nosuchmodule", x=1),
        param_change("authz", x=1),  # a module without params
        param_change("distribution", annual_inflation_bps=5_000),  # above its own max
        {"type": "gov/NoSuchAction", "value": {}},
        {"type": "gov/ParamChange", "value": {"module": "staking"}},
        {"type": "gov/SoftwareUpgrade", "value": {"name": "", "height": 99, "info": ""}},
    ],
    ids=[
        "invalid",
        "unknown-name",
        "unknown-module",
        "no-params",
        "cross-check",
        "type",
        "fields",
        "nameless",
    ],
)
def test_invalid_action_refused_at_submit(gov: Chain, action: dict[str, Any]) -> None:
    refused(gov, OP1, submit_msg(OP1, [action]), errors.InvalidProposalActionError.code)


def test_invalid_spend_larger_than_pool(gov: Chain) -> None:
    # far beyond the pool (which grows a little each block, between check_tx and the block)
    pool = gov.balance(module_address(COMMUNITY_POOL))
    code = errors.CommunityPoolInsufficientError.code
    refused(gov, OP1, submit_msg(OP1, [spend(addr(NOBODY), pool + 10**12)]), code)


def test_invalid_spend_to_a_module_account(gov: Chain) -> None:
    # A module account's balance is what its module accounts for (channels' deposits, stakes)
    channels = module_address("channels")
    code = errors.BlockedRecipientError.code
    refused(gov, OP1, submit_msg(OP1, [spend(channels, 1)]), code)


def test_invalid_upgrade_height_in_past(gov: Chain) -> None:
    height = gov.app.last_height + 1  # the block the tx would run in
    code = errors.UpgradeHeightPassedError.code
    refused(gov, OP1, submit_msg(OP1, [upgrade("v2", height)]), code)


def test_community_spend_reaches_recipient_exactly(gov: Chain) -> None:
    gov.block([], advance=3_600)  # the community tax fills the pool
    pool = gov.balance(module_address(COMMUNITY_POOL))
    assert pool > 0
    recipient = key(777).public_key.address
    pid = submit(gov, spend(recipient, pool // 2))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    assert proposal(gov, pid).status == Status.PASSED
    assert gov.balance(recipient) == pool // 2
    assert event(gov, "community_spend")["amount"] == str(pool // 2)


def test_failing_action_applies_nothing_and_records_why(gov: Chain) -> None:
    # The upgrade height is ahead at submission but reached before voting ends: the whole
    # proposal fails, and the param change before it is not applied
    height = gov.app.last_height + 3
    pid = submit(gov, param_change("staking", max_validators=5), upgrade("v2", height))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    p = proposal(gov, pid)
    assert p.status == Status.FAILED
    assert "actions[1]" in p.failed_reason and "upgrade_height_passed" in p.failed_reason
    assert staking_params(gov)["max_validators"] == STAKING.max_validators
    assert gov.query("/gov/plan") == b""


INVALID_ACTION = errors.InvalidProposalActionError.code
BONDS = module_address(GRANT_BONDS)
POOL = module_address(GRANT_POOL)


def set_registrar(pub: bytes, name: str, *, forfeit_bond: bool = False) -> dict[str, Any]:
    value = {"pub_key": pub, "name": name, "forfeit_bond": forfeit_bond}
    return {"type": "gov/SetRegistrar", "value": value}


def test_set_registrar_adds_and_removes(gov: Chain) -> None:
    pub = bytes(range(32))
    pid = submit(gov, set_registrar(pub, "acme"))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    assert decode_state(gov.query("/store", b"grant/reg/" + pub)) == {"name": "acme"}
    pid = submit(gov, set_registrar(pub, ""))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    assert gov.query("/store", b"grant/reg/" + pub) == b""
    refused(gov, OP1, submit_msg(OP1, [set_registrar(pub, "")]), INVALID_ACTION)


def passed(chain: Chain, action: dict[str, Any]) -> int:
    """Submit `action`, vote it through, end the vote: the proposal's id."""
    pid = submit(chain, action)
    ok(chain, OP1, vote_msg(OP1, pid, YES))
    end_voting(chain)
    assert proposal(chain, pid).status == Status.PASSED
    return pid


def bonded_registrar(chain: Chain, registrar: PrivateKey, bond: int) -> bytes:
    """List `registrar` by a proposal, fund its own account for fees, bond it: its key."""
    pub = registrar.public_key.raw
    passed(chain, set_registrar(pub, "acme"))
    fund = ("bank/Send", {"from": addr(NOBODY), "to": addr(registrar), "amount": 10**6})
    post = {"sender": addr(NOBODY), "registrar": pub, "amount": bond}
    ok(chain, NOBODY, fund, ("grant/PostBond", post))
    return pub


def withdraw_bond(registrar: PrivateKey, amount: int) -> tuple[str, dict[str, Any]]:
    value = {"account": addr(registrar), "registrar": registrar.public_key.raw, "amount": amount}
    return "grant/WithdrawBond", value


def test_removal_with_forfeit_moves_the_bond_to_the_grant_pool(gov: Chain) -> None:
    registrar = key(77)
    pub = bonded_registrar(gov, registrar, 5_000_000)
    pool = gov.balance(POOL)
    passed(gov, set_registrar(pub, "", forfeit_bond=True))
    assert gov.query("/store", b"grant/reg/" + pub) == b""
    assert gov.query("/grant/bond", pub) == b""
    assert gov.balance(BONDS) == 0 and gov.balance(POOL) == pool + 5_000_000
    assert event(gov, "registrar_bond_forfeited") == {"registrar": pub.hex(), "amount": "5000000"}
    # The registrar, no longer listed and with no bond, has nothing left to withdraw
    res = gov.deliver(gov.tx(registrar, [withdraw_bond(registrar, 1)]))
    assert res.code == errors.BondExceededError.code


def test_removal_without_forfeit_lets_the_registrar_withdraw_all(gov: Chain) -> None:
    registrar = key(78)
    pub = bonded_registrar(gov, registrar, 5_000_000)
    # Listed, below the bond required (the default, 8,000 VOX): nothing may leave
    res = gov.deliver(gov.tx(registrar, [withdraw_bond(registrar, 5_000_000)]))
    assert res.code == errors.BondExceededError.code
    passed(gov, set_registrar(pub, ""))
    assert gov.balance(BONDS) == 5_000_000
    before = gov.balance(registrar)
    res = gov.deliver(gov.tx(registrar, [withdraw_bond(registrar, 5_000_000)], fee=1_000))
    assert res.code == 0, res.log
    assert gov.balance(registrar) == before + 5_000_000 - 1_000
    assert gov.balance(BONDS) == 0


def test_invalid_forfeit_without_removal(gov: Chain) -> None:
    """A bond is forfeited only by a removal; a removal names a listed registrar; the flag is a
    boolean. (Each refused at parsing, before the signer's sequence moves: one signer each.)"""
    pub = bytes(range(32))
    not_bool = {
        "type": "gov/SetRegistrar",
        "value": {"pub_key": pub, "name": "", "forfeit_bond": 1},
    }
    cases = [set_registrar(pub, "acme", forfeit_bond=True), set_registrar(pub, ""), not_bool]
    for proposer, action in zip((OP1, OP2, DELEGATOR), cases, strict=True):
        refused(gov, proposer, submit_msg(proposer, [action]), INVALID_ACTION)


# --- upgrades ----------------------------------------------------------------------------------


def with_gov(upgrades: dict[str, Any]) -> list[Module]:
    return [m if m.name != "gov" else GovModule(upgrades=upgrades) for m in default_modules()]


def plan_upgrade(chain: Chain, name: str, ahead: int) -> int:
    height = chain.app.last_height + ahead
    pid = submit(chain, upgrade(name, height))
    ok(chain, OP1, vote_msg(OP1, pid, YES))
    end_voting(chain)
    assert proposal(chain, pid).status == Status.PASSED
    assert decode_state(chain.query("/gov/plan"))["height"] == height
    return height


def test_upgrade_stops_a_node_that_does_not_know_it(tmp_path: Path) -> None:
    chain = gov_chain(tmp_path / "old", modules=with_gov({}))
    height = plan_upgrade(chain, "v2", 6)
    while chain.app.last_height < height - 1:
        chain.block([])
    with pytest.raises(UpgradeRequired, match=r"UPGRADE 'v2' NEEDED at height \d+"):
        chain.block([])
    assert chain.app.last_height == height - 1  # nothing committed at the upgrade height
    chain.app.store.close()


def test_upgrade_runs_its_migration_once(tmp_path: Path) -> None:
    runs: list[int] = []

    def migrate(ctx: Context) -> None:
        runs.append(ctx.block.height)
        ctx.set(b"gov/migrated", b"\x01")

    chain = gov_chain(tmp_path / "new", modules=with_gov({"v2": migrate}))
    height = plan_upgrade(chain, "v2", 6)
    while chain.app.last_height < height + 2:
        chain.block([])
    assert runs == [height]
    assert decode_uint(chain.query("/store", b"gov/upgrade/done/v2")) == height
    assert chain.query("/gov/plan") == b""
    # a name that ran can never be planned again
    refused(chain, OP1, submit_msg(OP1, [upgrade("v2", height + 100)]), 405)
    chain.app.store.close()


def test_readme_action_table_matches_declarations() -> None:
    found = re.search(r"## Actions\n.*?\n\n(\|.*\|\n)+", README.read_text(), re.S)
    assert found is not None
    assert action_table() in found.group(0), (
        f"README: replace the action table with\n{action_table()}"
    )


def test_chunks_are_canonical_cbor_of_the_entries() -> None:
    for n in (0, 1, 23, 24, 255, 256, 300, 600):
        entries: list[tally.Entry] = [
            (bytes([i % 256]) * 20, i % 2, i * 1_000, [[YES, WEIGHT_ONE]], [[b"\x01" * 20, i]])
            for i in range(n)
        ]
        expected = [
            encode([list(e) for e in entries[i : i + tally.CHUNK_ENTRIES]])
            for i in range(0, n, tally.CHUNK_ENTRIES)
        ]
        assert tally.chunk_entries(entries) == expected
        assert tally.decode_chunks(expected) == entries


def test_add_service_kinds_and_registrar_quota(gov: Chain) -> None:
    kinds = {"type": "gov/AddServiceKinds", "value": {"kinds": ["translate", "stt"]}}
    pid = submit(gov, kinds, param_change("grant", registrar_quota=5))
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    assert proposal(gov, pid).status == Status.PASSED
    services = decode_state(gov.query("/services/params"))
    assert services["kinds"][-1] == "translate" and services["kinds"].count("stt") == 1
    assert decode_state(gov.query("/grant/params"))["registrar_quota"] == 5


def test_invalid_service_kind_name(gov: Chain) -> None:
    kinds = {"type": "gov/AddServiceKinds", "value": {"kinds": ["Not A Kind!"]}}
    refused(gov, OP1, submit_msg(OP1, [kinds]), errors.InvalidProposalActionError.code)


def test_cancel_upgrade(gov: Chain) -> None:
    height = plan_upgrade(gov, "v3", 50)
    cancel = {"type": "gov/CancelUpgrade", "value": {"name": "v3"}}
    pid = submit(gov, cancel)
    ok(gov, OP1, vote_msg(OP1, pid, YES))
    end_voting(gov)
    assert proposal(gov, pid).status == Status.PASSED
    assert gov.query("/gov/plan") == b"" and gov.app.last_height < height
    refused(gov, OP1, submit_msg(OP1, [cancel]), errors.InvalidProposalActionError.code)
