"""The key directory end to end against a real solo node: an account publishes its keys, another
encrypts to it from a proven query without contacting it, the owner decrypts; rotation and
revocation; a lying node's answers are refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.client.conftest import (
    ALICE,
    ALICE_ADDR,
    BOB_ADDR,
    AsyncTamperingTransport,
    Edit,
    TamperingTransport,
)
from voxpop.chain.encoding import encode
from voxpop.client import AsyncVoxClient, ProofVerificationError, TxRejectedError, VoxClient
from voxpop.client.directory import PUBLISH_GAS, publish_message
from voxpop.client.errors import NoPublishedKeysError
from voxpop.client.testing import LocalNode
from voxpop.crypto import PrivateKey, encode_address
from voxpop.crypto.encryption_keys import derive_encryption_keys
from voxpop.crypto.sealed import SealedBoxError, envelope_version, open_for_account

pytestmark = pytest.mark.slow

CAROL = PrivateKey(bytes([13]) * 32)  # publishes, then revokes
CAROL_ADDR = encode_address(CAROL.public_key.address)
ATTACKER = derive_encryption_keys(bytes([66]) * 32, 1)


@pytest.fixture(scope="module", autouse=True)
def alice_published(node: LocalNode) -> None:
    with VoxClient(node.url) as client:
        result = client.publish_keys(ALICE)
        assert result.code == 0, result.log
        assert 0 < result.gas_used <= PUBLISH_GAS
        client.send(ALICE, CAROL_ADDR, 10_000_000)


def test_encrypt_to_a_published_account(node: LocalNode) -> None:
    with VoxClient(node.url) as client:
        keys = client.directory_keys(ALICE_ADDR)
        assert keys.verified and keys.record is not None
        assert keys.record.x25519 == derive_encryption_keys(ALICE.seed, 1).x25519_public
        # Anyone encrypts from the proven record; only the owner, from its own key, opens it
        envelope = client.encrypt_to(ALICE_ADDR, b"wrapped data key")
    assert envelope_version(envelope) == keys.record.version
    assert open_for_account(ALICE.seed, envelope) == b"wrapped data key"
    with pytest.raises(SealedBoxError):
        open_for_account(CAROL.seed, envelope)


def test_rotation_and_old_versions(node: LocalNode) -> None:
    with VoxClient(node.url) as client:
        before = client.directory_keys(ALICE_ADDR).record
        assert before is not None
        old_envelope = client.encrypt_to(ALICE_ADDR, b"old")
        assert client.publish_keys(ALICE).code == 0
        after = client.directory_keys(ALICE_ADDR).record
        assert after is not None and after.version == before.version + 1
        assert after.x25519 != before.x25519
        new_envelope = client.encrypt_to(ALICE_ADDR, b"new")
        kept = client.directory_key_version(ALICE_ADDR, before.version)
        assert kept.verified and kept.record == before
        # A stale publish (the version already taken) is refused with its code
        with pytest.raises(TxRejectedError) as stale:
            client.execute(ALICE, [publish_message(ALICE, before.version)], gas_limit=PUBLISH_GAS)
        assert stale.value.code == "key_version_mismatch"
    assert envelope_version(new_envelope) == after.version
    assert open_for_account(ALICE.seed, old_envelope) == b"old"  # old data stays readable
    assert open_for_account(ALICE.seed, new_envelope) == b"new"


def test_no_keys_no_encryption(node: LocalNode) -> None:
    with VoxClient(node.url) as client:
        absent = client.directory_keys(BOB_ADDR)
        assert absent.verified and absent.record is None  # proven absent
        with pytest.raises(NoPublishedKeysError):
            client.encrypt_to(BOB_ADDR, b"x")
        assert client.publish_keys(CAROL).code == 0
        client.encrypt_to(CAROL_ADDR, b"x")
        version = client.directory_keys(CAROL_ADDR).record
        assert version is not None
        revoke = ("directory/Revoke", {"owner": CAROL.public_key.address, "version": 2})
        assert client.execute(CAROL, [revoke], gas_limit=PUBLISH_GAS).code == 0
        revoked = client.directory_keys(CAROL_ADDR).record
        assert revoked is not None and revoked.revoked
        with pytest.raises(NoPublishedKeysError):
            client.encrypt_to(CAROL_ADDR, b"x")


def _query_value(change: Any) -> Edit:
    def edit(path: str, data: Any) -> Any:
        if path == "/v1/query" and isinstance(data, dict) and "value" in data:
            return change(data)
        return None

    return edit


def _attacker_key(d: dict[str, Any]) -> dict[str, Any]:
    """A well-formed record holding someone else's keys, with the real proof."""
    value = {
        "version": 1,
        "x25519": ATTACKER.x25519_public,
        "secp256k1": ATTACKER.secp256k1_public,
        "height": d["height"],
        "time": 0,
    }
    return {**d, "value": encode(value).hex()}


def _flip_proof(d: dict[str, Any]) -> dict[str, Any]:
    proof = bytearray(bytes.fromhex(d["proof"]))
    proof[len(proof) // 2] ^= 0x01
    return {**d, "proof": proof.hex()}


TAMPERS = {
    "another key swapped in": _query_value(_attacker_key),
    "keys claimed absent": _query_value(lambda d: {**d, "value": ""}),
    "proof bit flipped": _query_value(_flip_proof),
    "answer for another account": _query_value(
        lambda d: {**d, "key": (b"directory/latest/" + bytes(20)).hex()}
    ),
}


@pytest.mark.parametrize("edit", TAMPERS.values(), ids=TAMPERS.keys())
def test_invalid_tampered_directory_answer(node: LocalNode, edit: Edit) -> None:
    with VoxClient(node.url) as honest:
        assert honest.directory_keys(ALICE_ADDR).verified
    with VoxClient(node.url, transport=TamperingTransport(edit)) as client:
        with pytest.raises(ProofVerificationError):
            client.directory_keys(ALICE_ADDR)
        with pytest.raises(ProofVerificationError):
            client.encrypt_to(ALICE_ADDR, b"for alice only")


async def test_async_client(node: LocalNode) -> None:
    async with AsyncVoxClient(node.url) as client:
        keys = await client.directory_keys(ALICE_ADDR)
        assert keys.verified and keys.record is not None
        envelope = await client.encrypt_to(ALICE_ADDR, b"async")
        assert open_for_account(ALICE.seed, envelope) == b"async"
    tampered = AsyncTamperingTransport(_query_value(_attacker_key))
    async with AsyncVoxClient(node.url, transport=tampered) as client:
        with pytest.raises(ProofVerificationError):
            await client.encrypt_to(ALICE_ADDR, b"x")
