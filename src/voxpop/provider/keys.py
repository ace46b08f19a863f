"""The provider's two keys.

The **account key** (in the keyring under the provider's home, encrypted at rest unless the test
backend is chosen) signs claim txs and receives the payments. The **response key** signs the
receipts; it is derived from the account key's seed, so there is nothing more to store or back up:
sha256("voxpop/provider-response-key/v1\\0" ‖ account seed) is its Ed25519 seed. Knowing the
response key reveals nothing about the account key (a one-way hash). Register its public key as the
offer's `signing_key`.
"""

from __future__ import annotations

import hashlib

from nacl.signing import SigningKey

from voxpop.crypto.keys import PrivateKey

RESPONSE_KEY_DOMAIN = b"voxpop/provider-response-key/v1\x00"


def derive_response_key(account: PrivateKey) -> SigningKey:
    """The receipt-signing key of the provider whose account key is `account`."""
    return SigningKey(hashlib.sha256(RESPONSE_KEY_DOMAIN + account.seed).digest())


def response_public_key(account: PrivateKey) -> bytes:
    return bytes(derive_response_key(account).verify_key)
