"""`voxpop node snapshot export|import`: a stopped node's state as a snapshot directory, and back.

The directory holds one snapshot in the format state sync uses (DIR/<height>/metadata.cbor and
chunk files, docs/protocol/snapshots.md), so a backup is verified the same way: every chunk by
its hash, the restored root against the metadata's app hash, and, when the operator gives one
(`--app-hash`, e.g. read from a header they trust), against that too. A solo node's backup also
carries its last block (in `aux`), which the next block's header links to.
"""

from __future__ import annotations

from pathlib import Path

from voxpop.node.blockstore import BLOCK_HASHES_DB, BLOCKS_DB, load_block
from voxpop.node.home import NodeHome
from voxpop.node.snapshots.disk import SnapshotDir
from voxpop.node.snapshots.errors import SnapshotError, SnapshotNotFoundError
from voxpop.node.snapshots.format import DEFAULT_CHUNK_BYTES, SnapshotMetadata
from voxpop.node.snapshots.restore import Restorer
from voxpop.node.snapshots.take import write_snapshot


def export_snapshot(
    home: NodeHome, out: Path, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> SnapshotMetadata:
    """Write the node's latest state into `out` as a snapshot. The node must be stopped (the
    store's writer lock says so: StoreLockedError otherwise)."""
    from voxpop.node.app_factory import open_app

    app = open_app(home)
    try:
        height = app.last_height
        if height == 0:
            raise SnapshotError(f"{home.root} has no committed state to export")
        aux: tuple[tuple[str, bytes, bytes], ...] = ()
        block = load_block(app.store, height)
        if block is not None:  # a solo node: its last block, for the next header's link
            raw = app.store.get_aux(BLOCKS_DB, height.to_bytes(8, "big"))
            assert raw is not None
            aux = (
                (BLOCKS_DB, height.to_bytes(8, "big"), raw),
                (BLOCK_HASHES_DB, block.hash, height.to_bytes(8, "big")),
            )
        return write_snapshot(
            SnapshotDir(out),
            app.iterate_state(),
            height=height,
            app_hash=app.last_app_hash,
            block_time=app.last_block_time,
            aux=aux,
            chunk_bytes=chunk_bytes,
        )
    finally:
        app.store.close()


def import_snapshot(
    home: NodeHome, src: Path, height: int | None = None, app_hash: bytes | None = None
) -> SnapshotMetadata:
    """Restore the snapshot in `src` (its newest, or the one at `height`) into the node's empty
    store. Raises SnapshotError (a bad chunk, another app hash, a store that has state)."""
    from voxpop.node.app_factory import open_app

    snapshots = SnapshotDir(src)
    heights = snapshots.heights()
    if not heights:
        raise SnapshotNotFoundError(f"{src} holds no snapshot")
    meta = snapshots.metadata(height if height is not None else heights[-1])
    app = open_app(home)
    try:
        restorer = Restorer(app)
        restorer.offer(meta, app_hash if app_hash is not None else meta.app_hash)
        for index in range(meta.chunks):
            restorer.apply(index, snapshots.chunk(meta.height, index))
    finally:
        app.store.close()
    return meta
