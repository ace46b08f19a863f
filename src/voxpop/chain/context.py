"""What a handler sees: the block it runs in, metered state access, and an event log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from voxpop.chain.abci import CommitInfo, Event, EventAttribute, Misbehavior
from voxpop.chain.gas import GasMeter, GasSchedule
from voxpop.chain.kv import Branch


@dataclass(frozen=True, slots=True)
class BlockInfo:
    chain_id: str
    height: int
    time_unix: int  # the block's time from consensus, never the wall clock
    proposer: bytes = b""
    # Who signed the previous block, and evidence of misbehavior: inputs to slashing
    last_commit: CommitInfo = field(default_factory=CommitInfo)
    misbehavior: tuple[Misbehavior, ...] = ()


@dataclass(slots=True)
class Context:
    block: BlockInfo
    store: Branch
    gas: GasMeter
    schedule: GasSchedule
    events: list[Event] = field(default_factory=list)
    is_check: bool = False  # running in check_tx: state is the mempool's branch

    def get(self, key: bytes) -> bytes | None:
        value = self.store.get(key)
        self.gas.consume(
            self.schedule.read_flat + self.schedule.read_byte * (len(value) if value else 0), "read"
        )
        return value

    def set(self, key: bytes, value: bytes) -> None:
        self.gas.consume(
            self.schedule.write_flat + self.schedule.write_byte * (len(key) + len(value)), "write"
        )
        self.store.set(key, value)

    def delete(self, key: bytes) -> None:
        self.gas.consume(self.schedule.delete, "delete")
        self.store.delete(key)

    def iterate(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for item in self.store.iterate(prefix):
            self.gas.consume(self.schedule.iter_step, "iterate")
            yield item

    def emit(self, type_: str, **attributes: str) -> None:
        if self.is_check:
            return  # check_tx results carry no events; building them would only cost time
        self.events.append(Event(type_, tuple(EventAttribute(k, v) for k, v in attributes.items())))

    def branch(self) -> Context:
        """A child context whose writes and events are kept only if it is written back."""
        return Context(self.block, Branch(self.store), self.gas, self.schedule, [], self.is_check)

    def write(self, child: Context) -> None:
        child.store.write()
        self.events.extend(child.events)
