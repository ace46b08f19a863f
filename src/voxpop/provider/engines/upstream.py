"""An HTTP upstream an engine forwards to (OpenWeatherMap, Wolfram Alpha or a compatible server):
the provider's own base URL and API key, a deadline, a cap on the answer's size, and one mapping
of what can go wrong to the engines' typed errors.

The key travels as a query parameter (both APIs want it there), so it is kept out of every error
message, and a filter redacts it from httpx's request log lines.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from voxpop.provider.engines import EngineUnavailableError
from voxpop.provider.engines.errors import NotFoundError, UpstreamBadAnswerError

DEFAULT_TIMEOUT = 5.0  # seconds: a device waits for the answer; past this, another provider serves
MAX_ANSWER_BYTES = 2 * 1024 * 1024

_SECRET_PARAM = re.compile(r"((?:appid|key|apikey|api_key)=)[^&\s\"']+", re.IGNORECASE)


class _RedactKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        redacted = _SECRET_PARAM.sub(r"\1***", text)
        if redacted != text:
            record.msg, record.args = redacted, None
        return True


_REDACT = _RedactKeys()


def _install_redaction() -> None:
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _REDACT not in logger.filters:
            logger.addFilter(_REDACT)


@dataclass(frozen=True, slots=True)
class UpstreamAnswer:
    status: int
    content_type: str
    body: bytes


def read_key(options: dict[str, str], service: str) -> str:
    """The API key from `key_file` (preferred: it stays out of process listings) or `key`.
    Raises ValueError if neither is given or the file cannot be read."""
    if options.get("key_file"):
        path = Path(options["key_file"])
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read the {service} key file {path}: {exc.strerror}") from None
    else:
        key = options.get("key", "").strip()
    if not key:
        raise ValueError(f"the {service} engine needs its upstream's API key (key_file=PATH)")
    return key


def parse_timeout(options: dict[str, str]) -> float:
    text = options.get("timeout", str(DEFAULT_TIMEOUT))
    try:
        timeout = float(text)
    except ValueError:
        raise ValueError(f"timeout must be seconds, not {text!r}") from None
    if not 0 < timeout <= 120:
        raise ValueError("timeout must be over 0 and at most 120 seconds")
    return timeout


class Upstream:
    """GETs against one base URL with the provider's key added as `key_param`."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        key_param: str = "appid",
        timeout: float = DEFAULT_TIMEOUT,
        max_answer: int = MAX_ANSWER_BYTES,
    ) -> None:
        # Verify the base URL is an http(s) URL with a host (and carries no key of its own)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the upstream URL must be http(s)://host[/path], not {base_url!r}")
        if parts.query or parts.fragment:
            raise ValueError("the upstream URL takes no query: the key goes in key_file")
        self.base_url = base_url.rstrip("/")
        self._key = key
        self._key_param = key_param
        self.timeout = timeout
        self.max_answer = max_answer
        _install_redaction()

    def __repr__(self) -> str:  # never the key
        return f"Upstream({self.base_url!r})"

    async def get(
        self, path: str, params: dict[str, str], *, no_answer: tuple[int, ...] = (404,)
    ) -> UpstreamAnswer:
        """GET base_url/path?params&key. Raises EngineUnavailableError (timeout, unreachable,
        rate limited), NotFoundError (a `no_answer` status: the API's "nothing for this query")
        or UpstreamBadAnswerError (any other error status, an answer over the size cap)."""
        url = f"{self.base_url}/{path}"
        query = {**params, self._key_param: self._key}
        try:
            # httpx's timeout bounds each read; this bounds the whole call (an upstream that
            # trickles its answer a byte at a time must not hold the call)
            async with (
                asyncio.timeout(self.timeout),
                httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client,
                client.stream("GET", url, params=query) as resp,
            ):
                body = await self._read_capped(resp)
        except (httpx.TimeoutException, TimeoutError):
            raise EngineUnavailableError(
                f"the upstream did not answer within {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            # Only the class name: httpx's messages can carry the URL, and so the key
            raise EngineUnavailableError(
                f"the upstream cannot be reached ({exc.__class__.__name__})"
            ) from None
        status = resp.status_code
        # Verify the upstream served the call; its error is reported by status, never echoed
        if status in (401, 403):
            raise UpstreamBadAnswerError(f"the upstream refused the provider's key (HTTP {status})")
        if status == 429:
            raise EngineUnavailableError("the upstream is rate limiting this provider")
        if status in no_answer:
            raise NotFoundError("the upstream has no answer for this query")
        if status != 200:
            raise UpstreamBadAnswerError(f"the upstream answered HTTP {status}")
        return UpstreamAnswer(status, resp.headers.get("content-type", ""), body)

    async def _read_capped(self, resp: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > self.max_answer:
                raise UpstreamBadAnswerError(
                    f"the upstream's answer is over {self.max_answer} bytes"
                )
            chunks.append(chunk)
        return b"".join(chunks)
