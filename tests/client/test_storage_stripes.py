"""Encrypting and encoding stripe by stripe gives the shards erasure.encode gives for the whole
ciphertext; decoding and decrypting stripe by stripe gives the object back byte-exact from any k
shards; an altered shard or a wrong key fails with the crypto module's error, and no thread
outlives the call."""

from __future__ import annotations

import os
import random
import threading

import pytest

from voxpop.client.storage.download import Abandoned, Arrivals
from voxpop.client.storage.stripes import (
    decode_decrypt,
    decrypt_arriving,
    encrypt_encode,
    encrypt_encode_roots,
)
from voxpop.crypto import erasure, vault
from voxpop.crypto.merkle import merkle_root

STRIPE = erasure.STRIPE


@pytest.mark.parametrize("size", [1, STRIPE - 41, STRIPE, 3 * STRIPE - 7])
def test_fragments_and_roots_are_the_shards(size: int) -> None:
    """put's form: each shard as its fragments (one per stripe) and its root, hashed as made."""
    data = os.urandom(size)
    key = vault.new_data_key()
    blob_size, parts, roots = encrypt_encode_roots(key, data, 4, 6, 1024)
    stripes = -(-blob_size // STRIPE)
    assert all(len(p) == stripes for p in parts)
    shards = [b"".join(p) for p in parts]
    assert roots == [merkle_root(s, 1024) for s in shards]
    blob = erasure.decode(dict(enumerate(shards)), 4, 6)
    assert len(blob) == blob_size and erasure.encode(blob, 4, 6) == shards
    assert decode_decrypt({i: shards[i] for i in (1, 3, 4, 5)}, 4, 6, blob_size, key) == data


@pytest.mark.parametrize("size", [0, 1, STRIPE - 41, STRIPE, 2 * STRIPE + 5])
def test_round_trip_from_any_k(size: int) -> None:
    data = os.urandom(size)
    key = vault.new_data_key()
    blob_size, shards = encrypt_encode(key, data, 4, 6)
    assert blob_size == vault.ciphertext_size(size)
    # The same shards as the whole ciphertext's: decoding them whole gives a ciphertext whose
    # encoding is these shards again
    blob = erasure.decode(dict(enumerate(shards)), 4, 6)
    assert len(blob) == blob_size and erasure.encode(blob, 4, 6) == shards
    for chosen in ((0, 1, 2, 3), (2, 3, 4, 5)):
        picked = {i: shards[i] for i in chosen}
        assert decode_decrypt(picked, 4, 6, blob_size, key) == data


def test_invalid_altered_shard_or_key() -> None:
    data = os.urandom(2 * STRIPE + 5)
    key = vault.new_data_key()
    blob = vault.encrypt_object(key, data)
    shards = erasure.encode(blob, 4, 6)
    picked = {i: shards[i] for i in range(4)}
    before = threading.active_count()
    with pytest.raises(vault.VaultError):
        decode_decrypt(picked, 4, 6, len(blob), vault.new_data_key())
    altered = dict(picked)
    raw = bytearray(altered[1])
    raw[len(raw) // 2] ^= 1
    altered[1] = bytes(raw)
    with pytest.raises((vault.VaultError, erasure.ErasureError)):
        decode_decrypt(altered, 4, 6, len(blob), key)
    assert threading.active_count() == before


def _arrive(arrivals: Arrivals, shards: list[bytes], k: int, seed: int) -> None:
    """The k data shards into their buffers in random pieces, interleaved, as downloads would."""
    rng = random.Random(seed)
    views = [memoryview(bytearray(len(s))) for s in shards[:k]]
    filled = [0] * k
    while any(f < len(s) for f, s in zip(filled, shards, strict=False)):
        i = rng.choice([j for j in range(k) if filled[j] < len(shards[j])])
        end = min(len(shards[i]), filled[i] + rng.randrange(1, 300_000))
        views[i][filled[i] : end] = shards[i][filled[i] : end]
        filled[i] = end
        arrivals.arrived(i, views[i], end)


@pytest.mark.parametrize("size", [1, STRIPE - 41, STRIPE, 2 * STRIPE + 5])
def test_decrypt_arriving_data_shards(size: int) -> None:
    """Decrypted from the data shards as their bytes arrive (in any pieces): the object."""
    data = os.urandom(size)
    key = vault.new_data_key()
    blob_size, shards = encrypt_encode(key, data, 4, 6)
    arrivals = Arrivals(range(4))
    feeder = threading.Thread(target=_arrive, args=(arrivals, shards, 4, size))
    feeder.start()
    try:
        assert decrypt_arriving(arrivals, 4, 6, len(shards[0]), blob_size, key) == data
    finally:
        feeder.join()


def test_invalid_decrypt_arriving_gives_up_or_refuses() -> None:
    """A data shard that fails stops the reader (Abandoned), as does the read ending first; an
    altered payload fails to authenticate."""
    data = os.urandom(STRIPE + 5)
    key = vault.new_data_key()
    blob_size, shards = encrypt_encode(key, data, 4, 6)
    size = len(shards[0])
    arrivals = Arrivals(range(4))
    arrivals.arrived(0, memoryview(shards[0]), size)
    arrivals.failed(2)
    with pytest.raises(Abandoned):
        decrypt_arriving(arrivals, 4, 6, size, blob_size, key)
    arrivals = Arrivals(range(4))
    arrivals.close()
    with pytest.raises(Abandoned):
        decrypt_arriving(arrivals, 4, 6, size, blob_size, key)
    altered = [bytearray(s) for s in shards]
    altered[3][size - 7] ^= 1  # a payload byte of the last fragment
    arrivals = Arrivals(range(4))
    for i in range(4):
        arrivals.arrived(i, memoryview(altered[i]), size)
    with pytest.raises(vault.VaultError):
        decrypt_arriving(arrivals, 4, 6, size, blob_size, key)
