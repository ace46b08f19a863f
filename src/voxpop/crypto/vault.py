"""Owner-side encryption of a stored object, and the object header that carries its data key.

Every object gets a fresh 32-byte data key. The ciphertext is libsodium's
crypto_secretstream_xchacha20poly1305 (via PyNaCl): a 24-byte stream header, then one
17-byte-longer ciphertext chunk per CHUNK_SIZE bytes of plaintext, the last one tagged FINAL
(it may be full; it is empty only for the empty object). The stream authenticates order and
end: a chunk moved, dropped, repeated or changed, a cut before the FINAL chunk, or bytes after
it all fail. It is streamed: both directions hold about two chunks in memory whatever the
object's size.

The data key is encapsulated to the owner's Umbral (secp256k1) key, the one the key directory
publishes and voxpop.crypto.encryption_keys derives from the account key, as a nucypher-core
MessageKit: a later consent grant can re-encrypt it for a grantee (proxy re-encryption over the
capsule) without the owner online. The object header (CBOR, stored next to the shards on every
storage node of the deal, never on chain) holds the capsule, the MessageKit, and the coding
parameters; the chain's deal commits to sha256(header).

Formats and test vectors: docs/protocol/storage.md.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import cbor2
import nacl.bindings as sodium
import nacl.exceptions
import nacl.utils
from nucypher_core import MessageKit
from nucypher_core.umbral import Capsule
from nucypher_core.umbral import PublicKey as UmbralPublicKey
from nucypher_core.umbral import SecretKey as UmbralSecretKey

from voxpop.crypto import erasure
from voxpop.crypto.errors import CryptoError

CHUNK_SIZE = 1024 * 1024
KEY_SIZE = sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES
STREAM_HEADER = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
CHUNK_OVERHEAD = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL

HEADER_VERSION = 1
CIPHER = "xchacha20poly1305-secretstream"
# A header is a few hundred bytes; a bound keeps a hostile blob from costing a parse
MAX_HEADER_SIZE = 4096
_HEADER_FIELDS = frozenset({"v", "capsule", "key_ct", "cipher", "chunk", "ec", "k", "n", "size"})


class VaultError(CryptoError):
    """An object or header that does not open. `code`: bad_key, tampered, truncated,
    bad_header, wrong_key."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def new_data_key() -> bytes:
    """A fresh random 32-byte data key."""
    return bytes(sodium.crypto_secretstream_xchacha20poly1305_keygen())


