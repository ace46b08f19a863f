"""The two wire forms of the live feed: Server-Sent Events and WebSocket.

Both take a subscription from the StreamHub (or are refused with its error), write the hub's
pre-serialized items, notice at once when the client goes away, and stop at once when the hub
drops them, even while blocked writing to a client that no longer reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Collection

from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from voxpop.api.errors import ApiError, send_error
from voxpop.api.stream import (
    ENDED_CLOSED,
    ENDED_SHUTDOWN,
    ENDED_TOO_SLOW,
    StreamEndedError,
    StreamHub,
    Subscription,
)

SSE_PING_SECONDS = 15.0  # a comment line this often keeps proxies from closing an idle feed
_SSE_PING = b": ping\r\n\r\n"
_CLOSE_WAIT_SECONDS = 1.0  # how long a closing handshake may take before the socket is dropped
# Writes to a socket with room do not yield to the event loop, so a feed with a block's events
# queued would hold the loop for all of them; it yields after this many, and other requests
# (and other feeds) get their turn in between.
YIELD_EVERY = 16


def client_address(scope: Scope) -> str:
    """The client's address, as the rate limiter sees it (see ratelimit.py)."""
    client = scope.get("client")
    return str(client[0]) if client else "-"


class EventStreamResponse(Response):
    """Server-Sent Events of one subscription, taken when the response starts."""

    media_type = "text/event-stream"

    def __init__(self, hub: StreamHub, kinds: Collection[str]) -> None:
        super().__init__(status_code=200)
        self.hub = hub
        self.kinds = kinds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            sub = self.hub.subscribe(client_address(scope), self.kinds)
        except ApiError as exc:
            await send_error(scope, send, exc)
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-store"),
                        (b"x-accel-buffering", b"no"),
                    ],
                }
            )
            await _send_events(sub, receive, send)
        finally:
            self.hub.unsubscribe(sub)


async def _send_events(sub: Subscription, receive: Receive, send: Send) -> None:
    watcher = asyncio.create_task(_end_on_disconnect(sub, receive, "http.disconnect"))
    try:
        async with sub.delivering():
            for sent in itertools.count(1):
                item = await sub.next(SSE_PING_SECONDS)
                chunk = _SSE_PING if item is None else item.sse_bytes()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if sent % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
    except (StreamEndedError, OSError):
        pass
    finally:
        watcher.cancel()
    if sub.ended in (ENDED_TOO_SLOW, ENDED_CLOSED):
        return  # the client reads nothing more: leave the connection to the server to drop
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(_CLOSE_WAIT_SECONDS):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def serve_websocket_feed(
    websocket: WebSocket, hub: StreamHub, kinds: Collection[str]
) -> None:
    """The feed over `websocket`: one JSON text message {"event", "id", "data"} per item."""
    try:
        sub = hub.subscribe(client_address(websocket.scope), kinds)
    except ApiError as exc:
        await send_error(websocket.scope, websocket.send, exc)
        return
    try:
        await websocket.accept()
        watcher = asyncio.create_task(
            _end_on_disconnect(sub, websocket.receive, "websocket.disconnect")
        )
        try:
            async with sub.delivering():
                for sent in itertools.count(1):
                    item = await sub.next()
                    if item is not None:
                        await websocket.send_text(item.ws_text())
                    if sent % YIELD_EVERY == 0:
                        await asyncio.sleep(0)
        except (StreamEndedError, WebSocketDisconnect):
            pass
        finally:
            watcher.cancel()
        if sub.ended in (ENDED_TOO_SLOW, ENDED_CLOSED):
            return  # the server drops the connection; a close frame would only queue up
        with contextlib.suppress(OSError, RuntimeError, TimeoutError, WebSocketDisconnect):
            async with asyncio.timeout(_CLOSE_WAIT_SECONDS):
                await websocket.close(1001 if sub.ended == ENDED_SHUTDOWN else 1011)
    finally:
        hub.unsubscribe(sub)


async def _end_on_disconnect(sub: Subscription, receive: Receive, disconnect: str) -> None:
    """Read (and ignore) what the client sends; its going away ends the feed at once."""
    with contextlib.suppress(Exception):
        while (await receive())["type"] != disconnect:
            pass
    sub.end(ENDED_CLOSED)
