"""The encrypted settings format: records, device blobs, record ids and key wraps.

An owner's settings (device settings, location, skill settings, device names) are stored on chain
as ciphertext under the owner's *settings key*, which changes at each key epoch. Layout (see
docs/protocol/settings.md, whose test vectors tests/crypto/test_settings_format.py recomputes):

    record ciphertext = 0x01 ‖ nonce (24) ‖ XChaCha20-Poly1305-IETF(settings key of `epoch`,
                        aad = b"voxpop/settings/v1\\0" ‖ owner (20) ‖ record id (32)
                              ‖ epoch (u32 BE) ‖ version (u64 BE))
    device blob       = epoch (u32 BE) ‖ record ciphertext with version 0, record id = device id
    record id         = HMAC-SHA256(naming key, name)
    key wrap          = sealed envelope (crypto/sealed.py) of settings key (32) ‖ naming key (32)

The associated data binds a ciphertext to its owner, record, epoch and version: a stored record
cannot be moved to another record id or owner, or passed off as another version, without failing
to decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions

from voxpop.crypto.errors import CryptoError, InvalidKey

FORMAT = 1
KEY_SIZE = 32
NONCE_SIZE = 24
TAG_SIZE = 16
OWNER_SIZE = 20
RECORD_ID_SIZE = 32
EPOCH_SIZE = 4
HEADER_SIZE = 1 + NONCE_SIZE
OVERHEAD = HEADER_SIZE + TAG_SIZE  # 41 bytes more than the plaintext
BLOB_OVERHEAD = EPOCH_SIZE + OVERHEAD
WRAPPED_KEYS_SIZE = 2 * KEY_SIZE
AAD_DOMAIN = b"voxpop/settings/v1\0"
MAX_EPOCH = (1 << 32) - 1
MAX_VERSION = (1 << 64) - 1
BLOB_VERSION = 0


class SettingsCiphertextError(CryptoError):
    """A settings ciphertext or blob that is malformed, or does not decrypt with this key (wrong
    key, or moved to another owner, record, epoch or version)."""

    code = "settings_ciphertext_error"


@dataclass(frozen=True, slots=True)
class SettingsKeys:
    """One epoch's keys as a wrap carries them. Holds secrets: never log it."""

    epoch: int
    settings_key: bytes
    naming_key: bytes

    def __repr__(self) -> str:
        return f"SettingsKeys(epoch={self.epoch})"

    def wrapped(self) -> bytes:
        """The plaintext of a wrap: settings key ‖ naming key."""
        return self.settings_key + self.naming_key


def new_key() -> bytes:
    """A fresh random 32-byte key (a settings key each epoch; a naming key once)."""
    return os.urandom(KEY_SIZE)


def unwrap_keys(epoch: int, plaintext: bytes) -> SettingsKeys:
    """The keys from an opened wrap. Raises SettingsCiphertextError."""
    # Verify the wrap holds exactly two keys
    if len(plaintext) != WRAPPED_KEYS_SIZE:
        raise SettingsCiphertextError(f"a settings key wrap holds {WRAPPED_KEYS_SIZE} bytes")
    return SettingsKeys(epoch, plaintext[:KEY_SIZE], plaintext[KEY_SIZE:])


def compute_record_id(naming_key: bytes, name: str) -> bytes:
    """The on-chain id of the record `name` (e.g. "location"): HMAC-SHA256(naming key, name).

    The chain sees only the id, so it cannot tell which record is which. Raises InvalidKey."""
    _check_key(naming_key)
    return hmac.digest(naming_key, name.encode(), hashlib.sha256)


