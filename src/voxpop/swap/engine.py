"""The swap tool's engine: drives one swap on two legs, one step at a time, from its record on
disk, so it resumes after a crash at any point.

The offerer picks the secret, posts the offer on the VOX chain, and once it is taken locks first,
on the chain of the asset it gives, for `offerer_seconds`; the taker then locks the other asset
for `taker_seconds` (shorter); the offerer claims the taker's lock (revealing the secret there);
the taker reads the secret from its own claimed lock and claims the offerer's. Each side refunds
its own lock once its timeout passes unclaimed. Why these timeouts keep both sides whole:
docs/swaps.md.

Every action is idempotent against the chains: a lock's id is derived from (sender, recipient,
hashlock), so re-sending a lock after a crash finds the first one; our terms are saved before a
lock is sent; a claim or refund first reads whether it already happened.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from voxpop.chain.modules.htlc.messages import MsgOffer
from voxpop.crypto.address import encode_address
from voxpop.swap.legs import (
    Leg,
    LockState,
    LockTerms,
    SwapLegError,
    TermsMismatchError,
    TimeoutKind,
    hashlock_of,
)
from voxpop.swap.store import OFFERER, TAKER, SwapRecord, SwapStore
from voxpop.swap.vox import VoxLeg

DEFAULT_OFFERER_SECONDS = 4 * 3_600
DEFAULT_TAKER_SECONDS = 2 * 3_600
DEFAULT_MARGIN_SECONDS = 1_800
DEFAULT_OFFER_SECONDS = 3_600


class SwapError(Exception):
    """The swap tool refused a request (bad terms, unknown offer, ...); `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class OfferTerms:
    side: str  # "sell": we give uvox for the asset; "buy": we give the asset for uvox
    vox_amount: int
    asset: str
    asset_amount: int
    offerer_seconds: int = DEFAULT_OFFERER_SECONDS
    taker_seconds: int = DEFAULT_TAKER_SECONDS
    margin_seconds: int = DEFAULT_MARGIN_SECONDS
    offer_seconds: int = DEFAULT_OFFER_SECONDS  # how long the offer can be taken


def check_timeouts(offerer_seconds: int, taker_seconds: int, margin_seconds: int) -> None:
    """The second locker must have time to claim after the reveal: the offerer's lock outlasts
    the taker's by at least the margin. Raises SwapError."""
    if margin_seconds <= 0 or taker_seconds <= margin_seconds:
        raise SwapError("bad_timeouts", "taker_seconds must exceed a positive margin_seconds")
    if offerer_seconds < taker_seconds + margin_seconds:
        raise SwapError(
            "bad_timeouts", "offerer_seconds must be at least taker_seconds + margin_seconds"
        )


class SwapEngine:
    def __init__(
        self,
        store: SwapStore,
        vox: VoxLeg,
        others: Mapping[str, Leg],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.vox = vox
        self.others = dict(others)
        self.clock = clock
        self.sleep = sleep

    # --- the legs of a swap -----------------------------------------------------------------------

    def other_leg(self, asset: str) -> Leg:
        leg = self.others.get(asset)
        if leg is None:
            raise SwapError("no_leg", f"no {asset} leg configured")
        return leg

    def give_leg(self, r: SwapRecord) -> Leg:
        return self.vox if r.gives_vox else self.other_leg(r.asset)

    def get_leg(self, r: SwapRecord) -> Leg:
        return self.other_leg(r.asset) if r.gives_vox else self.vox

    def give_amount(self, r: SwapRecord) -> int:
        return r.vox_amount if r.gives_vox else r.asset_amount

    def get_amount(self, r: SwapRecord) -> int:
        return r.asset_amount if r.gives_vox else r.vox_amount

    def their_address(self, r: SwapRecord, on_vox: bool) -> str:
        if r.role == OFFERER:
            return r.taker_vox if on_vox else r.taker_other
        return r.offerer_vox if on_vox else r.offerer_other

    def my_seconds(self, r: SwapRecord) -> int:
        return r.offerer_seconds if r.role == OFFERER else r.taker_seconds

    def their_seconds(self, r: SwapRecord) -> int:
        return r.taker_seconds if r.role == OFFERER else r.offerer_seconds

    def their_terms(self, r: SwapRecord) -> LockTerms:
        """What the counterparty's lock on our get chain must be."""
        leg = self.get_leg(r)
        on_vox = not r.gives_vox
        # Absolute timeouts: any lock lasting long enough (checked with seconds_left); BTC's
        # script commits to its CSV blocks, which both sides compute from the offer's seconds
        least = 1
        if leg.timeout_kind is TimeoutKind.RELATIVE_BLOCKS:
            least = leg.timeout_after(self.their_seconds(r))
        return LockTerms(
            bytes.fromhex(r.hashlock),
            self.get_amount(r),
            leg.address(),
            self.their_address(r, on_vox),
            least,
        )

    # --- starting a swap --------------------------------------------------------------------------

    def offer(self, terms: OfferTerms) -> SwapRecord:
        """Pick a secret, save it, post the offer on the VOX chain. Raises SwapError."""
        check_timeouts(terms.offerer_seconds, terms.taker_seconds, terms.margin_seconds)
        if terms.side not in ("sell", "buy"):
            raise SwapError("bad_offer", "side must be sell or buy")
        if terms.vox_amount <= 0 or terms.asset_amount <= 0:
            raise SwapError("bad_offer", "amounts must be positive")
        other = self.other_leg(terms.asset)
        secret = secrets.token_bytes(32)
        record = SwapRecord(
            hashlock=hashlock_of(secret).hex(),
            role=OFFERER,
            side=terms.side,
            asset=terms.asset,
            vox_amount=terms.vox_amount,
            asset_amount=terms.asset_amount,
            offerer_seconds=terms.offerer_seconds,
            taker_seconds=terms.taker_seconds,
            margin_seconds=terms.margin_seconds,
            offerer_vox=self.vox.address(),
            offerer_other=other.address(),
            secret=secret.hex(),
            offer_id=self.vox.next_offer_id().hex(),
        )
        self.store.save(record)  # the secret (and the offer's id) on disk before anything is sent
        msg = MsgOffer(
            offerer=self.vox.raw_address,
            side=terms.side,
            amount=terms.vox_amount,
            asset=terms.asset,
            asset_amount=str(terms.asset_amount),
            other_address=other.address(),
            hashlock=bytes.fromhex(record.hashlock),
            offerer_seconds=terms.offerer_seconds,
            taker_seconds=terms.taker_seconds,
            expires_at=self.vox.now() + terms.offer_seconds,
        )
        try:
            offer_id = self.vox.post_offer(msg)
        except SwapLegError as exc:
            record.outcome = "refused"
            self.note(record, f"offer refused: {exc.message}")
            raise SwapError("offer_refused", exc.message) from None
        if offer_id.hex() != record.offer_id:  # another Offer of ours landed in between
            record.offer_id = offer_id.hex()
        record.phase = "offered"
        self.note(record, f"offer {offer_id.hex()} posted")
        return record

    def take(
        self,
        offer_id: bytes,
        *,
        margin_seconds: int = DEFAULT_MARGIN_SECONDS,
        expect_vox: int | None = None,
        expect_asset_amount: int | None = None,
    ) -> SwapRecord:
        """Check an open offer and save our record of it (the Take is sent by the first step).
        Raises SwapError."""
        offer = self.vox.read_offer(offer_id)
        if offer is None:
            raise SwapError("offer_not_found", f"no open offer {offer_id.hex()}")
        if offer.is_taken:
            raise SwapError("offer_taken", "the offer was already taken")
        if expect_vox is not None and expect_vox != offer.amount:
            raise SwapError("terms_mismatch", f"the offer is for {offer.amount} uvox")
        asset_amount = int(offer.asset_amount)
        if expect_asset_amount is not None and expect_asset_amount != asset_amount:
            raise SwapError("terms_mismatch", f"the offer is for {asset_amount} {offer.asset}")
        check_timeouts(offer.offerer_seconds, offer.taker_seconds, margin_seconds)
        other = self.other_leg(offer.asset)
        record = SwapRecord(
            hashlock=offer.hashlock.hex(),
            role=TAKER,
            side=offer.side,
            asset=offer.asset,
            vox_amount=offer.amount,
            asset_amount=asset_amount,
            offerer_seconds=offer.offerer_seconds,
            taker_seconds=offer.taker_seconds,
            margin_seconds=margin_seconds,
            offerer_vox=encode_address(offer.offerer),
            offerer_other=offer.other_address,
            offer_id=offer_id.hex(),
            taker_vox=self.vox.address(),
            taker_other=other.address(),
        )
        if self.store.path(record.hashlock).exists():
            raise SwapError("swap_exists", f"a swap under hashlock {record.hashlock} exists here")
        self.store.save(record)
        return record

    # --- running ----------------------------------------------------------------------------------

    def run(
        self, record: SwapRecord, *, poll_s: float = 1.0, timeout_s: float | None = None
    ) -> SwapRecord:
        """Step until the swap is done (or `timeout_s` passes). Chain errors are noted and
        retried at the next poll: a node that is down only delays the swap."""
        deadline = None if timeout_s is None else self.clock() + timeout_s
        while not record.done:
            changed = self.tick(record)
            if deadline is not None and self.clock() >= deadline:
                break
            if not changed:
                self.sleep(poll_s)
        return record

    def tick(self, record: SwapRecord) -> bool:
        """One step; a chain error (a node down, a refund a block early) is noted once and
        left for the next tick. Returns True if anything changed."""
        try:
            return self.step(record)
        except SwapLegError as exc:
            text = f"retrying after: {exc.message}"
            if not record.notes or not record.notes[-1].endswith(text):
                self.note(record, text)
            return False

    def step(self, r: SwapRecord) -> bool:
        """At most one action; the record is saved after it. Returns True if anything changed."""
        if r.done:
            return False
        handler = getattr(self, f"_{r.role}_{r.phase}")
        changed: bool = handler(r)
        if changed:
            self.store.save(r)
        return changed

    def note(self, r: SwapRecord, text: str) -> None:
        r.notes.append(f"{int(self.clock())} {r.phase}: {text}")
        self.store.save(r)

    def finish(self, r: SwapRecord, outcome: str, text: str) -> bool:
        r.outcome = outcome
        r.phase = "done"
        if outcome in ("swapped", "refunded"):
            r.waiting_since = 0.0
        self.note(r, text)
        return True

    # --- offerer ----------------------------------------------------------------------------------

    def _offerer_new(self, r: SwapRecord) -> bool:
        """Restarted between saving the record and learning the Offer's fate: the offer has the
        id saved (derived from our nonce), with our hashlock, if it landed."""
        offer = self.vox.read_offer(bytes.fromhex(r.offer_id))
        if offer is not None and offer.hashlock.hex() == r.hashlock:
            r.phase = "offered"
            self.note(r, f"offer {r.offer_id} found after a restart")
            return True
        if self.vox.next_offer_id().hex() == r.offer_id:
            return self.finish(r, "refused", "the offer never landed: nothing was posted")
        return self.finish(r, "expired", "the offer is gone (or never ours): nothing was locked")

    def _offerer_offered(self, r: SwapRecord) -> bool:
        offer = self.vox.read_offer(bytes.fromhex(r.offer_id))
        if offer is None:
            return self.finish(r, "expired", "the offer expired or was cancelled untaken")
        if not offer.is_taken:
            return False
        r.taker_vox = encode_address(offer.taker)
        r.taker_other = offer.taker_address
        r.phase = "taken"
        self.note(r, f"taken by {r.taker_vox}")
        return True

    def _offerer_taken(self, r: SwapRecord) -> bool:
        return self._lock_mine(r)

    def _offerer_locked(self, r: SwapRecord) -> bool:
        give = self.give_leg(r)
        if give.can_refund(r.my_lock):
            return self._refund_mine(r)
        if r.their_lock == "mismatch":
            return False  # never claim a lock that differs from the offer: wait to refund ours
        try:
            ref = self.get_leg(r).find_lock(self.their_terms(r))
        except TermsMismatchError as exc:
            r.their_lock = "mismatch"
            self.note(r, f"the taker's lock is refused: {exc.message}")
            return True
        if ref is None:
            return False
        status = self.get_leg(r).status(ref)
        if status.state is LockState.PENDING:
            return False
        if status.state is not LockState.LOCKED:
            r.their_lock = "mismatch"
            self.note(r, f"the taker's lock was {status.state.value} already: waiting to refund")
            return True
        if status.confirmations < self.get_leg(r).confirmations_needed:
            return False
        if status.seconds_left is None or status.seconds_left < r.margin_seconds:
            r.their_lock = "mismatch"
            self.note(r, "the taker's lock leaves too little time: not revealing the secret")
            return True
        r.their_lock = ref
        r.phase = "claiming"
        self.note(r, f"the taker locked {ref}")
        return True

    def _offerer_claiming(self, r: SwapRecord) -> bool:
        return self._claim_theirs(r)

    # --- taker ------------------------------------------------------------------------------------

    def _taker_new(self, r: SwapRecord) -> bool:
        offer = self.vox.read_offer(bytes.fromhex(r.offer_id))
        if offer is None:
            return self.finish(r, "expired", "the offer is gone before we took it")
        if offer.is_taken and encode_address(offer.taker) != r.taker_vox:
            return self.finish(r, "cancelled", "another account took the offer")
        if not offer.is_taken:
            self.vox.take_offer(bytes.fromhex(r.offer_id), r.taker_other)
        r.phase = "took"
        r.waiting_since = self.clock()
        self.note(r, "offer taken: waiting for the offerer's lock")
        return True

    def _taker_took(self, r: SwapRecord) -> bool:
        get = self.get_leg(r)
        try:
            ref = get.find_lock(self.their_terms(r))
        except TermsMismatchError as exc:
            return self.finish(r, "refused", f"the offerer's lock differs: {exc.message}")
        if ref is None:
            # The offerer locks as soon as it sees the take; past its own lock time it never will
            if self.clock() - r.waiting_since > r.offerer_seconds:
                return self.finish(r, "abandoned", "the offerer never locked (nothing was locked)")
            return False
        status = get.status(ref)
        if status.state is not LockState.LOCKED or status.confirmations < get.confirmations_needed:
            return False
        # Verify their lock outlasts ours by the margin: the offerer may reveal until ours ends
        if status.seconds_left is None or status.seconds_left < self.taker_needs(r):
            return self.finish(r, "refused", "the offerer's lock ends too soon to lock against it")
        r.their_lock = ref
        r.phase = "locking"
        self.note(r, f"the offerer locked {ref}")
        return True

    def taker_needs(self, r: SwapRecord) -> int:
        """The least time the offerer's lock must have left when the taker locks: the taker's
        lock time plus the margin. A relative (BTC CSV) lock may last longer than its blocks'
        nominal time (blocks come as a Poisson process) and starts at its confirmation: a leg
        that can bound that (`longest_seconds`, e.g. BtcLeg's one-in-a-thousand slow bound)
        is asked for the whole lock, confirmation block included."""
        give = self.give_leg(r)
        longest = getattr(give, "longest_seconds", None)
        if give.timeout_kind is TimeoutKind.RELATIVE_BLOCKS and callable(longest):
            blocks = give.timeout_after(r.taker_seconds)
            return int(longest(blocks + 1)) + r.margin_seconds
        return r.taker_seconds + r.margin_seconds

    def _taker_locking(self, r: SwapRecord) -> bool:
        return self._lock_mine(r)

    def _taker_locked(self, r: SwapRecord) -> bool:
        give = self.give_leg(r)
        status = give.status(r.my_lock)
        if status.state is LockState.CLAIMED and status.preimage is not None:
            r.secret = status.preimage.hex()
            r.phase = "claiming"
            self.note(r, "the offerer claimed our lock: the secret is public")
            return True
        if give.can_refund(r.my_lock):
            return self._refund_mine(r)
        return False

    def _taker_claiming(self, r: SwapRecord) -> bool:
        return self._claim_theirs(r)

    # --- shared actions ---------------------------------------------------------------------------

    def _lock_mine(self, r: SwapRecord) -> bool:
        give = self.give_leg(r)
        if r.my_terms is None:
            r.my_terms = {
                "amount": self.give_amount(r),
                "recipient": self.their_address(r, on_vox=r.gives_vox),
                "refund_address": give.address(),
                "timeout": give.timeout_after(self.my_seconds(r)),
            }
            self.store.save(r)  # the terms first: a restart re-sends this same lock
        terms = LockTerms(bytes.fromhex(r.hashlock), **r.my_terms)
        try:
            r.my_lock = give.lock(terms)
        except TermsMismatchError as exc:
            return self.finish(r, "refused", f"cannot lock: {exc.message}")
        r.phase = "locked"
        self.note(r, f"locked {terms.amount} on {give.asset}: {r.my_lock}")
        return True

    def _refund_mine(self, r: SwapRecord) -> bool:
        give = self.give_leg(r)
        tx = give.refund(r.my_lock)
        return self.finish(r, "refunded", f"refunded our {give.asset} lock ({tx})")

    def _claim_theirs(self, r: SwapRecord) -> bool:
        get = self.get_leg(r)
        status = get.status(r.their_lock)
        if status.state is LockState.CLAIMED:
            return self.finish(r, "swapped", f"the {get.asset} lock paid us")
        if status.state is LockState.REFUNDED:
            # Too late: only a taker that was offline past the offerer's timeout gets here
            return self.finish(r, "refunded", f"the {get.asset} lock was refunded to its sender")
        tx = get.claim(r.their_lock, bytes.fromhex(r.secret))
        return self.finish(r, "swapped", f"claimed the {get.asset} lock ({tx})")

    def refund_now(self, r: SwapRecord) -> SwapRecord:
        """`voxpop swap refund`: take our lock back if its timeout passed. Raises SwapError."""
        if not r.my_lock:
            raise SwapError("nothing_locked", "this side has not locked anything")
        give = self.give_leg(r)
        if not give.can_refund(r.my_lock):
            status = give.status(r.my_lock)
            raise SwapError(
                "not_refundable",
                f"the lock is {status.state.value}, {status.seconds_left} s before its timeout",
            )
        self._refund_mine(r)
        return r
