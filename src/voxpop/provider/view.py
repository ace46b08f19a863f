"""The provider's view of its channels: each one read from the node with a proof the light client
verified, kept in memory, refreshed in the background.

The view may be served from while the node is unreachable, because no channel can end faster
than its settle window: a channel seen open at wall time T cannot be gone before T + the settle
window, and a settling one not before its `settle_at`. `is_servable` keeps a margin below both.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import cbor2

from voxpop.crypto.vouchers import CHANNEL_ID_SIZE

# The chain refuses a settle window under an hour (channels' min_settle_seconds): a channel seen
# open cannot end sooner than this, whatever the chain's current parameter.
MIN_SETTLE_SECONDS = 3_600
DEFAULT_SERVE_MARGIN = 600  # stop serving this long before a channel could end
UNKNOWN_TTL = 2.0  # an unknown channel id is asked again only after this many seconds
MAX_UNKNOWN = 4_096  # unknown ids remembered (the oldest forgotten first)
MAX_PENDING_LOADS = 64  # channel reads queued for the node at once; more are refused


class ViewUnavailableError(Exception):
    """The node could not be reached (or its answer did not verify) and the view has nothing
    fresh enough to go on."""


class ViewBusyError(ViewUnavailableError):
    """Too many channel reads are already waiting for the node (e.g. a flood of made-up ids)."""


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """A channel as the chain holds it (the channels module's record)."""

    channel_id: bytes
    payer: bytes
    payee: bytes
    voucher_key: bytes
    deposit: int
    claimed: int
    settle_at: int  # 0: open; else the block time its settle window ends
    opened_at: int

    @classmethod
    def from_state(cls, channel_id: bytes, raw: bytes) -> ChannelInfo:
        """Decode the channels module's state value (a CBOR map). Raises ValueError."""
        try:
            value: Any = cbor2.loads(raw)
            return cls(
                channel_id,
                bytes(value["payer"]),
                bytes(value["payee"]),
                bytes(value["voucher_key"]),
                int(value["deposit"]),
                int(value["claimed"]),
                int(value["settle_at"]),
                int(value["opened_at"]),
            )
        except (cbor2.CBORDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a channel record: {exc!r}") from None


@dataclass(frozen=True, slots=True)
class Fetched:
    """One verified answer: the channel (None: no such channel) at `height`."""

    info: ChannelInfo | None
    height: int


# Reads one channel from the node with a verified proof; raises ViewUnavailableError.
ChannelFetcher = Callable[[bytes], Awaitable[Fetched]]


@dataclass(slots=True)
class Entry:
    info: ChannelInfo | None
    seen_at: float  # wall time (unix seconds) of the verified read
    height: int


class ChannelView:
    """Verified channel records by id, fetched on first use and refreshed by `refresh_all`."""

    def __init__(
        self,
        fetch: ChannelFetcher,
        *,
        serve_margin: int = DEFAULT_SERVE_MARGIN,
        settle_floor: int = MIN_SETTLE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._fetch = fetch
        self.serve_margin = serve_margin
        self.settle_floor = settle_floor
        self.clock = clock
        self.entries: dict[bytes, Entry] = {}  # channels seen on chain (info None: ended since)
        self._unknown: OrderedDict[bytes, Entry] = OrderedDict()  # ids never seen on chain
        self.last_height = 0
        self.node_reachable = True
        self.last_error = ""
        self._pending: dict[bytes, asyncio.Future[Entry]] = {}

    def get(self, channel_id: bytes) -> Entry | None:
        """The entry as last verified, if still worth using without asking the node again."""
        entry = self.entries.get(channel_id)
        if entry is not None:
            return entry
        entry = self._unknown.get(channel_id)
        if entry is not None and self.clock() - entry.seen_at <= UNKNOWN_TTL:
            return entry
        return None

    async def load(self, channel_id: bytes) -> Entry:
        """Read the channel from the node now (one read shared by concurrent callers).

        Raises ViewUnavailableError if the node cannot be reached or its answer does not verify.
        """
        pending = self._pending.get(channel_id)
        if pending is not None:
            return await asyncio.shield(pending)
        # Verify the node is not already flooded with reads (each is a proven query)
        if len(self._pending) >= MAX_PENDING_LOADS:
            raise ViewBusyError("too many channel reads in flight")
        future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        self._pending[channel_id] = future
        try:
            entry = await self._read(channel_id)
        except ViewUnavailableError as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waits
            raise
        finally:
            del self._pending[channel_id]
        future.set_result(entry)
        return entry

    async def _read(self, channel_id: bytes) -> Entry:
        try:
            fetched = await self._fetch(channel_id)
        except ViewUnavailableError as exc:
            self.node_reachable = False
            self.last_error = str(exc)
            raise
        self.node_reachable = True
        self.last_error = ""
        self.last_height = max(self.last_height, fetched.height)
        entry = Entry(fetched.info, self.clock(), fetched.height)
        if fetched.info is not None or channel_id in self.entries:
            self.entries[channel_id] = entry
            self._unknown.pop(channel_id, None)
        else:
            self._unknown[channel_id] = entry
            self._unknown.move_to_end(channel_id)
            while len(self._unknown) > MAX_UNKNOWN:
                self._unknown.popitem(last=False)
        return entry

    async def refresh_all(self) -> None:
        """Read every known channel again (top-ups, claims, settle windows). A failure leaves the
        old entries in place and marks the node unreachable."""
        for channel_id, entry in list(self.entries.items()):
            if entry.info is None:
                continue
            try:
                await self.load(channel_id)
            except ViewUnavailableError:
                return

    def closing_reason(self, entry: Entry) -> str | None:
        """Why a known channel must not be served now (None: it may be)."""
        info = entry.info
        assert info is not None
        now = self.clock()
        # Verify the channel cannot have ended since it was seen (the view may be old)
        if now >= entry.seen_at + self.settle_floor - self.serve_margin:
            return "the provider's view of this channel is too old to serve from"
        # Verify a settling channel is not within the margin of its end
        if info.settle_at and now >= info.settle_at - self.serve_margin:
            return "the channel is settling and its settle window ends too soon"
        return None

    def servable_from_old_view(self) -> bool:
        """True while the node is unreachable and calls are served from the last verified view."""
        return not self.node_reachable and bool(self.entries)


def check_channel_id(raw: bytes) -> bool:
    return len(raw) == CHANNEL_ID_SIZE
