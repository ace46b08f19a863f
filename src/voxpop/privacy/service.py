"""Assemble and run a privacy node: its directory keys and reencrypt offer on chain, the grant
book, the reencrypt engine inside the provider's gateway (channels, vouchers, claims), the
batched access records, and the loops (refresh grants in use, record, sweep ended grants)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any

from voxpop.chain.modules.services.messages import MsgRegister, MsgUpdate
from voxpop.chain.modules.services.state import decode_offer
from voxpop.client import VoxClient, VoxClientError
from voxpop.client.asgi import serve
from voxpop.client.errors import NotFoundError
from voxpop.crypto.address import encode_address
from voxpop.crypto.encryption_keys import derive_encryption_keys
from voxpop.crypto.keys import PrivateKey
from voxpop.privacy.app import PrivacyApp
from voxpop.privacy.book import GrantBook
from voxpop.privacy.chain import OFFER_QUERY, PrivacyLink
from voxpop.privacy.config import KIND, PrivacyConfig
from voxpop.privacy.engine import ReencryptEngine
from voxpop.privacy.grants import GrantFiles
from voxpop.privacy.journal import JOURNAL_FILE, RecordJournal
from voxpop.privacy.recorder import Pending, Recorder
from voxpop.provider.keys import response_public_key
from voxpop.provider.service import Provider, ProviderConfig
from voxpop.storage.chain import ChainUnavailableError

log = logging.getLogger("voxpop.privacy")
REGISTER_GAS = 200_000
START_ATTEMPTS = 30  # seconds the node waits for its chain node at start
SHUTDOWN_RECORD_SECONDS = 5.0  # a stop is SIGKILLed after 10 s by the usual supervisors
RECORD_TICK = 0.05  # seconds between the recorder's looks (several a block: txs in flight)


class PrivacyNodeError(Exception):
    """The privacy node cannot start: `code` is a stable name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def prepare_chain(config: PrivacyConfig, account: PrivateKey) -> int:
    """Publish the node's encryption keys if it has none (owners seal fragments to its X25519
    key) and register (or update) its reencrypt offer; returns the keys' version.
    Raises PrivacyNodeError."""
    address = account.public_key.address
    with VoxClient(config.node, timeout=15.0) as client:
        for attempt in range(START_ATTEMPTS):
            try:
                keys = client.directory_keys(address)
                break
            except NotFoundError:  # before the first block
                keys = None
                break
            except VoxClientError as exc:
                if attempt == START_ATTEMPTS - 1:
                    raise PrivacyNodeError("node_unreachable", str(exc)) from None
                time.sleep(1.0)
        try:
            if keys is None or keys.record is None or keys.record.x25519 is None:
                client.publish_keys(account)
                keys = client.directory_keys(address)
            version = keys.record.version if keys.record is not None else 0
            _register(client, config, account)
        except VoxClientError as exc:
            raise PrivacyNodeError(
                getattr(exc, "code", "register_failed"), f"cannot register: {exc}"
            ) from None
    if version < 1:
        raise PrivacyNodeError("no_keys", "the chain does not show the node's published keys")
    return version


def _register(client: VoxClient, config: PrivacyConfig, account: PrivateKey) -> None:
    address = account.public_key.address
    try:
        raw = client.query(OFFER_QUERY, address + KIND.encode(), prove=True).value
    except NotFoundError:
        raw = b""
    signing_key = response_public_key(account)
    msg: MsgRegister | MsgUpdate | None = None
    if not raw:
        msg = MsgRegister(
            address, KIND, config.public_url, config.price, (), signing_key, config.stake
        )
    else:
        offer = decode_offer(raw)
        if (offer.endpoint, offer.price, offer.signing_key) != (
            config.public_url,
            config.price,
            signing_key,
        ):
            msg = MsgUpdate(
                address, KIND, config.public_url, config.price, offer.languages, signing_key, 0
            )
    if msg is not None:
        result = client.execute(account, [msg], gas_limit=REGISTER_GAS)
        if result.code != 0:
            raise PrivacyNodeError("register_failed", f"the offer was refused: {result.log}")


