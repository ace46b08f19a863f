"""The access records: a node's answers go to the chain in consent/Record txs, several in flight
at once (pipelined: each signed with the next sequence number this node manages, without waiting
for the one before to land), so a node records several txs' worth of accesses per block.

A tx carries at most `max_per_tx` records (the consent module's `max_records_per_tx`) and at
most TX_BUDGET bytes of them; at most `max_in_flight` txs are sent and not yet landed. Every tick
the recorder:

1. looks up the oldest txs in flight, in sequence order (a later one cannot land before it):
   landed with code 0, its records are recorded; failed in the block (its sequence used), its
   records are sent again one per tx, so only the refused one is lost. Once the oldest has
   landed, the others in flight are looked up at once (each lookup of a landed Record takes
   the chain node ~15 ms to answer: one after the other they held up the next sends). After a
   lookup that found nothing, the next waits CONFIRM_PAUSE (a lookup costs the node and its
   chain node about a millisecond of CPU each, and ticks come several times a block);
2. if the oldest has not landed for STALL_SECONDS (evicted from the mempool when a record in it
   or before it stopped passing the check), broadcasts the same signed bytes again, in order: a
   tx can land once only, so this never records twice. A tx now refused for good gives its
   records back one per tx, and the txs after it (their sequence now has a gap) are dropped
   from flight and their records queued again, **uncertain**;
3. sends new txs from the queue while fewer than `max_in_flight` are out (a part-filled batch
   waits up to LINGER for more records while others are in flight).

On `wrong_sequence`, and at start, the recorder **resyncs**: it waits RESYNC_WAIT (a block: the
mempool drops the txs a gap left behind), reads its account's committed sequence, then asks the
chain (a proven `/consent/access`) whether each uncertain record already holds this node's
answer, marking those recorded, and sends the rest from that sequence. A record is uncertain
until a tx sent at a freshly read sequence passes the check (then no earlier tx of this node
is pending). The chain refuses a node's second record of one request
(`consent_already_recorded`); a record refused alone for that reason is counted as recorded.
So every answer is recorded once: never lost while the node runs, and after a crash from the
journal (`journal.py`, answers written before they are sent).

The queue is bounded (`backlog_limit`, 12 txs' worth, and its oldest record at most the record
window less WINDOW_MARGIN blocks old): past it the engine refuses new accesses (503 busy) rather
than serve one it could not record in time (an answer's height must be within
the consent module's record window, 20 blocks, when its Record lands).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from voxpop.chain.modules.consent.messages import MsgRecord
from voxpop.chain.tx import tx_hash
from voxpop.client.tx import build_tx, sign_tx
from voxpop.crypto import consent
from voxpop.crypto.keys import PrivateKey
from voxpop.privacy.journal import RecordJournal
from voxpop.storage.chain import TxFailedError

log = logging.getLogger("voxpop.privacy")
MAX_PER_TX = 32  # the consent module's default max_records_per_tx (read from the chain at start)
MAX_IN_FLIGHT = 8  # Record txs sent and not yet landed
BACKLOG_BATCHES = 12  # txs' worth of records waiting at most: within the 20-block record window
# A tx is at most the auth module's max_tx_bytes (32 KiB by default): a record (an answer and a
# request, about 600 bytes) goes in a tx of at most this many record bytes, the rest of the tx
# (signature, framing) fits in the margin. So about 40 records a tx.
TX_BUDGET = 24 * 1024
RECORD_OVERHEAD = 8  # CBOR framing of one record pair
RECORD_GAS_BASE = 150_000
RECORD_GAS_EACH = 40_000
RECORD_GAS_EACH_MAX = 200_000  # 32 records of it stay within auth's max_gas_per_tx (10 M)
OUT_OF_GAS = "out_of_gas"
LINGER = 0.15  # seconds a part-filled batch waits for more records while txs are in flight
STALL_SECONDS = 1.5  # the oldest tx in flight not landed after this: broadcast it again
RESYNC_WAIT = 0.5  # seconds before a resync reads the sequence (a block: gapped txs evicted)
CONFIRM_PAUSE = 0.1  # seconds after a lookup found the oldest tx in flight not yet landed
# Refusals at check that say "not now" rather than "never": the batch waits and goes again
RETRY_LATER = frozenset({"mempool_full", "tx_in_mempool", "insufficient_fee", "fee_below_base"})
ALREADY_RECORDED = "consent_already_recorded"
RECORD_WINDOW = 20  # the consent module's default record_window_blocks (read at start)
WINDOW_MARGIN = 6  # blocks: answers wait (503 busy) while the oldest queued is this near its end


def answer_height(attestation: bytes) -> int:
    """The height an attestation names (0 if it does not open: the chain refuses it)."""
    try:
        return consent.open_answer(attestation).height
    except consent.ConsentCryptoError:
        return 0


class RecordChain(Protocol):
    """What the recorder needs of the chain (PrivacyLink): its account, and the calls to send
    and follow its txs."""

    address: bytes
    account: PrivateKey
    last_height: int

    async def broadcast(self, tx: bytes) -> None: ...
    async def landed(self, tx_hash: bytes) -> tuple[int, str] | None: ...
    async def sequence(self) -> int: ...
    async def chain_id_once(self) -> str: ...
    async def fee(self, gas_limit: int) -> int: ...
    def forget_fees(self) -> None: ...
    async def recorded(self, grant_id: bytes, request_id: bytes) -> bool: ...


@dataclass(slots=True)
class Pending:
    attestation: bytes
    request: bytes
    grant_id: bytes
    request_id: bytes
    height: int  # the answer's (the grant read it was decided on)
    queued_at: float = 0.0
    group: int = 0  # sent only with its group (a half of a refused batch); 0: any batch
    uncertain: bool = False  # may already be on chain: asked before it is sent


@dataclass(slots=True)
class InFlight:
    sequence: int
    tx: bytes
    tx_hash: bytes
    batch: list[Pending]


class Recorder:
    """`on_recorded(pending, height)`: the record landed in block `height` (0: refused,
    dropped)."""

    def __init__(
        self,
        link: RecordChain,
        on_recorded: Callable[[Pending, int], None],
        journal: RecordJournal | None = None,
        max_per_tx: int = MAX_PER_TX,
        max_in_flight: int = MAX_IN_FLIGHT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self.on_recorded = on_recorded
        self.journal = journal
        self.max_per_tx = max_per_tx
        self.max_in_flight = max_in_flight
        self.window = RECORD_WINDOW
        self._groups = 0
        self.backlog_limit = max_per_tx * BACKLOG_BATCHES
        self.clock = clock
        self.queue: list[Pending] = []
        self.in_flight: list[InFlight] = []
        self.next_sequence: int | None = None  # None: resync before the next send
        self._fresh_sequence = True  # the next accepted send clears the uncertain marks
        self._resync_at = 0.0
        self._progress_at = 0.0  # last landing (or first send): the stall clock
        self._confirm_at = 0.0  # no lookup before this (the last one found nothing)
        self.recorded = 0
        self.record_txs = 0
        self.peak_in_flight = 0
        # Gas asked per record (RECORD_GAS_BASE covers one pass over a full access list); a
        # Record that ran out of gas anyway is sent again with twice as much
        self.gas_each = RECORD_GAS_EACH
        self.dropped = 0
        self.resent = 0
        self.resyncs = 0
        self.last_error = ""

    def set_params(self, max_per_tx: int, window: int) -> None:
        """The consent module's max_records_per_tx and record_window_blocks."""
        self.max_per_tx = max_per_tx
        self.backlog_limit = max_per_tx * BACKLOG_BATCHES
        self.window = window

    @property
    def full(self) -> bool:
        """Answer no more for now: the queue holds its backlog, or its oldest record nears the
        end of the record window (the txs are landing slower than a block each: a starved
        machine), so what is queued is recorded before it ages out."""
        if len(self.queue) >= self.backlog_limit:
            return True
        return bool(self.queue) and (
            self.link.last_height - self.queue[0].height > self.window - WINDOW_MARGIN
        )

    @property
    def idle(self) -> bool:
        return not self.queue and not self.in_flight

    def restore(self) -> list[Pending]:
        """The journal's open answers, queued (uncertain: a tx of the last run may hold them).
        Raises OSError."""
        if self.journal is None:
            return []
        now = self.clock()
        restored = [
            Pending(a, r, g, rid, answer_height(a), now, uncertain=True)
            for a, r, g, rid in self.journal.load()
        ]
        self.queue[:0] = restored
        return restored

    def add(
        self, attestation: bytes, request: bytes, grant_id: bytes, request_id: bytes, height: int
    ) -> None:
        """Queue the record of an answer given at `height`, journaled first. Raises OSError
        (nothing queued)."""
        if self.journal is not None:
            self.journal.answered(attestation, request, grant_id, request_id)
        self.queue.append(Pending(attestation, request, grant_id, request_id, height, self.clock()))

    async def pump(self) -> None:
        """One tick: settle what landed, resend what stalled, send what is queued. Raises
        ChainUnavailableError (nothing is lost: the records stay queued or in flight)."""
        await self._confirm()
        await self._unstall()
        await self._send()

    # --- landing ---------------------------------------------------------------------------------

    async def _confirm(self) -> None:
        if self.clock() < self._confirm_at or not self.in_flight:
            return
        # The oldest first (a later tx cannot land before it); once it has, the others in
        # flight are looked up at once (a block takes several), then settled in order
        first = await self.link.landed(self.in_flight[0].tx_hash)
        if first is None:
            self._confirm_at = self.clock() + CONFIRM_PAUSE
            return
        others = await asyncio.gather(
            *(self.link.landed(entry.tx_hash) for entry in self.in_flight[1:]),
            return_exceptions=True,
        )
        for landed in [first, *others]:
            if isinstance(landed, BaseException):
                raise landed  # the records stay in flight: looked up again next tick
            if landed is None:
                self._confirm_at = self.clock() + CONFIRM_PAUSE
                return
            height, code = landed
            entry = self.in_flight.pop(0)
            self.record_txs += 1
            self._progress_at = self.clock()
            if code == "":
                self._landed(entry.batch, height)
            else:  # failed in the block (its fee paid, its sequence used, nothing recorded)
                await self._refused(entry.batch, code, f"failed in block {height}")

    async def _unstall(self) -> None:
        if not self.in_flight or self.clock() - self._progress_at < STALL_SECONDS:
            return
        self._progress_at = self.clock()
        for entry in list(self.in_flight):
            self.resent += 1
            try:
                await self.link.broadcast(entry.tx)  # the same bytes: it lands once at most
            except TxFailedError as exc:
                if exc.code in RETRY_LATER:
                    continue
                if await self.link.landed(entry.tx_hash) is not None:
                    return  # it landed meanwhile: the next tick settles it
                at = self.in_flight.index(entry)
                if exc.code == "wrong_sequence":
                    self._resync(f"tx {entry.sequence} resent: {exc.code}: {exc}")
                    return
                # Refused for good: its records alone, the later txs (now gapped) again
                refused = self.in_flight[at].batch
                del self.in_flight[at]
                self._resync(f"tx {entry.sequence} resent: {exc.code}: {exc}")
                await self._refused(refused, exc.code, str(exc))
                return

    def _resync(self, why: str) -> None:
        """Give up the txs in flight (their records queued again, uncertain) and read the
        sequence afresh after RESYNC_WAIT."""
        self.resyncs += 1
        self.last_error = why
        log.warning("access records resync: %s", why)
        back = [p for entry in self.in_flight for p in entry.batch]
        for pending in back:
            pending.uncertain = True
        self.queue[:0] = back
        self.in_flight.clear()
        self.next_sequence = None
        self._resync_at = self.clock() + RESYNC_WAIT

    # --- sending ---------------------------------------------------------------------------------

    async def _send(self) -> None:
        if self.next_sequence is None:
            if self.clock() < self._resync_at:
                return
            sequence = await self.link.sequence()
            await self._settle_uncertain()  # after the sequence read: see the module doc
            self.next_sequence, self._fresh_sequence = sequence, True
        self._drop_stale()
        while self.queue and len(self.in_flight) < self.max_in_flight:
            batch = self._next_batch()
            if not batch:
                return
            part = len(batch) < self.max_per_tx and len(batch) == len(self.queue)
            if part and self.in_flight and self.clock() - batch[0].queued_at < LINGER:
                return
            del self.queue[: len(batch)]
            sequence = self.next_sequence
            assert sequence is not None
            try:
                tx, tx_hash = await self._sign(batch, sequence)
                await self.link.broadcast(tx)
            except TxFailedError as exc:
                if exc.code in RETRY_LATER or exc.code == "wrong_sequence":
                    self.queue[:0] = batch
                    if exc.code in ("insufficient_fee", "fee_below_base"):
                        self.link.forget_fees()  # the base price rose: estimate again
                    if exc.code == "wrong_sequence":
                        self._resync(f"tx {sequence}: {exc.code}: {exc}")
                    return
                await self._refused(batch, exc.code, str(exc))  # at check: the sequence unused
                continue
            except BaseException:
                self.queue[:0] = batch
                raise
            if self._fresh_sequence:  # no earlier tx of this node is pending: all certain now
                self._fresh_sequence = False
                for pending in self.queue:
                    pending.uncertain = False
            if not self.in_flight:
                self._progress_at = self.clock()
            self.in_flight.append(InFlight(sequence, tx, tx_hash, batch))
            self.peak_in_flight = max(self.peak_in_flight, len(self.in_flight))
            self.next_sequence = sequence + 1

    def _next_batch(self) -> list[Pending]:
        """The oldest records that fit one tx: at most `max_per_tx`, within TX_BUDGET bytes, of
        one group (the half of a refused batch goes with its half only)."""
        batch: list[Pending] = []
        size = 0
        for pending in self.queue[: self.max_per_tx]:
            size += len(pending.attestation) + len(pending.request) + RECORD_OVERHEAD
            if batch and (pending.group != batch[0].group or size > TX_BUDGET):
                break
            batch.append(pending)
        return batch

    def _drop_stale(self) -> None:
        """Drop the records the chain would refuse as too old (their answer's height outside
        the record window by the next block): a backlog that fell that far behind."""
        floor = self.link.last_height + 2 - self.window
        if not self.queue or self.queue[0].height >= floor:
            return
        stale = [p for p in self.queue if p.height < floor]
        self.queue = [p for p in self.queue if p.height >= floor]
        for pending in stale:
            self._drop(pending, "answer_too_old", f"height {pending.height} < {floor}")

    async def _sign(self, batch: list[Pending], sequence: int) -> tuple[bytes, bytes]:
        chain_id = await self.link.chain_id_once()
        msg = MsgRecord(
            node=self.link.address,
            records=tuple((p.attestation, p.request) for p in batch),
        )
        gas = RECORD_GAS_BASE + self.gas_each * len(batch)
        body = build_tx(
            chain_id=chain_id,
            pub_key=self.link.account.public_key.raw,
            sequence=sequence,
            msgs=[msg.raw()],
            fee=await self.link.fee(gas),
            gas_limit=gas,
        )
        tx = sign_tx(body, self.link.account)
        return tx, tx_hash(tx)

    async def _settle_uncertain(self) -> None:
        """Mark recorded the uncertain records whose answer by this node the chain holds."""
        kept: list[Pending] = []
        for pending in self.queue:
            if pending.uncertain and await self.link.recorded(pending.grant_id, pending.request_id):
                self._landed([pending], self.link.last_height)
            else:
                kept.append(pending)
        self.queue = kept

    # --- outcomes --------------------------------------------------------------------------------

    def _landed(self, batch: list[Pending], height: int) -> None:
        self.recorded += len(batch)
        for pending in batch:
            self.on_recorded(pending, height)
        self._settle(batch)

    async def _refused(self, batch: list[Pending], code: str, why: str) -> None:
        """A tx refused (at check or in its block): its records again in two halves (so the
        one the chain refuses is found in a few txs, and the others recorded), or, alone
        already, dropped (or recorded, if the chain holds it already). Refused because the
        chain holds one of them already (a request answered again after a restart), each is
        asked for first (proven), and the others go again together."""
        self.last_error = f"a batch of {len(batch)}: {code}: {why}"
        log.warning("access records refused together: %s", self.last_error)
        if code == OUT_OF_GAS and self.gas_each < RECORD_GAS_EACH_MAX:
            self.gas_each = min(2 * self.gas_each, RECORD_GAS_EACH_MAX)
            self.queue[:0] = batch  # the same batch again, with more gas
            return
        if code == ALREADY_RECORDED and len(batch) > 1:
            again = []
            for pending in batch:
                if await self.link.recorded(pending.grant_id, pending.request_id):
                    self._landed([pending], self.link.last_height)
                else:
                    again.append(pending)
            if len(again) < len(batch):
                self.queue[:0] = again
                return
        if len(batch) > 1:
            half = len(batch) // 2
            for part in (batch[:half], batch[half:]):
                self._groups += 1
                for pending in part:
                    pending.group = self._groups
            self.queue[:0] = batch
            return
        pending = batch[0]
        if code == ALREADY_RECORDED:
            self._landed([pending], self.link.last_height)
            return
        self._drop(pending, code, why)

    def _drop(self, pending: Pending, code: str, why: str) -> None:
        self.dropped += 1
        self.last_error = f"a record: {code}: {why}"
        log.warning("access record dropped: %s", self.last_error)
        self.on_recorded(pending, 0)
        self._settle([pending])

    def _settle(self, batch: list[Pending]) -> None:
        if self.journal is not None:
            try:
                self.journal.settled(p.request_id for p in batch)
            except OSError as exc:  # a restart sends them again; the chain refuses repeats
                self.last_error = f"journal: {exc}"
