"""The one interface every chain of a swap implements: a `Leg`.

A swap has two legs, one per chain. On each leg one party locks funds under the same hashlock
(sha256 of a 32-byte secret) for the other party, with a timeout after which the locker may take
them back. Claiming a lock reveals the secret on that chain; the other party reads it there and
claims on the other chain. The swap tool (`voxpop.swap.engine`) drives two legs through this
interface only, so adding a chain is writing one class.

Units: amounts are integers in the chain's smallest unit (uvox, wei, satoshi). Timeouts are in
the chain's own terms: absolute block time (unix seconds) for VOX and ETH, a relative number of
blocks (OP_CHECKSEQUENCEVERIFY) for BTC. A lock's reference (`LockRef`) is a string each leg
defines (VOX: the lock id, hex; ETH: the contract's lock id, 0x-hex; BTC: "txid:vout").
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

SECRET_SIZE = 32  # the preimage is exactly 32 bytes on every leg (it must fit Bitcoin's script)
HASH_SIZE = 32

LockRef = str


class SwapLegError(Exception):
    """A leg refused an action or found the chain disagreeing with the terms; `code` is stable."""

    code = "swap_leg_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TermsMismatchError(SwapLegError):
    """A lock on chain does not match the terms agreed (amount, hashlock, recipient, timeout)."""

    code = "swap_terms_mismatch"


class WrongPreimageError(SwapLegError):
    """A preimage that is not 32 bytes or does not hash to the lock's hashlock."""

    code = "swap_wrong_preimage"


class TimeoutKind(enum.Enum):
    ABSOLUTE_TIME = "absolute_time"  # unix seconds of block time (VOX, ETH)
    RELATIVE_BLOCKS = "relative_blocks"  # blocks after the lock confirms (BTC CSV)


class LockState(enum.Enum):
    PENDING = "pending"  # sent, not yet in a block (or not found)
    LOCKED = "locked"  # in a block, funds held under the hashlock
    CLAIMED = "claimed"  # the recipient took it: the preimage is public
    REFUNDED = "refunded"  # the sender took it back after the timeout


@dataclass(frozen=True, slots=True)
class LockTerms:
    """What one side locks on one chain.

    `recipient` and `refund_address` are the chain's own text form (VOX: vox1...; ETH: 0x
    checksummed address; BTC: the compressed public key, hex, since the script names keys).
    `timeout` is absolute unix seconds (VOX, ETH) or relative CSV blocks (BTC).
    """

    hashlock: bytes
    amount: int
    recipient: str
    refund_address: str
    timeout: int

    def __post_init__(self) -> None:
        if len(self.hashlock) != HASH_SIZE:
            raise SwapLegError(f"hashlock must be {HASH_SIZE} bytes, not {len(self.hashlock)}")
        if self.amount <= 0:
            raise SwapLegError("amount must be positive")
        if self.timeout <= 0:
            raise SwapLegError("timeout must be positive")


@dataclass(frozen=True, slots=True)
class LegStatus:
    """What a leg sees of one lock now.

    `deadline`: when the sender may refund, in the chain's terms (VOX/ETH: unix seconds; BTC: the
    block height, 0 while unconfirmed). `seconds_left`: an estimate of the time until then (0 once
    passed; None while unknown), which the tool compares across chains.
    """

    state: LockState
    confirmations: int = 0
    preimage: bytes | None = None
    deadline: int = 0
    seconds_left: int | None = None
    amount: int = 0


@runtime_checkable
class Leg(Protocol):
    """One chain's side of a swap. Every method may raise SwapLegError (or a subclass)."""

    @property
    def asset(self) -> str:
        """The asset's ticker: "VOX", "ETH", "BTC"."""

    @property
    def timeout_kind(self) -> TimeoutKind: ...

    @property
    def confirmations_needed(self) -> int:
        """Confirmations before a counterparty's lock counts (the chain's reorg depth)."""

    def address(self) -> str:
        """Our address on this chain, in the form LockTerms uses for recipient/refund_address."""

    def lock(self, terms: LockTerms) -> LockRef:
        """Lock `terms.amount` of our funds for `terms.recipient`; return the lock's reference
        once the lock is sent (it may still be PENDING)."""

    def timeout_after(self, seconds: int) -> int:
        """The timeout to put in LockTerms for a lock that must last `seconds` from now: the
        chain's time now + seconds (VOX, ETH), or ceil(seconds / block time) blocks (BTC)."""

    def find_lock(self, terms: LockTerms) -> LockRef | None:
        """The counterparty's lock on this chain that matches `terms` (hashlock, amount,
        recipient = us, refund address exactly; timeout at least `terms.timeout` for absolute
        timeouts, exactly for BTC whose script commits to it), or None if there is none yet.
        Raises TermsMismatchError when a lock under this hashlock exists but differs."""

    def status(self, ref: LockRef) -> LegStatus: ...

    def claim(self, ref: LockRef, preimage: bytes) -> str:
        """Take a lock paying us with its preimage; return the tx id. Raises WrongPreimageError."""

    def refund(self, ref: LockRef) -> str:
        """Take back our own lock after its timeout; return the tx id."""

    def can_refund(self, ref: LockRef) -> bool:
        """True once the lock's timeout lets its sender refund (and it is still LOCKED)."""


def hashlock_of(preimage: bytes) -> bytes:
    """sha256 of a 32-byte secret. Raises WrongPreimageError for any other size."""
    if len(preimage) != SECRET_SIZE:
        raise WrongPreimageError(f"the preimage must be exactly {SECRET_SIZE} bytes")
    return hashlib.sha256(preimage).digest()


def check_preimage(preimage: bytes, hashlock: bytes) -> None:
    """Raise WrongPreimageError unless `preimage` is 32 bytes hashing to `hashlock`."""
    if hashlock_of(preimage) != hashlock:
        raise WrongPreimageError("the preimage does not hash to the lock's hashlock")
