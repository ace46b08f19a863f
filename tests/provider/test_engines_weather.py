"""The openweathermap engine against a real local server speaking the OpenWeatherMap API: each
endpoint's answer in the shape devices read, the provider's key sent and never logged, and every
way a request or an upstream can be bad, each with its stable code and no upstream call for a
bad request."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from voxpop.provider.engines import (
    BadRequestError,
    EngineError,
    EngineUnavailableError,
    make_engine,
)
from voxpop.provider.engines.errors import (
    NotFoundError,
    UnsupportedLanguageError,
    UpstreamBadAnswerError,
)
from voxpop.provider.engines.local_upstreams import LocalUpstream, weather_at
from voxpop.provider.engines.upstream import Upstream
from voxpop.provider.engines.weather import WeatherEngine

KEY = "owm-secret-key-123"
LONDON = {"lat": 51.5085, "lon": -0.1257}


@pytest.fixture(scope="module")
def upstream() -> Iterator[LocalUpstream]:
    with LocalUpstream.start(key=KEY) as up:
        yield up


@pytest.fixture
def engine(upstream: LocalUpstream) -> Iterator[WeatherEngine]:
    upstream.state.mode = "ok"
    upstream.state.requests.clear()
    yield WeatherEngine(Upstream(upstream.weather_url, KEY, timeout=0.5))
    upstream.state.mode = "ok"


def ask(engine: WeatherEngine, request: dict[str, Any]) -> Any:
    prepared = engine.prepare(json.dumps(request).encode(), "application/json", {})
    assert prepared.units == 1
    return json.loads(asyncio.run(engine.run(prepared)))


def test_onecall(engine: WeatherEngine, upstream: LocalUpstream) -> None:
    doc = ask(engine, {"endpoint": "onecall", **LONDON, "units": "metric", "lang": "en-us"})
    assert doc["current"]["temp"] == weather_at(LONDON["lat"], LONDON["lon"])["temp"]
    assert doc["current"]["weather"][0]["description"] == "light rain"
    assert len(doc["hourly"]) == 48 and len(doc["daily"]) == 8
    path, params = upstream.state.requests[-1]
    assert path == "/data/2.5/onecall"
    assert params == {
        "lat": "51.5085",
        "lon": "-0.1257",
        "units": "metric",
        "lang": "en",
        "appid": KEY,
    }


@pytest.mark.parametrize(
    ("endpoint", "path"),
    [
        ("current", "/data/2.5/weather"),
        ("weather", "/data/2.5/weather"),
        ("hourly", "/data/2.5/forecast"),
        ("forecast", "/data/2.5/forecast"),
        ("daily", "/data/2.5/forecast/daily"),
        ("forecast/daily", "/data/2.5/forecast/daily"),
    ],
)
def test_each_endpoint(
    engine: WeatherEngine, upstream: LocalUpstream, endpoint: str, path: str
) -> None:
    doc = ask(engine, {"endpoint": endpoint, "q": "London,GB", "units": "imperial"})
    assert upstream.state.requests[-1][0] == path
    if path.endswith("weather"):
        assert doc["name"] == "London" and doc["main"]["temp"] == weather_at(51.5085, 0)["temp"]
    else:
        assert len(doc["list"]) == 8


def test_language_passed_on(engine: WeatherEngine, upstream: LocalUpstream) -> None:
    doc = ask(engine, {**LONDON, "lang": "de-DE"})
    assert doc["current"]["weather"][0]["description"] == "leichter Regen"
    assert upstream.state.requests[-1][1]["lang"] == "de"
    ask(engine, {**LONDON, "lang": "pt-BR"})
    assert upstream.state.requests[-1][1]["lang"] == "pt_br"


def test_query_string_request(engine: WeatherEngine) -> None:
    # Selene's GET parameters work as well as a JSON body
    prepared = engine.prepare(b"", "", {"endpoint": "current", "lat": "48.85", "lon": "2.35"})
    doc = json.loads(asyncio.run(engine.run(prepared)))
    assert doc["coord"] == {"lat": 48.85, "lon": 2.35}


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"lat": 91, "lon": 0}',
        b'{"lat": 0, "lon": -180.5}',
        b'{"lat": "north", "lon": 0}',
        b'{"lat": true, "lon": 0}',
        b'{"lat": NaN, "lon": 0}',
        b'{"lat": 10}',
        b"{}",
        b'{"lat": 1, "lon": 1, "endpoint": "history"}',
        b'{"lat": 1, "lon": 1, "units": "kelvin"}',
        b'{"endpoint": "onecall", "q": "London"}',
        b'{"q": ""}',
        b'{"q": 5}',
        b'{"q": "' + b"x" * 300 + b'"}',
    ],
)
def test_invalid_request(engine: WeatherEngine, upstream: LocalUpstream, body: bytes) -> None:
    with pytest.raises(BadRequestError) as info:
        engine.prepare(body, "application/json", {})
    assert info.value.status == 400 and info.value.code == "bad_request"
    assert upstream.state.requests == []


@pytest.mark.parametrize("lang", ["xx", "klingon", "tlh-KL"])
def test_invalid_unknown_language(
    engine: WeatherEngine, upstream: LocalUpstream, lang: str
) -> None:
    with pytest.raises(UnsupportedLanguageError) as info:
        engine.prepare(json.dumps({**LONDON, "lang": lang}).encode(), "application/json", {})
    assert info.value.code == "unsupported_language" and info.value.status == 400
    assert upstream.state.requests == []


def run_failing(engine: WeatherEngine, request: dict[str, Any]) -> EngineError:
    prepared = engine.prepare(json.dumps(request).encode(), "application/json", {})
    with pytest.raises(EngineError) as info:
        asyncio.run(engine.run(prepared))
    assert KEY not in str(info.value)
    return info.value


@pytest.mark.parametrize("mode", ["slow", "trickle"])
def test_invalid_upstream_timeout(
    engine: WeatherEngine, upstream: LocalUpstream, mode: str
) -> None:
    # trickle: a byte every 0.3 s, each within httpx's read timeout, the whole far past it
    upstream.state.mode, upstream.state.delay = mode, 3.0
    started = time.monotonic()
    err = run_failing(engine, LONDON)
    assert isinstance(err, EngineUnavailableError)
    assert (err.status, err.code) == (503, "engine_unavailable")
    assert "0.5 s" in str(err)
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("mode", ["garbage", "wrong", "error"])
def test_invalid_upstream_answer(engine: WeatherEngine, upstream: LocalUpstream, mode: str) -> None:
    upstream.state.mode = mode
    for endpoint in ("onecall", "current", "daily"):
        err = run_failing(engine, {"endpoint": endpoint, **LONDON})
        assert isinstance(err, UpstreamBadAnswerError)
        assert (err.status, err.code) == (502, "upstream_bad_answer")


def test_invalid_wrong_key(upstream: LocalUpstream) -> None:
    engine = WeatherEngine(Upstream(upstream.weather_url, "not-the-key", timeout=1))
    err = run_failing(engine, LONDON)
    assert err.code == "upstream_bad_answer" and "refused the provider's key" in str(err)
    assert "not-the-key" not in str(err)


def test_unknown_city(engine: WeatherEngine) -> None:
    err = run_failing(engine, {"endpoint": "current", "q": "Atlantis"})
    assert isinstance(err, NotFoundError) and err.code == "not_found"


def test_invalid_upstream_unreachable() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = WeatherEngine(Upstream(f"http://127.0.0.1:{port}/data/2.5", KEY, timeout=1))
    err = run_failing(engine, LONDON)
    assert (err.status, err.code) == (503, "engine_unavailable")


def test_key_never_logged(
    engine: WeatherEngine, upstream: LocalUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        ask(engine, LONDON)
        upstream.state.mode = "error"
        run_failing(engine, LONDON)
    assert any("/data/2.5/onecall" in r.getMessage() for r in caplog.records)
    assert all(KEY not in r.getMessage() for r in caplog.records)
    assert KEY not in repr(engine.upstream)


def test_from_options(upstream: LocalUpstream, tmp_path: Path) -> None:
    key_file = tmp_path / "owm.key"
    key_file.write_text(KEY + "\n")
    engine = make_engine(
        "openweathermap",
        "weather",
        options={"upstream": upstream.weather_url, "key_file": str(key_file), "timeout": "2"},
    )
    assert isinstance(engine, WeatherEngine) and engine.upstream.timeout == 2.0
    upstream.state.mode = "ok"
    assert ask(engine, LONDON)["lat"] == LONDON["lat"]


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("weather", {"key": KEY}, "needs upstream=URL"),
        ("weather", {"upstream": "http://127.0.0.1:1"}, "API key"),
        ("weather", {"upstream": "ftp://x", "key": KEY}, "http(s)"),
        ("weather", {"upstream": "http://x/?appid=k", "key": KEY}, "takes no query"),
        ("weather", {"upstream": "http://x", "key_file": "/nonexistent/key"}, "cannot read"),
        ("weather", {"upstream": "http://x", "key": KEY, "timeout": "0"}, "timeout"),
        ("stt", {"upstream": "http://x", "key": KEY}, "serves only the weather kind"),
        ("weather", {"upstrem": "http://x", "key": KEY}, "has no option 'upstrem'"),
    ],
)
def test_invalid_options(kind: str, options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make_engine("openweathermap", kind, options=options)
