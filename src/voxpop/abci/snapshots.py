"""The four state sync requests (ListSnapshots, LoadSnapshotChunk, OfferSnapshot,
ApplySnapshotChunk), translated to and from voxpop.node.snapshots.service.

Without a SnapshotService the node has no snapshots to list and refuses every offer (ABORT: this
node cannot restore one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from voxpop.abci.proto import abci_pb2
from voxpop.node.snapshots.service import ApplyResult, OfferResult, SnapshotService

_OFFER = {
    OfferResult.ACCEPT: abci_pb2.ResponseOfferSnapshot.ACCEPT,
    OfferResult.ABORT: abci_pb2.ResponseOfferSnapshot.ABORT,
    OfferResult.REJECT: abci_pb2.ResponseOfferSnapshot.REJECT,
    OfferResult.REJECT_FORMAT: abci_pb2.ResponseOfferSnapshot.REJECT_FORMAT,
}
_APPLY = {
    ApplyResult.ACCEPT: abci_pb2.ResponseApplySnapshotChunk.ACCEPT,
    ApplyResult.ABORT: abci_pb2.ResponseApplySnapshotChunk.ABORT,
    ApplyResult.RETRY: abci_pb2.ResponseApplySnapshotChunk.RETRY,
    ApplyResult.REJECT_SNAPSHOT: abci_pb2.ResponseApplySnapshotChunk.REJECT_SNAPSHOT,
}


def snapshot_handlers(service: SnapshotService | None) -> dict[str, Callable[[Any], Any]]:
    """AbciServer handlers (request message -> response message) for the snapshot requests."""
    if service is None:
        return {
            "list_snapshots": lambda pb: abci_pb2.ResponseListSnapshots(),
            "load_snapshot_chunk": lambda pb: abci_pb2.ResponseLoadSnapshotChunk(),
            "offer_snapshot": lambda pb: abci_pb2.ResponseOfferSnapshot(
                result=abci_pb2.ResponseOfferSnapshot.ABORT
            ),
            "apply_snapshot_chunk": lambda pb: abci_pb2.ResponseApplySnapshotChunk(
                result=abci_pb2.ResponseApplySnapshotChunk.ABORT
            ),
        }

    def list_snapshots(pb: Any) -> Any:
        return abci_pb2.ResponseListSnapshots(
            snapshots=[
                abci_pb2.Snapshot(
                    height=s.height,
                    format=s.format,
                    chunks=s.chunks,
                    hash=s.hash,
                    metadata=s.metadata,
                )
                for s in service.list()
            ]
        )

    def load_snapshot_chunk(pb: Any) -> Any:
        chunk = service.load_chunk(pb.height, pb.format, pb.chunk)
        return abci_pb2.ResponseLoadSnapshotChunk(chunk=chunk)

    def offer_snapshot(pb: Any) -> Any:
        s = pb.snapshot
        result = service.offer(s.format, s.metadata, s.hash, pb.app_hash)
        return abci_pb2.ResponseOfferSnapshot(result=_OFFER[result])

    def apply_snapshot_chunk(pb: Any) -> Any:
        applied = service.apply(pb.index, pb.chunk, pb.sender)
        return abci_pb2.ResponseApplySnapshotChunk(
            result=_APPLY[applied.result],
            refetch_chunks=list(applied.refetch_chunks),
            reject_senders=list(applied.reject_senders),
        )

    return {
        "list_snapshots": list_snapshots,
        "load_snapshot_chunk": load_snapshot_chunk,
        "offer_snapshot": offer_snapshot,
        "apply_snapshot_chunk": apply_snapshot_chunk,
    }
