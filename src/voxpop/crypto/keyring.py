"""A directory of named account keys, one JSON file each.

    DIRECTORY/file/NAME.json   sealed with the passphrase (see keyfile.py)
    DIRECTORY/test/NAME.json   plain text, for development and CI

The two backends live in separate folders so a test key is never listed or used as a sealed one.
Files are 0600 and folders 0700; a file is written to a temporary name and hard-linked into
place, so a reader never sees half a key and an existing key is never overwritten.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxpop.crypto.address import encode_address
from voxpop.crypto.errors import (
    CorruptKeyFile,
    CryptoError,
    InvalidKeyName,
    KeyExists,
    KeyNotFound,
    PassphraseRequired,
    WeakPassphrase,
)
from voxpop.crypto.keyfile import (
    DEFAULT_KDF,
    KdfLimits,
    KeyInfo,
    KeyringBackend,
    SecretKind,
    new_key_document,
    open_key_document,
    read_key_info,
)
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.mnemonic import (
    account_path,
    derive_private_key,
    generate_mnemonic,
    mnemonic_to_seed,
    validate_mnemonic,
)
from voxpop.crypto.slip10 import derive_path

KEY_NAME_PATTERN = re.compile(r"[a-z0-9_-]{1,64}")
MIN_PASSPHRASE_LENGTH = 8
_SUFFIX = ".json"


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just added, with its mnemonic: the one time the caller gets it without a passphrase."""

    info: KeyInfo
    mnemonic: str


@dataclass(frozen=True, slots=True)
class ExportedKey:
    info: KeyInfo
    mnemonic: str | None  # None for keys imported from a raw seed
    seed: bytes  # the Ed25519 private key seed


def validate_key_name(name: str) -> str:
    """Raises InvalidKeyName unless `name` is 1 to 64 of a-z, 0-9, '_' and '-'."""
    if not KEY_NAME_PATTERN.fullmatch(name):
        raise InvalidKeyName(
            f"{name!r} is not a valid key name: use 1 to 64 of a-z, 0-9, '_' and '-'"
        )
    return name


