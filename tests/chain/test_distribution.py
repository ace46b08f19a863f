"""Distribution: issuance, fees, commission, delegator rewards; every uvox accounted for."""

from __future__ import annotations

import random
from pathlib import Path

from tests.chain.harness import Chain
from tests.chain.pos import (
    CONS2,
    DELEGATOR,
    DELEGATOR2,
    OP1,
    OP2,
    addr,
    claim_msg,
    cons,
    delegate_msg,
    pool,
    redelegate_msg,
    start,
    uint,
    undelegate_msg,
)
from voxpop.chain import errors
from voxpop.chain.app import event_attrs
from voxpop.chain.modules.distribution.state import (
    BPS,
    SECONDS_PER_YEAR,
    DistributionParams,
    compute_issuance,
)


def test_issuance_is_pro_rata_to_block_time(pos: Chain) -> None:
    supply = pos.supply()
    issued = uint(pos, "/distribution/issued")
    pos.block([], advance=600)
    minted = uint(pos, "/distribution/issued") - issued
    rate = DistributionParams().annual_inflation_bps
    assert (
        minted == supply * rate * 600 // (BPS * SECONDS_PER_YEAR)
        or minted == compute_issuance(supply, rate, 600, 0)[0] + 1
    )
    assert pos.supply() == supply + minted
    assert uint(pos, "/bank/minted") == uint(pos, "/distribution/issued")


def test_issuance_carry_loses_nothing() -> None:
    total, carry = 0, 0
    for _ in range(1000):
        amount, carry = compute_issuance(10**12, 700, 5, carry)
        total += amount
    assert total == 10**12 * 700 * 5000 // (BPS * SECONDS_PER_YEAR)


def test_rewards_go_to_signers_only(pos: Chain) -> None:
    pos.block([], advance=600, absent={cons(CONS2)})
    events = [event_attrs(e) for e in pos.events if e.type == "rewards"]
    assert [e["validator"] for e in events] == [_text(OP1)]
    assert uint(pos, "/distribution/outstanding", addr(OP2)) == 0
    assert uint(pos, "/distribution/commission", addr(OP2)) == 0


def _text(k: object) -> str:
    from voxpop.chain.modules.codec import addr_text

    return addr_text(addr(k))  # type: ignore[arg-type]


def test_claim_rewards(pos: Chain) -> None:
    pos.deliver(pos.tx(DELEGATOR, [delegate_msg(DELEGATOR, OP1, 100_000_000)]))
    pos.block([], advance=3600)
    before = pos.balance(DELEGATOR)
    res = pos.deliver(pos.tx(DELEGATOR, [claim_msg(DELEGATOR, OP1)], fee=200))
    assert res.code == 0, res.log
    paid = [int(event_attrs(e)["amount"]) for e in res.events if e.type == "claim_rewards"]
    assert paid and paid[0] > 0
    assert pos.balance(DELEGATOR) == before - 200 + paid[0]


def test_invalid_claim_rewards_without_delegation(pos: Chain) -> None:
    res = pos.check(pos.tx(DELEGATOR, [claim_msg(DELEGATOR, OP1)]))
    assert res.code == errors.NoDelegationError.code


def test_claim_commission(pos: Chain) -> None:
    pos.block([], advance=3600)
    owed = uint(pos, "/distribution/commission", addr(OP1))
    assert owed > 0
    before = pos.balance(OP1)
    msg = ("distribution/ClaimCommission", {"operator": addr(OP1)})
    assert pos.deliver(pos.tx(OP1, [msg], fee=200)).code == 0
    assert pos.balance(OP1) >= before - 200 + owed  # plus whatever the claim block added meanwhile


def test_invalid_claim_commission_when_none(tmp_path: Path) -> None:
    chain = start(tmp_path / "c", commission_rate_bps=0)
    msg = ("distribution/ClaimCommission", {"operator": addr(OP1)})
    assert chain.check(chain.tx(OP1, [msg])).code == errors.NoCommissionError.code
    chain.app.store.close()


def test_rewards_are_exact_over_many_blocks(tmp_path: Path) -> None:
    """issued + fees == community pool + distribution account + everything paid out, to the uvox,
    over random delegations, undelegations, redelegations, claims and missed votes."""
    chain = start(tmp_path / "x")
    rng = random.Random(7)
    people = [DELEGATOR, DELEGATOR2]
    vals = [OP1, OP2]
    paid = 0
    fees = 0  # the fee collector holds only block 1's issuance (block 1 has no votes to pay)
    for _ in range(40):
        txs = []
        for who in people:
            roll = rng.random()
            v, w = rng.sample(vals, 2)
            if roll < 0.4:
                msg = delegate_msg(who, v, rng.randint(1, 30_000_000))
            elif roll < 0.55:
                msg = undelegate_msg(who, v, rng.randint(1, 2_000_000))
            elif roll < 0.7:
                msg = redelegate_msg(who, v, w, rng.randint(1, 2_000_000))
            else:
                msg = claim_msg(who, v)
            txs.append(chain.tx(who, [msg]))
        absent = {cons(CONS2)} if rng.random() < 0.2 else set()
        for res in chain.block(txs, advance=rng.randint(1, 900), absent=absent):
            fees += sum(int(event_attrs(e)["fee"]) for e in res.events if e.type == "tx")
            if res.code != 0:  # a failed message changes nothing but its fee and sequence
                continue
            for e in res.events:
                if e.type in ("claim_rewards", "claim_commission"):
                    paid += int(event_attrs(e)["amount"])
    for op in vals:
        msg = ("distribution/ClaimCommission", {"operator": addr(op)})
        for res in chain.block([chain.tx(op, [msg])]):
            fees += sum(int(event_attrs(e)["fee"]) for e in res.events if e.type == "tx")
            paid += sum(
                int(event_attrs(e)["amount"]) for e in res.events if e.type == "claim_commission"
            )
    issued = uint(chain, "/distribution/issued")
    distributed = uint(chain, "/distribution/distributed")
    assert issued > 0 and fees > 0
    # Everything issued or paid in fees was distributed, except what waits in the fee collector
    assert issued + fees == distributed + chain.fee_pool()
    held = pool(chain, "community_pool") + pool(chain, "distribution")
    assert distributed == held + paid
    chain.app.store.close()
