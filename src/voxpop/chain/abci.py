"""The application interface, mirroring ABCI 2.0 (CometBFT v0.38).

The solo node and the CometBFT adapter both drive exactly this interface, so nothing in the state
machine depends on how blocks are produced. Types are plain dataclasses: adapters translate them to
and from the wire (protobuf for CometBFT, JSON for the HTTP API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple, Protocol


class EventAttribute(NamedTuple):
    # Named tuples, not dataclasses: blocks store thousands of events, and cbor2 encodes tuples
    # natively in C
    key: str
    value: str
    indexed: bool = True


class Event(NamedTuple):
    type: str
    attributes: tuple[EventAttribute, ...] = ()

    def attr(self, key: str) -> str | None:
        for a in self.attributes:
            if a.key == key:
                return a.value
        return None


@dataclass(frozen=True, slots=True)
class ValidatorUpdate:
    """A change of one validator's voting power; power 0 removes it."""

    pub_key_ed25519: bytes
    power: int


@dataclass(frozen=True, slots=True)
class Validator:
    address: bytes  # 20 bytes: first 20 of sha256(consensus pubkey), as CometBFT computes it
    power: int


class BlockIDFlag(IntEnum):
    UNKNOWN = 0
    ABSENT = 1
    COMMIT = 2
    NIL = 3


@dataclass(frozen=True, slots=True)
class VoteInfo:
    validator: Validator
    block_id_flag: BlockIDFlag
    # The validator's vote extension (ExtendedVoteInfo): only in PrepareProposal's
    # local_last_commit, once vote extensions are enabled; empty elsewhere
    vote_extension: bytes = b""


@dataclass(frozen=True, slots=True)
class CommitInfo:
    round: int = 0
    votes: tuple[VoteInfo, ...] = ()


class MisbehaviorType(IntEnum):
    UNKNOWN = 0
    DUPLICATE_VOTE = 1
    LIGHT_CLIENT_ATTACK = 2


@dataclass(frozen=True, slots=True)
class Misbehavior:
    type: MisbehaviorType
    validator: Validator
    height: int
    time_unix: int
    total_voting_power: int


# --- Info / InitChain -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestInfo:
    version: str = ""
    block_version: int = 0
    p2p_version: int = 0
    abci_version: str = ""


@dataclass(frozen=True, slots=True)
class ResponseInfo:
    data: str
    version: str
    app_version: int
    last_block_height: int
    last_block_app_hash: bytes


@dataclass(frozen=True, slots=True)
class RequestInitChain:
    time_unix: int
    chain_id: str
    app_state_bytes: bytes  # the genesis "app_state" as canonical JSON bytes
    validators: tuple[ValidatorUpdate, ...] = ()
    initial_height: int = 1
    # Consensus param abci.vote_extensions_enable_height (0: vote extensions stay off)
    vote_extensions_enable_height: int = 0


@dataclass(frozen=True, slots=True)
class ResponseInitChain:
    validators: tuple[ValidatorUpdate, ...]
    app_hash: bytes


# --- Mempool ----------------------------------------------------------------------------------


class CheckTxType(IntEnum):
    NEW = 0
    RECHECK = 1


@dataclass(frozen=True, slots=True)
class RequestCheckTx:
    tx: bytes
    type: CheckTxType = CheckTxType.NEW


@dataclass(frozen=True, slots=True)
class ResponseCheckTx:
    code: int
    log: str = ""
    codespace: str = ""
    gas_wanted: int = 0
    gas_used: int = 0
    priority: int = 0
    sender: str = ""
    events: tuple[Event, ...] = ()

    @property
    def ok(self) -> bool:
        return self.code == 0


# --- Block production -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestPrepareProposal:
    max_tx_bytes: int
    txs: tuple[bytes, ...]
    height: int
    time_unix: int
    proposer_address: bytes = b""
    local_last_commit: CommitInfo = field(default_factory=CommitInfo)
    misbehavior: tuple[Misbehavior, ...] = ()


@dataclass(frozen=True, slots=True)
class ResponsePrepareProposal:
    txs: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class RequestProcessProposal:
    txs: tuple[bytes, ...]
    height: int
    time_unix: int
    proposer_address: bytes = b""
    hash: bytes = b""
    proposed_last_commit: CommitInfo = field(default_factory=CommitInfo)
    misbehavior: tuple[Misbehavior, ...] = ()


class ProposalStatus(IntEnum):
    UNKNOWN = 0
    ACCEPT = 1
    REJECT = 2


@dataclass(frozen=True, slots=True)
class ResponseProcessProposal:
    status: ProposalStatus


@dataclass(frozen=True, slots=True)
class RequestFinalizeBlock:
    txs: tuple[bytes, ...]
    height: int
    time_unix: int
    proposer_address: bytes = b""
    hash: bytes = b""
    decided_last_commit: CommitInfo = field(default_factory=CommitInfo)
    misbehavior: tuple[Misbehavior, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestExtendVote:
    height: int
    hash: bytes = b""


@dataclass(frozen=True, slots=True)
class ResponseExtendVote:
    vote_extension: bytes = b""


@dataclass(frozen=True, slots=True)
class RequestVerifyVoteExtension:
    validator_address: bytes
    height: int
    vote_extension: bytes
    hash: bytes = b""


class VerifyStatus(IntEnum):
    UNKNOWN = 0
    ACCEPT = 1
    REJECT = 2  # the whole precommit of its sender is refused


@dataclass(frozen=True, slots=True)
class ResponseVerifyVoteExtension:
    status: VerifyStatus


@dataclass(frozen=True, slots=True)
class ExecTxResult:
    code: int
    log: str = ""
    codespace: str = ""
    gas_wanted: int = 0
    gas_used: int = 0
    events: tuple[Event, ...] = ()

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass(frozen=True, slots=True)
class ResponseFinalizeBlock:
    events: tuple[Event, ...]
    tx_results: tuple[ExecTxResult, ...]
    validator_updates: tuple[ValidatorUpdate, ...]
    app_hash: bytes


@dataclass(frozen=True, slots=True)
class ResponseCommit:
    retain_height: int = 0


# --- Query ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestQuery:
    path: str
    data: bytes = b""
    height: int = 0  # 0 = latest committed
    prove: bool = False


@dataclass(frozen=True, slots=True)
class ResponseQuery:
    code: int
    log: str = ""
    codespace: str = ""
    key: bytes = b""
    value: bytes = b""
    proof: bytes = b""  # canonical encoding of a voxpop.store proof, empty unless prove=True
    height: int = 0


class Application(Protocol):
    """What a block producer (solo node or CometBFT) drives. Calls come in ABCI order:
    init_chain once; then per block prepare/process_proposal, (once vote extensions are on)
    extend_vote and verify_vote_extension, finalize_block, commit."""

    def info(self, req: RequestInfo) -> ResponseInfo: ...
    def init_chain(self, req: RequestInitChain) -> ResponseInitChain: ...
    def check_tx(self, req: RequestCheckTx) -> ResponseCheckTx: ...
    def prepare_proposal(self, req: RequestPrepareProposal) -> ResponsePrepareProposal: ...
    def process_proposal(self, req: RequestProcessProposal) -> ResponseProcessProposal: ...
    def extend_vote(self, req: RequestExtendVote) -> ResponseExtendVote: ...
    def verify_vote_extension(
        self, req: RequestVerifyVoteExtension
    ) -> ResponseVerifyVoteExtension: ...
    def finalize_block(self, req: RequestFinalizeBlock) -> ResponseFinalizeBlock: ...
    def commit(self) -> ResponseCommit: ...
    def query(self, req: RequestQuery) -> ResponseQuery: ...
