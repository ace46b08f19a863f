"""Paid calls as the agent's routes make them: the owner's PayingClient in a worker thread, its
typed errors turned into an HTTP status and a stable code a device can read.

- the request itself is bad (the agent's check, or the provider's 400): 400 `bad_request`,
  `bad_audio`, or the provider's code;
- every provider said the question has no answer (404 not_found): 404 `not_found`;
- the body is over the limit: 413 `too_large`;
- the owner's daily cap would be passed: 402 `spending_cap`;
- no provider is usable (none listed, all down, slow or bad), no node to find them: 503
  `no_provider_available`, `chain_unavailable`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

if TYPE_CHECKING:
    from voxpop.client.payments import PaidAnswer, PayingClient

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """What a route answers instead of a paid answer: `status`, a stable `code`, a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, read at most `max_bytes` into memory. Raises ServiceError (413)."""
    declared = request.headers.get("content-length")
    # Verify a declared length is within the limit before reading anything
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ServiceError(413, "too_large", f"the body is over {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        # Verify the body actually sent stays within the limit (a length may be absent or lie)
        if size > max_bytes:
            raise ServiceError(413, "too_large", f"the body is over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def paid_call(
    payer: PayingClient,
    kind: str,
    body: bytes,
    *,
    content_type: str = "application/json",
    params: dict[str, str] | None = None,
    language: str | None = None,
) -> PaidAnswer:
    """PayingClient.call in a worker thread. Raises ServiceError."""
    from voxpop.agent.errors import AgentError
    from voxpop.client.errors import VoxClientError
    from voxpop.client.payments import (
        BadAudioError,
        NoProviderError,
        PaymentRefusedError,
        SpendingCapError,
    )

    try:
        return await run_in_threadpool(
            payer.call,
            kind,
            body,
            content_type=content_type,
            params=params,
            language=language,
        )
    except BadAudioError as exc:
        raise ServiceError(400, exc.code, exc.message) from None
    except PaymentRefusedError as exc:
        raise ServiceError(400, exc.problem, str(exc)) from None
    except SpendingCapError as exc:
        raise ServiceError(402, exc.code, exc.message) from None
    except NoProviderError as exc:
        # Every provider that answered said there is no answer: that is the answer
        if exc.tried and all(why.startswith("404 not_found") for why in exc.tried.values()):
            raise ServiceError(404, "not_found", f"no {kind} answer for this request") from None
        if exc.tried and all(why.startswith("413 ") for why in exc.tried.values()):
            raise ServiceError(413, "too_large", f"the {kind} request is too large") from None
        log.warning("paid %s call: %s", kind, exc.message)
        raise ServiceError(503, exc.code, exc.message) from None
    except VoxClientError as exc:
        log.warning("paid %s call: %s", kind, exc)
        raise ServiceError(503, "chain_unavailable", str(exc)) from None
    except AgentError as exc:
        log.warning("paid %s call: %s", kind, exc)
        raise ServiceError(503, exc.code, str(exc)) from None
