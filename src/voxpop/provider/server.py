"""The provider gateway as a bare ASGI app: the paid-call hot path without a framework.

Per paid call (docs/protocol/provider-api.md): parse the payment headers, read and price the body,
find the channel in the verified view, verify the voucher, reserve its amount, serve through the
engine, make the voucher durable (group commit), sign the receipt, answer.

Per-channel ordering needs no lock: the check of a voucher against the channel's best accepted
amount and the reservation of the new amount run with no `await` between them, so two concurrent
calls on one channel can never both be accepted against the same best amount.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nacl.signing import SigningKey

from voxpop.client.asgi import (
    JSON_HEADERS,
    Receive,
    Scope,
    Send,
    read_body,
    respond,
    respond_error,
)
from voxpop.crypto.vouchers import CHANNEL_ID_SIZE, MAX_AMOUNT, Voucher, sign_receipt
from voxpop.provider.engines import Engine, EngineError, Prepared
from voxpop.provider.ledger import LedgerClosedError, VoucherLedger
from voxpop.provider.status import ProviderStats
from voxpop.provider.view import ChannelView, Entry, ViewBusyError, ViewUnavailableError

DEPOSIT_RECHECK_SECONDS = 1.0
_LOOPBACK = ("127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class GatewayIdentity:
    """Who the gateway is and what it sells."""

    chain_id: str
    provider: bytes  # the account address (20 bytes): the payee of every channel it serves
    provider_text: str  # the same, vox1...
    kind: str
    price: int  # uvox per unit
    endpoint: str


class PaymentError(Exception):
    """A paid call refused with HTTP 402 (or 400/503): `code` is the protocol's stable name."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 402,
        amount_needed: int | None = None,
        accepted: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.amount_needed = amount_needed
        self.accepted = accepted


