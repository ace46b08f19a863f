"""Devices transitions: request a pairing, claim it, update and remove a device.

The chain never sees a device's code (only the id it hashes to) nor its name or versions (only
their ciphertext). A failing handler's writes are all dropped.
"""

from __future__ import annotations

from dataclasses import replace

from voxpop.chain.context import Context
from voxpop.chain.errors import (
    DeviceBlobTooLargeError,
    DeviceNotFoundError,
    DeviceRemovedError,
    NotDeviceOwnerError,
    PairingExpiredError,
    PairingIdUsedError,
    PairingNotFoundError,
    TooManyDevicesError,
    TooManyPairingsError,
)
from voxpop.chain.modules.codec import addr_text
from voxpop.chain.modules.devices import state
from voxpop.chain.modules.devices.messages import (
    MsgClaimDevice,
    MsgRemoveDevice,
    MsgRequestPairing,
    MsgUpdateDevice,
)


def process_request_pairing(ctx: Context, msg: MsgRequestPairing) -> None:
    params = state.get_params(ctx)
    check_blob_size(msg.blob, params)
    # Verify the id was never used: not by a pending request, a device, or a removed device
    if state.is_id_used(ctx, msg.pairing_id):
        raise PairingIdUsedError("this pairing id is taken: make a new salt")
    # Verify the owner has room for another pending request
    pending = state.count_listed(ctx, state.PAIRINGS_BY_OWNER, msg.owner)
    if pending >= params.max_pairings_per_owner:
        raise TooManyPairingsError(
            f"{pending} pending requests; an owner may have {params.max_pairings_per_owner}"
        )
    now = ctx.block.time_unix
    pairing = state.Pairing(
        owner=msg.owner,
        agent=msg.agent,
        salt=msg.salt,
        blob=msg.blob,
        requested_at=now,
        expires_at=now + params.pairing_ttl_seconds,
    )
    state.add_pairing(ctx, msg.pairing_id, pairing)
    ctx.emit(
        "pairing_requested",
        pairing_id=msg.pairing_id.hex(),
        owner=addr_text(msg.owner),
        agent=addr_text(msg.agent),
        expires_at=str(pairing.expires_at),
    )


def process_claim(ctx: Context, msg: MsgClaimDevice) -> None:
    pairing = state.get_pairing(ctx, msg.pairing_id)
    # Verify a pending request with this id (a claimed one is a device now)
    if pairing is None:
        if state.get_device(ctx, msg.pairing_id) is not None:
            raise PairingIdUsedError("this pairing was claimed already")
        raise PairingNotFoundError("no pending pairing request has this id")
    # Verify the signer is the owner the request names, and the request is still current
    if pairing.owner != msg.owner:
        raise NotDeviceOwnerError("the pairing request names another owner")
    if pairing.is_expired(ctx.block.time_unix):
        raise PairingExpiredError(f"the pairing request expired at {pairing.expires_at}")
    # Verify the owner has room for another device
    params = state.get_params(ctx)
    active = state.count_listed(ctx, state.DEVICES_BY_OWNER, msg.owner)
    if active >= params.max_devices_per_owner:
        raise TooManyDevicesError(
            f"{active} devices; an owner may have {params.max_devices_per_owner}: remove one"
        )
    now = ctx.block.time_unix
    state.delete_pairing(ctx, msg.pairing_id, pairing)
    device = state.Device(
        owner=pairing.owner,
        agent=pairing.agent,
        status=state.ACTIVE,
        blob=pairing.blob,
        paired_at=now,
        updated_at=now,
    )
    state.create_device(ctx, msg.pairing_id, device)
    ctx.emit(
        "device_paired",
        device_id=msg.pairing_id.hex(),
        owner=addr_text(device.owner),
        agent=addr_text(device.agent),
    )


def process_update(ctx: Context, msg: MsgUpdateDevice) -> None:
    device = get_active_device(ctx, msg.device_id, msg.owner)
    check_blob_size(msg.blob, state.get_params(ctx))
    updated = replace(device, blob=msg.blob, updated_at=ctx.block.time_unix)
    state.set_device(ctx, msg.device_id, updated)
    ctx.emit("device_updated", device_id=msg.device_id.hex(), owner=addr_text(device.owner))


def process_remove(ctx: Context, msg: MsgRemoveDevice) -> None:
    device = get_active_device(ctx, msg.device_id, msg.owner)
    state.remove_device(ctx, msg.device_id, device, ctx.block.time_unix)
    ctx.emit("device_removed", device_id=msg.device_id.hex(), owner=addr_text(device.owner))


def get_active_device(ctx: Context, device_id: bytes, owner: bytes) -> state.Device:
    """The device, checked to exist, be `owner`'s and be active. Raises DeviceNotFoundError,
    NotDeviceOwnerError, DeviceRemovedError."""
    device = state.get_device(ctx, device_id)
    # Verify the device exists, the signer owns it, and it was not removed
    if device is None:
        raise DeviceNotFoundError("no device has this id")
    if device.owner != owner:
        raise NotDeviceOwnerError("the device belongs to another owner")
    if not device.is_active:
        raise DeviceRemovedError("the device was removed")
    return device


def check_blob_size(blob: bytes, params: state.DeviceParams) -> None:
    # Verify the blob is within the chain's size limit
    if len(blob) > params.max_blob_bytes:
        raise DeviceBlobTooLargeError(f"blob is {len(blob)} bytes; at most {params.max_blob_bytes}")
