"""The key directory from the client: an account's published encryption keys, proven, and
encryption to them without contacting the account (flows shared by the sync and async client)."""

from __future__ import annotations

from dataclasses import dataclass

from voxpop.chain.encoding import decode_canonical
from voxpop.chain.errors import CODESPACE, ChainError, HeightNotAvailableError
from voxpop.chain.modules.directory.messages import MsgPublishKeys
from voxpop.chain.modules.directory.state import KeyRecord
from voxpop.client._core import Flow, Mode, Trust, address_text, execute_flow, query_flow
from voxpop.client.errors import NoPublishedKeysError, NotFoundError, ProtocolError
from voxpop.crypto.address import decode_address
from voxpop.crypto.encryption_keys import derive_encryption_keys
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.sealed import MAX_VERSION, seal_envelope
from voxpop.node.service import BroadcastResult

# A publish tx uses about 11,500 gas (the ante, two records written, the window pruned)
PUBLISH_GAS = 30_000


@dataclass(frozen=True, slots=True)
class PublishedKeys:
    """An account's key record at `height` (None: never published, or that version not kept)."""

    address: str
    record: KeyRecord | None
    height: int
    verified: bool


def decode_key_record(raw: bytes) -> KeyRecord | None:
    """The record a directory query returned (empty: absent). Raises ProtocolError."""
    if not raw:
        return None
    try:
        return KeyRecord.from_value(decode_canonical(raw))
    except ChainError:
        raise ProtocolError("the key record in state is malformed") from None


def directory_keys_flow(
    trust: Trust, address: str | bytes, height: int | None, prove: bool
) -> Flow[PublishedKeys]:
    """The account's current key record. With prove, the answer is checked against the signed
    header, or ProofVerificationError. Raises AddressError."""
    text = address_text(address)
    result = yield from query_flow(trust, "/directory/keys", decode_address(text), height, prove)
    return PublishedKeys(text, decode_key_record(result.value), result.height, result.verified)


def key_version_flow(
    trust: Trust, address: str | bytes, version: int, height: int | None, prove: bool
) -> Flow[PublishedKeys]:
    """The account's key record of `version`, if the chain still keeps it. Raises AddressError,
    ValueError, ProofVerificationError (with prove), ProtocolError."""
    if not 1 <= version <= MAX_VERSION:
        raise ValueError("a key directory version is 1 to 2^64-1")
    text = address_text(address)
    data = decode_address(text) + version.to_bytes(8, "big")
    result = yield from query_flow(trust, "/directory/key_version", data, height, prove)
    record = decode_key_record(result.value)
    # Verify the proven record is the version asked for
    if record is not None and record.version != version:
        raise ProtocolError(f"asked for version {version}, the record is version {record.version}")
    return PublishedKeys(text, record, result.height, result.verified)


def encrypt_to_flow(trust: Trust, address: str | bytes, plaintext: bytes) -> Flow[bytes]:
    """A sealed envelope that only `address` can open, to the X25519 key it currently publishes,
    read with a proof. Raises NoPublishedKeysError, ProofVerificationError, AddressError."""
    keys = yield from directory_keys_flow(trust, address, None, True)
    record = keys.record
    # Verify the account has keys to encrypt to
    if record is None or record.x25519 is None:
        state = "revoked its keys" if record is not None else "published no keys"
        raise NoPublishedKeysError(f"{keys.address} has {state}")
    return seal_envelope(record.version, record.x25519, plaintext)


def publish_message(key: PrivateKey, version: int) -> MsgPublishKeys:
    """directory/Publish of the keys derived from `key` for `version` (generation = version)."""
    keys = derive_encryption_keys(key.seed, version)
    return MsgPublishKeys(
        key.public_key.address, version, keys.x25519_public, keys.secp256k1_public
    )


def publish_keys_flow(
    trust: Trust,
    key: PrivateKey,
    *,
    fee: int | None,
    gas_limit: int | None,
    mode: Mode,
    memo: str,
) -> Flow[BroadcastResult]:
    """Publish the next version of `key`'s derived encryption keys (a rotation if it has some).

    Raises TxRejectedError (e.g. key_version_mismatch if another publish landed first).
    """
    try:
        current = yield from directory_keys_flow(trust, key.public_key.address, None, False)
        version = (current.record.version if current.record else 0) + 1
    except NotFoundError as exc:  # before the first block: nothing published yet
        if exc.numeric_code != HeightNotAvailableError.code or exc.codespace != CODESPACE:
            raise
        version = 1
    msg = publish_message(key, version)
    gas = PUBLISH_GAS if gas_limit is None else gas_limit
    return (
        yield from execute_flow(
            trust, key, [msg], fee=fee, gas_limit=gas, mode=mode, memo=memo, sequence=None
        )
    )
