"""Object encryption: streamed round trips, every kind of tampering refused, the header and
its capsule opened with the owner's derived Umbral key."""

from __future__ import annotations

import itertools
import os
import random
import tracemalloc
from collections.abc import Iterator

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nucypher_core import MessageKit
from nucypher_core.umbral import Capsule, Signer, generate_kfrags, reencrypt
from nucypher_core.umbral import SecretKey as UmbralSecretKey

from voxpop.crypto import erasure
from voxpop.crypto.encryption_keys import derive_encryption_keys
from voxpop.crypto.vault import (
    CHUNK_OVERHEAD,
    CHUNK_SIZE,
    STREAM_HEADER,
    VaultError,
    ciphertext_size,
    decrypt_object,
    decrypt_stream,
    encrypt_object,
    encrypt_stream,
    new_data_key,
    open_header,
    seal_header,
    unwrap_data_key,
)

KEY = bytes(range(32))
CT_CHUNK = CHUNK_SIZE + CHUNK_OVERHEAD


def _code(blob: bytes, key: bytes = KEY) -> str:
    with pytest.raises(VaultError) as err:
        decrypt_object(key, blob)
    return err.value.code


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE + 7]
)
def test_round_trip_sizes(size: int) -> None:
    data = random.Random(size).randbytes(size)
    blob = encrypt_object(KEY, data)
    assert len(blob) == ciphertext_size(size)
    assert decrypt_object(KEY, blob) == data
    # A fresh stream header each time: the same key never repeats a nonce
    assert encrypt_object(KEY, data)[:STREAM_HEADER] != blob[:STREAM_HEADER]


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 4000), max_size=8))
def test_stream_any_piece_sizes(data: bytes, cuts: list[int]) -> None:
    def pieces(blob: bytes) -> list[bytes]:
        points = sorted({0, len(blob), *(c % (len(blob) + 1) for c in cuts)})
        return [blob[a:b] for a, b in itertools.pairwise(points)]

    blob = b"".join(encrypt_stream(KEY, pieces(data)))
    assert len(blob) == ciphertext_size(len(data))
    assert b"".join(decrypt_stream(KEY, pieces(blob))) == data


def test_invalid_tampering() -> None:
    data = os.urandom(2 * CHUNK_SIZE + 100)
    blob = encrypt_object(KEY, data)
    h, c0, c1, c2 = (
        blob[:STREAM_HEADER],
        blob[STREAM_HEADER : STREAM_HEADER + CT_CHUNK],
        blob[STREAM_HEADER + CT_CHUNK : STREAM_HEADER + 2 * CT_CHUNK],
        blob[STREAM_HEADER + 2 * CT_CHUNK :],
    )
    assert h + c0 + c1 + c2 == blob
    rng = random.Random(3)
    for at in [0, 5, STREAM_HEADER, STREAM_HEADER + CT_CHUNK - 1, len(blob) - 1] + [
        rng.randrange(len(blob)) for _ in range(5)
    ]:
        bad = bytearray(blob)
        bad[at] ^= 0x40
        assert _code(bytes(bad)) == "tampered"
    # Reordered, repeated or dropped middle chunks
    assert _code(h + c1 + c0 + c2) == "tampered"
    assert _code(h + c0 + c0 + c1 + c2) == "tampered"
    assert _code(h + c0 + c2) == "tampered"
    # Cut at a chunk boundary (no FINAL chunk), inside a chunk, inside the header
    assert _code(h + c0 + c1) == "truncated"
    assert _code(h) == "truncated"
    assert _code(blob[:10]) == "truncated"
    assert _code(b"") == "truncated"
    assert _code(blob[:-1]) == "tampered"
    # Bytes after the FINAL chunk, another object's chunk, another key
    assert _code(blob + b"\x00") == "tampered"
    assert _code(blob + c2) == "tampered"
    other = encrypt_object(KEY, data)
    assert _code(h + other[STREAM_HEADER:]) == "tampered"
    assert _code(blob, new_data_key()) == "tampered"
    assert _code(blob, KEY[:31]) == "bad_key"


def test_full_last_chunk_is_final() -> None:
    # A full last chunk carries the FINAL tag itself; only the empty object has an empty chunk
    assert len(encrypt_object(KEY, bytes(CHUNK_SIZE))) == STREAM_HEADER + CT_CHUNK
    assert len(encrypt_object(KEY, b"")) == STREAM_HEADER + CHUNK_OVERHEAD
    two = encrypt_object(KEY, bytes(2 * CHUNK_SIZE))
    assert _code(two[: STREAM_HEADER + CT_CHUNK]) == "truncated"


