"""Assemble and run a provider: keys, node client, verified view, voucher ledger, claimer, engine,
the ASGI gateway on uvicorn, and the background loops (view refresh, claims, status file)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from voxpop.chain.modules.services.state import decode_offer
from voxpop.client import VoxClient, VoxClientError
from voxpop.client.asgi import serve
from voxpop.client.errors import NotFoundError
from voxpop.client.tx import Message
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.vouchers import Voucher
from voxpop.provider.claims import DEFAULT_CLAIM_THRESHOLD, Claimer, ClaimError
from voxpop.provider.engines import Engine, make_engine
from voxpop.provider.keys import derive_response_key, response_public_key
from voxpop.provider.ledger import VoucherLedger, read_best
from voxpop.provider.server import Gateway, GatewayIdentity
from voxpop.provider.status import STATUS_NAME, write_status
from voxpop.provider.view import (
    DEFAULT_SERVE_MARGIN,
    ChannelInfo,
    ChannelView,
    Fetched,
    ViewUnavailableError,
)

T = TypeVar("T")
CHANNEL_QUERY = "/channels/channel"
OFFER_QUERY = "/services/offer"
MSG_CLAIM = "channels/Claim"
CLAIM_GAS_BASE = 200_000
CLAIM_GAS_PER_VOUCHER = 20_000


class ProviderError(Exception):
    """The provider cannot start or act: `code` is a stable name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ProviderConfig:
    home: Path
    kind: str
    engine: str
    node_url: str
    price: int | None = None  # None: the price of the registered offer
    host: str = "127.0.0.1"
    port: int = 8700
    endpoint: str | None = None  # the public URL; default http://host:port
    bench_unpaid: bool = False
    grammar: str | None = None  # JSGF text for the stt engine's grammar mode
    engine_options: dict[str, str] = field(default_factory=dict)  # see make_engine
    claim_threshold: int = DEFAULT_CLAIM_THRESHOLD
    claim_interval: float = 2.0
    refresh_interval: float = 5.0
    serve_margin: int = DEFAULT_SERVE_MARGIN
    chain_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return provider_dir(self.home)


def provider_dir(home: Path) -> Path:
    """Where a provider keeps its voucher log and status file under its home."""
    return home / "provider"


def msg_claim(payee: bytes, vouchers: Sequence[Voucher]) -> Message:
    """A channels/Claim of each voucher's amount on its channel, paid to `payee` (the signer)."""
    return MSG_CLAIM, {
        "payee": payee,
        "vouchers": [[v.channel_id, v.amount, v.signature] for v in vouchers],
    }


class NodeLink:
    """The provider's only door to its node: one VoxClient used from one worker thread."""

    def __init__(self, url: str, account: PrivateKey, chain_id: str | None = None) -> None:
        self.client = VoxClient(url, chain_id=chain_id, timeout=10.0)
        self.account = account
        self.address = account.public_key.address
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="node")

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def read_channel(self, channel_id: bytes) -> Fetched:
        """The channel as of the latest block, its proof verified. Raises ViewUnavailableError."""
        try:
            result = self.client.query(CHANNEL_QUERY, channel_id, prove=True)
        except NotFoundError:
            return Fetched(None, 0)
        except VoxClientError as exc:
            raise ViewUnavailableError(f"channel query failed: {exc}") from None
        # Verify the node proved its answer (a node must not invent or hide a channel)
        if not result.verified:
            raise ViewUnavailableError("the node's answer did not verify")
        if not result.value:
            return Fetched(None, result.height)
        try:
            return Fetched(ChannelInfo.from_state(channel_id, result.value), result.height)
        except ValueError as exc:
            raise ViewUnavailableError(str(exc)) from None

    async def fetch(self, channel_id: bytes) -> Fetched:
        result: Fetched = await self._call(self.read_channel, channel_id)
        return result

    async def ping(self) -> int:
        """The node's latest height. Raises ViewUnavailableError."""

        def height() -> int:
            try:
                return self.client.status().latest_height
            except VoxClientError as exc:
                raise ViewUnavailableError(f"node status failed: {exc}") from None

        result: int = await self._call(height)
        return result

    def send_claim(self, vouchers: Sequence[Voucher]) -> None:
        gas = CLAIM_GAS_BASE + CLAIM_GAS_PER_VOUCHER * len(vouchers)
        try:
            result = self.client.execute(
                self.account, [msg_claim(self.address, vouchers)], gas_limit=gas, mode="commit"
            )
        except VoxClientError as exc:
            raise ClaimError(f"claim refused: {exc}") from None
        if result.code != 0:
            raise ClaimError(f"claim failed: {result.code} {result.log}")

    async def submit(self, vouchers: Sequence[Voucher]) -> None:
        await self._call(self.send_claim, vouchers)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.client.close()


def resolve_price(link: NodeLink, kind: str, price: int | None) -> int:
    """The price to charge: `price` if given, else the registered offer's. A registered offer
    must name this provider's response key, or payers could not verify its receipts.

    Raises ProviderError."""
    try:
        result = link.client.query(OFFER_QUERY, link.address + kind.encode(), prove=True)
    except NotFoundError:
        result = None
    except VoxClientError as exc:
        raise ProviderError("node_unreachable", f"cannot read the offer: {exc}") from None
    if result is None or not result.value:
        if price is not None:
            return price
        raise ProviderError(
            "offer_not_found", f"no {kind} offer registered for this account: pass --price"
        )
    offer = decode_offer(result.value)
    # Verify the chain's offer names the key that signs this gateway's receipts
    if offer.signing_key != response_public_key(link.account):
        raise ProviderError(
            "signing_key_mismatch",
            "the registered offer's signing key is not this account's response key "
            "(see `voxpop provider signing-key`): update the offer",
        )
    return offer.price if price is None else price


