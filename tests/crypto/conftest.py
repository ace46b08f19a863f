from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from voxpop.crypto import MINIMAL_KDF, Keyring, KeyringBackend

PASSPHRASE = "correct horse battery"

MakeKeyring = Callable[[KeyringBackend], Keyring]


@pytest.fixture
def make_keyring(tmp_path: Path) -> MakeKeyring:
    """Keyrings under one temporary directory, with the cheapest Argon2id limits."""

    def make(backend: KeyringBackend) -> Keyring:
        return Keyring(tmp_path / "keyring", backend, kdf=MINIMAL_KDF)

    return make
