"""Bank state transitions."""

from __future__ import annotations

from voxpop.chain.context import Context
from voxpop.chain.errors import InsufficientFundsError, InvalidMessageError, UnauthorizedError
from voxpop.chain.modules.bank import state
from voxpop.chain.modules.bank.messages import MsgMultiSend, MsgSend
from voxpop.chain.modules.codec import addr_text


def process_send(ctx: Context, msg: MsgSend) -> None:
    # Verify transfers are enabled
    if not state.get_params(ctx).send_enabled:
        raise UnauthorizedError("transfers are disabled by governance")
    state.send(ctx, msg.sender, msg.recipient, msg.amount)
    ctx.emit(
        "transfer",
        sender=addr_text(msg.sender),
        recipient=addr_text(msg.recipient),
        amount=str(msg.amount),
    )


def process_multi_send(ctx: Context, msg: MsgMultiSend) -> None:
    params = state.get_params(ctx)
    # Verify transfers are enabled and the output count is within bounds
    if not params.send_enabled:
        raise UnauthorizedError("transfers are disabled by governance")
    if len(msg.outputs) > params.max_multisend_outputs:
        raise InvalidMessageError(
            f"{len(msg.outputs)} outputs; at most {params.max_multisend_outputs} allowed"
        )
    # Verify the sender holds the whole total first: an output paying the sender itself does not
    # fund the outputs after it (as in a Cosmos MultiSend, inputs are debited before outputs)
    total = sum(amount for _, amount in msg.outputs)
    balance = state.get_balance(ctx, msg.sender)
    if balance < total:
        raise InsufficientFundsError(f"balance {balance} uvox < {total} uvox for all outputs")
    for recipient, amount in msg.outputs:
        state.send(ctx, msg.sender, recipient, amount)
        ctx.emit(
            "transfer",
            sender=addr_text(msg.sender),
            recipient=addr_text(recipient),
            amount=str(amount),
        )