class Keyring:
    def __init__(
        self, directory: Path, backend: KeyringBackend = "file", *, kdf: KdfLimits = DEFAULT_KDF
    ) -> None:
        """`kdf` sets the Argon2id cost of new keys; leave the default outside tests."""
        if backend not in ("file", "test"):
            raise ValueError(f"unknown keyring backend {backend!r}")
        self.directory = Path(directory)
        self.backend: KeyringBackend = backend
        self.kdf = kdf

    @property
    def key_dir(self) -> Path:
        return self.directory / self.backend

    def has(self, name: str) -> bool:
        return self._path(name).exists()

    def add(
        self,
        name: str,
        passphrase: str | None = None,
        *,
        mnemonic: str | None = None,
        account: int = 0,
        index: int = 0,
    ) -> NewKey:
        """Store a key from `mnemonic`, or from a new one when it is None.

        Raises InvalidKeyName, KeyExists, InvalidMnemonic, InvalidDerivationPath,
        PassphraseRequired, WeakPassphrase.
        """
        validate_key_name(name)
        phrase = generate_mnemonic() if mnemonic is None else validate_mnemonic(mnemonic)
        path = account_path(account, index)
        key = derive_private_key(phrase, account, index)
        info = self._store(name, key, "mnemonic", path, phrase.encode("utf-8"), passphrase)
        return NewKey(info, phrase)

    def import_mnemonic(
        self,
        name: str,
        mnemonic: str,
        passphrase: str | None = None,
        *,
        account: int = 0,
        index: int = 0,
    ) -> KeyInfo:
        """Store the key of an existing mnemonic. Raises as add does."""
        return self.add(name, passphrase, mnemonic=mnemonic, account=account, index=index).info

    def import_seed(self, name: str, seed: bytes, passphrase: str | None = None) -> KeyInfo:
        """Store a raw 32-byte Ed25519 seed (no mnemonic exists for it).

        Raises InvalidKeyName, InvalidKey, KeyExists, PassphraseRequired, WeakPassphrase.
        """
        validate_key_name(name)
        key = PrivateKey(seed)
        return self._store(name, key, "seed", None, key.seed, passphrase)

    def list(self) -> tuple[KeyInfo, ...]:
        """Every key, sorted by name. Raises CorruptKeyFile if any file is unreadable."""
        if not self.key_dir.is_dir():
            return ()
        names = sorted(
            p.name[: -len(_SUFFIX)]
            for p in self.key_dir.iterdir()
            if p.name.endswith(_SUFFIX) and not p.name.startswith(".")
        )
        return tuple(self.show(n) for n in names)

    def show(self, name: str) -> KeyInfo:
        """Raises InvalidKeyName, KeyNotFound, CorruptKeyFile."""
        return read_key_info(self._read(name), name, self.backend)

    def export(self, name: str, passphrase: str | None = None) -> ExportedKey:
        """The key's secret.

        Raises KeyNotFound, PassphraseRequired, WrongPassphrase, CorruptKeyFile.
        """
        info, mnemonic, key = self._open(name, passphrase)
        return ExportedKey(info, mnemonic, key.seed)

    def load_private_key(self, name: str, passphrase: str | None = None) -> PrivateKey:
        """Raises KeyNotFound, PassphraseRequired, WrongPassphrase, CorruptKeyFile."""
        return self._open(name, passphrase)[2]

    def delete(self, name: str) -> None:
        """Raises InvalidKeyName, KeyNotFound."""
        try:
            self._path(name).unlink()
        except FileNotFoundError as e:
            raise KeyNotFound(f"no key named {name!r} in the {self.backend} keyring") from e
        _fsync_dir(self.key_dir)

    def _path(self, name: str) -> Path:
        return self.key_dir / f"{validate_key_name(name)}{_SUFFIX}"

    def _read(self, name: str) -> Any:
        try:
            raw = self._path(name).read_bytes()
        except FileNotFoundError as e:
            raise KeyNotFound(f"no key named {name!r} in the {self.backend} keyring") from e
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CorruptKeyFile(f"key file {name!r} is not valid JSON") from e

    def _open(self, name: str, passphrase: str | None) -> tuple[KeyInfo, str | None, PrivateKey]:
        doc = self._read(name)
        info = read_key_info(doc, name, self.backend)
        mnemonic, key = _key_from_secret(info, open_key_document(doc, passphrase))
        # Verify the secret belongs to the public key shown for it; matters most for test keys,
        # whose plain text nothing else protects.
        if key.public_key.raw != info.public_key:
            raise CorruptKeyFile(f"key file {name!r}: the secret does not match its public key")
        return info, mnemonic, key

    def _store(
        self,
        name: str,
        key: PrivateKey,
        kind: SecretKind,
        hd_path: str | None,
        secret: bytes,
        passphrase: str | None,
    ) -> KeyInfo:
        if self.backend == "file":
            if passphrase is None:
                raise PassphraseRequired("the file keyring needs a passphrase")
            if len(passphrase) < MIN_PASSPHRASE_LENGTH:
                raise WeakPassphrase(
                    f"the passphrase must be at least {MIN_PASSPHRASE_LENGTH} characters"
                )
        # Verify the name is free before the slow KDF; the hard link below is the real guard.
        if self.has(name):
            raise KeyExists(f"a key named {name!r} already exists in the {self.backend} keyring")
        info = KeyInfo(
            name=name,
            address=encode_address(key.public_key.address),
            public_key=key.public_key.raw,
            kind=kind,
            hd_path=hd_path,
        )
        doc = new_key_document(info, secret, self.backend, passphrase, self.kdf)
        data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")
        self._write_new(self._path(name), data)
        return info

    def _write_new(self, path: Path, data: bytes) -> None:
        self._ensure_dirs()
        # mkstemp creates the file 0600 whatever the umask.
        fd, tmp = tempfile.mkstemp(dir=self.key_dir, prefix=".tmp-", suffix=_SUFFIX)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                # link, not rename: rename would silently replace a key added meanwhile.
                os.link(tmp, path)
            except FileExistsError as e:
                raise KeyExists(
                    f"a key named {path.stem!r} already exists in the {self.backend} keyring"
                ) from e
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(self.key_dir)

    def _ensure_dirs(self) -> None:
        for d in (self.directory, self.key_dir):
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(d, 0o700)


def _key_from_secret(info: KeyInfo, secret: bytes) -> tuple[str | None, PrivateKey]:
    """The mnemonic (if any) and the private key of a decrypted secret. Raises CorruptKeyFile."""
    try:
        if info.kind == "seed":
            return None, PrivateKey(secret)
        if info.hd_path is None:
            raise ValueError("a mnemonic key needs an hd_path")
        phrase = validate_mnemonic(secret.decode("utf-8"))
        return phrase, PrivateKey(derive_path(mnemonic_to_seed(phrase), info.hd_path).private_key)
    except (CryptoError, ValueError) as e:
        raise CorruptKeyFile(f"key file {info.name!r} holds an unusable secret: {e}") from e


def _fsync_dir(directory: Path) -> None:
    # Make the new or removed directory entry durable, not only the file's bytes.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
