"""Sign-up grant transitions: one grant per attested identity and per account, within quotas,
attested by bonded registrars; registrars' bonds posted and withdrawn."""

from __future__ import annotations

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    AccountClaimedError,
    AttestationExpiredError,
    BondExceededError,
    GrantPoolEmptyError,
    IdentityClaimedError,
    InsufficientFundsError,
    InvalidAttestationError,
    RegistrarQuotaError,
    RegistrarUnbondedError,
    UnknownRegistrarError,
)
from voxpop.chain.module_accounts import GRANT_BONDS, GRANT_POOL, module_address
from voxpop.chain.modules.bank.state import move, send
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.grant import state
from voxpop.chain.modules.grant.messages import MsgClaimGrant, MsgPostBond, MsgWithdrawBond
from voxpop.crypto.keys import verify_signature

GRANT_POOL_ADDRESS = module_address(GRANT_POOL)
GRANT_BONDS_ADDRESS = module_address(GRANT_BONDS)


def process_claim_grant(ctx: Context, msg: MsgClaimGrant) -> None:
    params = state.get_params(ctx)
    now = ctx.block.time_unix
    # Verify the registrar is listed
    if not state.is_registrar(ctx, msg.registrar):
        raise UnknownRegistrarError("the attestation's registrar is not listed in this chain")
    # Verify the registrar's bond covers registrar_bond
    bond = state.get_bond(ctx, msg.registrar)
    if bond < params.registrar_bond:
        raise RegistrarUnbondedError(
            f"the registrar's bond of {bond} uvox is less than the {params.registrar_bond} "
            "uvox required"
        )
    # Verify the attestation is current and not issued for an unreasonably long time
    if msg.expiry < now:
        raise AttestationExpiredError(f"attestation expired at {msg.expiry}, block time {now}")
    if msg.expiry > now + params.max_attestation_ttl:
        raise InvalidAttestationError("attestation expiry is too far in the future")
    # Verify the registrar signed exactly this chain, account, identity and expiry
    ctx.gas.consume(ctx.schedule.sig_verify, "attestation signature")
    sign_bytes = state.attestation_sign_bytes(
        ctx.block.chain_id, msg.claimant, msg.identity_hash, msg.expiry
    )
    if not verify_signature(msg.registrar, sign_bytes, msg.signature):
        raise InvalidAttestationError("attestation signature does not verify")
    # Verify neither the identity nor the account has claimed before
    if ctx.get(state.identity_key(msg.identity_hash)) is not None:
        raise IdentityClaimedError("this identity has already claimed its grant")
    if ctx.get(state.claimed_account_key(msg.claimant)) is not None:
        raise AccountClaimedError("this account has already claimed a grant")
    # Verify the registrar's quota for this epoch is not spent
    epoch = now // params.epoch_seconds
    used = state.get_quota_used(ctx, msg.registrar, epoch)
    if used >= params.registrar_quota:
        raise RegistrarQuotaError(
            f"registrar quota of {params.registrar_quota} spent for epoch {epoch}"
        )
    try:
        send(ctx, GRANT_POOL_ADDRESS, msg.claimant, params.amount)
    except InsufficientFundsError:
        raise GrantPoolEmptyError("the grant pool cannot pay a full grant") from None
    state.set_quota_used(ctx, msg.registrar, epoch, used + 1)
    ctx.set(state.identity_key(msg.identity_hash), msg.claimant)
    ctx.set(state.claimed_account_key(msg.claimant), msg.identity_hash)
    ctx.emit(
        "grant_claimed",
        claimant=addr_text(msg.claimant),
        registrar=msg.registrar.hex(),
        amount=str(params.amount),
        epoch=str(epoch),
    )


def process_post_bond(ctx: Context, msg: MsgPostBond) -> None:
    """Add the sender's uvox to a registrar's bond, held by the `grant_bonds` account."""
    bond = state.get_bond(ctx, msg.registrar)
    # Verify the sender can pay (bank raises InsufficientFundsError)
    move(ctx, msg.sender, GRANT_BONDS_ADDRESS, msg.amount)
    state.set_bond(ctx, msg.registrar, bond + msg.amount)
    ctx.emit(
        "registrar_bond_posted",
        sender=addr_text(msg.sender),
        registrar=msg.registrar.hex(),
        amount=str(msg.amount),
        bond=str(bond + msg.amount),
    )


def get_withdrawable(ctx: Context, registrar: bytes) -> int:
    """What of a registrar's bond may leave: the excess over `registrar_bond` while it is
    listed (its attestations must stay covered), all of it once it is not."""
    bond = state.get_bond(ctx, registrar)
    if not state.is_registrar(ctx, registrar):
        return bond
    return max(0, bond - state.get_params(ctx).registrar_bond)


def process_withdraw_bond(ctx: Context, msg: MsgWithdrawBond) -> None:
    """Pay part or all of a registrar's bond back to the registrar's own account."""
    bond = state.get_bond(ctx, msg.registrar)
    free = get_withdrawable(ctx, msg.registrar)
    # Verify the withdrawal is within what the bond lets go
    if msg.amount > free:
        raise BondExceededError(
            f"{msg.amount} uvox asked; {free} uvox of the {bond} uvox bond may be withdrawn"
        )
    move(ctx, GRANT_BONDS_ADDRESS, msg.account, msg.amount)
    state.set_bond(ctx, msg.registrar, bond - msg.amount)
    ctx.emit(
        "registrar_bond_withdrawn",
        registrar=msg.registrar.hex(),
        account=addr_text(msg.account),
        amount=str(msg.amount),
        bond=str(bond - msg.amount),
    )


def forfeit_bond(ctx: Context, registrar: bytes) -> int:
    """Move a registrar's whole bond to the grant pool (governance's removal for misbehaviour:
    it refills what the registrar's claims drew). Returns the uvox forfeited."""
    bond = state.get_bond(ctx, registrar)
    move(ctx, GRANT_BONDS_ADDRESS, GRANT_POOL_ADDRESS, bond)
    state.set_bond(ctx, registrar, 0)
    ctx.emit("registrar_bond_forfeited", registrar=registrar.hex(), amount=str(bond))
    return bond
