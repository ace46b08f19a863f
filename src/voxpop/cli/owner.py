"""What the owner tools (`voxpop device|skill|inbox|settings`) share: the owner's key, a client
that checks every answer against a trusted header, and the one path their txs are sent by.

These commands read encrypted state and decrypt it on this machine, so every read is proven
(there is no --prove to forget): a node cannot make the owner decrypt, trust or re-encrypt
something else. Whom to trust comes from --trust-validator / --trust-height with --trust-hash,
else the genesis of --home, as for `voxpop query --prove`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from voxpop.chain.module import Msg
from voxpop.cli.connect import client_errors, light_client, trusted_keys
from voxpop.cli.keyring import (
    KeyringBackendChoice,
    open_keyring,
    read_passphrase,
    resolve_address,
)
from voxpop.cli.options import BroadcastModeChoice, TxOptions
from voxpop.cli.output import OutputFormat, fail
from voxpop.cli.signing import Signer, broadcast_msgs, parse_fee
from voxpop.client import VoxClient
from voxpop.client.devices import OwnerDevices, estimate_gas
from voxpop.crypto import CryptoError

OWNER_KEY_ENV = "VOXPOP_OWNER_KEY"

KeyOption: Any = typer.Option(
    "owner",
    "--key",
    envvar=OWNER_KEY_ENV,
    help=f"the keyring key of the owner's account (else ${OWNER_KEY_ENV}, else 'owner')",
)
OwnerOption: Any = typer.Option(
    None,
    "--owner",
    help="read another owner's settings with --key's own wrap (an agent's key): vox1 address "
    "or key name",
)
GasOption: Any = typer.Option(
    None, "--gas", min=1, help="gas limit (default: estimated from the tx's size)"
)


@dataclass(frozen=True, slots=True)
class OwnerReadOptions:
    """What every owner tool takes: the node, whom to trust, and the keyring that holds the key."""

    node: str
    trust: list[str] | None
    trust_height: int | None
    trust_hash: str | None
    home: Path | None
    keyring_backend: KeyringBackendChoice
    passphrase_file: Path | None
    output: OutputFormat


@dataclass(frozen=True, slots=True)
class OwnerTxOptions:
    """What an owner tool that sends a tx takes besides (--gas is its own: estimated by default)."""

    fee: str | None
    memo: str
    fee_granter: str | None
    mode: BroadcastModeChoice
    node: str
    trust: list[str] | None
    trust_height: int | None
    trust_hash: str | None
    home: Path | None
    keyring_backend: KeyringBackendChoice
    passphrase_file: Path | None
    output: OutputFormat


def load_owner(key: str, opts: OwnerReadOptions | OwnerTxOptions) -> Signer:
    """The keyring key named `key`, unlocked (asking for the passphrase if it needs one)."""
    keyring = open_keyring(opts.home, opts.keyring_backend)
    try:
        address = keyring.show(key).address
        passphrase = read_passphrase(opts.keyring_backend, opts.passphrase_file, opts.output)
        private = keyring.load_private_key(key, passphrase)
    except CryptoError as exc:
        fail(exc.code, exc.message, opts.output)
    return Signer(key, address, private)


@contextmanager
def owner_session(
    key: str, opts: OwnerReadOptions | OwnerTxOptions, owner: str | None = None
) -> Iterator[tuple[Signer, OwnerDevices]]:
    """The unlocked key and the owner's flows over a verifying client (`owner`: another account
    whose settings that key reads through its own wrap; default: the key's own); client errors
    (refusals, proofs that fail, no node) are reported with their codes."""
    fmt = opts.output
    owner_address = None
    if owner is not None:
        owner_address = resolve_address(owner, opts.home, opts.keyring_backend, fmt)
    keys = trusted_keys(opts.trust, opts.home, fmt)
    light = light_client(opts.trust_height, opts.trust_hash, opts.home, fmt)
    signer = load_owner(key, opts)
    client = VoxClient(opts.node, trusted_validator_keys=keys, light=light)
    with client_errors(fmt), client:
        yield signer, OwnerDevices(client, signer.key, owner=owner_address)


def send(
    signer: Signer,
    msgs: Sequence[Msg],
    opts: OwnerTxOptions,
    gas: int | None,
    *,
    extra: Mapping[str, Any],
    rows: Mapping[str, str],
) -> None:
    """Sign `msgs` in one tx with the owner's key and broadcast it (cli/signing.py's one path)."""
    fee = parse_fee(opts.fee, opts.output)
    tx_opts = TxOptions(
        from_key=signer.name,
        fee=opts.fee,
        gas=gas if gas is not None else estimate_gas(msgs),
        memo=opts.memo,
        fee_granter=opts.fee_granter,
        mode=opts.mode,
        node=opts.node,
        home=opts.home,
        keyring_backend=opts.keyring_backend,
        passphrase_file=opts.passphrase_file,
        output=opts.output,
    )
    broadcast_msgs(signer, msgs, tx_opts, fee=fee, extra=extra, rows=rows)


__all__ = [
    "GasOption",
    "KeyOption",
    "OwnerOption",
    "OwnerReadOptions",
    "OwnerTxOptions",
    "load_owner",
    "owner_session",
    "parse_assignments",
    "send",
]


def parse_assignments(items: Sequence[str], fmt: OutputFormat) -> dict[str, Any]:
    """`KEY=VALUE` pairs as settings: a VALUE that is JSON (`true`, `12`, `{"a": 1}`) is that
    value, any other text is the string itself; fails with invalid_setting."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        # Verify each item names a key and gives a value
        if not sep or not key.strip():
            fail("invalid_setting", f"{item!r}: give settings as KEY=VALUE", fmt)
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        out[key.strip()] = value
    return out
