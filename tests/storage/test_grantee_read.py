"""The storage node's reads by a grantee: the StorageApp on a real shard store, its chain reads
answered from records built with the chain's own dataclasses. A live grant of the deal's owner,
to the signer, listing the object, opens the shard and header (named in the signed query
`?grant=<id>`); anything else is refused with a stable code, and writes stay the owner's."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import httpx
import pytest

from voxpop.chain.modules.consent.state import Grant
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.merkle import merkle_root
from voxpop.crypto.storage_auth import sign_request
from voxpop.storage import wire
from voxpop.storage.app import StorageApp
from voxpop.storage.shards import ShardStore

OWNER, GRANTEE, STRANGER, NODE = (PrivateKey(bytes([n]) * 32) for n in (41, 42, 43, 44))
OBJECT, OTHER = bytes([1]) * 32, bytes([2]) * 32
SHARD = b"s" * 4096
HEADER = b"the object header"
ROOT = merkle_root(SHARD, 4096)
LIVE, REVOKED, EXPIRED, FOREIGN, ROOTED = (bytes([n]) * 32 for n in range(10, 15))


def deal() -> wire.Deal:
    placement = wire.Placement(NODE.public_key.address, ROOT, wire.ACTIVE, 0, 0, 0, 1, 1, 1)
    return wire.Deal(
        OWNER.public_key.address,
        hashlib.sha256(HEADER).digest(),
        4096,
        4096,
        1,
        2,
        4096,
        0,
        100,
        1,
        (placement,),
    )


def grant(**changes: object) -> Grant:
    fields: dict[str, object] = {
        "owner": OWNER.public_key.address,
        "grantee": GRANTEE.public_key.address,
        "purpose": "research",
        "expiry": int(time.time()) + 3600,
        "max_accesses": 5,
        "objects": ((OBJECT, bytes(32), bytes(32)),),
        "objects_root": b"",
        "object_count": 1,
        "nodes": (bytes(20),),
        "threshold": 1,
        "delegating_pk": b"\x02" + bytes(32),
        "verifying_pk": b"\x02" + bytes(32),
        "offer_id": b"",
        "created_at": 1,
    }
    fields.update(changes)
    return Grant(**fields)  # type: ignore[arg-type]


GRANTS = {
    LIVE: grant(),
    REVOKED: grant(revoked_at=5),
    EXPIRED: grant(expiry=int(time.time()) - 1),
    FOREIGN: grant(owner=STRANGER.public_key.address),
    ROOTED: grant(objects=(), objects_root=bytes(32), object_count=9),
}


@pytest.fixture
def app(tmp_path: Path) -> StorageApp:
    store = ShardStore(tmp_path / "data", 1 << 20)
    store.write_shard(ROOT, SHARD)
    store.write_header(deal().header_hash, HEADER)

    async def read_deal(object_id: bytes) -> wire.Deal | None:
        return deal() if object_id in (OBJECT, OTHER) else None

    async def read_grant(grant_id: bytes) -> Grant | None:
        return GRANTS.get(grant_id)

    return StorageApp(
        NODE.public_key.address,
        store,
        read_deal,
        lambda *_: None,
        dict,
        read_grant=read_grant,
    )


def get(
    app: StorageApp, signer: PrivateKey, path: str, grant_id: bytes | None = None
) -> httpx.Response:
    if grant_id is not None:
        path += f"?grant={grant_id.hex()}"
    return fetch(app, path, sign_request(signer, "GET", path, b"", int(time.time())))


def fetch(app: StorageApp, path: str, auth: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as c:
            return await c.get(path, headers={"authorization": auth})

    return asyncio.run(go())


def test_grantee_reads_shard_and_header(app: StorageApp) -> None:
    shard = get(app, GRANTEE, f"/v1/objects/{OBJECT.hex()}/shards/0", LIVE)
    assert shard.status_code == 200 and shard.content == SHARD
    header = get(app, GRANTEE, f"/v1/objects/{OBJECT.hex()}/header", LIVE)
    assert header.status_code == 200 and header.content == HEADER
    # A grant committing to a root: the grantee reads the owner's ciphertext (the key is not
    # granted by the storage node; the privacy nodes check the object against the root)
    assert get(app, GRANTEE, f"/v1/objects/{OBJECT.hex()}/header", ROOTED).status_code == 200
    # The owner needs no grant
    assert get(app, OWNER, f"/v1/objects/{OBJECT.hex()}/header").status_code == 200


@pytest.mark.parametrize(
    ("signer", "object_id", "grant_id", "code"),
    [
        (GRANTEE, OBJECT, None, "not_owner"),
        (STRANGER, OBJECT, LIVE, "not_grantee"),
        (GRANTEE, OBJECT, bytes(32), "not_grantee"),
        (GRANTEE, OBJECT, FOREIGN, "not_grantee"),
        (GRANTEE, OBJECT, REVOKED, "grant_ended"),
        (GRANTEE, OBJECT, EXPIRED, "grant_ended"),
        (GRANTEE, OTHER, LIVE, "object_not_granted"),
    ],
)
def test_refused(
    app: StorageApp, signer: PrivateKey, object_id: bytes, grant_id: bytes | None, code: str
) -> None:
    resp = get(app, signer, f"/v1/objects/{object_id.hex()}/shards/0", grant_id)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == code


def test_grant_in_unsigned_query_refused(app: StorageApp) -> None:
    path = f"/v1/objects/{OBJECT.hex()}/header"
    auth = sign_request(GRANTEE, "GET", path, b"", int(time.time()))
    resp = fetch(app, path + f"?grant={LIVE.hex()}", auth)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "bad_auth"
