"""A data-vault world of real processes, shared by tests/storage_e2e and bench/storage.py: a solo
node whose genesis funds the owner and the storage accounts and sets the storage params, and
storage nodes (`voxpop storage start`) started in parallel.

The test params make an epoch 6 s (40 blocks of 150 ms, empty blocks on: epochs are counted in
blocks) with 4.5 s to prove (a busy machine's nodes need it), so a fault is judged within
seconds.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from voxpop.client.testing import LocalNode
from voxpop.crypto import encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.node.config import NodeConfig
from voxpop.storage.devnet import set_storage_params
from voxpop.storage.testing import LocalStorageNode

OWNER = PrivateKey(bytes([51]) * 32)
STORAGE_KEYS = [PrivateKey(bytes([60 + i]) * 32) for i in range(8)]
FUNDS = 10**13
COLLATERAL = 1_000_000_000
BLOCK_MS = 150
START_TIMEOUT = 120.0  # six Python processes starting at once on a busy 2-core machine
STORAGE_PARAMS = {
    "epoch_blocks": 40,
    "proof_deadline_blocks": 30,
    "challenges_per_epoch": 16,
    "leaf_size": 1024,
    "min_collateral": 1_000_000,
    "slash_fraction_bps": 500,
    "confirm_blocks": 5,
    "max_shard_size": 1 << 30,
    "max_n": 32,
}


def init_chain(
    home: Path,
    funded: list[PrivateKey],
    params: dict[str, int],
    *,
    block_ms: int = BLOCK_MS,
    empty_blocks: bool = True,
) -> None:
    """`voxpop node init` funding these accounts, then the storage params."""

    def configure(config: NodeConfig) -> None:
        # Epochs are counted in blocks: without empty blocks a quiet chain's epochs never end
        config.solo.create_empty_blocks = empty_blocks

    funds = {encode_address(k.public_key.address): FUNDS for k in funded}
    LocalNode.init_home(home, funds=funds, block_interval_ms=block_ms, configure=configure)
    set_storage_params(home / "config" / "genesis.json", **params)


def start_storage_nodes(
    root: Path,
    chain_url: str,
    keys: list[PrivateKey],
    first: int = 0,
    capacity: str = "2GiB",
    poll_interval: float = 0.2,
    claim_interval: float = 1.0,
) -> list[LocalStorageNode]:
    """One storage node per key (homes storage<first>, ...), started in parallel (each
    registers on chain), looking at the chain at the tests' short intervals unless given."""

    def one(i: int) -> LocalStorageNode:
        return LocalStorageNode.start(
            root / f"storage{first + i}",
            node_url=chain_url,
            account=keys[i],
            capacity=capacity,
            collateral=COLLATERAL,
            timeout=START_TIMEOUT,
            poll_interval=poll_interval,
            claim_interval=claim_interval,
        )

    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        return list(pool.map(one, range(len(keys))))
