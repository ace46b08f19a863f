"""`voxpop keys`: create, recover, list, show, export and delete account keys.

Passphrases come from --passphrase-file, then $VOXPOP_KEYRING_PASSPHRASE, then a hidden prompt
when stdin is a terminal; a script with none of them gets a `passphrase_required` error rather
than a prompt that would hang it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from voxpop.cli.output import (
    OutputFormat,
    OutputOption,
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
from voxpop.node.home import NodeHome, default_home

PASSPHRASE_ENV = "VOXPOP_KEYRING_PASSPHRASE"
BACKEND_ENV = "VOXPOP_KEYRING_BACKEND"


class KeyringBackendChoice(StrEnum):
    FILE = "file"
    TEST = "test"


HomeOption = typer.Option(
    None, "--home", help="node home directory [default: $VOXPOP_HOME or ~/.voxpop]"
)
KeyringBackendOption = typer.Option(
    KeyringBackendChoice.FILE,
    "--keyring-backend",
    envvar=BACKEND_ENV,
    case_sensitive=False,
    help="file: encrypted with a passphrase; test: UNENCRYPTED, for development and CI only",
)
PassphraseFileOption = typer.Option(
    None,
    "--passphrase-file",
    help=f"read the keyring passphrase from the first line of this file (else ${PASSPHRASE_ENV})",
    dir_okay=False,
)

keys_app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)


def open_keyring(home: Path | None, backend: KeyringBackendChoice) -> Keyring:
    """The keyring of a node home (default_home() when None)."""
    return Keyring(NodeHome(home or default_home()).keyring_dir, backend.value)


def read_passphrase(
    backend: KeyringBackendChoice,
    passphrase_file: Path | None,
    fmt: OutputFormat,
    *,
    confirm: bool = False,
) -> str | None:
    """The keyring passphrase, or None for the test backend. Exits via fail() if none is found."""
    if backend == KeyringBackendChoice.TEST:
        return None
    if passphrase_file is not None:
        try:
            lines = passphrase_file.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            fail("passphrase_file_unreadable", f"cannot read {passphrase_file}: {e.strerror}", fmt)
        return lines[0] if lines else ""
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        fail(
            "passphrase_required",
            f"the file keyring needs a passphrase: set {PASSPHRASE_ENV} or pass --passphrase-file",
            fmt,
        )
    return str(
        typer.prompt("Keyring passphrase", hide_input=True, confirmation_prompt=confirm, err=True)
    )


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


def _check_free(keyring: Keyring, name: str, fmt: OutputFormat) -> None:
    # Verify before asking for a passphrase, so nobody types one twice for nothing.
    if keyring.has(validate_key_name(name)):
        err = KeyExists(f"a key named {name!r} already exists in the {keyring.backend} keyring")
        fail(err.code, err.message, fmt)


def _print_secret_warning(what: str) -> None:
    console.print(
        f"[bold yellow]Write this {what} down and keep it somewhere safe and offline.[/] "
        "Anyone who has it controls the account; it is the only way to recover the key.",
    )


@keys_app.command("add")
def add(
    name: str = typer.Argument(..., help="key name: 1 to 64 of a-z, 0-9, _ and -"),
    recover: bool = typer.Option(
        False, "--recover", help="recover from an existing mnemonic (stdin or prompt)"
    ),
    account: int = typer.Option(0, "--account", min=0, help="HD account number"),
    index: int = typer.Option(0, "--index", min=0, help="HD address index"),
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Create a key from a new 24-word mnemonic, shown once; or recover one with --recover."""
    try:
        keyring = open_keyring(home, keyring_backend)
        _check_free(keyring, name, output)
        mnemonic = _read_secret_line("Enter your 24-word mnemonic", output) if recover else None
        passphrase = read_passphrase(keyring_backend, passphrase_file, output, confirm=True)
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
def import_key(
    name: str = typer.Argument(..., help="key name: 1 to 64 of a-z, 0-9, _ and -"),
    raw_seed: bool = typer.Option(
        False,
        "--raw-seed",
        help="import a 32-byte Ed25519 seed (64 hex characters), not a mnemonic",
    ),
    account: int = typer.Option(0, "--account", min=0, help="HD account number"),
    index: int = typer.Option(0, "--index", min=0, help="HD address index"),
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Import a key from its mnemonic (or, with --raw-seed, its hex seed) on stdin or a prompt."""
    try:
        keyring = open_keyring(home, keyring_backend)
        _check_free(keyring, name, output)
        if raw_seed:
            if account or index:
                fail("invalid_option", "--account and --index apply to mnemonics only", output)
            text = _read_secret_line("Enter the hex seed", output).strip()
            try:
                seed = bytes.fromhex(text)
            except ValueError:
                fail("invalid_key", "the seed must be 64 hex characters", output)
            passphrase = read_passphrase(keyring_backend, passphrase_file, output, confirm=True)
            info = keyring.import_seed(name, seed, passphrase)
        else:
            mnemonic = _read_secret_line("Enter your 24-word mnemonic", output)
            passphrase = read_passphrase(keyring_backend, passphrase_file, output, confirm=True)
            info = keyring.import_mnemonic(name, mnemonic, passphrase, account=account, index=index)
    except CryptoError as e:
        fail(e.code, e.message, output)
    emit(_info_dict(info), output)


@keys_app.command("list")
def list_keys(
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    output: OutputFormat = OutputOption,
) -> None:
    """List every key: name, address, kind. No passphrase needed."""
    try:
        infos = open_keyring(home, keyring_backend).list()
    except CryptoError as e:
        fail(e.code, e.message, output)
    rows = [_info_dict(i) for i in infos]

    def render(_: Any) -> None:
        if not rows:
            err_console.print(f"no keys in the {keyring_backend.value} keyring")
            return
        # Few columns, so an 80-column terminal shows whole addresses; json has every field.
        rows_table(rows, ["name", "address", "kind"])

    emit(rows, output, render)


@keys_app.command("show")
def show(
    name: str = typer.Argument(..., help="key name"),
    address_only: bool = typer.Option(
        False, "--address", "-a", help="print only the address (text output)"
    ),
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Show a key's address and public key. Never shows a secret."""
    try:
        info = open_keyring(home, keyring_backend).show(name)
    except CryptoError as e:
        fail(e.code, e.message, output)
    if address_only and output == OutputFormat.TEXT:
        typer.echo(info.address)
        return
    emit(_info_dict(info), output)


@keys_app.command("export")
def export(
    name: str = typer.Argument(..., help="key name"),
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    passphrase_file: Path | None = PassphraseFileOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Print a key's mnemonic (or raw seed) after checking the passphrase."""
    try:
        keyring = open_keyring(home, keyring_backend)
        keyring.show(name)  # KeyNotFound before anyone types a passphrase
        passphrase = read_passphrase(keyring_backend, passphrase_file, output)
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
def delete(
    name: str = typer.Argument(..., help="key name"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
    home: Path | None = HomeOption,
    keyring_backend: KeyringBackendChoice = KeyringBackendOption,
    output: OutputFormat = OutputOption,
) -> None:
    """Delete a key. Without its mnemonic (see `keys export`) it is gone for good."""
    try:
        keyring = open_keyring(home, keyring_backend)
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
