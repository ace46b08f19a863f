"""Slashing: downtime jailing from last-commit votes, double-sign tombstoning from evidence,
slashing of entries created after the infraction, unjail."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.chain.harness import Chain
from tests.chain.pos import (
    CONS1,
    DELEGATOR,
    JAIL,
    OP1,
    OP2,
    SELF_BOND,
    SLASHING,
    WINDOW,
    addr,
    cons,
    delegate_msg,
    redelegate_msg,
    shares,
    signing_info,
    start,
    uint,
    undelegate_msg,
    validator,
)
from voxpop.chain import errors
from voxpop.chain.abci import Misbehavior, MisbehaviorType, Validator, ValidatorUpdate
from voxpop.chain.encoding import decode_state
from voxpop.chain.modules.staking.state import UNBONDING_PREFIX, Status

UNJAIL = ("slashing/Unjail", {"operator": addr(OP1)})


def go_offline(chain: Chain) -> None:
    """CONS1 misses every vote until it is jailed (a window, then more than half of it)."""
    for _ in range(2 * WINDOW):
        chain.block([], absent={cons(CONS1)})
        if validator(chain, OP1).jailed:
            return
    raise AssertionError("never jailed")


def double_sign(chain: Chain, height: int, power: int = 100) -> Misbehavior:
    return Misbehavior(
        MisbehaviorType.DUPLICATE_VOTE, Validator(cons(CONS1), power), height, chain.time, 200
    )


def test_downtime_jails_and_slashes(pos: Chain) -> None:
    supply = pos.supply()
    go_offline(pos)
    val = validator(pos, OP1)
    assert val.jailed and not val.tombstoned and val.status == Status.UNBONDING
    assert val.tokens == SELF_BOND - SELF_BOND // 100  # 1 %
    assert pos.updates == [ValidatorUpdate(CONS1.public_key.raw, 0)]
    assert uint(pos, "/bank/burned") == SELF_BOND // 100
    assert pos.supply() <= supply + uint(pos, "/distribution/issued")
    assert signing_info(pos, CONS1).jailed_until == pos.time + JAIL


def test_signing_within_the_window_is_not_punished(pos: Chain) -> None:
    for i in range(3 * WINDOW):
        pos.block([], absent={cons(CONS1)} if i % 3 == 0 else set())
    assert not validator(pos, OP1).jailed
    assert signing_info(pos, CONS1).missed <= WINDOW // 2


def test_unjail(pos: Chain) -> None:
    go_offline(pos)
    pos.block([], advance=JAIL)
    res = pos.deliver(pos.tx(OP1, [UNJAIL]))
    assert res.code == 0, res.log
    assert not validator(pos, OP1).jailed
    assert pos.updates == [ValidatorUpdate(CONS1.public_key.raw, 99)]


def test_invalid_unjail_too_early(pos: Chain) -> None:
    go_offline(pos)
    assert pos.check(pos.tx(OP1, [UNJAIL])).code == errors.JailPeriodActiveError.code


def test_invalid_unjail_not_jailed(pos: Chain) -> None:
    assert pos.check(pos.tx(OP1, [UNJAIL])).code == errors.ValidatorNotJailedError.code


def test_double_sign_slashes_jails_and_tombstones(pos: Chain) -> None:
    pos.block([])
    pos.block([], misbehavior=[double_sign(pos, pos.app.last_height - 1)])
    val = validator(pos, OP1)
    assert val.jailed and val.tombstoned
    assert val.tokens == SELF_BOND - SELF_BOND * 5 // 100
    assert pos.updates == [ValidatorUpdate(CONS1.public_key.raw, 0)]
    # The same evidence again (or any later) slashes no more
    pos.block([], misbehavior=[double_sign(pos, pos.app.last_height - 2)])
    assert validator(pos, OP1).tokens == val.tokens


def test_invalid_unjail_tombstoned(pos: Chain) -> None:
    pos.block([], misbehavior=[double_sign(pos, 1)])
    pos.block([], advance=10**6)
    assert pos.check(pos.tx(OP1, [UNJAIL])).code == errors.ValidatorTombstonedError.code


def test_evidence_of_unknown_or_stale_infractions_is_ignored(tmp_path: Path) -> None:
    params = replace(SLASHING, max_evidence_age_blocks=2, max_evidence_age_seconds=100)
    chain = start(tmp_path / "s", slashing=params)
    unknown = Misbehavior(MisbehaviorType.DUPLICATE_VOTE, Validator(b"\x01" * 20, 100), 1, 0, 200)
    stale = Misbehavior(MisbehaviorType.DUPLICATE_VOTE, Validator(cons(CONS1), 100), 1, 0, 200)
    chain.block([])
    chain.block([])
    chain.block([], advance=200, misbehavior=[unknown, stale])  # 3 blocks and 200+ s old
    assert not validator(chain, OP1).jailed
    chain.app.store.close()


def test_undelegation_after_infraction_is_slashed(pos: Chain) -> None:
    pos.deliver(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP1, 40_000_000)]))
    pos.deliver(pos.tx(DELEGATOR, [undelegate_msg(DELEGATOR, OP1, 10_000_000)]))  # before
    infraction = pos.app.last_height + 1
    pos.block([])
    pos.deliver(pos.tx(DELEGATOR, [undelegate_msg(DELEGATOR, OP1, 20_000_000)]))  # after
    pos.block([], misbehavior=[double_sign(pos, infraction, 140)])
    balances = sorted(
        decode_state(v)["balance"] for _, v in pos.app.committed.iterate(UNBONDING_PREFIX)
    )
    assert balances == [10_000_000, 19_000_000]  # only the later entry lost 5 %
    # The rest of 5 % of the stake at the infraction (140 VOX) comes from the validator's tokens
    burned = 140_000_000 * 5 // 100
    assert uint(pos, "/bank/burned") == burned
    assert validator(pos, OP1).tokens == 110_000_000 - (burned - 1_000_000)


def test_redelegation_after_infraction_is_slashed(pos: Chain) -> None:
    pos.deliver(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP1, 40_000_000)]))
    infraction = pos.app.last_height
    pos.deliver(pos.tx(DELEGATOR, [redelegate_msg(DELEGATOR, OP1, OP2, 20_000_000)]))
    assert shares(pos, OP2, DELEGATOR) == 20_000_000
    pos.block([], misbehavior=[double_sign(pos, infraction, 140)])
    assert shares(pos, OP2, DELEGATOR) == 19_000_000
    assert validator(pos, OP2).tokens == SELF_BOND + 19_000_000
    assert not validator(pos, OP2).jailed
