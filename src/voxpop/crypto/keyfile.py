"""The JSON document of one keyring entry, and how its secret is sealed.

A public header (name, address, public key, derivation path, KDF and cipher parameters) and the
secret. `file` backend: the secret is sealed with XChaCha20-Poly1305 under a key that Argon2id
derives from the passphrase, and the canonical header is the associated data, so no header field
can be edited and no ciphertext moved to another entry without the open failing. `test` backend:
the secret in plain text, marked as such.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal, cast

import nacl.bindings
import nacl.pwhash.argon2id as argon2id
import nacl.utils
from nacl.exceptions import CryptoError as NaclCryptoError

from voxpop.crypto.errors import CorruptKeyFile, PassphraseRequired, WrongPassphrase

KEYFILE_VERSION = 1
KeyringBackend = Literal["file", "test"]
SecretKind = Literal["mnemonic", "seed"]

KDF_NAME = "argon2id"
CIPHER_NAME = "xchacha20poly1305-ietf"
NONCE_SIZE = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
KEY_SIZE = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_KEYBYTES
# A file may not ask for more than this: a planted file must not make us allocate 4 TiB.
MAX_MEMLIMIT = 4 * 1024**3
TEST_BACKEND_WARNING = "UNENCRYPTED test key: for development and CI only, never for real funds"
_CHECK_DOMAIN = b"voxpop keyring passphrase check v1"


@dataclass(frozen=True, slots=True)
class KdfLimits:
    opslimit: int
    memlimit: int


# libsodium's "moderate" preset: about half a second and 256 MiB per unlock.
DEFAULT_KDF = KdfLimits(argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE)
# The smallest limits libsodium accepts. For tests only: it protects nothing.
MINIMAL_KDF = KdfLimits(argon2id.OPSLIMIT_MIN, argon2id.MEMLIMIT_MIN)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What anyone may see about a key: never a secret."""

    name: str
    address: str
    public_key: bytes
    kind: SecretKind
    hd_path: str | None


def new_key_document(
    info: KeyInfo,
    secret: bytes,
    backend: KeyringBackend,
    passphrase: str | None,
    kdf: KdfLimits,
) -> dict[str, Any]:
    """The JSON document for a new entry. Raises PassphraseRequired (file backend)."""
    header: dict[str, Any] = {
        "version": KEYFILE_VERSION,
        "backend": backend,
        "name": info.name,
        "address": info.address,
        "public_key": info.public_key.hex(),
        "kind": info.kind,
        "hd_path": info.hd_path,
    }
    if backend == "test":
        secret_text = _secret_to_text(info.kind, secret)
        return header | {"warning": TEST_BACKEND_WARNING, "secret": secret_text}
    if passphrase is None:
        raise PassphraseRequired("the file keyring needs a passphrase")
    salt = nacl.utils.random(argon2id.SALTBYTES)
    nonce = nacl.utils.random(NONCE_SIZE)
    key, check = _derive(passphrase, salt, kdf)
    header |= {
        "kdf": {
            "name": KDF_NAME,
            "salt": salt.hex(),
            "opslimit": kdf.opslimit,
            "memlimit": kdf.memlimit,
        },
        "cipher": {"name": CIPHER_NAME, "nonce": nonce.hex()},
        "passphrase_check": check.hex(),
    }
    ciphertext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        secret, _associated_data(header), nonce, key
    )
    return header | {"ciphertext": ciphertext.hex()}


