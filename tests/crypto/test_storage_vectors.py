"""docs/protocol/storage.md: every test vector on the page, recomputed or opened from the page
itself (Merkle roots and paths, signed requests, ciphertext streams, shards, object headers)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from voxpop.crypto import erasure
from voxpop.crypto.encryption_keys import derive_encryption_keys
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.merkle import MerkleTree, leaf_count, verify_path
from voxpop.crypto.storage_auth import sign_request, signed_bytes, verify_request
from voxpop.crypto.vault import decrypt_object, open_header, unwrap_data_key

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol" / "storage.md"
BLOCK = re.compile(r"```(vector-[a-z-]+)\n(.*?)```", re.S)
LINE = re.compile(r"^([a-z_0-9]+) =(?: (.*))?$")


def blocks(kind: str) -> list[dict[str, str]]:
    """Every fenced `vector-<kind>` block of the page, as its `name = value` lines."""
    found = []
    for name, body in BLOCK.findall(DOC.read_text()):
        if name == f"vector-{kind}":
            fields = {}
            for line in body.strip().splitlines():
                match = LINE.match(line)
                assert match, f"not a vector line: {line!r}"
                fields[match[1]] = match[2] or ""
            found.append(fields)
    assert found, f"no vector-{kind} block in {DOC.name}"
    return found


@pytest.mark.parametrize("v", blocks("merkle"))
def test_merkle_vectors(v: dict[str, str]) -> None:
    shard, leaf_size, index = bytes.fromhex(v["shard"]), int(v["leaf_size"]), int(v["index"])
    root, leaf = bytes.fromhex(v["root"]), bytes.fromhex(v["leaf"])
    path = [bytes.fromhex(p) for p in v["path"].split(",") if p]
    tree = MerkleTree(shard, leaf_size)
    assert tree.root == root
    assert tree.leaf(index) == leaf
    assert tree.path(index) == path
    assert verify_path(root, leaf, index, leaf_count(len(shard), leaf_size), path)


@pytest.mark.parametrize("v", blocks("auth"))
def test_auth_vectors(v: dict[str, str]) -> None:
    key = PrivateKey(bytes.fromhex(v["seed"]))
    assert key.public_key.raw.hex() == v["public_key"]
    body, ts = v["body"].encode(), int(v["ts"])
    # A shard upload signs the shard's Merkle root; every other request sha256(body)
    digest = None
    if "digest" in v:
        digest = bytes.fromhex(v["digest"])
        assert MerkleTree(body, int(v["leaf_size"])).root == digest
    signed = signed_bytes(v["method"], v["path"], ts, body, digest=digest)
    assert signed.hex() == v["signed_bytes"]
    assert sign_request(key, v["method"], v["path"], body, ts, digest=digest) == v["header"]
    address = verify_request(v["header"], v["method"], v["path"], body, ts, digest=digest)
    assert address.hex() == v["address"]


@pytest.mark.parametrize("v", blocks("stream"))
def test_stream_vectors(v: dict[str, str]) -> None:
    key, blob = bytes.fromhex(v["key"]), bytes.fromhex(v["ciphertext"])
    assert decrypt_object(key, blob) == v["plaintext"].encode()


def test_erasure_vector() -> None:
    (v,) = blocks("erasure")
    k, n = int(v["k"]), int(v["n"])
    data = bytes(i % 256 for i in range(int(v["data_length"])))
    shards = erasure.encode(data, k, n)
    assert [len(s) for s in shards] == [int(v["shard_length"])] * n
    assert [hashlib.sha256(s).hexdigest() for s in shards] == v["shard_sha256"].split(",")
    assert shards[0][:80].hex() == v["header_0"]
    assert shards[2][:80].hex() == v["header_2"]
    assert erasure.rebuild({0: shards[0], 2: shards[2]}, [1], k, n) == {1: shards[1]}


def test_header_vector() -> None:
    (v,) = blocks("header")
    keys = derive_encryption_keys(bytes.fromhex(v["account_seed"]), int(v["generation"]))
    assert keys.secp256k1_public.hex() == v["umbral_public_key"]
    blob = bytes.fromhex(v["header"])
    assert hashlib.sha256(blob).hexdigest() == v["header_hash"]
    header = open_header(blob)
    assert (header.k, header.n, header.size) == (int(v["k"]), int(v["n"]), int(v["size"]))
    assert header.ec == erasure.BACKEND
    assert unwrap_data_key(header, keys.umbral_secret_key()).hex() == v["data_key"]
