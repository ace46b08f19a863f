"""The devices module: an owner's devices, paired by a code the device speaks and described only
by ciphertext, with pairing requests that expire."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.abci import ValidatorUpdate
from voxpop.chain.context import Context
from voxpop.chain.errors import InvalidGenesisError, InvalidQueryError
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec
from voxpop.chain.modules.bounds import MAX_UINT64
from voxpop.chain.modules.codec import addr_text, genesis_address
from voxpop.chain.modules.devices import handlers, state
from voxpop.chain.modules.devices.messages import (
    MAX_BLOB_BYTES,
    MsgClaimDevice,
    MsgRemoveDevice,
    MsgRequestPairing,
    MsgUpdateDevice,
)
from voxpop.crypto.pairing import PAIRING_ID_SIZE, SALT_SIZE

GENESIS_FIELDS = frozenset({"params", "devices", "pairings"})
DEVICE_JSON_FIELDS = frozenset({"id", *state.DEVICE_FIELDS})
PAIRING_JSON_FIELDS = frozenset({"id", *state.PAIRING_FIELDS})
MAX_GENESIS_DEVICES = 100_000
MAX_GENESIS_PAIRINGS = 10_000


def _id_query(make_key: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    """A query whose data is one 32-byte id (a device's, a pairing request's)."""

    def route(data: bytes) -> bytes:
        # Verify one id
        if len(data) != PAIRING_ID_SIZE:
            raise InvalidQueryError(f"query data must be a {PAIRING_ID_SIZE}-byte id")
        return make_key(data)

    return route


class DevicesModule(Module):
    name = "devices"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.DeviceParams.from_value, state.DeviceParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgRequestPairing.TYPE: MsgRoute(MsgRequestPairing, handlers.process_request_pairing),
            MsgClaimDevice.TYPE: MsgRoute(MsgClaimDevice, handlers.process_claim),
            MsgUpdateDevice.TYPE: MsgRoute(MsgUpdateDevice, handlers.process_update),
            MsgRemoveDevice.TYPE: MsgRoute(MsgRemoveDevice, handlers.process_remove),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "device": _id_query(state.device_key),
            "pairing": _id_query(state.pairing_key),
            "params": lambda _: state.PARAMS_KEY,
        }

    def list_routes(self) -> Mapping[str, ListRoute]:
        return {"by_owner": state.DEVICE_LIST, "pairings_by_owner": state.PAIRING_LIST}

    def default_genesis(self) -> dict[str, Any]:
        return {"params": state.DeviceParams().to_value(), "devices": [], "pairings": []}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        # Verify the shape and the bounds, then each record as the messages would leave it
        if set(data) != GENESIS_FIELDS:
            raise InvalidGenesisError(f"devices genesis needs exactly {sorted(GENESIS_FIELDS)}")
        devices, pairings = data["devices"], data["pairings"]
        if not isinstance(devices, list) or not isinstance(pairings, list):
            raise InvalidGenesisError("devices genesis: devices and pairings must be lists")
        if len(devices) > MAX_GENESIS_DEVICES or len(pairings) > MAX_GENESIS_PAIRINGS:
            raise InvalidGenesisError(
                f"devices genesis holds at most {MAX_GENESIS_DEVICES} devices and "
                f"{MAX_GENESIS_PAIRINGS} pairing requests"
            )
        params = state.DeviceParams.from_value(data["params"])
        state.set_params(ctx, params)
        seen: set[bytes] = set()
        active: Counter[bytes] = Counter()
        for i, entry in enumerate(devices):
            where = f"devices.devices[{i}]"
            device_id, device = genesis_device(entry, where)
            if device_id in seen:
                raise InvalidGenesisError(f"{where}: duplicate id")
            seen.add(device_id)
            state.set_device(ctx, device_id, device)
            if device.is_active:
                active[device.owner] += 1
                # Verify the owner's active devices fit its list (not the param: governance may
                # have lowered it below what owners hold, and an export must import again)
                if active[device.owner] > state.MAX_DEVICES_PER_OWNER:
                    raise InvalidGenesisError(f"{where}: its owner has too many devices")
                state.DEVICES_BY_OWNER.add(ctx, device.owner, device_id)
        pending: Counter[bytes] = Counter()
        for i, entry in enumerate(pairings):
            where = f"devices.pairings[{i}]"
            pairing_id, pairing = genesis_pairing(entry, where)
            # Verify an id in one record only: a device's id is never a request's too
            if pairing_id in seen:
                raise InvalidGenesisError(f"{where}: duplicate id")
            seen.add(pairing_id)
            pending[pairing.owner] += 1
            if pending[pairing.owner] > state.MAX_PAIRINGS_PER_OWNER:
                raise InvalidGenesisError(f"{where}: its owner has too many pending requests")
            state.add_pairing(ctx, pairing_id, pairing)

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "params": state.read_params(reader).to_value(),
            "devices": [device_json(i, d) for i, d in state.read_devices(reader)],
            "pairings": [pairing_json(i, p) for i, p in state.read_pairings(reader)],
        }

    def end_block(self, ctx: Context) -> list[ValidatorUpdate]:
        for pairing_id, pairing in state.prune_expired(ctx):
            ctx.emit("pairing_expired", pairing_id=pairing_id.hex(), owner=addr_text(pairing.owner))
        return []

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("devices/lists", _lists_match),
            Invariant("devices/expiry-queue", _queue_matches_pairings),
            Invariant("devices/ids-once", _ids_once),
            Invariant("devices/well-formed", _well_formed),
        ]


# --- JSON shapes: genesis files, the API and the CLI ------------------------------------------


def device_json(device_id: bytes, device: state.Device) -> dict[str, Any]:
    return {
        "id": device_id.hex(),
        "owner": addr_text(device.owner),
        "agent": addr_text(device.agent),
        "status": device.status,
        "blob": device.blob.hex(),
        "paired_at": device.paired_at,
        "updated_at": device.updated_at,
    }


def pairing_json(pairing_id: bytes, pairing: state.Pairing) -> dict[str, Any]:
    return {
        "id": pairing_id.hex(),
        "owner": addr_text(pairing.owner),
        "agent": addr_text(pairing.agent),
        "salt": pairing.salt.hex(),
        "blob": pairing.blob.hex(),
        "requested_at": pairing.requested_at,
        "expires_at": pairing.expires_at,
    }


def _hex(value: Any, where: str, length: int | None = None) -> bytes:
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else None
    except ValueError:
        raw = None
    if raw is None or (length is not None and len(raw) != length):
        size = f"{length} bytes" if length is not None else "bytes"
        raise InvalidGenesisError(f"{where} must be {size} in hex")
    return raw


def _time(value: Any, where: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_UINT64:
        raise InvalidGenesisError(f"{where} must be a 64-bit block time")
    return value


def _blob(value: Any, where: str) -> bytes:
    blob = _hex(value, where)
    # Verify a blob a message could have stored: present, within the limit of any params
    if not 0 < len(blob) <= MAX_BLOB_BYTES:
        raise InvalidGenesisError(f"{where} must be 1 to {MAX_BLOB_BYTES} bytes")
    return blob


def genesis_device(entry: Any, where: str) -> tuple[bytes, state.Device]:
    """A device from its JSON shape (`device_json`), checked. Raises InvalidGenesisError."""
    if not isinstance(entry, dict) or set(entry) != DEVICE_JSON_FIELDS:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(DEVICE_JSON_FIELDS)}")
    device_id = _hex(entry["id"], f"{where}.id", PAIRING_ID_SIZE)
    owner = genesis_address(entry["owner"], f"{where}.owner")
    agent = genesis_address(entry["agent"], f"{where}.agent")
    status = entry["status"]
    paired_at = _time(entry["paired_at"], f"{where}.paired_at")
    updated_at = _time(entry["updated_at"], f"{where}.updated_at")
    # Verify a status, a blob only while active (a tombstone keeps none), times in order
    if status == state.ACTIVE:
        blob = _blob(entry["blob"], f"{where}.blob")
    elif status == state.REMOVED:
        if entry["blob"] != "":
            raise InvalidGenesisError(f"{where}.blob must be empty for a removed device")
        blob = b""
    else:
        raise InvalidGenesisError(f"{where}.status must be {state.ACTIVE} or {state.REMOVED}")
    if paired_at > updated_at:
        raise InvalidGenesisError(f"{where}: paired_at is after updated_at")
    return device_id, state.Device(owner, agent, status, blob, paired_at, updated_at)


def genesis_pairing(entry: Any, where: str) -> tuple[bytes, state.Pairing]:
    """A pending request from its JSON shape (`pairing_json`), checked. Raises
    InvalidGenesisError."""
    if not isinstance(entry, dict) or set(entry) != PAIRING_JSON_FIELDS:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(PAIRING_JSON_FIELDS)}")
    pairing_id = _hex(entry["id"], f"{where}.id", PAIRING_ID_SIZE)
    owner = genesis_address(entry["owner"], f"{where}.owner")
    agent = genesis_address(entry["agent"], f"{where}.agent")
    salt = _hex(entry["salt"], f"{where}.salt", SALT_SIZE)
    blob = _blob(entry["blob"], f"{where}.blob")
    requested_at = _time(entry["requested_at"], f"{where}.requested_at")
    expires_at = _time(entry["expires_at"], f"{where}.expires_at")
    # Verify it expires after it was made, within the longest time a request may last
    if not requested_at < expires_at <= requested_at + state.MAX_PAIRING_TTL:
        raise InvalidGenesisError(
            f"{where}: expires_at must be after requested_at, by at most {state.MAX_PAIRING_TTL} s"
        )
    return pairing_id, state.Pairing(owner, agent, salt, blob, requested_at, expires_at)


# --- invariants -------------------------------------------------------------------------------


def _lists_match(reader: KVReader) -> str | None:
    """Both lists' commitments match, and they name exactly the active devices and the pending
    requests, each under its own owner."""
    for index in (state.DEVICES_BY_OWNER, state.PAIRINGS_BY_OWNER):
        broken = index.check(reader)
        if broken is not None:
            return broken
    devices = sorted((d.owner, i) for i, d in state.read_devices(reader) if d.is_active)
    if state.read_listed(reader, state.DEVICES_BY_OWNER) != devices:
        return "the lists by owner do not name exactly the active devices"
    pairings = sorted((p.owner, i) for i, p in state.read_pairings(reader))
    if state.read_listed(reader, state.PAIRINGS_BY_OWNER) != pairings:
        return "the pairing lists by owner do not name exactly the pending requests"
    return None


def _queue_matches_pairings(reader: KVReader) -> str | None:
    """The expiry queue holds exactly one entry per pending request, at its expiry."""
    expected = sorted((p.expires_at, i) for i, p in state.read_pairings(reader))
    if state.read_expiry_queue(reader) != expected:
        return "the expiry queue does not match the pending requests"
    return None


def _ids_once(reader: KVReader) -> str | None:
    """No id is both a pending request and a device."""
    both = {i for i, _ in state.read_pairings(reader)} & {i for i, _ in state.read_devices(reader)}
    if both:
        return f"{len(both)} ids are both a pending request and a device"
    return None


def _well_formed(reader: KVReader) -> str | None:
    """Active devices carry a blob within the hard limit; removed ones none."""
    for device_id, d in state.read_devices(reader):
        if d.status not in (state.ACTIVE, state.REMOVED):
            return f"device {device_id.hex()} has an unknown status"
        if d.is_active != (0 < len(d.blob) <= MAX_BLOB_BYTES):
            return f"device {device_id.hex()}: blob of {len(d.blob)} bytes while {d.status}"
    for pairing_id, p in state.read_pairings(reader):
        if not 0 < len(p.blob) <= MAX_BLOB_BYTES or p.expires_at <= p.requested_at:
            return f"pairing request {pairing_id.hex()} is malformed"
    return None
