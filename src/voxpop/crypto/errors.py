"""Every error the crypto package raises. Each carries a stable `code` for scripts and the CLI."""

from __future__ import annotations


class CryptoError(Exception):
    """Base class. `code` is stable and machine-readable; `message` is for people."""

    code: str = "crypto_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidKey(CryptoError):
    """A seed, public key or BIP-32 seed of the wrong size."""

    code = "invalid_key"


class AddressError(CryptoError):
    """A bech32 address that cannot be decoded. `code` says why:

    invalid_character, mixed_case, too_long, missing_separator, empty_prefix, too_short,
    bad_checksum, wrong_prefix, invalid_padding, wrong_length, invalid_prefix (encoding only).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class InvalidMnemonic(CryptoError):
    """Not a valid 24-word BIP-39 English mnemonic.

    `reason` is word_count, unknown_word or checksum.
    """

    code = "invalid_mnemonic"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidDerivationPath(CryptoError):
    code = "invalid_derivation_path"


class KeyringError(CryptoError):
    code = "keyring_error"


class InvalidKeyName(KeyringError):
    code = "invalid_key_name"


class KeyNotFound(KeyringError):
    code = "key_not_found"


class KeyExists(KeyringError):
    code = "key_exists"


class PassphraseRequired(KeyringError):
    code = "passphrase_required"


class WeakPassphrase(KeyringError):
    code = "weak_passphrase"


class WrongPassphrase(KeyringError):
    code = "wrong_passphrase"


class CorruptKeyFile(KeyringError):
    """A key file that is unreadable, or was modified after it was written."""

    code = "corrupt_key_file"
