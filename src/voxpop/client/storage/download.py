"""Fetching the fastest k shards of an object, each verified against its on-chain root.

Requests go out to k + `hedge` nodes at once (preferring placements the chain reports active);
each answer is checked (size, Merkle root) as it arrives, a failed or wrong one starts a request to
the next node, and once k shards verify the downloads still running are cancelled. A node that
sends a shard that does not match its root is treated as one that did not answer: the object is
read as long as k honest nodes answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from voxpop.client.storage.chainview import DealView, Placement
from voxpop.client.storage.errors import DataError, ShardFetchError
from voxpop.client.storage.transport import Cancelled, StorageNodes
from voxpop.crypto.merkle import merkle_root

DEFAULT_HEDGE = 1
# Read first from the placements the chain trusts most
_STATUS_ORDER = {"active": 0, "pending": 1, "repair": 2}


@dataclass
class Fetched:
    shards: dict[int, bytes] = field(default_factory=dict)
    problems: dict[int, str] = field(default_factory=dict)  # shard index -> why it was not used


def readable(deal: DealView) -> list[Placement]:
    """The placements worth asking, best first (a `gone` provider left: nothing to ask)."""
    usable = [p for p in deal.placements if p.status in _STATUS_ORDER]
    return sorted(usable, key=lambda p: (_STATUS_ORDER[p.status], p.index))


def fetch_shards(
    nodes: StorageNodes,
    deal: DealView,
    endpoints: Mapping[bytes, str],
    *,
    want: int | None = None,
    skip: Sequence[int] = (),
    hedge: int = DEFAULT_HEDGE,
    on_bytes: Callable[[int], None] | None = None,
) -> Fetched:
    """`want` (default k) verified shards of `deal`, by index. Raises ShardFetchError when fewer
    than `want` could be fetched and verified (the problems of each node are in the message)."""
    want = deal.k if want is None else want
    queue = [p for p in readable(deal) if p.index not in skip and p.provider in endpoints]
    out = Fetched()
    for p in deal.placements:
        if p.index not in skip and (p.status not in _STATUS_ORDER or p.provider not in endpoints):
            out.problems[p.index] = f"not readable ({p.status}, provider listed: "
            out.problems[p.index] += f"{p.provider in endpoints})"
    cancel = threading.Event()

    def one(p: Placement) -> bytes:
        shard = nodes.get_shard(
            endpoints[p.provider], deal.object_id, p.index, deal.shard_size, cancel
        )
        # Verify the shard is the one the chain committed to: its size, then its Merkle root
        if len(shard) != deal.shard_size:
            raise ShardFetchError(f"{len(shard)} bytes, the deal says {deal.shard_size}")
        if merkle_root(shard, deal.leaf_size) != p.root:
            raise ShardFetchError("does not match its on-chain root")
        if on_bytes is not None:
            on_bytes(len(shard))
        return shard

    with ThreadPoolExecutor(max_workers=max(1, min(len(queue), want + hedge))) as pool:
        running: dict[Future[bytes], Placement] = {}

        def start_more() -> None:
            while queue and len(running) < want + hedge - len(out.shards):
                p = queue.pop(0)
                running[pool.submit(one, p)] = p

        start_more()
        while running and len(out.shards) < want:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                p = running.pop(fut)
                try:
                    out.shards[p.index] = fut.result()
                except Cancelled:
                    pass
                except DataError as exc:
                    out.problems[p.index] = exc.message
            if len(out.shards) < want:
                start_more()
        cancel.set()
    if len(out.shards) < want:
        detail = "; ".join(f"shard {i}: {why}" for i, why in sorted(out.problems.items()))
        raise ShardFetchError(
            f"object {deal.object_id.hex()}: {len(out.shards)} of the {want} shards needed "
            f"could be read and verified ({detail})"
        )
    # Keep exactly `want`: hedged downloads may have finished together
    kept = dict(sorted(out.shards.items())[:want])
    out.shards = kept
    return out
