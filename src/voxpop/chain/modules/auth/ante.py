"""The checks and charges every tx passes before its messages run (the "ante handler").

Order matters: cheap stateless checks first, then the signature, then state. The fee and the
sequence are written to a branch the caller keeps even when the messages later fail.
"""

from __future__ import annotations

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    FeeBelowBaseError,
    GasLimitTooHighError,
    InsufficientFeeError,
    InvalidSignatureError,
    MemoTooLargeError,
    TooManyMessagesError,
    TxTimeoutError,
    WrongChainIdError,
    WrongSequenceError,
)
from voxpop.chain.module_accounts import FEE_COLLECTOR, module_address
from voxpop.chain.modules.auth.state import Account, AuthParams, get_account, set_account
from voxpop.chain.modules.bank.state import send
from voxpop.chain.modules.feegrant.state import use_allowance
from voxpop.chain.modules.feemarket import state as feemarket
from voxpop.chain.tx import Tx
from voxpop.crypto.keys import address_from_pubkey, verify_signature

FEE_COLLECTOR_ADDRESS = module_address(FEE_COLLECTOR)
# A fee-exempt tx (a sign-up grant claim) pays nothing for its gas, so it may declare little: a
# claim uses about 12,000; more would let free txs fill blocks.
FEE_EXEMPT_MAX_GAS = 100_000


def process_ante(
    ctx: Context, tx: Tx, params: AuthParams, *, signature_verified: bool, fee_exempt: bool
) -> bytes:
    """Authenticate `tx` and charge its fee; return the signer's address.

    The fee is paid by the signer, or by the body's `fee_granter` out of the fee allowance it gave
    the signer. Raises WrongChainIdError, TxTimeoutError, TooManyMessagesError, MemoTooLargeError,
    GasLimitTooHighError, InsufficientFeeError, FeeBelowBaseError, OutOfGasError,
    InvalidSignatureError, WrongSequenceError, NoAllowanceError, AllowanceExpiredError,
    MessageNotAllowedError, AllowanceExceededError, InsufficientFundsError.

    The fee splits at the block's end (feemarket): the base charge at the floor price to the fee
    collector, above it burned, the rest (the tip) to the proposer.
    """
    body = tx.body
    # Verify the tx was made for this chain
    if body.chain_id != ctx.block.chain_id:
        raise WrongChainIdError(
            f"tx is for chain {body.chain_id!r}, this is {ctx.block.chain_id!r}"
        )
    # Verify the tx has not timed out
    if body.timeout_height and ctx.block.height > body.timeout_height:
        raise TxTimeoutError(f"timeout height {body.timeout_height} < block {ctx.block.height}")
    # Verify the chain's limits on messages and memo
    if len(body.msgs) > params.max_msgs:
        raise TooManyMessagesError(f"{len(body.msgs)} messages; at most {params.max_msgs}")
    if len(body.memo.encode()) > params.max_memo_bytes:
        raise MemoTooLargeError(f"memo exceeds {params.max_memo_bytes} bytes")
    # Verify the gas limit is allowed and the fee pays for it at the minimum gas price
    if body.gas_limit > params.max_gas_per_tx:
        raise GasLimitTooHighError(f"gas limit {body.gas_limit} > {params.max_gas_per_tx}")
    if fee_exempt and body.gas_limit > FEE_EXEMPT_MAX_GAS:
        raise GasLimitTooHighError(
            f"gas limit {body.gas_limit} > {FEE_EXEMPT_MAX_GAS} for a fee-exempt tx"
        )
    if not fee_exempt and body.fee < params.min_fee(body.gas_limit):
        raise InsufficientFeeError(
            f"fee {body.fee} uvox < {params.min_fee(body.gas_limit)} uvox for {body.gas_limit} gas"
        )
    # Verify the fee pays the gas limit at the current base price (read unmetered: the protocol's
    # own price, so a tx's gas does not depend on it)
    quote = feemarket.quote(ctx.store, body.gas_limit)
    if not fee_exempt and body.fee < quote.base_charge:
        raise FeeBelowBaseError(
            f"fee {body.fee} uvox < {quote.base_charge} uvox for {body.gas_limit} gas at the base "
            f"price {quote.base_price}/{feemarket.PRICE_SCALE} uvox per gas"
        )
    schedule = params.gas
    ctx.gas.consume(schedule.tx_base + schedule.tx_byte * len(tx.raw), "tx size")
    ctx.gas.consume(schedule.sig_verify, "signature")
    # Verify the signature (unless this exact tx's signature was already verified)
    if not signature_verified and not verify_signature(body.pub_key, tx.sign_bytes, tx.signature):
        raise InvalidSignatureError("signature does not verify against the tx's public key")
    signer = address_from_pubkey(body.pub_key)
    account = get_account(ctx, signer)
    # Verify the sequence: exactly the account's next one, so every tx applies at most once
    if body.sequence != account.sequence:
        raise WrongSequenceError(f"account sequence is {account.sequence}, tx has {body.sequence}")
    payer = signer
    if body.fee_granter:
        # Verify the fee granter allows this signer this fee for these messages (and spend it)
        use_allowance(ctx, body.fee_granter, signer, body.fee, [m.type for m in body.msgs])
        payer = body.fee_granter
    if body.fee:
        send(ctx, payer, FEE_COLLECTOR_ADDRESS, body.fee)
    if not ctx.is_check:
        # The block's tally: gas toward the next base price, the base charge above the floor to
        # burn and the tip to pay the proposer at the block's end (a fee-exempt tx pays neither)
        paid = not fee_exempt
        feemarket.record_tx(
            ctx.store,
            body.gas_limit,
            quote.burn() if paid else 0,
            quote.tip(body.fee) if paid else 0,
        )
    set_account(ctx, signer, Account(account.sequence + 1, body.pub_key))
    return signer
