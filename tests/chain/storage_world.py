"""A small storage world for the storage module's tests: four providers, two owners, real shards
with real Merkle trees, and tiny epochs (20 blocks, deadline at 12).

Every tx goes in its own block (the harness's `deliver`), so a test steers the height exactly:
`to_offset` moves to a given block of an epoch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.chain.harness import Chain, key
from voxpop.chain.genesis import default_app_state
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.storage import state
from voxpop.chain.modules.storage.module import StorageModule
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.merkle import MerkleTree

PROVIDER_KEYS = [key(80 + i) for i in range(4)]
PROVIDERS = [k.public_key.address for k in PROVIDER_KEYS]
OWNER_KEYS = [key(90), key(91)]
OWNERS = [k.public_key.address for k in OWNER_KEYS]
START = 10_000_000
GAS = 400_000
FEE = AuthParams().min_fee(GAS)
PARAMS = state.StorageParams(
    epoch_blocks=20,
    proof_deadline_blocks=12,
    challenges_per_epoch=4,
    leaf_size=64,
    min_collateral=1_000,
    slash_fraction_bps=500,
    confirm_blocks=3,
    max_shard_size=4_096,
    max_n=6,
)
PRICE = 1 << 30  # 1 uvox per byte-epoch: escrow = shard_size * epochs
SHARD_SIZE = 300  # 5 leaves of 64 bytes, the last 44
CAPACITY = 2_000
COLLATERAL = 100_000


def shard_bytes(object_id: bytes, index: int, size: int = SHARD_SIZE) -> bytes:
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(object_id + bytes([index]) + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:size]


@dataclass
class World:
    chain: Chain
    params: state.StorageParams = PARAMS
    shards: dict[tuple[bytes, int], bytes] = field(default_factory=dict)
    trees: dict[tuple[bytes, int], MerkleTree] = field(default_factory=dict)

    @classmethod
    def start(cls, path: Path, params: state.StorageParams = PARAMS) -> World:
        app_state = default_app_state([(a, START) for a in [*PROVIDERS, *OWNERS]])
        app_state["storage"] = {**StorageModule().default_genesis(), "params": params.to_value()}
        return cls(Chain.start(path, app_state=app_state), params)

    # --- txs ---------------------------------------------------------------------------------

    def send(self, signer: PrivateKey, type_: str, value: dict[str, Any]) -> int:
        """Deliver one message in its own block; its result code."""
        result = self.chain.deliver(self.chain.tx(signer, [(type_, value)], gas_limit=GAS))
        return result.code

    def register(self, i: int, capacity: int = CAPACITY, price: int = PRICE) -> int:
        value = {
            "provider": PROVIDERS[i],
            "endpoint": f"http://127.0.0.1:{7000 + i}",
            "capacity": capacity,
            "price": price,
            "collateral": COLLATERAL,
        }
        return self.send(PROVIDER_KEYS[i], "storage/Register", value)

    def deal_msg(
        self, owner: int, object_id: bytes, providers: list[int], epochs: int = 5, k: int = 2
    ) -> dict[str, Any]:
        roots = []
        for i in range(len(providers)):
            data = shard_bytes(object_id, i)
            tree = MerkleTree(data, self.params.leaf_size)
            self.shards[object_id, i] = data
            self.trees[object_id, i] = tree
            roots.append(tree.root)
        return {
            "owner": OWNERS[owner],
            "object_id": object_id,
            "header_hash": hashlib.sha256(b"header" + object_id).digest(),
            "size": SHARD_SIZE * k - 7,
            "shard_size": SHARD_SIZE,
            "k": k,
            "n": len(providers),
            "leaf_size": self.params.leaf_size,
            "roots": roots,
            "providers": [PROVIDERS[p] for p in providers],
            "epochs": epochs,
            "max_price": PRICE,
        }

    def open_deal(self, owner: int, object_id: bytes, providers: list[int], **kw: Any) -> int:
        return self.send(
            OWNER_KEYS[owner], "storage/OpenDeal", self.deal_msg(owner, object_id, providers, **kw)
        )

    def confirm(self, i: int, placements: list[tuple[bytes, int]]) -> int:
        value = {"provider": PROVIDERS[i], "placements": [list(p) for p in placements]}
        return self.send(PROVIDER_KEYS[i], "storage/Confirm", value)

    def proofs(self, i: int, epoch: int) -> list[list[Any]]:
        """Answers to every challenge of provider i in `epoch`, from the shards it was given."""
        challenges = self.challenges(i, epoch)
        assert challenges is not None
        out = []
        for object_id, shard_index, leaf_index in sorted(set(challenges.items)):
            tree = self.trees[object_id, shard_index]
            out.append(
                [object_id, shard_index, leaf_index, tree.leaf(leaf_index), tree.path(leaf_index)]
            )
        return out

    def prove(self, i: int, epoch: int, proofs: list[list[Any]] | None = None) -> int:
        value = {
            "provider": PROVIDERS[i],
            "epoch": epoch,
            "proofs": self.proofs(i, epoch) if proofs is None else proofs,
        }
        return self.send(PROVIDER_KEYS[i], "storage/Prove", value)

    # --- time ----------------------------------------------------------------------------------

    @property
    def next_height(self) -> int:
        return self.chain.app.last_height + 1

    def to_height(self, height: int) -> None:
        """Run empty blocks until the next block is `height`."""
        assert height >= self.next_height, (height, self.next_height)
        while self.next_height < height:
            self.chain.block([])

    def to_offset(self, epoch: int, offset: int) -> None:
        self.to_height(epoch * self.params.epoch_blocks + offset)

    @property
    def epoch(self) -> int:
        """The epoch of the next block."""
        return self.next_height // self.params.epoch_blocks

    # --- reads ---------------------------------------------------------------------------------

    def deal(self, object_id: bytes) -> state.Deal | None:
        raw = self.chain.query("/storage/deal", object_id)
        return state.decode_deal(raw) if raw else None

    def provider(self, i: int) -> state.Provider | None:
        raw = self.chain.query("/storage/provider", PROVIDERS[i])
        return state.decode_provider(raw) if raw else None

    def challenges(self, i: int, epoch: int) -> state.Challenges | None:
        raw = self.chain.query("/storage/challenges", PROVIDERS[i] + state.u64(epoch))
        return state.decode_challenges(raw) if raw else None

    def storage_state(self) -> dict[bytes, bytes]:
        return dict(self.chain.app.committed.iterate(state.PREFIX))
