"""Live updates: the node's block and tx stream relayed to the home's pages as Server-Sent Events.

A page connects with `hx-ext="sse" sse-connect="/events"`; it receives

- `block`: a small HTML fragment (the new height), for `sse-swap="block"`;
- `owner-tx`: when a committed tx names the owner (its data mentions the owner's address), so a
  fragment with `hx-trigger="sse:owner-tx"` reloads itself.

Same origin only (the CSP's connect-src 'self'): the browser never talks to a node.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from markupsafe import escape

from voxpop.agent.home.security import require_session
from voxpop.agent.home.session import Session
from voxpop.agent.home.state import home_of
from voxpop.crypto import encode_address

log = logging.getLogger(__name__)
router = APIRouter()
RETRY_SECONDS = 3.0


def sse(event: str, data: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n".encode()


@router.get("/events")
async def events(
    request: Request, session: Session = Depends(require_session)
) -> StreamingResponse:
    home = home_of(request)
    nodes = home.agent.config.nodes
    owner = encode_address(home.agent.owner)

    async def relay() -> AsyncIterator[bytes]:
        from voxpop.client.aio import AsyncVoxClient

        yield b"retry: 3000\n\n"
        index = 0
        while not await request.is_disconnected():
            url = nodes[index % len(nodes)]
            try:
                async with AsyncVoxClient(url) as client:
                    async for item in client.stream():
                        if item.kind == "block":
                            yield sse("block", f"<span>block {escape(str(item.height))}</span>")
                        elif item.kind == "tx" and owner in json.dumps(item.data):
                            yield sse("owner-tx", escape(str(item.height)))
            except Exception as exc:  # any node failure (closed, refused, cut): try the next one
                log.info("home stream from %s ended: %r", url, exc)
            index += 1
            yield sse("offline", "<span>reconnecting...</span>")
            await asyncio.sleep(RETRY_SECONDS)

    headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
    return StreamingResponse(relay(), media_type="text/event-stream", headers=headers)
