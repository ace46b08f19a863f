"""The storage module, one transition at a time: each `test_<case>` checks the state after it,
each `test_invalid_<case>` checks the typed error and that the refused tx changed nothing but
its signer's fee (the harness checks every module's invariants after every block)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chain.harness import Chain
from tests.chain.storage_world import (
    CAPACITY,
    COLLATERAL,
    FEE,
    OWNER_KEYS,
    OWNERS,
    PARAMS,
    PRICE,
    PROVIDER_KEYS,
    PROVIDERS,
    SHARD_SIZE,
    START,
    World,
)
from voxpop.chain import errors
from voxpop.chain.module_accounts import COMMUNITY_POOL, STORAGE, module_address
from voxpop.chain.modules.storage import state
from voxpop.chain.modules.storage.messages import MAX_EPOCHS
from voxpop.chain.modules.storage.module import StorageModule, deal_json
from voxpop.crypto.keys import PrivateKey

MODULE = module_address(STORAGE)
POOL = module_address(COMMUNITY_POOL)
OID = bytes(range(32))
OID2 = bytes(range(1, 33))
EPOCHS = 5


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World.start(tmp_path / "s")
    for i in range(4):
        assert w.register(i) == 0
    yield w
    w.chain.app.store.close()


@pytest.fixture
def placed(world: World) -> World:
    """A 2-of-3 deal on providers 0, 1, 2, every shard confirmed; the next block starts its
    first epoch (challenges drawn)."""
    assert world.open_deal(0, OID, [0, 1, 2], epochs=EPOCHS) == 0
    for i in range(3):
        assert world.confirm(i, [(OID, i)]) == 0
    deal = world.deal(OID)
    assert deal is not None
    world.to_offset(max(p.active_from for p in deal.placements), 0)
    return world


def refused(w: World, signer: PrivateKey, type_: str, value: dict[str, Any], error: Any) -> None:
    """The message fails with `error` and changes nothing but the signer's fee."""
    while w.next_height % PARAMS.epoch_blocks in (0, PARAMS.proof_deadline_blocks):
        w.chain.block([])  # a block whose hooks change state: compare around a quiet one
    before = w.storage_state()
    balances = {a: w.chain.balance(a) for a in [*PROVIDERS, *OWNERS, MODULE, POOL]}
    assert w.send(signer, type_, value) == error.code
    assert w.storage_state() == before
    balances[signer.public_key.address] -= FEE
    assert {a: w.chain.balance(a) for a in balances} == balances


def parse_refused(
    w: World, signer: PrivateKey, type_: str, value: dict[str, Any], error: Any
) -> None:
    """Refused when parsed: no fee, no sequence used."""
    tx = w.chain.tx(signer, [(type_, value)], gas_limit=400_000)
    w.chain.sequences[signer.public_key.address] -= 1
    assert w.chain.deliver(tx).code == error.code


# --- providers ----------------------------------------------------------------------------------


def test_register(world: World) -> None:
    p = world.provider(0)
    assert p is not None and (p.capacity, p.price, p.collateral, p.used) == (
        CAPACITY,
        PRICE,
        COLLATERAL,
        0,
    )
    assert world.chain.balance(PROVIDERS[0]) == START - FEE - COLLATERAL
    assert world.chain.balance(MODULE) == 4 * COLLATERAL


def test_invalid_register(world: World) -> None:
    again = {
        "provider": PROVIDERS[0],
        "endpoint": "http://x",
        "capacity": 1,
        "price": 1,
        "collateral": COLLATERAL,
    }
    refused(world, PROVIDER_KEYS[0], "storage/Register", again, errors.StorageProviderExistsError)
    low = {**again, "provider": OWNERS[1], "collateral": PARAMS.min_collateral - 1}
    refused(world, OWNER_KEYS[1], "storage/Register", low, errors.StorageCollateralLowError)
    parse_refused(
        world,
        OWNER_KEYS[1],
        "storage/Register",
        {**low, "endpoint": "ftp://x"},
        errors.InvalidEndpointError,
    )


