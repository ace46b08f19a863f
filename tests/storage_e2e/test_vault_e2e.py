"""The data vault end to end, with real processes: put and get byte-exact (1 byte, a file across
the 8 MiB stripe boundary, a policy), the privacy canary over every node's bytes, a node that
deletes a shard caught at its challenge, slashed, and the shard rebuilt onto a seventh node by
`voxpop data repair`, a shard altered on its node not used, then kill -9 of n - k nodes with
every object still read back byte-exact.

The tests run in file order on one module-wide world (tests/storage_e2e/conftest.py)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.storage_e2e.conftest import VaultWorld, wait_until
from tests.support.canary import bytes_scanned, scan
from tests.support.vault import START_TIMEOUT, STORAGE_KEYS, start_storage_nodes
from voxpop.client.storage import PutPolicy, ShardFetchError
from voxpop.client.storage.chainview import fetch_deal, fetch_provider
from voxpop.client.storage.download import fetch_shards

pytestmark = pytest.mark.slow

CANARY = "CANARY" + secrets.token_hex(8).upper()
STRIPE = 8 * 1024 * 1024


@dataclass(frozen=True)
class Stored:
    object_id: bytes
    name: str
    data: bytes


@dataclass(frozen=True)
class Recorder:
    """A Progress that keeps every report."""

    seen: list[tuple[str, int, int]]

    def __call__(self, phase: str, done: int, total: int) -> None:
        self.seen.append((phase, done, total))


@pytest.fixture(scope="module")
def stored(vault_world: VaultWorld, tmp_path_factory: pytest.TempPathFactory) -> list[Stored]:
    """Four objects: two put through the CLI (a 1-byte file; the owner's policy, with the canary
    in its name and content), two through the client (a small note with the canary; random bytes
    over one stripe)."""
    files = tmp_path_factory.mktemp("files")
    out = []
    one = files / "one.bin"
    one.write_bytes(b"\x42")
    policy_name = f"policy-{CANARY}.json"
    policy = files / policy_name
    policy.write_text(json.dumps({"share_with": [], "label": CANARY, "retain_days": 30}))
    for path in (one, policy):
        put = vault_world.data_cli("put", str(path))
        assert put["confirmed"] and put["failed_uploads"] == {}
        out.append(Stored(bytes.fromhex(put["id"]), path.name, path.read_bytes()))
    note = f"kitchen transcript {CANARY} set a timer".encode() * 50
    big = os.urandom(STRIPE + 12_345)
    for name, data in ((f"note-{CANARY}.txt", note), ("big.bin", big)):
        seen: list[tuple[str, int, int]] = []
        result = vault_world.vault.put(data, name, PutPolicy(k=4, n=6, epochs=50), Recorder(seen))
        assert result.confirmed and not result.failed
        out.append(Stored(result.object_id, name, data))
        # Progress: every phase in order, each ending done; upload counts every shard byte
        phases = list(dict.fromkeys(phase for phase, _, _ in seen))
        assert phases == ["encrypt", "commit", "upload", "confirm"]
        assert seen[-1] == ("confirm", 6, 6)
        uploads = [(d, t) for phase, d, t in seen if phase == "upload"]
        assert uploads[-1] == (6 * result.shard_size, 6 * result.shard_size)
        assert [d for d, _ in uploads] == sorted(d for d, _ in uploads)
    return out


def test_put_get_byte_exact(vault_world: VaultWorld, stored: list[Stored], tmp_path: Path) -> None:
    for s in stored:
        assert vault_world.vault.get(s.object_id) == s.data, s.name
    # The CLI by name, into a file; and the listing names every object from the local index
    target = tmp_path / "back.bin"
    got = vault_world.data_cli("get", "big.bin", "--file", str(target))
    assert got["size"] == len(stored[3].data) and target.read_bytes() == stored[3].data
    listed = {o["id"]: o for o in vault_world.data_cli("ls")["objects"]}
    assert {s.object_id.hex(): s.name for s in stored} == {i: o["name"] for i, o in listed.items()}
    status = vault_world.data_cli("status", stored[3].object_id.hex())
    assert status["live"] == 6 and all(p["reachable"] for p in status["placements"])


def test_privacy_canary_is_in_no_node_bytes(vault_world: VaultWorld, stored: list[Stored]) -> None:
    """Objects, file names and the policy carry the canary; no chain state, block store, storage
    shard or header file, log or config of any node holds it in any encoding."""
    roots = [vault_world.node.home, *(s.home for s in vault_world.all_nodes())]
    hits = scan(roots, {"canary": CANARY.encode()})
    assert hits == {"canary": []}
    shard_dirs = [s.shards_dir for s in vault_world.all_nodes()]
    assert bytes_scanned(shard_dirs) >= sum(len(s.data) for s in stored)
    # The owner's own index holds the names, sealed
    assert scan([vault_world.owner_home / "vault"], {"canary": CANARY.encode()}) == {"canary": []}
    assert any(s.name.startswith("policy-") for s in stored)


def test_deleted_shard_is_caught_slashed_and_repaired(
    vault_world: VaultWorld, stored: list[Stored]
) -> None:
    target = stored[3]
    vox = vault_world.vox
    deal = fetch_deal(vox, target.object_id)
    assert deal is not None
    placement = deal.placements[0]
    culprit = vault_world.by_address(placement.provider)
    before = fetch_provider(vox, placement.provider)
    assert before is not None
    # The node loses the shard (stopped first: a running node proves from its mapped copy)
    culprit.stop()
    (culprit.shards_dir / placement.root.hex()).unlink()
    vault_world.storage[vault_world.storage.index(culprit)] = culprit.restart(START_TIMEOUT)

    def marked() -> bool:
        d = fetch_deal(vox, target.object_id)
        return d is not None and d.placements[0].status == "repair"

    wait_until(marked, 40, "the lost shard is caught at a challenge")
    after = fetch_provider(vox, placement.provider)
    assert after is not None
    assert after.faults > before.faults and after.collateral < before.collateral
    # A seventh node joins; `voxpop data repair` rebuilds the shard onto it (storage/Replace)
    vault_world.extra += start_storage_nodes(
        vault_world.root, vault_world.node.url, STORAGE_KEYS[6:7], first=6
    )
    repaired = vault_world.data_cli("repair", target.object_id.hex())["objects"]
    assert [r["id"] for r in repaired] == [target.object_id.hex()]
    assert "0" in repaired[0]["repaired"]
    new = fetch_deal(vox, target.object_id)
    assert new is not None
    seventh = STORAGE_KEYS[6].public_key.address
    assert new.placements[0].provider == seventh
    assert new.placements[0].root == placement.root  # rebuilt byte-exact
    wait_until(
        lambda: (
            (d := fetch_deal(vox, target.object_id)) is not None
            and d.placements[0].status == "active"
        ),
        30,
        "the new node confirms the rebuilt shard",
    )
    assert vault_world.vault.get(target.object_id) == target.data


def test_a_shard_that_does_not_match_its_root_is_not_used(vault_world: VaultWorld) -> None:
    """A node serving altered bytes (one flipped bit, same length) is treated as one that did not
    answer: the get reads the object from the others, byte-exact."""
    data = os.urandom(300_000)
    put = vault_world.vault.put(data, "flip.bin", PutPolicy(k=4, n=6, epochs=20))
    deal = fetch_deal(vault_world.vox, put.object_id)
    assert deal is not None
    first = deal.placements[0]
    path = vault_world.by_address(first.provider).shards_dir / first.root.hex()
    with path.open("r+b") as f:  # in place: the node's mapped copy sees it too
        f.seek(1234)
        byte = f.read(1)
        f.seek(1234)
        f.write(bytes([byte[0] ^ 1]))
    assert vault_world.vault.get(put.object_id) == data
    # Asked for all six, the client reads five: the altered one is refused for its root
    with pytest.raises(ShardFetchError, match="5 of the 6") as refused:
        fetch_shards(vault_world.vault.nodes, deal, vault_world.vault.endpoints(), want=6)
    assert "shard 0: does not match its on-chain root" in refused.value.message


def test_kill_n_minus_k_nodes_every_object_reads_back(
    vault_world: VaultWorld, stored: list[Stored]
) -> None:
    """kill -9 two of the nodes (n - k = 2) that hold a shard of every object: each is still
    read byte-exact from the four left."""
    holders = []
    for s in stored:
        deal = fetch_deal(vault_world.vox, s.object_id)
        assert deal is not None
        holders.append({p.provider for p in deal.placements})
    common = set.intersection(*holders)
    victims = sorted(common)[:2]
    assert len(victims) == 2
    for address in victims:
        vault_world.by_address(address).kill()
    for s in stored:
        assert vault_world.vault.get(s.object_id) == s.data, s.name


def test_rm_closes_the_deal_and_forgets_the_name(
    vault_world: VaultWorld, stored: list[Stored]
) -> None:
    one = stored[0]
    owner = vault_world.vault.owner
    before = vault_world.vox.balance(owner)
    removed = vault_world.data_cli("rm", one.name)
    assert removed == {"id": one.object_id.hex(), "removed": True, "tx_hash": removed["tx_hash"]}
    assert fetch_deal(vault_world.vox, one.object_id) is None
    assert one.object_id.hex() not in {o["id"] for o in vault_world.data_cli("ls")["objects"]}
    assert vault_world.vault.index.get(one.object_id.hex()) is None
    # The unearned escrow came back (more than the tx's fee: six placements' worth of epochs)
    assert vault_world.vox.balance(owner) > before - 100_000