class Gateway:
    """The ASGI app. `startup`/`shutdown` run from the ASGI lifespan (background tasks)."""

    def __init__(
        self,
        identity: GatewayIdentity,
        engine: Engine,
        view: ChannelView,
        ledger_factory: Callable[[], VoucherLedger],
        response_key: SigningKey,
        *,
        bench_unpaid: bool = False,
        status: Callable[[], dict[str, Any]] | None = None,
        startup: Callable[[Gateway], Awaitable[None]] | None = None,
        shutdown: Callable[[Gateway], Awaitable[None]] | None = None,
    ) -> None:
        self.identity = identity
        self.engine = engine
        self.view = view
        self._ledger_factory = ledger_factory
        self._ledger: VoucherLedger | None = None
        self.response_key = response_key
        self.bench_unpaid = bench_unpaid
        self.stats = ProviderStats()
        self.accepted: dict[bytes, int] = {}  # best amount accepted per channel (may be in flight)
        self._status = status
        self._startup = startup
        self._shutdown = shutdown
        self._paid_path = f"/v1/{identity.kind}"
        self._unpaid_path = f"/v1/unpaid/{identity.kind}"
        self._offer = json.dumps(
            {
                "provider": identity.provider_text,
                "kind": identity.kind,
                "price": identity.price,
                "unit": engine.unit,
                "chain_id": identity.chain_id,
                "signing_key": bytes(response_key.verify_key).hex(),
                "endpoint": identity.endpoint,
            }
        ).encode()

    @property
    def ledger(self) -> VoucherLedger:
        assert self._ledger is not None, "the gateway has not started"
        return self._ledger

    # --- ASGI -----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:  # reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        self._ledger = self._ledger_factory()
        # A voucher already held can never be accepted again (no replay across restarts)
        for channel_id, voucher in self._ledger.best.items():
            self.accepted[channel_id] = voucher.amount
        if self._startup is not None:
            await self._startup(self)

    async def stop(self) -> None:
        if self._shutdown is not None:
            await self._shutdown(self)
        if self._ledger is not None:
            await self._ledger.close()
        self.engine.close()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        method = scope["method"]
        if method == "POST" and path == self._paid_path:
            await self._paid(scope, receive, send)
        elif method == "POST" and path == self._unpaid_path and self.bench_unpaid:
            await self._unpaid(scope, receive, send)
        elif method == "GET" and path == "/v1/offer":
            await respond(send, 200, self._offer, JSON_HEADERS)
        elif method == "GET" and path == "/v1/status" and self._status is not None:
            # Verify the caller is on this machine: earnings are the operator's business
            client = scope.get("client")
            if client is None or client[0] not in _LOOPBACK:
                await respond_error(
                    send, 403, "forbidden", "the status is served to localhost only"
                )
                return
            await respond(send, 200, json.dumps(self._status()).encode(), JSON_HEADERS)
        else:
            await respond_error(send, 404, "not_found", f"no route {method} {path}")

    # --- the paid call --------------------------------------------------------------------------

    async def _paid(self, scope: Scope, receive: Receive, send: Send) -> None:
        channel_hex = amount_text = voucher_hex = None
        content_type = ""
        length = -1
        for name, value in scope["headers"]:
            if name == b"x-vox-channel":
                channel_hex = value
            elif name == b"x-vox-amount":
                amount_text = value
            elif name == b"x-vox-voucher":
                voucher_hex = value
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                length = int(value) if value.isdigit() else -1
        channel_id: bytes | None = None
        try:
            # Verify the payment headers are all there and well formed
            if channel_hex is None and amount_text is None and voucher_hex is None:
                raise PaymentError("payment_required", "this call needs a voucher")
            if channel_hex is None or amount_text is None or voucher_hex is None:
                raise PaymentError(
                    "bad_request",
                    "X-Vox-Channel, X-Vox-Amount and X-Vox-Voucher go together",
                    status=400,
                )
            channel_id = _parse_hex(channel_hex, CHANNEL_ID_SIZE, "X-Vox-Channel")
            voucher = Voucher(
                channel_id, _parse_amount(amount_text), _parse_hex(voucher_hex, 64, "X-Vox-Voucher")
            )
            body = await _read_body(receive, length, self.engine.max_body)
            params = _query_params(scope)
            prepared = self.engine.prepare(body, content_type, params)
            price = self.identity.price * prepared.units
            previous = await self._accept(voucher, price)
        except PaymentError as exc:
            await self._refuse(send, exc, channel_id)
            return
        except EngineError as exc:
            await respond_error(send, exc.status, exc.code, str(exc))
            return
        await self._serve(send, voucher, previous, body, prepared)

    async def _accept(self, voucher: Voucher, price: int) -> int:
        """Check `voucher` pays `price` more than the channel's best and reserve it; returns the
        amount it supersedes. Raises PaymentError."""
        channel_id = voucher.channel_id
        entry = self.view.get(channel_id)
        if entry is None:
            entry = await self._load(channel_id)
        stale = self.view.clock() - entry.seen_at > DEPOSIT_RECHECK_SECONDS
        if entry.info is not None and voucher.amount > entry.info.deposit and stale:
            # The payer may have topped up since the view read it (asked at most once a second)
            entry = await self._load(channel_id)
        # No await below this line: the check and the reservation are one step per channel
        info = entry.info
        best = self.accepted.get(channel_id, 0)
        # Verify the channel exists, pays this provider and is not about to end
        if info is None and channel_id in self.accepted:
            raise PaymentError("channel_closing", "the channel has ended on chain", accepted=best)
        if info is None:
            raise PaymentError("unknown_channel", "no such channel on chain", amount_needed=price)
        if info.claimed > best:
            best = info.claimed
        if info.payee != self.identity.provider:
            raise PaymentError("wrong_payee", "the channel pays another provider", accepted=best)
        reason = self.view.closing_reason(entry)
        if reason is not None:
            raise PaymentError("channel_closing", reason, accepted=best)
        # Verify the channel's voucher key signed this amount for this chain and channel
        if not voucher.verify(self.identity.chain_id, info.voucher_key):
            raise PaymentError(
                "voucher_invalid",
                "the signature is not the channel's voucher key's over this chain, channel, amount",
                amount_needed=best + price,
                accepted=best,
            )
        # Verify it is newer than the best held, pays at least the price, stays within the deposit
        if voucher.amount <= best:
            raise PaymentError(
                "voucher_stale",
                "the amount is not above the best voucher held for this channel",
                amount_needed=best + price,
                accepted=best,
            )
        if voucher.amount - best < price:
            raise PaymentError(
                "underpaid",
                f"the increment is under the price of {price} uvox",
                amount_needed=best + price,
                accepted=best,
            )
        if voucher.amount > info.deposit:
            raise PaymentError(
                "over_deposit",
                f"the amount is over the channel's deposit of {info.deposit} uvox",
                amount_needed=best + price,
                accepted=best,
            )
        self.accepted[channel_id] = voucher.amount
        return best

    async def _load(self, channel_id: bytes) -> Entry:
        try:
            return await self.view.load(channel_id)
        except ViewBusyError:
            raise PaymentError(
                "busy", "too many channel lookups in flight; retry", status=503
            ) from None
        except ViewUnavailableError:
            entry = self.view.entries.get(channel_id)
            if entry is not None:
                return entry  # the last verified view, within its margin (checked by the caller)
            raise PaymentError(
                "node_unreachable",
                "the provider cannot read this channel from its node now",
                status=503,
            ) from None

    async def _serve(
        self, send: Send, voucher: Voucher, previous: int, body: bytes, prepared: Prepared
    ) -> None:
        channel_id = voucher.channel_id
        try:
            answer = await self.engine.run(prepared)
        except EngineError as exc:
            # Nothing served: give the reservation back unless a later voucher superseded it
            if self.accepted.get(channel_id) == voucher.amount:
                self.accepted[channel_id] = previous
            await respond_error(send, exc.status, exc.code, str(exc))
            return
        try:
            await self.ledger.record(voucher)
        except (OSError, LedgerClosedError) as exc:  # not durable: must not be answered
            if self.accepted.get(channel_id) == voucher.amount:
                self.accepted[channel_id] = previous
            await respond_error(
                send, 503, "storage_unavailable", f"cannot store the voucher: {exc!r}"
            )
            return
        stats = self.stats
        stats.served += 1
        stats.earned += voucher.amount - previous
        receipt = sign_receipt(
            self.response_key,
            self.identity.chain_id,
            channel_id,
            body,
            answer,
            voucher.amount,
        )
        headers = [
            (b"content-type", b"application/json"),
            (b"x-vox-receipt", receipt.signature.hex().encode()),
            (b"x-vox-amount", str(voucher.amount).encode()),
        ]
        await respond(send, 200, answer, headers)

    async def _refuse(self, send: Send, exc: PaymentError, channel_id: bytes | None) -> None:
        error: dict[str, Any] = {
            "code": exc.code,
            "message": str(exc),
            "price": self.identity.price,
            "channel": channel_id.hex() if channel_id is not None else None,
            "amount_needed": exc.amount_needed,
            "accepted": exc.accepted,
        }
        if channel_id is not None and exc.accepted is None:
            error["accepted"] = self.accepted.get(channel_id, 0)
        if exc.amount_needed is None:
            error["amount_needed"] = (error["accepted"] or 0) + self.identity.price
        await respond(send, exc.status, json.dumps({"error": error}).encode(), JSON_HEADERS)

    # --- the unpaid route (benchmarks only) -----------------------------------------------------

    async def _unpaid(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = -1
        content_type = ""
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value) if value.isdigit() else -1
            elif name == b"content-type":
                content_type = value.decode("latin-1")
        try:
            body = await _read_body(receive, length, self.engine.max_body)
            prepared = self.engine.prepare(body, content_type, _query_params(scope))
            answer = await self.engine.run(prepared)
        except PaymentError as exc:
            await respond_error(send, exc.status, exc.code, str(exc))
            return
        except EngineError as exc:
            await respond_error(send, exc.status, exc.code, str(exc))
            return
        self.stats.served_unpaid += 1
        await respond(send, 200, answer, JSON_HEADERS)


