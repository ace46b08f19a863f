"""Storage transitions: register, update, add collateral, withdraw; open a deal, confirm, prove,
claim, replace, close; and the epoch hooks (draw challenges, judge them, end deals).

A failing handler's writes are all dropped (the app runs each message on a branch), so a Prove
with one bad proof among many proves nothing.
"""

from __future__ import annotations

from dataclasses import replace

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    StorageBadCodingError,
    StorageBadProofError,
    StorageCollateralLowError,
    StorageDealEndingError,
    StorageDealExistsError,
    StorageDuplicateProviderError,
    StorageNotChallengedError,
    StorageNotPendingError,
    StorageNotPlacedError,
    StorageNotReplaceableError,
    StorageOverCapacityError,
    StoragePriceTooHighError,
    StorageProofLateError,
    StorageProviderBusyError,
    StorageProviderExistsError,
    StorageShardTooLargeError,
    StorageWrongEpochError,
    StorageWrongOwnerError,
)
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.storage import state
from voxpop.chain.modules.storage.messages import (
    MsgAddCollateral,
    MsgClaim,
    MsgCloseDeal,
    MsgConfirm,
    MsgOpenDeal,
    MsgProve,
    MsgRegister,
    MsgReplace,
    MsgUpdate,
    MsgWithdraw,
)
from voxpop.crypto.merkle import verify_path


def process_register(ctx: Context, msg: MsgRegister) -> None:
    params = state.get_params(ctx)
    # Verify a new provider, with at least the collateral the chain asks
    if state.get_provider(ctx, msg.provider) is not None:
        raise StorageProviderExistsError("already registered: Update changes the terms")
    if msg.collateral < params.min_collateral:
        raise StorageCollateralLowError(f"collateral must be at least {params.min_collateral}")
    provider = state.Provider(
        endpoint=msg.endpoint,
        capacity=msg.capacity,
        price=msg.price,
        collateral=msg.collateral,
        used=0,
        faults=0,
        proven=0,
        registered_at=ctx.block.height,
    )
    state.set_provider(ctx, msg.provider, provider)
    state.PROVIDERS.add(ctx, b"", msg.provider)
    bank.move(ctx, msg.provider, state.MODULE_ADDRESS, msg.collateral)
    ctx.emit(
        "storage_register",
        provider=addr_text(msg.provider),
        capacity=str(msg.capacity),
        price=str(msg.price),
        collateral=str(msg.collateral),
    )


def process_update(ctx: Context, msg: MsgUpdate) -> None:
    provider = state.require_provider(ctx, msg.provider)
    # Verify the new capacity still holds what the provider has taken
    if msg.capacity < provider.used:
        raise StorageOverCapacityError(f"the provider holds {provider.used} bytes already")
    updated = replace(provider, endpoint=msg.endpoint, capacity=msg.capacity, price=msg.price)
    state.set_provider(ctx, msg.provider, updated)
    ctx.emit(
        "storage_update",
        provider=addr_text(msg.provider),
        capacity=str(msg.capacity),
        price=str(msg.price),
    )


def process_add_collateral(ctx: Context, msg: MsgAddCollateral) -> None:
    provider = state.require_provider(ctx, msg.provider)
    bank.move(ctx, msg.provider, state.MODULE_ADDRESS, msg.amount)
    grown = replace(provider, collateral=provider.collateral + msg.amount)
    state.set_provider(ctx, msg.provider, grown)
    ctx.emit(
        "storage_collateral",
        provider=addr_text(msg.provider),
        amount=str(msg.amount),
        collateral=str(grown.collateral),
    )


def process_withdraw(ctx: Context, msg: MsgWithdraw) -> None:
    provider = state.require_provider(ctx, msg.provider)
    # Verify the provider holds nothing (owners move its shards away first)
    if provider.used or state.PLACEMENTS_BY_PROVIDER.ids(ctx, msg.provider):
        raise StorageProviderBusyError("the provider still holds placements")
    bank.move(ctx, state.MODULE_ADDRESS, msg.provider, provider.collateral)
    ctx.delete(state.provider_key(msg.provider))
    state.PROVIDERS.remove(ctx, b"", msg.provider)
    for epoch in state.faulted_epochs(ctx, msg.provider):  # no placement needs them any more
        ctx.delete(state.fault_key(msg.provider, epoch))
    ctx.emit(
        "storage_withdraw",
        provider=addr_text(msg.provider),
        collateral=str(provider.collateral),
    )


