"""Inbox transitions: post a sealed message to an owner, delete messages.

The chain never sees a message's words: only its ciphertext, sealed to the owner's directory key.
"""

from __future__ import annotations

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    InboxExpiryInvalidError,
    InboxFullError,
    InboxMessageNotFoundError,
    InboxMessageTooLargeError,
)
from voxpop.chain.modules.bounds import MAX_UINT64
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.inbox import state
from voxpop.chain.modules.inbox.messages import MsgDeleteMessages, MsgPost


def process_post(ctx: Context, msg: MsgPost) -> None:
    params = state.get_params(ctx)
    now = ctx.block.time_unix
    # Verify the ciphertext is within the chain's size limit
    if len(msg.ciphertext) > params.max_message_bytes:
        raise InboxMessageTooLargeError(
            f"ciphertext is {len(msg.ciphertext)} bytes; at most {params.max_message_bytes}"
        )
    latest = now + params.max_ttl_seconds
    expires_at = msg.expires_at or latest
    # Verify the expiry is after this block and no later than the chain keeps messages
    if not now < expires_at <= latest:
        raise InboxExpiryInvalidError(f"expires_at must be after {now} and at most {latest}")
    # Verify the inbox has room, and an id is left (2^64-1 ids: never runs out in practice)
    held = state.count_messages(ctx, msg.owner)
    last_id = state.get_last_id(ctx, msg.owner)
    if held >= params.max_messages_per_owner or last_id == MAX_UINT64:
        raise InboxFullError(f"the inbox holds {held} messages: delete some first")
    message_id = last_id + 1
    state.set_last_id(ctx, msg.owner, message_id)
    state.add_message(
        ctx, msg.owner, message_id, state.InboxMessage(msg.ciphertext, now, expires_at)
    )
    ctx.emit(
        "inbox_post",
        owner=addr_text(msg.owner),
        id=str(message_id),
        expires_at=str(expires_at),
    )


def process_delete(ctx: Context, msg: MsgDeleteMessages) -> None:
    for message_id in msg.ids:
        message = state.get_message(ctx, msg.owner, message_id)
        # Verify the message is there (a bad id fails the whole message: nothing is deleted)
        if message is None:
            raise InboxMessageNotFoundError(f"the inbox holds no message {message_id}")
        state.delete_message(ctx, msg.owner, message_id, message)
    ctx.emit(
        "inbox_delete",
        owner=addr_text(msg.owner),
        ids=",".join(str(i) for i in msg.ids),
    )
