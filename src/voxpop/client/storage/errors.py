"""Errors of the owner's storage client (voxpop.client.storage), each with a stable `code`.

VoxClientError
  DataError                   base of every storage-client error
    NotEnoughProvidersError   fewer usable providers than the object needs shards (`n`)
    ObjectNotFoundError       no deal for that id on chain, or not this owner's
    ShardFetchError           fewer than k shards could be fetched and verified: not readable now
    UploadError               a storage node refused or did not take a shard or the header
    StorageNodeError          a storage node answered with an error {code, message}
    NameIndexError            the local name index does not open (wrong key, damaged file)
    ObjectTooLargeError       the object is over what one deal may hold
"""

from __future__ import annotations

from voxpop.client.errors import VoxClientError
from voxpop.node.service import BroadcastResult


class DataError(VoxClientError):
    code = "data_error"


class NotEnoughProvidersError(DataError):
    code = "not_enough_providers"


class ObjectNotFoundError(DataError):
    code = "object_not_found"


class ShardFetchError(DataError):
    code = "shards_unavailable"


class UploadError(DataError):
    code = "upload_failed"


class StorageNodeError(DataError):
    """A storage node's JSON error (`node_code`: its stable name, e.g. root_mismatch)."""

    code = "storage_node_error"

    def __init__(self, endpoint: str, status: int, node_code: str, message: str) -> None:
        super().__init__(f"{endpoint}: [{node_code}] {message} (HTTP {status})")
        self.endpoint = endpoint
        self.status = status
        self.node_code = node_code


class NameIndexError(DataError):
    code = "index_unreadable"


class ObjectTooLargeError(DataError):
    code = "object_too_large"


def check_committed(result: BroadcastResult, what: str) -> None:
    """Raises DataError unless the tx executed in a block (a failed tx pays its fee and changes
    nothing else; height 0: accepted, not committed in time)."""
    # Verify the tx executed in a block
    if result.code != 0:
        raise DataError(f"{what} failed (code {result.code}): {result.log}")
    if result.height == 0:
        raise DataError(f"{what} was accepted but not committed in time")
