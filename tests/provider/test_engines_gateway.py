"""Engines behind the real gateway: a paid weather call answers OpenWeatherMap's JSON with a
receipt, while an upstream that times out or answers garbage gets the call an error and charges
nothing (no voucher held, none counted as earned, the same amount accepted once the upstream is
back), and oversized or malformed requests are refused before any payment is looked at.

The channel view reads from a small in-process table (as in test_gateway_app.py); the gateway,
ledger, engine and upstream server are the real ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey

from voxpop.crypto.vouchers import sign_voucher
from voxpop.provider.engines.local_upstreams import LocalUpstream
from voxpop.provider.engines.upstream import Upstream
from voxpop.provider.engines.weather import WeatherEngine
from voxpop.provider.ledger import LOG_NAME, VoucherLedger, read_best
from voxpop.provider.server import Gateway, GatewayIdentity
from voxpop.provider.view import ChannelInfo, ChannelView, Fetched

CHAIN = "voxpop-test"
PROVIDER = bytes([7]) * 20
PAYER = bytes([9]) * 20
PRICE = 250
KEY = "owm-key"
VOUCHER_KEY = SigningKey(bytes([31]) * 32)
RESPONSE_KEY = SigningKey(bytes([32]) * 32)
CH = bytes([4]) * 32
LONDON = b'{"endpoint": "onecall", "lat": 51.5085, "lon": -0.1257}'


@pytest.fixture(scope="module")
def upstream() -> Iterator[LocalUpstream]:
    with LocalUpstream.start(key=KEY) as up:
        yield up


@pytest.fixture
async def gateway(tmp_path: Path, upstream: LocalUpstream) -> AsyncIterator[Gateway]:
    upstream.state.mode = "ok"
    info = ChannelInfo(CH, PAYER, PROVIDER, bytes(VOUCHER_KEY.verify_key), 100_000, 0, 0, 1)

    async def fetch(channel_id: bytes) -> Fetched:
        return Fetched(info if channel_id == CH else None, 5)

    engine = WeatherEngine(Upstream(upstream.weather_url, KEY, timeout=0.5))
    identity = GatewayIdentity(CHAIN, PROVIDER, "vox1provider", "weather", PRICE, "http://x")
    gw = Gateway(
        identity,
        engine,
        ChannelView(fetch, clock=lambda: 1_000_000.0),
        lambda: VoucherLedger.open(tmp_path),
        RESPONSE_KEY,
    )
    await gw.start()
    yield gw
    await gw.stop()
    upstream.state.mode = "ok"


async def call(gw: Gateway, amount: int, body: bytes = LONDON) -> httpx.Response:
    voucher = sign_voucher(VOUCHER_KEY, CHAIN, CH, amount)
    headers = {
        "X-Vox-Channel": CH.hex(),
        "X-Vox-Amount": str(amount),
        "X-Vox-Voucher": voucher.signature.hex(),
        "Content-Type": "application/json",
    }
    transport = httpx.ASGITransport(app=gw)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        return await client.post("/v1/weather", content=body, headers=headers)


async def test_paid_weather_call(gateway: Gateway, tmp_path: Path) -> None:
    resp = await call(gateway, PRICE)
    assert resp.status_code == 200, resp.text
    assert resp.json()["current"]["weather"][0]["description"] == "light rain"
    assert resp.headers["x-vox-receipt"]
    assert read_best(tmp_path / LOG_NAME)[CH].amount == PRICE
    assert gateway.stats.earned == PRICE


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [("slow", 503, "engine_unavailable"), ("garbage", 502, "upstream_bad_answer")],
)
async def test_invalid_upstream_charges_nothing(
    gateway: Gateway, upstream: LocalUpstream, tmp_path: Path, mode: str, status: int, code: str
) -> None:
    upstream.state.mode, upstream.state.delay = mode, 2.0
    resp = await call(gateway, PRICE)
    assert resp.status_code == status and resp.json()["error"]["code"] == code
    assert KEY not in resp.text
    # Nothing held, earned or reserved: the payer's voucher for this amount is still unspent
    assert read_best(tmp_path / LOG_NAME) == {}
    assert gateway.stats.earned == 0 and gateway.stats.served == 0
    assert gateway.accepted.get(CH, 0) == 0
    upstream.state.mode = "ok"
    resp = await call(gateway, PRICE)
    assert resp.status_code == 200
    assert gateway.stats.earned == PRICE


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"lat": 100, "lon": 0}', 400, "bad_request"),
        (b'{"lat": 1, "lon": 1, "lang": "xx"}', 400, "unsupported_language"),
        (b"{" + b" " * 20_000 + b"}", 413, "too_large"),
    ],
)
async def test_invalid_request_charges_nothing(
    gateway: Gateway, upstream: LocalUpstream, tmp_path: Path, body: bytes, status: int, code: str
) -> None:
    upstream.state.requests.clear()
    resp = await call(gateway, PRICE, body)
    assert resp.status_code == status and resp.json()["error"]["code"] == code
    assert read_best(tmp_path / LOG_NAME) == {}
    assert gateway.accepted.get(CH, 0) == 0 and upstream.state.requests == []
