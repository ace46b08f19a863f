"""`voxpop keys`: create, recover, list, show, export and delete account keys.

Every command takes --home, --keyring-backend and --output; those that unlock a key also take
--passphrase-file (declared once in cli/options.py; where a passphrase comes from: cli/keyring.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer

from voxpop.cli.keyring import (
    BACKEND_ENV,
    PASSPHRASE_ENV,
    open_keyring,
    read_passphrase,
)
from voxpop.cli.options import KeyringOptions, UnlockOptions, with_options
from voxpop.cli.output import (
    OutputFormat,
    console,
    emit,
    err_console,
    fail,
    rows_table,
)
from voxpop.crypto import (
    CryptoError,
    ExportedKey,
    KeyExists,
    KeyInfo,
    Keyring,
    NewKey,
    validate_key_name,
)

keys_app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Manage keys: mnemonics, encrypted keyring.",
)

NameArgument = typer.Argument(..., help="key name: 1 to 64 of a-z, 0-9, _ and -")
HdAccountOption = typer.Option(0, "--account", min=0, help="HD account number")
HdIndexOption = typer.Option(0, "--index", min=0, help="HD address index")


def _read_secret_line(prompt: str, fmt: OutputFormat) -> str:
    """A mnemonic or seed: prompted on a terminal, else all of stdin."""
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, err=True))
    text = sys.stdin.read()
    if not text.strip():
        fail("no_input", f"expected the secret on stdin ({prompt.lower()})", fmt)
    return text


def _info_dict(info: KeyInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "address": info.address,
        "public_key": info.public_key,
        "kind": info.kind,
        "hd_path": info.hd_path,
    }


def _keyring_without(name: str, opts: UnlockOptions) -> Keyring:
    """The keyring, once it is known to have no key `name`."""
    keyring = open_keyring(opts.home, opts.keyring_backend)
    # Verify before asking for a passphrase, so nobody types one twice for nothing.
    if keyring.has(validate_key_name(name)):
        err = KeyExists(f"a key named {name!r} already exists in the {keyring.backend} keyring")
        fail(err.code, err.message, opts.output)
    return keyring


def _new_passphrase(opts: UnlockOptions) -> str | None:
    """The passphrase a new key is sealed with (typed twice at a prompt)."""
    return read_passphrase(opts.keyring_backend, opts.passphrase_file, opts.output, confirm=True)


def _print_secret_warning(what: str) -> None:
    console.print(
        f"[bold yellow]Write this {what} down and keep it somewhere safe and offline.[/] "
        "Anyone who has it controls the account; it is the only way to recover the key.",
    )


@keys_app.command("add")
@with_options(UnlockOptions)
def add(
    name: str = NameArgument,
    recover: bool = typer.Option(
        False, "--recover", help="recover from an existing mnemonic (stdin or prompt)"
    ),
    account: int = HdAccountOption,
    index: int = HdIndexOption,
    *,
    opts: UnlockOptions,
) -> None:
    """Create a key from a new 24-word mnemonic, shown once; or recover one with --recover."""
    output = opts.output
    try:
        keyring = _keyring_without(name, opts)
        mnemonic = _read_secret_line("Enter your 24-word mnemonic", output) if recover else None
        passphrase = _new_passphrase(opts)
        new = keyring.add(name, passphrase, mnemonic=mnemonic, account=account, index=index)
    except CryptoError as e:
        fail(e.code, e.message, output)
    if recover:
        emit(_info_dict(new.info), output)
    else:
        emit(_info_dict(new.info) | {"mnemonic": new.mnemonic}, output, _render_new_key(new))


def _render_new_key(new: NewKey) -> Callable[[Any], None]:
    def render(_: Any) -> None:
        emit(_info_dict(new.info), OutputFormat.TEXT)
        _print_secret_warning("mnemonic")
        console.print(new.mnemonic, soft_wrap=True, markup=False, highlight=False)

    return render


@keys_app.command("import")
@with_options(UnlockOptions)
def import_key(
    name: str = NameArgument,
    raw_seed: bool = typer.Option(
        False,
        "--raw-seed",
        help="import a 32-byte Ed25519 seed (64 hex characters), not a mnemonic",
    ),
    account: int = HdAccountOption,
    index: int = HdIndexOption,
    *,
    opts: UnlockOptions,
) -> None:
    """Import a key from its mnemonic (or, with --raw-seed, its hex seed) on stdin or a prompt."""
    output = opts.output
    try:
        keyring = _keyring_without(name, opts)
        if raw_seed:
            if account or index:
                fail("invalid_option", "--account and --index apply to mnemonics only", output)
            text = _read_secret_line("Enter the hex seed", output).strip()
            try:
                seed = bytes.fromhex(text)
            except ValueError:
                fail("invalid_key", "the seed must be 64 hex characters", output)
            passphrase = _new_passphrase(opts)
            info = keyring.import_seed(name, seed, passphrase)
        else:
            mnemonic = _read_secret_line("Enter your 24-word mnemonic", output)
            passphrase = _new_passphrase(opts)
            info = keyring.import_mnemonic(name, mnemonic, passphrase, account=account, index=index)
    except CryptoError as e:
        fail(e.code, e.message, output)
    emit(_info_dict(info), output)


@keys_app.command("list")
@with_options(KeyringOptions)
def list_keys(
    *,
    opts: KeyringOptions,
) -> None:
    """List every key: name, address, kind. No passphrase needed."""
    output = opts.output
    try:
        infos = open_keyring(opts.home, opts.keyring_backend).list()
    except CryptoError as e:
        fail(e.code, e.message, output)
    rows = [_info_dict(i) for i in infos]

    def render(_: Any) -> None:
        if not rows:
            err_console.print(f"no keys in the {opts.keyring_backend.value} keyring")
            return
        # Few columns, so an 80-column terminal shows whole addresses; json has every field.
        rows_table(rows, ["name", "address", "kind"])

    emit(rows, output, render)


@keys_app.command("show")
@with_options(KeyringOptions)
def show(
    name: str = typer.Argument(..., help="key name"),
    address_only: bool = typer.Option(
        False, "--address", "-a", help="print only the address (text output)"
    ),
    *,
    opts: KeyringOptions,
) -> None:
    """Show a key's address and public key. Never shows a secret."""
    output = opts.output
    try:
        info = open_keyring(opts.home, opts.keyring_backend).show(name)
    except CryptoError as e:
        fail(e.code, e.message, output)
    if address_only and output == OutputFormat.TEXT:
        typer.echo(info.address)
        return
    emit(_info_dict(info), output)


