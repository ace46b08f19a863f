"""The fee market: EIP-1559's base price rule (properties), its params' validation, and what a
block does with a tx's fee (the floor part to the fee collector, above it burned, the tip to the
proposer), on the real app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.chain.harness import Chain, key, send_msg
from tests.chain.pos import OP1, cons, uint
from voxpop.chain import errors
from voxpop.chain.abci import RequestFinalizeBlock, RequestPrepareProposal
from voxpop.chain.app import event_attrs
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.feemarket.ordering import TipOrder, tip_per_gas
from voxpop.chain.modules.feemarket.state import (
    FeemarketParams,
    charge,
    next_base_price,
)
from voxpop.chain.tx import decode_tx

FLOOR = FeemarketParams().min_base_price
USERS = [key(600 + i) for i in range(12)]
GAS = 200_000  # the harness's gas limit for a paid tx
# Small blocks: 10 txs of GAS fill one, 5 meet the target; a full block raises the price 1/8
SMALL_AUTH = {"max_block_gas": 2_000_000, "max_gas_per_tx": 400_000}
SMALL_MARKET = {"target_block_gas": 1_000_000}


def small_state(**market: int) -> dict[str, Any]:
    state = default_app_state([(u.public_key.address, 10**12) for u in USERS])
    state["auth"]["params"].update(SMALL_AUTH)
    state["feemarket"] = {"params": {**vars_of(FeemarketParams()), **SMALL_MARKET, **market}}
    return state


def vars_of(params: FeemarketParams) -> dict[str, int]:
    return {name: getattr(params, name) for name in params.__slots__}


@pytest.fixture
def small(tmp_path: Path) -> Chain:
    return Chain.start(tmp_path / "chain", app_state=small_state())


def base_price(chain: Chain) -> int:
    raw = chain.query("/feemarket/base_price")
    return int.from_bytes(raw, "big") if raw else FLOOR


# --- the rule ----------------------------------------------------------------------------------

DENOMINATORS = st.integers(2, 64)


@st.composite
def markets(draw: st.DrawFn) -> tuple[int, int, int, int, int]:
    """(target, max block gas, denominator, floor, ceiling) that pass validation."""
    denominator = draw(DENOMINATORS)
    target = draw(st.integers(1, 10**9))
    max_gas = draw(st.integers(target + 1, target + target * denominator))
    floor = draw(st.integers(1, 10**12))
    ceiling = draw(st.integers(floor, floor * 10**6))
    return target, max_gas, denominator, floor, ceiling


@given(markets(), st.data())
def test_rule_is_bounded_monotone_and_within_bounds(
    market: tuple[int, int, int, int, int], data: st.DataObject
) -> None:
    target, max_gas, denominator, floor, ceiling = market
    base = data.draw(st.integers(floor, ceiling))
    gas = data.draw(st.integers(0, max_gas))
    following = next_base_price(base, gas, target, denominator, floor, ceiling)
    assert floor <= following <= ceiling
    # Monotone toward the target: fuller blocks never lower it, emptier never raise it
    if gas > target:
        assert following >= base
    elif gas < target:
        assert following <= base
    else:
        assert following == base
    # Bounded: a step is at most base * |gas - target| / target / denominator (one unit at least),
    # so never more than doubling nor more than halving
    bound = max(base * abs(gas - target) // (target * denominator), 1)
    assert abs(following - base) <= bound
    assert following <= 2 * base and 2 * following >= base


@given(markets(), st.data())
def test_rule_is_monotone_in_gas(market: tuple[int, int, int, int, int], data: Any) -> None:
    target, max_gas, denominator, floor, ceiling = market
    base = data.draw(st.integers(floor, ceiling))
    low, high = sorted(data.draw(st.lists(st.integers(0, max_gas), min_size=2, max_size=2)))
    assert next_base_price(base, low, target, denominator, floor, ceiling) <= next_base_price(
        base, high, target, denominator, floor, ceiling
    )


@given(markets(), st.data())
@settings(max_examples=50)
def test_empty_blocks_bring_the_price_to_the_floor(
    market: tuple[int, int, int, int, int], data: Any
) -> None:
    target, _, denominator, floor, ceiling = market
    base = data.draw(st.integers(floor, ceiling))
    # ln(10^6) / -ln(1 - 1/64) is about 877 blocks; then at most `denominator` unit steps
    for _ in range(1000):
        following = next_base_price(base, 0, target, denominator, floor, ceiling)
        assert floor <= following <= base
        base = following
    assert base == floor


def test_full_blocks_raise_the_price_to_the_ceiling() -> None:
    base, blocks = FLOOR, 0
    while base < 4 * FLOOR:
        base = next_base_price(base, 2_000_000, 1_000_000, 8, FLOOR, 4 * FLOOR)
        blocks += 1
    assert base == 4 * FLOOR and 11 <= blocks <= 12  # 1.125^11.8 = 4


# --- params validation -------------------------------------------------------------------------


def market_params(**changes: int) -> dict[str, int]:
    return {**vars_of(FeemarketParams()), **changes}


BAD_ALONE = {
    "floor_above_ceiling": market_params(min_base_price=10, max_base_price=9),
    "zero_floor": market_params(min_base_price=0),
    "denominator_one": market_params(change_denominator=1),
    "zero_target": market_params(target_block_gas=0),
    "not_an_integer": {**market_params(), "change_denominator": "8"},
    "unknown_param": {**market_params(), "elasticity": 2},
}


@pytest.mark.parametrize("name", sorted(BAD_ALONE))
def test_params_refused_alone(name: str) -> None:
    with pytest.raises(errors.FeeMarketParamsError):
        FeemarketParams.from_value(BAD_ALONE[name])


BIG_TXS = {"max_block_gas": 2 * 10**15, "max_gas_per_tx": 10**15}
BAD_WITH_AUTH: dict[str, tuple[dict[str, Any], dict[str, int]]] = {
    # target >= the block's gas: the price could never rise
    "target_at_max_block_gas": (market_params(target_block_gas=AuthParams().max_block_gas), {}),
    # a full block would more than double the price: 200M - 10M > 10M * 8
    "step_more_than_doubling": (market_params(target_block_gas=10_000_000), {}),
    # the base charge of the largest tx at the ceiling exceeds 64 bits
    "ceiling_beyond_64_bits": (
        market_params(max_base_price=10**17, target_block_gas=10**15),
        BIG_TXS,
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_WITH_AUTH))
def test_params_refused_against_auth(name: str, tmp_path: Path) -> None:
    value, auth_changes = BAD_WITH_AUTH[name]
    params = FeemarketParams.from_value(value)
    auth = AuthParams.from_value({**AuthParams().to_value(), **auth_changes})
    with pytest.raises(errors.FeeMarketParamsError):
        params.check_with(auth)
    # Genesis refuses them with the same typed error, before any block
    state = default_app_state([])
    state["auth"]["params"].update(auth_changes)
    state["feemarket"] = {"params": value}
    with pytest.raises(errors.FeeMarketParamsError):
        Chain.start(tmp_path / name, app_state=state)


@given(
    st.integers(1, 10**12),
    st.integers(1, 10**9),
    st.integers(2, 100),
    st.integers(2, 10**10),
)
def test_valid_params_never_more_than_double(
    floor: int, target: int, denominator: int, max_gas: int
) -> None:
    params = FeemarketParams(floor, floor * 1000, target, denominator)
    auth = AuthParams(max_block_gas=max_gas, max_gas_per_tx=min(max_gas, 10_000_000))
    try:
        params.check_with(auth)
    except errors.FeeMarketParamsError:
        return
    assert next_base_price(floor, max_gas, target, denominator, floor, 10**30) <= 2 * floor


# --- fees on the real app ----------------------------------------------------------------------


def fill_block(chain: Chain, n: int = 10, fee: int | None = None) -> None:
    txs = [chain.tx(u, [send_msg(u, USERS[0], 1)], fee=fee) for u in USERS[:n]]
    results = chain.block(txs)
    assert all(r.code == 0 for r in results), [r.log for r in results]


def test_idle_chain_charges_and_keeps_what_it_did(small: Chain) -> None:
    """At the floor a fee goes whole to the fee collector, nothing is burned, no key is written."""
    supply, pool = small.supply(), small.fee_pool()
    fill_block(small, 4)  # below the target
    assert small.fee_pool() == pool + 4 * AuthParams().min_fee(GAS)
    assert small.supply() == supply
    assert small.query("/feemarket/base_price") == b""
    assert uint(small, "/feemarket/burned") == 0


def test_full_block_raises_the_price_and_refuses_fees_below_it(small: Chain) -> None:
    fill_block(small)  # 2M gas: twice the target
    assert base_price(small) == FLOOR + FLOOR // 8
    events = [event_attrs(e) for e in small.events if e.type == "feemarket"]
    assert events[0]["gas"] == "2000000" and events[0]["next_base_price"] == str(base_price(small))
    user = USERS[3]
    low = small.tx(user, [send_msg(user, USERS[0], 1)], sequence=small.sequence(user))
    res = small.check(low)
    assert res.code == errors.FeeBelowBaseError.code and "base price" in res.log
    # In a block, too, it fails before its fee is charged: its account is untouched
    balance, sequence = small.balance(user), small.sequence(user)
    results = small.block([low])
    assert results[0].code == errors.FeeBelowBaseError.code
    assert (small.balance(user), small.sequence(user)) == (balance, sequence)
    assert uint(small, "/feemarket/burned") == 0


def test_base_above_floor_is_burned_and_tip_kept(small: Chain) -> None:
    fill_block(small)
    price = base_price(small)
    base_charge = charge(GAS, price)
    floor_charge = charge(GAS, FLOOR)
    user = USERS[4]
    supply, pool = small.supply(), small.fee_pool()
    tx = small.tx(user, [send_msg(user, USERS[0], 1)], fee=base_charge + 40)
    assert small.check(tx).code == 0
    assert small.block([tx])[0].code == 0
    burned = base_charge - floor_charge
    assert burned > 0
    assert small.supply() == supply - burned
    assert uint(small, "/feemarket/burned") == burned
    # No validator proposed it (a chain without staking): the tip stays with the fees
    assert small.fee_pool() == pool + floor_charge + 40
    assert uint(small, "/feemarket/tips") == 0


def test_tip_goes_to_the_proposer(tmp_path: Path) -> None:
    from tests.chain.pos import CONS1, DELEGATOR, start

    chain = start(tmp_path / "pos")
    tx = chain.tx(DELEGATOR, [send_msg(DELEGATOR, OP1, 1)], fee=AuthParams().min_fee(GAS) + 123)
    before = chain.balance(OP1)
    chain.time += 5
    height = chain.app.last_height + 1
    res = chain.app.finalize_block(
        RequestFinalizeBlock(
            (tx,),
            height,
            chain.time,
            proposer_address=cons(CONS1),
            decided_last_commit=chain.votes(height),
        )
    )
    chain.app.commit()
    assert res.tx_results[0].code == 0, res.tx_results[0].log
    assert chain.balance(OP1) == before + 1 + 123
    assert uint(chain, "/feemarket/tips") == 123
    tips = [event_attrs(e) for e in res.events if e.type == "feemarket"]
    assert tips[0]["tips"] == "123" and tips[0]["proposer"]
    chain.app.store.close()


def test_gov_params_change_is_validated(small: Chain) -> None:
    """The params pass through the module's validation whatever sets them (gov uses this)."""
    from voxpop.chain.context import BlockInfo, Context
    from voxpop.chain.gas import InfiniteGasMeter
    from voxpop.chain.kv import Branch
    from voxpop.chain.modules.feemarket.module import FeemarketModule

    module = FeemarketModule()
    ctx = Context(
        BlockInfo("c", 1, 0), Branch(small.app.committed), InfiniteGasMeter(), AuthParams().gas
    )
    with pytest.raises(errors.FeeMarketParamsError, match="more than double"):
        module.set_params_value(ctx, market_params(target_block_gas=100_000))
    with pytest.raises(errors.FeeMarketParamsError, match="below auth max_block_gas"):
        module.set_params_value(ctx, market_params(target_block_gas=2_000_000))
    assert ctx.store.writes == {}
    # And auth's limits cannot move under the fee market's target
    from voxpop.chain.modules.auth.module import AuthModule

    auth = {**AuthParams().to_value(), **SMALL_AUTH, "max_block_gas": 900_000}
    auth["max_gas_per_tx"] = 400_000
    with pytest.raises(errors.FeeMarketParamsError):
        AuthModule().set_params_value(ctx, auth)


