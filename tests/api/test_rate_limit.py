"""A client over its request rate gets 429 `rate_limited` with Retry-After; others are not hurt,
and the client is served again once its bucket refills."""

from __future__ import annotations

import math
import time
from pathlib import Path

import httpx
import pytest

from voxpop.api.ratelimit import RateLimitMiddleware
from voxpop.client.testing import LocalNode
from voxpop.node.config import NodeConfig

pytestmark = pytest.mark.slow


_RATE_PER_S = 5
_BURST = 5


def _slow_limit(config: NodeConfig) -> None:
    config.api.rate_limit_per_s = _RATE_PER_S
    config.api.rate_limit_burst = _BURST


def test_rate_limited_then_served_again(tmp_path: Path) -> None:
    with (
        LocalNode.start(tmp_path / "node", configure=_slow_limit) as node,
        httpx.Client(base_url=node.url, timeout=10) as http,
    ):
        # A burst of 5 (the readiness probe took some) plus what refilled while the requests ran
        # (more on a loaded machine, where each request is slower), then a refusal
        started = time.monotonic()
        codes = [http.get("/v1/status").status_code]
        while codes[-1] == 200 and len(codes) < 100:
            codes.append(http.get("/v1/status").status_code)
        elapsed = time.monotonic() - started
        assert codes[0] == 200 and codes[-1] == 429, codes
        refilled = math.floor(elapsed * _RATE_PER_S)
        assert 2 <= codes.count(200) <= _BURST + refilled, (codes, elapsed)
        refused = http.get("/v1/status")
        while refused.status_code == 200:  # a token refilled in between (a slow machine)
            refused = http.get("/v1/status")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        time.sleep(1.0)
        assert http.get("/v1/status").status_code == 200


async def test_buckets_are_per_client_and_bounded() -> None:
    now = [0.0]
    seen: list[str] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(scope["client"][0])

    limiter = RateLimitMiddleware(app, rate_per_s=1, burst=1, clock=lambda: now[0])
    sent: list[dict[str, object]] = []

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    async def call(host: str) -> None:
        await limiter({"type": "http", "client": (host, 1)}, None, send)  # type: ignore[arg-type]

    await call("10.0.0.1")
    await call("10.0.0.1")  # over: refused
    await call("10.0.0.2")  # another client is unaffected
    assert seen == ["10.0.0.1", "10.0.0.2"]
    assert sent[0]["status"] == 429
    now[0] += 1.0
    await call("10.0.0.1")
    assert seen[-1] == "10.0.0.1"
    for i in range(20_000):
        limiter._take(f"h{i}")
    assert len(limiter._buckets) <= 10_000
