"""The data vault's end-to-end world: one real solo node and six real storage node processes
(`voxpop storage start`), shared by the module; a seventh node is started by the repair test.

Small storage params make an epoch 1 s (10 blocks of 100 ms), so a fault is judged within
seconds. The owner's key sits in a test keyring in its own home, where the sealed name index
lives; `data_cli` runs `voxpop data ...` in-process exactly as the owner would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from voxpop.chain.modules.storage.module import StorageModule
from voxpop.cli.main import app
from voxpop.client import VoxClient
from voxpop.client.storage import DataVault
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring, encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.storage.testing import LocalStorageNode

OWNER = PrivateKey(bytes([51]) * 32)
STORAGE_KEYS = [PrivateKey(bytes([60 + i]) * 32) for i in range(8)]
FUNDS = 10**13
COLLATERAL = 1_000_000_000
START_TIMEOUT = 120.0  # six Python processes starting at once on a busy 2-core machine
STORAGE_PARAMS = {
    "epoch_blocks": 10,
    "proof_deadline_blocks": 6,
    "challenges_per_epoch": 16,
    "leaf_size": 4096,
    "min_collateral": 1_000_000,
    "slash_fraction_bps": 500,
    "confirm_blocks": 5,
    "max_shard_size": 1 << 30,
    "max_n": 32,
}


def init_chain(home: Path, storage_keys: list[PrivateKey], params: dict[str, int]) -> None:
    """`voxpop node init` funding the owner and the storage accounts, then the small params."""
    funds = {encode_address(k.public_key.address): FUNDS for k in [OWNER, *storage_keys]}
    LocalNode.init_home(home, funds=funds, block_interval_ms=100)
    path = home / "config" / "genesis.json"
    genesis = json.loads(path.read_text())
    storage = genesis["app_state"].setdefault("storage", StorageModule().default_genesis())
    storage["params"] = params
    path.write_text(json.dumps(genesis))


def start_storage_nodes(
    root: Path, chain_url: str, keys: list[PrivateKey], first: int = 0, capacity: str = "2GiB"
) -> list[LocalStorageNode]:
    """One storage node per key (homes storage<first>, ...), started in parallel (each
    registers on chain)."""

    def one(i: int) -> LocalStorageNode:
        return LocalStorageNode.start(
            root / f"storage{first + i}",
            node_url=chain_url,
            account=keys[i],
            capacity=capacity,
            collateral=COLLATERAL,
            timeout=START_TIMEOUT,
        )

    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        return list(pool.map(one, range(len(keys))))


@dataclass
class VaultWorld:
    root: Path
    node: LocalNode
    storage: list[LocalStorageNode]
    owner_home: Path
    vox: VoxClient
    vault: DataVault
    extra: list[LocalStorageNode] = field(default_factory=list)

    def data_cli(self, *args: str) -> dict[str, Any]:
        """`voxpop data ARGS... -o json` as the owner; the parsed output (exit 0 asserted)."""
        argv = [
            "data",
            *args,
            "--home",
            str(self.owner_home),
            "--keyring-backend",
            "test",
            "--node",
            self.node.url,
            "-o",
            "json",
        ]
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 0, f"voxpop {' '.join(args)}: {result.output}"
        out: dict[str, Any] = json.loads(result.stdout)
        return out

    def all_nodes(self) -> list[LocalStorageNode]:
        return [*self.storage, *self.extra]

    def by_address(self, address: bytes) -> LocalStorageNode:
        for i, key in enumerate(STORAGE_KEYS):
            if key.public_key.address == address:
                return self.all_nodes()[i]
        raise KeyError(address.hex())


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def vault_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VaultWorld]:
    root = tmp_path_factory.mktemp("vault")
    init_chain(root / "chain", STORAGE_KEYS, STORAGE_PARAMS)
    node = LocalNode.start(root / "chain")
    storage: list[LocalStorageNode] = []
    try:
        storage = start_storage_nodes(root, node.url, STORAGE_KEYS[:6])
        owner_home = root / "owner"
        Keyring(owner_home / "keyring", "test").import_seed("owner", OWNER.seed)
        with VoxClient(node.url) as vox, DataVault(vox, OWNER, owner_home) as vault:
            world = VaultWorld(root, node, storage, owner_home, vox, vault)
            yield world
            storage = world.all_nodes()
    finally:
        for s in storage:
            s.stop()
        node.stop()