@keys_app.command("export")
@with_options(UnlockOptions)
def export(
    name: str = typer.Argument(..., help="key name"),
    *,
    opts: UnlockOptions,
) -> None:
    """Print a key's mnemonic (or raw seed) after checking the passphrase."""
    output = opts.output
    try:
        keyring = open_keyring(opts.home, opts.keyring_backend)
        keyring.show(name)  # KeyNotFound before anyone types a passphrase
        passphrase = read_passphrase(opts.keyring_backend, opts.passphrase_file, output)
        exported = keyring.export(name, passphrase)
    except CryptoError as e:
        fail(e.code, e.message, output)
    data = {
        "name": exported.info.name,
        "address": exported.info.address,
        "kind": exported.info.kind,
        "mnemonic": exported.mnemonic,
        "seed": exported.seed if exported.mnemonic is None else None,
    }
    emit(data, output, _render_export(exported))


def _render_export(exported: ExportedKey) -> Callable[[Any], None]:
    def render(_: Any) -> None:
        what = "mnemonic" if exported.mnemonic is not None else "seed"
        _print_secret_warning(what)
        secret = exported.mnemonic if exported.mnemonic is not None else exported.seed.hex()
        console.print(secret, soft_wrap=True, markup=False, highlight=False)

    return render


@keys_app.command("delete")
@with_options(KeyringOptions)
def delete(
    name: str = typer.Argument(..., help="key name"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
    *,
    opts: KeyringOptions,
) -> None:
    """Delete a key. Without its mnemonic (see `keys export`) it is gone for good."""
    output = opts.output
    try:
        keyring = open_keyring(opts.home, opts.keyring_backend)
        info = keyring.show(name)
        if not yes:
            if not sys.stdin.isatty():
                fail("confirmation_required", "pass --yes to delete without a prompt", output)
            typer.confirm(
                f"Delete key {name!r} ({info.address})? It cannot be recovered without its "
                "mnemonic",
                abort=True,
                err=True,
            )
        keyring.delete(name)
    except CryptoError as e:
        fail(e.code, e.message, output)
    emit({"deleted": name, "address": info.address}, output)


__all__ = ["BACKEND_ENV", "PASSPHRASE_ENV", "keys_app"]
