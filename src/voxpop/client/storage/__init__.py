"""The owner's side of the data vault: put, get, ls, rm, status and repair of encrypted,
erasure-coded objects held by storage providers (issue 13; docs/protocol/storage.md).

    from voxpop.client import VoxClient
    from voxpop.client.storage import DataVault, PutPolicy
    with VoxClient(url) as vox, DataVault(vox, account, home) as vault:
        put = vault.put(data, "kitchen-2026-11-29.wav", PutPolicy(k=4, n=6, epochs=100))
        assert vault.get(put.object_id) == data

The agent's opted-in uploads go through the same DataVault.
"""

from voxpop.client.storage.chainview import DealView, Placement, StorageParams
from voxpop.client.storage.errors import (
    DataError,
    NameIndexError,
    NotEnoughProvidersError,
    ObjectNotFoundError,
    ObjectTooLargeError,
    ShardFetchError,
    StorageNodeError,
    UploadError,
)
from voxpop.client.storage.index import IndexEntry, NameIndex
from voxpop.client.storage.pipeline import (
    DEFAULT_EPOCHS,
    DEFAULT_K,
    DEFAULT_N,
    DataVault,
    PutPolicy,
    PutResult,
    RepairResult,
    parse_object_id,
)
from voxpop.client.storage.selection import ProviderView, choose_providers, rank_providers

__all__ = [
    "DEFAULT_EPOCHS",
    "DEFAULT_K",
    "DEFAULT_N",
    "DataError",
    "DataVault",
    "DealView",
    "IndexEntry",
    "NameIndex",
    "NameIndexError",
    "NotEnoughProvidersError",
    "ObjectNotFoundError",
    "ObjectTooLargeError",
    "Placement",
    "ProviderView",
    "PutPolicy",
    "PutResult",
    "RepairResult",
    "ShardFetchError",
    "StorageNodeError",
    "StorageParams",
    "UploadError",
    "choose_providers",
    "parse_object_id",
    "rank_providers",
]
