"""Decoding and decrypting an object at once: stripe by stripe, the erasure decode of stripe s+1
runs while stripe s is decrypted.

A shard is the concatenation of its fragment of every 8 MiB stripe (docs/protocol/storage.md), so
stripe s of the ciphertext is `erasure.decode` of each shard's s-th fragment (`shard_size(STRIPE)`
bytes, the last shorter). pyeclib keeps the GIL while it decodes and libsodium (through cffi)
releases it while it decrypts, so on two cores the two overlap: a get then costs about the longer
of the two rather than their sum.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping

from voxpop.crypto import erasure, vault

_DONE = object()
_QUEUED_STRIPES = 2  # decoded stripes waiting for the decrypter at most (8 MiB each)


def ciphertext_stripes(shards: Mapping[int, bytes], k: int, n: int, size: int) -> Iterator[bytes]:
    """The object's `size` ciphertext bytes, one decoded stripe at a time. Raises ErasureError."""
    step = erasure.shard_size(erasure.STRIPE, k, n)
    length = len(next(iter(shards.values())))
    left = size
    for at in range(0, length, step):
        piece = erasure.decode({i: s[at : at + step] for i, s in shards.items()}, k, n)
        last = at + step >= length
        # Verify every stripe but the last is whole (shards of another object fail here)
        if not last and len(piece) != erasure.STRIPE:
            raise erasure.ErasureError("bad_shard", f"a stripe decodes to {len(piece)} bytes")
        yield piece[:left]
        left -= min(left, len(piece))


def decode_decrypt(shards: Mapping[int, bytes], k: int, n: int, size: int, key: bytes) -> bytes:
    """The plaintext of the object these k shards hold. Raises ErasureError, VaultError."""
    pieces: queue.Queue[object] = queue.Queue(maxsize=_QUEUED_STRIPES)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        """Queue `item` for the decrypter; False once it stopped listening (it failed)."""
        while not stop.is_set():
            try:
                pieces.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def decode() -> None:
        try:
            for piece in ciphertext_stripes(shards, k, n, size):
                if not hand_over(piece):
                    return
            hand_over(_DONE)
        except BaseException as exc:  # handed to the decrypting thread, which raises it
            hand_over(exc)

    def decoded() -> Iterator[bytes]:
        while True:
            item = pieces.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item

    worker = threading.Thread(target=decode, name="voxpop-decode", daemon=True)
    worker.start()
    try:
        return b"".join(vault.decrypt_stream(key, decoded()))
    finally:
        stop.set()
        worker.join()