# --- helpers --------------------------------------------------------------------------------------


def _parse_hex(value: bytes, size: int, header: str) -> bytes:
    if len(value) != 2 * size:
        raise PaymentError("bad_request", f"{header} must be {2 * size} hex digits", status=400)
    try:
        return bytes.fromhex(value.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise PaymentError("bad_request", f"{header} is not hex", status=400) from None


def _parse_amount(value: bytes) -> int:
    # Verify a plain decimal (no sign, no spaces) that fits in 64 bits
    if not value.isdigit() or len(value) > 20:
        raise PaymentError("bad_request", "X-Vox-Amount must be a decimal uvox amount", status=400)
    amount = int(value)
    if amount > MAX_AMOUNT:
        raise PaymentError("bad_request", "X-Vox-Amount must fit in 64 bits", status=400)
    return amount


async def _read_body(receive: Receive, length: int, limit: int) -> bytes:
    # Verify the size: a body declared too large is refused before it is read
    body = await read_body(receive, limit, length)
    if body is None:
        raise PaymentError("too_large", f"the request body is over {limit} bytes", status=413)
    return body


def _query_params(scope: Scope) -> dict[str, str]:
    raw: bytes = scope.get("query_string", b"")
    if not raw:
        return {}
    from urllib.parse import parse_qsl

    return dict(parse_qsl(raw.decode("latin-1")))
