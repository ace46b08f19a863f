"""Benchmark: the governance tally at the end of a voting period, over a large staking state.

Builds, in one commit to a real store (LMDB), a state of --validators bonded validators and
--delegations delegations (staking's keys and its by-delegator index, as staking writes them),
and --votes votes on one proposal: the voters are the validators' operators and delegators with
--per-voter delegations each; the other delegations belong to accounts that do not vote. Then
times `tally.tally` the way end-block runs it: over a block branch of the committed state with a
cold read cache, including the list's encoding and commitment.

    python bench/gov_tally.py [--validators 100] [--delegations 100000] [--votes 10000]

Last line: tally_ms=<median ms> voters=<n> delegations=<n>
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from typing import Any

from voxpop.chain.encoding import encode, encode_uint
from voxpop.chain.kv import Branch, CachedView
from voxpop.chain.modules.gov import state as gov
from voxpop.chain.modules.gov import tally
from voxpop.chain.modules.staking.state import (
    DELEGATIONS_BY_DELEGATOR,
    Status,
    Validator,
    delegation_key,
    validator_key,
)
from voxpop.store import MerkleStore

PROPOSAL = 1
SHARES = 1_000_000


def build(args: argparse.Namespace, rng: random.Random) -> dict[bytes, bytes]:
    """The state's keys: validators, delegations, the index, and the votes."""
    changes: dict[bytes, bytes] = {}
    operators = [rng.randbytes(20) for _ in range(args.validators)]
    totals = dict.fromkeys(operators, 0)

    def delegate(delegator: bytes, operator: bytes) -> None:
        changes[delegation_key(operator, delegator)] = encode_uint(SHARES)
        changes[DELEGATIONS_BY_DELEGATOR.item_key(delegator, operator)] = b"\x01"
        totals[operator] += SHARES

    voters: list[bytes] = list(operators[: args.validators // 2])  # half the validators vote
    for operator in operators:
        delegate(operator, operator)  # the self-bond
    made = len(operators)
    while len(voters) < args.votes:
        voter = rng.randbytes(20)
        for operator in rng.sample(operators, args.per_voter):
            delegate(voter, operator)
        made += args.per_voter
        voters.append(voter)
    while made < args.delegations:  # delegators who do not vote
        delegator = rng.randbytes(20)
        for operator in rng.sample(operators, min(args.per_voter, args.delegations - made)):
            delegate(delegator, operator)
            made += 1
    for operator in operators:
        val = Validator(
            operator, rng.randbytes(32), totals[operator], totals[operator], 0, 0, 0, 0, "", ""
        )
        value: dict[str, Any] = {**val.to_value(), "status": int(Status.BONDED)}
        changes[validator_key(operator)] = encode(value)
    for voter in voters:
        option = rng.choice(list(gov.VoteOption))
        changes[gov.vote_key(PROPOSAL, voter)] = encode([[int(option), gov.WEIGHT_ONE]])
    return changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--validators", type=int, default=100)
    parser.add_argument("--delegations", type=int, default=100_000)
    parser.add_argument("--votes", type=int, default=10_000)
    parser.add_argument("--per-voter", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(15)
    changes = build(args, rng)
    delegations = sum(1 for k in changes if k.startswith(b"staking/del/"))
    with tempfile.TemporaryDirectory() as tmp:
        store = MerkleStore(tmp, keep_versions=2)
        start = time.perf_counter()
        store.commit(1, changes)
        print(f"state: {len(changes)} keys committed in {time.perf_counter() - start:.1f} s")
        times = []
        for _ in range(args.runs):
            view = Branch(CachedView(store.get, store.iterate))  # cold cache, as a new block
            start = time.perf_counter()
            result, chunks = tally.tally(view, PROPOSAL, 2)
            times.append((time.perf_counter() - start) * 1000)
        store.close()
    print(
        f"entries={result.count} chunks={len(chunks)} bonded={result.bonded} "
        f"runs_ms={[round(t) for t in times]}"
    )
    voters = sum(1 for k in changes if k.startswith(gov.VOTE_PREFIX))
    print(f"tally_ms={statistics.median(times):.0f} voters={voters} delegations={delegations}")


if __name__ == "__main__":
    main()
