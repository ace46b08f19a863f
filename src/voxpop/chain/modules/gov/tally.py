"""The tally: bonded stake behind each option, from state at the end of the voting period.

Who counts (as in Cosmos x/gov): every vote weighs the voter's delegations to bonded validators,
valued at the validator's current exchange rate (rounded down). A bonded validator whose operator
voted also casts the rest of its tokens (those of delegators who did not vote themselves) its
own way; a delegator's vote thus overrides its validator's for its share, and a delegator who does
not vote inherits its validator's vote. Stake behind a validator that did not vote, and behind
a delegator who did not vote, counts for nothing.

The tally keeps the list it counted, one entry per weight cast, in order (voter, then kind):

    [voter 20, kind, weight, [[option, part], ...], [[operator 20, shares], ...]]

kind 0 is the voter's own delegations, listed whole (every validator it delegates to, bonded or
not, with its shares: the same set staking's by-delegator index commits to); kind 1 is a
validator's inherited rest (no delegations listed). A client thus proves each entry from state at
the tally's height: the vote, the delegator's index commitment, each delegation and validator.

The tally commits to the list with a count and the RFC 6962 Merkle root of the entries'
canonical CBOR (the list pattern of chain/listing.py), so a client can recompute the totals from
the list and check each entry against proven state at the tally's height.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from voxpop.chain.encoding import decode_state, decode_uint, encode
from voxpop.chain.kv import KVReader
from voxpop.chain.listing import merkle_root
from voxpop.chain.modules.gov import state
from voxpop.chain.modules.gov.state import WEIGHT_ONE, TallyResult, VoteOption
from voxpop.chain.modules.staking.state import (
    DELEGATION_PREFIX,
    DELEGATIONS_BY_DELEGATOR,
    VALIDATOR_PREFIX,
    Status,
)

OWN = 0  # an entry for the voter's own delegations
INHERITED = 1  # an entry for a validator's tokens not covered by its delegators' own votes
CHUNK_ENTRIES = 256  # entries per gov/tl/ key

# (voter, kind, weight, [[option, part], ...], [[operator, shares], ...])
Entry = tuple[bytes, int, int, list[list[int]], list[list[Any]]]


@dataclass(frozen=True, slots=True)
class Totals:
    yes: int = 0
    abstain: int = 0
    no: int = 0
    no_with_veto: int = 0


def compute_entries(reader: KVReader, proposal_id: int) -> tuple[list[Entry], int]:
    """The tally list of a proposal and the bonded tokens, from `reader` (state at the tally).

    Reads each bonded validator once, each voter's delegation index and each of its delegations:
    O(validators + votes + the voters' delegations), independent of how many delegations other
    accounts hold."""
    bonded: dict[bytes, tuple[int, int]] = {}  # operator -> (tokens, shares)
    for key, raw in reader.iterate(VALIDATOR_PREFIX):
        val = decode_state(raw)
        if val["status"] == Status.BONDED:
            bonded[key[len(VALIDATOR_PREFIX) :]] = (val["tokens"], val["shares"])
    covered: dict[bytes, int] = {}  # operator -> tokens its voting delegators cast themselves
    validator_votes: dict[bytes, list[list[int]]] = {}
    own: list[Entry] = []
    index = DELEGATIONS_BY_DELEGATOR.index_prefix
    for voter, options in state.iter_votes(reader, proposal_id):
        if voter in bonded:
            validator_votes[voter] = options
        weight = 0
        delegations: list[list[Any]] = []
        prefix = index + voter
        for key, _ in reader.iterate(prefix):
            operator = key[len(prefix) :]
            held = reader.get(DELEGATION_PREFIX + operator + voter)
            shares = decode_uint(held) if held else 0
            delegations.append([operator, shares])
            val = bonded.get(operator)
            if val is None:
                continue
            worth = compute_worth(shares, *val)
            covered[operator] = covered.get(operator, 0) + worth
            weight += worth
        own.append((voter, OWN, weight, options, delegations))
    inherited: list[Entry] = [
        (operator, INHERITED, bonded[operator][0] - covered.get(operator, 0), options, [])
        for operator, options in validator_votes.items()
    ]
    # (voter, kind) is unique, so tuples sort by it; `own` is already in voter order
    entries = sorted(own + inherited)
    return entries, sum(tokens for tokens, _ in bonded.values())


def compute_worth(shares: int, tokens: int, total_shares: int) -> int:
    """What `shares` of a validator with `tokens` behind `total_shares` are worth (as staking's
    compute_tokens: rounded down, all of them exactly its tokens)."""
    if shares == total_shares:
        return tokens
    return shares * tokens // total_shares if total_shares else 0


def compute_totals(entries: Iterable[Entry]) -> Totals:
    """Per-option totals: each entry's weight split by its parts (each share rounded down)."""
    sums = {option: 0 for option in VoteOption}
    for _, _, weight, options, _ in entries:
        for option, part in options:
            sums[VoteOption(option)] += weight * part // WEIGHT_ONE
    return Totals(
        sums[VoteOption.YES],
        sums[VoteOption.ABSTAIN],
        sums[VoteOption.NO],
        sums[VoteOption.NO_WITH_VETO],
    )


def encode_entry(entry: Entry) -> bytes:
    return encode(list(entry))


def entries_root(entries: Sequence[Entry]) -> bytes:
    return merkle_root(encode_entry(e) for e in entries)


def chunk_entries(entries: Sequence[Entry]) -> list[bytes]:
    """The list as stored: CBOR lists of up to CHUNK_ENTRIES entries each."""
    return chunk_leaves([encode_entry(e) for e in entries])


def chunk_leaves(leaves: Sequence[bytes]) -> list[bytes]:
    """`chunk_entries` from the entries' encodings: a canonical CBOR array is its header and
    its items' encodings, so each entry is encoded once for the root and the chunks."""
    return [
        array_header(len(part)) + b"".join(part)
        for part in (leaves[i : i + CHUNK_ENTRIES] for i in range(0, len(leaves), CHUNK_ENTRIES))
    ]


def array_header(n: int) -> bytes:
    """The canonical CBOR header of an array of `n` items (n < 2^16: chunks are small)."""
    if n < 24:
        return bytes([0x80 + n])
    if n < 256:
        return bytes([0x98, n])
    return bytes([0x99]) + n.to_bytes(2, "big")


def decode_chunks(chunks: Iterable[bytes]) -> list[Entry]:
    out: list[Entry] = []
    for chunk in chunks:
        for voter, kind, weight, options, delegations in decode_state(chunk):
            out.append((voter, kind, weight, options, delegations))
    return out


def tally(reader: KVReader, proposal_id: int, height: int) -> tuple[TallyResult, list[bytes]]:
    """The proposal's tally result and its list, chunked for state."""
    entries, bonded = compute_entries(reader, proposal_id)
    totals = compute_totals(entries)
    leaves = [encode_entry(e) for e in entries]
    chunks = chunk_leaves(leaves)
    result = TallyResult(
        yes=totals.yes,
        abstain=totals.abstain,
        no=totals.no,
        no_with_veto=totals.no_with_veto,
        bonded=bonded,
        height=height,
        count=len(entries),
        root=merkle_root(leaves),
        chunks=len(chunks),
    )
    return result, chunks


def outcome(result: TallyResult, quorum_bps: int, threshold_bps: int, veto_bps: int) -> str:
    """ "passed", "rejected", "vetoed" or "no_quorum" (deposits burned for the last two).

    Quorum: the stake that voted over all bonded stake. Veto: no-with-veto over all that voted.
    Threshold: yes over what voted other than abstain (strictly more than the threshold)."""
    bps = state.BPS
    total = result.total
    # Verify quorum (an empty chain, with nothing bonded, never reaches it)
    if result.bonded == 0 or total * bps < result.bonded * quorum_bps or total == 0:
        return "no_quorum"
    if result.no_with_veto * bps >= total * veto_bps and result.no_with_veto > 0:
        return "vetoed"
    deciding = total - result.abstain
    if deciding > 0 and result.yes * bps > deciding * threshold_bps:
        return "passed"
    return "rejected"
