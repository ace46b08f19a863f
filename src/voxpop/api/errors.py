"""Every error the HTTP API returns, as one JSON shape with a stable string code.

    {"error": {"code": "insufficient_funds", "numeric_code": 60, "codespace": "voxpop",
               "message": "balance 5 uvox is less than 10 uvox"}}

Chain errors keep their protocol code and name (voxpop.chain.errors). Errors of the API itself
(malformed input, unknown routes, limits) use codespace "api" and numeric_code null. A client error
is always 4xx; 500 `internal` means a bug in the node, never bad input.
"""

from __future__ import annotations

import json
import logging
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

from voxpop.chain.errors import (
    CODESPACE,
    HeightNotAvailableError,
    UnknownQueryError,
    error_name,
)
from voxpop.node.service import NodeUnavailableError

log = logging.getLogger("voxpop.api")

API_CODESPACE: Final = "api"

# The API's own error codes (codespace "api"), with the HTTP status each is sent with.
INVALID_REQUEST: Final = "invalid_request"  # 422: body or query parameters fail validation
INVALID_BASE64: Final = "invalid_base64"  # 400
INVALID_HEX: Final = "invalid_hex"  # 400
INVALID_ADDRESS: Final = "invalid_address"  # 400
INVALID_HASH: Final = "invalid_hash"  # 400
INVALID_HEIGHT: Final = "invalid_height"  # 400
REQUEST_TOO_LARGE: Final = "request_too_large"  # 413: body over the size limit
RATE_LIMITED: Final = "rate_limited"  # 429: the client sent too many requests; see Retry-After
TOO_MANY_STREAMS: Final = "too_many_streams"  # 429: the client has its share of live feeds open
STREAMS_FULL: Final = "streams_full"  # 503: the node has its most live feeds open; see Retry-After
HOST_NOT_ALLOWED: Final = "host_not_allowed"  # 403: the Host (or a WebSocket's Origin) is foreign
BATCH_TOO_LARGE: Final = "batch_too_large"  # 413: more txs than a batch may hold
NOT_FOUND: Final = "not_found"  # 404: no such route
METHOD_NOT_ALLOWED: Final = "method_not_allowed"  # 405
BLOCK_NOT_FOUND: Final = "block_not_found"  # 404
TX_NOT_FOUND: Final = "tx_not_found"  # 404
INTERNAL: Final = "internal"  # 500: a bug; logged with its traceback

# Chain errors that mean "no such thing" rather than "bad request".
_NOT_FOUND_CHAIN_CODES: Final = frozenset({HeightNotAvailableError.code, UnknownQueryError.code})


class ApiError(Exception):
    """An error answered as JSON with `status`. Raise it from a route; the handler renders it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        numeric_code: int | None = None,
        codespace: str = API_CODESPACE,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.numeric_code = numeric_code
        self.codespace = codespace
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, object]:
        return error_body(self.code, self.message, self.numeric_code, self.codespace)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers or None)


async def send_error(scope: Scope, send: Send, err: ApiError) -> None:
    """Answer `err` from ASGI middleware, before any route: as JSON over HTTP, and as the HTTP
    answer to a WebSocket upgrade where the server can send one (else a plain refusal, 403)."""
    body = json.dumps(err.body(), separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in err.headers.items()),
    ]
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1008, "reason": err.code})
            return
        prefix = "websocket."
    else:
        prefix = ""
    await send({"type": f"{prefix}http.response.start", "status": err.status, "headers": headers})
    await send({"type": f"{prefix}http.response.body", "body": body})


def error_body(
    code: str, message: str, numeric_code: int | None = None, codespace: str = API_CODESPACE
) -> dict[str, object]:
    return {
        "error": {
            "code": code,
            "numeric_code": numeric_code,
            "codespace": codespace,
            "message": message,
        }
    }


def chain_error_name(code: int, codespace: str) -> str:
    """The stable name of a result code: the protocol's name in codespace voxpop, otherwise
    `<codespace>_<code>` so an error from another codespace is never mistaken for ours."""
    if codespace in (CODESPACE, ""):
        return error_name(code)
    return f"{codespace}_{code}"


def chain_error(status: int, code: int, codespace: str, message: str) -> ApiError:
    """An ApiError carrying a chain result code (a check_tx rejection, a failed query)."""
    return ApiError(
        status,
        chain_error_name(code, codespace),
        message or chain_error_name(code, codespace),
        numeric_code=code,
        codespace=codespace or CODESPACE,
    )


def query_error_status(code: int) -> int:
    return 404 if code in _NOT_FOUND_CHAIN_CODES else 400


def describe_validation_error(exc: RequestValidationError) -> str:
    """One line naming each invalid field, e.g. `body.mode: Input should be 'sync' or 'commit'`."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
    more = len(exc.errors()) - 5
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts) or "invalid request"


async def _handle_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _handle_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return ApiError(422, INVALID_REQUEST, describe_validation_error(exc)).response()


async def _handle_http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        err = ApiError(404, NOT_FOUND, "no such route")
    elif exc.status_code == 405:
        err = ApiError(405, METHOD_NOT_ALLOWED, "method not allowed on this route")
    elif exc.status_code == 413:
        err = ApiError(413, REQUEST_TOO_LARGE, str(exc.detail))
    else:
        err = ApiError(exc.status_code, f"http_{exc.status_code}", str(exc.detail))
    response = err.response()
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _handle_node_unavailable(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NodeUnavailableError)
    return ApiError(503, exc.code, str(exc)).response()


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("internal error serving %s %s", request.method, request.url.path, exc_info=exc)
    return ApiError(500, INTERNAL, "internal error").response()


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _handle_api_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(NodeUnavailableError, _handle_node_unavailable)
    app.add_exception_handler(Exception, _handle_unexpected)
