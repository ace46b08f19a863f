"""The payer's ledger: its channels, the amounts it signed, what providers accepted, its receipts
and its spending, durable in one SQLite file (WAL; fsync on every commit but a receipt's).

A receipt's commit is not synced on its own: the next reservation's sync covers it (the WAL is
one file written in order), so a call costs one disk flush, not two. A power loss before the next
call may lose the last receipts and `accepted` amounts: the provider's 402 `voucher_stale` gives
the amount back (capped at `issued`), and a receipt is the payer's evidence, not its money. A
killed process loses nothing (the write is in the OS's cache).

A voucher's amount is written (reserved) before the voucher leaves the process, so a restart
never signs a lower cumulative amount than one already sent, and never forgets money it put at
risk when it checks the spending caps. Per channel it keeps:

    issued    the highest cumulative amount signed (what the provider might hold)
    accepted  the highest amount the provider confirmed, by a verified receipt or a 402 answer
              no higher than `issued` (a provider cannot talk the client into signing more)
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from voxpop.client.payments.errors import LedgerError
from voxpop.crypto.vouchers import Receipt

SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    channel_id BLOB PRIMARY KEY,
    payer BLOB NOT NULL,
    payee BLOB NOT NULL,
    voucher_key BLOB NOT NULL,
    deposit INTEGER NOT NULL,
    issued INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    opened_at REAL NOT NULL,
    closed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS receipts (
    id INTEGER PRIMARY KEY,
    channel_id BLOB NOT NULL,
    provider BLOB NOT NULL,
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL,
    cost INTEGER NOT NULL,
    request_hash BLOB NOT NULL,
    response_hash BLOB NOT NULL,
    signature BLOB NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS spends (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel_id BLOB NOT NULL,
    cost INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS spends_by_day ON spends (day, kind);
CREATE INDEX IF NOT EXISTS receipts_by_provider ON receipts (provider);
"""


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    channel_id: bytes
    payer: bytes
    payee: bytes
    voucher_key: bytes  # the public key the channel names
    deposit: int
    issued: int
    accepted: int
    opened_at: float
    closed: bool = False

    @property
    def unspent(self) -> int:
        """Deposit not yet signed away."""
        return self.deposit - self.issued


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    provider: bytes
    kind: str
    cost: int
    receipt: Receipt
    at: float


