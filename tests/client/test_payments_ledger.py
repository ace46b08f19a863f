"""The payer's ledger: amounts only grow, survive a restart, caps count what left, receipts kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.signing import SigningKey

from voxpop.client.payments import ChannelRecord, Ledger, LedgerError
from voxpop.crypto.vouchers import sign_receipt

CID = bytes(range(32))
PAYER = b"\x01" * 20
PAYEE = b"\x02" * 20
VKEY = b"\x03" * 32
DAY = "2026-11-29"


def _ledger(path: Path, deposit: int = 1_000) -> Ledger:
    ledger = Ledger(path)
    ledger.add_channel(ChannelRecord(CID, PAYER, PAYEE, VKEY, deposit, 0, 0, 1.0))
    return ledger


def test_reserve_raises_issued_and_counts_spend(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "l.db")
    ledger.reserve(CID, "echo", 10, 10, DAY)
    ledger.reserve(CID, "stt", 30, 20, DAY)
    record = ledger.channel(CID)
    assert record is not None and record.issued == 30 and record.accepted == 0
    assert ledger.spent(DAY) == (30, {"echo": 10, "stt": 20})
    assert ledger.spent("2026-11-30") == (0, {})


def test_restart_keeps_amounts_receipts_and_spending(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    ledger = _ledger(path)
    ledger.reserve(CID, "echo", 10, 10, DAY)
    key = SigningKey(b"\x07" * 32)
    receipt = sign_receipt(key, "voxpop-test", CID, b"req", b"resp", 10)
    ledger.record_receipt(PAYEE, "echo", 10, receipt, 5.0)
    ledger.reserve(CID, "echo", 20, 10, DAY)  # in flight when the process died
    ledger.close()

    again = Ledger(path)
    record = again.open_channel_to(PAYER, PAYEE, VKEY)
    assert record is not None
    assert (record.issued, record.accepted, record.deposit) == (20, 10, 1_000)
    assert again.spent(DAY) == (20, {"echo": 20})
    [stored] = again.receipts(PAYEE)
    assert stored.receipt == receipt and stored.cost == 10
    assert stored.receipt.verify("voxpop-test", bytes(key.verify_key))
    assert again.receipt_count(PAYEE) == 1


def test_invalid_reserve_at_or_below_accepted(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "l.db")
    ledger.reserve(CID, "echo", 10, 10, DAY)
    ledger.sync_accepted(CID, 10)
    with pytest.raises(LedgerError):
        ledger.reserve(CID, "echo", 10, 10, DAY)
    # Nothing changed by the refusal
    assert ledger.spent(DAY) == (10, {"echo": 10})


def test_invalid_reserve_over_deposit_or_unknown(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "l.db", deposit=100)
    with pytest.raises(LedgerError):
        ledger.reserve(CID, "echo", 101, 101, DAY)
    with pytest.raises(LedgerError):
        ledger.reserve(b"\x09" * 32, "echo", 1, 1, DAY)
    record = ledger.channel(CID)
    assert record is not None and record.issued == 0
    assert ledger.spent(DAY) == (0, {})


def test_release_forgets_a_refused_spend(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "l.db")
    spend = ledger.reserve(CID, "echo", 10, 10, DAY)
    ledger.release(spend)
    assert ledger.spent(DAY) == (0, {})


def test_sync_accepted_is_capped_by_issued(tmp_path: Path) -> None:
    """A provider cannot talk the payer into a higher base than it ever signed."""
    ledger = _ledger(tmp_path / "l.db")
    ledger.reserve(CID, "echo", 10, 10, DAY)
    assert ledger.sync_accepted(CID, 500) == 10
    assert ledger.sync_accepted(CID, 3) == 10  # and it never goes back


def test_closed_channel_is_not_reused(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "l.db")
    ledger.mark_closed(CID)
    assert ledger.open_channel_to(PAYER, PAYEE, VKEY) is None
    assert ledger.channels()[0].closed
