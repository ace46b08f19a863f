"""Protobuf (CometBFT v0.38 ABCI) <-> voxpop.chain.abci dataclasses.

Thin and mechanical: field for field, no business rules. Conventions:
- Timestamps become whole Unix seconds (`time_unix`); nanoseconds are dropped.
- Validator keys are Ed25519 only (CometBFT's default `pub_key_types`); any other key type in a
  request raises UnsupportedKeyType, which the server reports to CometBFT as an exception.
- `app_state_bytes` is handed to the app as canonical JSON (sorted keys, no whitespace, ASCII
  escapes: what `voxpop.chain.genesis.Genesis.app_state_bytes` gives the solo node), so the bytes
  do not depend on how genesis.json happens to be formatted.
- A query proof (our own encoding) travels as one ProofOp of type `PROOF_OP_TYPE`.
- Fields our dataclasses lack are left at their protobuf defaults (`data`, `info`, consensus
  param updates) or dropped (`priority`/`sender` of ResponseCheckTx, removed in v0.38; of the
  consensus params in InitChain only `abci.vote_extensions_enable_height` is kept).
- Vote extensions (the beacon's VRF proofs) travel in ExtendVote/VerifyVoteExtension and in
  PrepareProposal's ExtendedCommitInfo; CometBFT's own signature over each is not passed on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from voxpop.abci.event_index import EventIndex
from voxpop.abci.proto import abci_pb2, keys_pb2, proof_pb2
from voxpop.chain.abci import (
    BlockIDFlag,
    CheckTxType,
    CommitInfo,
    Event,
    EventAttribute,
    ExecTxResult,
    Misbehavior,
    MisbehaviorType,
    RequestCheckTx,
    RequestExtendVote,
    RequestFinalizeBlock,
    RequestInfo,
    RequestInitChain,
    RequestPrepareProposal,
    RequestProcessProposal,
    RequestQuery,
    RequestVerifyVoteExtension,
    ResponseCheckTx,
    ResponseCommit,
    ResponseExtendVote,
    ResponseFinalizeBlock,
    ResponseInfo,
    ResponseInitChain,
    ResponsePrepareProposal,
    ResponseProcessProposal,
    ResponseQuery,
    ResponseVerifyVoteExtension,
    Validator,
    ValidatorUpdate,
    VoteInfo,
)

PROOF_OP_TYPE = "voxpop"

# Protobuf messages are typed loosely: their stubs exist only after the build step.
Pb = Any


class UnsupportedKeyType(ValueError):
    """A validator public key that is not Ed25519."""


# --- shared pieces ----------------------------------------------------------------------------


def canonical_json(raw: bytes) -> bytes:
    """Re-encode a JSON document canonically; empty input stays empty.

    Raises ValueError if `raw` is not valid JSON.
    """
    if not raw.strip():
        return b""
    value = json.loads(raw)
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def validator_update_from_pb(pb: Pb) -> ValidatorUpdate:
    if pb.pub_key.WhichOneof("sum") != "ed25519":
        raise UnsupportedKeyType(f"validator key type {pb.pub_key.WhichOneof('sum')!r}")
    return ValidatorUpdate(pub_key_ed25519=bytes(pb.pub_key.ed25519), power=pb.power)


def validator_update_to_pb(update: ValidatorUpdate) -> Pb:
    return abci_pb2.ValidatorUpdate(
        pub_key=keys_pb2.PublicKey(ed25519=update.pub_key_ed25519), power=update.power
    )


def validator_from_pb(pb: Pb) -> Validator:
    return Validator(address=bytes(pb.address), power=pb.power)


def commit_info_from_pb(pb: Pb) -> CommitInfo:
    """CommitInfo or ExtendedCommitInfo (whose votes carry their vote extensions)."""
    return CommitInfo(
        round=pb.round,
        votes=tuple(
            VoteInfo(
                validator=validator_from_pb(v.validator),
                block_id_flag=BlockIDFlag(v.block_id_flag),
                vote_extension=bytes(getattr(v, "vote_extension", b"")),
            )
            for v in pb.votes
        ),
    )


def misbehavior_from_pb(pbs: Iterable[Pb]) -> tuple[Misbehavior, ...]:
    return tuple(
        Misbehavior(
            type=MisbehaviorType(m.type),
            validator=validator_from_pb(m.validator),
            height=m.height,
            time_unix=m.time.seconds,
            total_voting_power=m.total_voting_power,
        )
        for m in pbs
    )


def events_to_pb(events: Iterable[Event], index: EventIndex | None = None) -> list[Pb]:
    """Events for CometBFT; an attribute is marked for its tx indexer only if the app marks it
    and the node's `index` (None: every attribute) names it."""
    return [
        abci_pb2.Event(
            type=e.type,
            attributes=[
                abci_pb2.EventAttribute(
                    key=a.key,
                    value=a.value,
                    index=a.indexed and (index is None or index.names(e.type, a.key)),
                )
                for a in e.attributes
            ],
        )
        for e in events
    ]


