"""What the client returns, besides the node's own records (voxpop.node.service: BlockRecord,
TxRecord, NodeStatus, BroadcastResult), which it reuses as they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ProvenEntry:
    """One state entry as the node reported it, with its Merkle proof (canonical encoding)."""

    key: bytes
    value: bytes  # empty when the key is absent
    proof: bytes


@dataclass(frozen=True, slots=True)
class QueryResult:
    key: bytes
    value: bytes  # empty when the key is absent
    proof: bytes  # empty unless prove=True
    height: int
    verified: bool  # True only when the proof, header and header signature all verified


@dataclass(frozen=True, slots=True)
class AccountInfo:
    address: str
    balance: int  # uvox
    sequence: int  # the sequence the account's next tx must carry
    pub_key: bytes | None  # None until the account signs its first tx
    height: int
    balance_entry: ProvenEntry | None = None  # with prove=True
    account_entry: ProvenEntry | None = None
    verified: bool = False


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One Server-Sent Event from /v1/stream: kind "block" or "tx", and its JSON data."""

    kind: str
    id: str
    data: dict[str, Any]

    @property
    def height(self) -> int:
        value = self.data.get("height", 0)
        return value if isinstance(value, int) else 0
