"""The effects a client flow yields, and the one that every request goes through.

A flow yields HttpRequest (answered with HttpResponse) or Sleep (answered with time.monotonic()
after sleeping); the sync and async drivers perform them. `base_url`, when set, sends the request
to another node than the client's own (the light client's witnesses).
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from voxpop.client.errors import (
    ApiError,
    NotFoundError,
    ProtocolError,
    ServerError,
    TxRejectedError,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    base_url: str | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


Effect = HttpRequest | Sleep
Flow = Generator[Effect, Any, T]


def call(req: HttpRequest) -> Flow[Any]:
    """Send `req`; return its JSON body. Raises ApiError (or a subclass) for an error answer."""
    resp = yield req
    assert isinstance(resp, HttpResponse)
    if resp.status >= 400:
        raise api_error(resp)
    return decode_json(resp)


def decode_json(resp: HttpResponse) -> Any:
    try:
        return json.loads(resp.body)
    except ValueError:
        raise ProtocolError(f"HTTP {resp.status}: the node's answer is not JSON") from None


def api_error(resp: HttpResponse, *, rejection: bool = False) -> ApiError:
    """The typed error for an error answer. With `rejection`, a 400 chain error is a
    TxRejectedError (check_tx refused the tx)."""
    try:
        err = json.loads(resp.body)["error"]
        code, numeric, message = str(err["code"]), err.get("numeric_code"), str(err["message"])
        codespace = str(err.get("codespace", ""))
    except (ValueError, KeyError, TypeError):
        code, numeric, codespace = f"http_{resp.status}", None, ""
        message = resp.body[:200].decode("utf-8", "replace") or f"HTTP {resp.status}"
    numeric = numeric if isinstance(numeric, int) else None
    cls: type[ApiError] = ApiError
    if resp.status >= 500:
        cls = ServerError
    elif resp.status == 404:
        cls = NotFoundError
    elif rejection and numeric is not None and codespace != "api":
        cls = TxRejectedError
    return cls(code, numeric, message, resp.status, codespace)
