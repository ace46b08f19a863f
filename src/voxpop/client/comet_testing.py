"""Make CometBFT light blocks signed by keys you hold, in CometBFT's RPC JSON: a chain for tests
and benchmarks of the light client, and the forgeries it must refuse.

The encodings are comet.py's, which tests check against blocks recorded from real CometBFT.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from voxpop.client.comet import (
    BLOCK_ID_FLAG_ABSENT,
    BLOCK_ID_FLAG_COMMIT,
    BlockID,
    Commit,
    CommitSig,
    Header,
    SignedHeader,
    Timestamp,
    Validator,
    ValidatorSet,
)
from voxpop.client.light_rules import LightBlock
from voxpop.crypto.keys import PrivateKey

BLOCK_INTERVAL_NS = 1_000_000_000


def validator_set(keys: Sequence[PrivateKey], powers: Sequence[int]) -> ValidatorSet:
    """CometBFT's order: by power, descending, then by address."""
    vals = [Validator(k.public_key.raw, p) for k, p in zip(keys, powers, strict=True)]
    return ValidatorSet(tuple(sorted(vals, key=lambda v: (-v.voting_power, v.address))))


def sign_commit(
    header: Header,
    vals: ValidatorSet,
    keys: Sequence[PrivateKey],
    *,
    chain_id: str | None = None,
    signers: Sequence[int] | None = None,
    block_id: BlockID | None = None,
) -> Commit:
    """The commit of `header` by the validators at indexes `signers` (all by default), signing
    over `block_id` (the header's by default) on `chain_id` (the header's by default)."""
    by_pub = {k.public_key.raw: k for k in keys}
    bid = block_id or BlockID(header.hash(), 1, hashlib.sha256(header.hash()).digest())
    chosen = range(len(vals.validators)) if signers is None else signers
    sigs = [
        CommitSig(
            BLOCK_ID_FLAG_COMMIT if i in chosen else BLOCK_ID_FLAG_ABSENT,
            v.address if i in chosen else b"",
            Timestamp(header.time.seconds, header.time.nanos + 1)
            if i in chosen
            else Timestamp(0, 0),
            b"",
        )
        for i, v in enumerate(vals.validators)
    ]
    commit = Commit(header.height, 0, bid, tuple(sigs))
    signed = []
    for i, sig in enumerate(sigs):
        if sig.block_id_flag == BLOCK_ID_FLAG_COMMIT:
            msg = commit.vote_sign_bytes(chain_id or header.chain_id, i)
            sig = replace(sig, signature=by_pub[vals.validators[i].pub_key].sign(msg))
        signed.append(sig)
    return Commit(header.height, 0, bid, tuple(signed))


@dataclass
class ChainMaker:
    """A chain of light blocks: `next_block()` appends one, with `next_vals` taking over as
    CometBFT does (the set named in header H's next_validators_hash signs H+1)."""

    chain_id: str
    keys: list[PrivateKey]
    vals: ValidatorSet
    start_ns: int
    blocks: dict[int, LightBlock] = field(default_factory=dict)

    @classmethod
    def create(cls, chain_id: str, n: int, start_ns: int, power: int = 10) -> ChainMaker:
        keys = [PrivateKey(hashlib.sha256(f"{chain_id}/{i}".encode()).digest()) for i in range(n)]
        return cls(chain_id, keys, validator_set(keys, [power] * n), start_ns)

    def next_block(
        self, next_vals: ValidatorSet | None = None, app_hash: bytes | None = None
    ) -> LightBlock:
        height = len(self.blocks) + 1
        prev = self.blocks.get(height - 1)
        following = next_vals or self.vals
        ns = self.start_ns + height * BLOCK_INTERVAL_NS
        header = Header(
            version_block=11,
            version_app=0,
            chain_id=self.chain_id,
            height=height,
            time=Timestamp(ns // 1_000_000_000, ns % 1_000_000_000),
            last_block_id=prev.signed_header.commit.block_id if prev else BlockID(b"", 0, b""),
            last_commit_hash=hashlib.sha256(b"last commit %d" % height).digest(),
            data_hash=hashlib.sha256(b"").digest(),
            validators_hash=self.vals.hash(),
            next_validators_hash=following.hash(),
            consensus_hash=hashlib.sha256(b"params").digest(),
            app_hash=app_hash if app_hash is not None else hashlib.sha256(b"%d" % height).digest(),
            last_results_hash=hashlib.sha256(b"").digest(),
            evidence_hash=hashlib.sha256(b"").digest(),
            proposer_address=self.vals.validators[0].address,
        )
        block = LightBlock(
            SignedHeader(header, sign_commit(header, self.vals, self.keys)), self.vals
        )
        self.blocks[height] = block
        self.vals = following
        return block


# --- CometBFT's RPC JSON ------------------------------------------------------------------------


def rfc3339(t: Timestamp) -> str:
    base = datetime.fromtimestamp(t.seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{t.nanos:09d}Z" if t.nanos else f"{base}Z"


def _block_id_json(b: BlockID) -> dict[str, Any]:
    return {
        "hash": b.hash.hex().upper(),
        "parts": {"total": b.parts_total, "hash": b.parts_hash.hex().upper()},
    }


def signed_header_json(sh: SignedHeader) -> dict[str, Any]:
    h, c = sh.header, sh.commit
    return {
        "header": {
            "version": {"block": str(h.version_block), "app": str(h.version_app)},
            "chain_id": h.chain_id,
            "height": str(h.height),
            "time": rfc3339(h.time),
            "last_block_id": _block_id_json(h.last_block_id),
            "last_commit_hash": h.last_commit_hash.hex().upper(),
            "data_hash": h.data_hash.hex().upper(),
            "validators_hash": h.validators_hash.hex().upper(),
            "next_validators_hash": h.next_validators_hash.hex().upper(),
            "consensus_hash": h.consensus_hash.hex().upper(),
            "app_hash": h.app_hash.hex().upper(),
            "last_results_hash": h.last_results_hash.hex().upper(),
            "evidence_hash": h.evidence_hash.hex().upper(),
            "proposer_address": h.proposer_address.hex().upper(),
        },
        "commit": {
            "height": str(c.height),
            "round": c.round,
            "block_id": _block_id_json(c.block_id),
            "signatures": [
                {
                    "block_id_flag": s.block_id_flag,
                    "validator_address": s.validator_address.hex().upper(),
                    "timestamp": rfc3339(s.timestamp)
                    if s.timestamp.seconds
                    else "0001-01-01T00:00:00Z",
                    "signature": base64.b64encode(s.signature).decode() if s.signature else None,
                }
                for s in c.signatures
            ],
        },
    }


def validators_json(vals: ValidatorSet) -> list[dict[str, Any]]:
    return [
        {
            "address": v.address.hex().upper(),
            "pub_key": {
                "type": "tendermint/PubKeyEd25519",
                "value": base64.b64encode(v.pub_key).decode(),
            },
            "voting_power": str(v.voting_power),
            "proposer_priority": "0",
        }
        for v in vals.validators
    ]
