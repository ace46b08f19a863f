"""The beacon entry: the validators' vote extensions, carried as the first tx of a block.

Format (canonical CBOR): {"beacon": [[consensus address (20 bytes), VRF proof (80 bytes)], ...]},
pairs in ascending address order, each address once. Its first bytes (a one-key map whose key is
"beacon") can never start a tx, which is a three-key map, so ordinary tx decoding refuses it: it
cannot enter a mempool, and only a proposer places it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise

from voxpop.chain.abci import BlockIDFlag, CommitInfo
from voxpop.chain.encoding import decode_canonical, encode
from voxpop.chain.errors import (
    BeaconEntryMalformedError,
    BeaconEntryMissingError,
    BeaconEntryUnexpectedError,
    BeaconPowerTooLowError,
    BeaconProofInvalidError,
    BeaconUnknownValidatorError,
)
from voxpop.chain.kv import KVReader
from voxpop.chain.modules.beacon import state
from voxpop.crypto import vrf

ENTRY_KEY = "beacon"
MARKER = encode({ENTRY_KEY: []})[:8]  # 0xa1, text(6) "beacon": the map's head and its key
# At most this many pairs (more than any validator set CometBFT runs well with)
MAX_VOTES = 1_000

Votes = list[tuple[bytes, bytes]]


def is_entry(raw: bytes) -> bool:
    return raw.startswith(MARKER)


def encode_entry(votes: Sequence[tuple[bytes, bytes]]) -> bytes:
    return encode({ENTRY_KEY: [[address, proof] for address, proof in sorted(votes)]})


def decode_entry(raw: bytes) -> Votes:
    """The (address, proof) pairs. Raises BeaconEntryMalformedError."""
    try:
        doc = decode_canonical(raw)
    except Exception:  # whatever the decoder says: not an entry
        raise BeaconEntryMalformedError("beacon entry is not canonical CBOR") from None
    # Verify the shape: one key, a bounded list of [20-byte address, 80-byte proof] pairs
    if not isinstance(doc, dict) or set(doc) != {ENTRY_KEY} or not isinstance(doc[ENTRY_KEY], list):
        raise BeaconEntryMalformedError("beacon entry must be a map of exactly beacon: [pairs]")
    pairs = doc[ENTRY_KEY]
    if len(pairs) > MAX_VOTES:
        raise BeaconEntryMalformedError(f"beacon entry holds more than {MAX_VOTES} pairs")
    votes: Votes = []
    for pair in pairs:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not isinstance(pair[0], bytes)
            or len(pair[0]) != state.ADDRESS_LEN
            or not isinstance(pair[1], bytes)
            or len(pair[1]) != vrf.PROOF_SIZE
        ):
            raise BeaconEntryMalformedError("each pair must be [20-byte address, 80-byte proof]")
        votes.append((pair[0], pair[1]))
    # Verify ascending addresses, each once (so one entry has one encoding)
    if any(a[0] >= b[0] for a, b in pairwise(votes)):
        raise BeaconEntryMalformedError("pairs must be in strictly ascending address order")
    return votes


def proof_output(
    reader: KVReader, chain_id: str, height: int, address: bytes, proof: bytes
) -> bytes | None:
    """The VRF output of a validator's extension for the votes of `height`, or None if the proof
    is not valid for its key (or the validator is unknown)."""
    key = state.validator_key(reader, address)
    if key is None:
        return None
    return _verified(key, state.vrf_input(chain_id, height), proof)


@lru_cache(maxsize=4_096)
def _verified(key: bytes, alpha: bytes, proof: bytes) -> bytes | None:
    """vrf.verify, remembered: a node checks each proof when the vote arrives
    (VerifyVoteExtension) and again in the block (PrepareProposal, ProcessProposal); a pure
    function of its arguments, so the answer is the same whenever it is asked."""
    return vrf.verify(key, alpha, proof)


def build_entry(
    reader: KVReader, chain_id: str, height: int, last_commit: CommitInfo
) -> bytes | None:
    """The entry a proposer of `height` puts first: every valid extension it has (an honest
    proposer leaves none out), or None where the block needs none."""
    if not state.entry_required(reader, height):
        return None
    votes = [
        (v.validator.address, v.vote_extension)
        for v in last_commit.votes
        if v.block_id_flag == BlockIDFlag.COMMIT
        and proof_output(reader, chain_id, height - 1, v.validator.address, v.vote_extension)
    ]
    return encode_entry(votes)


def check_entry(
    reader: KVReader, chain_id: str, height: int, txs: Sequence[bytes], last_commit: CommitInfo
) -> None:
    """ProcessProposal's rules for the block at `height` (its txs, and the previous height's
    validator set with powers, as CometBFT gives it in `last_commit`).

    Raises BeaconEntryMissingError, BeaconEntryUnexpectedError, BeaconEntryMalformedError,
    BeaconUnknownValidatorError, BeaconProofInvalidError, BeaconPowerTooLowError."""
    present = bool(txs) and is_entry(txs[0])
    # Verify an entry exactly where the previous height's votes carried extensions
    if not state.entry_required(reader, height):
        if present:
            raise BeaconEntryUnexpectedError(f"block {height} must not carry a beacon entry")
        return
    if not present:
        raise BeaconEntryMissingError(f"block {height} must start with a beacon entry")
    votes = decode_entry(txs[0])
    powers = {v.validator.address: v.validator.power for v in last_commit.votes}
    included = 0
    for address, proof in votes:
        # Verify each pair is from the last validator set, with a valid proof for its key
        if address not in powers:
            raise BeaconUnknownValidatorError(
                f"{address.hex()} is not in the validator set of height {height - 1}"
            )
        if proof_output(reader, chain_id, height - 1, address, proof) is None:
            raise BeaconProofInvalidError(f"the proof of {address.hex()} does not verify")
        included += powers[address]
    # Verify more than 2/3 of the last set's power: the proposer cannot pick a small subset
    total = sum(powers.values())
    if included * 3 <= total * 2:
        raise BeaconPowerTooLowError(f"beacon entry covers {included} of {total} power")


def entry_outputs(raw: bytes) -> list[tuple[bytes, bytes]]:
    """(address, VRF output) of a committed block's entry (its proofs were checked when it was
    proposed). Raises BeaconEntryMalformedError."""
    try:
        return [(address, vrf.proof_to_hash(proof)) for address, proof in decode_entry(raw)]
    except vrf.VrfError:
        raise BeaconEntryMalformedError("a proof's Gamma is not a curve point") from None
