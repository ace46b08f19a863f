"""docs/protocol/vouchers.md: every test vector on the page, recomputed from the page itself;
and the voucher and receipt checks refuse what they must."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from voxpop.crypto.vouchers import (
    Receipt,
    Voucher,
    derive_channel_id,
    receipt_sign_bytes,
    sign_receipt,
    sign_voucher,
    voucher_sign_bytes,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol" / "vouchers.md"
BLOCK = re.compile(r"```(vector-[a-z-]+)\n(.*?)```", re.S)


def blocks(kind: str) -> list[dict[str, str]]:
    """Every fenced `vector-<kind>` block of the page, as its `name = value` lines."""
    found = []
    for name, body in BLOCK.findall(DOC.read_text()):
        if name == f"vector-{kind}":
            found.append(dict(line.split(" = ", 1) for line in body.strip().splitlines()))
    assert found, f"no vector-{kind} block in {DOC.name}"
    return found


INPUTS = blocks("inputs")[0]
CHAIN_ID = INPUTS["chain_id"]
PAYER = bytes.fromhex(INPUTS["payer"])
VOUCHER_KEY = SigningKey(bytes.fromhex(INPUTS["voucher_key_seed"]))
RESPONSE_KEY = SigningKey(bytes.fromhex(INPUTS["response_key_seed"]))


def test_keys_match_their_seeds() -> None:
    assert bytes(VOUCHER_KEY.verify_key).hex() == INPUTS["voucher_key"]
    assert bytes(RESPONSE_KEY.verify_key).hex() == INPUTS["response_key"]


@pytest.mark.parametrize("vector", blocks("channel-id"), ids=lambda v: v["nonce"])
def test_channel_id_vectors(vector: dict[str, str]) -> None:
    assert derive_channel_id(CHAIN_ID, PAYER, int(vector["nonce"])).hex() == vector["channel_id"]


@pytest.mark.parametrize("vector", blocks("voucher"), ids=lambda v: v["amount"])
def test_voucher_vectors(vector: dict[str, str]) -> None:
    channel_id, amount = bytes.fromhex(vector["channel_id"]), int(vector["amount"])
    assert voucher_sign_bytes(CHAIN_ID, channel_id, amount).hex() == vector["sign_bytes"]
    voucher = sign_voucher(VOUCHER_KEY, CHAIN_ID, channel_id, amount)
    assert voucher.signature.hex() == vector["signature"]
    assert voucher.verify(CHAIN_ID, bytes.fromhex(INPUTS["voucher_key"]))


@pytest.mark.parametrize("vector", blocks("receipt"), ids=lambda v: v["amount"])
def test_receipt_vectors(vector: dict[str, str]) -> None:
    channel_id, amount = bytes.fromhex(vector["channel_id"]), int(vector["amount"])
    request, response = vector["request"].encode(), vector["response"].encode()
    receipt = sign_receipt(RESPONSE_KEY, CHAIN_ID, channel_id, request, response, amount)
    assert receipt.request_hash.hex() == vector["request_hash"]
    assert receipt.response_hash.hex() == vector["response_hash"]
    signed = receipt_sign_bytes(
        CHAIN_ID, channel_id, receipt.request_hash, receipt.response_hash, amount
    )
    assert signed.hex() == vector["sign_bytes"]
    assert receipt.signature.hex() == vector["signature"]
    assert receipt.verify(CHAIN_ID, bytes.fromhex(INPUTS["response_key"]))


def test_invalid_vouchers_do_not_verify() -> None:
    vector = blocks("voucher")[-1]
    channel_id, amount = bytes.fromhex(vector["channel_id"]), int(vector["amount"])
    signature = bytes.fromhex(vector["signature"])
    key = bytes(VOUCHER_KEY.verify_key)
    assert Voucher(channel_id, amount, signature).verify(CHAIN_ID, key)
    # Another amount, channel, chain or key; a truncated or flipped signature; a bad key
    assert not Voucher(channel_id, amount + 1, signature).verify(CHAIN_ID, key)
    other = derive_channel_id(CHAIN_ID, PAYER, 1)
    assert not Voucher(other, amount, signature).verify(CHAIN_ID, key)
    assert not Voucher(channel_id, amount, signature).verify("voxpop-other", key)
    assert not Voucher(channel_id, amount, signature).verify(
        CHAIN_ID, bytes(RESPONSE_KEY.verify_key)
    )
    assert not Voucher(channel_id, amount, signature[:63]).verify(CHAIN_ID, key)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not Voucher(channel_id, amount, flipped).verify(CHAIN_ID, key)
    assert not Voucher(channel_id, amount, signature).verify(CHAIN_ID, bytes(31))
    assert not Voucher(channel_id[:31], amount, signature).verify(CHAIN_ID, key)
    assert not Voucher(channel_id, 1 << 64, signature).verify(CHAIN_ID, key)
    assert not Voucher(channel_id, amount, signature).verify("", key)


def test_invalid_receipt_does_not_verify() -> None:
    vector = blocks("receipt")[0]
    receipt = sign_receipt(
        RESPONSE_KEY,
        CHAIN_ID,
        bytes.fromhex(vector["channel_id"]),
        vector["request"].encode(),
        vector["response"].encode(),
        int(vector["amount"]),
    )
    key = bytes(RESPONSE_KEY.verify_key)
    tampered = Receipt(
        receipt.channel_id,
        receipt.request_hash,
        bytes(32),  # a different answer
        receipt.amount,
        receipt.signature,
    )
    assert not tampered.verify(CHAIN_ID, key)
    assert not receipt.verify(CHAIN_ID, bytes(VOUCHER_KEY.verify_key))


def test_a_voucher_signature_is_no_receipt() -> None:
    """Domain separation: the bytes of one format never equal the bytes of the other."""
    channel_id = derive_channel_id(CHAIN_ID, PAYER, 0)
    v = voucher_sign_bytes(CHAIN_ID, channel_id, 5)
    r = receipt_sign_bytes(CHAIN_ID, channel_id, bytes(32), bytes(32), 5)
    assert not r.startswith(v[:18]) and v[:18] == b"voxpop/voucher/v1\0"