def test_update_and_add_collateral(world: World) -> None:
    value = {"provider": PROVIDERS[0], "endpoint": "https://s.example", "capacity": 5, "price": 7}
    assert world.send(PROVIDER_KEYS[0], "storage/Update", value) == 0
    assert (
        world.send(
            PROVIDER_KEYS[0], "storage/AddCollateral", {"provider": PROVIDERS[0], "amount": 9}
        )
        == 0
    )
    p = world.provider(0)
    assert p is not None and (p.endpoint, p.capacity, p.price, p.collateral) == (
        "https://s.example",
        5,
        7,
        COLLATERAL + 9,
    )


def test_invalid_update(placed: World) -> None:
    value = {
        "provider": PROVIDERS[0],
        "endpoint": "http://x",
        "capacity": SHARD_SIZE - 1,
        "price": 1,
    }
    refused(placed, PROVIDER_KEYS[0], "storage/Update", value, errors.StorageOverCapacityError)
    stranger = {**value, "provider": OWNERS[1], "capacity": 10}
    refused(placed, OWNER_KEYS[1], "storage/Update", stranger, errors.StorageProviderNotFoundError)
    add = {"provider": OWNERS[1], "amount": 5}
    refused(
        placed, OWNER_KEYS[1], "storage/AddCollateral", add, errors.StorageProviderNotFoundError
    )
    rich = {"provider": PROVIDERS[0], "amount": START}
    refused(placed, PROVIDER_KEYS[0], "storage/AddCollateral", rich, errors.InsufficientFundsError)


def test_withdraw(world: World) -> None:
    assert world.send(PROVIDER_KEYS[3], "storage/Withdraw", {"provider": PROVIDERS[3]}) == 0
    assert world.provider(3) is None
    assert world.chain.balance(PROVIDERS[3]) == START - 2 * FEE
    assert world.chain.balance(MODULE) == 3 * COLLATERAL


def test_invalid_withdraw(placed: World) -> None:
    busy = {"provider": PROVIDERS[0]}
    refused(placed, PROVIDER_KEYS[0], "storage/Withdraw", busy, errors.StorageProviderBusyError)
    stranger = {"provider": OWNERS[0]}
    refused(
        placed, OWNER_KEYS[0], "storage/Withdraw", stranger, errors.StorageProviderNotFoundError
    )


# --- deals ----------------------------------------------------------------------------------------


def test_open_deal(world: World) -> None:
    assert world.open_deal(0, OID, [0, 1, 2], epochs=EPOCHS) == 0
    deal = world.deal(OID)
    assert deal is not None and deal.end_epoch - deal.start_epoch == EPOCHS
    assert [p.status for p in deal.placements] == ["pending"] * 3
    assert [p.escrow for p in deal.placements] == [SHARD_SIZE * EPOCHS] * 3  # price 1 uvox/B-epoch
    assert world.chain.balance(OWNERS[0]) == START - FEE - 3 * SHARD_SIZE * EPOCHS
    assert world.chain.balance(MODULE) == 4 * COLLATERAL + deal.held()
    p = world.provider(1)
    assert p is not None and p.used == SHARD_SIZE
    shown = deal_json(OID, deal)
    assert [pl["status"] for pl in shown["placements"]] == ["pending"] * 3
    assert set(shown["placements"][0]) == {"provider", "root", "status"}


def test_invalid_open_deal(world: World) -> None:
    o = OWNER_KEYS[0]
    good = world.deal_msg(0, OID, [0, 1, 2])
    too_wide = world.deal_msg(0, OID, [0, 1, 2, 3, 0, 1, 2])
    too_wide["providers"] = [bytes([i]) * 20 for i in range(7)]
    refused(world, o, "storage/OpenDeal", too_wide, errors.StorageBadCodingError)
    refused(world, o, "storage/OpenDeal", {**good, "leaf_size": 128}, errors.StorageBadCodingError)
    big = {**good, "shard_size": PARAMS.max_shard_size + 1}
    refused(world, o, "storage/OpenDeal", big, errors.StorageShardTooLargeError)
    unknown = {**good, "providers": [PROVIDERS[0], PROVIDERS[1], OWNERS[1]]}
    refused(world, o, "storage/OpenDeal", unknown, errors.StorageProviderNotFoundError)
    cheap = {**good, "max_price": PRICE - 1}
    refused(world, o, "storage/OpenDeal", cheap, errors.StoragePriceTooHighError)
    huge = {**good, "shard_size": CAPACITY + 1, "size": CAPACITY + 1}
    refused(world, o, "storage/OpenDeal", huge, errors.StorageOverCapacityError)
    long = {**good, "epochs": MAX_EPOCHS}  # escrow beyond the owner's balance
    refused(world, o, "storage/OpenDeal", long, errors.InsufficientFundsError)
    assert world.send(o, "storage/OpenDeal", good) == 0
    refused(world, o, "storage/OpenDeal", good, errors.StorageDealExistsError)
    # refused when parsed: k >= n, a provider twice, fewer roots than shards, size > k shards
    for bad, error in (
        ({**good, "k": 3}, errors.StorageBadCodingError),
        ({**good, "providers": [PROVIDERS[0]] * 3}, errors.StorageDuplicateProviderError),
        ({**good, "roots": good["roots"][:2]}, errors.StorageBadCodingError),
        ({**good, "size": 2 * SHARD_SIZE + 1}, errors.StorageBadCodingError),
    ):
        parse_refused(world, o, "storage/OpenDeal", bad, error)


