"""CometBFT's light client rules (light/verifier.go, types/validation.go of v0.38), without I/O.

A LightBlock is a signed header with the validator set of its height. From a trusted block X,
an untrusted block Y > X is accepted when

- it is for the trusted chain id, its commit is for this header (the block id's hash is the
  header's hash, recomputed here) and at Y, and its validator set hashes to the header's
  validators_hash;
- its time is after X's and before now + max clock drift, and X is within the trusting period;
- Y = X + 1 (sequential): Y's validators_hash is X's next_validators_hash;
  Y > X + 1 (skipping): validators of X holding more than `trust_level` (default 1/3) of X's
  power signed Y's commit (else CannotTrustError: verify a header in between first);
- and more than 2/3 of Y's own voting power signed Y's commit.

Every function raises LightClientError (with a code naming the rule) when a rule fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from voxpop.client.comet import (
    BLOCK_ID_FLAG_ABSENT,
    BLOCK_ID_FLAG_COMMIT,
    BLOCK_ID_FLAG_NIL,
    Commit,
    SignedHeader,
    ValidatorSet,
)
from voxpop.client.errors import LightClientError
from voxpop.crypto.keys import verify_signature

DEFAULT_TRUST_LEVEL = Fraction(1, 3)
DEFAULT_TRUSTING_PERIOD_S = 168 * 3600  # `cometbft light`'s default; keep below the unbonding time
DEFAULT_MAX_CLOCK_DRIFT_S = 10


class CannotTrustError(LightClientError):
    """Too little of the trusted validators' power signed a skipped-to header: not a forgery by
    itself (the set may have changed too much since), so verify a header in between first."""

    def __init__(self, message: str) -> None:
        super().__init__("cannot_trust_validators", message)


@dataclass(frozen=True, slots=True)
class LightBlock:
    signed_header: SignedHeader
    validators: ValidatorSet  # the set that signed this block (its header's validators_hash)

    @property
    def height(self) -> int:
        return self.signed_header.header.height

    @property
    def hash(self) -> bytes:
        return self.signed_header.commit.block_id.hash


def validate_trust_level(level: Fraction) -> None:
    """Raises ValueError unless 1/3 <= level <= 1, as CometBFT requires."""
    if not Fraction(1, 3) <= level <= 1:
        raise ValueError(f"trust level must be within [1/3, 1], got {level}")


def _verify_signatures(
    chain_id: str,
    vals: ValidatorSet,
    commit: Commit,
    power_needed: int,
    *,
    by_index: bool,
) -> None:
    """Tally the power of valid signatures for the block until it exceeds `power_needed`.

    by_index: the commit is by `vals` itself, signature i from validator i (VerifyCommitLight);
    else `vals` is another (trusted) set, and signers are matched by address (...Trusting).
    """
    by_address = None if by_index else vals.by_address()
    seen: set[int] = set()
    tallied = 0
    for idx, sig in enumerate(commit.signatures):
        # Verify each signature is well-formed, whatever its flag (CommitSig.ValidateBasic)
        if sig.block_id_flag not in (BLOCK_ID_FLAG_ABSENT, BLOCK_ID_FLAG_COMMIT, BLOCK_ID_FLAG_NIL):
            raise LightClientError("malformed_header", f"unknown block id flag at index {idx}")
        if sig.block_id_flag != BLOCK_ID_FLAG_COMMIT:
            continue  # absent, or a vote for nil: counts for nothing here
        if by_address is None:
            val_idx, val = idx, vals.validators[idx]
            # Verify the signature slot is this validator's
            if val.address != sig.validator_address:
                raise LightClientError(
                    "invalid_signature",
                    f"signature {idx} is by {sig.validator_address.hex()}, "
                    f"but validator {idx} is {val.address.hex()}",
                )
        else:
            found = by_address.get(sig.validator_address)
            if found is None:
                continue  # not one of the trusted validators
            val_idx, val = found
            # Verify no trusted validator is counted twice
            if val_idx in seen:
                raise LightClientError(
                    "invalid_signature", f"double vote from {val.address.hex()} in one commit"
                )
            seen.add(val_idx)
        # Verify the validator signed this precommit, on this chain
        if not verify_signature(val.pub_key, commit.vote_sign_bytes(chain_id, idx), sig.signature):
            raise LightClientError(
                "invalid_signature", f"signature {idx} of block {commit.height} does not verify"
            )
        tallied += val.voting_power
        if tallied > power_needed:
            return
    message = f"signed power {tallied} of block {commit.height} is not above {power_needed}"
    if not by_index:
        raise CannotTrustError(message)
    raise LightClientError("insufficient_voting_power", message)


def verify_commit_light(chain_id: str, vals: ValidatorSet, height: int, commit: Commit) -> None:
    """More than 2/3 of `vals`' power signed `commit` (ValidatorSet.VerifyCommitLight)."""
    # Verify the commit is by this set (one slot each) and for this height
    if len(vals.validators) != len(commit.signatures):
        raise LightClientError(
            "validators_hash_mismatch",
            f"{len(commit.signatures)} signatures for {len(vals.validators)} validators",
        )
    if commit.height != height:
        raise LightClientError(
            "block_id_mismatch", f"commit is for height {commit.height}, not {height}"
        )
    _verify_signatures(chain_id, vals, commit, vals.total_power * 2 // 3, by_index=True)


def verify_commit_light_trusting(
    chain_id: str, trusted_vals: ValidatorSet, commit: Commit, trust_level: Fraction
) -> None:
    """More than `trust_level` of `trusted_vals`' power signed `commit`. Raises CannotTrustError
    when too little did (ValidatorSet.VerifyCommitLightTrusting)."""
    needed = trusted_vals.total_power * trust_level.numerator // trust_level.denominator
    _verify_signatures(chain_id, trusted_vals, commit, needed, by_index=False)


def header_expired(trusted: SignedHeader, trusting_period_s: int, now_ns: int) -> bool:
    return trusted.header.time.unix_ns + trusting_period_s * 1_000_000_000 <= now_ns


def verify_new_header_and_vals(
    untrusted: LightBlock, trusted: LightBlock, now_ns: int, max_clock_drift_s: int
) -> None:
    """The checks of verifyNewHeaderAndVals, including SignedHeader.ValidateBasic."""
    sh, chain_id = untrusted.signed_header, trusted.signed_header.header.chain_id
    header, commit = sh.header, sh.commit
    # Verify the header is for the trusted chain
    if header.chain_id != chain_id:
        raise LightClientError(
            "wrong_chain_id", f"header is for chain {header.chain_id!r}, not {chain_id!r}"
        )
    # Verify the commit is for this very header (its hash recomputed here) at its height
    if commit.height != header.height:
        raise LightClientError(
            "block_id_mismatch", f"commit height {commit.height} != header {header.height}"
        )
    if commit.block_id.hash != header.hash():
        raise LightClientError(
            "block_id_mismatch", f"the commit of block {header.height} signs another header"
        )
    # Verify the chain moves forward in height and time, and not into the future
    if header.height <= trusted.height:
        raise LightClientError(
            "not_monotonic", f"header {header.height} is not above trusted {trusted.height}"
        )
    if header.time.unix_ns <= trusted.signed_header.header.time.unix_ns:
        raise LightClientError(
            "not_monotonic", f"header {header.height}'s time is not after the trusted header's"
        )
    if header.time.unix_ns >= now_ns + max_clock_drift_s * 1_000_000_000:
        raise LightClientError(
            "header_from_future", f"header {header.height}'s time is in the future"
        )
    # Verify the validator set given is the one the header names
    if untrusted.validators.hash() != header.validators_hash:
        raise LightClientError(
            "validators_hash_mismatch",
            f"the validators given for block {header.height} are not its validators_hash",
        )


def verify(
    trusted: LightBlock,
    untrusted: LightBlock,
    *,
    now_ns: int,
    trusting_period_s: int = DEFAULT_TRUSTING_PERIOD_S,
    max_clock_drift_s: int = DEFAULT_MAX_CLOCK_DRIFT_S,
    trust_level: Fraction = DEFAULT_TRUST_LEVEL,
) -> None:
    """Verify `untrusted` from `trusted`: sequentially if adjacent, else by skipping (light.Verify).

    Raises LightClientError; CannotTrustError when a skip is too long to trust (bisect).
    """
    chain_id = trusted.signed_header.header.chain_id
    # Verify the trusted header is still within its trusting period
    if header_expired(trusted.signed_header, trusting_period_s, now_ns):
        raise LightClientError(
            "header_expired",
            f"trusted header {trusted.height} is older than the trusting period "
            f"({trusting_period_s} s); re-initialize from a fresh trusted hash",
        )
    verify_new_header_and_vals(untrusted, trusted, now_ns, max_clock_drift_s)
    commit = untrusted.signed_header.commit
    if untrusted.height == trusted.height + 1:
        # Verify the new validators are those the trusted header announced
        if untrusted.signed_header.header.validators_hash != (
            trusted.signed_header.header.next_validators_hash
        ):
            raise LightClientError(
                "validators_hash_mismatch",
                f"block {untrusted.height}'s validators are not those block {trusted.height} named",
            )
    else:
        # Verify enough of the trusted validators vouch for the new header
        verify_commit_light_trusting(chain_id, trusted.validators, commit, trust_level)
    # Verify more than 2/3 of the new header's own validators signed it
    verify_commit_light(chain_id, untrusted.validators, untrusted.height, commit)


def verify_backwards(trusted: SignedHeader, older: SignedHeader) -> None:
    """`older` is the header just below `trusted`: trusted's last_block_id commits to its hash
    (light.Client.backwards; no signatures needed)."""
    # Verify the hash chain links the older header to the trusted one
    if older.header.height != trusted.header.height - 1:
        raise LightClientError("not_monotonic", "backwards verification is one height at a time")
    if older.header.chain_id != trusted.header.chain_id:
        raise LightClientError("wrong_chain_id", f"header {older.height} is for another chain")
    if older.header.hash() != trusted.header.last_block_id.hash:
        raise LightClientError(
            "block_id_mismatch",
            f"header {older.height} is not the block header {trusted.height} follows",
        )
    if older.header.time.unix_ns >= trusted.header.time.unix_ns:
        raise LightClientError("not_monotonic", f"header {older.height} is not before its child")
