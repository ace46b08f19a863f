"""The canonical tx encoding: fixed test vectors (also in docs/protocol/transactions.md) and the
decoder's refusals."""

from __future__ import annotations

import contextlib

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.chain import errors
from voxpop.chain.tx import decode_tx, encode_tx, make_body, tx_hash
from voxpop.crypto.keys import PrivateKey

SIGNER = PrivateKey(bytes(32))
RECIPIENT = bytes(range(20))
VECTOR_BODY = make_body(
    chain_id="voxpop-devnet",
    pub_key=SIGNER.public_key.raw,
    sequence=0,
    fee=200,
    gas_limit=200_000,
    msgs=[("bank/Send", {"from": SIGNER.public_key.address, "to": RECIPIENT, "amount": 1_500_000})],
)
# Fixed: changing the encoding breaks every signed tx in the wild. Update docs with any change.
VECTOR_TX_HEX = (
    "a361760163736967584040e2ffb3e76fb4ed3ccaa1f2b2b4c3da8c5d190cce9caad727a21550f832c91175a9fb"
    "f27c82a4b07d94669952803ad6500f39f756e3098df9cb88e3f460820164626f6479a86366656518c8646d656d"
    "6f60646d73677381a264747970656962616e6b2f53656e646576616c7565a362746f54000102030405060708"
    "090a0b0c0d0e0f101112136466726f6d54139e3940e64b5491722088d9a0d741628fc826e066616d6f756e74"
    "1a0016e360677075625f6b657958203b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b"
    "59da2968636861696e5f69646d766f78706f702d6465766e65746873657175656e636500696761735f6c696d"
    "69741a00030d406e74696d656f75745f68656967687400"
)
VECTOR_TX_HASH = "66e8b99c51e716807f14b4372aeb6a6c9c8bfc8bc53681af9308699836a1de0b"


def vector_tx() -> bytes:
    return encode_tx(VECTOR_BODY, SIGNER.sign(VECTOR_BODY.sign_bytes()))


def test_vector_round_trip() -> None:
    raw = vector_tx()
    tx = decode_tx(raw)
    assert tx.body == VECTOR_BODY
    assert tx.raw == raw
    assert tx.sign_bytes.startswith(b"voxpop/tx/v1\n")
    assert raw.hex() == VECTOR_TX_HEX
    assert tx_hash(raw).hex() == VECTOR_TX_HASH


def test_vector_is_deterministic() -> None:
    # Ed25519 signatures are deterministic, so the whole tx is
    assert vector_tx() == vector_tx()


def test_invalid_non_canonical_encoding() -> None:
    doc = cbor2.loads(vector_tx())
    # Same value, but with the map keys in another order: must be refused
    reordered = b"\xa3" + b"".join(
        cbor2.dumps(k) + cbor2.dumps(doc[k], canonical=True) for k in ["body", "sig", "v"]
    )
    assert cbor2.loads(reordered) == doc
    with pytest.raises(errors.TxDecodeError):
        decode_tx(reordered)


def test_invalid_trailing_bytes() -> None:
    with pytest.raises(errors.TxDecodeError):
        decode_tx(vector_tx() + b"\x00")


@pytest.mark.parametrize("cut", [1, 10, 50, 100])
def test_invalid_truncated(cut: int) -> None:
    with pytest.raises(errors.TxDecodeError):
        decode_tx(vector_tx()[:-cut])


def test_invalid_wrong_version() -> None:
    doc = cbor2.loads(vector_tx())
    doc["v"] = 2
    with pytest.raises(errors.TxDecodeError, match="version"):
        decode_tx(cbor2.dumps(doc, canonical=True))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sequence", -1),
        ("fee", 1 << 64),
        ("gas_limit", "1"),
        ("pub_key", b"\x00" * 31),
        ("chain_id", ""),
        ("msgs", []),
        ("memo", b"x"),
    ],
)
def test_invalid_body_fields(field: str, value: object) -> None:
    doc = cbor2.loads(vector_tx())
    doc["body"][field] = value
    with pytest.raises(errors.ChainError):
        decode_tx(cbor2.dumps(doc, canonical=True))


def test_invalid_too_large() -> None:
    with pytest.raises(errors.TxTooLargeError):
        decode_tx(vector_tx(), max_bytes=10)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_decoder_never_crashes(data: bytes) -> None:
    with contextlib.suppress(errors.ChainError):
        decode_tx(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=255))
def test_fuzz_single_byte_mutations(position: int, value: int) -> None:
    raw = bytearray(vector_tx())
    raw[position % len(raw)] = value
    try:
        tx = decode_tx(bytes(raw))
    except errors.ChainError:
        return
    # Whatever still decodes must re-encode to exactly the bytes given
    assert encode_tx(tx.body, tx.signature) == bytes(raw)