def read_key_info(doc: Any, expected_name: str, backend: KeyringBackend) -> KeyInfo:
    """The public part of a parsed key file. Raises CorruptKeyFile."""
    if not isinstance(doc, dict):
        raise CorruptKeyFile(f"key file {expected_name!r} is not a JSON object")
    try:
        # Verify the format version and backend: a test key must never pass for a sealed one.
        if doc["version"] != KEYFILE_VERSION:
            raise CorruptKeyFile(
                f"key file {expected_name!r} has unknown version {doc['version']!r}"
            )
        if doc["backend"] != backend:
            raise CorruptKeyFile(
                f"key file {expected_name!r} belongs to the {doc['backend']!r} keyring,"
                f" not {backend!r}"
            )
        # Verify the name inside matches the file name, so a renamed file is not trusted.
        if doc["name"] != expected_name:
            raise CorruptKeyFile(f"key file {expected_name!r} holds key {doc['name']!r}")
        if doc["kind"] not in ("mnemonic", "seed"):
            raise CorruptKeyFile(f"key file {expected_name!r} has unknown kind {doc['kind']!r}")
        hd_path = doc["hd_path"]
        if hd_path is not None and not isinstance(hd_path, str):
            raise CorruptKeyFile(f"key file {expected_name!r} has a bad hd_path")
        return KeyInfo(
            name=_text(doc["name"]),
            address=_text(doc["address"]),
            public_key=bytes.fromhex(_text(doc["public_key"])),
            kind=cast(SecretKind, doc["kind"]),
            hd_path=hd_path,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise CorruptKeyFile(f"key file {expected_name!r} is malformed: {e!r}") from e


def open_key_document(doc: dict[str, Any], passphrase: str | None) -> bytes:
    """The secret of a document that read_key_info accepted.

    Raises PassphraseRequired, WrongPassphrase, CorruptKeyFile (including any edited header field).
    """
    name = doc["name"]
    try:
        if doc["backend"] == "test":
            return _secret_from_text(doc["kind"], _text(doc["secret"]))
        kdf_doc, cipher_doc = doc["kdf"], doc["cipher"]
        # Verify the algorithms and limits are ours before spending memory on them.
        if kdf_doc["name"] != KDF_NAME or cipher_doc["name"] != CIPHER_NAME:
            raise CorruptKeyFile(f"key file {name!r} uses an unknown KDF or cipher")
        kdf = KdfLimits(int(kdf_doc["opslimit"]), int(kdf_doc["memlimit"]))
        if not (
            argon2id.OPSLIMIT_MIN <= kdf.opslimit <= argon2id.OPSLIMIT_MAX
            and argon2id.MEMLIMIT_MIN <= kdf.memlimit <= MAX_MEMLIMIT
        ):
            raise CorruptKeyFile(f"key file {name!r} has out-of-range KDF limits")
        salt = bytes.fromhex(_text(kdf_doc["salt"]))
        nonce = bytes.fromhex(_text(cipher_doc["nonce"]))
        stored_check = bytes.fromhex(_text(doc["passphrase_check"]))
        ciphertext = bytes.fromhex(_text(doc["ciphertext"]))
        if len(salt) != argon2id.SALTBYTES or len(nonce) != NONCE_SIZE:
            raise CorruptKeyFile(f"key file {name!r} has a bad salt or nonce")
    except (KeyError, TypeError, ValueError) as e:
        raise CorruptKeyFile(f"key file {name!r} is malformed: {e!r}") from e
    if passphrase is None:
        raise PassphraseRequired(f"key {name!r} is encrypted: a passphrase is needed")
    key, check = _derive(passphrase, salt, kdf)
    # Verify the passphrase first, so a typo is told apart from a damaged file.
    if not hmac.compare_digest(check, stored_check):
        raise WrongPassphrase(f"wrong passphrase for key {name!r}")
    header = {k: v for k, v in doc.items() if k != "ciphertext"}
    try:
        return bytes(
            nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                ciphertext, _associated_data(header), nonce, key
            )
        )
    except NaclCryptoError as e:
        raise CorruptKeyFile(
            f"key file {name!r} was modified or damaged: its secret does not authenticate"
        ) from e


def _derive(passphrase: str, salt: bytes, kdf: KdfLimits) -> tuple[bytes, bytes]:
    """The cipher key and a passphrase check value, both from one Argon2id run."""
    # NFKC: the same passphrase typed on another keyboard or OS gives the same bytes.
    password = unicodedata.normalize("NFKC", passphrase).encode("utf-8")
    out = argon2id.kdf(2 * KEY_SIZE, password, salt, opslimit=kdf.opslimit, memlimit=kdf.memlimit)
    # The check is a hash of the half the cipher never uses, so it reveals nothing about the key.
    check = hashlib.sha256(_CHECK_DOMAIN + out[KEY_SIZE:]).digest()
    return out[:KEY_SIZE], check


def _associated_data(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _secret_to_text(kind: SecretKind, secret: bytes) -> str:
    return secret.decode("utf-8") if kind == "mnemonic" else secret.hex()


def _secret_from_text(kind: str, text: str) -> bytes:
    return text.encode("utf-8") if kind == "mnemonic" else bytes.fromhex(text)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value
