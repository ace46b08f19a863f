"""The privacy node's HTTP API: its own routes in front of the provider gateway.

    PUT  /v1/grants/{grant_id hex}   the grant's owner delivers this node's sealed fragment and
                                     the kits (signed like storage requests: Voxpop-Sig)
    POST /v1/reencrypt               a grantee's signed access request; paid through the
                                     gateway (X-Vox-Channel/Amount/Voucher), or without a
                                     voucher when the operator set `unpaid` (devnets, benches)
    GET  /v1/status                  localhost only: what the node holds, serves and earns
    GET  /v1/offer                   the gateway's offer (kind reencrypt, price, signing key)

Errors are JSON `{"error": {"code": ..., "message": ...}}` with stable codes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from voxpop.client.asgi import JSON_HEADERS, Receive, Scope, Send, read_body, respond, respond_error
from voxpop.crypto.storage_auth import StorageAuthError, verify_request
from voxpop.privacy.book import GrantBook
from voxpop.privacy.engine import ReencryptEngine
from voxpop.privacy.grants import MAX_GRANT_BODY, DeliveryError
from voxpop.provider.engines import EngineError
from voxpop.provider.server import Gateway

GRANTS_PREFIX = "/v1/grants/"
_LOOPBACK = ("127.0.0.1", "::1")
_CBOR = [(b"content-type", b"application/cbor")]


class PrivacyApp:
    def __init__(
        self,
        gateway: Gateway,
        book: GrantBook,
        engine: ReencryptEngine,
        status: Callable[[], dict[str, Any]],
        *,
        unpaid: bool,
        startup: Callable[[], Awaitable[None]],
        shutdown: Callable[[], Awaitable[None]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.gateway = gateway
        self.book = book
        self.engine = engine
        self.status = status
        self._startup = startup
        self._shutdown = shutdown
        self.clock = clock
        self.unpaid = unpaid

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method == "PUT" and path.startswith(GRANTS_PREFIX):
            await self._deliver(scope, receive, send)
        elif method == "POST" and path == "/v1/reencrypt" and self.unpaid and not _paid(scope):
            await self._unpaid(receive, send)
        elif method == "GET" and path == "/v1/status":
            await self._status(scope, send)
        else:
            await self.gateway(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.gateway.start()
                    await self._startup()
                except Exception as exc:  # reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._shutdown()
                await self.gateway.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _deliver(self, scope: Scope, receive: Receive, send: Send) -> None:
        text = scope["path"][len(GRANTS_PREFIX) :]
        try:
            grant_id = _grant_id(text)
            body = await read_body(receive, MAX_GRANT_BODY, _length(scope))
            if body is None:
                raise DeliveryError(413, "too_large", f"a delivery is at most {MAX_GRANT_BODY} B")
            signer = self._signer(scope, body)
            held = await self.book.deliver(grant_id, body, signer)
        except DeliveryError as exc:
            await respond_error(send, exc.status, exc.code, str(exc))
            return
        answer = {"grant_id": grant_id.hex(), "objects": len(held.kits), "height": held.height}
        await respond(send, 200, json.dumps(answer).encode(), JSON_HEADERS)

    def _signer(self, scope: Scope, body: bytes) -> bytes:
        header = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                header = value.decode("latin-1")
        raw_path = scope.get("raw_path") or scope["path"].encode()
        try:
            return verify_request(
                header, "PUT", raw_path.decode("latin-1"), body, int(self.clock())
            )
        except StorageAuthError as exc:
            raise DeliveryError(401, exc.code, str(exc)) from None

    async def _unpaid(self, receive: Receive, send: Send) -> None:
        body = await read_body(receive, self.engine.max_body)
        try:
            if body is None:
                raise RefusedBody()
            answer = await self.engine.run(self.engine.prepare(body, "", {}))
        except RefusedBody:
            await respond_error(send, 413, "too_large", "an access request is at most 4 KiB")
            return
        except EngineError as exc:
            await respond_error(send, exc.status, exc.code, str(exc))
            return
        self.gateway.stats.served_unpaid += 1
        await respond(send, 200, answer, _CBOR)

    async def _status(self, scope: Scope, send: Send) -> None:
        # Verify the caller is on this machine: earnings are the operator's business
        client = scope.get("client")
        if client is None or client[0] not in _LOOPBACK:
            await respond_error(send, 403, "forbidden", "the status is served to localhost only")
            return
        await respond(send, 200, json.dumps(self.status()).encode(), JSON_HEADERS)


class RefusedBody(Exception):
    pass


def _paid(scope: Scope) -> bool:
    return any(key == b"x-vox-channel" for key, _ in scope["headers"])


def _length(scope: Scope) -> int:
    for key, value in scope["headers"]:
        if key == b"content-length":
            return int(value) if value.isdigit() and len(value) < 19 else -1
    return -1


def _grant_id(text: str) -> bytes:
    # Verify 64 lowercase hex digits (one spelling per grant)
    if len(text) != 64 or not all(c in "0123456789abcdef" for c in text):
        raise DeliveryError(400, "bad_request", "the grant id is 64 lowercase hex digits")
    return bytes.fromhex(text)
