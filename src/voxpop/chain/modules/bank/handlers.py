"""Bank state transitions."""

from __future__ import annotations

from voxpop.chain.context import Context
from voxpop.chain.errors import InvalidMessageError, UnauthorizedError
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
    # A shortfall part-way raises, and the tx's branch drops the earlier outputs with it
    for recipient, amount in msg.outputs:
        state.send(ctx, msg.sender, recipient, amount)
        ctx.emit(
            "transfer",
            sender=addr_text(msg.sender),
            recipient=addr_text(recipient),
            amount=str(amount),
        )
