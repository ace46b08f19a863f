"""Channels transitions: open, top up, claim, close, settle, collect.

A failing handler's writes are all dropped (the app runs each message on a branch), so a Claim
with one bad voucher among many pays nothing.
"""

from __future__ import annotations

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    BlockedRecipientError,
    ChannelSettlingError,
    OverDepositError,
    SettleWindowEndedError,
    SettleWindowOpenError,
    TooManyVouchersError,
    VoucherInvalidError,
    VoucherStaleError,
    WrongPayeeError,
    WrongPayerError,
)
from voxpop.chain.module_accounts import MODULE_ADDRESSES
from voxpop.chain.modules.channels import state
from voxpop.chain.modules.channels.messages import (
    MsgClaim,
    MsgClose,
    MsgCollect,
    MsgOpen,
    MsgSettle,
    MsgTopUp,
)
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.services.state import record_settlement
from voxpop.crypto.vouchers import Voucher


def process_open(ctx: Context, msg: MsgOpen) -> None:
    # Verify the payee is an account a key holds (module accounts are paid only by their module)
    if msg.payee in MODULE_ADDRESSES:
        raise BlockedRecipientError("a channel cannot pay a module account")
    channel_id = state.next_channel_id(ctx, msg.payer)
    channel = state.Channel(
        payer=msg.payer,
        payee=msg.payee,
        voucher_key=msg.voucher_key,
        deposit=msg.deposit,
        claimed=0,
        settle_at=0,
        opened_at=ctx.block.time_unix,
    )
    state.create_channel(ctx, channel_id, channel)
    ctx.emit(
        "channel_open",
        channel_id=channel_id.hex(),
        payer=addr_text(msg.payer),
        payee=addr_text(msg.payee),
        deposit=str(msg.deposit),
    )


def process_top_up(ctx: Context, msg: MsgTopUp) -> None:
    channel = state.get_channel(ctx, msg.channel_id)
    # Verify the signer funds this channel, and the payer has not started leaving it
    if channel.payer != msg.payer:
        raise WrongPayerError("only the channel's payer can top it up")
    if channel.is_settling():
        raise ChannelSettlingError("the channel is settling: open a new one instead")
    grown = state.add_deposit(ctx, msg.channel_id, channel, msg.amount)
    ctx.emit(
        "channel_top_up",
        channel_id=msg.channel_id.hex(),
        amount=str(msg.amount),
        deposit=str(grown.deposit),
    )


def process_claim(ctx: Context, msg: MsgClaim) -> None:
    params = state.get_params(ctx)
    now = ctx.block.time_unix
    # Verify the claim is within the chain's per-claim bound
    if len(msg.vouchers) > params.max_vouchers_per_claim:
        raise TooManyVouchersError(
            f"{len(msg.vouchers)} vouchers; a claim carries at most {params.max_vouchers_per_claim}"
        )
    for i, (channel_id, amount, signature) in enumerate(msg.vouchers):
        where = f"vouchers[{i}]"
        channel = state.get_channel(ctx, channel_id)
        # Verify the signer is the channel's payee, and the settle window still lets it claim
        if channel.payee != msg.payee:
            raise WrongPayeeError(f"{where}: the signer is not this channel's payee")
        if channel.is_window_ended(now):
            raise SettleWindowEndedError(f"{where}: the settle window ended at {channel.settle_at}")
        # Verify the voucher pays more than was claimed, and no more than the deposit
        if amount <= channel.claimed:
            raise VoucherStaleError(f"{where}: {amount} is not above the {channel.claimed} claimed")
        if amount > channel.deposit:
            raise OverDepositError(f"{where}: {amount} is above the deposit {channel.deposit}")
        # Verify the channel's voucher key signed it for this chain (gas first: a huge claim runs
        # out of gas instead of verifying signatures for free)
        ctx.gas.consume(params.gas_per_voucher, "voucher signature")
        voucher = Voucher(channel_id, amount, signature)
        if not voucher.verify(ctx.block.chain_id, channel.voucher_key):
            raise VoucherInvalidError(f"{where}: not signed by the channel's voucher key")
        paid = state.pay_claim(ctx, channel_id, channel, amount)
        record_settlement(ctx, channel.payee, channel.payer, paid)
        ctx.emit(
            "channel_claim",
            channel_id=channel_id.hex(),
            payee=addr_text(channel.payee),
            amount=str(paid),
            claimed=str(amount),
        )


def process_close(ctx: Context, msg: MsgClose) -> None:
    channel = state.get_channel(ctx, msg.channel_id)
    # Verify the signer is the payee (the payer leaves through Settle and Collect)
    if channel.payee != msg.payee:
        raise WrongPayeeError("only the channel's payee can close it at once")
    refund = state.end_channel(ctx, msg.channel_id, channel)
    ctx.emit(
        "channel_close",
        channel_id=msg.channel_id.hex(),
        payer=addr_text(channel.payer),
        refund=str(refund),
    )


def process_settle(ctx: Context, msg: MsgSettle) -> None:
    channel = state.get_channel(ctx, msg.channel_id)
    # Verify the signer is the payer, and the window is not already running
    if channel.payer != msg.payer:
        raise WrongPayerError("only the channel's payer can settle it")
    if channel.is_settling():
        raise ChannelSettlingError(f"the channel already settles at {channel.settle_at}")
    settle_at = ctx.block.time_unix + state.get_params(ctx).settle_seconds
    state.start_settling(ctx, msg.channel_id, channel, settle_at)
    ctx.emit("channel_settle", channel_id=msg.channel_id.hex(), settle_at=str(settle_at))


def process_collect(ctx: Context, msg: MsgCollect) -> None:
    channel = state.get_channel(ctx, msg.channel_id)
    # Verify the signer is the payer, and the settle window has run to its end
    if channel.payer != msg.payer:
        raise WrongPayerError("only the channel's payer can collect it")
    if not channel.is_window_ended(ctx.block.time_unix):
        when = f"ends at {channel.settle_at}" if channel.is_settling() else "has not started"
        raise SettleWindowOpenError(f"the settle window {when}")
    refund = state.end_channel(ctx, msg.channel_id, channel)
    ctx.emit(
        "channel_collect",
        channel_id=msg.channel_id.hex(),
        payer=addr_text(channel.payer),
        refund=str(refund),
    )
