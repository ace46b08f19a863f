"""The storage module's block hooks: at each epoch's first block, end the deals whose term is
over and draw the epoch's challenges; at its deadline block, judge them.

Per epoch the work grows with providers x challenges_per_epoch, never with the number of
objects: a provider's confirmed placements sit in a dense list (state.py) and a challenge picks
one by position. Ending a deal costs its n placements, once in its life.
"""

from __future__ import annotations

from dataclasses import replace

from voxpop.chain.context import Context
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.beacon.state import epoch_seed
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.storage import state


def process_block(ctx: Context) -> None:
    """Begin-block: the deadline of the current epoch, or the start of a new one."""
    params = state.get_params(ctx)
    height = ctx.block.height
    epoch, offset = divmod(height, params.epoch_blocks)
    if offset == params.proof_deadline_blocks:
        process_deadline(ctx, params, epoch)
    elif offset == 0:
        process_deal_ends(ctx, epoch)
        process_challenges(ctx, params, epoch)


def process_deal_ends(ctx: Context, epoch: int) -> None:
    """End every deal whose last epoch was the one before: all its epochs are judged (the
    deadline is inside the epoch), so providers are paid what they earned and the owner gets
    the rest back."""
    prefix = state.END_PREFIX + state.u64(epoch)
    for key, _ in list(ctx.iterate(prefix)):
        object_id = key[len(prefix) :]
        deal = state.get_deal(ctx, object_id)
        if deal is None:
            continue
        paid, refunded = state.close_deal(ctx, object_id, deal, epoch)
        ctx.emit(
            "storage_deal_end",
            object_id=object_id.hex(),
            owner=addr_text(deal.owner),
            paid=str(paid),
            refund=str(refunded),
        )


def process_challenges(ctx: Context, params: state.StorageParams, epoch: int) -> None:
    """Draw `challenges_per_epoch` challenges for every provider with confirmed placements, from
    the beacon's seed, and queue them to be judged at the deadline."""
    seed = epoch_seed(ctx)
    # The judged challenges of two epochs back are no longer needed (the last stay for queries)
    for provider, _ in list(state.iter_challenged(ctx, epoch - 2)):
        ctx.delete(state.challenge_key(provider, epoch - 2))
    for provider, count in list(state.iter_active_providers(ctx)):
        items = []
        for j in range(params.challenges_per_epoch):
            pick, leaf = state.compute_challenge(seed, provider, epoch, j)
            pid = state.active_at(ctx, provider, pick % count)
            object_id, shard_index = pid[: state.OBJECT_ID_LEN], pid[state.OBJECT_ID_LEN]
            deal = state.get_deal(ctx, object_id)
            assert deal is not None, "a listed placement's deal is open"
            items.append((object_id, shard_index, leaf % deal.leaf_count))
        challenges = state.Challenges(tuple(items), (False,) * len(items))
        state.set_challenges(ctx, provider, epoch, challenges)
        ctx.set(state.CHALLENGE_QUEUE_PREFIX + state.u64(epoch) + provider, b"\x01")
        ctx.emit("storage_challenges", provider=addr_text(provider), epoch=str(epoch))


def process_deadline(ctx: Context, params: state.StorageParams, epoch: int) -> None:
    """Judge every provider challenged in `epoch`: all proven, or a fault. Earlier epochs still
    queued are judged too (only if governance moved the deadline past their deadline block)."""
    start = len(state.CHALLENGE_QUEUE_PREFIX)
    for key, _ in list(ctx.iterate(state.CHALLENGE_QUEUE_PREFIX)):
        judged = int.from_bytes(key[start : start + state.EPOCH_LEN], "big")
        if judged > epoch:
            break  # ascending by epoch
        ctx.delete(key)
        provider_address = key[start + state.EPOCH_LEN :]
        challenges = state.get_challenges(ctx, provider_address, judged)
        provider = state.get_provider(ctx, provider_address)
        if challenges is None or provider is None:
            continue
        missed = [
            item
            for item, proven in zip(challenges.items, challenges.proven, strict=True)
            if not proven and _still_held(ctx, provider_address, item[0], item[1], judged)
        ]
        state.set_challenges(ctx, provider_address, judged, replace(challenges, judged=True))
        if not missed:
            state.set_provider(ctx, provider_address, replace(provider, proven=provider.proven + 1))
            continue
        process_fault(ctx, params, provider_address, provider, judged, missed)


def _still_held(
    ctx: Context, provider: bytes, object_id: bytes, shard_index: int, epoch: int
) -> bool:
    """Whether the challenged shard is still the placement that was challenged: the provider's,
    confirmed before the epoch began. A closed deal, a moved shard, or one moved away and back
    to the provider since, excuses its challenge."""
    deal = state.get_deal(ctx, object_id)
    if deal is None:
        return False
    placement = deal.placements[shard_index]
    return placement.provider == provider and 0 < placement.active_from <= epoch


def process_fault(
    ctx: Context,
    params: state.StorageParams,
    address: bytes,
    provider: state.Provider,
    epoch: int,
    missed: list[tuple[bytes, int, int]],
) -> None:
    """The provider missed challenges of `epoch`: part of its collateral goes to the community
    pool, it forfeits the epoch's pay on every placement (state.settle skips faulted epochs), its
    fault count grows, and each missed shard is marked for repair."""
    slash = provider.collateral * params.slash_fraction_bps // state.BPS
    bank.move(ctx, state.MODULE_ADDRESS, state.COMMUNITY_POOL_ADDRESS, slash)
    faulted = replace(provider, collateral=provider.collateral - slash, faults=provider.faults + 1)
    state.set_provider(ctx, address, faulted)
    ctx.set(state.fault_key(address, epoch), b"\x01")
    for object_id, shard_index in sorted({(o, s) for o, s, _ in missed}):
        deal = state.get_deal(ctx, object_id)
        assert deal is not None
        placement = deal.placements[shard_index]
        if placement.status != state.REPAIR:
            marked = replace(placement, status=state.REPAIR)
            state.set_deal(ctx, object_id, deal.with_placement(shard_index, marked))
    ctx.emit(
        "storage_fault",
        provider=addr_text(address),
        epoch=str(epoch),
        missed=str(len(missed)),
        slashed=str(slash),
    )
