"""The devnet's storage nodes: `voxpop devnet up` runs DEVNET_STORAGE_NODES of them (enough for
the default k=4 of n=6), each a child process with its own home under `DEVNET/storage/<i>`, its
own account (`storage-<i>` in the devnet keyring, funded from the dev account) and port
DEVNET_STORAGE_PORT + i. A new devnet's genesis has short storage epochs (DEVNET_STORAGE_PARAMS),
so a quick start sees its shards challenged, proven and paid within a minute.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from voxpop.chain.modules.storage.state import StorageParams
from voxpop.crypto import Keyring
from voxpop.crypto.keys import PrivateKey
from voxpop.storage.testing import LocalStorageNode

DEVNET_STORAGE_NODES = 6
DEVNET_STORAGE_PORT = 7700
DEVNET_STORAGE_CAPACITY = "4GiB"
DEVNET_STORAGE_PRICE = 1_000  # uvox per GiB per epoch
DEVNET_STORAGE_COLLATERAL = 200_000_000  # 200 VOX (the module's min_collateral is 100 VOX)
DEVNET_STORAGE_FUNDS = 300_000_000  # the collateral and a year of proof and claim fees
# 1 s blocks: 10 s epochs, proofs due 6 s into each
DEVNET_STORAGE_PARAMS = {
    "epoch_blocks": 10,
    "proof_deadline_blocks": 6,
    "challenges_per_epoch": 8,
    "confirm_blocks": 30,
}


def storage_genesis(**params: int) -> dict[str, Any]:
    """The storage module's genesis section with these params over the defaults."""
    return {
        "params": StorageParams(**params).to_value(),
        "providers": [],
        "deals": [],
        "active": [],
        "challenges": [],
        "faults": [],
    }


def set_storage_params(genesis_json: Path, **params: int) -> None:
    """Put these storage params into a genesis file not yet started from (others kept)."""
    doc = json.loads(genesis_json.read_text())
    doc.setdefault("app_state", {})["storage"] = storage_genesis(**params)
    tmp = genesis_json.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    tmp.replace(genesis_json)


def storage_key_name(index: int) -> str:
    return f"storage-{index}"


def storage_accounts(
    devnet_keyring: Keyring, count: int = DEVNET_STORAGE_NODES
) -> list[PrivateKey]:
    """The storage nodes' account keys, made in the devnet's test keyring on first use."""
    keys = []
    for i in range(count):
        name = storage_key_name(i)
        if not devnet_keyring.has(name):
            devnet_keyring.add(name)
        keys.append(devnet_keyring.load_private_key(name))
    return keys


def start_devnet_storage(
    devnet_root: Path, node_url: str, account: PrivateKey, index: int, port: int
) -> LocalStorageNode:
    """Run `voxpop storage start` for node `index` (it registers itself on first start).
    Raises LocalStorageNodeError, OSError."""
    return LocalStorageNode.start(
        devnet_root / "storage" / str(index),
        node_url=node_url,
        account=account,
        capacity=DEVNET_STORAGE_CAPACITY,
        price=DEVNET_STORAGE_PRICE,
        collateral=DEVNET_STORAGE_COLLATERAL,
        port=port,
        poll_interval=0.5,
        claim_interval=10.0,
        timeout=60.0,
        via_cli=False,
    )
