"""Staking transitions: genesis validators, create/edit validator, delegate, undelegate,
redelegate, and the validator set CometBFT is told about."""

from __future__ import annotations

from tests.chain.harness import Chain
from tests.chain.pos import (
    CONS1,
    CONS2,
    CONS3,
    DELEGATOR,
    FUNDS,
    OP1,
    OP2,
    OP3,
    SELF_BOND,
    UNBONDING,
    addr,
    create_msg,
    delegate_msg,
    pool,
    redelegate_msg,
    shares,
    undelegate_msg,
    validator,
)
from voxpop.chain import errors
from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.modules.staking.state import Status


def test_genesis_validators_are_bonded(pos: Chain) -> None:
    for op in (OP1, OP2):
        val = validator(pos, op)
        assert val.status == Status.BONDED and val.tokens == SELF_BOND
        assert pos.balance(op) == FUNDS - SELF_BOND
    assert pool(pos, "bonded_pool") == 2 * SELF_BOND
    assert pos.valsets[1] == {CONS1.public_key.raw: 100, CONS2.public_key.raw: 100}


def test_create_validator(pos: Chain) -> None:
    res = pos.deliver(pos.tx(OP3, [create_msg(OP3, CONS3, 5_000_000)]))
    assert res.code == 0, res.log
    val = validator(pos, OP3)
    assert val.status == Status.BONDED and val.tokens == 5_000_000
    assert pos.updates == [ValidatorUpdate(CONS3.public_key.raw, 5)]


def test_invalid_create_validator_twice(pos: Chain) -> None:
    res = pos.check(pos.tx(OP1, [create_msg(OP1, CONS3)]))
    assert res.code == errors.ValidatorExistsError.code


def test_invalid_create_validator_consensus_key_taken(pos: Chain) -> None:
    res = pos.check(pos.tx(OP3, [create_msg(OP3, CONS1)]))
    assert res.code == errors.ValidatorExistsError.code


def test_invalid_create_validator_self_bond_too_low(pos: Chain) -> None:
    res = pos.check(pos.tx(OP3, [create_msg(OP3, CONS3, 999_999)]))
    assert res.code == errors.SelfBondTooLowError.code


def test_invalid_create_validator_rate_above_max(pos: Chain) -> None:
    msg = create_msg(OP3, CONS3, commission_rate_bps=3_000, max_commission_rate_bps=2_000)
    assert pos.check(pos.tx(OP3, [msg])).code == errors.InvalidCommissionError.code


def edit(op: object, rate: int) -> tuple[str, dict[str, object]]:
    return "staking/EditValidator", {
        "operator": addr(op),  # type: ignore[arg-type]
        "commission_rate_bps": rate,
        "moniker": "new",
        "details": "d",
    }


def test_edit_validator(pos: Chain) -> None:
    pos.block([], advance=86_400)
    assert pos.deliver(pos.tx(OP1, [edit(OP1, 1_100)])).code == 0
    val = validator(pos, OP1)
    assert val.commission_rate_bps == 1_100 and val.moniker == "new"


def test_invalid_edit_validator_twice_a_day(pos: Chain) -> None:
    pos.block([], advance=86_400)
    assert pos.deliver(pos.tx(OP1, [edit(OP1, 1_050)])).code == 0
    res = pos.check(pos.tx(OP1, [edit(OP1, 1_100)]))
    assert res.code == errors.InvalidCommissionError.code


def test_invalid_edit_validator_change_too_large(pos: Chain) -> None:
    pos.block([], advance=86_400)
    res = pos.check(pos.tx(OP1, [edit(OP1, 1_101)]))
    assert res.code == errors.InvalidCommissionError.code


def test_delegate(pos: Chain) -> None:
    res = pos.deliver(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP1, 7_000_000)]))
    assert res.code == 0, res.log
    assert shares(pos, OP1, DELEGATOR) == 7_000_000
    assert validator(pos, OP1).tokens == SELF_BOND + 7_000_000
    assert pos.updates == [ValidatorUpdate(CONS1.public_key.raw, 107)]


