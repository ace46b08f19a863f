"""The settings module: each owner's settings, location and skill settings, stored as ciphertext
under a settings key wrapped to the owner and the owner's agents (the chain never sees them in the
clear), with key epochs for when an agent is removed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.errors import ChainError, InvalidGenesisError, InvalidQueryError
from voxpop.chain.fields import MAX_UINT64
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import ListRoute
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec, address_query
from voxpop.chain.modules.codec import addr_text, genesis_address
from voxpop.chain.modules.settings import handlers, state
from voxpop.chain.modules.settings.messages import (
    EPOCH,
    MAX_RECIPIENTS,
    WRAP_BYTES,
    MsgDelete,
    MsgPut,
    MsgRotate,
)
from voxpop.crypto import settings as fmt

ADDRESS_LEN = state.ADDRESS_LEN


def _record_query(data: bytes) -> bytes:
    """`/settings/record`: data = owner 20 ‖ record id 32."""
    # Verify an owner and a record id
    if len(data) != ADDRESS_LEN + state.RECORD_ID_LEN:
        raise InvalidQueryError("query data must be owner (20) ‖ record id (32)")
    return state.RECORD_PREFIX + data


def _wrap_query(data: bytes) -> bytes:
    """`/settings/wrap`: data = owner 20 ‖ epoch u32 BE ‖ recipient 20."""
    # Verify an owner, an epoch and a recipient
    if len(data) != 2 * ADDRESS_LEN + state.EPOCH_LEN:
        raise InvalidQueryError("query data must be owner (20) ‖ epoch (4) ‖ recipient (20)")
    return state.WRAP_PREFIX + data


class SettingsModule(Module):
    name = "settings"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.SettingsParams.from_value, state.SettingsParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgRotate.TYPE: MsgRoute(MsgRotate, handlers.process_rotate),
            MsgPut.TYPE: MsgRoute(MsgPut, handlers.process_put),
            MsgDelete.TYPE: MsgRoute(MsgDelete, handlers.process_delete),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "record": _record_query,
            "epoch": address_query(state.epoch_key, "owner"),
            "wrap": _wrap_query,
            "params": lambda _: state.PARAMS_KEY,
        }

    def list_routes(self) -> Mapping[str, ListRoute]:
        return {"by_owner": ListRoute(state.RECORDS_BY_OWNER, state.listed_record_key)}

    def default_genesis(self) -> dict[str, Any]:
        return {
            "params": state.SettingsParams().to_value(),
            "epochs": [],
            "wraps": [],
            "records": [],
        }

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        parts = ("params", "epochs", "wraps", "records")
        if set(data) != set(parts) or not all(isinstance(data[p], list) for p in parts[1:]):
            raise InvalidGenesisError(f"settings genesis needs exactly {list(parts)} (lists)")
        params = state.SettingsParams.from_value(data["params"])
        state.set_params(ctx, params)
        epochs: dict[bytes, state.Epoch] = {}
        for i, entry in enumerate(data["epochs"]):
            owner, epoch = _genesis_epoch(entry, f"settings.epochs[{i}]")
            if owner in epochs:
                raise InvalidGenesisError(f"settings.epochs[{i}]: duplicate owner")
            epochs[owner] = epoch
            state.set_epoch(ctx, owner, epoch, {})
        for i, entry in enumerate(data["wraps"]):
            where = f"settings.wraps[{i}]"
            owner, epoch_n, recipient, sealed = _genesis_wrap(entry, where)
            # Verify the wrap belongs to an epoch the owner has reached
            if owner not in epochs or not 1 <= epoch_n <= epochs[owner].epoch:
                raise InvalidGenesisError(f"{where}: the owner has no such epoch")
            ctx.set(state.wrap_key(owner, epoch_n, recipient), sealed)
        for i, entry in enumerate(data["records"]):
            where = f"settings.records[{i}]"
            owner, record_id, record = _genesis_record(entry, where)
            # Verify the record's epoch is one the owner has reached, and the quota
            if owner not in epochs or not 1 <= record.epoch <= epochs[owner].epoch:
                raise InvalidGenesisError(f"{where}: the owner has no such epoch")
            if len(record.ciphertext) > params.max_record_bytes:
                raise InvalidGenesisError(f"{where}: ciphertext over max_record_bytes")
            if state.get_record(ctx, owner, record_id) is not None:
                raise InvalidGenesisError(f"{where}: duplicate record")
            if state.count_records(ctx, owner) >= params.max_records_per_owner:
                raise InvalidGenesisError(f"{where}: over max_records_per_owner")
            state.put_record(ctx, owner, record_id, record)
        # Verify every current epoch is wrapped to its recipients, every record readable
        for check in (_current_wraps, _records_within_epochs):
            problem = check(ctx.store)
            if problem is not None:
                raise InvalidGenesisError(f"settings: {problem}")

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "params": state.get_params(reader).to_value(),
            "epochs": [
                {
                    "owner": addr_text(owner),
                    "epoch": e.epoch,
                    "recipients": [addr_text(r) for r in e.recipients],
                    "height": e.height,
                    "time": e.time,
                }
                for owner, e in state.read_epochs(reader)
            ],
            "wraps": [
                {
                    "owner": addr_text(owner),
                    "epoch": epoch,
                    "recipient": addr_text(recipient),
                    "sealed": sealed.hex(),
                }
                for owner, epoch, recipient, sealed in state.read_wraps(reader)
            ],
            "records": [
                {
                    "owner": addr_text(owner),
                    "record_id": record_id.hex(),
                    "version": r.version,
                    "epoch": r.epoch,
                    "ciphertext": r.ciphertext.hex(),
                }
                for owner, record_id, r in state.read_records(reader)
            ],
        }

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("settings/index", _index_matches_records),
            Invariant("settings/epochs", _records_within_epochs),
            Invariant("settings/current-wraps", _current_wraps),
        ]


# --- genesis entries --------------------------------------------------------------------------


def _fields(entry: Any, names: set[str], where: str) -> dict[str, Any]:
    if not isinstance(entry, dict) or set(entry) != names:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(names)}")
    return entry


def _uint(value: Any, where: str, low: int = 0, high: int = MAX_UINT64) -> int:
    if type(value) is not int or not low <= value <= high:
        raise InvalidGenesisError(f"{where} must be an integer in {low}..{high}")
    return value


def _hex(value: Any, where: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except (TypeError, ValueError):
        raise InvalidGenesisError(f"{where} must be hex") from None


def _genesis_epoch(entry: Any, where: str) -> tuple[bytes, state.Epoch]:
    e = _fields(entry, {"owner", "epoch", "recipients", "height", "time"}, where)
    owner = genesis_address(e["owner"], where)
    if not isinstance(e["recipients"], list) or not 1 <= len(e["recipients"]) <= MAX_RECIPIENTS:
        raise InvalidGenesisError(f"{where}: recipients must be a list of 1..{MAX_RECIPIENTS}")
    recipients = tuple(genesis_address(r, where) for r in e["recipients"])
    # Verify recipients ascend without repeats, the owner among them
    if list(recipients) != sorted(set(recipients)) or owner not in recipients:
        raise InvalidGenesisError(f"{where}: recipients must ascend, once each, with the owner")
    epoch = state.Epoch(
        _uint(e["epoch"], f"{where}.epoch", 1, EPOCH.maximum),
        recipients,
        _uint(e["height"], f"{where}.height"),
        _uint(e["time"], f"{where}.time"),
    )
    return owner, epoch


def _genesis_wrap(entry: Any, where: str) -> tuple[bytes, int, bytes, bytes]:
    e = _fields(entry, {"owner", "epoch", "recipient", "sealed"}, where)
    sealed = _hex(e["sealed"], f"{where}.sealed")
    if len(sealed) != WRAP_BYTES:
        raise InvalidGenesisError(f"{where}.sealed must be {WRAP_BYTES} bytes")
    return (
        genesis_address(e["owner"], where),
        _uint(e["epoch"], f"{where}.epoch", 1, EPOCH.maximum),
        genesis_address(e["recipient"], where),
        sealed,
    )


def _genesis_record(entry: Any, where: str) -> tuple[bytes, bytes, state.Record]:
    e = _fields(entry, {"owner", "record_id", "version", "epoch", "ciphertext"}, where)
    owner = genesis_address(e["owner"], where)
    try:
        msg = MsgPut(
            owner,
            _hex(e["record_id"], f"{where}.record_id"),
            _uint(e["version"], f"{where}.version", 1),
            _uint(e["epoch"], f"{where}.epoch", 1, EPOCH.maximum),
            _hex(e["ciphertext"], f"{where}.ciphertext"),
        )
        msg = MsgPut.from_value(msg.to_value())
    except ChainError as exc:
        raise InvalidGenesisError(f"{where}: {exc.message}") from None
    return owner, msg.record_id, state.Record(msg.version, msg.epoch, msg.ciphertext)


# --- invariants -------------------------------------------------------------------------------


def _index_matches_records(reader: KVReader) -> str | None:
    """The lists by owner hold exactly the records, under matching commitments."""
    problem = state.RECORDS_BY_OWNER.check(reader)
    if problem is not None:
        return problem
    held = [(owner, record_id) for owner, record_id, _ in state.read_records(reader)]
    if held != state.read_listed(reader):
        return "the lists by owner differ from the records"
    return None


def _records_within_epochs(reader: KVReader) -> str | None:
    """Every record was written under an epoch its owner has reached, whose wrap to the owner
    is kept (so the owner can always read it), within the format's bounds."""
    current = {owner: e.epoch for owner, e in state.read_epochs(reader)}
    for owner, record_id, record in state.read_records(reader):
        where = f"record {record_id.hex()} of {addr_text(owner)}"
        if not 1 <= record.epoch <= current.get(owner, 0):
            return f"{where} names epoch {record.epoch}, beyond the owner's"
        if reader.get(state.wrap_key(owner, record.epoch, owner)) is None:
            return f"{where}: no wrap of epoch {record.epoch} to the owner"
        if record.version < 1 or len(record.ciphertext) < fmt.OVERHEAD:
            return f"{where} is malformed"
    return None


def _current_wraps(reader: KVReader) -> str | None:
    """Each owner's current epoch has a wrap for exactly its recipients, the owner included, and
    no wrap names an epoch beyond the owner's current one."""
    epochs = dict(state.read_epochs(reader))
    at_current: dict[bytes, list[bytes]] = {}
    for owner, epoch, recipient, _ in state.read_wraps(reader):
        known = epochs.get(owner)
        if known is None or epoch > known.epoch:
            return f"a wrap of {addr_text(owner)} names epoch {epoch}, beyond the owner's"
        if epoch == known.epoch:
            at_current.setdefault(owner, []).append(recipient)
    for owner, e in epochs.items():
        if owner not in e.recipients or at_current.get(owner, []) != list(e.recipients):
            return f"the current wraps of {addr_text(owner)} differ from its recipients"
    return None
