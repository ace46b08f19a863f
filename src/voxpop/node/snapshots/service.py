"""What a node does for state sync, in ABCI's terms but without its types (voxpop.abci.snapshots
translates): take and serve snapshots, restore one, and hold blocks the snapshots need.

Results follow CometBFT's meaning: a snapshot whose metadata is not ours is REJECT_FORMAT; one
that fails a check (app hash, records) is REJECT (CometBFT tries another); a chunk with the
wrong hash is RETRY with that chunk refetched and its sender rejected (CometBFT fetches it from
another peer); anything else ABORTs the sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from voxpop.client.light import TrustOptions
from voxpop.node.config import load_config
from voxpop.node.home import NodeHome
from voxpop.node.snapshots.disk import SnapshotDir
from voxpop.node.snapshots.errors import (
    ChunkHashError,
    SnapshotError,
    SnapshotFormatError,
    SnapshotNotFoundError,
)
from voxpop.node.snapshots.format import FORMAT, SnapshotMetadata
from voxpop.node.snapshots.light_check import check_with_light_client
from voxpop.node.snapshots.restore import Restorer
from voxpop.node.snapshots.take import Snapshotter

log = logging.getLogger("voxpop.node.snapshots")

# (snapshot height, verified app hash): raises SnapshotError unless our light client agrees
AppHashCheck = Callable[[int, bytes], None]


class OfferResult(Enum):
    ACCEPT = "accept"
    ABORT = "abort"
    REJECT = "reject"
    REJECT_FORMAT = "reject_format"


class ApplyResult(Enum):
    ACCEPT = "accept"
    ABORT = "abort"
    RETRY = "retry"
    REJECT_SNAPSHOT = "reject_snapshot"


@dataclass(frozen=True, slots=True)
class ListedSnapshot:
    height: int
    format: int
    chunks: int
    hash: bytes
    metadata: bytes


@dataclass(frozen=True, slots=True)
class Applied:
    result: ApplyResult
    refetch_chunks: tuple[int, ...] = ()
    reject_senders: tuple[str, ...] = ()


class SnapshotService:
    """Snapshots of `app` (voxpop.chain.app.VoxApp) kept in `snapshots`."""

    def __init__(
        self,
        app: Any,
        snapshots: SnapshotDir,
        *,
        interval: int,
        keep: int,
        chunk_bytes: int,
        check_app_hash: AppHashCheck | None = None,
    ) -> None:
        self.app = app
        self.snapshots = snapshots
        self.snapshotter = Snapshotter(
            snapshots, interval=interval, keep=keep, chunk_bytes=chunk_bytes
        )
        self.restorer = Restorer(app)
        self.check_app_hash = check_app_hash

    # --- serving ------------------------------------------------------------------------------

    def after_commit(self, retain_height: int) -> int:
        """Call after each Commit: take a snapshot if due; return the retain height CometBFT
        gets, lowered to the oldest kept snapshot (a node serving it must keep its blocks, for
        the light client's headers at its height)."""
        self.snapshotter.after_commit(self.app)
        heights = self.snapshots.heights()
        if retain_height > 0 and heights:
            return min(retain_height, heights[0])
        return retain_height

    def list(self) -> list[ListedSnapshot]:
        out = []
        for height in self.snapshots.heights():
            try:
                raw = self.snapshots.raw_metadata(height)
                meta = SnapshotMetadata.decode(raw)
            except SnapshotError as exc:  # pruned meanwhile, or damaged on disk: not offered
                log.warning("snapshot %d not listed: %s", height, exc)
                continue
            out.append(ListedSnapshot(height, FORMAT, meta.chunks, meta.hash(), raw))
        return out

    def load_chunk(self, height: int, fmt: int, index: int) -> bytes:
        """The chunk, or b"" if it is not kept (CometBFT then asks another peer)."""
        if fmt != FORMAT:
            return b""
        try:
            return self.snapshots.chunk(height, index)
        except SnapshotNotFoundError:
            return b""

    # --- restoring ----------------------------------------------------------------------------

    def offer(
        self, fmt: int, metadata: bytes, snapshot_hash: bytes, app_hash: bytes
    ) -> OfferResult:
        """CometBFT offers a snapshot with the app hash its light client verified."""
        if fmt != FORMAT:
            return OfferResult.REJECT_FORMAT
        try:
            meta = SnapshotMetadata.decode(metadata)
            # Verify the snapshot's identity is its metadata
            if meta.hash() != snapshot_hash:
                raise SnapshotFormatError("the snapshot hash is not the hash of its metadata")
            # Verify the app hash with our own light client too, before restoring anything
            if self.check_app_hash is not None:
                self.check_app_hash(meta.height, app_hash)
            self.restorer.offer(meta, app_hash)
        except SnapshotFormatError as exc:
            log.warning("snapshot refused: %s", exc)
            return OfferResult.REJECT_FORMAT
        except SnapshotError as exc:
            log.warning("snapshot refused: %s", exc)
            return OfferResult.REJECT
        return OfferResult.ACCEPT

    def apply(self, index: int, chunk: bytes, sender: str) -> Applied:
        if not self.restorer.active:
            return Applied(ApplyResult.ABORT)
        try:
            self.restorer.apply(index, chunk)
        except ChunkHashError as exc:
            log.warning("chunk %d refused (sender %s): %s", index, sender or "?", exc)
            return Applied(ApplyResult.RETRY, (index,), (sender,) if sender else ())
        except SnapshotError as exc:
            log.warning("snapshot refused at chunk %d: %s", index, exc)
            self.restorer.abort()
            return Applied(ApplyResult.REJECT_SNAPSHOT, (), (sender,) if sender else ())
        return Applied(ApplyResult.ACCEPT)


def open_snapshot_service(home: NodeHome, app: Any) -> SnapshotService | None:
    """The SnapshotService of a CometBFT node over `app`, from HOME/config/config.toml
    ([snapshots]; [cometbft] state_sync_* for the light client check); None if the app cannot
    be snapshotted (a test app without `iterate_state`)."""
    if not hasattr(app, "iterate_state"):
        return None
    config = load_config(home.config_toml)
    c = config.cometbft
    servers = [s.strip() for s in c.state_sync_rpc_servers.split(",") if s.strip()]
    check: AppHashCheck | None = None
    if servers:
        trust = None
        if c.state_sync_trust_height and c.state_sync_trust_hash:
            trust = TrustOptions(c.state_sync_trust_height, bytes.fromhex(c.state_sync_trust_hash))
        check = check_with_light_client(servers, trust)
    s = config.snapshots
    return SnapshotService(
        app,
        SnapshotDir(home.data_dir / "snapshots"),
        interval=s.interval,
        keep=s.keep,
        chunk_bytes=s.chunk_bytes,
        check_app_hash=check,
    )
