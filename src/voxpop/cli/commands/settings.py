"""`voxpop tx settings put|delete|rotate` and `voxpop query settings record|epoch|wrap|by-owner`:
an owner's encrypted settings records, low level (the chain's settings module).

The tx commands are the owner's own (FROM is the owner): the value is encrypted on this machine
with the owner's settings key, unwrapped from the chain, and only ciphertext is sent. Agents write
through authz/Exec (the agent runs that). The owner's everyday commands are `voxpop device
settings`, `voxpop device location` and `voxpop skill settings`.
"""

from __future__ import annotations

import re
from typing import Any

from voxpop.chain.encoding import decode_canonical
from voxpop.chain.modules.settings.messages import MsgDelete, MsgPut, MsgRotate
from voxpop.chain.modules.settings.state import Epoch, Record
from voxpop.cli.commands.auth import ADDRESS_ARG
from voxpop.cli.connect import client_errors
from voxpop.cli.declare import ADDRESS, INTEGER, TEXT, Arg, Inputs, Kind, QueryCommand, TxCommand
from voxpop.cli.keyring import resolve_address
from voxpop.cli.options import StateQueryOptions, TxOptions
from voxpop.cli.output import fail, kv_table, rows_table
from voxpop.cli.signing import Signer
from voxpop.client import VoxClient
from voxpop.client.settings import SettingsVault
from voxpop.crypto import CryptoError, encode_address
from voxpop.crypto import settings as fmt

OWNER_ARG = Arg("owner", "the owner: vox1 address or key name", ADDRESS)
HEX_ID = re.compile(r"^[0-9a-f]{64}$")


def _parse_recipients(values: list[str] | None, inputs: Inputs, label: str) -> list[bytes]:
    home, backend = inputs.home, inputs.keyring_backend
    return [resolve_address(v, home, backend, inputs.output) for v in values or []]


RECIPIENTS = Kind(list[str], _parse_recipients)


def _parse_record_id(text: str | None, inputs: Inputs, label: str) -> bytes:
    try:
        record_id = bytes.fromhex(text or "")
    except ValueError:
        record_id = b""
    # Verify 32 bytes of hex (the chain's record ids)
    if len(record_id) != fmt.RECORD_ID_SIZE:
        fail("invalid_query", f"{label} must be a 32-byte record id in hex", inputs.output)
    return record_id


RECORD_ID = Kind(str, _parse_record_id)
# The record's name in a tx command: derive turns it into the record id (HMAC under the naming
# key), so the name itself never leaves this machine
NAME_ARG = Arg(
    "record_id",
    "the record's name, e.g. location or skill/<skill id>/values (or its id: 64 hex digits)",
    TEXT,
    metavar="NAME",
)
EPOCH_FLAG = Arg(
    "epoch", "the key epoch (default: the owner's current one)", INTEGER, "--epoch", None
)


def _vault(signer: Signer, client: VoxClient) -> SettingsVault:
    return SettingsVault(client, signer.raw_address, signer.key)


def _record_id(vault: SettingsVault, name: str) -> bytes:
    return bytes.fromhex(name) if HEX_ID.match(name) else vault.record_id(name)


