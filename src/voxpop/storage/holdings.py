"""What the chain places with this node, read with proofs: its placements and their deals. The
claimer, the sweeper and the status all work from the last such reading.

The sweeper drops a stored shard (or header) no placement of this node commits to any more: its
deal closed or ended, or the shard moved to another node. It waits until the file is older than
a grace period, so a shard uploaded just after the reading it was compared with stays.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from voxpop.storage import wire
from voxpop.storage.chain import ChainLink
from voxpop.storage.shards import ShardStore

SWEEP_GRACE_SECONDS = 600.0


@dataclass(slots=True)
class Holdings:
    """The node's placements by (object id, shard index), with their deals, as of `height`."""

    placements: dict[tuple[bytes, int], wire.Placement] = field(default_factory=dict)
    deals: dict[bytes, wire.Deal] = field(default_factory=dict)
    height: int = 0
    read_at: float = 0.0
    fresh: bool = False  # a complete reading has succeeded at least once

    async def refresh(self, link: ChainLink) -> None:
        """Read every placement the chain lists for the node. Raises ChainUnavailableError
        (the previous reading stays)."""
        listed = await link.placements()
        deals: dict[bytes, wire.Deal] = {}
        placements: dict[tuple[bytes, int], wire.Placement] = {}
        for object_id, index, deal in listed:
            # Verify the deal places the shard here (the list and the deal come from one state)
            if index >= len(deal.placements):
                continue
            deals[object_id] = deal
            placement = deal.placements[index]
            if placement.provider == link.address:
                placements[(object_id, index)] = placement
        self.placements, self.deals = placements, deals
        self.height = link.last_height
        self.read_at = time.time()
        self.fresh = True

    def live_roots(self) -> set[bytes]:
        return {p.root for p in self.placements.values()}

    def live_headers(self) -> set[bytes]:
        return {d.header_hash for d in self.deals.values()}


def sweep(
    store: ShardStore,
    holdings: Holdings,
    forget: Callable[[bytes], None],
    grace: float = SWEEP_GRACE_SECONDS,
    now: float | None = None,
) -> int:
    """Drop the files no placement of the node commits to; returns how many were dropped."""
    if not holdings.fresh:
        return 0
    cutoff = (holdings.read_at if now is None else now) - grace
    dropped = 0
    live = holdings.live_roots()
    for root in store.roots():
        if root not in live and _older(store.shard_path(root).stat().st_mtime, cutoff):
            forget(root)
            store.drop_shard(root)
            dropped += 1
    headers = holdings.live_headers()
    for path in list(store.headers_dir.iterdir()):
        try:
            header_hash = bytes.fromhex(path.name)
        except ValueError:
            continue
        if header_hash not in headers and _older(path.stat().st_mtime, cutoff):
            store.drop_header(header_hash)
            dropped += 1
    return dropped


def _older(mtime: float, cutoff: float) -> bool:
    return mtime < cutoff
