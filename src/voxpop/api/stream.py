"""The live feed of blocks and committed txs, for Server-Sent Events and WebSocket clients.

Each item is (kind, id, data): kind "block" carries the block's header, hash and signature (fetch
the txs from /v1/blocks/{height}); kind "tx" carries the committed tx with its result.

One `StreamHub` per API reads the node's events once, serializes each event once, and hands the
same bytes to every subscriber. The number of feeds is bounded per client and in total; a
subscriber still more than `max_queue` events behind when a new block comes is dropped rather
than making the node buffer for it. A feed ends when the client goes away, is dropped, or the
server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Collection
from typing import Any, Final

from pydantic import BaseModel
from sse_starlette import ServerSentEvent

from voxpop.api.errors import STREAMS_FULL, TOO_MANY_STREAMS, ApiError
from voxpop.api.models import BlockHeaderModel, block_model, tx_record_model
from voxpop.node.service import NodeEvent, NodeService

log = logging.getLogger("voxpop.api")

KINDS = frozenset({"block", "tx"})

DEFAULT_MAX_SUBSCRIBERS: Final = 256  # live feeds (SSE + WebSocket) open at once, all clients
DEFAULT_MAX_SUBSCRIBERS_PER_CLIENT: Final = 8  # live feeds open at once from one client address
DEFAULT_QUEUE_EVENTS: Final = 10_000  # events a subscriber may be behind at a new block, or dropped

# Why a feed ended (Subscription.ended)
ENDED_SHUTDOWN: Final = "shutdown"
ENDED_TOO_SLOW: Final = "too_slow"
ENDED_CLOSED: Final = "closed"  # the client went away
ENDED_SOURCE: Final = "source_ended"  # the node stopped publishing (e.g. it is stopping)


class BlockHeadModel(BaseModel):
    """A block event: enough to follow and verify the chain without its txs."""

    height: int
    hash: str
    header: BlockHeaderModel
    signature: str
    signer_pub_key: str


def event_payload(event: NodeEvent) -> tuple[str, str, dict[str, Any]] | None:
    """(kind, id, JSON data) of a node event; None for events the API does not publish."""
    if event.kind == "block" and event.block is not None:
        block = block_model(event.block)
        head = BlockHeadModel(
            height=event.height,
            hash=block.hash,
            header=block.header,
            signature=block.signature,
            signer_pub_key=block.signer_pub_key,
        )
        return "block", str(event.height), head.model_dump(mode="json")
    if event.kind == "tx" and event.tx is not None:
        record = tx_record_model(event.tx)
        return "tx", f"{event.height}:{event.tx.index}", record.model_dump(mode="json")
    return None


class StreamItem:
    """One published event, serialized once; each wire form is built once, on first use."""

    __slots__ = ("_sse", "_ws", "data_json", "id", "kind")

    def __init__(self, kind: str, event_id: str, data: dict[str, Any]) -> None:
        self.kind = kind
        self.id = event_id
        self.data_json = json.dumps(data, separators=(",", ":"))
        self._ws: str | None = None
        self._sse: bytes | None = None

    def ws_text(self) -> str:
        """The WebSocket message: {"event", "id", "data"}."""
        if self._ws is None:
            head = json.dumps({"event": self.kind, "id": self.id}, separators=(",", ":"))
            self._ws = f'{head[:-1]},"data":{self.data_json}}}'
        return self._ws

    def sse_bytes(self) -> bytes:
        """The Server-Sent Event, encoded."""
        if self._sse is None:
            self._sse = ServerSentEvent(data=self.data_json, event=self.kind, id=self.id).encode()
        return self._sse


class StreamEndedError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Subscription:
    """One client's feed: a bounded queue the hub fills and the client's handler drains."""

    def __init__(self, client: str, kinds: Collection[str], max_queue: int) -> None:
        self.client = client
        self.kinds = frozenset(kinds)
        self.max_queue = max_queue
        self.ended: str | None = None
        self._items: deque[StreamItem] = deque()
        self._ready = asyncio.Event()
        self._deadline: asyncio.Timeout | None = None
        self._waiting = False  # the handler waits in next(), where `_ready` wakes it

    @property
    def backlog(self) -> int:
        return len(self._items)

    def offer(self, item: StreamItem) -> None:
        """Queue `item` if this feed wants its kind."""
        if item.kind in self.kinds and self.ended is None:
            self._items.append(item)
            self._ready.set()

    def end(self, reason: str) -> None:
        """End the feed: its handler stops at once, even if blocked writing to a slow client."""
        if self.ended is not None:
            return
        self.ended = reason
        self._items.clear()
        self._ready.set()
        if self._deadline is not None and not self._waiting:
            # The handler is busy elsewhere, likely blocked writing: interrupt it
            self._deadline.reschedule(asyncio.get_running_loop().time())

    @contextlib.asynccontextmanager
    async def delivering(self) -> AsyncIterator[None]:
        """Around the handler's send loop: `end()` interrupts whatever the loop is waiting on.
        The block exits quietly when the feed has ended that way."""
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(None) as deadline:
                    self._deadline = deadline
                    if self.ended is not None:
                        deadline.reschedule(asyncio.get_running_loop().time())
                    yield
        finally:
            self._deadline = None

    async def next(self, wait: float | None = None) -> StreamItem | None:
        """The next item; None if nothing came within `wait` seconds (time for a keep-alive).

        Raises StreamEndedError once the feed has ended.
        """
        while not self._items:
            if self.ended is not None:
                raise StreamEndedError(self.ended)
            self._ready.clear()
            self._waiting = True
            try:
                async with asyncio.timeout(wait):
                    await self._ready.wait()
            except TimeoutError:
                return None
            finally:
                self._waiting = False
        return self._items.popleft()


class StreamHub:
    """Every live feed of one API: one reader of the node's events, fanned out to subscribers.

    The reader runs only while someone subscribes.
    """

    def __init__(
        self,
        node: NodeService,
        *,
        max_subscribers: int = DEFAULT_MAX_SUBSCRIBERS,
        max_per_client: int = DEFAULT_MAX_SUBSCRIBERS_PER_CLIENT,
        max_queue: int = DEFAULT_QUEUE_EVENTS,
    ) -> None:
        self.node = node
        self.max_subscribers = max_subscribers
        self.max_per_client = max_per_client
        self.max_queue = max_queue
        self._subscribers: set[Subscription] = set()
        self._per_client: dict[str, int] = {}
        self._reader: asyncio.Task[None] | None = None
        self._closed = False
        self.dropped = 0  # subscribers dropped for falling behind, since start

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def subscribe(self, client: str, kinds: Collection[str]) -> Subscription:
        """A new feed for `client` (its address). Raises ApiError 429 `too_many_streams` if the
        client has its share open, 503 `streams_full` if the node has."""
        # Verify the node is still serving feeds and has room for one more
        if self._closed or len(self._subscribers) >= self.max_subscribers:
            err = ApiError(
                503, STREAMS_FULL, f"the node serves at most {self.max_subscribers} live feeds"
            )
            err.headers = {"Retry-After": "5"}
            raise err
        # Verify this client has room for one more
        if self._per_client.get(client, 0) >= self.max_per_client:
            raise ApiError(
                429,
                TOO_MANY_STREAMS,
                f"at most {self.max_per_client} live feeds per client; close one first",
            )
        sub = Subscription(client, kinds, self.max_queue)
        self._subscribers.add(sub)
        self._per_client[client] = self._per_client.get(client, 0) + 1
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="voxpop-api-stream")
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget `sub` (its handler is done with it); the last one out stops the reader."""
        sub.end(ENDED_CLOSED)
        if sub not in self._subscribers:
            return
        self._subscribers.discard(sub)
        left = self._per_client[sub.client] - 1
        if left:
            self._per_client[sub.client] = left
        else:
            del self._per_client[sub.client]
        if not self._subscribers and self._reader is not None:
            self._reader.cancel()
            self._reader = None

    def close(self) -> None:
        """End every feed and refuse new ones (the server is stopping)."""
        self._closed = True
        for sub in list(self._subscribers):
            sub.end(ENDED_SHUTDOWN)
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None

    def publish(self, item: StreamItem) -> None:
        """Queue `item` for every subscriber. When a block starts, first drop each subscriber
        still more than `max_queue` events behind: a block's events are queued whole, so a
        queue holds at most `max_queue` plus one block's events (items shared by every queue)."""
        for sub in list(self._subscribers):
            if item.kind == "block" and sub.backlog > sub.max_queue:
                self.dropped += 1
                log.warning(
                    "live feed of %s dropped: more than %d events behind", sub.client, sub.max_queue
                )
                sub.end(ENDED_TOO_SLOW)
                continue
            sub.offer(item)

    async def _read(self) -> None:
        try:
            read = 0
            async for event in self.node.subscribe():
                payload = event_payload(event)
                if payload is not None:
                    self.publish(StreamItem(*payload))
                read += 1
                if read % 64 == 0:
                    await asyncio.sleep(0)  # a big block's events: let requests run in between
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the node's event feed failed; ending the live feeds")
        # The node stopped publishing: end every feed (clients reconnect)
        for sub in list(self._subscribers):
            sub.end(ENDED_SOURCE)