def ciphertext_size(size: int) -> int:
    """The ciphertext length of `size` bytes of plaintext."""
    # One chunk per started CHUNK_SIZE; the empty object is one empty FINAL chunk
    chunks = max(1, -(-size // CHUNK_SIZE))
    return STREAM_HEADER + size + chunks * CHUNK_OVERHEAD


def encrypt_stream(key: bytes, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The ciphertext of the concatenated `chunks`, as the stream header then one piece per
    plaintext chunk. Input pieces may have any sizes. Raises VaultError(bad_key)."""
    _check_key(key)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    yield bytes(sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key))
    # Hold one chunk back: only the next one (or the end) says whether it is the last
    held: bytes | None = None
    for piece in _rechunk(chunks, CHUNK_SIZE):
        if held is not None:
            yield sodium.crypto_secretstream_xchacha20poly1305_push(state, held, None, _TAG_MESSAGE)
        held = piece
    yield sodium.crypto_secretstream_xchacha20poly1305_push(state, held or b"", None, _TAG_FINAL)


def decrypt_stream(key: bytes, chunks: Iterable[bytes | memoryview]) -> Iterator[bytes]:
    """The plaintext of a ciphertext given in pieces of any sizes, one piece per chunk.

    Raises VaultError: bad_key, tampered (a chunk that does not authenticate, in this place,
    or bytes after the FINAL chunk), truncated (the stream ends before its FINAL chunk). The
    plaintext of earlier chunks has been yielded by then: a caller writing to a file removes it
    on error.
    """
    _check_key(key)
    pieces = iter(chunks)
    header, rest = _take_head(pieces, STREAM_HEADER)
    # Verify the stream header is whole
    if len(header) != STREAM_HEADER:
        raise VaultError("truncated", "the ciphertext is shorter than its stream header")
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
    final = False
    for piece in _rechunk(itertools.chain([rest], pieces), CHUNK_SIZE + CHUNK_OVERHEAD):
        # Verify nothing follows the FINAL chunk
        if final:
            raise VaultError("tampered", "bytes follow the final chunk")
        # Verify the chunk authenticates, in this position of this stream
        try:
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(state, piece, None)
        except (nacl.exceptions.CryptoError, ValueError, TypeError, RuntimeError):
            raise VaultError("tampered", "a chunk does not authenticate") from None
        if tag == _TAG_FINAL:
            final = True
        elif tag != _TAG_MESSAGE or len(piece) != CHUNK_SIZE + CHUNK_OVERHEAD:
            # A short chunk must be the last; tags other than these two are not written
            raise VaultError("tampered", f"a chunk with tag {tag} where none belongs")
        yield plain
    # Verify the stream ended with its FINAL chunk
    if not final:
        raise VaultError("truncated", "the ciphertext ends before its final chunk")


def encrypt_object(key: bytes, data: bytes) -> bytes:
    """The whole ciphertext of `data`. Raises VaultError(bad_key)."""
    return b"".join(encrypt_stream(key, [data]))


def decrypt_object(key: bytes, blob: bytes) -> bytes:
    """The whole plaintext of `blob`. Raises VaultError (see decrypt_stream)."""
    return b"".join(decrypt_stream(key, [blob]))


@dataclass(frozen=True, slots=True)
class ObjectHeader:
    """The parsed object header. `key_ct` is the nucypher-core MessageKit of the data key and
    `capsule` its Umbral capsule, kept apart for the proxies that re-encrypt it."""

    capsule: bytes
    key_ct: bytes
    k: int
    n: int
    size: int  # ciphertext bytes
    ec: str = erasure.BACKEND
    cipher: str = CIPHER
    chunk: int = CHUNK_SIZE
    v: int = HEADER_VERSION

    def encode(self) -> bytes:
        """The canonical CBOR bytes (map keys sorted, shortest integers)."""
        fields = {
            "v": self.v,
            "capsule": self.capsule,
            "key_ct": self.key_ct,
            "cipher": self.cipher,
            "chunk": self.chunk,
            "ec": self.ec,
            "k": self.k,
            "n": self.n,
            "size": self.size,
        }
        return cbor2.dumps(fields, canonical=True)

    def hash(self) -> bytes:
        """sha256 of the header bytes: the deal's `header_hash`."""
        return hashlib.sha256(self.encode()).digest()


def seal_header(owner_umbral_public: bytes, data_key: bytes, k: int, n: int, size: int) -> bytes:
    """The object header: `data_key` encapsulated to the owner's Umbral public key (33 bytes,
    SEC1 compressed, as the key directory publishes it), and the coding of the object's `size`
    ciphertext bytes into k of n shards. Raises VaultError(bad_key, bad_header)."""
    _check_key(data_key)
    try:
        public = UmbralPublicKey.from_compressed_bytes(bytes(owner_umbral_public))
    except (ValueError, TypeError):
        raise VaultError("bad_key", "not a secp256k1 public key") from None
    kit = MessageKit(public, data_key, None)
    header = ObjectHeader(bytes(kit.capsule), bytes(kit), k, n, size)
    _check_header(header)
    return header.encode()


def open_header(blob: bytes) -> ObjectHeader:
    """The header in `blob`, checked field by field. Raises VaultError(bad_header)."""
    # Verify the size before parsing
    if len(blob) > MAX_HEADER_SIZE:
        raise VaultError("bad_header", f"a header is at most {MAX_HEADER_SIZE} bytes")
    try:
        doc: Any = cbor2.loads(blob)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError):
        raise VaultError("bad_header", "the header is not CBOR") from None
    # Verify the shape: a map with exactly the known fields, each of its type
    if not isinstance(doc, dict) or set(doc) != _HEADER_FIELDS:
        raise VaultError("bad_header", f"a header is a map of {sorted(_HEADER_FIELDS)}")
    types = {"capsule": bytes, "key_ct": bytes, "cipher": str, "ec": str}
    for name, kind in types.items():
        if type(doc[name]) is not kind:
            raise VaultError("bad_header", f"{name} is not {kind.__name__}")
    for name in ("v", "chunk", "k", "n", "size"):
        if type(doc[name]) is not int:
            raise VaultError("bad_header", f"{name} is not an integer")
    header = ObjectHeader(
        capsule=doc["capsule"],
        key_ct=doc["key_ct"],
        k=doc["k"],
        n=doc["n"],
        size=doc["size"],
        ec=doc["ec"],
        cipher=doc["cipher"],
        chunk=doc["chunk"],
        v=doc["v"],
    )
    _check_header(header)
    # Verify the encoding is the canonical one: one header, one hash
    if header.encode() != bytes(blob):
        raise VaultError("bad_header", "the header is not in canonical CBOR")
    return header


def unwrap_data_key(header: ObjectHeader, umbral_secret_key: UmbralSecretKey) -> bytes:
    """The data key, opened with the owner's Umbral secret key
    (EncryptionKeys.umbral_secret_key()). Raises VaultError(wrong_key)."""
    try:
        key = bytes(MessageKit.from_bytes(header.key_ct).decrypt(umbral_secret_key))
    except (ValueError, TypeError, RuntimeError):
        raise VaultError("wrong_key", "the data key does not open with this key") from None
    # Verify it is a data key (a MessageKit of other bytes would open too)
    if len(key) != KEY_SIZE:
        raise VaultError("wrong_key", "the header does not hold a data key")
    return key


def _check_header(h: ObjectHeader) -> None:
    # Verify the version and the algorithms are the ones this code reads
    if h.v != HEADER_VERSION or h.cipher != CIPHER or h.chunk != CHUNK_SIZE:
        raise VaultError("bad_header", f"version {h.v}, {h.cipher} of {h.chunk} is not known")
    if h.ec != erasure.BACKEND:
        raise VaultError("bad_header", f"erasure code {h.ec!r} is not known")
    # Verify the coding shape and a ciphertext at least as long as an empty object's
    if not 1 <= h.k < h.n <= erasure.MAX_N:
        raise VaultError("bad_header", f"need 1 <= k < n <= {erasure.MAX_N}")
    if h.size < ciphertext_size(0):
        raise VaultError("bad_header", f"a ciphertext of {h.size} bytes is too short")
    # Verify the capsule parses and is the MessageKit's own
    try:
        capsule = Capsule.from_bytes(h.capsule)
        kit = MessageKit.from_bytes(h.key_ct)
    except (ValueError, TypeError):
        raise VaultError("bad_header", "the capsule or key ciphertext does not parse") from None
    if bytes(kit.capsule) != bytes(capsule):
        raise VaultError("bad_header", "the capsule is not the key ciphertext's")


def _check_key(key: bytes) -> None:
    # Verify a 32-byte key: libsodium would read past a shorter one
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_SIZE:
        raise VaultError("bad_key", f"a data key is {KEY_SIZE} bytes")


def _take_head(it: Iterator[bytes | memoryview], size: int) -> tuple[bytes, memoryview]:
    """The first `size` bytes of the pieces (fewer if they end first), and what is left of the
    piece they end in (a view: a whole object given as one piece is not copied)."""
    buf = bytearray()
    for chunk in it:
        if not buf and len(chunk) >= size:
            view = memoryview(chunk)
            return bytes(view[:size]), view[size:]
        buf += chunk
        if len(buf) >= size:
            break
    return bytes(buf[:size]), memoryview(bytes(buf[size:]))


def _rechunk(chunks: Iterable[bytes | memoryview], size: int) -> Iterator[bytes]:
    """Pieces of exactly `size` bytes from pieces of any sizes; the last may be shorter.

    Large input pieces are cut through a memoryview, so a whole object given as one piece is not
    copied over and over."""
    buf = bytearray()
    for chunk in chunks:
        view = memoryview(chunk)
        if buf or len(view) < size:
            take = size - len(buf)
            buf += view[:take]
            view = view[take:]
            if len(buf) < size:
                continue
            yield bytes(buf)
            buf = bytearray()
        while len(view) >= size:
            yield bytes(view[:size])
            view = view[size:]
        if view:
            buf += view
    if buf:
        yield bytes(buf)
