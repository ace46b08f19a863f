"""Signed requests to storage nodes: the header verifies for the exact request, at the time."""

from __future__ import annotations

import hashlib

import pytest

from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.merkle import merkle_root
from voxpop.crypto.storage_auth import StorageAuthError, sign_request, verify_request

KEY = PrivateKey(bytes(range(32)))
NOW = 1_800_000_000
PATH = "/v1/objects/" + "ab" * 32 + "/shards/3"


def test_sign_and_verify() -> None:
    header = sign_request(KEY, "PUT", PATH, b"shard", NOW)
    assert header.startswith("Voxpop-Sig v1 " + KEY.public_key.raw.hex() + f":{NOW}:")
    assert verify_request(header, "PUT", PATH, b"shard", NOW) == KEY.public_key.address
    # Within the skew either way; the method is not case-sensitive
    assert verify_request(header, "put", PATH, b"shard", NOW + 300) == KEY.public_key.address
    assert verify_request(header, "PUT", PATH, b"shard", NOW - 300) == KEY.public_key.address


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", PATH, b"shard"), ("PUT", PATH + "?x=1", b"shard"), ("PUT", PATH, b"shard!")],
)
def test_invalid_other_request(method: str, path: str, body: bytes) -> None:
    header = sign_request(KEY, "PUT", PATH, b"shard", NOW)
    with pytest.raises(StorageAuthError) as err:
        verify_request(header, method, path, body, NOW)
    assert err.value.code == "bad_auth"


def test_invalid_stale() -> None:
    header = sign_request(KEY, "GET", PATH, b"", NOW)
    for now in (NOW + 301, NOW - 301):
        with pytest.raises(StorageAuthError) as err:
            verify_request(header, "GET", PATH, b"", now)
        assert err.value.code == "stale_auth"
    assert verify_request(header, "GET", PATH, b"", NOW + 1000, max_skew=1000)


def test_invalid_missing() -> None:
    for header in (None, "", "   "):
        with pytest.raises(StorageAuthError) as err:
            verify_request(header, "GET", PATH, b"", NOW)
        assert err.value.code == "missing_auth"


def test_invalid_malformed() -> None:
    good = sign_request(KEY, "GET", PATH, b"", NOW)
    pub, ts, sig = good.split(" ")[2].split(":")
    other = PrivateKey(bytes(32)).public_key.raw.hex()
    bad = [
        "Bearer abc",
        good.replace("v1", "v2", 1),
        good.replace("Voxpop-Sig", "voxpop-sig"),
        f"Voxpop-Sig v1 {pub}:{ts}",
        f"Voxpop-Sig v1 {pub.upper()}:{ts}:{sig}",
        f"Voxpop-Sig v1 {pub[:-2]}:{ts}:{sig}",
        f"Voxpop-Sig v1 {pub}:0{ts}:{sig}",
        f"Voxpop-Sig v1 {pub}:+{ts}:{sig}",
        f"Voxpop-Sig v1 {pub}:{ts}:{sig[:-2]}",
        f"Voxpop-Sig v1 {other}:{ts}:{sig}",
        f"Voxpop-Sig v1 {pub}:{ts}:{sig[:-2]}00" if not sig.endswith("00") else good[:-2] + "01",
        f"Voxpop-Sig  v1 {pub}:{ts}:{sig}",
        f"Voxpop-Sig v1 {pub}:{'9' * 25}:{sig}",
    ]
    for header in bad:
        with pytest.raises(StorageAuthError) as err:
            verify_request(header, "GET", PATH, b"", NOW)
        assert err.value.code == "bad_auth", header


def test_digest_given() -> None:
    """A caller that hashed the body as it streamed in passes the digest, not the body."""
    body = b"shard bytes" * 1000
    header = sign_request(KEY, "PUT", PATH, body, NOW)
    digest = hashlib.sha256(body).digest()
    signer = verify_request(header, "PUT", PATH, b"", NOW, digest=digest)
    assert signer == KEY.public_key.address
    with pytest.raises(StorageAuthError) as err:
        verify_request(header, "PUT", PATH, b"", NOW, digest=hashlib.sha256(b"x").digest())
    assert err.value.code == "bad_auth"


def test_shard_upload_signs_its_root() -> None:
    """A shard upload's signature covers the shard's Merkle root, checked before the body."""
    body = b"shard bytes" * 1000
    root = merkle_root(body, 1024)
    header = sign_request(KEY, "PUT", PATH, body, NOW, digest=root)
    assert verify_request(header, "PUT", PATH, b"", NOW, digest=root) == KEY.public_key.address
    # The same header is no signature of the body's sha256, nor of another root
    for other in (hashlib.sha256(body).digest(), merkle_root(body + b"x", 1024)):
        with pytest.raises(StorageAuthError) as err:
            verify_request(header, "PUT", PATH, b"", NOW, digest=other)
        assert err.value.code == "bad_auth"