# --- proposal order by tip ---------------------------------------------------------------------


def test_proposal_orders_by_tip_keeping_each_senders_order(small: Chain) -> None:
    a, b, c = USERS[1], USERS[2], USERS[3]
    floor_fee = AuthParams().min_fee(GAS)
    txs = [
        small.tx(a, [send_msg(a, c, 1)], fee=floor_fee),  # a0: no tip
        small.tx(a, [send_msg(a, c, 1)], fee=floor_fee + 500),  # a1: big tip, after a0
        small.tx(b, [send_msg(b, c, 1)], fee=floor_fee + 100),  # b0
        small.tx(c, [send_msg(c, a, 1)], fee=floor_fee + 300),  # c0
        small.tx(c, [send_msg(c, a, 1)], fee=floor_fee + 50),  # c1
    ]
    for tx in txs:
        assert small.check(tx).code == 0
    height = small.app.last_height + 1
    proposal = small.app.prepare_proposal(
        RequestPrepareProposal(0, tuple(txs), height, small.time + 5)
    ).txs
    names = {tx: n for tx, n in zip(txs, ["a0", "a1", "b0", "c0", "c1"], strict=True)}
    assert [names[t] for t in proposal] == ["c0", "b0", "c1", "a0", "a1"]
    assert all(r.code == 0 for r in small.block(list(proposal)))


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 1000)), max_size=30))
@settings(max_examples=40)
def test_tip_order_keeps_sequences_and_prefers_tips(draws: list[tuple[int, int]]) -> None:
    from voxpop.chain.tx import encode_tx, make_body

    seqs: dict[int, int] = {}
    items = []
    for signer, tip in draws:
        k = USERS[signer]
        seq = seqs.get(signer, 0)
        seqs[signer] = seq + 1
        body = make_body(
            chain_id="c",
            pub_key=k.public_key.raw,
            sequence=seq,
            fee=charge(GAS, FLOOR) + tip,
            gas_limit=GAS,
            msgs=[send_msg(k, USERS[0], 1)],
        )
        raw = encode_tx(body, k.sign(body.sign_bytes()))
        items.append((raw, decode_tx(raw)))
    order = TipOrder(items, FLOOR)
    out = []
    while (item := order.next()) is not None:
        out.append(item[1])
        order.taken()
    assert len(out) == len(items)
    # Each tx taken is its signer's next one, with the highest tip of every signer's next one
    queues: dict[bytes, list[Any]] = {}
    for _, tx in items:
        queues.setdefault(tx.body.pub_key, []).append(tx)
    for tx in out:
        signer = tx.body.pub_key
        assert queues[signer][0] is tx
        best = max(tip_per_gas(q[0], FLOOR) for q in queues.values() if q)
        assert tip_per_gas(tx, FLOOR) == best
        queues[signer].pop(0)
