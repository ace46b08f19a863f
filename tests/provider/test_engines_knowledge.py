"""The wolframalpha engine against a real local server speaking the Wolfram Alpha APIs: spoken,
simple (short answers) and full results, a question it cannot answer, and the bad requests and
bad upstreams, each with its stable code."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from voxpop.provider.engines import BadRequestError, EngineError, make_engine
from voxpop.provider.engines.errors import UnsupportedLanguageError
from voxpop.provider.engines.knowledge import KnowledgeEngine
from voxpop.provider.engines.local_upstreams import LocalUpstream
from voxpop.provider.engines.upstream import Upstream

KEY = "wolfram-secret-key-456"
QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def upstream() -> Iterator[LocalUpstream]:
    with LocalUpstream.start(key=KEY) as up:
        yield up


@pytest.fixture
def engine(upstream: LocalUpstream) -> Iterator[KnowledgeEngine]:
    upstream.state.mode = "ok"
    upstream.state.requests.clear()
    yield KnowledgeEngine(Upstream(upstream.knowledge_url, KEY, timeout=0.5))
    upstream.state.mode = "ok"


def ask(engine: KnowledgeEngine, request: dict[str, Any]) -> Any:
    prepared = engine.prepare(json.dumps(request).encode(), "application/json", {})
    return json.loads(asyncio.run(engine.run(prepared)))


def test_spoken(engine: KnowledgeEngine, upstream: LocalUpstream) -> None:
    doc = ask(engine, {"query": QUESTION, "mode": "spoken", "geolocation": "51.5,-0.12"})
    assert doc == {"answer": "The capital of France is Paris", "mode": "spoken"}
    path, params = upstream.state.requests[-1]
    assert path == "/v1/spoken"
    assert params == {"i": QUESTION, "units": "metric", "geolocation": "51.5,-0.12", "appid": KEY}


def test_simple(engine: KnowledgeEngine, upstream: LocalUpstream) -> None:
    # Selene's parameter names (`i`) are accepted, from the query string too
    prepared = engine.prepare(b"", "", {"i": QUESTION, "mode": "simple", "units": "imperial"})
    doc = json.loads(asyncio.run(engine.run(prepared)))
    assert doc == {"answer": "Paris", "mode": "simple"}
    assert upstream.state.requests[-1][0] == "/v1/result"


def test_full(engine: KnowledgeEngine, upstream: LocalUpstream) -> None:
    doc = ask(engine, {"input": QUESTION, "mode": "full", "units": "imperial"})
    result = doc["queryresult"]
    assert result["success"] is True
    assert result["pods"][1]["subpods"][0]["plaintext"] == "Paris"
    path, params = upstream.state.requests[-1]
    assert path == "/v2/query" and params["output"] == "json" and params["units"] == "nonmetric"


def test_no_answer(engine: KnowledgeEngine) -> None:
    # The v1 APIs answer 501 when they have nothing: not_found, costs nothing
    prepared = engine.prepare(b'{"query": "colorless green ideas"}', "application/json", {})
    with pytest.raises(EngineError) as info:
        asyncio.run(engine.run(prepared))
    assert (info.value.status, info.value.code) == (404, "not_found")
    # The full API says so inside a normal answer, which is passed on
    doc = ask(engine, {"query": "colorless green ideas", "mode": "full"})
    assert doc["queryresult"]["success"] is False


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'"a string"',
        b"{}",
        b'{"query": "   "}',
        b'{"query": ["a"]}',
        b'{"query": "' + b"q" * 1001 + b'"}',
        b'{"query": "x", "mode": "image"}',
        b'{"query": "x", "units": "furlongs"}',
        b'{"query": "x", "geolocation": "north"}',
        b'{"query": "x", "geolocation": "95,0"}',
    ],
)
def test_invalid_request(engine: KnowledgeEngine, upstream: LocalUpstream, body: bytes) -> None:
    with pytest.raises(BadRequestError) as info:
        engine.prepare(body, "application/json", {})
    assert info.value.code == "bad_request"
    assert upstream.state.requests == []


def test_invalid_unknown_language(engine: KnowledgeEngine, upstream: LocalUpstream) -> None:
    with pytest.raises(UnsupportedLanguageError) as info:
        engine.prepare(b'{"query": "x", "lang": "de-de"}', "application/json", {})
    assert (info.value.status, info.value.code) == (400, "unsupported_language")
    assert upstream.state.requests == []


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("slow", 503, "engine_unavailable"),
        ("garbage", 502, "upstream_bad_answer"),
        ("wrong", 502, "upstream_bad_answer"),
        ("error", 502, "upstream_bad_answer"),
    ],
)
@pytest.mark.parametrize("kind", ["spoken", "simple", "full"])
def test_invalid_upstream(
    engine: KnowledgeEngine, upstream: LocalUpstream, mode: str, status: int, code: str, kind: str
) -> None:
    upstream.state.mode, upstream.state.delay = mode, 3.0
    prepared = engine.prepare(json.dumps({"query": QUESTION, "mode": kind}).encode(), "", {})
    with pytest.raises(EngineError) as info:
        asyncio.run(engine.run(prepared))
    assert (info.value.status, info.value.code) == (status, code)
    assert KEY not in str(info.value)


def test_make_engine(upstream: LocalUpstream) -> None:
    engine = make_engine(
        "wolframalpha", "knowledge", options={"upstream": upstream.knowledge_url, "key": KEY}
    )
    assert isinstance(engine, KnowledgeEngine)
    upstream.state.mode = "ok"
    assert ask(engine, {"query": QUESTION})["answer"] == "The capital of France is Paris"
    with pytest.raises(ValueError, match="serves only the knowledge kind"):
        make_engine("wolframalpha", "weather", options={"upstream": "http://x", "key": KEY})
