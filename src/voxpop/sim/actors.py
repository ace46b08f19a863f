"""The simulation's actors, their keys, and the shards storage nodes prove.

Keys come from the seed (sha256 of the seed, the role and the index), so a seed names one world.
A shard here is `2^m` equal leaves: its Merkle root and every leaf's audit path take m hashes, so a
node can hold and prove gibibytes without keeping them. The chain checks real RFC 6962 proofs
against the root it was given, exactly as for any shard; only the bytes are cheap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.merkle import hash_leaf, hash_node


def actor_key(seed: int, role: str, index: int) -> PrivateKey:
    return PrivateKey(hashlib.sha256(f"voxpop-sim/{seed}/{role}/{index}".encode()).digest())


@dataclass(slots=True)
class Channel:
    channel_id: bytes
    payer: PrivateKey
    payee: Payee
    deposit: int
    spent: int = 0  # the cumulative voucher the household has signed


@dataclass(slots=True)
class Household:
    index: int
    key: PrivateKey
    address: bytes
    join_day: int
    hour: int  # the block of the day it acts in
    opts_stt: bool
    opts_storage: bool
    stores: bool
    skill: int
    state: str = "waiting"  # waiting, claimed, active
    channels: dict[str, Channel] = field(default_factory=dict)
    skill_uses: int = 0  # used, not yet settled
    payee: Payee | None = None  # as a server of STT
    storage: StorageNode | None = None  # as a storage server
    deal: bytes | None = None
    deal_end_epoch: int = 0
    spend_month: int = 0  # uvox of calls and royalties this month
    bought_month: int = 0  # uvox bought this month
    sold_offer: bytes = b""  # the last data offer it answered
    data_month: int = 0  # uvox of data sales paid to it this month


@dataclass(slots=True)
class Payee:
    """A seller of paid calls: a dedicated provider or a household that serves."""

    index: int
    key: PrivateKey
    address: bytes
    kind: str
    price: int
    cost: int  # stated cost per call
    capacity: int  # calls per day it can take (0: unbounded)
    household: bool
    load: int = 0  # expected calls per day routed to it
    channels: list[Channel] = field(default_factory=list)
    claimed: dict[bytes, int] = field(default_factory=dict)  # channel id -> claimed so far
    calls_month: int = 0
    income_month: int = 0


@dataclass(slots=True)
class StorageNode:
    index: int
    key: PrivateKey
    address: bytes
    capacity: int  # bytes
    household: bool
    used: int = 0
    to_confirm: list[tuple[bytes, int]] = field(default_factory=list)
    placements: int = 0
    income_month: int = 0


@dataclass(slots=True)
class Deal:
    owner: Household
    nodes: list[StorageNode]
    shard_size: int
    escrow: int  # per shard
    end_epoch: int


def shard_leaf(object_id: bytes, shard: int, leaf_size: int) -> bytes:
    block = hashlib.sha256(b"voxpop-sim/shard" + object_id + bytes([shard])).digest()
    return (block * (leaf_size // 32 + 1))[:leaf_size]


def uniform_tree(leaf: bytes, levels: int) -> tuple[bytes, list[bytes]]:
    """(root, audit path of any leaf) of the tree of 2^levels copies of `leaf`."""
    node = hash_leaf(leaf)
    path = []
    for _ in range(levels):
        path.append(node)
        node = hash_node(node, node)
    return node, path
