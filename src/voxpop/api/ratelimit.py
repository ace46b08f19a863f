"""Per-client request rate limit: a token bucket per client address, in front of every route.

The API binds to localhost by default; when an operator exposes it, one client must not be able
to starve the others or the node. Over the limit, a 429 `rate_limited` with Retry-After. A
WebSocket upgrade is a request like any other. The client address is the connection's peer, or,
only behind a proxy the operator listed in `[api] trusted_proxies`, the one it forwards.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from voxpop.api.errors import RATE_LIMITED, ApiError, send_error

MAX_TRACKED_CLIENTS = 10_000


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        rate_per_s: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.rate = rate_per_s
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.rate <= 0:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = client[0] if client else "-"
        wait = self._take(key)
        # Verify the client is within its rate
        if wait > 0:
            err = ApiError(429, RATE_LIMITED, f"too many requests; retry in {wait:.2f} s")
            err.headers = {"Retry-After": str(max(1, math.ceil(wait)))}
            await send_error(scope, send, err)
            return
        await self.app(scope, receive, send)

    def _take(self, key: str) -> float:
        """Take one token; return 0, or the seconds until one is available."""
        now = self.clock()
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1:
            tokens -= 1
            wait = 0.0
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[key] = (tokens, now)  # re-inserted: the dict stays ordered by last use
        if len(self._buckets) > MAX_TRACKED_CLIENTS:
            # The least recently seen client is forgotten; it gets a full bucket if it returns
            del self._buckets[next(iter(self._buckets))]
        return wait
