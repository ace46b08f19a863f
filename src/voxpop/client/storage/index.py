"""The owner's local name index: which object id holds which file, kept only in the owner's home.

Names, plaintext sizes and capture times are exactly what must never reach a chain
node or a storage node (issue 13, Privacy), so they live here and nowhere else. The file is one
sealed blob per owner account, `<home>/vault/<address>.names`:

    0x01 || nonce (24) || XChaCha20-Poly1305(JSON, aad = "voxpop/data-index/v1" || owner address)

under a key derived from the account seed (BLAKE2b keyed with a domain string), so a copy of the
home without the keyring opens nothing, and an index cannot be passed off as another account's.
Writes go to a temporary file, fsynced, then renamed over the old one, under an exclusive lock
(two `voxpop data put` at once both land).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nacl.bindings as sodium
import nacl.exceptions
import nacl.utils

from voxpop.client.storage.errors import NameIndexError
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey

INDEX_DIR = "vault"
_VERSION = 1
_AAD = b"voxpop/data-index/v1"
_KEY_DOMAIN = b"voxpop/data-index/key/v1"
_NONCE = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """What the owner knows about one stored object (none of it leaves the home)."""

    object_id: str  # 64 hex digits, the on-chain deal's id
    name: str  # the file's name as given to `put`
    size: int  # plaintext bytes
    created_at: int  # unix seconds, the owner's clock
    k: int
    n: int
    epochs: int
    key_generation: int  # the encryption-key generation whose Umbral key holds the data key
    # The owner's label, read only by its own agent's sharing policy (client/consent/policy.py):
    # what the object is, and a salted commitment to its plaintext that a grant publishes
    # (content_hash = sha256(salt || plaintext); the salt goes only to a grantee). Empty: unlabelled
    kind: str = ""
    language: str = ""
    seconds: int = 0
    tags: tuple[str, ...] = ()
    salt: str = ""  # 64 hex digits
    content_hash: str = ""  # 64 hex digits


def index_key(account: PrivateKey) -> bytes:
    """The index's 32-byte sealing key, from the account seed."""
    return hashlib.blake2b(account.seed, key=_KEY_DOMAIN, digest_size=32, person=b"index").digest()


def index_path(home: Path, owner: bytes) -> Path:
    return Path(home) / INDEX_DIR / f"{encode_address(owner)}.names"


class NameIndex:
    """The sealed name index of one owner account in `home`."""

    def __init__(self, home: Path, account: PrivateKey) -> None:
        self.owner = account.public_key.address
        self.path = index_path(home, self.owner)
        self._key = index_key(account)
        self._aad = _AAD + self.owner

    # --- reads ----------------------------------------------------------------------------------

    def entries(self) -> list[IndexEntry]:
        """Every entry, oldest first (ties: by id)."""
        return sorted(self._load().values(), key=lambda e: (e.created_at, e.object_id))

    def get(self, object_id: str) -> IndexEntry | None:
        return self._load().get(object_id.lower())

    def find(self, ref: str) -> list[IndexEntry]:
        """The entries `ref` names: a full id, a unique id prefix (at least 8 hex digits), or a
        file name."""
        entries = self._load()
        ref_l = ref.lower()
        if ref_l in entries:
            return [entries[ref_l]]
        by_name = [e for e in entries.values() if e.name == ref]
        if by_name:
            return by_name
        if len(ref_l) >= 8:
            return [e for i, e in entries.items() if i.startswith(ref_l)]
        return []

    # --- writes ---------------------------------------------------------------------------------

    def add(self, entry: IndexEntry) -> None:
        self._update(lambda entries: entries.__setitem__(entry.object_id, entry))

    def replace(self, entry: IndexEntry) -> bool:
        """Overwrite an existing entry (a new label); False when the id is not in the index."""
        found: list[bool] = []

        def change(entries: dict[str, IndexEntry]) -> None:
            found.append(entry.object_id in entries)
            if found[0]:
                entries[entry.object_id] = entry

        self._update(change)
        return found[0]

    def remove(self, object_id: str) -> bool:
        removed: list[bool] = []

        def change(entries: dict[str, IndexEntry]) -> None:
            removed.append(entries.pop(object_id.lower(), None) is not None)

        self._update(change)
        return removed[0]

    # --- the sealed file ------------------------------------------------------------------------

    def _load(self) -> dict[str, IndexEntry]:
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise NameIndexError(f"cannot read the name index {self.path}: {exc}") from None
        return self._open(blob)

    def _update(self, change: Callable[[dict[str, IndexEntry]], None]) -> None:
        with self._locked():
            entries = self._load()
            change(entries)
            self._write(entries)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = self.path.with_suffix(".lock")
        with open(lock, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _write(self, entries: dict[str, IndexEntry]) -> None:
        doc = {"v": _VERSION, "objects": [asdict(e) for _, e in sorted(entries.items())]}
        plain = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        nonce = nacl.utils.random(_NONCE)
        seal = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt
        sealed = seal(plain, self._aad, nonce, self._key)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(bytes([_VERSION]) + nonce + sealed)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def _open(self, blob: bytes) -> dict[str, IndexEntry]:
        # Verify the file is in a format this version reads
        if len(blob) < 1 + _NONCE or blob[0] != _VERSION:
            raise NameIndexError(f"the name index {self.path} has an unknown format")
        nonce, sealed = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        try:
            plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
                sealed, self._aad, nonce, self._key
            )
        except nacl.exceptions.CryptoError:
            raise NameIndexError(
                f"the name index {self.path} does not open with this account's key"
            ) from None
        doc: Any = json.loads(plain)
        return {
            o["object_id"]: IndexEntry(**{**o, "tags": tuple(o.get("tags", ()))})
            for o in doc["objects"]
        }
