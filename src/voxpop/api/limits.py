"""A bound on request body size, enforced before any of the body is parsed.

A declared Content-Length over the limit is refused at once; a body sent without one (chunked) is
counted as it arrives and refused as soon as it passes the limit, so a client can never make the
node buffer more than the limit. The connection stays open: the server discards the rest of the
body, so the client reads the 413 instead of a reset connection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voxpop.api.errors import INVALID_REQUEST, REQUEST_TOO_LARGE, error_body


class BodyTooLargeError(HTTPException):
    """Raised from inside `receive`; an HTTPException so FastAPI's body reader passes it on."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds {limit} bytes")
        self.limit = limit


class BodyLimitMiddleware:
    """Refuse bodies over `default_limit` bytes, or over `path_limits[path]` for listed paths."""

    def __init__(
        self, app: ASGIApp, default_limit: int, path_limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"], self.default_limit)
        declared = _content_length(scope)
        # Verify the declared length, if any, is a number within the limit
        if declared == -1:
            await _reply(send, 400, INVALID_REQUEST, "Content-Length is not a valid number")
            return
        if declared is not None and declared > limit:
            await _reply(send, 413, REQUEST_TOO_LARGE, f"request body exceeds {limit} bytes")
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                # Verify the body actually sent stays within the limit
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError as exc:
            if started:
                raise
            await _reply(send, 413, REQUEST_TOO_LARGE, str(exc.detail))


def _content_length(scope: Scope) -> int | None:
    """The declared body length; None if absent; -1 if malformed."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit() or len(text) > 18:
                return -1
            return int(text)
    return None


async def _reply(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message), separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