def check_provider_takes(
    ctx: Context, params: state.StorageParams, address: bytes, shard_size: int, max_price: int
) -> state.Provider:
    """The provider, if it can take one more shard of `shard_size` at most at `max_price`.
    Raises StorageProviderNotFoundError, StorageCollateralLowError, StoragePriceTooHighError,
    StorageOverCapacityError."""
    provider = state.require_provider(ctx, address)
    who = addr_text(address)
    # Verify the provider has collateral to lose, asks no more than the owner pays, and has room
    if provider.collateral < params.min_collateral:
        raise StorageCollateralLowError(f"{who}: collateral below {params.min_collateral}")
    if provider.price > max_price:
        raise StoragePriceTooHighError(f"{who}: price {provider.price} is above {max_price}")
    if provider.used + shard_size > provider.capacity:
        raise StorageOverCapacityError(f"{who}: {provider.capacity - provider.used} bytes free")
    return provider


def process_open_deal(ctx: Context, msg: MsgOpenDeal) -> None:
    params = state.get_params(ctx)
    # Verify the coding fits the chain's limits: n, the leaf size, the shard size
    if msg.n > params.max_n:
        raise StorageBadCodingError(f"n is at most {params.max_n}")
    if msg.leaf_size != params.leaf_size:
        raise StorageBadCodingError(f"leaf_size must be {params.leaf_size}")
    if msg.shard_size > params.max_shard_size:
        raise StorageShardTooLargeError(f"shards are at most {params.max_shard_size} bytes")
    # Verify the object id is free
    if state.get_deal(ctx, msg.object_id) is not None:
        raise StorageDealExistsError("a deal with this object id is open")
    start = params.epoch_of(ctx.block.height) + 1
    placements = []
    for address, root in zip(msg.providers, msg.roots, strict=True):
        provider = check_provider_takes(ctx, params, address, msg.shard_size, msg.max_price)
        escrow = state.compute_escrow(msg.shard_size, provider.price, msg.epochs)
        placements.append(
            state.Placement(
                address, root, state.PENDING, escrow, 0, start, 0, start, ctx.block.height
            )
        )
    deal = state.Deal(
        owner=msg.owner,
        header_hash=msg.header_hash,
        size=msg.size,
        shard_size=msg.shard_size,
        k=msg.k,
        n=msg.n,
        leaf_size=msg.leaf_size,
        start_epoch=start,
        end_epoch=start + msg.epochs,
        max_price=msg.max_price,
        placements=tuple(placements),
    )
    state.set_deal(ctx, msg.object_id, deal)
    state.DEALS_BY_OWNER.add(ctx, msg.owner, msg.object_id)
    ctx.set(state.end_key(deal.end_epoch, msg.object_id), b"\x01")
    for i, placement in enumerate(placements):
        state.place(ctx, deal, msg.object_id, i, placement)
    ctx.emit(
        "storage_deal_open",
        object_id=msg.object_id.hex(),
        owner=addr_text(msg.owner),
        escrow=str(deal.held()),
        start_epoch=str(deal.start_epoch),
        end_epoch=str(deal.end_epoch),
    )


def process_confirm(ctx: Context, msg: MsgConfirm) -> None:
    epoch = state.get_params(ctx).epoch_of(ctx.block.height)
    for i, (object_id, shard_index) in enumerate(msg.placements):
        where = f"placements[{i}]"
        deal = state.require_deal(ctx, object_id)
        # Verify the shard is placed with the signer and waits for its confirmation
        if shard_index >= deal.n or deal.placements[shard_index].provider != msg.provider:
            raise StorageNotPlacedError(f"{where}: the shard is not placed with the signer")
        placement = deal.placements[shard_index]
        if placement.status != state.PENDING:
            raise StorageNotPendingError(f"{where}: the placement is confirmed already")
        confirmed = replace(placement, status=state.ACTIVE, active_from=epoch + 1)
        state.set_deal(ctx, object_id, deal.with_placement(shard_index, confirmed))
        state.activate(ctx, msg.provider, state.placement_id(object_id, shard_index))
        ctx.emit(
            "storage_confirm",
            object_id=object_id.hex(),
            shard_index=str(shard_index),
            provider=addr_text(msg.provider),
            active_from=str(epoch + 1),
        )


