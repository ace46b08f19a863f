"""The few ASGI pieces the roles' bare HTTP apps share (the provider gateway, the storage node):
the callable types, a whole response, a JSON error, and a body read within a limit.

The roles serve without a framework to keep their hot paths and their memory small; these are
the only pieces they need from one.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON_HEADERS = [(b"content-type", b"application/json")]


async def respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    """One whole response with its content-length."""
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def respond_error(send: Send, status: int, code: str, message: str) -> None:
    """`{"error": {"code": ..., "message": ...}}` with HTTP `status`."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await respond(send, status, body, JSON_HEADERS)


async def read_body(receive: Receive, limit: int, length: int = -1) -> bytes | None:
    """The request body, or None once it is over `limit` bytes (stops reading there).

    `length` is the declared content-length (-1: none): a body declared too large is refused
    before any of it is read."""
    if length > limit:
        return None
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body if len(body) <= limit else None
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def serve(app: Any, host: str, port: int) -> bool:
    """Run a role's ASGI app on uvicorn (uvloop, httptools, no access log) until SIGINT or
    SIGTERM; False if it never started (the port in use, a failed lifespan startup)."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            loop="uvloop",
            http="httptools",
            lifespan="on",
            access_log=False,
            log_level="warning",
            server_header=False,
            date_header=False,
        )
    )
    server.run()
    return bool(server.started)
