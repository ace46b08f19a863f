"""Payment-channel vouchers and provider receipts: the two signed formats of a paid call.

A **voucher** is the payer's promise: the channel's voucher key signs (chain id, channel id,
cumulative amount). The amount only grows, so the latest voucher supersedes every earlier one and
the payee needs to keep only its best. A **receipt** is the provider's answer to a paid call: its
response-signing key signs (chain id, channel id, hash of the request, hash of the response,
cumulative amount), so the payer can show what it paid for and what it got.

Both are domain-separated (a voucher can never be read as a receipt, a tx or anything else) and
versioned in the domain string. Layout and test vectors: docs/protocol/vouchers.md.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from nacl.signing import SigningKey

from voxpop.crypto.keys import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, verify_signature

VOUCHER_DOMAIN = b"voxpop/voucher/v1\x00"
RECEIPT_DOMAIN = b"voxpop/receipt/v1\x00"
CHANNEL_ID_DOMAIN = b"voxpop/channel-id/v1\x00"
CHANNEL_ID_SIZE = 32
HASH_SIZE = 32
MAX_CHAIN_ID = 64
MAX_AMOUNT = 2**64 - 1


def _chain_id_bytes(chain_id: str) -> bytes:
    raw = chain_id.encode()
    if not 0 < len(raw) <= MAX_CHAIN_ID:
        raise ValueError(f"chain id must be 1 to {MAX_CHAIN_ID} bytes")
    return bytes([len(raw)]) + raw


def _check(channel_id: bytes, amount: int) -> None:
    if len(channel_id) != CHANNEL_ID_SIZE:
        raise ValueError(f"channel id must be {CHANNEL_ID_SIZE} bytes")
    if not 0 <= amount <= MAX_AMOUNT:
        raise ValueError("amount must fit in 64 bits")


def derive_channel_id(chain_id: str, payer: bytes, nonce: int) -> bytes:
    """The id of the payer's `nonce`-th channel: sha256(domain ‖ chain id ‖ payer ‖ nonce u64).

    The chain keeps each payer's nonce and only ever increments it, so an id is never reused and a
    voucher for a closed channel can never pay on a new one.
    """
    if len(payer) != 20:
        raise ValueError("payer must be a 20-byte address")
    if not 0 <= nonce <= MAX_AMOUNT:
        raise ValueError("nonce must fit in 64 bits")
    return hashlib.sha256(
        CHANNEL_ID_DOMAIN + _chain_id_bytes(chain_id) + payer + struct.pack(">Q", nonce)
    ).digest()


def voucher_sign_bytes(chain_id: str, channel_id: bytes, amount: int) -> bytes:
    """What a voucher key signs: domain ‖ len(chain id) ‖ chain id ‖ channel id ‖ amount u64 BE."""
    _check(channel_id, amount)
    return VOUCHER_DOMAIN + _chain_id_bytes(chain_id) + channel_id + struct.pack(">Q", amount)


def receipt_sign_bytes(
    chain_id: str, channel_id: bytes, request_hash: bytes, response_hash: bytes, amount: int
) -> bytes:
    """What a provider's response key signs: domain ‖ len(chain id) ‖ chain id ‖ channel id ‖
    sha256(request) ‖ sha256(response) ‖ amount u64 BE (the cumulative amount of the voucher
    that paid)."""
    _check(channel_id, amount)
    if len(request_hash) != HASH_SIZE or len(response_hash) != HASH_SIZE:
        raise ValueError(f"hashes must be {HASH_SIZE} bytes")
    return (
        RECEIPT_DOMAIN
        + _chain_id_bytes(chain_id)
        + channel_id
        + request_hash
        + response_hash
        + struct.pack(">Q", amount)
    )


@dataclass(frozen=True, slots=True)
class Voucher:
    """A signed cumulative amount for one channel."""

    channel_id: bytes
    amount: int
    signature: bytes

    def verify(self, chain_id: str, voucher_key: bytes) -> bool:
        """True if `voucher_key` signed this voucher for `chain_id`; never raises on bad bytes."""
        if len(voucher_key) != PUBLIC_KEY_SIZE or len(self.signature) != SIGNATURE_SIZE:
            return False
        try:
            msg = voucher_sign_bytes(chain_id, self.channel_id, self.amount)
        except ValueError:
            return False
        return verify_signature(voucher_key, msg, self.signature)


def sign_voucher(key: SigningKey, chain_id: str, channel_id: bytes, amount: int) -> Voucher:
    """The voucher paying `amount` uvox in all on `channel_id`, signed with the voucher key."""
    msg = voucher_sign_bytes(chain_id, channel_id, amount)
    return Voucher(channel_id, amount, key.sign(msg).signature)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A provider's signed statement that it answered `request_hash` with `response_hash`, paid
    by the voucher for `amount` on `channel_id`."""

    channel_id: bytes
    request_hash: bytes
    response_hash: bytes
    amount: int
    signature: bytes

    def verify(self, chain_id: str, response_key: bytes) -> bool:
        """True if `response_key` signed this receipt for `chain_id`; never raises on bad bytes."""
        if len(response_key) != PUBLIC_KEY_SIZE or len(self.signature) != SIGNATURE_SIZE:
            return False
        try:
            msg = receipt_sign_bytes(
                chain_id, self.channel_id, self.request_hash, self.response_hash, self.amount
            )
        except ValueError:
            return False
        return verify_signature(response_key, msg, self.signature)


def sign_receipt(
    key: SigningKey, chain_id: str, channel_id: bytes, request: bytes, response: bytes, amount: int
) -> Receipt:
    """The receipt for answering `request` (raw body bytes) with `response` (raw body bytes)."""
    req_hash = hashlib.sha256(request).digest()
    resp_hash = hashlib.sha256(response).digest()
    msg = receipt_sign_bytes(chain_id, channel_id, req_hash, resp_hash, amount)
    return Receipt(channel_id, req_hash, resp_hash, amount, key.sign(msg).signature)