def events_from_pb(pbs: Iterable[Pb]) -> tuple[Event, ...]:
    return tuple(
        Event(
            type=e.type,
            attributes=tuple(
                EventAttribute(key=a.key, value=a.value, indexed=a.index) for a in e.attributes
            ),
        )
        for e in pbs
    )


# --- requests (CometBFT -> app) ---------------------------------------------------------------


def info_request_from_pb(pb: Pb) -> RequestInfo:
    return RequestInfo(
        version=pb.version,
        block_version=pb.block_version,
        p2p_version=pb.p2p_version,
        abci_version=pb.abci_version,
    )


def init_chain_request_from_pb(pb: Pb) -> RequestInitChain:
    return RequestInitChain(
        time_unix=pb.time.seconds,
        chain_id=pb.chain_id,
        app_state_bytes=canonical_json(pb.app_state_bytes),
        validators=tuple(validator_update_from_pb(v) for v in pb.validators),
        initial_height=pb.initial_height or 1,
        vote_extensions_enable_height=pb.consensus_params.abci.vote_extensions_enable_height,
    )


def check_tx_request_from_pb(pb: Pb) -> RequestCheckTx:
    return RequestCheckTx(tx=bytes(pb.tx), type=CheckTxType(pb.type))


def prepare_proposal_request_from_pb(pb: Pb) -> RequestPrepareProposal:
    return RequestPrepareProposal(
        max_tx_bytes=pb.max_tx_bytes,
        txs=tuple(bytes(tx) for tx in pb.txs),
        height=pb.height,
        time_unix=pb.time.seconds,
        proposer_address=bytes(pb.proposer_address),
        local_last_commit=commit_info_from_pb(pb.local_last_commit),
        misbehavior=misbehavior_from_pb(pb.misbehavior),
    )


def process_proposal_request_from_pb(pb: Pb) -> RequestProcessProposal:
    return RequestProcessProposal(
        txs=tuple(bytes(tx) for tx in pb.txs),
        height=pb.height,
        time_unix=pb.time.seconds,
        proposer_address=bytes(pb.proposer_address),
        hash=bytes(pb.hash),
        proposed_last_commit=commit_info_from_pb(pb.proposed_last_commit),
        misbehavior=misbehavior_from_pb(pb.misbehavior),
    )


def finalize_block_request_from_pb(pb: Pb) -> RequestFinalizeBlock:
    return RequestFinalizeBlock(
        txs=tuple(bytes(tx) for tx in pb.txs),
        height=pb.height,
        time_unix=pb.time.seconds,
        proposer_address=bytes(pb.proposer_address),
        hash=bytes(pb.hash),
        decided_last_commit=commit_info_from_pb(pb.decided_last_commit),
        misbehavior=misbehavior_from_pb(pb.misbehavior),
    )


