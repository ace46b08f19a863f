"""`voxpop tx devices request-pairing|claim|update|remove` and `voxpop query devices
device|pairing|by-owner|pairings-by-owner`: the devices module's messages and reads, field by
field (ids, salts and blobs in hex). The owner's everyday commands (`voxpop device claim CODE`,
with names decrypted) are built on these in cli/device.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voxpop.chain.modules.devices.messages import (
    MsgClaimDevice,
    MsgRemoveDevice,
    MsgRequestPairing,
    MsgUpdateDevice,
)
from voxpop.chain.modules.devices.module import device_json, pairing_json
from voxpop.chain.modules.devices.state import PENDING, decode_device, decode_pairing
from voxpop.cli.commands.auth import ADDRESS_ARG
from voxpop.cli.declare import Arg, Inputs, Kind, QueryCommand, TxCommand
from voxpop.cli.options import StateQueryOptions
from voxpop.cli.output import fail, kv_table, rows_table
from voxpop.client import VoxClient
from voxpop.crypto import encode_address
from voxpop.crypto.pairing import PAIRING_ID_SIZE, SALT_SIZE


def hex_kind(length: int | None, what: str) -> Kind:
    """Bytes given in hex: exactly `length` of them, or any number (the chain checks sizes)."""

    def parse(text: str | None, inputs: Inputs, label: str) -> bytes | None:
        if text is None:
            return None
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
        # Verify hex, of the declared length
        if raw is None or (length is not None and len(raw) != length):
            size = f"{2 * length} hex digits" if length is not None else "hex"
            fail("invalid_message", f"{label} must be {what}: {size}", inputs.output)
        return raw

    return Kind(str, parse)


ID_HEX = hex_kind(PAIRING_ID_SIZE, "an id")
DEVICE_ARG = Arg("device_id", "the device id, 64 hex digits", ID_HEX, metavar="DEVICE_ID")
PAIRING_ARG = Arg("pairing_id", "the pairing request's id, 64 hex digits", ID_HEX)
BLOB_ARG = Arg(
    "blob", "the device's details, encrypted (settings blob format), hex", hex_kind(None, "bytes")
)

TX_COMMANDS = (
    TxCommand(
        module="devices",
        verb="request-pairing",
        msg=MsgRequestPairing,
        help="Publish a pairing request for the owner FROM (an agent sends it under the owner's "
        "grant): PAIRING_ID = sha256(domain ‖ SALT ‖ code), the code the device speaks never "
        "sent. Only FROM can claim it, before it expires.",
        args=(
            Arg("agent", "the agent serving the device: vox1 address or key name"),
            PAIRING_ARG,
            Arg("salt", "the request's random salt, 32 hex digits", hex_kind(SALT_SIZE, "a salt")),
            BLOB_ARG,
        ),
    ),
    TxCommand(
        module="devices",
        verb="claim",
        msg=MsgClaimDevice,
        help="As the owner FROM, claim the pending request PAIRING_ID: it becomes FROM's device, "
        "with the same id (`voxpop device claim CODE` finds the id from the spoken code).",
        args=(PAIRING_ARG,),
    ),
    TxCommand(
        module="devices",
        verb="update",
        msg=MsgUpdateDevice,
        help="Replace the encrypted blob of FROM's device DEVICE_ID (a rename, a version report).",
        args=(DEVICE_ARG, BLOB_ARG),
    ),
    TxCommand(
        module="devices",
        verb="remove",
        msg=MsgRemoveDevice,
        help="Remove FROM's device DEVICE_ID for good (its id is never used again).",
        args=(DEVICE_ARG,),
    ),
)


def _read_one(path: str, arg: str, name: str, shown: Callable[[bytes, bytes], Any]) -> Any:
    def read(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
        record_id = given[arg]
        result = client.query(path, record_id, height=opts.height, prove=opts.prove)
        return {
            name: shown(record_id, result.value) if result.value else None,
            "height": result.height,
            "verified": result.verified,
        }

    return read


def _device(device_id: bytes, raw: bytes) -> dict[str, Any]:
    return device_json(device_id, decode_device(raw))


def _pairing(pairing_id: bytes, raw: bytes) -> dict[str, Any]:
    return {**pairing_json(pairing_id, decode_pairing(raw)), "status": PENDING}


def _read_list(path: str, name: str, shown: Callable[[bytes, bytes], Any]) -> Any:
    def read(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
        if opts.height is not None:
            fail("invalid_height", "a list is answered at the latest height only", opts.output)
        owner = given["address"]
        answer = client.query_list(path, owner, prove=opts.prove)
        return {
            "owner": encode_address(owner),
            name: [shown(item.id, item.value) for item in answer.items],
            "height": answer.height,
            "verified": answer.verified,
        }

    return read


def _render_record(name: str) -> Callable[[dict[str, Any]], None]:
    def render(data: dict[str, Any]) -> None:
        record = data[name]
        rows: dict[str, Any] = {name: "(none)"} if record is None else dict(record)
        if "blob" in rows:  # ciphertext: its size says all a table can
            rows["blob"] = f"{len(rows['blob']) // 2} bytes, encrypted"
        rows["height"] = data["height"]
        if data["verified"]:
            rows["proof"] = "verified against the signed block header"
        kv_table({k: str(v) for k, v in rows.items()})

    return render


def _render_list(name: str, columns: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    def render(data: dict[str, Any]) -> None:
        kv_table({k: str(v) for k, v in data.items() if k != name})
        rows_table(
            [{**r, "blob": f"{len(r['blob']) // 2} bytes"} for r in data[name]],
            columns,
        )

    return render


QUERY_COMMANDS = (
    QueryCommand(
        module="devices",
        what="device",
        help="A device by id (none: null): owner, agent, status, encrypted blob, times.",
        read=_read_one("/devices/device", "device_id", "device", _device),
        render=_render_record("device"),
        args=(DEVICE_ARG,),
    ),
    QueryCommand(
        module="devices",
        what="pairing",
        help="A pending pairing request by id (none: null): owner, agent, salt, expiry.",
        read=_read_one("/devices/pairing", "pairing_id", "pairing", _pairing),
        render=_render_record("pairing"),
        args=(PAIRING_ARG,),
    ),
    QueryCommand(
        module="devices",
        what="by-owner",
        help="ADDRESS's active devices (a list: with --prove, proven whole).",
        read=_read_list("/devices/by_owner", "devices", _device),
        render=_render_list("devices", ("id", "agent", "status", "blob", "paired_at")),
        args=(ADDRESS_ARG,),
    ),
    QueryCommand(
        module="devices",
        what="pairings-by-owner",
        help="ADDRESS's pending pairing requests (a list: with --prove, proven whole).",
        read=_read_list("/devices/pairings_by_owner", "pairings", _pairing),
        render=_render_list("pairings", ("id", "agent", "salt", "blob", "expires_at")),
        args=(ADDRESS_ARG,),
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)

__all__ = ["COMMANDS", "hex_kind"]