def test_collateral_low_takes_no_shard(tmp_path: Path) -> None:
    params = state.StorageParams(**{**PARAMS.to_value(), "slash_fraction_bps": 10_000})
    w = World.start(tmp_path / "s", params)
    for i in range(3):
        assert w.register(i) == 0
    assert w.open_deal(0, OID, [0, 1, 2]) == 0
    assert w.confirm(0, [(OID, 0)]) == 0
    w.to_offset(w.epoch + 1, PARAMS.proof_deadline_blocks + 1)  # never proves: all slashed
    p = w.provider(0)
    assert p is not None and p.collateral == 0 and p.faults == 1
    refused(
        w,
        OWNER_KEYS[1],
        "storage/OpenDeal",
        w.deal_msg(1, OID2, [0, 1], k=1),
        errors.StorageCollateralLowError,
    )
    w.chain.app.store.close()


def test_confirm(world: World) -> None:
    assert world.open_deal(0, OID, [0, 1, 2]) == 0
    epoch = world.epoch
    assert world.confirm(1, [(OID, 1)]) == 0
    deal = world.deal(OID)
    assert deal is not None
    assert [p.status for p in deal.placements] == ["pending", "active", "pending"]
    assert deal.placements[1].active_from == epoch + 1


def test_invalid_confirm(world: World) -> None:
    assert world.open_deal(0, OID, [0, 1, 2]) == 0
    assert world.confirm(1, [(OID, 1)]) == 0
    k = PROVIDER_KEYS[1]
    again = {"provider": PROVIDERS[1], "placements": [[OID, 1]]}
    refused(world, k, "storage/Confirm", again, errors.StorageNotPendingError)
    other = {"provider": PROVIDERS[1], "placements": [[OID, 2]]}
    refused(world, k, "storage/Confirm", other, errors.StorageNotPlacedError)
    beyond = {"provider": PROVIDERS[1], "placements": [[OID, 5]]}
    refused(world, k, "storage/Confirm", beyond, errors.StorageNotPlacedError)
    missing = {"provider": PROVIDERS[1], "placements": [[OID2, 1]]}
    refused(world, k, "storage/Confirm", missing, errors.StorageDealNotFoundError)
    # one bad placement in a batch: none is confirmed
    batch = {"provider": PROVIDERS[2], "placements": [[OID, 2], [OID, 1]]}
    refused(world, PROVIDER_KEYS[2], "storage/Confirm", batch, errors.StorageNotPlacedError)


# --- challenges, proofs, claims -------------------------------------------------------------------


def test_challenges_are_drawn_per_provider(placed: World) -> None:
    epoch = placed.epoch
    placed.chain.block([])
    for i in range(3):
        c = placed.challenges(i, epoch)
        assert c is not None and len(c.items) == PARAMS.challenges_per_epoch
        assert all(o == OID and s == i and 0 <= leaf < 5 for o, s, leaf in c.items)
    assert placed.challenges(3, epoch) is None  # holds nothing: not challenged


def test_challenge_derivation_vector() -> None:
    """The first challenge numbers of a fixed seed, provider and epoch (docs test vector)."""
    pick, leaf = state.compute_challenge(bytes(32), bytes(20), 7, 0)
    assert (pick, leaf) == state.compute_challenge(bytes(32), bytes(20), 7, 0)
    assert state.compute_challenge(bytes(32), bytes(20), 7, 1) != (pick, leaf)
    assert f"{pick:016x}{leaf:016x}" == CHALLENGE_VECTOR
    readme = (Path(state.__file__).parent / "README.md").read_text()
    assert f"`{pick:016x}`, `{leaf:016x}`" in readme  # the README's vector stays true


