"""The payer's ledger under random sequences (reserve, release, receipts, a provider's 402 word,
top-ups, restarts), against a model: amounts never go back, never pass the deposit, a provider
cannot raise `accepted` above what was signed, and the day's spending is what was not released."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from nacl.signing import SigningKey

from voxpop.client.payments import ChannelRecord, Ledger, LedgerError
from voxpop.crypto.vouchers import sign_receipt

CID = b"\x05" * 32
PAYEE = b"\x02" * 20
DAY = "2026-11-29"
KEY = SigningKey(b"\x07" * 32)


class LedgerMachine(RuleBasedStateMachine):
    @initialize(deposit=st.integers(1, 500))
    def open(self, deposit: int) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "ledger.db"
        self.ledger = Ledger(self.path)
        self.ledger.add_channel(
            ChannelRecord(CID, b"\x01" * 20, PAYEE, b"\x03" * 32, deposit, 0, 0, 0)
        )
        self.deposit, self.issued, self.accepted = deposit, 0, 0
        self.spends: dict[int, int] = {}  # id -> cost, not released

    def teardown(self) -> None:
        self.ledger.close()
        self.dir.cleanup()

    @rule(step=st.integers(-5, 60), cost=st.integers(0, 30))
    def reserve(self, step: int, cost: int) -> None:
        amount = max(self.accepted + step, 0)
        if amount <= self.accepted or amount > self.deposit:
            try:
                self.ledger.reserve(CID, "echo", amount, cost, DAY)
            except LedgerError:
                return
            raise AssertionError("reserve accepted an amount not above accepted or over deposit")
        self.spends[self.ledger.reserve(CID, "echo", amount, cost, DAY)] = cost
        self.issued = max(self.issued, amount)

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        if self.spends:
            spend = data.draw(st.sampled_from(sorted(self.spends)))
            self.ledger.release(spend)
            del self.spends[spend]

    @rule()
    def receipt_for_latest(self) -> None:
        if self.issued > self.accepted:
            receipt = sign_receipt(KEY, "voxpop-test", CID, b"q", b"a", self.issued)
            self.ledger.record_receipt(PAYEE, "echo", 1, receipt, 1.0)
            self.accepted = self.issued

    @rule(reported=st.integers(0, 2_000))
    def provider_says(self, reported: int) -> None:
        self.accepted = max(self.accepted, min(reported, self.issued))
        assert self.ledger.sync_accepted(CID, reported) == self.accepted

    @rule(amount=st.integers(1, 200))
    def top_up(self, amount: int) -> None:
        self.deposit += amount
        self.ledger.set_deposit(CID, self.deposit)

    @rule()
    def restart(self) -> None:
        self.ledger.close()
        self.ledger = Ledger(self.path)

    @invariant()
    def matches_the_model(self) -> None:
        record = self.ledger.channel(CID)
        assert record is not None
        assert (record.deposit, record.issued, record.accepted) == (
            self.deposit,
            self.issued,
            self.accepted,
        )
        assert record.accepted <= record.issued <= record.deposit
        total = sum(self.spends.values())
        assert self.ledger.spent(DAY)[0] == total


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