def test_invalid_delegate_unknown_validator(pos: Chain) -> None:
    res = pos.check(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP3, 1)]))
    assert res.code == errors.UnknownValidatorError.code


def test_invalid_delegate_insufficient_funds(pos: Chain) -> None:
    res = pos.check(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP1, FUNDS)]))
    assert res.code == errors.InsufficientFundsError.code


def test_undelegate(pos: Chain) -> None:
    pos.deliver(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP1, 7_000_000)]))
    before = pos.balance(DELEGATOR)
    res = pos.deliver(pos.tx(DELEGATOR, [undelegate_msg(DELEGATOR, OP1, 7_000_000)]))
    assert res.code == 0, res.log
    assert shares(pos, OP1, DELEGATOR) == 0
    assert pool(pos, "not_bonded_pool") == 7_000_000
    fee = before - pos.balance(DELEGATOR)
    pos.block([], advance=UNBONDING - 1)
    assert pos.balance(DELEGATOR) == before - fee
    pos.block([], advance=1)
    assert pos.balance(DELEGATOR) == before - fee + 7_000_000
    assert pool(pos, "not_bonded_pool") == 0


def test_invalid_undelegate_more_than_delegated(pos: Chain) -> None:
    pos.deliver(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP1, 7_000_000)]))
    res = pos.check(pos.tx(DELEGATOR, [undelegate_msg(DELEGATOR, OP1, 7_000_001)]))
    assert res.code == errors.NoDelegationError.code


def test_undelegate_self_bond_below_minimum_jails(pos: Chain) -> None:
    res = pos.deliver(pos.tx(OP1, [undelegate_msg(OP1, OP1, SELF_BOND - 500_000)]))
    assert res.code == 0, res.log
    assert validator(pos, OP1).jailed
    assert pos.updates == [ValidatorUpdate(CONS1.public_key.raw, 0)]
    assert validator(pos, OP1).status == Status.UNBONDING


def test_redelegate(pos: Chain) -> None:
    pos.deliver(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP1, 7_000_000)]))
    res = pos.deliver(pos.tx(DELEGATOR, [redelegate_msg(DELEGATOR, OP1, OP2, 3_000_000)]))
    assert res.code == 0, res.log
    assert shares(pos, OP1, DELEGATOR) == 4_000_000
    assert shares(pos, OP2, DELEGATOR) == 3_000_000
    assert sorted(pos.updates, key=lambda u: u.power) == [
        ValidatorUpdate(CONS2.public_key.raw, 103),
        ValidatorUpdate(CONS1.public_key.raw, 104),
    ]


def test_invalid_redelegate_transitive(pos: Chain) -> None:
    pos.deliver(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP1, 7_000_000)]))
    pos.deliver(pos.tx(DELEGATOR, [redelegate_msg(DELEGATOR, OP1, OP2, 3_000_000)]))
    res = pos.check(pos.tx(DELEGATOR, [redelegate_msg(DELEGATOR, OP2, OP1, 1_000_000)]))
    assert res.code == errors.TransitiveRedelegationError.code
    pos.sequences[addr(DELEGATOR)] -= 1  # the rejected tx used no sequence
    pos.block([], advance=UNBONDING)  # matured: allowed again
    res = pos.deliver(pos.tx(DELEGATOR, [redelegate_msg(DELEGATOR, OP2, OP1, 1_000_000)]))
    assert res.code == 0, res.log


def test_invalid_redelegate_to_same_validator(pos: Chain) -> None:
    pos.deliver(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP1, 7_000_000)]))
    res = pos.check(pos.tx(DELEGATOR, [redelegate_msg(DELEGATOR, OP1, OP1, 1_000_000)]))
    assert res.code == errors.SelfRedelegationError.code


def test_validator_set_reports_only_changes(pos: Chain) -> None:
    pos.block([])
    assert pos.updates == []
    pos.deliver(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP2, 500_000)]))
    assert pos.updates == []  # power unchanged (100.5 VOX is power 100)
    pos.deliver(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP2, 500_000)]))
    assert pos.updates == [ValidatorUpdate(CONS2.public_key.raw, 101)]
