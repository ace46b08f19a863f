"""Paying for each service kind's real engine, end to end: a real solo node, real provider
processes started as an operator starts them (`voxpop provider start --engine ...`), local
OpenWeatherMap and Wolfram Alpha servers, and the paying client finding the providers through
their proven offers and paying each call with a voucher.

The market (one node for the module):
    stt          ovos:ovos-stt-plugin-pocketsphinx (loaded through ovos-plugin-manager), 1,000 uvox
    geolocation  places (offline), 2 uvox
    weather      BROKEN (1 uvox: its upstream answers garbage), OWM (3 uvox: a good upstream)
    knowledge    wolframalpha, 4 uvox
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from voxpop.chain.modules.services.messages import MsgRegister
from voxpop.client import VoxClient
from voxpop.client.payments import Ledger, PayingClient, Policy
from voxpop.client.testing import LocalNode, free_port
from voxpop.crypto import Keyring, PrivateKey, encode_address
from voxpop.provider.engines.local_upstreams import LocalUpstream, weather_at
from voxpop.provider.keys import response_public_key
from voxpop.provider.testing import LocalProvider

pytestmark = pytest.mark.slow

FUNDS = 10**13
STAKE = 1_000_000_000  # the services module's default min_stake
GAS = 300_000
KEY = "upstream-secret-key"
FAST = ["--claim-interval", "0.2", "--refresh-interval", "0.5"]


def key(n: int) -> PrivateKey:
    return PrivateKey(bytes([n]) * 32)


STT, GEO, BROKEN, OWM, WOLFRAM = (key(n) for n in range(120, 125))
PAYER = key(130)


@dataclass
class Market:
    node: LocalNode
    providers: dict[str, LocalProvider]
    upstream: LocalUpstream
    broken: LocalUpstream


def register(vox: VoxClient, account: PrivateKey, kind: str, port: int, price: int) -> None:
    msg = MsgRegister(
        provider=account.public_key.address,
        kind=kind,
        endpoint=f"http://127.0.0.1:{port}",
        price=price,
        languages=("en-us",),
        signing_key=response_public_key(account),
        stake=STAKE,
    )
    result = vox.execute(account, [msg], gas_limit=GAS)
    assert result.code == 0, result.log


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    root = tmp_path_factory.mktemp("engines")
    key_file = root / "upstream.key"
    key_file.write_text(KEY)
    accounts = [STT, GEO, BROKEN, OWM, WOLFRAM, PAYER]
    funds = {encode_address(k.public_key.address): FUNDS for k in accounts}
    upstream = LocalUpstream.start(key=KEY)
    broken = LocalUpstream.start(key=KEY)
    broken.state.mode = "garbage"

    def options(url: str) -> list[str]:
        return [
            *("--engine-option", f"upstream={url}"),
            *("--engine-option", f"key_file={key_file}"),
        ]

    plan: list[tuple[PrivateKey, str, str, int, list[str]]] = [
        (STT, "stt", "ovos:ovos-stt-plugin-pocketsphinx", 1_000, []),
        (GEO, "geolocation", "places", 2, []),
        (BROKEN, "weather", "openweathermap", 1, options(broken.weather_url)),
        (OWM, "weather", "openweathermap", 3, options(upstream.weather_url)),
        (WOLFRAM, "knowledge", "wolframalpha", 4, options(upstream.knowledge_url)),
    ]
    providers: dict[str, LocalProvider] = {}
    with LocalNode.start(root / "node", funds=funds) as node:
        try:
            with VoxClient(node.url) as vox:
                for account, kind, engine, price, extra in plan:
                    port = free_port()
                    register(vox, account, kind, port, price)
                    home = root / encode_address(account.public_key.address)
                    Keyring(home / "keyring", "test").import_seed("provider", account.seed)
                    providers[kind if account is not BROKEN else "broken"] = LocalProvider.start(
                        home,
                        node_url=node.url,
                        kind=kind,
                        engine=engine,
                        port=port,
                        extra=[*FAST, *extra],
                        timeout=60,
                    )
            yield Market(node, providers, upstream, broken)
        finally:
            for provider in providers.values():
                provider.stop()
            upstream.stop()
            broken.stop()


@pytest.fixture
def client(market: Market, tmp_path: Path) -> Iterator[PayingClient]:
    with VoxClient(market.node.url) as vox:
        policy = Policy(deposit=100_000, top_up_below=1_000, top_up_amount=100_000)
        with PayingClient(vox, PAYER, ledger=Ledger(tmp_path / "payer.db"), policy=policy) as c:
            yield c


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox make the test speech (make test installs them)",
)
def test_pay_for_an_ovos_plugin_transcription(client: PayingClient, tmp_path: Path) -> None:
    wav, flac = tmp_path / "s.wav", tmp_path / "s.flac"
    subprocess.run(["espeak-ng", "-w", str(wav), "what is the weather in london"], check=True)
    subprocess.run(["sox", str(wav), "-r", "16000", "-c", "1", str(flac)], check=True)
    answer = client.call("stt", flac.read_bytes(), content_type="audio/x-flac")
    doc = json.loads(answer.body)
    assert doc["engine"] == "ovos:ovos-stt-plugin-pocketsphinx"
    assert "london" in doc["text"].split()
    assert answer.provider == STT.public_key.address and answer.cost == 1_000


def test_pay_for_geolocation_of_london(client: PayingClient) -> None:
    answer = client.call("geolocation", b'{"location": "London"}')
    data = json.loads(answer.body)["data"]
    assert data["coordinate"] == {"latitude": 51.50853, "longitude": -0.12574}
    assert data["city"]["state"]["country"]["code"] == "GB"
    assert data["timezone"]["code"] == "Europe/London"
    assert answer.provider == GEO.public_key.address and answer.cost == 2


def test_pay_for_weather_past_a_provider_whose_upstream_fails(
    market: Market, client: PayingClient
) -> None:
    request = {"endpoint": "onecall", "lat": 51.5085, "lon": -0.1257, "lang": "en-us"}
    answer = client.call("weather", json.dumps(request).encode())
    doc = json.loads(answer.body)
    assert doc["current"]["temp"] == weather_at(51.5085, -0.1257)["temp"]
    # BROKEN is cheaper, so it was tried first: its upstream's garbage cost the payer nothing
    assert answer.provider == OWM.public_key.address and answer.cost == 3
    stats = client.selector.stats[BROKEN.public_key.address]
    assert stats.failures == 1 and "upstream_bad_answer" in stats.last_problem
    assert client.spent_today() == (3, {"weather": 3})
    assert market.providers["broken"].status()["earned"] == 0
    assert market.broken.state.requests and market.upstream.state.requests


def test_pay_for_knowledge(client: PayingClient) -> None:
    question = {"query": "what is the capital of France", "mode": "spoken"}
    answer = client.call("knowledge", json.dumps(question).encode())
    assert json.loads(answer.body) == {"answer": "The capital of France is Paris", "mode": "spoken"}
    full = client.call("knowledge", json.dumps({**question, "mode": "full"}).encode())
    assert json.loads(full.body)["queryresult"]["success"] is True
    assert [r.cost for r in client.receipts()] == [4, 4]
