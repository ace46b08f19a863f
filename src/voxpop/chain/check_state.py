"""The mempool's view of state, kept across Commit: committed state plus the pending txs' effects.

CometBFT rechecks every tx left in its mempool after each block. Rather than re-running them all
(the old reset-at-Commit design), the app keeps, for each tx CheckTx accepted and no block has
included yet, the values it read and the values it wrote. At Commit the check state is re-based
on the new committed state by replaying the pending txs in acceptance order:

- a tx that would read the very same values now (the block and the txs replayed before it left
  them as they were, or made them so: the block included the tx's predecessor of the same
  sender, whose effects it had read) gets its recorded writes back: the same run would write the
  same values;
- any other tx is run again against the re-based state; if it now fails (its sequence was taken,
  its balance spent, an allowance used up) it is evicted: RECHECK answers with its error, and a
  later tx that had read what it wrote reads something else now, so it is run again in turn.

So the re-based state is exactly what running every pending tx again, in order, would give, and a
RECHECK is a dictionary lookup. Only txs that depend on nothing but state keys are carried over:
bank sends paid by their signer without a timeout height. Anything that may read the block
height or time (timeouts, fee allowances with an expiry, other modules' messages) is re-run.

The fee collector's balance is the one key every tx reads and every block changes. No tx's
validity depends on it (module accounts cannot sign; nothing may send to it), so its reads are not
recorded and its value in the check state is left to the re-run txs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from voxpop.chain.abci import ResponseCheckTx
from voxpop.chain.kv import Branch, KVReader
from voxpop.chain.module_accounts import FEE_COLLECTOR, module_address
from voxpop.chain.modules.bank.state import balance_key
from voxpop.chain.tx import Tx

# Message types whose handling reads state keys only (not the block height or time)
CARRY_OVER_TYPES = frozenset({"bank/Send", "bank/MultiSend"})
FEE_COLLECTOR_BALANCE = balance_key(module_address(FEE_COLLECTOR))


class ReadTrackingBranch(Branch):
    """A branch that notes every value (and prefix) it reads from its parent."""

    __slots__ = ("prefixes", "reads")

    def __init__(self, parent: KVReader) -> None:
        super().__init__(parent)
        self.reads: dict[bytes, bytes | None] = {}
        self.prefixes: list[bytes] = []

    def get(self, key: bytes) -> bytes | None:
        if key in self.writes:
            return self.writes[key]
        value = self.parent.get(key)
        self.reads.setdefault(key, value)
        return value

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        self.prefixes.append(prefix)
        return super().iterate(prefix)


@dataclass(slots=True)
class PendingTx:
    """A tx CheckTx accepted that no committed block holds yet, and what it did to check state."""

    tx: Tx
    response: ResponseCheckTx
    reads: dict[bytes, bytes | None]
    writes: dict[bytes, bytes | None]
    carry_over: bool  # its effects depend on the values it read only
    seen: bool = True  # accepted, or rechecked, since the last Commit

    @classmethod
    def record(
        cls, tx: Tx, msg_types: list[str], response: ResponseCheckTx, branch: ReadTrackingBranch
    ) -> PendingTx:
        reads = branch.reads
        reads.pop(FEE_COLLECTOR_BALANCE, None)
        writes = dict(branch.writes)
        writes.pop(FEE_COLLECTOR_BALANCE, None)
        body = tx.body
        carry_over = (
            not branch.prefixes
            and not body.fee_granter
            and not body.timeout_height
            and all(t in CARRY_OVER_TYPES for t in msg_types)
        )
        return cls(tx, response, reads, writes, carry_over)

    def still_valid_on(self, state: KVReader) -> bool:
        """True if running it on `state` would read, hence do, exactly what it did."""
        return self.carry_over and all(state.get(k) == v for k, v in self.reads.items())
