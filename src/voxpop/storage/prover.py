"""The challenge answerer: once per epoch, read this node's challenges and answer all of them in
one `storage/Prove` tx, before the epoch's proof deadline.

A challenge names a placement (object id, shard index) and a leaf; the answer is the leaf's bytes
and its Merkle audit path in the shard's tree. Trees are built from the shard file (memory-mapped:
the pages belong to the file, not the heap) and kept in a small cache by root, so a shard
challenged again in a later epoch is not hashed again.

A shard the node no longer has cannot be answered: the node sends the answers it can (the chain
still counts the epoch as missed, but a partial answer costs nothing more) and records the loss,
which `status` shows.
"""

from __future__ import annotations

import asyncio
import mmap
from collections import OrderedDict
from dataclasses import dataclass, field

from voxpop.chain.modules.storage.messages import MAX_PROOFS, MsgProve
from voxpop.crypto.merkle import MerkleError, MerkleTree, verify_path
from voxpop.storage import wire
from voxpop.storage.chain import ChainLink, ChainUnavailableError, TxFailedError
from voxpop.storage.shards import ShardStore

TREE_CACHE_LEAVES = 1 << 20  # about 64 MiB of hashes at most (64 bytes a leaf)

MAX_ATTEMPTS = 3
# (object id, shard index, leaf index, leaf bytes, audit path): one answer of a Prove
Proof = tuple[bytes, int, int, bytes, tuple[bytes, ...]]


@dataclass(slots=True)
class ProverStats:
    last_proven_epoch: int = -1
    proofs_sent: int = 0
    proof_txs: int = 0
    missing: list[str] = field(default_factory=list)  # "object_id:index" it could not answer
    errors: int = 0
    last_error: str = ""


class TreeCache:
    """MerkleTrees by shard root, least recently used dropped past a total leaf count."""

    def __init__(self, store: ShardStore, max_leaves: int = TREE_CACHE_LEAVES) -> None:
        self.store = store
        self.max_leaves = max_leaves
        self._trees: OrderedDict[bytes, tuple[MerkleTree, mmap.mmap]] = OrderedDict()
        self._leaves = 0

    def tree(self, root: bytes, leaf_size: int) -> MerkleTree | None:
        """The shard's tree, or None if the shard is not held (or its bytes no longer match)."""
        held = self._trees.get(root)
        # Verify the file is still there: a cached map would outlive a deleted file's name, and
        # the node must not prove what it no longer keeps
        if held is not None and not self.store.has_shard(root):
            self._evict(root)
            return None
        if held is not None:
            self._trees.move_to_end(root)
            return held[0]
        mapped = self.store.map_shard(root)
        if mapped is None:
            return None
        try:
            tree = MerkleTree(mapped, leaf_size)  # type: ignore[arg-type]  # any buffer will do
        except MerkleError:
            mapped.close()
            return None
        # Verify the file still holds the committed bytes (a damaged file proves nothing)
        if tree.root != root:
            mapped.close()
            return None
        self._trees[root] = (tree, mapped)
        self._leaves += tree.leaf_count
        while self._leaves > self.max_leaves and len(self._trees) > 1:
            self._evict(next(iter(self._trees)))
        return tree

    def forget(self, root: bytes) -> None:
        if root in self._trees:
            self._evict(root)

    def _evict(self, root: bytes) -> None:
        tree, mapped = self._trees.pop(root)
        self._leaves -= tree.leaf_count
        del tree
        mapped.close()

    def close(self) -> None:
        for root in list(self._trees):
            self._evict(root)


