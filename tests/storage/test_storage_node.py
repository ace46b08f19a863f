"""The storage node end to end: a real solo node with short storage epochs and real storage node
processes (`voxpop storage start`), an owner opening deals and uploading shards over the signed
HTTP API.

    A, B   take the shards of deal ONE (k=1 of n=2); they prove across epochs and are paid;
           A is killed (kill -9) and restarted and still proves; B loses its shard file and the
           chain marks a fault at its next challenge
    C      a small node: over capacity once a closed deal's shard is still on its disk
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests.support.nodeproc import NodeProcess
from voxpop.chain.modules.storage.messages import MsgCloseDeal, MsgOpenDeal
from voxpop.chain.modules.storage.state import decode_deal, decode_provider
from voxpop.cli.main import app
from voxpop.client import VoxClient
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.merkle import merkle_root
from voxpop.crypto.storage_auth import sign_request
from voxpop.node.config import load_config
from voxpop.storage.devnet import set_storage_params
from voxpop.storage.testing import LocalStorageNode

pytestmark = pytest.mark.slow

LEAF = 1024
SHARD = 16 * LEAF
PRICE = 10**9  # uvox per GiB-epoch: about 15,000 uvox per epoch for a 16 KiB shard
FUNDS = 10**13
GAS = 400_000
PARAMS = {
    "epoch_blocks": 15,  # 3 s at 200 ms blocks
    "proof_deadline_blocks": 12,
    "challenges_per_epoch": 4,
    "leaf_size": LEAF,
    "confirm_blocks": 50,
}


def key(n: int) -> PrivateKey:
    return PrivateKey(bytes([n]) * 32)


OWNER, STRANGER, A, B, C = (key(n) for n in range(60, 65))


@dataclass
class World:
    chain: NodeProcess
    vox: VoxClient
    nodes: dict[str, LocalStorageNode]
    shards: dict[bytes, list[bytes]]  # object id -> its shards

    def deal(self, object_id: bytes) -> Any:
        raw = self.vox.query("/storage/deal", object_id).value
        return decode_deal(raw) if raw else None

    def provider(self, account: PrivateKey) -> Any:
        return decode_provider(self.vox.query("/storage/provider", addr(account)).value)


def addr(account: PrivateKey) -> bytes:
    return account.public_key.address


def wait_for(
    what: str, check: Callable[[], Any], timeout: float = 30.0, why: Callable[[], Any] = str
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {why()}")


def open_deal(world: World, shards: list[bytes], providers: list[PrivateKey], k: int = 1) -> bytes:
    object_id = secrets.token_bytes(32)
    header = b"header of " + object_id
    msg = MsgOpenDeal(
        owner=addr(OWNER),
        object_id=object_id,
        header_hash=hashlib.sha256(header).digest(),
        size=len(shards[0]) * k,
        shard_size=len(shards[0]),
        k=k,
        n=len(shards),
        leaf_size=LEAF,
        roots=tuple(merkle_root(s, LEAF) for s in shards),
        providers=tuple(addr(p) for p in providers),
        epochs=200,
        max_price=PRICE,
    )
    result = world.vox.execute(OWNER, [msg], gas_limit=GAS)
    assert result.code == 0, result.log
    world.shards[object_id] = shards
    return object_id


def request(
    node: LocalStorageNode,
    method: str,
    path: str,
    body: bytes = b"",
    signer: PrivateKey = OWNER,
    digest: bytes | None = None,
) -> httpx.Response:
    auth = sign_request(signer, method, path, body, int(time.time()), digest=digest)
    return httpx.request(
        method, node.url + path, content=body, headers={"authorization": auth}, timeout=10.0
    )


def put_shard(
    node: LocalStorageNode, object_id: bytes, i: int, body: bytes, root: bytes | None = None
) -> httpx.Response:
    """An upload signed over `root` (the body's own root unless given), as owners sign them."""
    digest = merkle_root(body, LEAF) if root is None else root
    return request(node, "PUT", f"/v1/objects/{object_id.hex()}/shards/{i}", body, digest=digest)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("storage")
    chain = NodeProcess.create(
        root / "chain", [(k, FUNDS) for k in (OWNER, STRANGER, A, B, C)], block_interval_ms=200
    )
    set_storage_params(chain.home.genesis_json, **PARAMS)
    # Epochs are counted in blocks: the chain makes them even with no tx to carry
    config = load_config(chain.home.config_toml)
    config.solo.create_empty_blocks = True
    config.save(chain.home.config_toml)
    chain.start()
    nodes: dict[str, LocalStorageNode] = {}
    errors: list[BaseException] = []

    def start(name: str, account: PrivateKey, capacity: str) -> None:
        try:
            nodes[name] = LocalStorageNode.start(
                root / name,
                node_url=chain.url,
                account=account,
                capacity=capacity,
                price=PRICE,
                poll_interval=0.1,
                claim_interval=1.0,
                via_cli=name == "C",  # one through `voxpop storage start`, two straight
                timeout=90.0,  # a loaded CI machine
            )
        except BaseException as exc:  # reported by the fixture below
            errors.append(exc)

    threads = [
        threading.Thread(target=start, args=args)
        for args in (("A", A, "1MiB"), ("B", B, "1MiB"), ("C", C, "20000"))
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        with VoxClient(chain.url) as vox:
            yield World(chain, vox, nodes, {})
    finally:
        for node in nodes.values():
            node.stop()
        chain.stop()


@pytest.fixture(scope="module")
def one(world: World) -> bytes:
    """Deal ONE: shard 0 with A, shard 1 with B, both uploaded."""
    shards = [secrets.token_bytes(SHARD), secrets.token_bytes(SHARD)]
    object_id = open_deal(world, shards, [A, B])
    for i, name in enumerate("AB"):
        answer = put_shard(world.nodes[name], object_id, i, shards[i])
        assert answer.status_code == 200, answer.text
        assert answer.json()["root"] == merkle_root(shards[i], LEAF).hex()
    return object_id


def error_code(answer: httpx.Response) -> str:
    code: str = answer.json()["error"]["code"]
    return code


def test_upload_is_checked_against_the_deal(world: World) -> None:
    shards = [secrets.token_bytes(SHARD), secrets.token_bytes(SHARD)]
    object_id = open_deal(world, shards, [A, B])
    a = world.nodes["A"]
    path = f"/v1/objects/{object_id.hex()}/shards/0"
    root = merkle_root(shards[0], LEAF)
    # Other bytes of the right size, signed as the deal's shard: their root is not the deal's
    wrong = put_shard(a, object_id, 0, secrets.token_bytes(SHARD), root=root)
    assert (wrong.status_code, error_code(wrong)) == (422, "root_mismatch")
    assert not (a.shards_dir / root.hex()).exists()
    assert list((a.shards_dir.parent / "tmp").iterdir()) == []  # the refused bytes are gone
    # Signed over the other bytes' own root: refused before the body is read
    unsigned_root = put_shard(a, object_id, 0, secrets.token_bytes(SHARD))
    assert (unsigned_root.status_code, error_code(unsigned_root)) == (401, "bad_auth")
    # Signed over sha256(body), as other requests are: a shard upload signs its root
    by_sha = request(a, "PUT", path, shards[0])
    assert (by_sha.status_code, error_code(by_sha)) == (401, "bad_auth")
    assert not (a.shards_dir / root.hex()).exists()
    short = put_shard(a, object_id, 0, shards[0][:-1])
    assert (short.status_code, error_code(short)) == (422, "size_mismatch")
    # Shard 1 is B's, not A's
    elsewhere = put_shard(a, object_id, 1, shards[1])
    assert (elsewhere.status_code, error_code(elsewhere)) == (403, "not_assigned")
    unknown = put_shard(a, secrets.token_bytes(32), 0, shards[0])
    assert (unknown.status_code, error_code(unknown)) == (404, "unknown_deal")
    # Only the owner may upload or read
    stranger = request(a, "PUT", path, shards[0], signer=STRANGER, digest=root)
    assert (stranger.status_code, error_code(stranger)) == (403, "not_owner")
    unsigned = httpx.put(a.url + path, content=shards[0], timeout=10.0)
    assert (unsigned.status_code, error_code(unsigned)) == (401, "missing_auth")
    assert put_shard(a, object_id, 0, shards[0]).status_code == 200
    assert put_shard(a, object_id, 0, shards[0]).json()["stored"] is False  # idempotent
    read = request(a, "GET", path)
    assert read.status_code == 200 and read.content == shards[0]
    denied = request(a, "GET", path, signer=STRANGER)
    assert (denied.status_code, error_code(denied)) == (403, "not_owner")
    # The header: only the one the deal commits to
    header_path = f"/v1/objects/{object_id.hex()}/header"
    bad = request(a, "PUT", header_path, b"another header")
    assert (bad.status_code, error_code(bad)) == (422, "header_mismatch")
    header = b"header of " + object_id
    assert request(a, "PUT", header_path, header).status_code == 200
    assert request(a, "GET", header_path).content == header
    # The node confirms the placement on chain
    wait_for("A's confirm", lambda: world.deal(object_id).placements[0].status == "active")
    assert world.deal(object_id).placements[1].status == "pending"  # B never got it


def test_node_proves_each_epoch_and_is_paid(world: World, one: bytes) -> None:
    before = world.provider(A).proven
    wait_for(
        "both placements confirmed",
        lambda: all(p.status == "active" for p in world.deal(one).placements),
    )
    # Two epochs answered (challenges drawn at each epoch's first block, proven before deadline)
    wait_for(
        "two proven epochs",
        lambda: world.provider(A).proven >= before + 2,
        timeout=40,
        why=lambda: (world.nodes["A"].status(), world.nodes["A"].log()),
    )
    assert world.provider(A).faults == 0
    status = world.nodes["A"].status()
    assert status["proofs_sent"] > 0 and status["last_proof_epoch"] > 0
    # The claimer moves the pay of the proven epochs
    wait_for("A paid on claim", lambda: world.deal(one).placements[0].paid > 0, timeout=30)
    wait_for("status shows earnings", lambda: world.nodes["A"].status()["earned"] > 0)


def test_restarted_node_still_proves(world: World, one: bytes) -> None:
    a = world.nodes["A"]
    wait_for("A active", lambda: world.deal(one).placements[0].status == "active")
    a.kill()
    world.nodes["A"] = a = a.restart(timeout=90.0)
    # The epochs while it was down may be missed (3 s epochs here); after that it proves again
    proven = world.provider(A).proven
    wait_for("a proof after the restart", lambda: world.provider(A).proven >= proven + 1, 40)
    faults = world.provider(A).faults
    wait_for("another proof", lambda: world.provider(A).proven >= proven + 2, 40)
    assert world.provider(A).faults == faults
    assert (a.shards_dir / merkle_root(world.shards[one][0], LEAF).hex()).exists()


def test_lost_shard_is_caught_at_next_challenge(world: World, one: bytes) -> None:
    b = world.nodes["B"]
    wait_for("B active", lambda: world.deal(one).placements[1].status == "active")
    (b.shards_dir / merkle_root(world.shards[one][1], LEAF).hex()).unlink()
    wait_for("B's fault", lambda: world.provider(B).faults >= 1, timeout=40)
    assert world.deal(one).placements[1].status == "repair"
    assert world.nodes["B"].status()["unanswerable"]


def test_over_capacity_is_refused(world: World) -> None:
    c = world.nodes["C"]
    first = [secrets.token_bytes(SHARD), secrets.token_bytes(SHARD)]
    closed = open_deal(world, first, [C, A])
    assert put_shard(c, closed, 0, first[0]).status_code == 200
    # The deal ends on chain: its 16 KiB shard stays on C's disk for the sweeper's grace period
    result = world.vox.execute(
        OWNER, [MsgCloseDeal(owner=addr(OWNER), object_id=closed)], gas_limit=GAS
    )
    assert result.code == 0, result.log
    second = [secrets.token_bytes(SHARD), secrets.token_bytes(SHARD)]
    object_id = open_deal(world, second, [C, A])
    full = put_shard(c, object_id, 0, second[0])
    assert (full.status_code, error_code(full)) == (507, "over_capacity")
    assert c.status()["free"] < SHARD


def test_status_command(world: World) -> None:
    home = str(world.nodes["C"].home)
    done = CliRunner().invoke(app, ["storage", "status", "--home", home, "-o", "json"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert out["serving"] is True and out["capacity"] == 20000
