"""Settings transitions: rotate the owner's settings key, write and delete records."""

from __future__ import annotations

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    KeyVersionMismatchError,
    NoPublishedKeysError,
    SettingsEpochMismatchError,
    SettingsNoKeyError,
    SettingsRecordNotFoundError,
    SettingsRecordTooLargeError,
    SettingsStaleEpochError,
    SettingsVersionConflictError,
    TooManySettingsRecordsError,
)
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.directory import state as directory
from voxpop.chain.modules.settings import state
from voxpop.chain.modules.settings.messages import MsgDelete, MsgPut, MsgRotate
from voxpop.crypto.sealed import envelope_version


def process_rotate(ctx: Context, msg: MsgRotate) -> None:
    current = state.current_epoch(ctx, msg.owner)
    # Verify the message starts the owner's next epoch
    if msg.epoch != current + 1:
        raise SettingsEpochMismatchError(f"the owner's next key epoch is {current + 1}")
    # Verify each wrap is sealed to its recipient's current published X25519 key (the chain
    # cannot open it, but can refuse keys sealed to a stale or revoked key)
    for recipient, sealed in msg.wraps:
        keys = directory.get_latest(ctx, recipient)
        if keys is None or keys.revoked:
            raise NoPublishedKeysError(f"{addr_text(recipient)} publishes no encryption keys")
        if envelope_version(sealed) != keys.version:
            raise KeyVersionMismatchError(
                f"the wrap to {addr_text(recipient)} must be sealed to its key version "
                f"{keys.version}"
            )
    recipients = tuple(sorted(recipient for recipient, _ in msg.wraps))
    epoch = state.Epoch(msg.epoch, recipients, ctx.block.height, ctx.block.time_unix)
    state.set_epoch(ctx, msg.owner, epoch, dict(msg.wraps))
    ctx.emit(
        "settings_rotated",
        owner=addr_text(msg.owner),
        epoch=str(msg.epoch),
        recipients=str(len(recipients)),
    )


def process_put(ctx: Context, msg: MsgPut) -> None:
    params = state.get_params(ctx)
    current = state.current_epoch(ctx, msg.owner)
    # Verify the owner has a settings key and the record is written under its current epoch
    if current == 0:
        raise SettingsNoKeyError("the owner has no settings key yet: rotate to epoch 1 first")
    if msg.epoch != current:
        raise SettingsStaleEpochError(f"the owner's current key epoch is {current}")
    # Verify the ciphertext is within the chain's limit
    if len(msg.ciphertext) > params.max_record_bytes:
        raise SettingsRecordTooLargeError(
            f"a record's ciphertext is at most {params.max_record_bytes} bytes"
        )
    stored = state.get_record(ctx, msg.owner, msg.record_id)
    # Verify the message writes the next version (compare-and-set: concurrent writers conflict)
    expected = (stored.version if stored else 0) + 1
    if msg.version != expected:
        raise SettingsVersionConflictError(f"the record's next version is {expected}")
    # Verify a new record fits in the owner's quota
    if stored is None and state.count_records(ctx, msg.owner) >= params.max_records_per_owner:
        raise TooManySettingsRecordsError(
            f"an owner holds at most {params.max_records_per_owner} settings records"
        )
    state.put_record(
        ctx, msg.owner, msg.record_id, state.Record(msg.version, msg.epoch, msg.ciphertext)
    )
    ctx.emit(
        "settings_put",
        owner=addr_text(msg.owner),
        record_id=msg.record_id.hex(),
        version=str(msg.version),
    )


def process_delete(ctx: Context, msg: MsgDelete) -> None:
    # Verify the record exists
    if state.get_record(ctx, msg.owner, msg.record_id) is None:
        raise SettingsRecordNotFoundError("the owner has no record with this id")
    state.delete_record(ctx, msg.owner, msg.record_id)
    ctx.emit("settings_deleted", owner=addr_text(msg.owner), record_id=msg.record_id.hex())