def compute_aad(owner: bytes, record_id: bytes, epoch: int, version: int) -> bytes:
    """The associated data of a record's ciphertext. Raises ValueError on a bad size or range."""
    if len(owner) != OWNER_SIZE or len(record_id) != RECORD_ID_SIZE:
        raise ValueError("owner is 20 bytes and record id 32 bytes")
    if not 0 <= epoch <= MAX_EPOCH or not 0 <= version <= MAX_VERSION:
        raise ValueError("epoch is a u32 and version a u64")
    return (
        AAD_DOMAIN
        + owner
        + record_id
        + epoch.to_bytes(EPOCH_SIZE, "big")
        + version.to_bytes(8, "big")
    )


def encrypt_record(
    settings_key: bytes,
    owner: bytes,
    record_id: bytes,
    epoch: int,
    version: int,
    plaintext: bytes,
    *,
    nonce: bytes | None = None,
) -> bytes:
    """The ciphertext of a record (a random nonce unless given: only test vectors give one).

    Raises InvalidKey, ValueError."""
    _check_key(settings_key)
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"a nonce is {NONCE_SIZE} bytes")
    aad = compute_aad(owner, record_id, epoch, version)
    sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        bytes(plaintext), aad, nonce, settings_key
    )
    return bytes([FORMAT]) + nonce + sealed


def decrypt_record(
    settings_key: bytes, owner: bytes, record_id: bytes, epoch: int, version: int, ciphertext: bytes
) -> bytes:
    """The plaintext of a record. Raises SettingsCiphertextError, InvalidKey, ValueError."""
    _check_key(settings_key)
    aad = compute_aad(owner, record_id, epoch, version)
    # Verify the format byte and that a nonce and a tag fit
    if len(ciphertext) < OVERHEAD or ciphertext[0] != FORMAT:
        raise SettingsCiphertextError("not a voxpop settings ciphertext (format 1)")
    nonce, sealed = ciphertext[1:HEADER_SIZE], ciphertext[HEADER_SIZE:]
    try:
        return bytes(
            nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                sealed, aad, nonce, settings_key
            )
        )
    except (nacl.exceptions.CryptoError, RuntimeError, ValueError, TypeError):
        raise SettingsCiphertextError("the record does not decrypt with this key") from None


def seal_blob(
    settings_key: bytes,
    owner: bytes,
    blob_id: bytes,
    epoch: int,
    plaintext: bytes,
    *,
    nonce: bytes | None = None,
) -> bytes:
    """A device blob (name, platform, versions): the epoch, then a record ciphertext of version 0
    whose record id is the device id (= the pairing id). Raises InvalidKey, ValueError."""
    if not 1 <= epoch <= MAX_EPOCH:
        raise ValueError("a key epoch is 1 to 2^32-1")
    sealed = encrypt_record(
        settings_key, owner, blob_id, epoch, BLOB_VERSION, plaintext, nonce=nonce
    )
    return epoch.to_bytes(EPOCH_SIZE, "big") + sealed


def blob_epoch(blob: bytes) -> int:
    """The key epoch a blob was sealed under. Raises SettingsCiphertextError."""
    # Verify an epoch, a format byte, a nonce and a tag fit
    if len(blob) < BLOB_OVERHEAD or blob[EPOCH_SIZE] != FORMAT:
        raise SettingsCiphertextError("not a voxpop device blob (format 1)")
    epoch = int.from_bytes(blob[:EPOCH_SIZE], "big")
    if epoch == 0:
        raise SettingsCiphertextError("a device blob names epoch 1 or later")
    return epoch


def open_blob(
    key_for_epoch: Callable[[int], bytes], owner: bytes, blob_id: bytes, blob: bytes
) -> bytes:
    """The plaintext of a device blob, with the settings key `key_for_epoch(epoch)` returns for
    the epoch the blob names. Raises SettingsCiphertextError, InvalidKey, ValueError."""
    epoch = blob_epoch(blob)
    key = key_for_epoch(epoch)
    return decrypt_record(key, owner, blob_id, epoch, BLOB_VERSION, blob[EPOCH_SIZE:])


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise InvalidKey(f"a settings or naming key is {KEY_SIZE} bytes")
