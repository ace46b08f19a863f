"""Services transitions: register an offer (locking its stake), update it, leave (the stake
returns after the unbonding period, in end_block)."""

from __future__ import annotations

from dataclasses import replace

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    InvalidEndpointError,
    InvalidLanguagesError,
    OfferExistsError,
    OfferLeavingError,
    OfferNotFoundError,
    StakeTooLowError,
    UnknownServiceKindError,
    quote,
)
from voxpop.chain.modules.bank import state as bank
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.services import state
from voxpop.chain.modules.services.messages import MsgLeave, MsgRegister, MsgUpdate


def process_register(ctx: Context, msg: MsgRegister) -> None:
    params = state.get_params(ctx)
    # Verify the chain offers this kind of service
    if msg.kind not in params.kinds:
        raise UnknownServiceKindError(f"the chain lists no service kind {quote(msg.kind)}")
    check_terms(params, msg.endpoint, msg.languages)
    # Verify the stake is at least the minimum
    if msg.stake < params.min_stake:
        raise StakeTooLowError(f"an offer's stake is at least {params.min_stake} uvox")
    existing = state.get_offer(ctx, msg.provider, msg.kind)
    # Verify the provider has no offer of this kind, active or leaving
    if existing is not None:
        if existing.leaving_at:
            raise OfferLeavingError("this offer is leaving: register again once its stake returned")
        raise OfferExistsError("the provider already offers this kind: update it")
    now = ctx.block.time_unix
    bank.move(ctx, msg.provider, state.MODULE_ADDRESS, msg.stake)
    state.list_offer(ctx, msg.provider, msg.kind)
    offer = state.Offer(
        msg.endpoint, msg.price, msg.languages, msg.signing_key, msg.stake, registered_at=now
    )
    state.set_offer(ctx, msg.provider, msg.kind, offer)
    rep = state.get_reputation(ctx, msg.provider)
    state.set_reputation(
        ctx,
        msg.provider,
        replace(rep, stake=rep.stake + msg.stake, first_registered=rep.first_registered or now),
    )
    ctx.emit(
        "offer_registered",
        provider=addr_text(msg.provider),
        kind=msg.kind,
        price=str(msg.price),
        stake=str(msg.stake),
    )


def process_update(ctx: Context, msg: MsgUpdate) -> None:
    params = state.get_params(ctx)
    offer = require_active(ctx, msg.provider, msg.kind)
    check_terms(params, msg.endpoint, msg.languages)
    stake = offer.stake + msg.add_stake
    # Verify the stake stays at least the minimum
    if stake < params.min_stake:
        raise StakeTooLowError(f"an offer's stake is at least {params.min_stake} uvox")
    bank.move(ctx, msg.provider, state.MODULE_ADDRESS, msg.add_stake)
    updated = replace(
        offer,
        endpoint=msg.endpoint,
        price=msg.price,
        languages=msg.languages,
        signing_key=msg.signing_key,
        stake=stake,
    )
    state.set_offer(ctx, msg.provider, msg.kind, updated)
    if msg.add_stake:
        rep = state.get_reputation(ctx, msg.provider)
        state.set_reputation(ctx, msg.provider, replace(rep, stake=rep.stake + msg.add_stake))
    ctx.emit(
        "offer_updated",
        provider=addr_text(msg.provider),
        kind=msg.kind,
        price=str(msg.price),
        stake=str(stake),
    )


def process_leave(ctx: Context, msg: MsgLeave) -> None:
    offer = require_active(ctx, msg.provider, msg.kind)
    leaving_at = ctx.block.time_unix + state.get_params(ctx).unbonding_seconds
    state.unlist_offer(ctx, msg.provider, msg.kind)
    state.set_offer(ctx, msg.provider, msg.kind, replace(offer, leaving_at=leaving_at))
    state.queue_unbonding(ctx, leaving_at, msg.provider, msg.kind)
    rep = state.get_reputation(ctx, msg.provider)
    state.set_reputation(ctx, msg.provider, replace(rep, stake=rep.stake - offer.stake))
    ctx.emit(
        "offer_leaving",
        provider=addr_text(msg.provider),
        kind=msg.kind,
        stake=str(offer.stake),
        leaving_at=str(leaving_at),
    )


def process_matured(ctx: Context) -> None:
    """End block: return the stake of every leaving offer whose unbonding period has ended, and
    remove the offer (its kind may then be registered again)."""
    for provider, kind in state.pop_matured(ctx, ctx.block.time_unix):
        offer = state.get_offer(ctx, provider, kind)
        if offer is None:  # the queue and the offers agree (an invariant); nothing to return
            continue
        bank.move(ctx, state.MODULE_ADDRESS, provider, offer.stake)
        state.delete_offer(ctx, provider, kind)
        ctx.emit(
            "offer_stake_returned",
            provider=addr_text(provider),
            kind=kind,
            stake=str(offer.stake),
        )


def require_active(ctx: Context, provider: bytes, kind: str) -> state.Offer:
    """The provider's active offer of `kind`. Raises OfferNotFoundError, OfferLeavingError."""
    offer = state.get_offer(ctx, provider, kind)
    # Verify the offer exists and is not leaving
    if offer is None:
        raise OfferNotFoundError(f"the provider has no offer of kind {quote(kind)}")
    if offer.leaving_at:
        raise OfferLeavingError("this offer is leaving")
    return offer


def check_terms(params: state.ServicesParams, endpoint: str, languages: tuple[str, ...]) -> None:
    """The limits the chain's params set on an offer's terms. Raises InvalidEndpointError,
    InvalidLanguagesError."""
    # Verify the endpoint and the languages within the chain's limits
    if len(endpoint) > params.max_endpoint_len:
        raise InvalidEndpointError(f"an endpoint is at most {params.max_endpoint_len} bytes")
    if len(languages) > params.max_languages:
        raise InvalidLanguagesError(f"an offer names at most {params.max_languages} languages")
