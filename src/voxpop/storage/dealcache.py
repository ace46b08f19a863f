"""One proven deal read per object for the requests that arrive together.

An owner uploads an object's header and its shard to a node at once, and reads them back at
once: without this, each request reads the deal with a proof from the chain node (a query, a
light-client header check, a decode). The cache shares one read among concurrent requests and
keeps its answer while it is current: read at the newest chain height this node has seen (any
later proven read or status moves that height and so drops every entry read before it) and at
most `max_age` seconds old (a quiet node that reads nothing else still re-reads within that).

A stale entry can only make the node act on a deal as it was a block ago: a shard taken for a
deal that just ended is dropped by the holdings sweep, and a Confirm of a placement already
confirmed is skipped by the confirmer's check. Absent deals (None) are not kept: an owner
uploads right after its OpenDeal commits, and must not be refused on a read from before it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from voxpop.storage import wire

MAX_ENTRIES = 256  # objects whose deal is kept: a few hundred small records
MAX_AGE = 1.0  # seconds an entry is used at most, whatever the height


@dataclass(frozen=True, slots=True)
class _Entry:
    height: int
    at: float
    deal: wire.Deal


class DealCache:
    """`get(object_id)` is `read(object_id)`, shared and remembered while current."""

    def __init__(
        self,
        read: Callable[[bytes], Awaitable[wire.Deal | None]],
        height: Callable[[], int],
        *,
        max_entries: int = MAX_ENTRIES,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._height = height
        self._max_entries = max_entries
        self._max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._inflight: dict[bytes, asyncio.Future[wire.Deal | None]] = {}
        self.reads = 0  # proven reads made (the rest were answered here)

    async def get(self, object_id: bytes) -> wire.Deal | None:
        entry = self._entries.get(object_id)
        if entry is not None and self._current(entry):
            return entry.deal
        waiting = self._inflight.get(object_id)
        if waiting is not None:
            return await asyncio.shield(waiting)
        future: asyncio.Future[wire.Deal | None] = asyncio.get_running_loop().create_future()
        self._inflight[object_id] = future
        try:
            self.reads += 1
            deal = await self._read(object_id)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning if nobody waited
            raise
        finally:
            del self._inflight[object_id]
        future.set_result(deal)
        if deal is None:
            self._entries.pop(object_id, None)
        else:
            self._put(object_id, _Entry(self._height(), self._clock(), deal))
        return deal

    def forget(self, object_id: bytes) -> None:
        self._entries.pop(object_id, None)

    def _current(self, entry: _Entry) -> bool:
        return entry.height >= self._height() and self._clock() - entry.at <= self._max_age

    def _put(self, object_id: bytes, entry: _Entry) -> None:
        self._entries[object_id] = entry
        self._entries.move_to_end(object_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