class PrivacyNode:
    """A running privacy node's parts and loops, around one PrivacyApp."""

    def __init__(self, config: PrivacyConfig, account: PrivateKey) -> None:
        self.config = config
        self.account = account
        self.address = account.public_key.address
        self.key_version = prepare_chain(config, account)
        self.link = PrivacyLink(config.node, account)
        self.book = GrantBook(
            self.link, GrantFiles(config.grants_dir), self._x25519_secrets, account
        )
        self.journal = RecordJournal(config.home / JOURNAL_FILE)
        self.recorder = Recorder(self.link, self._recorded, self.journal)
        self.engine = ReencryptEngine(self.book, self.recorder, account)
        provider_config = ProviderConfig(
            home=config.home,
            kind=KIND,
            engine=KIND,
            node_url=config.node,
            price=config.price,
            host=config.host,
            port=config.port,
            endpoint=config.public_url,
            claim_interval=config.claim_interval,
        )
        self.provider = Provider(provider_config, account, engine=self.engine)
        self.app = PrivacyApp(
            self.provider.gateway,
            self.book,
            self.engine,
            self.status,
            unpaid=config.unpaid,
            startup=self._startup,
            shutdown=self._shutdown,
        )
        self.height = 0
        self.node_reachable = True
        self.last_error = ""
        self.started_at = time.time()
        self._tasks: list[asyncio.Task[None]] = []

    def _x25519_secrets(self) -> list[bytes]:
        """This node's X25519 secrets, the published version first (an owner may have sealed
        to an older one shortly before a rotation)."""
        seed = self.account.seed
        versions = range(self.key_version, 0, -1)
        return [derive_encryption_keys(seed, v).x25519_secret for v in versions]

    def _recorded(self, pending: Pending, height: int) -> None:
        held = self.book.held.get(pending.grant_id)
        if held is None:
            return
        if height == 0:
            held.unrecorded.pop(pending.request_id, None)
        else:  # counted by the chain from `height` on: kept until a read that recent
            held.unrecorded[pending.request_id] = height

    async def _startup(self) -> None:
        # A Record carries at most the chain's max_records_per_tx, answers within its record
        # window (governable: read at start)
        params = await self.link.consent_params()
        self.recorder.set_params(params.max_records_per_tx, params.record_window_blocks)
        # Answers of the last run not yet on chain (killed before their Record): sent again,
        # and counted against their grants until a read shows them
        restored = self.recorder.restore()
        await self.book.load()
        for pending in restored:
            held = self.book.held.get(pending.grant_id)
            if held is not None:
                held.unrecorded.setdefault(pending.request_id, 0)
        if restored:
            log.info("%d answers of the last run to record", len(restored))
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._record()),
            loop.create_task(self._refresh()),
            loop.create_task(self._sweep()),
        ]

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # What was answered is recorded if the chain is there, within the stop's grace time
        deadline = time.monotonic() + SHUTDOWN_RECORD_SECONDS
        with contextlib.suppress(ChainUnavailableError):
            while not self.recorder.idle and time.monotonic() < deadline:
                await self.recorder.pump()
                await asyncio.sleep(RECORD_TICK)
        self.journal.close()  # what is still open is sent again at the next start
        await self.link.close()

    async def _record(self) -> None:
        """Several times a block: follow the Record txs in flight, send the answers given."""
        tick = min(RECORD_TICK, self.config.poll_interval)
        while True:
            try:
                await self.recorder.pump()
            except ChainUnavailableError as exc:
                self.node_reachable = False
                self.last_error = str(exc)
            except Exception as exc:  # a bug must not stop the records of the next blocks
                log.exception("privacy records failed")
                self.last_error = repr(exc)
            await asyncio.sleep(tick)

    async def _refresh(self) -> None:
        """About once a block: read the grants in use again (revocations seen at once)."""
        while True:
            try:
                await self.book.refresh_active()
                self.height = self.link.last_height
                self.node_reachable = True
            except ChainUnavailableError as exc:
                self.node_reachable = False
                self.last_error = str(exc)
            except Exception as exc:
                log.exception("privacy grant refresh failed")
                self.last_error = repr(exc)
            await asyncio.sleep(self.config.poll_interval)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.config.sweep_interval)
            try:
                await self.book.sweep()
            except ChainUnavailableError as exc:
                self.last_error = str(exc)
            except Exception as exc:
                log.exception("privacy sweep failed")
                self.last_error = repr(exc)

    def status(self) -> dict[str, Any]:
        recorder, engine = self.recorder, self.engine
        return self.provider.status() | {
            "pid": os.getpid(),
            "address": encode_address(self.address),
            "key_version": self.key_version,
            "grants_held": len(self.book.held),
            "grants_deleted": self.book.deleted,
            "reencrypted": engine.served,
            "refused": dict(sorted(engine.refused.items())),
            "records_queued": len(recorder.queue),
            "record_txs_in_flight": len(recorder.in_flight),
            "record_txs_in_flight_peak": recorder.peak_in_flight,
            "recorded": recorder.recorded,
            "record_txs": recorder.record_txs,
            "records_dropped": recorder.dropped,
            "record_txs_resent": recorder.resent,
            "record_resyncs": recorder.resyncs,
            "height": self.height,
            "chain_reachable": self.node_reachable,
            "last_error": self.last_error or recorder.last_error,
            "started_at": int(self.started_at),
        }

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM. Raises PrivacyNodeError if the server cannot start."""
        started = serve(self.app, self.config.host, self.config.port)
        if not started:
            raise PrivacyNodeError("start_failed", "the privacy node did not start (port in use?)")
