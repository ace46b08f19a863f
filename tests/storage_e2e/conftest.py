"""The data vault's end-to-end world: one real solo node and six real storage node processes
(`voxpop storage start`), shared by the module; a seventh node is started by the repair test.

Small storage params (tests/support/vault.py) make a fault judged within seconds. The owner's key
sits in a test keyring in its own home, where the sealed name index lives; `data_cli` runs
`voxpop data ...` in-process exactly as the owner would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.vault import (
    OWNER,
    STORAGE_KEYS,
    STORAGE_PARAMS,
    init_chain,
    start_storage_nodes,
)
from voxpop.cli.main import app
from voxpop.client import VoxClient
from voxpop.client.storage import DataVault
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring
from voxpop.storage.testing import LocalStorageNode


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
    init_chain(root / "chain", [OWNER, *STORAGE_KEYS], STORAGE_PARAMS)
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
