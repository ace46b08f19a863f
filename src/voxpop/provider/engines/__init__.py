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


ENGINE_NAMES = ("echo", "pocketsphinx")


def make_engine(name: str, kind: str, *, grammar: str | None = None) -> Engine:
    """The engine called `name` serving `kind`. Raises ValueError for an unknown name or a kind
    the engine cannot serve."""
    if name == "echo":
        from voxpop.provider.engines.echo import EchoEngine

        return EchoEngine(kind)
    if name == "pocketsphinx":
        if kind != "stt":
            raise ValueError("the pocketsphinx engine serves only the stt kind")
        from voxpop.provider.engines.stt import PocketsphinxEngine

        return PocketsphinxEngine(grammar=grammar)
    raise ValueError(f"unknown engine {name!r}: choose one of {', '.join(ENGINE_NAMES)}")
