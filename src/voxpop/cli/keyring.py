"""The keyring as the CLI opens it: which backend, where, and where its passphrase comes from.

Passphrases come from --passphrase-file, then $VOXPOP_KEYRING_PASSPHRASE, then a hidden prompt
when stdin is a terminal; a script with none of them gets a `passphrase_required` error rather
than a prompt that would hang it.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path

import typer

from voxpop.cli.output import OutputFormat, fail
from voxpop.crypto import CryptoError, Keyring, decode_address, is_address
from voxpop.node.home import NodeHome, default_home

PASSPHRASE_ENV = "VOXPOP_KEYRING_PASSPHRASE"
BACKEND_ENV = "VOXPOP_KEYRING_BACKEND"


class KeyringBackendChoice(StrEnum):
    FILE = "file"
    TEST = "test"


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


def resolve_address(
    text: str, home: Path | None, backend: KeyringBackendChoice, fmt: OutputFormat
) -> bytes:
    """The 20 bytes of a vox1 address as given, or of the keyring key with that name."""
    if is_address(text):
        return decode_address(text)
    try:
        return decode_address(open_keyring(home, backend).show(text).address)
    except CryptoError:
        fail("invalid_address", f"{text!r} is neither a vox1 address nor a key in the keyring", fmt)
