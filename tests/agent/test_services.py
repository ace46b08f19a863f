"""Paid services, email and metrics through the agent, against a real solo node and real provider
processes (started as an operator starts them), paid from the owner's account through channels
the agent opens under the owner's grant, vouchers signed by the agent key.

The market (one node for the module):
    stt          pocketsphinx in grammar mode, 1,000 uvox per started 10 s
    geolocation  places (offline), 2 uvox
    weather      openweathermap on a local upstream, 3 uvox
    knowledge    wolframalpha on a local upstream, 4 uvox
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.agent.ovos_env import run_ovos, write_identity
from tests.support.agent_app import bearer, local_agent
from tests.support.upstream_provider import start_upstream_provider
from voxpop.agent.agent import Agent
from voxpop.agent.config import OptIns, PaymentSettings
from voxpop.agent.provision import provision_agent
from voxpop.agent.routes.services import METRICS_NS, full_results_xml, stored_metrics
from voxpop.agent.tokens import Login
from voxpop.chain.modules.services.messages import MsgRegister
from voxpop.client import VoxClient
from voxpop.client.devices import OwnerDevices
from voxpop.client.testing import LocalNode, free_port
from voxpop.crypto import Keyring, PrivateKey, encode_address
from voxpop.provider.engines.local_upstreams import LocalUpstream, weather_at
from voxpop.provider.keys import response_public_key
from voxpop.provider.testing import LocalProvider

pytestmark = pytest.mark.slow

FUNDS = 10**13
STAKE = 1_000_000_000
GAS = 300_000
UPSTREAM_KEY = "upstream-secret-key"
FAST = ["--claim-interval", "0.2", "--refresh-interval", "0.5"]
GRAMMAR = """#JSGF V1.0;
grammar assistant;
public <command> = what is the weather in london | tell me a joke | set a timer for five minutes;
"""
PRICES = {"stt": 1_000, "geolocation": 2, "weather": 3, "knowledge": 4}


def key(n: int) -> PrivateKey:
    return PrivateKey(bytes([n]) * 32)


OWNER, AGENT = key(150), key(151)
PROVIDERS = {"stt": key(152), "geolocation": key(153), "weather": key(154), "knowledge": key(155)}
needs_speech = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox make the test speech (make test installs them)",
)


@dataclass
class Market:
    node: LocalNode
    providers: dict[str, LocalProvider]
    upstream: LocalUpstream
    root: Path


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
    root = tmp_path_factory.mktemp("agent-services")
    key_file = root / "upstream.key"
    key_file.write_text(UPSTREAM_KEY)
    grammar = root / "assistant.gram"
    grammar.write_text(GRAMMAR)
    accounts = [OWNER, AGENT, *PROVIDERS.values()]
    funds = {encode_address(k.public_key.address): FUNDS for k in accounts}
    upstream = LocalUpstream.start(key=UPSTREAM_KEY)

    def options(url: str) -> dict[str, str]:
        return {"upstream": url, "key_file": str(key_file)}

    plan: dict[str, tuple[str, list[str], dict[str, str] | None]] = {
        "stt": ("pocketsphinx", ["--grammar", str(grammar)], None),
        "geolocation": ("places", [], None),
        "weather": ("openweathermap", [], options(upstream.weather_url)),
        "knowledge": ("wolframalpha", [], options(upstream.knowledge_url)),
    }
    providers: dict[str, LocalProvider] = {}
    with LocalNode.start(root / "node", funds=funds) as node:
        try:
            with VoxClient(node.url) as vox:
                # The owner publishes its directory keys (the inbox seals to them) and
                # authorizes the agent: grants, daily caps, a fee allowance, the settings key
                provision_agent(vox, OWNER, AGENT)
                for kind, (engine, extra, engine_options) in plan.items():
                    account = PROVIDERS[kind]
                    port = free_port()
                    register(vox, account, kind, port, PRICES[kind])
                    home = root / kind
                    if engine_options is not None:
                        providers[kind] = start_upstream_provider(
                            home,
                            account,
                            node_url=node.url,
                            kind=kind,
                            engine=engine,
                            options=engine_options,
                            port=port,
                        )
                        continue
                    Keyring(home / "keyring", "test").import_seed("provider", account.seed)
                    providers[kind] = LocalProvider.start(
                        home,
                        node_url=node.url,
                        kind=kind,
                        engine=engine,
                        port=port,
                        extra=[*FAST, *extra],
                        timeout=60,
                    )
            yield Market(node, providers, upstream, root)
        finally:
            for provider in providers.values():
                provider.stop()
            upstream.stop()


@pytest.fixture
def served(market: Market, tmp_path: Path) -> Iterator[tuple[Agent, httpx.Client, Login]]:
    with local_agent(
        tmp_path / "agent",
        owner=OWNER.public_key.address,
        agent_key=AGENT,
        chain_id=market.node.chain_id,
        nodes=[market.node.url],
        opt_in=OptIns(metrics=True, skill_usage=False),
        payments=PaymentSettings(deposit=100_000, top_up_below=2_000, top_up_amount=100_000),
    ) as served:
        yield served


def keys_of(value: object) -> list[str]:
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in [k, *keys_of(v)]]
    if isinstance(value, list):
        return [k for v in value for k in keys_of(v)]
    return []


def speech(tmp_path: Path, text: str) -> bytes:
    wav, flac = tmp_path / "s.wav", tmp_path / "s.flac"
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True)
    subprocess.run(["sox", str(wav), "-r", "16000", "-c", "1", str(flac)], check=True)
    return flac.read_bytes()


@needs_speech
def test_stt_transcribes_through_a_paid_provider(
    served: tuple[Agent, httpx.Client, Login], tmp_path: Path
) -> None:
    agent, http, login = served
    audio = speech(tmp_path, "what is the weather in london")
    headers = {**bearer(login), "Content-Type": "audio/x-flac"}
    resp = http.post(
        "/v1/stt", params={"lang": "en-us", "limit": 1}, content=audio, headers=headers
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == ["what is the weather in london"]
    # Paid from the owner's channel, with a receipt the agent verified
    receipts = agent.chain.payer.receipts(PROVIDERS["stt"].public_key.address)
    assert [r.cost for r in receipts] == [PRICES["stt"]]
    assert (
        agent.chain.payer.ledger.open_channel_to(
            OWNER.public_key.address, PROVIDERS["stt"].public_key.address, AGENT.public_key.raw
        )
        is not None
    )


@needs_speech
def test_transcribe_as_the_mark_ii_calls_it(
    served: tuple[Agent, httpx.Client, Login], tmp_path: Path
) -> None:
    _, http, login = served
    audio = speech(tmp_path, "tell me a joke")
    resp = http.post("/v1/transcribe", content=audio, headers=bearer(login))
    assert resp.status_code == 200 and resp.json() == {"transcription": "tell me a joke"}


def test_weather_onecall_in_camel_case(served: tuple[Agent, httpx.Client, Login]) -> None:
    _, http, login = served
    params = {"lat": 51.5085, "lon": -0.1257, "units": "metric", "lang": "en"}
    resp = http.get("/v1/owm/onecall", params=params, headers=bearer(login))
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert doc["current"]["temp"] == weather_at(51.5085, -0.1257)["temp"]
    # Selene's camelCase: feels_like → feelsLike, timezone_offset → timezoneOffset
    assert doc["timezoneOffset"] == 0 and "feelsLike" in doc["current"]
    assert "_" not in "".join(keys_of(doc))
    for path in ("weather", "forecast", "forecast/daily"):
        other = http.get(f"/v1/owm/{path}", params=params, headers=bearer(login))
        assert other.status_code == 200, (path, other.text)


def test_knowledge_spoken_simple_full_and_xml(served: tuple[Agent, httpx.Client, Login]) -> None:
    agent, http, login = served
    q = {"i": "what is the capital of France", "units": "metric", "geolocation": "51.5,-0.12"}
    spoken = http.get("/v1/wolframAlphaSpoken", params=q, headers=bearer(login))
    assert spoken.status_code == 200 and spoken.text == "The capital of France is Paris"
    simple = http.get("/v1/wolframAlphaSimple", params=q, headers=bearer(login))
    assert simple.status_code == 200 and simple.text == "Paris"
    full = http.get("/v1/wolframAlphaFull", params={"input": q["i"]}, headers=bearer(login))
    assert full.status_code == 200 and full.json()["queryresult"]["success"] is True
    xml = http.get("/v1/wa", params={"i": q["i"]}, headers=bearer(login))
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("text/xml")
    assert b"<plaintext>Paris</plaintext>" in xml.content
    costs = [r.cost for r in agent.chain.payer.receipts(PROVIDERS["knowledge"].public_key.address)]
    assert costs == [PRICES["knowledge"]] * 4


def test_knowledge_no_answer_is_wolframs_501(served: tuple[Agent, httpx.Client, Login]) -> None:
    agent, http, login = served
    q = {"i": "what is the airspeed of an unladen swallow"}
    resp = http.get("/v1/wolframAlphaSpoken", params=q, headers=bearer(login))
    assert resp.status_code == 501
    # An engine's "no answer" is not charged
    assert agent.chain.payer.receipts(PROVIDERS["knowledge"].public_key.address) == []


def test_geolocation_has_the_coordinate_clients_read(
    served: tuple[Agent, httpx.Client, Login],
) -> None:
    _, http, login = served
    resp = http.get("/v1/geolocation", params={"location": "London"}, headers=bearer(login))
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["coordinate"] == {"latitude": 51.50853, "longitude": -0.12574}
    assert data["timezone"]["code"] == "Europe/London"
    assert data["city"]["state"]["country"]["code"] == "GB"


def test_email_lands_sealed_in_the_owners_inbox(
    served: tuple[Agent, httpx.Client, Login], market: Market
) -> None:
    _, http, login = served
    mail = {"title": "Timer", "sender": "skill-timer", "body": "Your pasta is ready."}
    resp = http.put(f"/v1/device/{login.uuid}/message", json=mail, headers=bearer(login))
    assert resp.status_code == 200, resp.text
    assert resp.json()["success"] is True
    with VoxClient(market.node.url) as vox:
        items = OwnerDevices(vox, OWNER).inbox()
    texts = [i.plaintext.decode() for i in items if i.plaintext is not None]
    assert any("Subject: Timer" in t and "Your pasta is ready." in t for t in texts)
    # Sealed: the chain holds no plaintext of it
    assert all(b"pasta" not in i.message.ciphertext for i in items)


def test_metrics_kept_locally_when_opted_in(served: tuple[Agent, httpx.Client, Login]) -> None:
    agent, http, login = served
    data = {"id": "abc", "system": "skill_handler", "skill_id": "skill-timer", "time": 0.2}
    resp = http.post(f"/v1/device/{login.uuid}/metric/timing", json=data, headers=bearer(login))
    assert resp.status_code == 200
    assert resp.json() == {
        "success": True,
        "uuid": login.uuid,
        "metric": "timing",
        "saved": True,
        "counted": False,  # skill usage not opted in
    }
    assert [m["data"] for m in stored_metrics(agent, login.uuid)] == [data]


def test_metrics_not_kept_without_the_opt_in(tmp_path: Path) -> None:
    with local_agent(tmp_path / "agent", owner=OWNER.public_key.address, agent_key=AGENT) as (
        agent,
        http,
        login,
    ):
        resp = http.post(
            f"/v1/device/{login.uuid}/metric/timing", json={"x": 1}, headers=bearer(login)
        )
        assert resp.status_code == 200 and resp.json()["saved"] is False
        assert agent.store.items(METRICS_NS) == []


def test_invalid_requests_are_refused_before_paying(
    served: tuple[Agent, httpx.Client, Login],
) -> None:
    agent, http, login = served
    h = bearer(login)
    assert http.post("/v1/stt", content=b"", headers=h).json()["error"] == "bad_audio"
    garbage = http.post("/v1/stt", content=b"not audio at all", headers=h)
    assert garbage.status_code == 400 and garbage.json()["error"] == "bad_audio"
    assert http.get("/v1/owm/nowhere", params={"lat": 1, "lon": 1}, headers=h).status_code == 404
    assert http.get("/v1/geolocation", headers=h).status_code == 400
    assert http.get("/v1/wolframAlphaSpoken", headers=h).status_code == 400
    too_long = http.get("/v1/geolocation", params={"location": "x" * 300}, headers=h)
    assert too_long.status_code == 400
    bad_mail = http.put(f"/v1/device/{login.uuid}/message", json={"title": 1}, headers=h)
    assert bad_mail.status_code == 400 and bad_mail.json()["error"] == "bad_request"
    big_mail = {"title": "t", "sender": "s", "body": "x" * 5_000}
    big = http.put(f"/v1/device/{login.uuid}/message", json=big_mail, headers=h)
    assert big.status_code == 413
    bad_metric = http.post(f"/v1/device/{login.uuid}/metric/x", content=b"{", headers=h)
    assert bad_metric.status_code == 400
    assert agent.chain.payer.receipts() == []


def test_invalid_tokens_get_a_plain_401(served: tuple[Agent, httpx.Client, Login]) -> None:
    _, http, login = served
    wrong = {"Authorization": "Bearer not-a-token"}
    for method, path in [
        ("POST", "/v1/stt"),
        ("POST", "/v1/transcribe"),
        ("GET", "/v1/owm/onecall"),
        ("GET", "/v1/wolframAlphaSpoken?i=x"),
        ("GET", "/v1/geolocation?location=London"),
        ("PUT", f"/v1/device/{login.uuid}/message"),
        ("POST", f"/v1/device/{login.uuid}/metric/timing"),
    ]:
        resp = http.request(method, path, headers=wrong)
        assert resp.status_code == 401, path
        assert resp.headers["content-type"].startswith("text/plain"), path
    # Another device's uuid with a good token
    other = http.put(
        "/v1/device/00000000-0000-0000-0000-000000000000/message",
        json={"title": "t", "sender": "s", "body": "b"},
        headers=bearer(login),
    )
    assert other.status_code == 401


def test_full_results_xml_escapes_text() -> None:
    doc = {
        "queryresult": {
            "success": True,
            "pods": [{"title": "<R>", "subpods": [{"plaintext": "a & b"}]}],
        }
    }
    xml = full_results_xml(doc)
    assert b"a &amp; b" in xml and b'title="&lt;R&gt;"' in xml


@needs_speech
def test_ovos_backend_client_uses_the_paid_services_unchanged(
    served: tuple[Agent, httpx.Client, Login], market: Market, tmp_path: Path
) -> None:
    """The real ovos-backend-client 1.0.1 (its own venv): STTApi with espeak-ng speech,
    WolframAlphaApi, OpenWeatherMapApi, GeolocationApi, EmailApi and MetricsApi."""
    _agent, http, login = served
    device_home = tmp_path / "device"
    write_identity(device_home, login.to_json())
    flac = tmp_path / "speech.flac"
    flac.write_bytes(speech(tmp_path, "set a timer for five minutes"))
    result = run_ovos(
        device_home,
        str(http.base_url).rstrip("/"),
        f"""
        from ovos_backend_client.api import (EmailApi, GeolocationApi, MetricsApi,
            OpenWeatherMapApi, STTApi, WolframAlphaApi)
        audio = open({str(flac)!r}, "rb").read()
        out = {{"stt": STTApi(URL).stt(audio, "en-us", 1)}}
        wolfram = WolframAlphaApi(URL)
        here = (51.5, -0.12)
        out["spoken"] = wolfram.spoken("what is the capital of France", lat_lon=here)
        out["simple"] = wolfram.simple("what is the capital of France", lat_lon=here)
        full = wolfram.full_results("what is the capital of France", lat_lon=here)
        out["full"] = full["queryresult"]["success"]
        owm = OpenWeatherMapApi(URL)
        out["onecall"] = owm.get_weather(lat_lon=(51.5085, -0.1257), lang="en-us")["current"]
        out["daily"] = len(owm.get_daily(lat_lon=(51.5085, -0.1257))["list"])
        place = GeolocationApi(URL).get_geolocation("London")
        out["coordinate"] = place["coordinate"]
        out["email"] = EmailApi(URL).send_email("Hello", "from a device", "skill-hello")
        metric = MetricsApi(URL).report_metric(
            "timing", {{"id": "x", "system": "skill_handler", "skill_id": "skill-hello"}})
        out["metric"] = [metric.status_code, metric.json()]
        emit(out)
        """,
    )
    assert result["stt"] == ["set a timer for five minutes"]
    assert result["spoken"] == "The capital of France is Paris"
    assert result["simple"] == "Paris"
    assert result["full"] is True
    assert result["onecall"]["temp"] == weather_at(51.5085, -0.1257)["temp"]
    assert result["daily"] > 0
    assert result["coordinate"] == {"latitude": 51.50853, "longitude": -0.12574}
    assert result["email"]["success"] is True
    assert result["metric"][0] == 200 and result["metric"][1]["saved"] is True
    with VoxClient(market.node.url) as vox:
        texts = [i.plaintext or b"" for i in OwnerDevices(vox, OWNER).inbox()]
    assert any(b"from a device" in t for t in texts)


def test_knowledge_without_a_device_location(served: tuple[Agent, httpx.Client, Login]) -> None:
    """ovos-backend-client sends geolocation "None,None" when the device has no location."""
    _, http, login = served
    q = {"i": "what is the capital of France", "geolocation": "None,None"}
    resp = http.get("/v1/wolframAlphaSpoken", params=q, headers=bearer(login))
    assert resp.status_code == 200 and resp.text == "The capital of France is Paris"


def test_weather_without_coordinates_uses_the_owners_location(
    served: tuple[Agent, httpx.Client, Login],
) -> None:
    agent, http, login = served
    h = bearer(login)
    # No location set yet: a clear 400, nothing paid
    before = len(agent.chain.payer.receipts())
    resp = http.get("/v1/owm/weather", params={"lat": "None", "lon": "None"}, headers=h)
    assert resp.status_code == 400 and resp.json()["error"] == "bad_request"
    assert len(agent.chain.payer.receipts()) == before
    # The owner's location record (what /device/{uuid}/location serves)
    location = {
        "city": "Paris",
        "latitude": 48.85341,
        "longitude": 2.3488,
        "timezone": "Europe/Paris",
    }
    agent.chain.put_record("location", json.dumps(location).encode())
    served_location = http.get(f"/v1/device/{login.uuid}/location", headers=h)
    assert served_location.status_code == 200, served_location.text
    coordinate = served_location.json()["coordinate"]
    resp = http.get("/v1/owm/weather", params={"units": "metric"}, headers=h)
    assert resp.status_code == 200, resp.text
    expected = weather_at(coordinate["latitude"], coordinate["longitude"])["temp"]
    assert resp.json()["main"]["temp"] == expected
