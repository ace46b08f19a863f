"""Weather from an OpenWeatherMap-compatible upstream (the provider's base URL and key).

A request is a JSON object: `endpoint` (onecall | current | hourly | daily; the Selene paths
weather, forecast and forecast/daily are accepted too), the place (`lat` and `lon`, or `q` a
place name), `units` (standard | metric | imperial) and `lang`. The answer is OpenWeatherMap's own
JSON, the shape devices read (ovos-backend-client's OpenWeatherMapApi passes it through), after a
check that it is what that endpoint answers: an upstream that answers something else is refused
(502 upstream_bad_answer) and the call costs nothing.

The base URL includes the API version, e.g. https://api.openweathermap.org/data/2.5; the paths
are then onecall, weather, forecast and forecast/daily under it.
"""

from __future__ import annotations

import json
from typing import Any

from voxpop.provider.engines import UNIT_CALL, BadRequestError, Prepared
from voxpop.provider.engines.errors import UnsupportedLanguageError, UpstreamBadAnswerError
from voxpop.provider.engines.request import (
    MAX_JSON_BODY,
    get_coordinate,
    get_text,
    language_tag,
    read_object,
)
from voxpop.provider.engines.upstream import Upstream, parse_timeout, read_key

# endpoint asked → the upstream's path
ENDPOINTS = {
    "onecall": "onecall",
    "current": "weather",
    "weather": "weather",
    "hourly": "forecast",
    "forecast": "forecast",
    "daily": "forecast/daily",
    "forecast/daily": "forecast/daily",
}
UNITS = ("standard", "metric", "imperial")
# The languages OpenWeatherMap describes weather in (its own codes)
LANGUAGES = frozenset(
    {"af", "al", "ar", "az", "be", "bg", "ca", "cz", "da", "de", "el", "en", "es", "eu", "fa"}
    | {"fi", "fr", "gl", "he", "hi", "hr", "hu", "id", "it", "ja", "kr", "ku", "la", "lt", "lv"}
    | {"mk", "nl", "no", "pl", "pt", "pt_br", "ro", "ru", "se", "sk", "sl", "sp", "sq", "sr"}
    | {"sv", "th", "tr", "ua", "uk", "vi", "zh_cn", "zh_tw", "zu"}
)


def owm_language(value: str) -> str:
    """The OpenWeatherMap code for a language tag: the full tag if it has one (pt_br), else its
    primary subtag (en-us → en). Raises UnsupportedLanguageError."""
    tag, primary = language_tag(value)
    if tag in LANGUAGES:
        return tag
    if primary in LANGUAGES:
        return primary
    raise UnsupportedLanguageError(f"OpenWeatherMap has no weather descriptions in {value!r}")


def is_weather_answer(path: str, doc: Any) -> bool:
    """Whether `doc` has the parts of what the upstream path answers."""
    if not isinstance(doc, dict):
        return False
    if path == "onecall":
        return isinstance(doc.get("current"), dict) or isinstance(doc.get("daily"), list)
    if path == "weather":
        return isinstance(doc.get("main"), dict) and isinstance(doc.get("weather"), list)
    return isinstance(doc.get("list"), list)  # forecast, forecast/daily


class WeatherEngine:
    kind = "weather"
    unit = UNIT_CALL
    max_body = MAX_JSON_BODY

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    @classmethod
    def from_options(cls, options: dict[str, str]) -> WeatherEngine:
        """From the provider's engine options: upstream (base URL), key_file (or key), timeout.
        Raises ValueError."""
        if not options.get("upstream"):
            raise ValueError(
                "the openweathermap engine needs upstream=URL (e.g. https://api.openweathermap.org/data/2.5)"
            )
        key = read_key(options, "openweathermap")
        return cls(Upstream(options["upstream"], key, timeout=parse_timeout(options)))

    def prepare(self, body: bytes, content_type: str, params: dict[str, str]) -> Prepared:
        fields = read_object(body, params)
        endpoint = get_text(fields, "endpoint", default="onecall", limit=20)
        # Verify the endpoint is one devices ask for
        if endpoint not in ENDPOINTS:
            raise BadRequestError(f"endpoint must be one of {', '.join(sorted(ENDPOINTS))}")
        path = ENDPOINTS[endpoint]
        query: dict[str, str] = {}
        # Verify the place: coordinates on the globe, or a name (not both, not neither)
        if "lat" in fields or "lon" in fields:
            if "lat" not in fields or "lon" not in fields:
                raise BadRequestError("lat and lon go together")
            query["lat"] = repr(get_coordinate(fields, "lat", 90))
            query["lon"] = repr(get_coordinate(fields, "lon", 180))
        elif "q" in fields:
            if path == "onecall":
                raise BadRequestError("onecall takes lat and lon, not a place name")
            query["q"] = get_text(fields, "q")
        else:
            raise BadRequestError("the request needs lat and lon (or q, a place name)")
        units = get_text(fields, "units", default="metric", limit=10).lower()
        # Verify the units are OpenWeatherMap's
        if units not in UNITS:
            raise BadRequestError(f"units must be one of {', '.join(UNITS)}")
        query["units"] = units
        query["lang"] = owm_language(get_text(fields, "lang", default="en", limit=20))
        return Prepared(1, (path, query))

    async def run(self, prepared: Prepared) -> bytes:
        path, query = prepared.payload
        answer = await self.upstream.get(path, query)
        try:
            doc = json.loads(answer.body)
        except (ValueError, UnicodeDecodeError):
            raise UpstreamBadAnswerError("the upstream's answer is not JSON") from None
        # Verify the answer is what the endpoint answers, not an error or garbage passed on
        if not is_weather_answer(path, doc):
            raise UpstreamBadAnswerError(f"the upstream's answer is not an OpenWeatherMap {path}")
        return json.dumps(doc, separators=(",", ":")).encode()

    def close(self) -> None:
        return None
