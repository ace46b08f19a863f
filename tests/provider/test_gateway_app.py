"""The gateway's rules in process: every payment problem gets its 402 code and changes nothing,
concurrent calls on one channel are never both accepted against the same best amount, a failed
engine gives the reservation back, and the node being away is served through within the margin.

The channel view reads from a small in-process table here (the node-backed view is exercised by
tests/provider/test_gateway.py against a real node); the ledger, engine and app are the real ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey

from voxpop.crypto.vouchers import Receipt, sign_voucher
from voxpop.provider.engines import EngineUnavailableError, Prepared
from voxpop.provider.engines.echo import EchoEngine
from voxpop.provider.ledger import LOG_NAME, VoucherLedger, read_best
from voxpop.provider.server import Gateway, GatewayIdentity
from voxpop.provider.view import (
    MAX_PENDING_LOADS,
    ChannelInfo,
    ChannelView,
    Fetched,
    ViewUnavailableError,
)

CHAIN = "voxpop-test"
PROVIDER = bytes([7]) * 20
OTHER = bytes([8]) * 20
PAYER = bytes([9]) * 20
PRICE = 100
VOUCHER_KEY = SigningKey(bytes([21]) * 32)
RESPONSE_KEY = SigningKey(bytes([22]) * 32)
CH = bytes([1]) * 32
CH_OTHER_PAYEE = bytes([2]) * 32
CH_SETTLING = bytes([3]) * 32
BODY = b'{"q":"hello"}'


class Chain:
    """What the fake node knows: channels by id, and whether it answers at all."""

    def __init__(self) -> None:
        self.channels: dict[bytes, ChannelInfo] = {}
        self.up = True
        self.now = 1_000_000.0
        self.reads = 0
        self.gate: asyncio.Event | None = None  # set: reads wait for it (a slow node)

    async def fetch(self, channel_id: bytes) -> Fetched:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        if not self.up:
            raise ViewUnavailableError("node down")
        return Fetched(self.channels.get(channel_id), 5)


def channel(channel_id: bytes, payee: bytes = PROVIDER, **changes: int) -> ChannelInfo:
    info = ChannelInfo(channel_id, PAYER, payee, bytes(VOUCHER_KEY.verify_key), 10_000, 0, 0, 1)
    return replace(info, **changes)


class FlakyEcho(EchoEngine):
    def __init__(self) -> None:
        super().__init__("echo")
        self.fail = False

    async def run(self, prepared: Prepared) -> bytes:
        if self.fail:
            raise EngineUnavailableError("engine down")
        return await super().run(prepared)


@pytest.fixture
def chain() -> Chain:
    c = Chain()
    c.channels[CH] = channel(CH)
    c.channels[CH_OTHER_PAYEE] = channel(CH_OTHER_PAYEE, payee=OTHER)
    c.channels[CH_SETTLING] = channel(CH_SETTLING, settle_at=int(c.now) + 300)
    return c


@pytest.fixture
async def gateway(tmp_path: Path, chain: Chain) -> AsyncIterator[Gateway]:
    view = ChannelView(chain.fetch, clock=lambda: chain.now)
    identity = GatewayIdentity(CHAIN, PROVIDER, "vox1provider", "echo", PRICE, "http://x")
    gw = Gateway(
        identity,
        FlakyEcho(),
        view,
        lambda: VoucherLedger.open(tmp_path),
        RESPONSE_KEY,
        bench_unpaid=True,
    )
    await gw.start()
    yield gw
    await gw.stop()


def client(gw: Gateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=gw), base_url="http://gw")


def pay(
    channel_id: bytes, amount: int, key: SigningKey = VOUCHER_KEY, chain_id: str = CHAIN
) -> dict[str, str]:
    v = sign_voucher(key, chain_id, channel_id, amount)
    return {
        "X-Vox-Channel": channel_id.hex(),
        "X-Vox-Amount": str(amount),
        "X-Vox-Voucher": v.signature.hex(),
    }


async def call(gw: Gateway, headers: dict[str, str], body: bytes = BODY) -> httpx.Response:
    async with client(gw) as c:
        return await c.post("/v1/echo", content=body, headers=headers)


def error(resp: httpx.Response) -> dict[str, object]:
    value = resp.json()["error"]
    assert isinstance(value, dict)
    return value


async def test_paid_call_signed_receipt(gateway: Gateway, tmp_path: Path) -> None:
    resp = await call(gateway, pay(CH, PRICE))
    assert resp.status_code == 200 and resp.content == BODY
    assert resp.headers["x-vox-amount"] == str(PRICE)
    receipt = Receipt(
        CH,
        hashlib.sha256(BODY).digest(),
        hashlib.sha256(resp.content).digest(),
        PRICE,
        bytes.fromhex(resp.headers["x-vox-receipt"]),
    )
    assert receipt.verify(CHAIN, bytes(RESPONSE_KEY.verify_key))
    # Durable before the answer: the log on disk already holds it
    assert read_best(tmp_path / LOG_NAME)[CH].amount == PRICE
    resp = await call(gateway, pay(CH, 3 * PRICE))  # paying ahead is allowed
    assert resp.status_code == 200
    assert gateway.stats.served == 2 and gateway.stats.earned == 3 * PRICE


async def test_offer(gateway: Gateway) -> None:
    async with client(gateway) as c:
        offer = (await c.get("/v1/offer")).json()
    assert offer["price"] == PRICE and offer["unit"] == "call" and offer["chain_id"] == CHAIN
    assert offer["signing_key"] == bytes(RESPONSE_KEY.verify_key).hex()


@pytest.mark.parametrize(
    ("headers", "code", "status"),
    [
        ({}, "payment_required", 402),
        ("unknown", "unknown_channel", 402),
        ("other_payee", "wrong_payee", 402),
        ("settling", "channel_closing", 402),
        ("forged", "voucher_invalid", 402),
        ("other_chain", "voucher_invalid", 402),
        ("underpaid", "underpaid", 402),
        ("over_deposit", "over_deposit", 402),
        ("bad_hex", "bad_request", 400),
        ("partial", "bad_request", 400),
        ("negative", "bad_request", 400),
    ],
)
async def test_invalid_payment(
    gateway: Gateway, tmp_path: Path, headers: object, code: str, status: int
) -> None:
    cases: dict[str, dict[str, str]] = {
        "unknown": pay(bytes([5]) * 32, PRICE),
        "other_payee": pay(CH_OTHER_PAYEE, PRICE),
        "settling": pay(CH_SETTLING, PRICE),
        "forged": pay(CH, PRICE, key=SigningKey(bytes([99]) * 32)),
        "other_chain": pay(CH, PRICE, chain_id="voxpop-other"),
        "underpaid": pay(CH, PRICE - 1),
        "over_deposit": pay(CH, 10_001),
        "bad_hex": {**pay(CH, PRICE), "X-Vox-Channel": "zz" * 32},
        "partial": {"X-Vox-Channel": CH.hex()},
        "negative": {**pay(CH, PRICE), "X-Vox-Amount": "-100"},
    }
    sent = cases[headers] if isinstance(headers, str) else {}
    resp = await call(gateway, sent)
    assert resp.status_code == status, resp.text
    err = error(resp)
    assert err["code"] == code
    assert err["price"] == PRICE
    if status == 402 and code != "payment_required":
        assert err["amount_needed"] == PRICE and err["accepted"] == 0
    # Nothing changed: no voucher held, none accepted, nothing served
    assert read_best(tmp_path / LOG_NAME) == {}
    assert gateway.accepted.get(CH, 0) == 0 and gateway.stats.served == 0


async def test_invalid_replay_is_stale(gateway: Gateway) -> None:
    headers = pay(CH, PRICE)
    assert (await call(gateway, headers)).status_code == 200
    resp = await call(gateway, headers)
    assert resp.status_code == 402
    err = error(resp)
    assert err["code"] == "voucher_stale" and err["accepted"] == PRICE
    assert err["amount_needed"] == 2 * PRICE
    # An increment under the price after the first call
    resp = await call(gateway, pay(CH, 2 * PRICE - 1))
    assert error(resp)["code"] == "underpaid" and gateway.stats.served == 1


async def test_invalid_voucher_below_claimed(gateway: Gateway, chain: Chain) -> None:
    # The chain already paid 500 on this channel (e.g. before a restart): a voucher must beat that
    chain.channels[CH] = channel(CH, claimed=500)
    resp = await call(gateway, pay(CH, 400))
    assert error(resp)["code"] == "voucher_stale" and error(resp)["accepted"] == 500
    assert (await call(gateway, pay(CH, 600))).status_code == 200


async def test_concurrent_calls_on_one_channel(gateway: Gateway) -> None:
    # Ten calls carrying the same voucher at once: exactly one is paid by it
    headers = pay(CH, PRICE)
    async with client(gateway) as c:
        answers = await asyncio.gather(
            *(c.post("/v1/echo", content=BODY, headers=headers) for _ in range(10))
        )
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [402] * 9
    assert gateway.stats.served == 1 and gateway.stats.earned == PRICE


async def test_engine_failure_gives_reservation_back(gateway: Gateway, tmp_path: Path) -> None:
    engine = gateway.engine
    assert isinstance(engine, FlakyEcho)
    engine.fail = True
    resp = await call(gateway, pay(CH, PRICE))
    assert resp.status_code == 503 and error(resp)["code"] == "engine_unavailable"
    assert gateway.accepted[CH] == 0 and read_best(tmp_path / LOG_NAME) == {}
    engine.fail = False
    assert (await call(gateway, pay(CH, PRICE))).status_code == 200


async def test_invalid_bodies(gateway: Gateway) -> None:
    resp = await call(gateway, pay(CH, PRICE), body=b"not json")
    assert resp.status_code == 400 and error(resp)["code"] == "bad_request"
    resp = await call(gateway, pay(CH, PRICE), body=b"[" + b"1," * 40_000 + b"1]")
    assert resp.status_code == 413 and error(resp)["code"] == "too_large"
    assert gateway.stats.served == 0 and gateway.accepted.get(CH, 0) == 0


async def test_top_up_is_seen(gateway: Gateway, chain: Chain) -> None:
    assert (await call(gateway, pay(CH, PRICE))).status_code == 200
    chain.channels[CH] = channel(CH, deposit=20_000)
    # The view re-reads the channel (at most once a second) before calling it over deposit
    chain.now += 2
    assert (await call(gateway, pay(CH, 15_000))).status_code == 200


async def test_node_away_serves_from_last_view_within_margin(
    gateway: Gateway, chain: Chain
) -> None:
    assert (await call(gateway, pay(CH, PRICE))).status_code == 200
    chain.up = False
    chain.now += 60
    # A channel never seen cannot be served without the node
    resp = await call(gateway, pay(bytes([6]) * 32, PRICE))
    assert resp.status_code == 503 and error(resp)["code"] == "node_unreachable"
    # A known open channel is served from the last verified view...
    assert (await call(gateway, pay(CH, 2 * PRICE))).status_code == 200
    assert gateway.view.servable_from_old_view()
    # ...but not once the view is within the margin of the shortest settle window
    chain.now += 3_600
    resp = await call(gateway, pay(CH, 3 * PRICE))
    assert error(resp)["code"] == "channel_closing"


async def test_unpaid_route(gateway: Gateway) -> None:
    async with client(gateway) as c:
        resp = await c.post("/v1/unpaid/echo", content=BODY)
    assert resp.status_code == 200 and resp.content == BODY
    assert gateway.stats.served_unpaid == 1


async def test_unpaid_route_off_by_default(tmp_path: Path, chain: Chain) -> None:
    identity = GatewayIdentity(CHAIN, PROVIDER, "vox1provider", "echo", PRICE, "http://x")
    gw = Gateway(
        identity,
        EchoEngine(),
        ChannelView(chain.fetch),
        lambda: VoucherLedger.open(tmp_path),
        RESPONSE_KEY,
    )
    await gw.start()
    async with client(gw) as c:
        resp = await c.post("/v1/unpaid/echo", content=BODY)
    await gw.stop()
    assert resp.status_code == 404 and json.loads(resp.content)["error"]["code"] == "not_found"


async def test_restart_refuses_replay(tmp_path: Path, chain: Chain) -> None:
    def make() -> Gateway:
        identity = GatewayIdentity(CHAIN, PROVIDER, "vox1provider", "echo", PRICE, "http://x")
        view = ChannelView(chain.fetch, clock=lambda: chain.now)
        return Gateway(
            identity, EchoEngine(), view, lambda: VoucherLedger.open(tmp_path), RESPONSE_KEY
        )

    first = make()
    await first.start()
    assert (await call(first, pay(CH, PRICE))).status_code == 200
    await first.stop()
    second = make()
    await second.start()
    resp = await call(second, pay(CH, PRICE))
    await second.stop()
    assert error(resp)["code"] == "voucher_stale"


async def test_invalid_channel_ended(gateway: Gateway, chain: Chain) -> None:
    assert (await call(gateway, pay(CH, PRICE))).status_code == 200
    # The payee's close or the payer's collect removed the channel from the chain
    del chain.channels[CH]
    await gateway.view.refresh_all()
    resp = await call(gateway, pay(CH, 2 * PRICE))
    assert resp.status_code == 402 and error(resp)["code"] == "channel_closing"
    assert gateway.stats.served == 1


async def test_unknown_ids_are_bounded(gateway: Gateway, chain: Chain, tmp_path: Path) -> None:
    # Made-up channel ids: each read once within its TTL, none kept among the known channels
    for i in range(20):
        resp = await call(gateway, pay(bytes([200, i]) * 16, PRICE))
        assert error(resp)["code"] == "unknown_channel"
    reads = chain.reads
    resp = await call(gateway, pay(bytes([200, 0]) * 16, PRICE))
    assert error(resp)["code"] == "unknown_channel" and chain.reads == reads  # cached
    assert all(entry.info is not None for entry in gateway.view.entries.values())
    assert read_best(tmp_path / LOG_NAME) == {}


async def test_flood_of_lookups_is_refused(gateway: Gateway, chain: Chain) -> None:
    chain.gate = asyncio.Event()
    async with client(gateway) as c:
        calls = [
            asyncio.ensure_future(
                c.post("/v1/echo", content=BODY, headers=pay(bytes([201, i]) * 16, PRICE))
            )
            for i in range(MAX_PENDING_LOADS + 10)
        ]
        # The gate opens only once the 10 over the bound were refused (slow on a loaded machine:
        # opened early, reads would end and make room for calls that were to be refused)
        deadline = time.monotonic() + 30
        while sum(call.done() for call in calls) < 10:
            assert time.monotonic() < deadline, [c.result() for c in calls if c.done()]
            await asyncio.sleep(0.01)
        chain.gate.set()
        answers = await asyncio.gather(*calls)
    codes = sorted(error(r)["code"] for r in answers)  # type: ignore[type-var]
    assert codes.count("busy") == 10 and codes.count("unknown_channel") == MAX_PENDING_LOADS
    assert chain.reads == MAX_PENDING_LOADS
