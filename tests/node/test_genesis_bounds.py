"""Finding 6 of issue 6: genesis validation refuses what would fail later, and whatever it accepts
makes blocks (a century of issuance, unbonding with the longest periods, a send) on a real app."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.chain.harness import Chain, key
from voxpop.chain.errors import InvalidGenesisError
from voxpop.chain.genesis import Genesis, default_app_state, genesis_from_json, validate_genesis
from voxpop.chain.modules.bounds import HORIZON_SECONDS, MAX_UINT64, SECONDS_PER_YEAR
from voxpop.chain.modules.slashing.state import MAX_SIGNED_BLOCKS_WINDOW

OPERATOR, CONSENSUS, USER = key(501), key(502), key(503)
SELF_BOND = 10_000_000
FUNDS = 1_000_000_000_000


def genesis_doc(app_state: dict[str, Any] | None = None) -> dict[str, Any]:
    state = app_state or default_app_state(
        [(OPERATOR.public_key.address, FUNDS), (USER.public_key.address, FUNDS)],
        validators=[(OPERATOR.public_key.address, CONSENSUS.public_key.raw, SELF_BOND)],
    )
    return Genesis(
        chain_id="voxpop-bounds",
        genesis_time_unix=1_800_000_000,
        initial_height=1,
        validators=(),
        app_state=state,
        consensus_params={},
    ).to_json()


def check(doc: dict[str, Any]) -> None:
    validate_genesis(genesis_from_json(doc))


def set_param(module: str, name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        params = doc["app_state"][module]["params"]
        if "." in name:
            outer, inner = name.split(".")
            params[outer][inner] = value
        else:
            params[name] = value

    return edit


def supply_near_max(doc: dict[str, Any]) -> None:
    balances = doc["app_state"]["bank"]["balances"]
    balances[0]["amount"] += MAX_UINT64 - 10 - sum(b["amount"] for b in balances)


def add_validator(power: int, pub: bytes) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        import base64

        value = base64.b64encode(pub).decode()
        entry = {"pub_key": {"type": "tendermint/PubKeyEd25519", "value": value}}
        doc["validators"].append({**entry, "power": str(power), "name": "v"})

    return edit


def both(*edits: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        for e in edits:
            e(doc)

    return edit


REJECTED: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    # bank's mint refuses to pass 2^64 - 1: the first block with issuance would stop the chain
    "supply_without_issuance_headroom": (supply_near_max, "100 years of issuance"),
    "inflation_without_headroom": (
        both(
            set_param("distribution", "max_inflation_bps", 10_000),
            set_param("distribution", "annual_inflation_bps", 10_000),
        ),
        "100 years of issuance",
    ),
    # completion time (block time + period) is an 8-byte key: 2^64 - 1 seconds would wrap
    "unbonding_time_overflowing_its_key": (
        set_param("staking", "unbonding_time_seconds", MAX_UINT64),
        "unbonding_time_seconds",
    ),
    "jail_time_beyond_horizon": (
        set_param("slashing", "downtime_jail_seconds", MAX_UINT64),
        "downtime_jail_seconds",
    ),
    "evidence_age_beyond_horizon": (
        set_param("slashing", "max_evidence_age_seconds", HORIZON_SECONDS + 1),
        "max_evidence_age_seconds",
    ),
    "epoch_beyond_horizon": (set_param("grant", "epoch_seconds", MAX_UINT64), "epoch_seconds"),
    "attestation_ttl_beyond_horizon": (
        set_param("grant", "max_attestation_ttl", MAX_UINT64),
        "max_attestation_ttl",
    ),
    # clearing a window is one unmetered loop in a begin-block
    "huge_signed_blocks_window": (
        set_param("slashing", "signed_blocks_window", 1 << 40),
        "signed_blocks_window",
    ),
    "slash_fraction_over_100_percent": (
        set_param("slashing", "slash_fraction_double_sign_bps", 10_001),
        "slash_fraction_double_sign_bps",
    ),
    # CometBFT cannot commit with more than 10,000 votes
    "too_many_validators": (set_param("staking", "max_validators", 10_001), "max_validators"),
    # the decoder refuses more than 1 MiB; CometBFT blocks are at most 100 MiB
    "tx_larger_than_the_format": (set_param("auth", "max_tx_bytes", 2 << 20), "max_tx_bytes"),
    "block_larger_than_cometbft": (
        set_param("auth", "max_block_bytes", 200 << 20),
        "max_block_bytes",
    ),
    # a tx the mempool accepts must fit in a block, else it is stuck there
    "tx_larger_than_a_block": (
        both(
            set_param("auth", "max_block_bytes", 4096),
            set_param("auth", "max_tx_bytes", 8192),
        ),
        "fit in a block",
    ),
    "tx_gas_above_block_gas": (
        set_param("auth", "max_gas_per_tx", 300_000_000),
        "fit in a block",
    ),
    "tx_gas_below_the_smallest_tx": (
        set_param("auth", "max_gas_per_tx", 1_000),
        "every tx needs",
    ),
    "gas_cost_beyond_int64_room": (set_param("auth", "gas.tx_byte", 1 << 40), "gas.tx_byte"),
    "min_fee_beyond_64_bits": (
        both(
            set_param("auth", "min_gas_price_num", MAX_UINT64),
            set_param("auth", "min_gas_price_den", 1),
        ),
        "minimum fee",
    ),
    "genesis_time_before_1970": (
        lambda doc: doc.update(genesis_time="1960-01-01T00:00:00Z"),
        "genesis_time",
    ),
    "validator_power_zero": (add_validator(0, bytes(32)), "powers must be positive"),
    "validator_power_over_cometbft_total": (
        add_validator(1 << 62, bytes(32)),
        "powers must be positive",
    ),
    "validator_listed_twice": (
        both(add_validator(1, bytes(32)), add_validator(1, bytes(32))),
        "listed twice",
    ),
    "unfunded_genesis_validator": (
        lambda doc: doc["app_state"]["bank"]["balances"].pop(0),
        "balance 0 uvox",
    ),
    "unknown_module": (lambda doc: doc["app_state"].update(kv={}), "unknown modules"),
}


def test_default_genesis_is_valid() -> None:
    check(genesis_doc())


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_finding6_genesis_rejects(case: str) -> None:
    edit, reason = REJECTED[case]
    doc = genesis_doc()
    edit(doc)
    with pytest.raises(InvalidGenesisError) as rejected:
        check(doc)
    assert reason.lower() in rejected.value.message.lower()


def test_finding6_genesis_rejects_supply_headroom_exactly() -> None:
    """The headroom check is tight: the largest supply it names is accepted, one more is not."""
    doc = genesis_doc()
    supply_near_max(doc)
    with pytest.raises(InvalidGenesisError) as rejected:
        check(doc)
    limit = int(rejected.value.message.rsplit("at most ", 1)[1].split()[0])
    balances = doc["app_state"]["bank"]["balances"]
    balances[0]["amount"] += limit - sum(b["amount"] for b in balances)
    check(doc)
    balances[0]["amount"] += 1
    with pytest.raises(InvalidGenesisError):
        check(doc)


# --- whatever passes validation makes blocks ---------------------------------------------------

LONG_PERIOD = st.one_of(
    st.integers(1, 1000), st.integers(HORIZON_SECONDS - 1000, HORIZON_SECONDS), st.integers(1)
)


@st.composite
def genesis_states(draw: st.DrawFn) -> dict[str, Any]:
    doc = genesis_doc()
    state = doc["app_state"]
    # Supplies from small to the edge of the headroom and beyond it
    extra = draw(st.one_of(st.integers(0, 10**15), st.integers(0, MAX_UINT64)))
    state["bank"]["balances"][-1]["amount"] = min(FUNDS + extra, MAX_UINT64 // 2)
    dist = state["distribution"]["params"]
    rate = st.one_of(st.integers(0, 1_000), st.integers(0, 10_000))
    low, annual, high = sorted(draw(st.lists(rate, min_size=3, max_size=3)))
    dist.update(min_inflation_bps=low, annual_inflation_bps=annual, max_inflation_bps=high)
    state["staking"]["params"]["unbonding_time_seconds"] = draw(LONG_PERIOD)
    state["slashing"]["params"]["downtime_jail_seconds"] = draw(LONG_PERIOD)
    state["slashing"]["params"]["signed_blocks_window"] = draw(st.integers(1, 1 << 41))
    state["grant"]["params"]["epoch_seconds"] = draw(LONG_PERIOD)
    return doc


def run_blocks(doc: dict[str, Any]) -> None:
    """Genesis, a block, a century later a block (all its issuance at once), an undelegation
    (an unbonding entry keyed by block time + unbonding time) and a send: none may fail."""
    with tempfile.TemporaryDirectory() as tmp:
        chain = Chain.start(Path(tmp), app_state=doc["app_state"])
        try:
            chain.block([], advance=1)
            chain.block([], advance=HORIZON_SECONDS - 10 * SECONDS_PER_YEAR)
            operator = OPERATOR.public_key.address
            undelegate = ("staking/Undelegate", {"delegator": operator, "validator": operator})
            tx = chain.tx(OPERATOR, [(undelegate[0], {**undelegate[1], "amount": 1_000_000})])
            assert chain.deliver(tx).code == 0
            send = {"from": USER.public_key.address, "to": operator, "amount": 1}
            assert chain.deliver(chain.tx(USER, [("bank/Send", send)])).code == 0
            assert chain.supply() <= MAX_UINT64
        finally:
            chain.app.store.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(genesis_states())
def test_finding6_valid_genesis_makes_blocks(doc: dict[str, Any]) -> None:
    try:
        check(copy.deepcopy(doc))
    except InvalidGenesisError:
        return
    run_blocks(doc)


def test_finding6_genesis_at_every_bound_makes_blocks() -> None:
    """The largest supply the headroom allows, and every period at the horizon: blocks go on."""
    doc = genesis_doc()
    supply_near_max(doc)
    with pytest.raises(InvalidGenesisError) as rejected:
        check(doc)
    limit = int(rejected.value.message.rsplit("at most ", 1)[1].split()[0])
    balances = doc["app_state"]["bank"]["balances"]
    balances[0]["amount"] += limit - sum(b["amount"] for b in balances)
    state = doc["app_state"]
    state["staking"]["params"]["unbonding_time_seconds"] = HORIZON_SECONDS
    state["slashing"]["params"]["downtime_jail_seconds"] = HORIZON_SECONDS
    state["slashing"]["params"]["max_evidence_age_seconds"] = HORIZON_SECONDS
    state["slashing"]["params"]["signed_blocks_window"] = MAX_SIGNED_BLOCKS_WINDOW
    state["grant"]["params"]["epoch_seconds"] = HORIZON_SECONDS
    state["grant"]["params"]["max_attestation_ttl"] = HORIZON_SECONDS
    check(doc)
    run_blocks(doc)
