"""Storage messages: providers register and leave; owners open, repair and close deals; providers
confirm the shards they took, prove them when challenged and claim what they earned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from voxpop.chain.errors import StorageBadCodingError, StorageDuplicateProviderError
from voxpop.chain.fields import (
    ADDRESS,
    AMOUNT,
    HASH,
    UINT64,
    BytesKind,
    Doc,
    ListKind,
    TupleKind,
    UintKind,
)
from voxpop.chain.module import Msg
from voxpop.chain.modules.services.messages import EndpointKind

# Bounds of the declarations, whatever the params say (the params may set less)
MAX_N = 32  # shards per object (pyeclib's isa_l_rs_vand takes up to 32 fragments in all)
MAX_PLACEMENTS_PER_CONFIRM = 256
MAX_PROOFS = 64  # at least the most `challenges_per_epoch` may be
MAX_PATH = 48  # Merkle audit path length: trees of up to 2^48 leaves
MAX_LEAF = 1 << 20  # the most `leaf_size` may be
MAX_CLAIM = 64
MAX_EPOCHS = 1_000_000

OBJECT_ID = HASH  # 32 random bytes chosen by the owner: says nothing about the content
SHARD_INDEX = UintKind(0, MAX_N - 1)
PLACEMENT = TupleKind(OBJECT_ID, SHARD_INDEX, names=("object_id", "shard_index"))
PROOF = TupleKind(
    OBJECT_ID,
    SHARD_INDEX,
    UINT64,
    BytesKind(max_length=MAX_LEAF),
    ListKind(HASH, max_items=MAX_PATH),
    names=("object_id", "shard_index", "leaf_index", "leaf", "path"),
)
CAPACITY = UintKind(1, doc="bytes, 1..2^64-1")
PRICE = UintKind(doc="uvox per GiB per epoch, 0..2^64-1")


@dataclass(frozen=True, slots=True)
class MsgRegister(Msg):
    """Offer storage: `collateral` moves into the storage account, slashed on missed proofs."""

    TYPE = "storage/Register"
    SIGNER = "provider"
    provider: Annotated[bytes, ADDRESS]
    endpoint: Annotated[str, EndpointKind(), Doc("where owners upload and read shards")]
    capacity: Annotated[int, CAPACITY]
    price: Annotated[int, PRICE]
    collateral: Annotated[int, AMOUNT]


@dataclass(frozen=True, slots=True)
class MsgUpdate(Msg):
    """Change a provider's endpoint, capacity and price (deals already open keep their price)."""

    TYPE = "storage/Update"
    SIGNER = "provider"
    provider: Annotated[bytes, ADDRESS]
    endpoint: Annotated[str, EndpointKind()]
    capacity: Annotated[int, CAPACITY]
    price: Annotated[int, PRICE]


@dataclass(frozen=True, slots=True)
class MsgAddCollateral(Msg):
    """Add to a provider's collateral (back above `min_collateral` after a slash)."""

    TYPE = "storage/AddCollateral"
    SIGNER = "provider"
    provider: Annotated[bytes, ADDRESS]
    amount: Annotated[int, AMOUNT]


@dataclass(frozen=True, slots=True)
class MsgWithdraw(Msg):
    """Leave: allowed once the provider holds no placement; its collateral comes back."""

    TYPE = "storage/Withdraw"
    SIGNER = "provider"
    provider: Annotated[bytes, ADDRESS]


@dataclass(frozen=True, slots=True)
class MsgOpenDeal(Msg):
    """Store an object as n shards, shard i with providers[i]; the chain computes the escrow."""

    TYPE = "storage/OpenDeal"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    object_id: Annotated[bytes, OBJECT_ID, Doc("random, chosen by the owner")]
    header_hash: Annotated[bytes, HASH, Doc("sha256 of the object header (capsule)")]
    size: Annotated[int, UintKind(1, doc="ciphertext bytes, 1..2^64-1")]
    shard_size: Annotated[int, UintKind(1, doc="bytes of each shard, 1..2^64-1")]
    k: Annotated[int, UintKind(1, MAX_N - 1)]
    n: Annotated[int, UintKind(2, MAX_N)]
    leaf_size: Annotated[int, UintKind(1, MAX_LEAF), Doc("must equal the param")]
    roots: Annotated[
        tuple[bytes, ...],
        ListKind(HASH, min_items=2, max_items=MAX_N),
        Doc("Merkle root of each shard"),
    ]
    providers: Annotated[
        tuple[bytes, ...], ListKind(ADDRESS, min_items=2, max_items=MAX_N), Doc("distinct")
    ]
    epochs: Annotated[int, UintKind(1, MAX_EPOCHS), Doc("duration")]
    max_price: Annotated[int, PRICE]

    def validate(self) -> None:
        # Verify k < n, one root and one provider per shard
        if not self.k < self.n or len(self.roots) != self.n or len(self.providers) != self.n:
            raise StorageBadCodingError("a deal needs k < n, n roots and n providers")
        # Verify any k shards can hold the object
        if self.size > self.k * self.shard_size:
            raise StorageBadCodingError("k shards of shard_size cannot hold size bytes")
        # Verify each shard goes to a different provider
        if len(set(self.providers)) != self.n:
            raise StorageDuplicateProviderError("each shard needs a different provider")


@dataclass(frozen=True, slots=True)
class MsgConfirm(Msg):
    """The provider holds these shards (it checked each against its root): their pay starts at
    the next epoch."""

    TYPE = "storage/Confirm"
    SIGNER = "provider"
    provider: Annotated[bytes, ADDRESS]
    placements: Annotated[
        tuple[tuple[bytes, int], ...],
        ListKind(PLACEMENT, min_items=1, max_items=MAX_PLACEMENTS_PER_CONFIRM),
    ]


@dataclass(frozen=True, slots=True)
class MsgProve(Msg):
    """Answers to the provider's challenges of `epoch`: each a leaf and its Merkle audit path."""

    TYPE = "storage/Prove"
    SIGNER = "provider"
    provider: Annotated[bytes, ADDRESS]
    epoch: Annotated[int, UINT64]
    proofs: Annotated[
        tuple[tuple[bytes, int, int, bytes, tuple[bytes, ...]], ...],
        ListKind(PROOF, min_items=1, max_items=MAX_PROOFS),
    ]


@dataclass(frozen=True, slots=True)
class MsgClaim(Msg):
    """Release the provider's pay for the judged epochs of these deals (faulted ones are lost)."""

    TYPE = "storage/Claim"
    SIGNER = "provider"
    provider: Annotated[bytes, ADDRESS]
    object_ids: Annotated[tuple[bytes, ...], ListKind(OBJECT_ID, min_items=1, max_items=MAX_CLAIM)]


@dataclass(frozen=True, slots=True)
class MsgReplace(Msg):
    """Move shard `shard_index` to `provider` (repair): the old provider's unearned escrow
    returns to the owner, the new one's is paid for the epochs left."""

    TYPE = "storage/Replace"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    object_id: Annotated[bytes, OBJECT_ID]
    shard_index: Annotated[int, SHARD_INDEX]
    provider: Annotated[bytes, ADDRESS, Doc("the new provider")]


@dataclass(frozen=True, slots=True)
class MsgCloseDeal(Msg):
    """End a deal now: providers are paid for their judged epochs, the rest returns to the owner."""

    TYPE = "storage/CloseDeal"
    SIGNER = "owner"
    owner: Annotated[bytes, ADDRESS]
    object_id: Annotated[bytes, OBJECT_ID]
