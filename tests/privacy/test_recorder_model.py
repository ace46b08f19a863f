"""The recorder's pipelined Record txs against a model of the chain's rules for them (exact
sequence numbers, a mempool a block takes in order, evictions as a recheck makes them, a
record once per request): whatever the interleaving of answers, blocks, evictions and grants
ending, every answer is recorded exactly once or, if the chain refuses it for good, dropped,
and reported once. The real chain and node are in test_privacy_node.py; the model is what lets
Hypothesis reach the evictions and refusals a real run rarely shows.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.chain.tx import decode_tx, tx_hash
from voxpop.crypto.keys import PrivateKey
from voxpop.privacy.journal import RecordJournal
from voxpop.privacy.recorder import STALL_SECONDS, Pending, Recorder
from voxpop.storage.chain import TxFailedError

KEY = PrivateKey(bytes([90]) * 32)
GRANT = bytes(32)


@dataclass
class ModelChain:
    address: bytes = KEY.public_key.address
    account: PrivateKey = KEY
    last_height: int = 0
    committed_sequence: int = 0
    mempool: list[tuple[bytes, list[bytes]]] = field(default_factory=list)  # (hash, requests)
    txs: dict[bytes, tuple[int, str]] = field(default_factory=dict)
    on_chain: dict[bytes, int] = field(default_factory=dict)  # request -> height
    ended: set[bytes] = field(default_factory=set)  # requests the chain now refuses

    async def broadcast(self, tx: bytes) -> None:
        decoded, h = decode_tx(tx), tx_hash(tx)
        if any(h == held for held, _ in self.mempool):
            raise TxFailedError("tx_in_mempool", "already in the mempool")
        if decoded.body.sequence != self.committed_sequence + len(self.mempool):
            raise TxFailedError("wrong_sequence", "not the account's next sequence")
        requests = [request for _, request in decoded.body.msgs[0].value["records"]]
        if any(r in self.ended for r in requests):
            raise TxFailedError("consent_grant_not_live", "a record's grant ended")
        pending = {r for _, rs in self.mempool for r in rs}
        seen = set(self.on_chain) | pending
        if any(r in seen for r in requests) or len(set(requests)) != len(requests):
            raise TxFailedError("consent_already_recorded", "recorded before")
        self.mempool.append((h, requests))

    def block(self) -> None:
        self.last_height += 1
        for h, requests in self.mempool:
            self.committed_sequence += 1
            if any(r in self.ended for r in requests):
                self.txs[h] = (self.last_height, "consent_grant_not_live")
                continue
            assert not any(r in self.on_chain for r in requests), "recorded twice"
            for r in requests:
                self.on_chain[r] = self.last_height
            self.txs[h] = (self.last_height, "")
        self.mempool.clear()

    def evict(self, at: int) -> None:
        """A recheck refused the tx at `at`: it and this account's later ones leave."""
        del self.mempool[at:]

    async def landed(self, h: bytes) -> tuple[int, str] | None:
        return self.txs.get(h)

    async def sequence(self) -> int:
        return self.committed_sequence

    async def chain_id_once(self) -> str:
        return "model"

    async def fee(self, gas_limit: int) -> int:
        return gas_limit // 1_000

    def forget_fees(self) -> None:
        return None

    async def recorded(self, grant_id: bytes, request_id: bytes) -> bool:
        return request_id in self.on_chain


OPS = st.one_of(
    st.tuples(st.just("answer"), st.integers(1, 70)),
    st.tuples(st.just("tick"), st.integers(0, 0)),
    st.tuples(st.just("block"), st.integers(0, 0)),
    st.tuples(st.just("evict"), st.integers(0, 8)),
    st.tuples(st.just("end"), st.integers(0, 1_000)),
    st.tuples(st.just("wait"), st.integers(1, 30)),  # tenths of a second
)


def run(ops: list[tuple[str, int]], journal: RecordJournal | None) -> None:
    chain = ModelChain()
    now = [0.0]
    outcomes: dict[bytes, list[int]] = {}

    def on_recorded(pending: Pending, height: int) -> None:
        outcomes.setdefault(pending.request_id, []).append(height)

    recorder = Recorder(chain, on_recorded, journal, max_per_tx=16, clock=lambda: now[0])
    recorder.restore()
    answered: list[bytes] = []

    async def scenario() -> None:
        for op, n in ops:
            if op == "answer":
                for _ in range(n):
                    request = len(answered).to_bytes(8, "big")
                    answered.append(request)
                    recorder.add(b"answer" + request, request, GRANT, request, 1_000)
            elif op == "tick":
                await recorder.pump()
            elif op == "block":
                chain.block()
            elif op == "evict" and chain.mempool:
                chain.evict(n % len(chain.mempool))
            elif op == "end" and answered:
                chain.ended.add(answered[n % len(answered)])
            elif op == "wait":
                now[0] += n / 10
        for _ in range(400):  # then blocks and ticks until everything settled
            if recorder.idle:
                break
            now[0] += STALL_SECONDS / 4
            await recorder.pump()
            chain.block()
        assert recorder.idle

    asyncio.run(scenario())
    # Verify each answer is reported once: recorded on chain, or dropped only if refused for good
    assert sorted(outcomes) == sorted(answered)
    for request in answered:
        (height,) = outcomes[request]
        if request in chain.on_chain:
            assert height >= chain.on_chain[request] > 0
        else:
            assert height == 0 and request in chain.ended
    assert recorder.dropped == sum(1 for r in answered if r not in chain.on_chain)
    if journal is not None:
        assert journal.open == {}


@settings(max_examples=150, deadline=None)
@given(st.lists(OPS, max_size=60))
def test_every_answer_recorded_once(ops: list[tuple[str, int]]) -> None:
    run(ops, None)


@settings(max_examples=20, deadline=None)
@given(st.lists(OPS, max_size=30))
def test_journal_settles_every_answer(ops: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        journal = RecordJournal(Path(tmp) / "records.journal")
        try:
            run(ops, journal)
        finally:
            journal.close()


def test_a_burst_goes_out_in_several_txs_before_a_block() -> None:
    """A backlog of three txs' worth is sent at once, three sequences in flight, and one block
    lands them all: the pipelining the real node shows only when answers outrun its blocks."""
    chain = ModelChain()
    landed: list[int] = []
    recorder = Recorder(chain, lambda _, height: landed.append(height), max_per_tx=16)

    async def scenario() -> None:
        for i in range(48):
            request = i.to_bytes(8, "big")
            recorder.add(b"answer" + request, request, GRANT, request, 1_000)
        await recorder.pump()
        assert [entry.sequence for entry in recorder.in_flight] == [0, 1, 2]
        assert len(chain.mempool) == 3 and not recorder.queue
        chain.block()
        await recorder.pump()

    asyncio.run(scenario())
    assert recorder.peak_in_flight == 3 and recorder.idle
    assert landed == [1] * 48 and recorder.record_txs == 3