def extend_vote_request_from_pb(pb: Pb) -> RequestExtendVote:
    return RequestExtendVote(height=pb.height, hash=bytes(pb.hash))


def verify_vote_extension_request_from_pb(pb: Pb) -> RequestVerifyVoteExtension:
    return RequestVerifyVoteExtension(
        validator_address=bytes(pb.validator_address),
        height=pb.height,
        vote_extension=bytes(pb.vote_extension),
        hash=bytes(pb.hash),
    )


def query_request_from_pb(pb: Pb) -> RequestQuery:
    return RequestQuery(path=pb.path, data=bytes(pb.data), height=pb.height, prove=pb.prove)


# --- responses (app -> CometBFT) --------------------------------------------------------------


def info_response_to_pb(resp: ResponseInfo) -> Pb:
    return abci_pb2.ResponseInfo(
        data=resp.data,
        version=resp.version,
        app_version=resp.app_version,
        last_block_height=resp.last_block_height,
        last_block_app_hash=resp.last_block_app_hash,
    )


def init_chain_response_to_pb(resp: ResponseInitChain) -> Pb:
    return abci_pb2.ResponseInitChain(
        validators=[validator_update_to_pb(v) for v in resp.validators], app_hash=resp.app_hash
    )


def check_tx_response_to_pb(resp: ResponseCheckTx) -> Pb:
    return abci_pb2.ResponseCheckTx(
        code=resp.code,
        log=resp.log,
        codespace=resp.codespace,
        gas_wanted=resp.gas_wanted,
        gas_used=resp.gas_used,
        events=events_to_pb(resp.events),
    )


def prepare_proposal_response_to_pb(resp: ResponsePrepareProposal) -> Pb:
    return abci_pb2.ResponsePrepareProposal(txs=list(resp.txs))


def process_proposal_response_to_pb(resp: ResponseProcessProposal) -> Pb:
    return abci_pb2.ResponseProcessProposal(status=resp.status.name)


def extend_vote_response_to_pb(resp: ResponseExtendVote) -> Pb:
    return abci_pb2.ResponseExtendVote(vote_extension=resp.vote_extension)


def verify_vote_extension_response_to_pb(resp: ResponseVerifyVoteExtension) -> Pb:
    return abci_pb2.ResponseVerifyVoteExtension(status=resp.status.name)


def exec_tx_result_to_pb(result: ExecTxResult, index: EventIndex | None = None) -> Pb:
    return abci_pb2.ExecTxResult(
        code=result.code,
        log=result.log,
        codespace=result.codespace,
        gas_wanted=result.gas_wanted,
        gas_used=result.gas_used,
        events=events_to_pb(result.events, index),
    )


def finalize_block_response_to_pb(
    resp: ResponseFinalizeBlock, index: EventIndex | None = None
) -> Pb:
    return abci_pb2.ResponseFinalizeBlock(
        events=events_to_pb(resp.events, index),
        tx_results=[exec_tx_result_to_pb(r, index) for r in resp.tx_results],
        validator_updates=[validator_update_to_pb(v) for v in resp.validator_updates],
        app_hash=resp.app_hash,
    )


def commit_response_to_pb(resp: ResponseCommit) -> Pb:
    return abci_pb2.ResponseCommit(retain_height=resp.retain_height)


def query_response_to_pb(resp: ResponseQuery) -> Pb:
    proof_ops = (
        proof_pb2.ProofOps(
            ops=[proof_pb2.ProofOp(type=PROOF_OP_TYPE, key=resp.key, data=resp.proof)]
        )
        if resp.proof
        else None
    )
    return abci_pb2.ResponseQuery(
        code=resp.code,
        log=resp.log,
        codespace=resp.codespace,
        key=resp.key,
        value=resp.value,
        proof_ops=proof_ops,
        height=resp.height,
    )
