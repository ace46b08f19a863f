"""The light client: follow a CometBFT chain from a trusted root, trusting no node.

    light = LightClient(trust_options=TrustOptions(height=1, hash=bytes.fromhex("0C94...")),
                        witnesses=["http://node2:1317"])
    with VoxClient("http://node1:1317", light=light) as client:
        client.account("vox1...", prove=True)   # state proof -> app hash -> verified commit

A root is one of: TrustOptions (a height and its block hash, got out of band), the genesis
validator set (`genesis_validators`), or, with neither, the primary's latest header taken on
first use. From the root, a header is verified by CometBFT's rules (light_rules.py): sequential
or skipping with bisection, backwards along the hash chain for heights below the root. Verified
blocks are kept in a small store (the root is never evicted). After each verification the same
height is asked of every witness: a different header that still verifies is a fork or a lying
primary (ConflictingHeadersError, also kept in `conflicts`); one that does not verify marks that
witness faulty (`faulty_witnesses`) and it is dropped.

The flows are sans-I/O like the rest of the client (voxpop.client.effects); `clock` (seconds
since the epoch) is the only other input, for the trusting period.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction

from voxpop.client.comet import (
    SignedHeader,
    ValidatorSet,
    parse_signed_header,
    parse_validator_set,
)
from voxpop.client.effects import Flow, HttpRequest, Sleep, call
from voxpop.client.errors import (
    ApiError,
    ConflictingHeadersError,
    LightClientError,
    NodeUnreachableError,
    NotFoundError,
    ProtocolError,
)
from voxpop.client.light_rules import (
    DEFAULT_MAX_CLOCK_DRIFT_S,
    DEFAULT_TRUST_LEVEL,
    DEFAULT_TRUSTING_PERIOD_S,
    CannotTrustError,
    LightBlock,
    header_expired,
    validate_trust_level,
    verify,
    verify_backwards,
    verify_commit_light,
)

DEFAULT_STORE_SIZE = 256
DEFAULT_WAIT_S = 15.0  # how long to wait for a height the chain has not reached yet
POLL_S = 0.25


@dataclass(frozen=True, slots=True)
class TrustOptions:
    """A trusted root got out of band: the block hash at `height`."""

    height: int
    hash: bytes

    def __post_init__(self) -> None:
        if self.height < 1 or len(self.hash) != 32:
            raise ValueError("a trust root is a height >= 1 and a 32-byte block hash")


class LightClient:
    """CometBFT light client state: the root, the verified store, the witnesses. See module doc."""

    def __init__(
        self,
        *,
        chain_id: str | None = None,
        trust_options: TrustOptions | None = None,
        genesis_validators: ValidatorSet | None = None,
        witnesses: Iterable[str] = (),
        trusting_period_s: int = DEFAULT_TRUSTING_PERIOD_S,
        trust_level: Fraction = DEFAULT_TRUST_LEVEL,
        max_clock_drift_s: int = DEFAULT_MAX_CLOCK_DRIFT_S,
        store_size: int = DEFAULT_STORE_SIZE,
        wait_s: float = DEFAULT_WAIT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        validate_trust_level(trust_level)
        if trusting_period_s <= 0 or store_size < 2:
            raise ValueError("the trusting period must be positive and the store hold >= 2")
        self.chain_id = chain_id
        self.trust_options = trust_options
        self.genesis_validators = genesis_validators
        self.witnesses = [w.rstrip("/") for w in witnesses]
        self.trusting_period_s = trusting_period_s
        self.trust_level = trust_level
        self.max_clock_drift_s = max_clock_drift_s
        self.store_size = store_size
        self.wait_s = wait_s
        self.clock = clock
        self.store: dict[int, LightBlock] = {}
        self.root: int | None = None
        self.conflicts: list[ConflictingHeadersError] = []
        self.faulty_witnesses: dict[str, LightClientError] = {}
        self.headers_verified = 0

    # --- the store ------------------------------------------------------------------------------

    def _now_ns(self) -> int:
        return int(self.clock() * 1_000_000_000)

    def _save(self, block: LightBlock) -> None:
        self.store[block.height] = block
        while len(self.store) > self.store_size:
            # Evict the lowest height but the root: later heights are asked for most
            victim = min(h for h in self.store if h != self.root)
            del self.store[victim]

    def latest(self) -> LightBlock | None:
        return self.store[max(self.store)] if self.store else None

    # --- fetching -------------------------------------------------------------------------------

    def signed_header_flow(
        self, height: int | None, base_url: str | None = None
    ) -> Flow[SignedHeader]:
        which = "latest" if height is None else str(height)
        path = f"/v1/light/signed_header/{which}"
        data = yield from call(HttpRequest("GET", path, base_url=base_url))
        sh = parse_signed_header(data.get("signed_header") if isinstance(data, dict) else None)
        # Verify the node answered for the height asked
        if height is not None and sh.header.height != height:
            raise LightClientError(
                "malformed_header", f"asked for header {height}, got {sh.header.height}"
            )
        return sh

    def validators_flow(self, height: int, base_url: str | None = None) -> Flow[ValidatorSet]:
        path = f"/v1/light/validators/{height}"
        data = yield from call(HttpRequest("GET", path, base_url=base_url))
        return parse_validator_set(data.get("validators") if isinstance(data, dict) else None)

    def light_block_flow(self, height: int | None, base_url: str | None = None) -> Flow[LightBlock]:
        sh = yield from self.signed_header_flow(height, base_url)
        vals = yield from self.validators_flow(sh.header.height, base_url)
        return LightBlock(sh, vals)

    def _await_light_block_flow(self, height: int) -> Flow[LightBlock]:
        """The block at `height` from the primary, waiting up to `wait_s` for the chain to reach it
        (a proof at height H needs header H+1)."""
        start = yield Sleep(0)
        while True:
            try:
                return (yield from self.light_block_flow(height))
            except NotFoundError:
                now = yield Sleep(POLL_S)
                if now - start >= self.wait_s:
                    raise

    # --- initialization -------------------------------------------------------------------------

    def initialize_flow(self) -> Flow[LightBlock]:
        """Verify and store the root block (once)."""
        if self.root is not None:
            return self.store[self.root]
        opts, genesis = self.trust_options, self.genesis_validators
        block = yield from self.light_block_flow(opts.height if opts else 1 if genesis else None)
        sh = block.signed_header
        chain_id = self.chain_id or sh.header.chain_id
        # Verify the root is the block trusted out of band, on the chain expected
        if opts is not None and block.hash != opts.hash:
            raise LightClientError(
                "block_id_mismatch",
                f"block {opts.height} is {block.hash.hex()}, not the trusted {opts.hash.hex()}",
            )
        if genesis is not None and genesis.hash() != block.validators.hash():
            raise LightClientError(
                "validators_hash_mismatch", "block 1's validators are not the genesis validators"
            )
        if sh.header.chain_id != chain_id:
            raise LightClientError(
                "wrong_chain_id", f"the root is for chain {sh.header.chain_id!r}, not {chain_id!r}"
            )
        # Verify the root header is whole: its hash, its validators, 2/3 of their signatures
        if sh.commit.block_id.hash != sh.header.hash():
            raise LightClientError("block_id_mismatch", "the root's commit signs another header")
        if block.validators.hash() != sh.header.validators_hash:
            raise LightClientError(
                "validators_hash_mismatch", "the root's validators are not its validators_hash"
            )
        verify_commit_light(chain_id, block.validators, block.height, sh.commit)
        # Verify the root is still within the trusting period
        if header_expired(sh, self.trusting_period_s, self._now_ns()):
            raise LightClientError("header_expired", f"the root {block.height} is expired")
        self.chain_id = chain_id
        self.root = block.height
        self._save(block)
        self.headers_verified += 1
        return block

    # --- verification ---------------------------------------------------------------------------

    def _verify(self, trusted: LightBlock, untrusted: LightBlock) -> None:
        verify(
            trusted,
            untrusted,
            now_ns=self._now_ns(),
            trusting_period_s=self.trusting_period_s,
            max_clock_drift_s=self.max_clock_drift_s,
            trust_level=self.trust_level,
        )
        self.headers_verified += 1

    def _forward_flow(self, trusted: LightBlock, target: LightBlock) -> Flow[LightBlock]:
        """Skipping verification with bisection (light.Client.verifySkipping)."""
        pending = [target]
        while pending:
            candidate = pending[-1]
            try:
                self._verify(trusted, candidate)
            except CannotTrustError:
                # Verify a header halfway first: the set changed too much for one skip
                if candidate.height == trusted.height + 1:
                    raise  # adjacent: cannot happen; kept as a guard
                pivot = (trusted.height + candidate.height) // 2
                pending.append((yield from self.light_block_flow(pivot)))
                continue
            self._save(candidate)
            trusted = pending.pop()
        return target

    def _backward_flow(self, height: int) -> Flow[LightBlock]:
        """Below the lowest stored block, follow the hash chain down (light.Client.backwards)."""
        above = self.store[min(h for h in self.store if h > height)]
        # Verify the block we go down from is still trusted
        if header_expired(above.signed_header, self.trusting_period_s, self._now_ns()):
            raise LightClientError("header_expired", f"stored header {above.height} is expired")
        trusted = above.signed_header
        while trusted.header.height > height:
            older = yield from self.signed_header_flow(trusted.header.height - 1)
            verify_backwards(trusted, older)
            self.headers_verified += 1
            trusted = older
        vals = yield from self.validators_flow(height)
        # Verify the validators served are those the verified header names
        if vals.hash() != trusted.header.validators_hash:
            raise LightClientError(
                "validators_hash_mismatch", f"the validators of block {height} do not match"
            )
        block = LightBlock(trusted, vals)
        self._save(block)
        return block

    def verified_flow(self, height: int) -> Flow[LightBlock]:
        """The block at `height`, verified from the root (waiting up to `wait_s` for it), then
        cross-checked with the witnesses. Raises LightClientError, ConflictingHeadersError."""
        yield from self.initialize_flow()
        if height in self.store:
            return self.store[height]
        below = [h for h in self.store if h < height]
        if below:
            target = yield from self._await_light_block_flow(height)
            block = yield from self._forward_flow(self.store[max(below)], target)
        else:
            block = yield from self._backward_flow(height)
        yield from self._cross_check_flow(block)
        return block

    def _cross_check_flow(self, block: LightBlock) -> Flow[None]:
        """Ask each witness for the same height; see the module doc for what a difference means."""
        for url in list(self.witnesses):
            try:
                other = yield from self.light_block_flow(block.height, url)
            except (ApiError, NodeUnreachableError, ProtocolError):
                continue  # a witness behind the primary, down or busy: nothing to compare now
            except LightClientError as exc:
                self._drop_witness(url, exc)
                continue
            if other.signed_header.header.hash() == block.signed_header.header.hash():
                continue
            # Verify the witness's header on its own: if it verifies too, the chain forked
            lower = [h for h in self.store if h < block.height]
            try:
                if not lower:
                    raise CannotTrustError("no verified header below to check the witness from")
                verify(
                    self.store[max(lower)],
                    other,
                    now_ns=self._now_ns(),
                    trusting_period_s=self.trusting_period_s,
                    max_clock_drift_s=self.max_clock_drift_s,
                    trust_level=self.trust_level,
                )
            except CannotTrustError:
                pass  # cannot tell which is right in one step: report the conflict
            except LightClientError as exc:
                self._drop_witness(url, exc)
                continue
            conflict = ConflictingHeadersError(
                block.height,
                {
                    "primary": block.signed_header.header.hash(),
                    url: other.signed_header.header.hash(),
                },
            )
            self.conflicts.append(conflict)
            # Verify nothing more from this header until the conflict is resolved
            if block.height != self.root:
                del self.store[block.height]
            raise conflict

    def _drop_witness(self, url: str, why: LightClientError) -> None:
        self.faulty_witnesses[url] = why
        self.witnesses.remove(url)
