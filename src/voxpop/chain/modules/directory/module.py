"""The directory module: each account's public encryption keys, versioned, readable by anyone
with a proof, so anyone can encrypt to an account or an agent without contacting it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state
from voxpop.chain.errors import ChainError, InvalidGenesisError, InvalidQueryError
from voxpop.chain.kv import KVReader
from voxpop.chain.module import Invariant, Module, MsgRoute, ParamsSpec, address_query
from voxpop.chain.modules.codec import addr_text, genesis_address
from voxpop.chain.modules.directory import handlers, state
from voxpop.chain.modules.directory.messages import MsgPublishKeys, MsgRevokeKeys


def _version_query(data: bytes) -> bytes:
    # Verify the query names one address and one version
    if len(data) != state.ADDRESS_LEN + state.VERSION_LEN:
        raise InvalidQueryError("query data must be a 20-byte address and an 8-byte version")
    return state.version_query_key(data)


class DirectoryModule(Module):
    name = "directory"
    prefix = state.PREFIX

    def params_spec(self) -> ParamsSpec:
        return ParamsSpec(state.PARAMS_KEY, state.DirectoryParams.from_value, state.DirectoryParams)

    def msg_routes(self) -> Mapping[str, MsgRoute]:
        return {
            MsgPublishKeys.TYPE: MsgRoute(MsgPublishKeys, handlers.process_publish),
            MsgRevokeKeys.TYPE: MsgRoute(MsgRevokeKeys, handlers.process_revoke),
        }

    def query_routes(self) -> Mapping[str, Callable[[bytes], bytes]]:
        return {
            "keys": address_query(state.latest_key),
            "key_version": _version_query,
            "params": lambda _: state.PARAMS_KEY,
        }

    def default_genesis(self) -> dict[str, Any]:
        return {"params": state.DirectoryParams().to_value(), "records": []}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        if set(data) != {"params", "records"} or not isinstance(data["records"], list):
            raise InvalidGenesisError("directory genesis needs exactly params and records (a list)")
        params = state.DirectoryParams.from_value(data["params"])
        state.set_params(ctx, params)
        latest: dict[bytes, state.KeyRecord] = {}
        seen: set[tuple[bytes, int]] = set()
        for i, entry in enumerate(data["records"]):
            where = f"directory.records[{i}]"
            address, record = genesis_record(entry, where)
            # Verify each version of an account appears once
            if (address, record.version) in seen:
                raise InvalidGenesisError(f"{where}: duplicate version")
            seen.add((address, record.version))
            ctx.set(state.version_key(address, record.version), state.encode_record(record))
            if address not in latest or latest[address].version < record.version:
                latest[address] = record
        # Verify no account holds more versions than the chain keeps
        for address, version in seen:
            if version <= latest[address].version - params.versions_kept:
                raise InvalidGenesisError(
                    f"directory: {addr_text(address)} holds versions older than the last "
                    f"{params.versions_kept}"
                )
        for address, record in sorted(latest.items()):
            ctx.set(state.latest_key(address), state.encode_record(record))

    def export_genesis(self, reader: KVReader) -> dict[str, Any]:
        return {
            "params": state.read_params(reader).to_value(),
            "records": [
                {"address": addr_text(address), **record_json(record)}
                for address, record in state.iter_versions(reader)
            ],
        }

    def invariants(self) -> list[Invariant]:
        return [
            Invariant("directory/latest-kept", _latest_is_kept),
            Invariant("directory/versions-bounded", _versions_bounded),
            Invariant("directory/records-valid", _records_valid),
        ]


def record_json(record: state.KeyRecord) -> dict[str, Any]:
    """A record as genesis files and the API show it: keys in hex, null when revoked."""
    return {
        "version": record.version,
        "x25519": record.x25519.hex() if record.x25519 is not None else None,
        "secp256k1": record.secp256k1.hex() if record.secp256k1 is not None else None,
        "height": record.height,
        "time": record.time,
    }


def genesis_record(entry: Any, where: str) -> tuple[bytes, state.KeyRecord]:
    fields = {"address", *state.RECORD_FIELDS}
    if not isinstance(entry, dict) or set(entry) != fields:
        raise InvalidGenesisError(f"{where} needs exactly {sorted(fields)}")
    address = genesis_address(entry["address"], where)
    value = dict(entry)
    del value["address"]
    for name in ("x25519", "secp256k1"):
        if value[name] is not None:
            try:
                value[name] = bytes.fromhex(value[name])
            except (TypeError, ValueError):
                raise InvalidGenesisError(f"{where}: {name} must be hex or null") from None
    try:
        return address, state.KeyRecord.from_value(value)
    except ChainError as exc:
        raise InvalidGenesisError(f"{where}: {exc.message}") from None


def _latest_is_kept(reader: KVReader) -> str | None:
    """Every account's current record is also stored under its version."""
    for address, record in state.iter_latest(reader):
        kept = reader.get(state.version_key(address, record.version))
        if kept is None or state.decode_record(kept) != record:
            return f"{address.hex()}: version {record.version} is current but not kept"
    return None


def _versions_bounded(reader: KVReader) -> str | None:
    """Every version kept belongs to an account with a current record, within the last
    `versions_kept` versions."""
    kept = state.read_params(reader).versions_kept
    latest = dict(state.iter_latest(reader))
    for address, record in state.iter_versions(reader):
        current = latest.get(address)
        if current is None or not current.version - kept < record.version <= current.version:
            return f"{address.hex()}: version {record.version} kept outside the window"
    return None


def _records_valid(reader: KVReader) -> str | None:
    """Every stored record is well formed, its keys valid (or both absent)."""
    for key, raw in reader.iterate(state.VERSION_PREFIX):
        try:
            record = state.KeyRecord.from_value(decode_state(raw))
        except ChainError:
            return f"malformed key record {key.hex()}"
        if key[-state.VERSION_LEN :] != record.version.to_bytes(state.VERSION_LEN, "big"):
            return f"key record {key.hex()} is stored under another version"
    return None
