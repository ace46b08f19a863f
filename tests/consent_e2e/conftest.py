"""The consent and data-market world of real processes, shared by the module: one solo node, six
storage nodes (`voxpop storage start`) and three privacy nodes (`voxpop privacy start`, price 10
uvox per re-encryption, paid through channels), an owner with 23 labelled utterances (20 that
the policy may sell under the test offer: each holds a canary) and a buyer.

The genesis lists the `reencrypt` service kind and holds no sale payment (dispute_seconds = 0)
nor a settle window (settle_seconds = 0), so a sale is paid in the block after its Settle and the
offer closes as soon as its last grant has ended.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.market import BUYER, PRIVACY_KEYS, set_market_genesis, start_privacy_nodes
from tests.support.vault import OWNER, STORAGE_KEYS, STORAGE_PARAMS, init_chain, start_storage_nodes
from voxpop.cli.main import app
from voxpop.client import VoxClient
from voxpop.client.consent import label_object
from voxpop.client.storage import DataVault, PutPolicy
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring
from voxpop.privacy.testing import LocalPrivacyNode
from voxpop.storage.testing import LocalStorageNode

NODE_PRICE = 10


@dataclass(frozen=True)
class Utterance:
    object_id: bytes
    data: bytes
    canary: bytes
    sellable: bool  # what the policy may sell under the test offer


@dataclass
class MarketWorld:
    root: Path
    node: LocalNode
    storage: list[LocalStorageNode]
    privacy: list[LocalPrivacyNode]
    owner_home: Path
    buyer_home: Path
    vox: VoxClient
    vault: DataVault
    utterances: list[Utterance]

    def cli(self, home: Path, *args: str, chain: bool = True, ok: bool = True) -> dict[str, Any]:
        """`voxpop ARGS... -o json` in-process with `home`'s test keyring (`chain`: with
        --node); the parsed output."""
        argv = [*args, "--home", str(home), "--keyring-backend", "test", "-o", "json"]
        if chain:
            argv += ["--node", self.node.url]
        result = CliRunner().invoke(app, argv)
        if ok:
            assert result.exit_code == 0, f"voxpop {' '.join(args)}: {result.output}"
        out: dict[str, Any] = json.loads(result.stdout)
        return out


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.2)


def make_utterances(vault: DataVault) -> list[Utterance]:
    """23 labelled objects: 20 English utterances of 3 s (sellable), one tagged location, one in
    German, one 90 s long (none of these three matches the policy and the offer)."""
    specs: list[dict[str, Any]] = [{"language": "en", "seconds": 3, "tags": ()}] * 20
    specs += [
        {"language": "en", "seconds": 3, "tags": ("location",)},
        {"language": "de", "seconds": 3, "tags": ()},
        {"language": "en", "seconds": 90, "tags": ()},
    ]
    out = []
    for i, spec in enumerate(specs):
        canary = b"CANARY-UTTERANCE-" + os.urandom(8).hex().encode()
        data = canary + os.urandom(2_000)
        put = vault.put(data, f"u{i:02}.wav", PutPolicy(k=4, n=6, epochs=50, wait_confirm=False))
        label_object(vault.index, put.object_id, data, kind="utterance", **spec)
        out.append(Utterance(put.object_id, data, canary, i < 20))
    return out


@pytest.fixture(scope="module")
def market_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarketWorld]:
    root = tmp_path_factory.mktemp("market")
    init_chain(root / "chain", [OWNER, BUYER, *STORAGE_KEYS[:6], *PRIVACY_KEYS], STORAGE_PARAMS)
    set_market_genesis(root / "chain" / "config" / "genesis.json")
    node = LocalNode.start(root / "chain")
    storage: list[LocalStorageNode] = []
    privacy: list[LocalPrivacyNode] = []
    try:
        # Storage and privacy nodes start at once (each registers on chain)
        with ThreadPoolExecutor(max_workers=2) as pool:
            stored = pool.submit(start_storage_nodes, root, node.url, STORAGE_KEYS[:6])
            holding = pool.submit(start_privacy_nodes, root, node.url, PRIVACY_KEYS, NODE_PRICE)
            storage = stored.result()
            privacy = holding.result()
        owner_home, buyer_home = root / "owner", root / "buyer"
        Keyring(owner_home / "keyring", "test").import_seed("owner", OWNER.seed)
        Keyring(buyer_home / "keyring", "test").import_seed("buyer", BUYER.seed)
        with VoxClient(node.url) as vox, DataVault(vox, OWNER, owner_home) as vault:
            # The grantee's Umbral key must be in the key directory (fragments re-encrypt to it)
            assert vox.publish_keys(BUYER).code == 0
            utterances = make_utterances(vault)
            yield MarketWorld(
                root, node, storage, privacy, owner_home, buyer_home, vox, vault, utterances
            )
    finally:
        for p in privacy:
            p.stop()
        for s in storage:
            s.stop()
        node.stop()