class Provider:
    """A running provider's parts and loops, around one Gateway."""

    def __init__(
        self, config: ProviderConfig, account: PrivateKey, engine: Engine | None = None
    ) -> None:
        """`engine`: one built by the caller (a role serving a kind through this gateway, as
        the privacy node's reencrypt engine does), else make_engine(config.engine, ...)."""
        self.config = config
        self.link = NodeLink(config.node_url, account, config.chain_id)
        try:
            chain_id = config.chain_id or self.link.client.status().chain_id
        except VoxClientError as exc:
            raise ProviderError("node_unreachable", f"cannot reach the node: {exc}") from None
        price = resolve_price(self.link, config.kind, config.price)
        try:
            engine = engine or make_engine(
                config.engine, config.kind, grammar=config.grammar, options=config.engine_options
            )
        except ValueError as exc:
            raise ProviderError("invalid_engine", str(exc)) from None
        self.view = ChannelView(self.link.fetch, serve_margin=config.serve_margin)
        endpoint = config.endpoint or f"http://{config.host}:{config.port}"
        identity = GatewayIdentity(
            chain_id,
            self.link.address,
            encode_address(self.link.address),
            config.kind,
            price,
            endpoint,
        )
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.gateway = Gateway(
            identity,
            engine,
            self.view,
            lambda: VoucherLedger.open(config.data_dir),
            derive_response_key(account),
            bench_unpaid=config.bench_unpaid,
            status=self.status,
            startup=self._startup,
            shutdown=self._shutdown,
        )
        self.claimer: Claimer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.started_at = time.time()

    async def _startup(self, gateway: Gateway) -> None:
        self.claimer = Claimer(
            self.view, gateway.ledger.best, self.link.submit, self.config.claim_threshold
        )
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._refresh_loop()),
            loop.create_task(self._claim_loop()),
            loop.create_task(self._status_loop()),
        ]

    async def _shutdown(self, gateway: Gateway) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._write_status()
        self.link.close()

    async def _refresh_loop(self) -> None:
        # The channels the ledger holds vouchers for first: the claimer needs them after a restart
        for channel_id in list(self.gateway.ledger.best):
            with contextlib.suppress(ViewUnavailableError):
                await self.view.load(channel_id)
        while True:
            try:
                self.view.last_height = max(self.view.last_height, await self.link.ping())
                self.view.node_reachable = True
            except ViewUnavailableError as exc:
                self.view.node_reachable = False
                self.view.last_error = str(exc)
            else:
                await self.view.refresh_all()
            await asyncio.sleep(self.config.refresh_interval)

    async def _claim_loop(self) -> None:
        assert self.claimer is not None
        while True:
            await asyncio.sleep(self.config.claim_interval)
            await self.claimer.tick()

    async def _status_loop(self) -> None:
        while True:
            self._write_status()
            await asyncio.sleep(1.0)

    def _write_status(self) -> None:
        with contextlib.suppress(OSError):
            write_status(self.config.data_dir / STATUS_NAME, self.status())

    def status(self) -> dict[str, Any]:
        gateway = self.gateway
        identity = gateway.identity
        stats = gateway.stats
        claimer = self.claimer
        owed = claimer.owed() if claimer is not None else None
        claimed = 0
        for channel_id in gateway.accepted:
            entry = self.view.entries.get(channel_id)
            if entry is not None and entry.info is not None:
                claimed += entry.info.claimed
        ledger = gateway._ledger
        return {
            "pid": os.getpid(),
            "updated_at": int(time.time()),
            "started_at": int(self.started_at),
            "provider": identity.provider_text,
            "kind": identity.kind,
            "price": identity.price,
            "chain_id": identity.chain_id,
            "endpoint": identity.endpoint,
            "signing_key": bytes(gateway.response_key.verify_key).hex(),
            "served": stats.served,
            "served_unpaid": stats.served_unpaid,
            "earned": stats.earned,
            "unclaimed": owed.unclaimed if owed is not None else 0,
            "claimed": claimed,
            "channels": len(gateway.accepted),
            "claims_sent": claimer.claims_sent if claimer is not None else 0,
            "claim_errors": claimer.errors if claimer is not None else 0,
            "last_claim_error": claimer.last_error if claimer is not None else "",
            "last_view_height": self.view.last_height,
            "node_reachable": self.view.node_reachable,
            "serving_from_last_view": self.view.servable_from_old_view(),
            "node_error": self.view.last_error,
            "ledger_records": ledger.stats.records if ledger is not None else 0,
            "ledger_flushes": ledger.stats.flushes if ledger is not None else 0,
        }

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM."""
        started = serve(self.gateway, self.config.host, self.config.port)
        if not started:
            raise ProviderError("start_failed", "the gateway did not start (port in use?)")


async def claim_now(config: ProviderConfig, account: PrivateKey) -> dict[str, Any]:
    """Claim everything the provider's voucher log holds beyond what the chain paid (the
    `voxpop provider claim` command; safe while the gateway runs: a claim with nothing new fails
    on chain and changes nothing)."""
    link = NodeLink(config.node_url, account, config.chain_id)
    try:
        view = ChannelView(link.fetch)
        best = read_best(config.data_dir / "vouchers.log")
        for channel_id in best:
            try:
                await view.load(channel_id)
            except ViewUnavailableError as exc:
                raise ProviderError("node_unreachable", str(exc)) from None
        claimer = Claimer(view, best, link.submit)
        owed = claimer.owed()
        landed = await claimer.claim(owed.vouchers) if owed.vouchers else 0
        if claimer.errors:
            raise ProviderError("claim_failed", claimer.last_error)
        return {
            "claimed": owed.unclaimed,
            "channels": len(owed.vouchers),
            "txs": landed,
        }
    finally:
        link.close()
