"""Sign-up grant transitions: one grant per attested identity and per account, within quotas."""

from __future__ import annotations

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    AccountClaimedError,
    AttestationExpiredError,
    GrantPoolEmptyError,
    IdentityClaimedError,
    InsufficientFundsError,
    InvalidAttestationError,
    RegistrarQuotaError,
    UnknownRegistrarError,
)
from voxpop.chain.module_accounts import GRANT_POOL, module_address
from voxpop.chain.modules.bank.state import send
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.grant import state
from voxpop.chain.modules.grant.messages import MsgClaimGrant
from voxpop.crypto.keys import verify_signature

GRANT_POOL_ADDRESS = module_address(GRANT_POOL)


def process_claim_grant(ctx: Context, msg: MsgClaimGrant) -> None:
    params = state.get_params(ctx)
    now = ctx.block.time_unix
    # Verify the registrar is listed
    if not state.is_registrar(ctx, msg.registrar):
        raise UnknownRegistrarError("the attestation's registrar is not listed in this chain")
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