def test_streams_in_constant_memory() -> None:
    # 48 MiB through both directions, a chunk at a time: peak allocation stays a few chunks
    def source() -> Iterator[bytes]:
        piece = bytes(range(256)) * 1024 * 3  # 768 KiB: not aligned with the chunks
        for _ in range(64):
            yield piece

    tracemalloc.start()
    try:
        total = 0
        for plain in decrypt_stream(KEY, encrypt_stream(KEY, source())):
            total += len(plain)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 64 * 768 * 1024
    assert peak < 8 * CHUNK_SIZE


def test_header_round_trip_with_derived_umbral_key() -> None:
    keys = derive_encryption_keys(bytes(range(32)), 1)
    data_key = new_data_key()
    size = ciphertext_size(5000)
    blob = seal_header(keys.secp256k1_public, data_key, k=4, n=6, size=size)
    header = open_header(blob)
    assert (header.k, header.n, header.size, header.ec) == (4, 6, size, erasure.BACKEND)
    assert header.chunk == CHUNK_SIZE and header.v == 1
    assert header.encode() == blob
    assert unwrap_data_key(header, keys.umbral_secret_key()) == data_key
    # Another generation, another account: the key does not open
    for other in (derive_encryption_keys(bytes(range(32)), 2), derive_encryption_keys(KEY[::-1])):
        with pytest.raises(VaultError) as err:
            unwrap_data_key(header, other.umbral_secret_key())
        assert err.value.code == "wrong_key"
    with pytest.raises(VaultError):
        unwrap_data_key(header, UmbralSecretKey.random())


def _header_code(blob: bytes) -> str:
    with pytest.raises(VaultError) as err:
        open_header(blob)
    return err.value.code


def test_invalid_headers() -> None:
    keys = derive_encryption_keys(bytes(32), 0)
    blob = seal_header(keys.secp256k1_public, KEY, k=2, n=3, size=1000)
    doc = cbor2.loads(blob)
    assert _header_code(b"") == "bad_header"
    assert _header_code(b"\xff" * 10) == "bad_header"
    assert _header_code(bytes(5000)) == "bad_header"
    assert _header_code(cbor2.dumps([1, 2])) == "bad_header"
    # Not canonical: the same map with keys in another order
    assert _header_code(cbor2.dumps(dict(reversed(list(doc.items()))))) == "bad_header"
    changes: list[dict[str, object]] = [
        {"v": 2},
        {"cipher": "aes"},
        {"chunk": 4096},
        {"ec": "isa_l_rs_vand"},
        {"k": 3},
        {"n": 33},
        {"k": 0},
        {"size": 10},
        {"size": "1000"},
        {"capsule": b"x"},
        {"key_ct": doc["key_ct"][:-1]},
        {"extra": 1},
    ]
    for change in changes:
        assert _header_code(cbor2.dumps({**doc, **change}, canonical=True)) == "bad_header", change
    missing = {key: value for key, value in doc.items() if key != "size"}
    assert _header_code(cbor2.dumps(missing, canonical=True)) == "bad_header"
    # Another capsule than the key ciphertext's
    other = cbor2.loads(seal_header(keys.secp256k1_public, KEY, k=2, n=3, size=1000))
    swapped = {**doc, "capsule": other["capsule"]}
    assert _header_code(cbor2.dumps(swapped, canonical=True)) == "bad_header"
    with pytest.raises(VaultError):
        seal_header(b"\x02" + bytes(32), KEY, k=2, n=3, size=1000)
    with pytest.raises(VaultError):
        seal_header(keys.secp256k1_public, KEY, k=3, n=3, size=1000)


def test_capsule_reencrypts_to_a_grantee() -> None:
    # What a later consent grant does: the owner makes key fragments for the grantee, proxies
    # re-encrypt the header's capsule, and the grantee opens the data key without the owner
    owner = derive_encryption_keys(bytes(range(32)), 1)
    grantee = derive_encryption_keys(bytes(range(1, 33)), 1)
    data_key = new_data_key()
    header = open_header(seal_header(owner.secp256k1_public, data_key, k=2, n=3, size=100))
    owner_sk = owner.umbral_secret_key()
    kfrags = generate_kfrags(
        delegating_sk=owner_sk,
        receiving_pk=grantee.umbral_secret_key().public_key(),
        signer=Signer(owner_sk),
        threshold=2,
        shares=3,
        sign_delegating_key=True,
        sign_receiving_key=True,
    )
    capsule = Capsule.from_bytes(header.capsule)
    cfrags = [reencrypt(capsule, kfrag) for kfrag in kfrags[:2]]
    kit = MessageKit.from_bytes(header.key_ct)
    opened = kit.decrypt_reencrypted(grantee.umbral_secret_key(), owner_sk.public_key(), cfrags)
    assert bytes(opened) == data_key
    # The grantee's own key alone does not open it
    with pytest.raises(VaultError):
        unwrap_data_key(header, grantee.umbral_secret_key())
