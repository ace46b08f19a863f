"""Account keys: Ed25519 signatures, bech32 addresses, BIP-39 mnemonics, the encrypted keyring.

The protocol side (sign, verify, address) is in keys.py and address.py; the wallet side
(mnemonics, SLIP-10 derivation, the keyring) is in mnemonic.py, slip10.py and keyring.py. An
account's encryption keys (X25519, secp256k1), derived from its key, are in encryption_keys.py;
sealed boxes to them in sealed.py. The data vault's formats (docs/protocol/storage.md): object
encryption and header in vault.py, erasure coding in erasure.py, shard Merkle trees in merkle.py,
signed storage-node requests in storage_auth.py (imported by module, not re-exported here).
"""

from voxpop.crypto.address import (
    ACCOUNT_HRP,
    VALCONS_HRP,
    VALOPER_HRP,
    decode_address,
    decode_bech32,
    encode_address,
    is_address,
)
from voxpop.crypto.encryption_keys import (
    EncryptionKeys,
    derive_encryption_keys,
    is_secp256k1_public_key,
    is_x25519_public_key,
)
from voxpop.crypto.errors import (
    AddressError,
    CorruptKeyFile,
    CryptoError,
    InvalidDerivationPath,
    InvalidKey,
    InvalidKeyName,
    InvalidMnemonic,
    KeyExists,
    KeyNotFound,
    KeyringError,
    PassphraseRequired,
    WeakPassphrase,
    WrongPassphrase,
)
from voxpop.crypto.keyfile import (
    DEFAULT_KDF,
    MINIMAL_KDF,
    KdfLimits,
    KeyInfo,
    KeyringBackend,
    SecretKind,
)
from voxpop.crypto.keyring import (
    MIN_PASSPHRASE_LENGTH,
    ExportedKey,
    Keyring,
    NewKey,
    validate_key_name,
)
from voxpop.crypto.keys import (
    ADDRESS_SIZE,
    PUBLIC_KEY_SIZE,
    SEED_SIZE,
    SIGNATURE_SIZE,
    PrivateKey,
    PublicKey,
    address_from_pubkey,
    verify_signature,
)
from voxpop.crypto.mnemonic import (
    COIN_TYPE,
    MNEMONIC_WORDS,
    account_path,
    derive_private_key,
    generate_mnemonic,
    mnemonic_to_seed,
    normalize_mnemonic,
    validate_mnemonic,
)
from voxpop.crypto.sealed import (
    SealedBoxError,
    envelope_version,
    open_envelope,
    open_for_account,
    open_sealed,
    seal_envelope,
    seal_to,
)
from voxpop.crypto.slip10 import ExtendedKey, derive_path

__all__ = [
    "ACCOUNT_HRP",
    "ADDRESS_SIZE",
    "COIN_TYPE",
    "DEFAULT_KDF",
    "MINIMAL_KDF",
    "MIN_PASSPHRASE_LENGTH",
    "MNEMONIC_WORDS",
    "PUBLIC_KEY_SIZE",
    "SEED_SIZE",
    "SIGNATURE_SIZE",
    "VALCONS_HRP",
    "VALOPER_HRP",
    "AddressError",
    "CorruptKeyFile",
    "CryptoError",
    "EncryptionKeys",
    "ExportedKey",
    "ExtendedKey",
    "InvalidDerivationPath",
    "InvalidKey",
    "InvalidKeyName",
    "InvalidMnemonic",
    "KdfLimits",
    "KeyExists",
    "KeyInfo",
    "KeyNotFound",
    "Keyring",
    "KeyringBackend",
    "KeyringError",
    "NewKey",
    "PassphraseRequired",
    "PrivateKey",
    "PublicKey",
    "SealedBoxError",
    "SecretKind",
    "WeakPassphrase",
    "WrongPassphrase",
    "account_path",
    "address_from_pubkey",
    "decode_address",
    "decode_bech32",
    "derive_encryption_keys",
    "derive_path",
    "derive_private_key",
    "encode_address",
    "envelope_version",
    "generate_mnemonic",
    "is_address",
    "is_secp256k1_public_key",
    "is_x25519_public_key",
    "mnemonic_to_seed",
    "normalize_mnemonic",
    "open_envelope",
    "open_for_account",
    "open_sealed",
    "seal_envelope",
    "seal_to",
    "validate_key_name",
    "validate_mnemonic",
    "verify_signature",
]
