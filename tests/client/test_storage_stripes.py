"""Encrypting and encoding stripe by stripe gives the shards erasure.encode gives for the whole
ciphertext; decoding and decrypting stripe by stripe gives the object back byte-exact from any k
shards; an altered shard or a wrong key fails with the crypto module's error, and no thread
outlives the call."""

from __future__ import annotations

import os
import threading

import pytest

from voxpop.client.storage.stripes import decode_decrypt, encrypt_encode
from voxpop.crypto import erasure, vault

STRIPE = erasure.STRIPE


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
