"""The voucher ledger: the best voucher per channel survives a restart, a torn tail is dropped,
and concurrent records share fsyncs (group commit)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from voxpop.crypto.vouchers import Voucher
from voxpop.provider.ledger import (
    LOG_NAME,
    RECORD_SIZE,
    LedgerClosedError,
    VoucherLedger,
    encode_record,
    read_best,
)

A = bytes([1]) * 32
B = bytes([2]) * 32


def voucher(channel: bytes, amount: int) -> Voucher:
    return Voucher(channel, amount, amount.to_bytes(8, "big") * 8)


async def test_best_per_channel_survives_reopen(tmp_path: Path) -> None:
    ledger = VoucherLedger.open(tmp_path)
    for amount in (10, 30, 20):  # out of order: the highest wins, not the last
        await ledger.record(voucher(A, amount))
    await ledger.record(voucher(B, 5))
    assert ledger.amount(A) == 30 and ledger.amount(B) == 5
    await ledger.close()
    again = VoucherLedger.open(tmp_path)
    assert again.best == {A: voucher(A, 30), B: voucher(B, 5)}
    # Reopening compacts the log to one record per channel
    assert (tmp_path / LOG_NAME).stat().st_size == 2 * RECORD_SIZE
    await again.close()


async def test_concurrent_records_share_fsyncs(tmp_path: Path) -> None:
    ledger = VoucherLedger.open(tmp_path)
    await asyncio.gather(*(ledger.record(voucher(A, n)) for n in range(1, 501)))
    assert ledger.stats.records == 500
    # All 500 were queued before the flusher's first write finished: a handful of fsyncs
    assert ledger.stats.flushes <= 5, ledger.stats
    assert ledger.amount(A) == 500
    await ledger.close()
    assert read_best(tmp_path / LOG_NAME)[A].amount == 500


async def test_torn_tail_is_dropped(tmp_path: Path) -> None:
    ledger = VoucherLedger.open(tmp_path)
    await ledger.record(voucher(A, 7))
    await ledger.close()
    log = tmp_path / LOG_NAME
    # A crash in the middle of writing a later, higher voucher: never acknowledged
    with log.open("ab") as f:
        f.write(encode_record(voucher(A, 99))[: RECORD_SIZE - 3])
    assert read_best(log) == {A: voucher(A, 7)}
    # A record whose bytes were damaged fails its CRC and ends the replay there
    damaged = bytearray(encode_record(voucher(B, 50)))
    damaged[40] ^= 0xFF
    log.write_bytes(encode_record(voucher(A, 7)) + bytes(damaged))
    assert read_best(log) == {A: voucher(A, 7)}


async def test_record_after_close_is_refused(tmp_path: Path) -> None:
    ledger = VoucherLedger.open(tmp_path)
    await ledger.close()
    with pytest.raises(LedgerClosedError):
        await ledger.record(voucher(A, 1))
    assert read_best(tmp_path / LOG_NAME) == {}


async def test_close_flushes_what_is_queued(tmp_path: Path) -> None:
    ledger = VoucherLedger.open(tmp_path)
    pending = [asyncio.ensure_future(ledger.record(voucher(B, n))) for n in (1, 2, 3)]
    await asyncio.sleep(0)
    await ledger.close()
    await asyncio.gather(*pending)
    assert read_best(tmp_path / LOG_NAME)[B].amount == 3


async def test_log_is_compacted_while_running(tmp_path: Path) -> None:
    ledger = VoucherLedger.open(tmp_path, compact_bytes=50 * RECORD_SIZE)
    for n in range(1, 121):
        await ledger.record(voucher(A if n % 2 else B, n))
    assert ledger.stats.compactions >= 2
    assert (tmp_path / LOG_NAME).stat().st_size <= 52 * RECORD_SIZE
    await ledger.record(voucher(A, 1_000))
    await ledger.close()
    assert read_best(tmp_path / LOG_NAME) == {A: voucher(A, 1_000), B: voucher(B, 120)}
