"""The VOX leg of a swap: the chain's `htlc` module through the client SDK; also the swap
offers the htlc module keeps (post, take, cancel, read).

Reads are proven (`prove=True`: the lock's record is checked against a signed header), so a
lying node cannot show a lock that is not there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from voxpop.chain.errors import ERRORS, ChainError
from voxpop.chain.modules.htlc import state as htlc
from voxpop.chain.modules.htlc.messages import (
    MsgCancel,
    MsgClaim,
    MsgLock,
    MsgOffer,
    MsgRefund,
    MsgTake,
)
from voxpop.client import VoxClient
from voxpop.client.errors import VoxClientError
from voxpop.crypto.address import AddressError, decode_address, encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.swap.legs import (
    LegStatus,
    LockRef,
    LockState,
    LockTerms,
    SwapLegError,
    TermsMismatchError,
    TimeoutKind,
    check_preimage,
)

_STATES = {htlc.OPEN: LockState.LOCKED, htlc.CLAIMED: LockState.CLAIMED}


def vox_address(text: str) -> bytes:
    """A vox1... address's 20 bytes. Raises SwapLegError."""
    try:
        return decode_address(text)
    except AddressError as exc:
        raise SwapLegError(f"not a VOX address: {exc}") from None


def _ref_id(ref: LockRef) -> bytes:
    try:
        lock_id = bytes.fromhex(ref)
    except ValueError:
        lock_id = b""
    if len(lock_id) != htlc.ID_LEN:
        raise SwapLegError("a VOX lock reference is a 32-byte id in hex")
    return lock_id


@dataclass(frozen=True, slots=True)
class PostedOffer:
    offer_id: bytes
    offer: htlc.Offer


