"""The durable store of the best voucher the provider holds for each channel.

A voucher's amount is cumulative, so per channel only the highest one matters: it is what a claim
pays. The store is an append-only log of fixed-size records, each with a CRC; replaying it and
keeping the highest amount per channel gives the best vouchers back after a crash. A torn record at
the tail (a crash mid-write) fails its CRC and is dropped: it was never acknowledged.

Group commit: `record()` queues a voucher and waits; one flusher task writes everything queued,
fsyncs once (in a thread, so the event loop keeps taking requests that form the next batch) and
then wakes every waiter of that batch. Many concurrent calls share one fsync; none is answered
before its voucher is on disk.

Record: channel id (32) ‖ amount u64 BE ‖ signature (64) ‖ crc32 u32 BE of the 104 bytes before.
"""

from __future__ import annotations

import asyncio
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from voxpop.crypto.vouchers import CHANNEL_ID_SIZE, Voucher

_BODY = struct.Struct(f">{CHANNEL_ID_SIZE}sQ64s")
_CRC = struct.Struct(">I")
RECORD_SIZE = _BODY.size + _CRC.size
LOG_NAME = "vouchers.log"
COMPACT_BYTES = 64 * 1024 * 1024  # rewrite the log with one record per channel past this size


class LedgerClosedError(Exception):
    """The ledger was closed (the server is stopping): the voucher was not made durable."""


@dataclass(slots=True)
class LedgerStats:
    records: int = 0  # vouchers written since opening
    flushes: int = 0  # fsyncs since opening (records / flushes = the mean batch size)
    compactions: int = 0


def encode_record(voucher: Voucher) -> bytes:
    body = _BODY.pack(voucher.channel_id, voucher.amount, voucher.signature)
    return body + _CRC.pack(zlib.crc32(body))


def iter_records(data: bytes) -> Iterator[Voucher]:
    """The intact records of a log, in order; stops at the first torn or corrupt one."""
    for start in range(0, len(data) - RECORD_SIZE + 1, RECORD_SIZE):
        body = data[start : start + _BODY.size]
        (crc,) = _CRC.unpack_from(data, start + _BODY.size)
        if zlib.crc32(body) != crc:
            return
        channel_id, amount, signature = _BODY.unpack(body)
        yield Voucher(channel_id, amount, signature)


def read_best(path: Path) -> dict[bytes, Voucher]:
    """The best voucher per channel in the log at `path` (empty if there is none)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    best: dict[bytes, Voucher] = {}
    for voucher in iter_records(data):
        held = best.get(voucher.channel_id)
        if held is None or voucher.amount > held.amount:
            best[voucher.channel_id] = voucher
    return best


def write_compacted(directory: Path, best: dict[bytes, Voucher]) -> None:
    """Replace the log with one record per channel, atomically (a crash leaves the old or new)."""
    compact = directory / (LOG_NAME + ".compact")
    with compact.open("wb") as out:
        for voucher in sorted(best.values(), key=lambda v: v.channel_id):
            out.write(encode_record(voucher))
        out.flush()
        os.fsync(out.fileno())
    os.replace(compact, directory / LOG_NAME)
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class VoucherLedger:
    """The best voucher per channel, durable before `record()` returns.

    Open with `VoucherLedger.open(directory)` inside the event loop that will use it; `close()`
    flushes what is queued and stops the flusher.
    """

    def __init__(
        self, directory: Path, best: dict[bytes, Voucher], compact_bytes: int = COMPACT_BYTES
    ) -> None:
        self.directory = directory
        self.compact_bytes = compact_bytes
        self.path = directory / LOG_NAME
        self.best = best  # durable only: what a claim may use
        self.stats = LedgerStats()
        self._queue: list[tuple[Voucher, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._file = self.path.open("ab", buffering=0)
        self._size = self.path.stat().st_size
        self._task = asyncio.get_running_loop().create_task(self._flusher())

    @classmethod
    def open(cls, directory: Path, compact_bytes: int = COMPACT_BYTES) -> VoucherLedger:
        """Replay the log, rewrite it compacted (one record per channel), then append to it."""
        directory.mkdir(parents=True, exist_ok=True)
        best = read_best(directory / LOG_NAME)
        write_compacted(directory, best)
        return cls(directory, best, compact_bytes)

    def amount(self, channel_id: bytes) -> int:
        """The durable best amount for the channel (0: none)."""
        held = self.best.get(channel_id)
        return held.amount if held is not None else 0

    async def record(self, voucher: Voucher) -> None:
        """Return once `voucher` is on disk (sharing the fsync with every voucher queued with it).

        Raises LedgerClosedError if the ledger closed first, OSError if the write failed.
        """
        if self._closed:
            raise LedgerClosedError("the voucher ledger is closed")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((voucher, done))
        self._wake.set()
        await done

    async def _flusher(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closed:
                    return
                await self._wake.wait()
                self._wake.clear()
                continue
            batch, self._queue = self._queue, []
            data = b"".join(encode_record(voucher) for voucher, _ in batch)
            try:
                await loop.run_in_executor(None, self._write, data)
            except OSError as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            self.stats.records += len(batch)
            self.stats.flushes += 1
            for voucher, done in batch:
                held = self.best.get(voucher.channel_id)
                if held is None or voucher.amount > held.amount:
                    self.best[voucher.channel_id] = voucher
                if not done.done():
                    done.set_result(None)
            if self._size > self.compact_bytes:
                await self._compact()

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        os.fdatasync(self._file.fileno())
        self._size += len(data)

    async def _compact(self) -> None:
        # In the flusher, between batches: nothing is written meanwhile; calls keep queueing
        snapshot = dict(self.best)

        def rewrite() -> None:
            write_compacted(self.directory, snapshot)
            self._file.close()
            self._file = self.path.open("ab", buffering=0)
            self._size = self.path.stat().st_size

        try:
            await asyncio.get_running_loop().run_in_executor(None, rewrite)
        except OSError:
            return  # the old log is intact (the rename is atomic); try again after more records
        self.stats.compactions += 1

    async def close(self) -> None:
        """Flush what is queued, stop the flusher, close the file."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        await self._task
        self._file.close()
