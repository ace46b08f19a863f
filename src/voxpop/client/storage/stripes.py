"""Encryption and erasure coding at once, stripe by stripe: while one thread encrypts, the other
erasure-codes the 8 MiB ciphertext stripes already made (put); and the reverse, decoding stripe
s+1 while stripe s is decrypted (get). When the k data shards are read, get decrypts them as they
arrive instead: the code is systematic, so their fragments' payloads are the ciphertext.

A shard is the concatenation of its fragment of every 8 MiB stripe (docs/protocol/storage.md), so
encoding stripe by stripe gives the very shards `erasure.encode` gives for the whole ciphertext,
and stripe s of the ciphertext is `erasure.decode` of each shard's s-th fragment
(`shard_size(STRIPE)` bytes, the last shorter). pyeclib keeps the GIL while it codes and libsodium
(through cffi) releases it while it encrypts or decrypts, so on two cores the two overlap: a step
costs about the longer of the two rather than their sum.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator, Mapping

from voxpop.client.storage.download import Arrivals
from voxpop.crypto import erasure, vault
from voxpop.crypto.merkle import RootBuilder

_DONE = object()
_QUEUED_STRIPES = 2  # decoded stripes waiting for the decrypter at most (8 MiB each)
# Encrypted chunks (1 MiB each) waiting for the encoder at most: two stripes, so the encrypter
# keeps going while the encoder codes and hashes a stripe
_QUEUED_CHUNKS = 2 * erasure.STRIPE // vault.CHUNK_SIZE


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


class _Handoff:
    """Pieces from a producer thread to the calling one, at most a few queued; an error in the
    producer is raised in the caller, and a caller that fails stops the producer."""

    def __init__(self, produce: Iterator[bytes], name: str, queued: int) -> None:
        self._produce = produce
        self._pieces: queue.Queue[object] = queue.Queue(maxsize=queued)
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, name=name, daemon=True)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._pieces.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False  # the caller stopped listening (it failed)

    def _run(self) -> None:
        try:
            for piece in self._produce:
                if not self._put(piece):
                    return
            self._put(_DONE)
        except BaseException as exc:  # handed to the calling thread, which raises it
            self._put(exc)

    def __iter__(self) -> Generator[bytes, None, None]:
        self._worker.start()
        try:
            while True:
                item = self._pieces.get()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, bytes)
                yield item
        finally:
            self._stop.set()
            self._worker.join()


def decode_decrypt(shards: Mapping[int, bytes], k: int, n: int, size: int, key: bytes) -> bytes:
    """The plaintext of the object these k shards hold. Raises ErasureError, VaultError."""
    decoded = _Handoff(ciphertext_stripes(shards, k, n, size), "voxpop-decode", _QUEUED_STRIPES)
    pieces = iter(decoded)
    try:
        return b"".join(vault.decrypt_stream(key, pieces))
    finally:
        pieces.close()  # stops the decoder if decrypting failed


def encrypt_encode(key: bytes, data: bytes, k: int, n: int) -> tuple[int, list[bytes]]:
    """(ciphertext size, the n shards) of `data` encrypted under `key`: the shards
    `erasure.encode(vault.encrypt_object(key, data), k, n)` would give. Raises ErasureError,
    VaultError."""
    size, parts = _encrypt_encode(key, data, k, n, None)
    return size, [b"".join(p) for p in parts]


def encrypt_encode_roots(
    key: bytes, data: bytes, k: int, n: int, leaf_size: int
) -> tuple[int, list[list[bytes]], list[bytes]]:
    """encrypt_encode, with each shard as its fragments (one per stripe, in order: the shard is
    their concatenation, uploaded as it is rather than joined into one more copy), and each
    shard's Merkle root (`leaf_size` leaves), hashed fragment by fragment while the encrypter
    makes the next stripe (no pass over the shards afterwards)."""
    builders = [RootBuilder(leaf_size) for _ in range(n)]
    size, parts = _encrypt_encode(key, data, k, n, builders)
    return size, parts, [b.root() for b in builders]


def _encrypt_encode(
    key: bytes, data: bytes, k: int, n: int, builders: list[RootBuilder] | None
) -> tuple[int, list[list[bytes]]]:
    parts: list[list[bytes]] = [[] for _ in range(n)]
    pending: list[memoryview] = []  # encrypted bytes not yet in a stripe
    waiting = 0  # how many
    size = 0

    def encode(stripe: bytes) -> None:
        for i, fragment in enumerate(erasure.encode(stripe, k, n)):
            parts[i].append(fragment)
            if builders is not None:
                builders[i].feed(fragment)

    pieces = iter(_Handoff(vault.encrypt_stream(key, [data]), "voxpop-encrypt", _QUEUED_CHUNKS))
    try:
        for piece in pieces:
            size += len(piece)
            view = memoryview(piece)
            while view:
                take = min(len(view), erasure.STRIPE - waiting)
                pending.append(view[:take])
                waiting += take
                view = view[take:]
                if waiting == erasure.STRIPE:
                    # The stripe's one copy: pyeclib codes these very bytes
                    encode(b"".join(pending))
                    pending, waiting = [], 0
    finally:
        pieces.close()  # stops the encrypter if encoding failed
    if pending:
        encode(b"".join(pending))
    return size, parts


def decrypt_arriving(
    arrivals: Arrivals, k: int, n: int, shard_size: int, size: int, key: bytes
) -> bytes:
    """The plaintext of the object whose data shards 0..k-1 are arriving, decrypted as their
    bytes come (to be used only once their roots verify). Raises Abandoned (a data shard will
    not arrive whole), ErasureError, VaultError."""
    ciphertext = _arriving_ciphertext(arrivals, k, n, shard_size, size)
    return b"".join(vault.decrypt_stream(key, ciphertext))


def _arriving_ciphertext(
    arrivals: Arrivals, k: int, n: int, shard_size: int, size: int
) -> Iterator[memoryview]:
    """The object's `size` ciphertext bytes, fragment by fragment of the data shards as each is
    in: stripe s is the payloads of the s-th fragments of shards 0..k-1, cut at the stripe's
    size (erasure.data_payload)."""
    step = erasure.shard_size(erasure.STRIPE, k, n)
    left = size
    for at in range(0, shard_size, step):
        end = min(at + step, shard_size)
        # Every stripe is whole but the last, whose size its headers record
        stripe: int | None = erasure.STRIPE if end < shard_size else None
        unfilled = 0
        for i in range(k):
            payload, recorded = erasure.data_payload(arrivals.wait(i, end)[at:end], i, k, n)
            if stripe is None:
                stripe = recorded
            if i == 0:
                unfilled = stripe
            # Verify every fragment records this stripe's size
            if recorded != stripe:
                raise erasure.ErasureError("bad_shard", f"a stripe of {recorded} bytes at {at}")
            piece = payload[: min(unfilled, left)]
            unfilled -= min(unfilled, len(payload))
            left -= len(piece)
            if piece:
                yield piece  # a view into the shard's buffer: decrypt_stream copies per chunk
        # Verify the payloads held the whole stripe
        if unfilled:
            raise erasure.ErasureError("bad_shard", f"the stripe at {at} is {unfilled} bytes short")
