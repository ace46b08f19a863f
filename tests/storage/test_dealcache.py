"""The storage node's deal cache: one proven read shared by the requests of one object, dropped
once the chain moves on or the entry ages, never keeping an absent deal or a failed read."""

from __future__ import annotations

import asyncio

import pytest

from voxpop.storage import wire
from voxpop.storage.chain import ChainUnavailableError
from voxpop.storage.dealcache import DealCache

OID = b"\x01" * 32


class Chain:
    """A reader counting its reads; `height` moves as blocks come."""

    def __init__(self) -> None:
        self.height = 10
        self.reads = 0
        self.deal: wire.Deal | None = None
        self.fail = False

    async def read(self, object_id: bytes) -> wire.Deal | None:
        self.reads += 1
        await asyncio.sleep(0.01)
        if self.fail:
            raise ChainUnavailableError("down")
        return self.deal


def _deal() -> wire.Deal:
    # Any record serves: the cache never looks inside
    return object.__new__(wire.Deal)


def test_concurrent_requests_share_one_read() -> None:
    chain, now = Chain(), [0.0]
    chain.deal = _deal()
    cache = DealCache(chain.read, lambda: chain.height, clock=lambda: now[0])

    async def run() -> None:
        got = await asyncio.gather(*(cache.get(OID) for _ in range(5)))
        assert all(d is chain.deal for d in got)
        assert chain.reads == 1
        await cache.get(OID)  # still current: same height, young
        assert chain.reads == 1
        chain.height = 11  # a newer block was seen: read again
        await cache.get(OID)
        assert chain.reads == 2
        now[0] = 5.0  # too old, whatever the height
        await cache.get(OID)
        assert chain.reads == 3

    asyncio.run(run())


def test_absent_and_failed_reads_are_not_kept() -> None:
    chain = Chain()
    cache = DealCache(chain.read, lambda: chain.height)

    async def run() -> None:
        assert await cache.get(OID) is None
        chain.deal = _deal()
        assert await cache.get(OID) is chain.deal  # the deal committed since: seen at once
        cache.forget(OID)
        chain.fail = True
        with pytest.raises(ChainUnavailableError):
            await asyncio.gather(cache.get(OID), cache.get(OID))
        assert chain.reads == 3

    asyncio.run(run())


def test_bounded() -> None:
    chain = Chain()
    chain.deal = _deal()
    cache = DealCache(chain.read, lambda: chain.height, max_entries=2)

    async def run() -> None:
        for i in range(3):
            await cache.get(bytes([i]) * 32)
        await cache.get(b"\x00" * 32)  # the oldest was evicted
        assert chain.reads == 4

    asyncio.run(run())