CHALLENGE_VECTOR = "c95881164a8dca021b6ad2c997836dbc"


def test_prove_then_claim(placed: World) -> None:
    epoch = placed.epoch
    placed.chain.block([])
    assert placed.prove(0, epoch) == 0
    c = placed.challenges(0, epoch)
    assert c is not None and all(c.proven)
    placed.to_offset(epoch + 1, 1)  # the deadline judged it; the epoch is over
    p = placed.provider(0)
    assert p is not None and (p.proven, p.faults, p.collateral) == (1, 0, COLLATERAL)
    before = placed.chain.balance(PROVIDERS[0])
    claim = {"provider": PROVIDERS[0], "object_ids": [OID]}
    assert placed.send(PROVIDER_KEYS[0], "storage/Claim", claim) == 0
    share = SHARD_SIZE * EPOCHS // EPOCHS
    assert placed.chain.balance(PROVIDERS[0]) == before - FEE + share
    deal = placed.deal(OID)
    assert deal is not None and deal.placements[0].paid == share


def test_invalid_prove(placed: World) -> None:
    epoch = placed.epoch
    placed.chain.block([])
    k, p0 = PROVIDER_KEYS[0], PROVIDERS[0]
    good = placed.proofs(0, epoch)
    o, s, leaf, data, path = good[0]
    value = {"provider": p0, "epoch": epoch, "proofs": good}
    refused(
        placed, k, "storage/Prove", {**value, "epoch": epoch + 1}, errors.StorageWrongEpochError
    )
    refused(placed, k, "storage/Prove", {**value, "epoch": epoch - 1}, errors.StorageProofLateError)
    unasked = [[o, s, (leaf + 1) % 5, data, path]]
    if all(c[2] != (leaf + 1) % 5 for c in good):
        refused(
            placed,
            k,
            "storage/Prove",
            {**value, "proofs": unasked},
            errors.StorageNotChallengedError,
        )
    wrong_leaf = [*good[1:], [o, s, leaf, bytes(len(data)), path]]
    refused(
        placed, k, "storage/Prove", {**value, "proofs": wrong_leaf}, errors.StorageBadProofError
    )
    short_path = [[o, s, leaf, data, path[:-1]]]
    refused(
        placed, k, "storage/Prove", {**value, "proofs": short_path}, errors.StorageBadProofError
    )
    # provider 3 holds nothing: no challenges
    idle = {"provider": PROVIDERS[3], "epoch": epoch, "proofs": good}
    refused(placed, PROVIDER_KEYS[3], "storage/Prove", idle, errors.StorageWrongEpochError)
    # provider 1 answering provider 0's challenges: not its challenges
    theirs = {"provider": PROVIDERS[1], "epoch": epoch, "proofs": good}
    refused(placed, PROVIDER_KEYS[1], "storage/Prove", theirs, errors.StorageNotChallengedError)
    placed.to_offset(epoch, PARAMS.proof_deadline_blocks + 1)
    refused(placed, k, "storage/Prove", value, errors.StorageProofLateError)


def test_fault_slashes_forfeits_and_marks_repair(placed: World) -> None:
    epoch = placed.epoch
    placed.chain.block([])
    assert placed.prove(0, epoch) == 0 and placed.prove(2, epoch) == 0  # provider 1 is silent
    pool = placed.chain.balance(POOL)
    placed.to_offset(epoch, PARAMS.proof_deadline_blocks + 1)
    slash = COLLATERAL * PARAMS.slash_fraction_bps // 10_000
    p1 = placed.provider(1)
    assert p1 is not None and (p1.faults, p1.proven, p1.collateral) == (1, 0, COLLATERAL - slash)
    assert placed.chain.balance(POOL) == pool + slash
    faults = [e for e in placed.chain.events if e.type == "storage_fault"]
    assert [(e.attr("epoch"), e.attr("slashed")) for e in faults] == [(str(epoch), str(slash))]
    deal = placed.deal(OID)
    assert deal is not None and [p.status for p in deal.placements] == [
        "active",
        "repair",
        "active",
    ]
    # the faulted epoch pays nothing, even once it is over
    placed.to_offset(epoch + 1, 1)
    before = placed.chain.balance(PROVIDERS[1])
    assert (
        placed.send(
            PROVIDER_KEYS[1], "storage/Claim", {"provider": PROVIDERS[1], "object_ids": [OID]}
        )
        == 0
    )
    assert placed.chain.balance(PROVIDERS[1]) == before - FEE