class Ledger:
    """One payer's durable ledger at `path` (":memory:" for a throwaway one). Thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open the payment ledger {self.path}: {exc}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self, *, synced: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction; `synced=False` leaves its commit to the next synced one's fsync."""
        with self._lock:
            if not synced:
                self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            finally:
                if not synced:
                    self._db.execute("PRAGMA synchronous=FULL")

    # --- channels -------------------------------------------------------------------------------

    def add_channel(self, record: ChannelRecord) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO channels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.channel_id,
                    record.payer,
                    record.payee,
                    record.voucher_key,
                    record.deposit,
                    record.issued,
                    record.accepted,
                    record.opened_at,
                    int(record.closed),
                ),
            )

    def channel(self, channel_id: bytes) -> ChannelRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM channels WHERE channel_id = ?", (channel_id,)
            ).fetchone()
        return _channel(row) if row else None

    def open_channel_to(
        self, payer: bytes, payee: bytes, voucher_key: bytes
    ) -> ChannelRecord | None:
        """The newest channel still open from `payer` to `payee` under `voucher_key`."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM channels WHERE payer = ? AND payee = ? AND voucher_key = ? "
                "AND closed = 0 ORDER BY opened_at DESC LIMIT 1",
                (payer, payee, voucher_key),
            ).fetchone()
        return _channel(row) if row else None

    def channels(self) -> list[ChannelRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM channels ORDER BY opened_at").fetchall()
        return [_channel(r) for r in rows]

    def set_deposit(self, channel_id: bytes, deposit: int) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE channels SET deposit = ? WHERE channel_id = ?", (deposit, channel_id)
            )

    def mark_closed(self, channel_id: bytes) -> None:
        with self._tx() as db:
            db.execute("UPDATE channels SET closed = 1 WHERE channel_id = ?", (channel_id,))

    # --- a call's money -------------------------------------------------------------------------

    def reserve(self, channel_id: bytes, kind: str, amount: int, cost: int, day: str) -> int:
        """Record that a voucher for cumulative `amount` (this call: `cost`) is about to leave.
        Returns the spend's id (see release). Raises LedgerError if `amount` is below what the
        provider already accepted or above the deposit."""
        with self._tx() as db:
            row = db.execute(
                "SELECT issued, accepted, deposit FROM channels WHERE channel_id = ?",
                (channel_id,),
            ).fetchone()
            # Verify the channel is known and the amount only grows, within the deposit
            if row is None:
                raise LedgerError(f"unknown channel {channel_id.hex()}")
            issued, accepted, deposit = row
            if amount <= accepted or amount > deposit:
                raise LedgerError(
                    f"amount {amount} must be above accepted {accepted} and at most the "
                    f"deposit {deposit}"
                )
            db.execute(
                "UPDATE channels SET issued = ? WHERE channel_id = ?",
                (max(issued, amount), channel_id),
            )
            cur = db.execute(
                "INSERT INTO spends (day, kind, channel_id, cost) VALUES (?, ?, ?, ?)",
                (day, kind, channel_id, cost),
            )
            spend_id = cur.lastrowid
        assert spend_id is not None
        return spend_id

    def release(self, spend_id: int) -> None:
        """Forget a reserved spend the provider certainly did not take (it refused the voucher,
        or the connection never opened)."""
        with self._tx() as db:
            db.execute("DELETE FROM spends WHERE id = ?", (spend_id,))

    def record_receipt(
        self, provider: bytes, kind: str, cost: int, receipt: Receipt, at: float
    ) -> None:
        """Keep a verified receipt; the provider accepted `receipt.amount` (synced with the
        next reservation: see the module doc)."""
        with self._tx(synced=False) as db:
            db.execute(
                "UPDATE channels SET accepted = MAX(accepted, ?) WHERE channel_id = ?",
                (receipt.amount, receipt.channel_id),
            )
            db.execute(
                "INSERT INTO receipts (channel_id, provider, kind, amount, cost, request_hash, "
                "response_hash, signature, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    receipt.channel_id,
                    provider,
                    kind,
                    receipt.amount,
                    cost,
                    receipt.request_hash,
                    receipt.response_hash,
                    receipt.signature,
                    at,
                ),
            )

    def sync_accepted(self, channel_id: bytes, reported: int) -> int:
        """Take a provider's 402 word for what it holds, capped at what was issued (it cannot
        hold more). Returns the accepted amount now recorded."""
        with self._tx() as db:
            row = db.execute(
                "SELECT issued, accepted FROM channels WHERE channel_id = ?", (channel_id,)
            ).fetchone()
            if row is None:
                raise LedgerError(f"unknown channel {channel_id.hex()}")
            issued, accepted = row
            value = max(accepted, min(reported, issued))
            db.execute("UPDATE channels SET accepted = ? WHERE channel_id = ?", (value, channel_id))
        return int(value)

    # --- reading --------------------------------------------------------------------------------

    def spent(self, day: str) -> tuple[int, dict[str, int]]:
        """What was signed away on `day` (UTC, YYYY-MM-DD): in all, and by kind."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, SUM(cost) FROM spends WHERE day = ? GROUP BY kind", (day,)
            ).fetchall()
        by_kind = {str(k): int(n) for k, n in rows}
        return sum(by_kind.values()), by_kind

    def receipts(self, provider: bytes | None = None) -> list[StoredReceipt]:
        query = "SELECT * FROM receipts"
        args: tuple[bytes, ...] = ()
        if provider is not None:
            query += " WHERE provider = ?"
            args = (provider,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", args).fetchall()
        return [
            StoredReceipt(
                provider=bytes(r[2]),
                kind=str(r[3]),
                cost=int(r[5]),
                receipt=Receipt(bytes(r[1]), bytes(r[6]), bytes(r[7]), int(r[4]), bytes(r[8])),
                at=float(r[9]),
            )
            for r in rows
        ]

    def receipt_count(self, provider: bytes) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM receipts WHERE provider = ?", (provider,)
            ).fetchone()
        return int(row[0])


def _channel(row: tuple[object, ...]) -> ChannelRecord:
    cid, payer, payee, vkey, deposit, issued, accepted, opened_at, closed = row
    assert isinstance(cid, bytes) and isinstance(payer, bytes) and isinstance(payee, bytes)
    assert isinstance(vkey, bytes)
    return ChannelRecord(
        cid,
        payer,
        payee,
        vkey,
        int(str(deposit)),
        int(str(issued)),
        int(str(accepted)),
        float(str(opened_at)),
        bool(closed),
    )
