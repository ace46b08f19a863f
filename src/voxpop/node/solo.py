"""The solo node: one validator that makes blocks itself, driving the same Application interface as
CometBFT would. The embedded default for a quick start, small installs and fast tests.

Every call into the app runs on one dedicated thread, in ABCI order, so the event loop (the HTTP
API) stays responsive while a block is executed. A block, the state it produced and its tx index are
committed in one LMDB transaction: a node killed at any moment restarts at its last committed block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from voxpop.chain.abci import (
    BlockIDFlag,
    CheckTxType,
    CommitInfo,
    ProposalStatus,
    RequestCheckTx,
    RequestExtendVote,
    RequestFinalizeBlock,
    RequestInitChain,
    RequestPrepareProposal,
    RequestProcessProposal,
    RequestQuery,
    ResponseQuery,
    Validator,
    VoteInfo,
)
from voxpop.chain.app import VoxApp
from voxpop.chain.context import Context
from voxpop.chain.errors import CODESPACE, ChainError, CommitTimeoutError
from voxpop.chain.genesis import load_genesis
from voxpop.chain.modules.auth.state import read_params
from voxpop.chain.modules.beacon.entry import is_entry
from voxpop.chain.modules.gov.adopt import ADOPT_UPGRADE, adopt_defaults, missing_defaults
from voxpop.chain.tx import tx_hash
from voxpop.node.app_factory import open_app
from voxpop.node.blockstore import block_rows, load_block, load_tx
from voxpop.node.config import NodeConfig, load_config
from voxpop.node.header import block_hash, header_sign_bytes, merkle_root
from voxpop.node.home import NodeHome
from voxpop.node.mempool import Mempool
from voxpop.node.service import (
    BlockHeader,
    BlockRecord,
    BroadcastMode,
    BroadcastResult,
    NodeEvent,
    NodeStatus,
    NodeUnavailableError,
    TxRecord,
)
from voxpop.node.validator_key import beacon_prover, cometbft_address, load_validator_key
from voxpop.store import StoreError

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
SUBSCRIBER_QUEUE = 20_000
PREVERIFY_CHUNK = 100


class SoloNodeError(NodeUnavailableError):
    code = "node_error"


class BlockProductionError(SoloNodeError):
    """Making a block failed: the node cannot go on, and says so rather than keep answering."""

    code = "block_production_failed"


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or "no message"
    return f"{type(exc).__name__}: {text[:limit]}{'...' if len(text) > limit else ''}"


class SoloNode:
    def __init__(
        self,
        home: NodeHome,
        config: NodeConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.home = home
        self.config = config or load_config(home.config_toml)
        self.genesis = load_genesis(home.genesis_json)
        self.key = load_validator_key(home.priv_validator_key)
        self.pub_key = self.key.public_key.raw
        self.address = cometbft_address(self.pub_key)
        self.power = self.genesis.validators[0].power if self.genesis.validators else 0
        # Verify this node's key is the chain's one validator
        if [v.pub_key for v in self.genesis.validators] != [self.pub_key]:
            raise SoloNodeError("solo mode needs a genesis whose only validator is this node's key")
        self._clock = clock
        self.mempool = Mempool(self.config.mempool.max_txs, self.config.mempool.max_bytes)
        self._exec = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voxpop-app")
        # Signatures are checked ahead of check_tx on a second thread (PyNaCl releases the GIL)
        self._verifier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voxpop-verify")
        self._lock = threading.Lock()  # held by every app call, whichever thread makes it
        self._app: VoxApp | None = None
        self._latest: BlockRecord | None = None
        self._waiters: dict[bytes, list[asyncio.Future[TxRecord]]] = {}
        self._subscribers: set[asyncio.Queue[NodeEvent]] = set()
        self._new_tx = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failure: BlockProductionError | None = None
        self._failed = asyncio.Event()

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def app(self) -> VoxApp:
        if self._app is None:
            raise SoloNodeError("node is not started")
        return self._app

    @property
    def chain_id(self) -> str:
        return self.genesis.chain_id

    async def start(self) -> None:
        try:
            self._app = await self._call(open_app, self.home)
        except StoreError as exc:  # e.g. another node is running on this home
            raise SoloNodeError(str(exc)) from None
        # This node's vote extensions (the beacon's VRF proofs) are made with its own key,
        # whichever app it was handed
        self.app.beacon_prover = beacon_prover(self.key)
        if self.app.last_height == 0:
            await self._call(self._init_chain)
        # Verify the stored chain is the one genesis names
        elif self.app.chain_id != self.genesis.chain_id:
            raise SoloNodeError(
                f"state is for chain {self.app.chain_id!r}, genesis says {self.genesis.chain_id!r}"
            )
        else:
            self._adopt_new_params()
        self._latest = await self._call(load_block, self.app.store, self.app.last_height)
        log.info("solo node at height %d, chain %s", self.app.last_height, self.chain_id)
        self._task = asyncio.create_task(self._produce_loop(), name="voxpop-block-producer")

    def _adopt_new_params(self) -> None:
        """A chain made by an earlier version lacks this version's new params: this node is its
        one validator, so it adopts their defaults in its next block (gov/adopt.py)."""
        app = self.app
        changes = missing_defaults(app.committed, app.modules)
        if not changes:
            return
        name = f"{ADOPT_UPGRADE}-solo-{app.last_height + 1}"
        log.warning(
            "state made by an earlier voxpop: block %d adopts this version's defaults (%s) as "
            "upgrade %s",
            app.last_height + 1,
            "; ".join(changes),
            name,
        )

        def migrate(ctx: Context) -> None:
            adopt_defaults(ctx, app.modules)

        app.schedule_upgrade(name, migrate)

    @property
    def failure(self) -> BlockProductionError | None:
        """Why block production stopped, or None while it runs."""
        return self._failure

    async def supervise(self) -> None:
        """Wait until block production fails, then raise BlockProductionError.

        Whatever hosts the node runs this next to its other tasks and stops when it raises (as
        `voxpop.node.run.run_solo` does), so a node that cannot make blocks exits instead of
        answering as if it could.
        """
        await self._failed.wait()
        assert self._failure is not None
        raise self._failure

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._app is not None:
            await self._call(self._app.store.close)
            self._app = None
        self._exec.shutdown(wait=True)
        self._verifier.shutdown(wait=True)

    async def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._exec, lambda: self._locked(fn, *args, **kwargs))

    def _locked(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            return fn(*args, **kwargs)

    def _init_chain(self) -> None:
        g = self.genesis
        self.app.init_chain(
            RequestInitChain(
                time_unix=g.genesis_time_unix,
                chain_id=g.chain_id,
                app_state_bytes=g.app_state_bytes(),
                validators=g.validator_updates(),
                initial_height=g.initial_height,
                vote_extensions_enable_height=g.vote_extensions_enable_height,
            )
        )

    # --- mempool --------------------------------------------------------------------------------

    def _check(self, tx: bytes) -> BroadcastResult:
        h = tx_hash(tx)
        try:
            self.mempool.check_room(h, len(tx))
        except ChainError as exc:
            return BroadcastResult(h, exc.code, exc.message, CODESPACE)
        res = self.app.check_tx(RequestCheckTx(tx))
        if res.ok:
            self.mempool.add(h, tx)
        return BroadcastResult(
            h, res.code, res.log, res.codespace, gas_wanted=res.gas_wanted, gas_used=res.gas_used
        )

    async def broadcast_tx(self, tx: bytes, mode: BroadcastMode) -> BroadcastResult:
        self._verify_producing()
        h = tx_hash(tx)
        waiter: asyncio.Future[TxRecord] | None = None
        if mode == BroadcastMode.COMMIT:
            # Registered before check_tx, so a block made right after it cannot be missed
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(h, []).append(waiter)
        try:
            await self._preverify([tx])
            result = await self._call(self._check, tx)
            if result.code == 0:
                self._new_tx.set()
            if result.code != 0 or waiter is None:
                return result
            timeout = self.config.solo.commit_timeout_s
            try:
                record = await asyncio.wait_for(asyncio.shield(waiter), timeout)
            except TimeoutError:
                err = CommitTimeoutError(f"not committed within {timeout} s; it may still be")
                return BroadcastResult(h, err.code, err.message, CODESPACE)
            r = record.result
            return BroadcastResult(
                h, r.code, r.log, r.codespace, record.height, r.gas_wanted, r.gas_used, r.events
            )
        finally:
            if waiter is not None:
                self._drop_waiter(h, waiter)

    async def broadcast_txs(self, txs: list[bytes]) -> list[BroadcastResult]:
        self._verify_producing()
        # Pipeline: the verifier works on chunk i+1 while the app thread checks chunk i
        chunks = [txs[i : i + PREVERIFY_CHUNK] for i in range(0, len(txs), PREVERIFY_CHUNK)]
        verified = [asyncio.ensure_future(self._preverify(chunk)) for chunk in chunks]
        results: list[BroadcastResult] = []
        for chunk, ready in zip(chunks, verified, strict=True):
            await ready
            results.extend(await self._call(lambda c=chunk: [self._check(tx) for tx in c]))  # type: ignore[misc]
            if any(r.code == 0 for r in results[-len(chunk) :]):
                self._new_tx.set()
        return results

    def _verify_producing(self) -> None:
        # Verify blocks are still being made: a tx accepted now would never be committed
        if self._failure is not None:
            raise self._failure

    async def _preverify(self, txs: list[bytes]) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._verifier, self.app.preverify, txs)

    def _drop_waiter(self, h: bytes, waiter: asyncio.Future[TxRecord]) -> None:
        waiters = self._waiters.get(h)
        if waiters and waiter in waiters:
            waiters.remove(waiter)
            if not waiters:
                del self._waiters[h]

    # --- block production -----------------------------------------------------------------------

    async def _produce_loop(self) -> None:
        try:
            await self._produce_blocks()
        except Exception as exc:
            # Nothing can be committed any more: record why, and let the host stop the node
            height = self.app.last_height + 1 if self._app is not None else 0
            log.debug("block production failed at height %d", height, exc_info=True)
            self._failure = BlockProductionError(
                f"block production failed at height {height}: {_one_line(exc)}; "
                "the node stopped (nothing was committed at that height)"
            )
            self._failed.set()
            # Whoever waits for a commit hears it now, not when the host's shutdown cancels them
            for waiters in self._waiters.values():
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(self._failure)

    async def _produce_blocks(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.config.solo.block_interval_ms / 1000
        last = loop.time()
        if self.app.last_height < self.genesis.initial_height:
            # A new chain commits genesis at once, so its state is queryable from the start
            self._publish(await self._call(self._produce_block))
        while True:
            if not self.config.solo.create_empty_blocks:
                self._new_tx.clear()
                if len(self.mempool) == 0:
                    await self._new_tx.wait()
            delay = last + interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            last = loop.time()
            self._publish(await self._call(self._produce_block))

    def _produce_block(self) -> BlockRecord:
        app = self.app
        height = app.last_height + 1
        floor = (
            app.last_block_time
            if height > self.genesis.initial_height
            else self.genesis.genesis_time_unix
        )
        now = max(int(self._clock()), floor)
        params = read_params(app.committed)
        candidates = tuple(self.mempool.reap(params.max_block_bytes))
        # The one validator signed the previous block (it made it); slashing reads this
        first = height == self.genesis.initial_height
        me = Validator(self.address, self.power)
        last_commit = CommitInfo(0, () if first else (VoteInfo(me, BlockIDFlag.COMMIT),))
        # Its vote extension for that block (the beacon's VRF proof), as CometBFT would hand it
        # to the proposer: deterministic, so made again here rather than kept across restarts
        extension = b"" if first else app.extend_vote(RequestExtendVote(height - 1)).vote_extension
        local_commit = CommitInfo(
            0, () if first else (VoteInfo(me, BlockIDFlag.COMMIT, extension),)
        )
        txs = app.prepare_proposal(
            RequestPrepareProposal(
                params.max_block_bytes, candidates, height, now, self.address, local_commit
            )
        ).txs
        # Verify our own proposal passes the same check every validator would make
        verdict = app.process_proposal(
            RequestProcessProposal(txs, height, now, self.address, proposed_last_commit=last_commit)
        )
        if verdict.status != ProposalStatus.ACCEPT:
            raise SoloNodeError(f"own proposal at height {height} rejected")
        result = app.finalize_block(
            RequestFinalizeBlock(txs, height, now, self.address, decided_last_commit=last_commit)
        )
        hashes = [tx_hash(tx) for tx in txs]
        last = self._latest
        header = BlockHeader(
            chain_id=self.chain_id,
            height=height,
            time_unix=now,
            last_block_hash=last.hash if last else b"",
            data_hash=merkle_root(hashes),
            app_hash=result.app_hash,
            proposer=self.address,
            num_txs=len(txs),
        )
        block = BlockRecord(
            header=header,
            hash=block_hash(header),
            txs=txs,
            results=result.tx_results,
            signature=self.key.sign(header_sign_bytes(header)),
            signer_pub_key=self.pub_key,
            events=result.events,
        )
        app.stage_aux(block_rows(block, hashes))
        app.commit()
        self._latest = block
        self.mempool.remove(hashes)
        # Recheck what is left against the new state; signatures are cached, so this is cheap
        for h, tx in self.mempool.items():
            if not app.check_tx(RequestCheckTx(tx, CheckTxType.RECHECK)).ok:
                self.mempool.remove((h,))
        return block

    def _publish(self, block: BlockRecord) -> None:
        height = block.header.height
        events = [NodeEvent("block", height, block=block)]
        for i, tx in enumerate(block.txs):
            if is_entry(tx):
                continue  # the block's beacon entry: not a tx anyone sent (docs/api.md)
            h = tx_hash(tx)
            record = TxRecord(h, height, i, tx, block.results[i])
            for waiter in self._waiters.get(h, []):
                if not waiter.done():
                    waiter.set_result(record)
            events.append(NodeEvent("tx", height, tx=record))
        for queue in list(self._subscribers):
            if queue.maxsize - queue.qsize() < len(events):
                # A subscriber that cannot keep up is dropped rather than slowing the node
                self._subscribers.discard(queue)
                continue
            for event in events:
                queue.put_nowait(event)

    # --- reads ----------------------------------------------------------------------------------

    def get_block(self, height: int) -> BlockRecord | None:
        with self._lock:
            return load_block(self.app.store, height) if height >= 1 else None

    def get_tx(self, h: bytes) -> TxRecord | None:
        with self._lock:
            return load_tx(self.app.store, h)

    def query(self, req: RequestQuery) -> ResponseQuery:
        with self._lock:
            return self.app.query(req)

    def status(self) -> NodeStatus:
        latest = self._latest
        return NodeStatus(
            chain_id=self.chain_id,
            node_mode="solo",
            latest_height=latest.header.height if latest else 0,
            latest_block_hash=latest.hash if latest else b"",
            latest_app_hash=latest.header.app_hash if latest else b"",
            latest_block_time_unix=latest.header.time_unix if latest else 0,
            mempool_size=len(self.mempool),
            validator_pub_keys=(self.pub_key,),
        )

    async def subscribe(self) -> AsyncIterator[NodeEvent]:
        queue: asyncio.Queue[NodeEvent] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        try:
            while queue in self._subscribers or not queue.empty():
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)