def put_fields(signer: Signer, opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    """Encrypt VALUE under FROM's settings key as record NAME: the next version under the current
    epoch unless --version or --epoch say otherwise (the chain then decides)."""
    with client_errors(opts.output), VoxClient(opts.node) as client:
        vault = _vault(signer, client)
        try:
            msg = vault.put_msg(value["record_id"], value["ciphertext"].encode())
            if value["version"] is not None or value["epoch"] is not None:
                given = value["version"], value["epoch"]
                version = msg.version if given[0] is None else given[0]
                keys = vault.keys_of(msg.epoch if given[1] is None else given[1])
                ciphertext = fmt.encrypt_record(
                    keys.settings_key,
                    msg.owner,
                    msg.record_id,
                    keys.epoch,
                    version,
                    value["ciphertext"].encode(),
                )
                msg = MsgPut(msg.owner, msg.record_id, version, keys.epoch, ciphertext)
        except (CryptoError, ValueError) as exc:
            fail(getattr(exc, "code", "invalid_message"), str(exc), opts.output)
    return msg.to_value()


def delete_fields(signer: Signer, opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    with client_errors(opts.output), VoxClient(opts.node) as client:
        record_id = _record_id(_vault(signer, client), value["record_id"])
    return {**value, "record_id": record_id}


def rotate_fields(signer: Signer, opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    """A new settings key wrapped to FROM and each recipient (their keys read with proofs)."""
    with client_errors(opts.output), VoxClient(opts.node) as client:
        msg = _vault(signer, client).rotate_msg(value["wraps"])
    # Verify the epoch asked for, if any, is the one this rotation makes
    if value["epoch"] is not None and value["epoch"] != msg.epoch:
        fail("settings_epoch_mismatch", f"the owner's next key epoch is {msg.epoch}", opts.output)
    return msg.to_value()


TX_COMMANDS = (
    TxCommand(
        module="settings",
        verb="put",
        msg=MsgPut,
        help="Encrypt VALUE on this machine and store it as FROM's record NAME (next version).\n\n"
        "Only the ciphertext and the record's id (an HMAC of NAME) go on chain.",
        args=(
            NAME_ARG,
            Arg("ciphertext", "the plaintext (UTF-8), encrypted here", TEXT, metavar="VALUE"),
            Arg("version", "the version (default: the stored one + 1)", INTEGER, "--version", None),
            EPOCH_FLAG,
        ),
        derive=put_fields,
    ),
    TxCommand(
        module="settings",
        verb="delete",
        msg=MsgDelete,
        help="Delete FROM's record NAME.",
        args=(NAME_ARG,),
        derive=delete_fields,
    ),
    TxCommand(
        module="settings",
        verb="rotate",
        msg=MsgRotate,
        help="Start FROM's next settings key epoch, wrapped to FROM and each --recipient.\n\n"
        "Run it after removing an agent, leaving that agent out. It protects future writes only: "
        "what was written before stays readable to whoever held the old key.",
        args=(
            EPOCH_FLAG,
            Arg(
                "wraps",
                "an agent to give the key: vox1 address or key name (repeat for each)",
                RECIPIENTS,
                "--recipient",
                None,
            ),
        ),
        derive=rotate_fields,
    ),
)


def _no_list_height(opts: StateQueryOptions) -> None:
    if opts.height is not None:
        fail("invalid_height", "a list is answered at the latest height only", opts.output)


def record_json(record: Record | None) -> dict[str, Any]:
    return {
        "version": record.version if record else None,
        "epoch": record.epoch if record else None,
        "ciphertext": record.ciphertext.hex() if record else None,
    }


def read_record(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    data = given["owner"] + given["record_id"]
    result = client.query("/settings/record", data, height=opts.height, prove=opts.prove)
    record = Record.from_value(decode_canonical(result.value)) if result.value else None
    return {
        "owner": encode_address(given["owner"]),
        "record_id": given["record_id"].hex(),
        **record_json(record),
        "height": result.height,
        "verified": result.verified,
    }


def read_epoch(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    owner = given["address"]
    result = client.query("/settings/epoch", owner, height=opts.height, prove=opts.prove)
    epoch = Epoch.from_value(decode_canonical(result.value)) if result.value else None
    return {
        "owner": encode_address(owner),
        "epoch": epoch.epoch if epoch else 0,
        "recipients": [encode_address(r) for r in epoch.recipients] if epoch else [],
        "set_height": epoch.height if epoch else None,
        "set_time": epoch.time if epoch else None,
        "height": result.height,
        "verified": result.verified,
    }


def read_wrap(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    epoch = given["epoch"]
    if not 1 <= epoch <= fmt.MAX_EPOCH:
        fail("invalid_query", "EPOCH must be 1 to 2^32-1", opts.output)
    data = given["owner"] + epoch.to_bytes(fmt.EPOCH_SIZE, "big") + given["recipient"]
    result = client.query("/settings/wrap", data, height=opts.height, prove=opts.prove)
    return {
        "owner": encode_address(given["owner"]),
        "epoch": epoch,
        "recipient": encode_address(given["recipient"]),
        "sealed": result.value.hex() if result.value else None,
        "height": result.height,
        "verified": result.verified,
    }


def read_by_owner(
    client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]
) -> dict[str, Any]:
    """Every record of an owner: a list query, so with --prove the list is proven whole."""
    _no_list_height(opts)
    owner = given["address"]
    answer = client.query_list("/settings/by_owner", owner, prove=opts.prove)
    rows = []
    for item in answer.items:
        record = Record.from_value(decode_canonical(item.value))
        rows.append(
            {
                "record_id": item.id.hex(),
                "version": record.version,
                "epoch": record.epoch,
                "bytes": len(record.ciphertext),
            }
        )
    return {
        "owner": encode_address(owner),
        "records": rows,
        "height": answer.height,
        "verified": answer.verified,
    }


def render_by_owner(data: dict[str, Any]) -> None:
    kv_table({k: str(v) for k, v in data.items() if k != "records"})
    rows_table(data["records"], ["record_id", "version", "epoch", "bytes"])


QUERY_COMMANDS = (
    QueryCommand(
        module="settings",
        what="record",
        help="One encrypted record of OWNER by its id (hex): version, key epoch, ciphertext.",
        read=read_record,
        args=(OWNER_ARG, Arg("record_id", "the record id, 64 hex digits", RECORD_ID)),
    ),
    QueryCommand(
        module="settings",
        what="epoch",
        help="An owner's current settings key epoch and who its key is wrapped to.",
        read=read_epoch,
        args=(ADDRESS_ARG,),
    ),
    QueryCommand(
        module="settings",
        what="wrap",
        help="The sealed envelope of OWNER's keys of EPOCH to RECIPIENT (only it can open it).",
        read=read_wrap,
        args=(
            OWNER_ARG,
            Arg("epoch", "the key epoch", INTEGER),
            Arg("recipient", "vox1 address or key name", ADDRESS),
        ),
    ),
    QueryCommand(
        module="settings",
        what="by-owner",
        help="Every record of an account (ids, versions, epochs, sizes), proven complete.",
        read=read_by_owner,
        render=render_by_owner,
        args=(ADDRESS_ARG,),
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)

__all__ = ["COMMANDS"]