def test_replace_after_fault(placed: World) -> None:
    epoch = placed.epoch
    placed.to_offset(epoch, PARAMS.proof_deadline_blocks + 1)  # nobody proved: all in repair
    owner_before = placed.chain.balance(OWNERS[0])
    msg = {"owner": OWNERS[0], "object_id": OID, "shard_index": 1, "provider": PROVIDERS[3]}
    assert placed.send(OWNER_KEYS[0], "storage/Replace", msg) == 0
    deal = placed.deal(OID)
    assert deal is not None
    new = deal.placements[1]
    assert (new.provider, new.status, new.term_start) == (PROVIDERS[3], "pending", epoch + 1)
    left = deal.end_epoch - epoch - 1
    assert new.escrow == SHARD_SIZE * left
    # the old provider earned nothing (it faulted): its whole escrow came back
    assert placed.chain.balance(OWNERS[0]) == owner_before - FEE + SHARD_SIZE * EPOCHS - new.escrow
    p1 = placed.provider(1)
    assert p1 is not None and p1.used == 0
    assert placed.send(PROVIDER_KEYS[1], "storage/Withdraw", {"provider": PROVIDERS[1]}) == 0


def test_invalid_replace(placed: World) -> None:
    o = OWNER_KEYS[0]
    msg = {"owner": OWNERS[0], "object_id": OID, "shard_index": 1, "provider": PROVIDERS[3]}
    refused(placed, o, "storage/Replace", msg, errors.StorageNotReplaceableError)
    stranger = {**msg, "owner": OWNERS[1]}
    refused(placed, OWNER_KEYS[1], "storage/Replace", stranger, errors.StorageWrongOwnerError)
    refused(
        placed, o, "storage/Replace", {**msg, "object_id": OID2}, errors.StorageDealNotFoundError
    )
    refused(placed, o, "storage/Replace", {**msg, "shard_index": 3}, errors.StorageNotPlacedError)
    placed.to_offset(placed.epoch, PARAMS.proof_deadline_blocks + 1)  # all in repair now
    refused(
        placed,
        o,
        "storage/Replace",
        {**msg, "provider": PROVIDERS[2]},
        errors.StorageDuplicateProviderError,
    )
    refused(
        placed,
        o,
        "storage/Replace",
        {**msg, "provider": OWNERS[1]},
        errors.StorageProviderNotFoundError,
    )
    deal = placed.deal(OID)
    assert deal is not None
    placed.to_offset(deal.end_epoch - 1, 1)
    refused(placed, o, "storage/Replace", msg, errors.StorageDealEndingError)


def test_replace_unconfirmed(world: World) -> None:
    assert world.open_deal(0, OID, [0, 1, 2]) == 0
    msg = {"owner": OWNERS[0], "object_id": OID, "shard_index": 2, "provider": PROVIDERS[3]}
    refused(world, OWNER_KEYS[0], "storage/Replace", msg, errors.StorageNotReplaceableError)
    deal = world.deal(OID)
    assert deal is not None
    world.to_height(deal.placements[2].placed_at + PARAMS.confirm_blocks)
    if world.next_height % PARAMS.epoch_blocks in (0, PARAMS.proof_deadline_blocks):
        world.chain.block([])
    assert world.send(OWNER_KEYS[0], "storage/Replace", msg) == 0


