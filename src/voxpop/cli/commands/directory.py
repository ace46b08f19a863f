"""`voxpop tx directory publish|revoke` and `voxpop query directory keys`: an account's published
encryption keys (X25519 for sealed boxes, secp256k1 for Umbral re-encryption), versioned."""

from __future__ import annotations

from typing import Any

from voxpop.chain.modules.directory.messages import MsgPublishKeys, MsgRevokeKeys
from voxpop.cli.commands.auth import ADDRESS_ARG
from voxpop.cli.connect import client_errors
from voxpop.cli.declare import INTEGER, Arg, Inputs, Kind, QueryCommand, TxCommand
from voxpop.cli.options import StateQueryOptions, TxOptions
from voxpop.cli.output import fail
from voxpop.cli.signing import Signer
from voxpop.client import PublishedKeys, VoxClient
from voxpop.crypto import CryptoError, derive_encryption_keys


def _parse_hex(text: str | None, inputs: Inputs, label: str) -> bytes | None:
    if text is None:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        fail("invalid_encryption_key", f"{label} must be hex", inputs.output)


HEX_KEY = Kind(str, _parse_hex)
"""A public key in hex; the chain's field kind checks the rest (curve, order, encoding)."""

VERSION_ARG = Arg(
    "version",
    "the version this creates (default: the account's current version + 1)",
    INTEGER,
    flag="--key-version",
    default=None,
)


def next_version(opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    """The version not given is the account's current one + 1, as the chain says now (the chain
    refuses the message if another publish lands first: key_version_mismatch)."""
    if value["version"] is not None:
        return value
    with client_errors(opts.output), VoxClient(opts.node) as client:
        current = client.directory_keys(value["owner"], prove=False).record
    return {**value, "version": (current.version if current else 0) + 1}


def derived_keys(signer: Signer, opts: TxOptions, value: dict[str, Any]) -> dict[str, Any]:
    """The keys not given are those derived from FROM's key for this version (generation =
    version; docs/protocol/keys-and-addresses.md), so its owner can always re-derive them."""
    if value["x25519"] is not None and value["secp256k1"] is not None:
        return value
    try:
        keys = derive_encryption_keys(signer.key.seed, value["version"])
    except CryptoError as exc:
        fail(exc.code, exc.message, opts.output)
    return {
        **value,
        "x25519": value["x25519"] or keys.x25519_public,
        "secp256k1": value["secp256k1"] or keys.secp256k1_public,
    }


TX_COMMANDS = (
    TxCommand(
        module="directory",
        verb="publish",
        msg=MsgPublishKeys,
        help="Publish FROM's encryption keys as its next version (a rotation after the first).\n\n"
        "By default the keys are derived from FROM's key, so no new secret is stored.",
        args=(
            VERSION_ARG,
            Arg("x25519", "X25519 public key, hex (default: derived)", HEX_KEY, "--x25519", None),
            Arg(
                "secp256k1",
                "compressed secp256k1 public key, hex (default: derived)",
                HEX_KEY,
                "--secp256k1",
                None,
            ),
        ),
        complete=next_version,
        derive=derived_keys,
    ),
    TxCommand(
        module="directory",
        verb="revoke",
        msg=MsgRevokeKeys,
        help="Tell everyone to stop encrypting to FROM: its next version holds no keys.",
        args=(VERSION_ARG,),
        complete=next_version,
    ),
)


def read_keys(client: VoxClient, opts: StateQueryOptions, given: dict[str, Any]) -> dict[str, Any]:
    version = given["version"]
    if version is None:
        answer = client.directory_keys(given["address"], height=opts.height, prove=opts.prove)
    else:
        answer = client.directory_key_version(
            given["address"], version, height=opts.height, prove=opts.prove
        )
    return keys_dict(answer)


def keys_dict(answer: PublishedKeys) -> dict[str, Any]:
    record = answer.record
    return {
        "address": answer.address,
        "version": record.version if record else None,
        "x25519": record.x25519.hex() if record and record.x25519 else None,
        "secp256k1": record.secp256k1.hex() if record and record.secp256k1 else None,
        "revoked": record.revoked if record else None,
        "published_height": record.height if record else None,
        "published_time": record.time if record else None,
        "height": answer.height,
        "verified": answer.verified,
    }


QUERY_COMMANDS = (
    QueryCommand(
        module="directory",
        what="keys",
        help="An account's published encryption keys: the current version, or --key-version N.",
        read=read_keys,
        args=(
            ADDRESS_ARG,
            Arg(
                "version", "a version still kept (default: current)", INTEGER, "--key-version", None
            ),
        ),
    ),
)

COMMANDS = (*TX_COMMANDS, *QUERY_COMMANDS)
