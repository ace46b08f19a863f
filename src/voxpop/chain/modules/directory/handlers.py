"""Key directory transitions: publish the next version of an account's keys, or revoke them."""

from __future__ import annotations

from voxpop.chain.context import Context
from voxpop.chain.errors import KeyVersionMismatchError, NoPublishedKeysError
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.directory import state
from voxpop.chain.modules.directory.messages import MsgPublishKeys, MsgRevokeKeys


def process_publish(ctx: Context, msg: MsgPublishKeys) -> None:
    current = state.get_latest(ctx, msg.owner)
    # Verify the message creates the account's next version
    check_next_version(current, msg.version)
    record = state.KeyRecord(
        msg.version, msg.x25519, msg.secp256k1, ctx.block.height, ctx.block.time_unix
    )
    add_version(ctx, msg.owner, record)
    ctx.emit("keys_published", account=addr_text(msg.owner), version=str(msg.version))


def process_revoke(ctx: Context, msg: MsgRevokeKeys) -> None:
    current = state.get_latest(ctx, msg.owner)
    # Verify there are keys to revoke, and the message creates the next version
    if current is None or current.revoked:
        raise NoPublishedKeysError("this account has no published keys to revoke")
    check_next_version(current, msg.version)
    record = state.KeyRecord(msg.version, None, None, ctx.block.height, ctx.block.time_unix)
    add_version(ctx, msg.owner, record)
    ctx.emit("keys_revoked", account=addr_text(msg.owner), version=str(msg.version))


def check_next_version(current: state.KeyRecord | None, version: int) -> None:
    expected = (current.version if current else 0) + 1
    if version != expected:
        raise KeyVersionMismatchError(f"the next version of this account's keys is {expected}")


def add_version(ctx: Context, owner: bytes, record: state.KeyRecord) -> None:
    """Make `record` current and drop the versions beyond what the chain keeps."""
    state.set_record(ctx, owner, record)
    state.prune_versions(ctx, owner, record.version, state.get_params(ctx).versions_kept)