def test_close_deal(placed: World) -> None:
    epoch = placed.epoch
    placed.chain.block([])
    assert placed.prove(0, epoch) == 0
    placed.to_offset(epoch + 1, 1)
    owner_before = placed.chain.balance(OWNERS[0])
    p0_before = placed.chain.balance(PROVIDERS[0])
    assert (
        placed.send(OWNER_KEYS[0], "storage/CloseDeal", {"owner": OWNERS[0], "object_id": OID}) == 0
    )
    assert placed.deal(OID) is None
    share = SHARD_SIZE
    assert placed.chain.balance(PROVIDERS[0]) == p0_before + share  # paid its proven epoch
    assert placed.chain.balance(OWNERS[0]) == owner_before - FEE + 3 * SHARD_SIZE * EPOCHS - share
    assert placed.chain.balance(MODULE) == 4 * COLLATERAL - (
        2 * COLLATERAL * PARAMS.slash_fraction_bps // 10_000
    )
    for i in range(3):
        p = placed.provider(i)
        assert p is not None and p.used == 0


def test_invalid_close_deal(placed: World) -> None:
    msg = {"owner": OWNERS[1], "object_id": OID}
    refused(placed, OWNER_KEYS[1], "storage/CloseDeal", msg, errors.StorageWrongOwnerError)
    msg = {"owner": OWNERS[0], "object_id": OID2}
    refused(placed, OWNER_KEYS[0], "storage/CloseDeal", msg, errors.StorageDealNotFoundError)
    claim = {"provider": PROVIDERS[3], "object_ids": [OID]}
    refused(placed, PROVIDER_KEYS[3], "storage/Claim", claim, errors.StorageNotPlacedError)


def test_deal_ends_and_pays(placed: World) -> None:
    """Every provider proves every epoch: at the end each has its whole escrow, the owner none."""
    deal = placed.deal(OID)
    assert deal is not None
    for epoch in range(deal.start_epoch, deal.end_epoch):
        placed.to_offset(epoch, 1)
        for i in range(3):
            assert placed.prove(i, epoch) == 0
    placed.to_offset(deal.end_epoch, 1)
    assert placed.deal(OID) is None
    for i in range(3):
        assert (
            placed.chain.balance(PROVIDERS[i])
            == START - COLLATERAL - FEE * (2 + EPOCHS) + SHARD_SIZE * EPOCHS
        )
    assert placed.chain.balance(MODULE) == 4 * COLLATERAL


# --- params, queries, genesis ---------------------------------------------------------------------


def test_params_bounds() -> None:
    value = PARAMS.to_value()
    for name, bad in (
        ("proof_deadline_blocks", PARAMS.epoch_blocks),
        ("challenges_per_epoch", 65),
        ("max_n", 33),
        ("slash_fraction_bps", 10_001),
    ):
        with pytest.raises(errors.InvalidGenesisError, match=name):
            state.StorageParams.from_value({**value, name: bad})


def test_genesis_round_trip(placed: World, tmp_path: Path) -> None:
    """A chain started from an export holds the same providers, deals, dense lists, challenges
    and balances; genesis refuses records the storage account does not fund, and junk."""
    placed.chain.block([])
    exported = placed.chain.app.export_genesis()
    data = exported["storage"]
    assert data["deals"] and data["active"] and data["challenges"]
    assert json.loads(json.dumps(exported)) == exported
    again = Chain.start(tmp_path / "again", app_state=exported)
    try:
        for i in range(4):
            assert again.query("/storage/provider", PROVIDERS[i]) == placed.chain.query(
                "/storage/provider", PROVIDERS[i]
            )
        assert again.query("/storage/deal", OID) == placed.chain.query("/storage/deal", OID)
        epoch = placed.epoch
        key = PROVIDERS[0] + state.u64(epoch)
        assert again.query("/storage/challenges", key) == placed.chain.query(
            "/storage/challenges", key
        )
        assert again.balance(MODULE) == placed.chain.balance(MODULE)
        assert StorageModule().export_genesis(again.app.committed) == data
    finally:
        again.app.store.close()
    deal = data["deals"][0]
    richer = [{**deal["placements"][0], "escrow": deal["placements"][0]["escrow"] + 1}]
    unfunded = {**data, "deals": [{**deal, "placements": richer + deal["placements"][1:]}]}
    with pytest.raises(errors.InvalidGenesisError, match="storage account"):
        Chain.start(tmp_path / "unfunded", app_state={**exported, "storage": unfunded})
    unlisted = {**data, "active": []}
    with pytest.raises(errors.InvalidGenesisError, match="dense"):
        Chain.start(tmp_path / "unlisted", app_state={**exported, "storage": unlisted})
    junk = {**data, "deals": [{**deal, "placements": 7}]}
    with pytest.raises(errors.InvalidGenesisError, match="malformed"):
        Chain.start(tmp_path / "junk", app_state={**exported, "storage": junk})


