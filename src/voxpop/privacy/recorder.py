"""The batched access records: a node's answers go to the chain in one consent/Record tx per
poll (at most `max_per_tx` records, the consent module's `max_records_per_tx`, and at most
TX_BUDGET bytes of them: about 40), committed before the next is sent (one account, one
sequence at a time).

A refused batch is sent again record by record, so one record the chain refuses (a grant that
ended between the answer and the block) does not lose the others; a record refused alone is
dropped and counted. The queue is bounded (`backlog_limit`, 12 batches): past it the engine
refuses new accesses (503 busy) rather than serve one it could not record in time (an answer's
height must be within the consent module's record window, 20 blocks, when its Record lands). So
a node records, and in the long run serves, at most `max_per_tx` new accesses a block; bursts up
to the backlog are served at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from voxpop.chain.modules.consent.messages import MsgRecord
from voxpop.storage.chain import ChainLink, ChainUnavailableError, TxFailedError

log = logging.getLogger("voxpop.privacy")
MAX_PER_TX = 64  # the consent module's default max_records_per_tx
BACKLOG_BATCHES = 12  # blocks of records waiting at most: within the 20-block record window
# A tx is at most the auth module's max_tx_bytes (32 KiB by default): a record (an answer and a
# request, about 600 bytes) goes in a tx of at most this many record bytes, the rest of the tx
# (signature, framing) fits in the margin. So about 40 records a tx.
TX_BUDGET = 24 * 1024
RECORD_OVERHEAD = 8  # CBOR framing of one record pair
RECORD_GAS_BASE = 150_000
RECORD_GAS_EACH = 40_000


@dataclass(frozen=True, slots=True)
class Pending:
    attestation: bytes
    request: bytes
    grant_id: bytes
    request_id: bytes


class Recorder:
    """`on_recorded(pending, height)`: the record landed in block `height` (0: refused,
    dropped)."""

    def __init__(
        self,
        link: ChainLink,
        on_recorded: Callable[[Pending, int], None],
        max_per_tx: int = MAX_PER_TX,
    ) -> None:
        self.link = link
        self.on_recorded = on_recorded
        self.max_per_tx = max_per_tx
        self.backlog_limit = max_per_tx * BACKLOG_BATCHES
        self.queue: list[Pending] = []
        self.recorded = 0
        self.record_txs = 0
        self.dropped = 0
        self.last_error = ""

    def set_max_per_tx(self, max_per_tx: int) -> None:
        self.max_per_tx = max_per_tx
        self.backlog_limit = max_per_tx * BACKLOG_BATCHES

    @property
    def full(self) -> bool:
        return len(self.queue) >= self.backlog_limit

    def add(self, attestation: bytes, request: bytes, grant_id: bytes, request_id: bytes) -> None:
        self.queue.append(Pending(attestation, request, grant_id, request_id))

    async def flush(self) -> None:
        """Send one batch of what is queued. Raises ChainUnavailableError (the batch stays
        queued)."""
        if not self.queue:
            return
        batch = self._next_batch()
        del self.queue[: len(batch)]
        try:
            await self._send(batch)
        except ChainUnavailableError:
            self.queue[:0] = batch
            raise
        except TxFailedError as exc:
            self.last_error = f"a batch of {len(batch)}: {exc.code}: {exc}"
            log.warning("access records refused together: %s", self.last_error)
            if len(batch) == 1:
                self._drop(batch[0], f"{exc.code}: {exc}")
                return
            for pending in batch:  # one by one: only the refused ones are lost
                try:
                    await self._send([pending])
                except TxFailedError as single:
                    self._drop(pending, f"{single.code}: {single}")

    def _next_batch(self) -> list[Pending]:
        """The oldest records that fit one tx: at most `max_per_tx`, within TX_BUDGET bytes."""
        batch: list[Pending] = []
        size = 0
        for pending in self.queue[: self.max_per_tx]:
            size += len(pending.attestation) + len(pending.request) + RECORD_OVERHEAD
            if batch and size > TX_BUDGET:
                break
            batch.append(pending)
        return batch

    def _drop(self, pending: Pending, why: str) -> None:
        self.dropped += 1
        self.last_error = why
        log.warning("access record refused: %s", why)
        self.on_recorded(pending, 0)

    async def _send(self, batch: list[Pending]) -> None:
        msg = MsgRecord(
            node=self.link.address,
            records=tuple((p.attestation, p.request) for p in batch),
        )
        outcome = await self.link.send([msg], gas=RECORD_GAS_BASE + RECORD_GAS_EACH * len(batch))
        self.record_txs += 1
        self.recorded += len(batch)
        for pending in batch:
            self.on_recorded(pending, outcome.height)
