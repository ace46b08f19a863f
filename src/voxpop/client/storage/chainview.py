"""What the owner's client reads from the chain's `storage` module, every answer proven.

The provider list is proven complete (a node cannot hide the cheap or reliable providers, nor
slip in an impostor's endpoint), and a deal is proven before the client trusts its roots: a
shard that matches a forged root would be garbage that decodes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from voxpop.chain.errors import ChainError
from voxpop.chain.modules.storage import state
from voxpop.client.errors import NotFoundError, ProtocolError
from voxpop.client.storage.selection import ProviderView
from voxpop.client.sync import VoxClient

PARAMS_PATH = "/storage/params"
PROVIDER_PATH = "/storage/provider"
DEAL_PATH = "/storage/deal"
PROVIDERS_LIST = "/storage/providers"
DEALS_BY_OWNER = "/storage/by_owner"
LIVE = state.ACTIVE


@dataclass(frozen=True, slots=True)
class StorageParams:
    epoch_blocks: int
    leaf_size: int
    confirm_blocks: int
    max_shard_size: int
    max_n: int


@dataclass(frozen=True, slots=True)
class Placement:
    index: int
    provider: bytes
    root: bytes
    status: str  # pending | active | repair | gone
    since: int  # the height it took this status (pending: when placed)


@dataclass(frozen=True, slots=True)
class DealView:
    object_id: bytes
    owner: bytes
    header_hash: bytes
    size: int  # ciphertext bytes
    shard_size: int
    k: int
    n: int
    leaf_size: int
    epochs: int
    placements: tuple[Placement, ...]
    height: int  # the height it was proven at

    def live(self) -> list[Placement]:
        return [p for p in self.placements if p.status == LIVE]


def decode_params(raw: bytes) -> StorageParams:
    p = state.decode_params(raw)
    return StorageParams(p.epoch_blocks, p.leaf_size, p.confirm_blocks, p.max_shard_size, p.max_n)


def decode_provider(address: bytes, raw: bytes) -> ProviderView:
    p = state.decode_provider(raw)
    return ProviderView(address, p.endpoint, p.capacity, p.used, p.price, p.collateral, p.faults)


def decode_deal(
    object_id: bytes, raw: bytes, height: int, registered: Collection[bytes] | None = None
) -> DealView:
    """The deal; with `registered` (the providers the chain lists), a placement whose provider
    is not among them shows `gone`, as the chain's deal JSON does."""
    d = state.decode_deal(raw)
    placements = tuple(
        Placement(
            index=i,
            provider=p.provider,
            root=p.root,
            status=state.GONE
            if registered is not None and p.provider not in registered
            else p.status,
            since=p.placed_at,
        )
        for i, p in enumerate(d.placements)
    )
    return DealView(
        object_id=object_id,
        owner=d.owner,
        header_hash=d.header_hash,
        size=d.size,
        shard_size=d.shard_size,
        k=d.k,
        n=d.n,
        leaf_size=d.leaf_size,
        epochs=d.end_epoch - d.start_epoch,
        placements=placements,
        height=height,
    )


def _decoded(what: str, decode: Any, *args: Any) -> Any:
    try:
        return decode(*args)
    except (ChainError, KeyError, TypeError, ValueError):
        raise ProtocolError(f"malformed {what} in the storage state") from None


def fetch_params(vox: VoxClient) -> StorageParams:
    """Raises ProtocolError (no storage module), ProofVerificationError."""
    result = vox.query(PARAMS_PATH, b"", prove=True)
    if not result.value:
        raise ProtocolError("the chain has no storage params (no storage module?)")
    params: StorageParams = _decoded("params", decode_params, result.value)
    return params


def fetch_providers(vox: VoxClient) -> list[ProviderView]:
    """Every registered provider, from the list proven complete."""
    listed = vox.query_list(PROVIDERS_LIST, b"", prove=True)
    return [_decoded("provider", decode_provider, item.id, item.value) for item in listed.items]


def fetch_provider(vox: VoxClient, address: bytes) -> ProviderView | None:
    result = vox.query(PROVIDER_PATH, address, prove=True)
    if not result.value:
        return None
    provider: ProviderView = _decoded("provider", decode_provider, address, result.value)
    return provider


def fetch_deal(
    vox: VoxClient, object_id: bytes, registered: Collection[bytes] | None = None
) -> DealView | None:
    """The deal, proven (None: never opened, or closed and gone); see decode_deal for
    `registered`."""
    try:
        result = vox.query(DEAL_PATH, object_id, prove=True)
    except NotFoundError:
        return None
    if not result.value:
        return None
    deal: DealView = _decoded(
        "deal", decode_deal, object_id, result.value, result.height, registered
    )
    return deal


def fetch_deal_ids(vox: VoxClient, owner: bytes) -> list[bytes]:
    """The ids of the owner's open deals, from the list proven complete."""
    listed = vox.query_list(DEALS_BY_OWNER, owner, prove=True)
    return [item.id for item in listed.items]
