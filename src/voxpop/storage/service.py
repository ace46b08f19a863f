"""Assemble and run a storage node: chain link, shard store, the HTTP app on uvicorn, and the
duties loop (answer challenges, confirm stored shards, claim pay, drop what the chain no longer
places here)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any

from voxpop.chain.modules.storage.messages import MsgRegister, MsgUpdate
from voxpop.client.asgi import serve
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.storage import wire
from voxpop.storage.app import StorageApp
from voxpop.storage.chain import ChainLink, ChainUnavailableError, TxFailedError
from voxpop.storage.claims import Claimer, claimable, earned
from voxpop.storage.config import StorageConfig
from voxpop.storage.confirm import Confirmer
from voxpop.storage.dealcache import DealCache
from voxpop.storage.holdings import Holdings, sweep
from voxpop.storage.prover import Prover, TreeCache
from voxpop.storage.shards import ShardStore

log = logging.getLogger("voxpop.storage")
REGISTER_GAS = 200_000
START_ATTEMPTS = 30  # seconds the node waits for its chain node at start


class StorageNodeError(Exception):
    """The storage node cannot start or act: `code` is a stable name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class StorageNode:
    """A running storage node's parts and loops, around one StorageApp."""

    def __init__(self, config: StorageConfig, account: PrivateKey) -> None:
        self.config = config
        self.address = account.public_key.address
        self.link = ChainLink(config.node, account)
        self.store = ShardStore(config.data_dir, config.capacity)
        self.cache = TreeCache(self.store)
        self.prover = Prover(self.link, self.store, self.cache)
        self.confirmer = Confirmer(self.link)
        self.claimer = Claimer(self.link)
        self.holdings = Holdings()
        self.record: wire.ProviderRecord | None = None
        self.params: wire.Params | None = None
        self.height = 0
        self.node_reachable = False
        self.last_error = ""
        self.started_at = time.time()
        # The header and shard PUTs (and GETs) of one object share one proven deal read
        self.deals = DealCache(self.link.deal, lambda: self.link.last_height)
        self.app = StorageApp(
            self.address,
            self.store,
            self.deals.get,
            self.confirmer.queue,
            self.status,
            startup=self._startup,
            shutdown=self._shutdown,
            read_grant=self.link.grant,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self.startup_error: StorageNodeError | None = None

    # --- start and stop --------------------------------------------------------------------------

    async def _startup(self) -> None:
        try:
            await self.register()
        except StorageNodeError as exc:
            self.startup_error = exc  # uvicorn reports only that startup failed: keep the why
            raise
        self._tasks = [asyncio.get_running_loop().create_task(self._duties())]

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(ChainUnavailableError):
            await self.confirmer.flush()  # what was stored is confirmed if the node is there
        self.cache.close()
        await self.link.close()

    async def register(self) -> wire.ProviderRecord:
        """Register on chain, or update the record if the options changed. Raises
        StorageNodeError."""
        config = self.config
        for attempt in range(START_ATTEMPTS):
            try:
                self.params = await self.link.params()
                record = await self.link.provider()
                break
            except ChainUnavailableError as exc:
                if attempt == START_ATTEMPTS - 1:
                    raise StorageNodeError("node_unreachable", str(exc)) from None
                await asyncio.sleep(1.0)
        msg: MsgRegister | MsgUpdate | None = None
        if record is None:
            msg = MsgRegister(
                provider=self.address,
                endpoint=config.public_url,
                capacity=config.capacity,
                price=config.price,
                collateral=config.collateral,
            )
        elif (record.endpoint, record.capacity, record.price) != (
            config.public_url,
            config.capacity,
            config.price,
        ):
            msg = MsgUpdate(
                provider=self.address,
                endpoint=config.public_url,
                capacity=config.capacity,
                price=config.price,
            )
        if msg is not None:
            try:
                await self.link.send([msg], gas=REGISTER_GAS)
                record = await self.link.provider()
            except (ChainUnavailableError, TxFailedError) as exc:
                code = exc.code if isinstance(exc, TxFailedError) else "node_unreachable"
                raise StorageNodeError(code, f"cannot register on chain: {exc}") from None
        if record is None:
            raise StorageNodeError("not_registered", "the chain does not show the registration")
        self.record = record
        self.node_reachable = True
        return record

    # --- the duties loop -------------------------------------------------------------------------

    async def _duties(self) -> None:
        last_claim = 0.0
        while True:
            try:
                await self.duty_round(time.monotonic() - last_claim >= self.config.claim_interval)
            except ChainUnavailableError as exc:
                self.node_reachable = False
                self.last_error = str(exc)
            except Exception as exc:  # a bug must not stop the proofs of the next epochs
                log.exception("storage duties failed")
                self.last_error = repr(exc)
            else:
                if time.monotonic() - last_claim >= self.config.claim_interval:
                    last_claim = time.monotonic()
            await asyncio.sleep(self.config.poll_interval)

    async def duty_round(self, claim: bool) -> None:
        """One look at the chain: prove, confirm, and (if `claim`) refresh, claim and sweep.
        Raises ChainUnavailableError."""
        height = await self.link.height()
        self.height = height
        self.node_reachable = True
        if self.params is None or height % self.params.epoch_blocks == 0:
            self.params = await self.link.params()
        params = self.params
        await self.prover.safe_tick(params, height)
        await self.confirmer.flush()
        if claim:
            await self.holdings.refresh(self.link)
            self.record = await self.link.provider() or self.record
            await self.claimer.claim(self.holdings, params.epoch_of(height))
            sweep(self.store, self.holdings, self.cache.forget)

    # --- status ----------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        params, record, holdings = self.params, self.record, self.holdings
        epoch = params.epoch_of(self.height) if params is not None else 0
        ids, owed = claimable(holdings, epoch) if holdings.fresh else ([], 0)
        by_status: dict[str, int] = {}
        for placement in holdings.placements.values():
            by_status[placement.status] = by_status.get(placement.status, 0) + 1
        prover = self.prover.stats
        return {
            "pid": os.getpid(),
            "address": encode_address(self.address),
            "endpoint": self.config.public_url,
            "capacity": self.store.capacity,
            "used": self.store.used,
            "free": self.store.free,
            "shards_held": len(self.store.roots()),
            "placements": by_status,
            "price": self.config.price,
            "collateral": record.collateral if record is not None else 0,
            "faults": record.faults if record is not None else 0,
            "proven_epochs": record.proven if record is not None else 0,
            "earned": earned(holdings),
            "claimable": owed,
            "claimable_deals": len(ids),
            "height": self.height,
            "epoch": epoch,
            "last_proof_epoch": prover.last_proven_epoch,
            "proofs_sent": prover.proofs_sent,
            "proof_txs": prover.proof_txs,
            "unanswerable": prover.missing,
            "confirmed": self.confirmer.stats.confirmed,
            "confirm_queue": len(self.confirmer.pending),
            "claim_txs": self.claimer.stats.claim_txs,
            "shards_received": self.app.stats.shards_received,
            "shards_served": self.app.stats.shards_served,
            "node_reachable": self.node_reachable,
            "last_error": self.last_error
            or prover.last_error
            or self.confirmer.stats.last_error
            or self.claimer.stats.last_error,
            "started_at": int(self.started_at),
        }

    # --- serving ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM. Raises StorageNodeError if the server cannot start."""
        started = serve(self.app, self.config.host, self.config.port)
        if self.startup_error is not None:
            raise self.startup_error
        if not started:
            raise StorageNodeError("start_failed", "the storage node did not start (see above)")