class Prover:
    def __init__(self, link: ChainLink, store: ShardStore, cache: TreeCache) -> None:
        self.link = link
        self.store = store
        self.cache = cache
        self.stats = ProverStats()
        self._roots: dict[bytes, tuple[bytes, ...]] = {}
        self._failures: dict[int, int] = {}

    async def tick(self, params: wire.Params, height: int) -> int:
        """Answer the current epoch's challenges if not done yet; returns proofs sent."""
        epoch = height // params.epoch_blocks
        deadline = epoch * params.epoch_blocks + params.proof_deadline_blocks
        # Verify there is something new to do and time left to do it
        if epoch <= self.stats.last_proven_epoch or height >= deadline:
            return 0
        challenges = await self.link.challenges(epoch)
        asked = [] if challenges is None else _unproven(challenges)
        if not asked:
            # Nothing asked of this node this epoch (or all answered before a restart)
            self.stats.last_proven_epoch = epoch
            return 0
        roots = await self.roots({object_id for object_id, _, _ in asked})
        proofs, missing = await asyncio.to_thread(self.answer, asked, roots, params.leaf_size)
        self.stats.missing = missing
        sent = 0
        for batch in _batches(proofs):
            msg = MsgProve(provider=self.link.address, epoch=epoch, proofs=tuple(batch))
            size = sum(wire.proof_size(p[3], p[4]) for p in batch)
            await self.link.send([msg], gas=wire.prove_gas(len(batch), size))
            sent += len(batch)
            self.stats.proof_txs += 1
        self.stats.proofs_sent += sent
        self.stats.last_proven_epoch = epoch
        return sent

    async def roots(self, object_ids: set[bytes]) -> dict[bytes, tuple[bytes, ...]]:
        """The shard roots of these deals (a deal's roots never change: read once, kept)."""
        for object_id in sorted(object_ids - self._roots.keys()):
            deal = await self.link.deal(object_id)
            if deal is not None:
                self._roots[object_id] = tuple(p.root for p in deal.placements)
        return self._roots

    def answer(
        self,
        asked: list[tuple[bytes, int, int]],
        roots: dict[bytes, tuple[bytes, ...]],
        leaf_size: int,
    ) -> tuple[list[Proof], list[str]]:
        """The proofs for every challenge the node can answer, and the ones it cannot."""
        proofs: list[Proof] = []
        missing = []
        for object_id, shard_index, leaf_index in asked:
            deal_roots = roots.get(object_id, ())
            tree = None
            if shard_index < len(deal_roots):
                tree = self.cache.tree(deal_roots[shard_index], leaf_size)
            if tree is None or not 0 <= leaf_index < tree.leaf_count:
                missing.append(f"{object_id.hex()}:{shard_index}")
                continue
            leaf, path = tree.leaf(leaf_index), tuple(tree.path(leaf_index))
            root = deal_roots[shard_index]
            # Verify the answer before sending it: bytes changed on disk since the tree was built
            # would fail the whole tx on chain, the good answers with it
            if not verify_path(root, leaf, leaf_index, tree.leaf_count, path):
                self.cache.forget(root)
                missing.append(f"{object_id.hex()}:{shard_index}")
                continue
            proofs.append((object_id, shard_index, leaf_index, leaf, path))
        return proofs, missing

    async def safe_tick(self, params: wire.Params, height: int) -> None:
        """tick(), recording failures; an epoch whose proofs the chain refused MAX_ATTEMPTS times
        is given up (each refused tx in a block still pays its fee)."""
        epoch = height // params.epoch_blocks
        try:
            await self.tick(params, height)
        except ChainUnavailableError as exc:
            self._error(exc)
        except TxFailedError as exc:
            self._error(exc)
            self._failures[epoch] = self._failures.get(epoch, 0) + 1
            if self._failures[epoch] >= MAX_ATTEMPTS:
                self.stats.last_proven_epoch = max(self.stats.last_proven_epoch, epoch)
                self._failures.clear()

    def _error(self, exc: Exception) -> None:
        self.stats.errors += 1
        self.stats.last_error = str(exc)


def _unproven(challenges: wire.Challenges) -> list[tuple[bytes, int, int]]:
    """The challenges not proven yet (a restart may come after some were)."""
    if challenges.judged:
        return []
    pairs = zip(challenges.items, challenges.proven, strict=True)
    return [item for item, done in pairs if not done]


def _batches(proofs: list[Proof]) -> list[list[Proof]]:
    """Proofs cut into Prove txs within the tx size budget and the message's proof limit."""
    out: list[list[Proof]] = []
    size = 0
    for proof in proofs:
        cost = wire.proof_size(proof[3], proof[4])
        if not out or len(out[-1]) >= MAX_PROOFS or size + cost > wire.PROVE_TX_BUDGET:
            out.append([])
            size = 0
        out[-1].append(proof)
        size += cost
    return out
