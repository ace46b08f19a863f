"""Fetching the fastest k shards of an object, each verified against its on-chain root.

Requests go out to k nodes at once (preferring placements the chain reports active, and among
them the data shards, which decode by a copy); each answer is checked (size, Merkle root) as it
arrives, and a failed or wrong one starts a request to the next node. A download still running
when STRAGGLER_FACTOR times the fastest one's time has passed gets up to `hedge` requests to
further nodes beside it (hedging from the start would move a fifth of the bytes more on every
read, on a client that is often CPU-bound), and once k shards verify the downloads still running
are cancelled. A node that sends a shard that does not match its root is treated as one that did
not answer: the object is read as long as k honest nodes answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from voxpop.client.storage.chainview import DealView, Placement
from voxpop.client.storage.errors import DataError, ShardFetchError
from voxpop.client.storage.transport import Cancelled, StorageNodes
from voxpop.crypto.merkle import RootBuilder, merkle_root

DEFAULT_HEDGE = 1
STRAGGLER_FACTOR = 1.5  # a download this many times slower than the fastest one gets a hedge
# Read first from the placements the chain trusts most
_STATUS_ORDER = {"active": 0, "pending": 1, "repair": 2}


@dataclass
class Fetched:
    """The verified shards by index: as bytes, or (read with `arrivals`) where they were
    received, as `buffers` (a 16 MiB copy each saved: the reader decrypts them in place)."""

    shards: dict[int, bytes] = field(default_factory=dict)
    problems: dict[int, str] = field(default_factory=dict)  # shard index -> why it was not used
    buffers: dict[int, memoryview] = field(default_factory=dict)

    def count(self) -> int:
        return len(self.shards) + len(self.buffers)

    def keep(self, index: int, shard: bytes | memoryview) -> None:
        if isinstance(shard, memoryview):
            self.buffers[index] = shard
        else:
            self.shards[index] = shard

    def as_bytes(self) -> dict[int, bytes]:
        """Every shard as bytes (buffers copied)."""
        return {**self.shards, **{i: v.tobytes() for i, v in self.buffers.items()}}


class Abandoned(Exception):  # a signal between threads, not an error
    """A shard a reader waits on will not arrive whole (failed, cancelled, or the read ended)."""


class Arrivals:
    """The shards of one read as their bytes arrive, for a reader that works on the `needed` ones
    before they are whole (and before their roots are checked: what it makes is used only once
    they are).

    A download thread calls `arrived` after each read and `failed` if it stops; the reader calls
    `wait(index, end)` for the buffer of shard `index` once its first `end` bytes are in, and
    gives up (Abandoned) once any needed shard failed or the read is over."""

    def __init__(self, needed: Collection[int]) -> None:
        self._needed = frozenset(needed)
        self._ready = threading.Condition()
        self._views: dict[int, memoryview] = {}
        self._filled: dict[int, int] = {}
        self._over = False  # a needed shard failed, or the read ended
        self._waiting: tuple[int, int] | None = None  # what the reader waits for: wake it then

    def arrived(self, index: int, view: memoryview, filled: int) -> None:
        with self._ready:
            self._views[index], self._filled[index] = view, filled
            waiting = self._waiting
            if waiting is not None and waiting[0] == index and filled >= waiting[1]:
                self._ready.notify_all()

    def failed(self, index: int) -> None:
        if index in self._needed:
            self.close()

    def close(self) -> None:
        """The read is over: a reader still waiting for bytes gives up."""
        with self._ready:
            self._over = True
            self._ready.notify_all()

    def wait(self, index: int, end: int) -> memoryview:
        """Shard `index`'s buffer once `end` bytes of it are in. Raises Abandoned."""
        with self._ready:
            while self._filled.get(index, 0) < end:
                if self._over:
                    raise Abandoned
                self._waiting = (index, end)
                self._ready.wait()
            self._waiting = None
            return self._views[index]


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
    arrivals: Arrivals | None = None,
) -> Fetched:
    """`want` (default k) verified shards of `deal`, by index. Raises ShardFetchError when fewer
    than `want` could be fetched and verified (the problems of each node are in the message).

    `arrivals`: the owner's read, told of each shard's bytes as they arrive (each shard's root
    is then hashed as it arrives too)."""
    want = deal.k if want is None else want
    queue = [p for p in readable(deal) if p.index not in skip and p.provider in endpoints]
    out = Fetched()
    for p in deal.placements:
        if p.index not in skip and (p.status not in _STATUS_ORDER or p.provider not in endpoints):
            out.problems[p.index] = f"not readable ({p.status}, provider listed: "
            out.problems[p.index] += f"{p.provider in endpoints})"
    cancel = threading.Event()

    def one(p: Placement) -> bytes | memoryview:
        try:
            shard, root = fetch(p.index, endpoints[p.provider])
            # Verify the shard is the one the chain committed to: its size, then its Merkle root
            if len(shard) != deal.shard_size:
                raise ShardFetchError(f"{len(shard)} bytes, the deal says {deal.shard_size}")
            if root != p.root:
                raise ShardFetchError("does not match its on-chain root")
        except BaseException:
            if arrivals is not None:
                arrivals.failed(p.index)
            raise
        if on_bytes is not None:
            on_bytes(len(shard))
        return shard

    def fetch(index: int, endpoint: str) -> tuple[bytes | memoryview, bytes]:
        """The shard and its root (hashed as it arrives when a reader is told of it)."""
        if arrivals is None:
            shard = nodes.get_shard(endpoint, deal.object_id, index, deal.shard_size, cancel)
            return shard, merkle_root(shard, deal.leaf_size) if shard else b""
        hashing = RootBuilder(deal.leaf_size)
        hashed = 0

        def watch(buffer: memoryview, filled: int) -> None:
            nonlocal hashed
            hashing.feed(buffer[hashed:filled])
            hashed = filled
            arrivals.arrived(index, buffer, filled)

        view = nodes.get_shard_watched(
            endpoint, deal.object_id, index, deal.shard_size, cancel, watch
        )
        if not view:
            return view, b""
        # A body of no announced length was not watched: its root is hashed now
        if hashed != len(view):
            return view, merkle_root(view.tobytes(), deal.leaf_size)
        return view, hashing.root()

    with ThreadPoolExecutor(max_workers=max(1, min(len(queue), want + hedge))) as pool:
        running: dict[Future[bytes | memoryview], Placement] = {}
        started = time.monotonic()
        hedge_at: float | None = None  # when the stragglers get their hedges (after a first)
        extra = 0  # requests allowed beyond those still needed: `hedge` once hedging started

        def start_more() -> None:
            while queue and len(running) < want - out.count() + extra:
                p = queue.pop(0)
                running[pool.submit(one, p)] = p

        start_more()
        while running and out.count() < want:
            timeout = None
            if hedge_at is not None and extra < hedge:
                timeout = max(0.0, hedge_at - time.monotonic())
            done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:  # the stragglers' time is up: hedge them
                extra = hedge
            for fut in done:
                p = running.pop(fut)
                try:
                    out.keep(p.index, fut.result())
                except Cancelled:
                    continue
                except DataError as exc:
                    out.problems[p.index] = exc.message
                    continue
                if hedge_at is None:
                    hedge_at = started + (time.monotonic() - started) * STRAGGLER_FACTOR
            if out.count() < want:
                start_more()
        cancel.set()
    if out.count() < want:
        detail = "; ".join(f"shard {i}: {why}" for i, why in sorted(out.problems.items()))
        raise ShardFetchError(
            f"object {deal.object_id.hex()}: {out.count()} of the {want} shards needed "
            f"could be read and verified ({detail})"
        )
    # Keep exactly `want`: hedged downloads may have finished together
    kept = sorted([*out.shards, *out.buffers])[:want]
    out.shards = {i: s for i, s in out.shards.items() if i in kept}
    out.buffers = {i: v for i, v in out.buffers.items() if i in kept}
    return out