class VoxLeg:
    """Locks uvox in the htlc module with `key`'s account."""

    def __init__(self, client: VoxClient, key: PrivateKey) -> None:
        self.client = client
        self.key = key
        self.raw_address = key.public_key.address

    @property
    def asset(self) -> str:
        return "VOX"

    @property
    def timeout_kind(self) -> TimeoutKind:
        return TimeoutKind.ABSOLUTE_TIME

    @property
    def confirmations_needed(self) -> int:
        return 1  # a committed block is final (CometBFT; the solo node)

    def address(self) -> str:
        return encode_address(self.raw_address)

    def now(self) -> int:
        """The chain's time now (unix s): the latest block's, or our clock if later. Block time
        is what every htlc timeout is checked against, but a quiet chain makes no blocks (the
        solo node's default) and the next block's time is the proposer's clock: so a refund is
        sent once our clock passes the timeout (a refund that lands early fails, and is sent
        again), and the time left to claim is never overstated."""
        return max(self.client.status().latest_block_time_unix, int(time.time()))

    def timeout_after(self, seconds: int) -> int:
        return self.now() + seconds

    # --- locks ----------------------------------------------------------------------------------

    def read_lock(self, lock_id: bytes) -> htlc.Lock | None:
        result = self.client.query("/htlc/lock", lock_id, prove=True)
        return htlc.decode_lock(result.value) if result.value else None

    def lock(self, terms: LockTerms) -> LockRef:
        recipient = vox_address(terms.recipient)
        lock_id = htlc.compute_lock_id(self.raw_address, recipient, terms.hashlock)
        existing = self.read_lock(lock_id)
        if existing is not None:  # sent before a restart: the same lock, or refuse
            if existing.amount != terms.amount:
                raise TermsMismatchError(f"lock {lock_id.hex()} exists with other terms")
            return lock_id.hex()
        msg = MsgLock(self.raw_address, recipient, terms.amount, terms.hashlock, terms.timeout)
        self._execute(msg)
        return lock_id.hex()

    def find_lock(self, terms: LockTerms) -> LockRef | None:
        sender = vox_address(terms.refund_address)
        recipient = vox_address(terms.recipient)
        if recipient != self.raw_address:
            raise SwapLegError("the lock to find must pay our address")
        lock_id = htlc.compute_lock_id(sender, recipient, terms.hashlock)
        lock = self.read_lock(lock_id)
        if lock is None:
            return None
        # Verify the lock pays what was agreed, for at least as long
        if lock.amount != terms.amount:
            raise TermsMismatchError(f"the lock holds {lock.amount} uvox, not {terms.amount}")
        if lock.timeout < terms.timeout:
            raise TermsMismatchError(f"the lock ends at {lock.timeout}, before {terms.timeout}")
        return lock_id.hex()

    def status(self, ref: LockRef) -> LegStatus:
        lock = self.read_lock(_ref_id(ref))
        if lock is None:
            return LegStatus(LockState.PENDING)
        now = self.now()
        return LegStatus(
            state=_STATES.get(lock.status, LockState.REFUNDED),
            confirmations=1,
            preimage=lock.preimage or None,
            deadline=lock.timeout,
            seconds_left=max(0, lock.timeout - now),
            amount=lock.amount,
        )

    def claim(self, ref: LockRef, preimage: bytes) -> str:
        lock_id = _ref_id(ref)
        lock = self.read_lock(lock_id)
        if lock is None:
            raise SwapLegError(f"no VOX lock {ref}")
        check_preimage(preimage, lock.hashlock)
        return self._execute(MsgClaim(self.raw_address, lock_id, preimage))

    def refund(self, ref: LockRef) -> str:
        return self._execute(MsgRefund(self.raw_address, _ref_id(ref)))

    def can_refund(self, ref: LockRef) -> bool:
        lock = self.read_lock(_ref_id(ref))
        return lock is not None and lock.is_open and self.now() >= lock.timeout

    # --- offers ---------------------------------------------------------------------------------

    def post_offer(self, msg: MsgOffer) -> bytes:
        """Post an offer (msg.offerer must be our address); return its id."""
        tx_hash = self._execute(msg)
        record = self.client.tx(tx_hash)
        for event in record.result.events:
            if event.type == "htlc_offer":
                attrs = {a.key: a.value for a in event.attributes}
                return bytes.fromhex(attrs["offer_id"])
        raise SwapLegError("the offer's tx carries no htlc_offer event")

    def next_offer_id(self) -> bytes:
        """The id our next Offer will get (the chain derives it from our offer nonce)."""
        raw = self.client.query("/htlc/nonce", self.raw_address, prove=True).value
        nonce = int.from_bytes(raw, "big") if raw else 0
        chain_id = self.client.status().chain_id
        return htlc.compute_offer_id(chain_id, self.raw_address, nonce)

    def read_offer(self, offer_id: bytes) -> htlc.Offer | None:
        result = self.client.query("/htlc/offer", offer_id, prove=True)
        return htlc.decode_offer(result.value) if result.value else None

    def open_offers(self) -> list[PostedOffer]:
        """Every untaken offer, proven complete (the list's commitment)."""
        listed = self.client.query_list("/htlc/open_offers", b"")
        return [PostedOffer(item.id, htlc.decode_offer(item.value)) for item in listed.items]

    def take_offer(self, offer_id: bytes, other_address: str) -> str:
        return self._execute(MsgTake(self.raw_address, offer_id, other_address))

    def cancel_offer(self, offer_id: bytes) -> str:
        return self._execute(MsgCancel(self.raw_address, offer_id))

    # --- txs ------------------------------------------------------------------------------------

    def _execute(self, msg: MsgLock | MsgClaim | MsgRefund | MsgOffer | MsgTake | MsgCancel) -> str:
        """Sign, broadcast and wait for the block; return the tx hash. Raises SwapLegError with
        the chain's error name when the tx is refused or fails."""
        try:
            result = self.client.execute(self.key, [msg], mode="commit")
        except VoxClientError as exc:
            raise SwapLegError(f"{msg.TYPE}: [{exc.code}] {exc.message}") from None
        if result.code != 0:
            name = ERRORS.get(result.code, ChainError).name
            raise SwapLegError(f"{msg.TYPE} failed: [{name}] {result.log}")
        return result.tx_hash.hex()