def test_queries_refuse_bad_data(world: World) -> None:
    from voxpop.chain.abci import RequestQuery

    for path, data in (
        ("/storage/deal", b"x"),
        ("/storage/provider", b"x"),
        ("/storage/challenges", b"x"),
    ):
        assert (
            world.chain.app.query(RequestQuery(path, data, 0)).code == errors.InvalidQueryError.code
        )


def test_params_change_through_governance(world: World) -> None:
    """Governance may change any param within its bounds except epoch_blocks (terms count
    epochs of it)."""
    from voxpop.chain.context import BlockInfo, Context
    from voxpop.chain.gas import InfiniteGasMeter
    from voxpop.chain.kv import Branch
    from voxpop.chain.modules.auth.state import AuthParams

    def scratch() -> Context:
        block = BlockInfo("voxpop-test", world.next_height, world.chain.time + 5)
        return Context(
            block, Branch(world.chain.app.committed), InfiniteGasMeter(), AuthParams().gas
        )

    module = StorageModule()
    current = module.params_value(world.chain.app.committed)
    assert current == PARAMS.to_value()
    ctx = scratch()
    module.set_params_value(ctx, {**current, "challenges_per_epoch": 32})
    assert state.get_params(ctx).challenges_per_epoch == 32
    with pytest.raises(errors.StorageEpochBlocksFixedError):
        module.set_params_value(scratch(), {**current, "epoch_blocks": 40})
    with pytest.raises(errors.InvalidGenesisError):
        module.set_params_value(scratch(), {**current, "proof_deadline_blocks": 20})


def test_shard_moved_away_and_back_excuses_its_challenge(placed: World) -> None:
    """A challenge on a placement that moved to another provider and back since the epoch began
    is excused at the deadline: the placement now there is pending, not the one challenged."""
    epoch = placed.epoch
    placed.to_offset(epoch + 1, 1)  # provider 1 never proved epoch: its shard 1 is in repair
    deal = placed.deal(OID)
    assert deal is not None and deal.placements[1].status == "repair"
    challenges = placed.challenges(1, epoch + 1)
    assert challenges is not None and challenges.items  # shard 1 is challenged again
    away = {"owner": OWNERS[0], "object_id": OID, "shard_index": 1, "provider": PROVIDERS[3]}
    assert placed.send(OWNER_KEYS[0], "storage/Replace", away) == 0
    placed.to_offset(epoch + 1, 1 + PARAMS.confirm_blocks + 1)  # provider 3 never confirms
    back = {**away, "provider": PROVIDERS[1]}
    assert placed.send(OWNER_KEYS[0], "storage/Replace", back) == 0
    faults = placed.provider(1)
    assert faults is not None
    placed.to_offset(epoch + 1, PARAMS.proof_deadline_blocks + 1)
    deal = placed.deal(OID)
    assert deal is not None and deal.placements[1].status == "pending"
    p1 = placed.provider(1)
    assert p1 is not None and p1.faults == faults.faults  # excused, not faulted again


def test_nobody_pays_into_the_storage_account(world: World) -> None:
    """The storage account holds exactly collateral plus escrow: a plain send to it is refused."""
    send = {"from": OWNERS[0], "to": MODULE, "amount": 5}
    refused(world, OWNER_KEYS[0], "bank/Send", send, errors.BlockedRecipientError)


def test_lists_verify_as_clients_check_them(placed: World) -> None:
    """The providers list (no owner), an owner's deals and a provider's placements, each answered
    with proofs and checked by the client SDK's verifier against the app hash."""
    from voxpop.chain.abci import RequestQuery
    from voxpop.client.lists import verify_list

    app = placed.chain.app
    for path, owner, expected in (
        ("/storage/providers", b"", sorted(PROVIDERS)),
        ("/storage/by_owner", OWNERS[0], [OID]),
        ("/storage/by_provider", PROVIDERS[2], [OID + bytes([2])]),
    ):
        res = app.query(RequestQuery(path, owner, 0, prove=True))
        assert res.code == 0, res.log
        items = verify_list(app.last_app_hash, path, owner, res.key, res.value, res.proof)
        assert [i.id for i in items] == expected
