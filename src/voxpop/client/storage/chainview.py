"""What the owner's client reads from the chain's `storage` module, every answer proven.

The provider list is proven complete (a node cannot hide the cheap or reliable providers, nor
slip in an impostor's endpoint), and a deal is proven before the client trusts its roots: a
shard that matches a forged root would be garbage that decodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voxpop.chain.encoding import decode_state
from voxpop.chain.errors import ChainError
from voxpop.client.errors import NotFoundError, ProtocolError
from voxpop.client.storage.selection import ProviderView
from voxpop.client.sync import VoxClient

PARAMS_PATH = "/storage/params"
PROVIDER_PATH = "/storage/provider"
DEAL_PATH = "/storage/deal"
PROVIDERS_LIST = "/storage/providers"
DEALS_BY_OWNER = "/storage/deals_by_owner"
LIVE = "active"


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


def _field(doc: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if name in doc:
            return doc[name]
    if default is not None:
        return default
    raise KeyError(names[0])


def decode_params(raw: bytes) -> StorageParams:
    doc = decode_state(raw)
    return StorageParams(
        epoch_blocks=int(doc["epoch_blocks"]),
        leaf_size=int(doc["leaf_size"]),
        confirm_blocks=int(doc["confirm_blocks"]),
        max_shard_size=int(doc["max_shard_size"]),
        max_n=int(doc["max_n"]),
    )


def decode_provider(address: bytes, raw: bytes) -> ProviderView:
    doc = decode_state(raw)
    return ProviderView(
        address=address,
        endpoint=str(doc["endpoint"]),
        capacity=int(doc["capacity"]),
        used=int(_field(doc, "used", default=0)),
        price=int(doc["price"]),
        collateral=int(doc["collateral"]),
        faults=int(_field(doc, "faults", default=0)),
    )


def decode_deal(object_id: bytes, raw: bytes, height: int) -> DealView:
    doc = decode_state(raw)
    placements = []
    for i, p in enumerate(doc["placements"]):
        placements.append(
            Placement(
                index=i,
                provider=bytes(p["provider"]),
                root=bytes(p["root"]),
                status=str(p["status"]),
                since=int(_field(p, "since", "height", default=0)),
            )
        )
    return DealView(
        object_id=object_id,
        owner=bytes(doc["owner"]),
        header_hash=bytes(doc["header_hash"]),
        size=int(doc["size"]),
        shard_size=int(doc["shard_size"]),
        k=int(doc["k"]),
        n=int(doc["n"]),
        leaf_size=int(doc["leaf_size"]),
        epochs=int(doc["epochs"]),
        placements=tuple(placements),
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


def fetch_deal(vox: VoxClient, object_id: bytes) -> DealView | None:
    """The deal, proven (None: never opened, or closed and gone)."""
    try:
        result = vox.query(DEAL_PATH, object_id, prove=True)
    except NotFoundError:
        return None
    if not result.value:
        return None
    deal: DealView = _decoded("deal", decode_deal, object_id, result.value, result.height)
    return deal


def fetch_deal_ids(vox: VoxClient, owner: bytes) -> list[bytes]:
    """The ids of the owner's open deals, from the list proven complete."""
    listed = vox.query_list(DEALS_BY_OWNER, owner, prove=True)
    return [item.id for item in listed.items]