def process_prove(ctx: Context, msg: MsgProve) -> None:
    params = state.get_params(ctx)
    height = ctx.block.height
    epoch = params.epoch_of(height)
    # Verify the proofs answer this epoch's challenges, before its deadline
    if msg.epoch > epoch:
        raise StorageWrongEpochError(f"epoch {msg.epoch} has not started (now {epoch})")
    if msg.epoch < epoch or height % params.epoch_blocks >= params.proof_deadline_blocks:
        raise StorageProofLateError(f"the deadline of epoch {msg.epoch} has passed")
    challenges = state.get_challenges(ctx, msg.provider, epoch)
    if challenges is None:
        raise StorageWrongEpochError(f"the provider has no challenges in epoch {epoch}")
    proven = list(challenges.proven)
    for i, (object_id, shard_index, leaf_index, leaf, path) in enumerate(msg.proofs):
        where = f"proofs[{i}]"
        asked = [
            j for j, c in enumerate(challenges.items) if c == (object_id, shard_index, leaf_index)
        ]
        # Verify the proof answers one of the provider's challenges
        if not asked:
            raise StorageNotChallengedError(f"{where}: no challenge asks for this leaf")
        deal = state.require_deal(ctx, object_id)
        placement = deal.placements[shard_index]
        # Verify the shard is still the signer's (a moved shard's challenge is excused instead)
        if placement.provider != msg.provider:
            raise StorageNotPlacedError(f"{where}: the shard is no longer placed with the signer")
        # Verify the leaf (whole: the last may be shorter) and its path lead to the shard's root
        # (gas first: a huge proof runs out of gas instead of hashing for free)
        ctx.gas.consume(state.GAS_PER_PROOF + state.GAS_PER_PATH_STEP * len(path), "merkle proof")
        expected = min(deal.leaf_size, deal.shard_size - leaf_index * deal.leaf_size)
        if len(leaf) != expected or not verify_path(
            placement.root, leaf, leaf_index, deal.leaf_count, path
        ):
            raise StorageBadProofError(f"{where}: the leaf and path do not lead to the root")
        for j in asked:
            proven[j] = True
    state.set_challenges(ctx, msg.provider, epoch, replace(challenges, proven=tuple(proven)))
    ctx.emit(
        "storage_prove",
        provider=addr_text(msg.provider),
        epoch=str(epoch),
        proven=str(sum(proven)),
        challenges=str(len(proven)),
    )


def process_claim(ctx: Context, msg: MsgClaim) -> None:
    epoch = state.get_params(ctx).epoch_of(ctx.block.height)
    total = 0
    for object_id in msg.object_ids:
        deal = state.require_deal(ctx, object_id)
        # Verify the signer holds a shard of the deal
        index = state.placement_of(deal, msg.provider)
        placement = deal.placements[index]
        settled = state.settle(ctx, deal, placement, epoch)
        state.set_deal(ctx, object_id, deal.with_placement(index, settled))
        total += settled.paid - placement.paid
    ctx.emit("storage_claim", provider=addr_text(msg.provider), amount=str(total))


def process_replace(ctx: Context, msg: MsgReplace) -> None:
    params = state.get_params(ctx)
    height = ctx.block.height
    epoch = params.epoch_of(height)
    deal = state.require_deal(ctx, msg.object_id)
    # Verify the signer owns the deal and names one of its shards
    if deal.owner != msg.owner:
        raise StorageWrongOwnerError("only the deal's owner may move its shards")
    if msg.shard_index >= deal.n:
        raise StorageNotPlacedError(f"the deal has {deal.n} shards")
    old = deal.placements[msg.shard_index]
    # Verify the shard may move: marked for repair, unconfirmed too long, or its provider left
    overdue = old.status == state.PENDING and height >= old.placed_at + params.confirm_blocks
    left = state.get_provider(ctx, old.provider) is None
    if old.status != state.REPAIR and not overdue and not left:
        raise StorageNotReplaceableError(f"the placement is {old.status}")
    # Verify the new provider is not in the deal already, and the deal has epochs left
    if any(p.provider == msg.provider for p in deal.placements):
        raise StorageDuplicateProviderError("the provider holds a shard of this deal already")
    if epoch + 1 >= deal.end_epoch:
        raise StorageDealEndingError(f"the deal ends at epoch {deal.end_epoch}")
    provider = check_provider_takes(ctx, params, msg.provider, deal.shard_size, deal.max_price)
    paid, refunded = state.end_placement(ctx, deal, msg.object_id, msg.shard_index, epoch)
    escrow = state.compute_escrow(deal.shard_size, provider.price, deal.end_epoch - epoch - 1)
    new = state.Placement(
        msg.provider, old.root, state.PENDING, escrow, 0, epoch + 1, 0, epoch + 1, height
    )
    moved = deal.with_placement(msg.shard_index, new)
    state.set_deal(ctx, msg.object_id, moved)
    state.place(ctx, moved, msg.object_id, msg.shard_index, new)
    ctx.emit(
        "storage_replace",
        object_id=msg.object_id.hex(),
        shard_index=str(msg.shard_index),
        old=addr_text(old.provider),
        new=addr_text(msg.provider),
        paid=str(paid),
        refund=str(refunded),
        escrow=str(escrow),
    )


def process_close_deal(ctx: Context, msg: MsgCloseDeal) -> None:
    deal = state.require_deal(ctx, msg.object_id)
    # Verify the signer owns the deal
    if deal.owner != msg.owner:
        raise StorageWrongOwnerError("only the deal's owner may close it")
    epoch = state.get_params(ctx).epoch_of(ctx.block.height)
    paid, refunded = state.close_deal(ctx, msg.object_id, deal, epoch)
    ctx.emit(
        "storage_deal_close",
        object_id=msg.object_id.hex(),
        owner=addr_text(msg.owner),
        paid=str(paid),
        refund=str(refunded),
    )
