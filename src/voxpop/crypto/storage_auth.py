"""Signed HTTP requests to storage nodes: who is asking, for which request, and when.

Header: `Authorization: Voxpop-Sig v1 <pubkey hex>:<unix seconds>:<signature hex>`. The
signature is Ed25519 by the account key over

    b"voxpop/storage-request/v1\\n" + METHOD + b"\\n" + path_and_query + b"\\n"
    + decimal seconds + b"\\n" + digest

where digest is sha256(body), except for a shard upload (PUT .../shards/<i>): there it is the
shard's Merkle root, which the deal on chain records. A node then checks the signature before it
reads a byte of the shard, and checks the bytes against that root as they come: neither side
hashes 16 MiB a second time for the signature. Either way a signature covers one method, path,
body and time, and is useless for another request. A captured header can be replayed within
the skew window (5 minutes) for the same request only: reads return ciphertext the owner may
fetch anyway, and writes are idempotent (content-addressed shards checked against the on-chain
root), so a nonce store on the node is not needed.

Format and test vectors: docs/protocol/storage.md.
"""

from __future__ import annotations

import hashlib

from voxpop.crypto.errors import CryptoError
from voxpop.crypto.keys import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, PrivateKey, verify_signature
from voxpop.crypto.keys import address_from_pubkey as _address_from_pubkey

SCHEME = "Voxpop-Sig"
VERSION = "v1"
DOMAIN = b"voxpop/storage-request/v1\n"
MAX_SKEW = 300
# 10^19 > 2^63: more digits are no timestamp, and a bound keeps int() cheap on hostile input
_MAX_TS_DIGITS = 19


class StorageAuthError(CryptoError):
    """A request without valid authentication. `code`: missing_auth, bad_auth, stale_auth."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def signed_bytes(
    method: str, path: str, ts: int, body: bytes, *, digest: bytes | None = None
) -> bytes:
    """The bytes an Authorization header signs (the method is upper-cased). `digest`, if
    given, stands for sha256(body): a shard upload's Merkle root, or sha256(body) computed by
    the caller; `body` is then not read."""
    if digest is None:
        digest = hashlib.sha256(body).digest()
    return (
        DOMAIN
        + method.upper().encode("ascii")
        + b"\n"
        + path.encode("utf-8")
        + b"\n"
        + str(ts).encode("ascii")
        + b"\n"
        + digest
    )


def sign_request(
    key: PrivateKey, method: str, path: str, body: bytes, now: int, *, digest: bytes | None = None
) -> str:
    """The Authorization header value for this request, signed at unix time `now`. `digest`:
    for a shard upload, the shard's Merkle root (signed_bytes)."""
    if now < 0:
        raise ValueError("a request time is non-negative unix seconds")
    sig = key.sign(signed_bytes(method, path, now, body, digest=digest))
    return f"{SCHEME} {VERSION} {key.public_key.raw.hex()}:{now}:{sig.hex()}"


def verify_request(
    header: str | None,
    method: str,
    path: str,
    body: bytes,
    now: int,
    max_skew: int = MAX_SKEW,
    *,
    digest: bytes | None = None,
) -> bytes:
    """The signer's 20-byte address if `header` authenticates this request at time `now`.

    `digest`: what the request's signature covers instead of sha256(body); for a shard upload,
    the root the deal records (checked before the body is read); pass b"" as `body` then.

    Raises StorageAuthError: missing_auth (no header), bad_auth (malformed, wrong scheme or
    version, bad signature), stale_auth (signed more than `max_skew` seconds from `now`).
    """
    # Verify there is a header at all
    if header is None or not header.strip():
        raise StorageAuthError("missing_auth", "this request needs an Authorization header")
    parts = header.split(" ")
    # Verify the scheme and version
    if len(parts) != 3 or parts[0] != SCHEME or parts[1] != VERSION:
        raise StorageAuthError("bad_auth", f"expected '{SCHEME} {VERSION} <pub>:<ts>:<sig>'")
    fields = parts[2].split(":")
    if len(fields) != 3:
        raise StorageAuthError("bad_auth", "the credentials are <pubkey hex>:<ts>:<sig hex>")
    pub_hex, ts_text, sig_hex = fields
    pub, sig = (
        _unhex(pub_hex, PUBLIC_KEY_SIZE, "public key"),
        _unhex(sig_hex, SIGNATURE_SIZE, "signature"),
    )
    # Verify the timestamp is plain decimal seconds (one spelling per time: no sign, no zeros)
    if not (
        ts_text.isascii()
        and ts_text.isdigit()
        and len(ts_text) <= _MAX_TS_DIGITS
        and (ts_text == "0" or not ts_text.startswith("0"))
    ):
        raise StorageAuthError("bad_auth", "the timestamp is not decimal unix seconds")
    ts = int(ts_text)
    # Verify the time is within the allowed skew, before spending a signature check on it
    if abs(now - ts) > max_skew:
        raise StorageAuthError(
            "stale_auth", f"signed at {ts}, {abs(now - ts)} s from now (at most {max_skew})"
        )
    # Verify the signature over this exact request
    signed = signed_bytes(method, path, ts, body, digest=digest)
    if not verify_signature(pub, signed, sig):
        raise StorageAuthError("bad_auth", "the signature does not match this request")
    return _address_from_pubkey(pub)


def _unhex(text: str, size: int, what: str) -> bytes:
    # Verify lowercase hex of the exact size (one spelling per key, and bytes.fromhex skips spaces)
    if len(text) != 2 * size or not all(c in "0123456789abcdef" for c in text):
        raise StorageAuthError("bad_auth", f"the {what} is not {size} bytes of lowercase hex")
    return bytes.fromhex(text)
