"""The indexer: backfill from the last indexed height to the node's latest, then follow the node's
block stream (`/v1/stream`, kind block), catching up to each new block as it is announced.

Blocks are fetched through the client SDK, decoded (decode.py) and written in batches, each batch
in one transaction with the new last height (ingest.py): a crash loses at most the batch being
written, and the next start resumes right after the last one written. Every `refresh_blocks`
blocks the chain's current validators, proposals, offers and storage providers are read again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from voxpop.client import VoxClient, VoxClientError
from voxpop.explorer import chainview, ingest, schema
from voxpop.explorer.decode import BlockRows, decode_block
from voxpop.explorer.reads import known_operators, known_proposers

log = logging.getLogger("voxpop.explorer")

DEFAULT_BATCH_BLOCKS = 200  # blocks per transaction while backfilling
DEFAULT_REFRESH_BLOCKS = 5  # re-read validators, proposals, offers, providers this often
DEFAULT_POLL_SECONDS = 2.0  # catch up at least this often, should the stream miss a block
RETRY_SECONDS = 1.0
FETCH_THREADS = 4  # block requests in flight while catching up


class IndexerError(Exception):
    """The index cannot follow this node; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Indexer:
    def __init__(
        self,
        engine: Engine,
        node_url: str,
        *,
        batch_blocks: int = DEFAULT_BATCH_BLOCKS,
        refresh_blocks: int = DEFAULT_REFRESH_BLOCKS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
    ) -> None:
        self.engine = engine
        self.node_url = node_url
        self.batch_blocks = batch_blocks
        self.refresh_blocks = refresh_blocks
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self.fetcher = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="block-fetch")
        self.refreshed_at: int | None = None  # the height of the last refresh
        self.last_error = ""

    def catch_up(self, client: VoxClient) -> int:
        """Index every block up to the node's latest; returns the last indexed height.
        Raises IndexerError (another chain), VoxClientError, SQLAlchemyError."""
        status = client.status()
        with self.engine.connect() as conn:
            cursor = ingest.read_cursor(conn)
        # Verify the index is this chain's
        if cursor is not None and cursor[0] != status.chain_id:
            raise IndexerError(
                "index_other_chain",
                f"the index holds chain {cursor[0]!r}; the node runs {status.chain_id!r}",
            )
        last = 0 if cursor is None else cursor[1]
        while last < status.latest_height and not self.stopping.is_set():
            top = min(last + self.batch_blocks, status.latest_height)
            # A few requests in flight: a backfill waits on the node's answers, not on decoding
            records = self.fetcher.map(client.block, range(last + 1, top + 1))
            batch = [decode_block(record) for record in records]
            self._pin_supply(client, batch)
            last = ingest.write_batch(self.engine, status.chain_id, batch)
            log.info("indexed blocks to %d", last)
        if self.refreshed_at is None or last - self.refreshed_at >= self.refresh_blocks:
            self.refresh_state(client, last)
        return last

    def _pin_supply(self, client: VoxClient, batch: list[BlockRows]) -> None:
        # The chain's own supply at the batch's ends; the blocks between carry it forward
        for rows in (batch[0], batch[-1]):
            rows.supply = chainview.read_supply(client, rows.height)

    def refresh_state(self, client: VoxClient, height: int) -> None:
        """Re-read the chain's validators, proposals, offers and storage providers."""
        with self.engine.connect() as conn:
            proposers, operators = known_proposers(conn), known_operators(conn)
        reads: tuple[tuple[sa.Table, Callable[[], list[dict[str, Any]]]], ...] = (
            (
                schema.validators,
                lambda: chainview.read_validators(client, proposers, operators, height),
            ),
            (schema.proposals, lambda: chainview.read_proposals(self.node_url, height)),
            (schema.service_offers, lambda: chainview.read_offers(client, height)),
            (schema.storage_providers, lambda: chainview.read_storage_providers(client, height)),
        )
        for table, read in reads:
            try:
                ingest.replace_rows(self.engine, table, read())
            except (VoxClientError, SQLAlchemyError, OSError, ValueError, KeyError) as exc:
                log.warning("could not refresh %s: %s", table.name, exc)
        self.refreshed_at = height

    def run(self) -> None:
        """Catch up, then again at each block the node's stream announces (and at least every
        `poll_seconds`, should the stream drop); reconnects after errors, until stop()."""
        announced = threading.Event()
        follower = threading.Thread(
            target=self._follow_stream, args=(announced,), name="block-stream", daemon=True
        )
        follower.start()
        while not self.stopping.is_set():
            try:
                with VoxClient(self.node_url, timeout=30.0) as client:
                    while not self.stopping.is_set():
                        announced.clear()
                        self.catch_up(client)
                        self.last_error = ""
                        announced.wait(self.poll_seconds)
            except IndexerError:
                raise
            except (VoxClientError, SQLAlchemyError, OSError) as exc:
                self.last_error = str(exc)
                log.warning("indexer: %s; retrying", exc)
            self.stopping.wait(RETRY_SECONDS)

    def _follow_stream(self, announced: threading.Event) -> None:
        """Sets `announced` at each new block on the node's stream (reconnecting as needed)."""
        while not self.stopping.is_set():
            try:
                with VoxClient(self.node_url, timeout=30.0) as client:
                    for _event in client.stream(("block",)):
                        announced.set()
                        if self.stopping.is_set():
                            return
            except VoxClientError as exc:
                log.debug("block stream: %s", exc)
            self.stopping.wait(RETRY_SECONDS)

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        """Stop, and end the block-fetching threads (after run() has returned)."""
        self.stopping.set()
        self.fetcher.shutdown(wait=False, cancel_futures=True)


def index_until(engine: Engine, node_url: str, height: int, timeout: float = 60.0) -> int:
    """Catch the index up to at least `height` (tests and tools). Raises TimeoutError."""
    indexer = Indexer(engine, node_url)
    deadline = time.monotonic() + timeout
    try:
        with VoxClient(node_url, timeout=30.0) as client:
            while True:
                last = indexer.catch_up(client)
                if last >= height:
                    return last
                if time.monotonic() > deadline:
                    raise TimeoutError(f"indexed to {last}, not {height}, within {timeout} s")
                time.sleep(0.2)
    finally:
        indexer.close()
