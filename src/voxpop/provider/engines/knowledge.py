"""Knowledge answers from a Wolfram Alpha-compatible upstream (the provider's base URL and key).

A request is a JSON object: `query` (or Selene's `i` / `input`), `mode` (spoken | simple | full),
`units` (metric | imperial), optional `geolocation` ("lat,lon") and `lang`. The modes are the
three devices ask for (ovos-backend-client's WolframAlphaApi):

- spoken: Wolfram's Spoken Results API (/v1/spoken), one sentence to say → {"answer": text};
- simple: the Short Answers API (/v1/result), the plain-text answer devices read as "simple" →
  {"answer": text};
- full: the Full Results API (/v2/query, output=json) → Wolfram's JSON ({"queryresult": ...}).

Wolfram answers in English only, so any other language is refused (unsupported_language). An
upstream with no answer (HTTP 501 from the v1 APIs) is not_found; anything else that is not the
API's answer is upstream_bad_answer. Either way the call costs nothing.

The base URL is the API host, e.g. https://api.wolframalpha.com.
"""

from __future__ import annotations

import json
from typing import Any

from voxpop.provider.engines import UNIT_CALL, BadRequestError, Prepared
from voxpop.provider.engines.errors import UnsupportedLanguageError, UpstreamBadAnswerError
from voxpop.provider.engines.request import MAX_JSON_BODY, get_text, language_tag, read_object
from voxpop.provider.engines.upstream import Upstream, parse_timeout, read_key

PATHS = {"spoken": "v1/spoken", "simple": "v1/result", "full": "v2/query"}
UNITS = ("metric", "imperial")
MAX_QUERY = 1000
MAX_TEXT_ANSWER = 4096


def parse_geolocation(value: str) -> str:
    """ "lat,lon" with both numbers on the globe. Raises BadRequestError."""
    try:
        lat_text, lon_text = value.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise BadRequestError('geolocation must be "lat,lon"') from None
    if not (abs(lat) <= 90 and abs(lon) <= 180):
        raise BadRequestError("geolocation must be on the globe")
    return f"{lat!r},{lon!r}"


def is_full_answer(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("queryresult"), dict)


class KnowledgeEngine:
    kind = "knowledge"
    unit = UNIT_CALL
    max_body = MAX_JSON_BODY

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    @classmethod
    def from_options(cls, options: dict[str, str]) -> KnowledgeEngine:
        """From the provider's engine options: upstream (base URL), key_file (or key), timeout.
        Raises ValueError."""
        if not options.get("upstream"):
            raise ValueError(
                "the wolframalpha engine needs upstream=URL (e.g. https://api.wolframalpha.com)"
            )
        key = read_key(options, "wolframalpha")
        return cls(Upstream(options["upstream"], key, timeout=parse_timeout(options)))

    def prepare(self, body: bytes, content_type: str, params: dict[str, str]) -> Prepared:
        fields = read_object(body, params)
        for alias in ("input", "i"):
            if "query" not in fields and alias in fields:
                fields["query"] = fields[alias]
        query = get_text(fields, "query", limit=MAX_QUERY)
        mode = get_text(fields, "mode", default="spoken", limit=10).lower()
        # Verify the mode is one of the three devices ask for
        if mode not in PATHS:
            raise BadRequestError(f"mode must be one of {', '.join(PATHS)}")
        units = get_text(fields, "units", default="metric", limit=10).lower()
        if units not in UNITS:
            raise BadRequestError(f"units must be one of {', '.join(UNITS)}")
        # Verify the language is one Wolfram answers in
        lang = get_text(fields, "lang", default="en", limit=20)
        if language_tag(lang)[1] != "en":
            raise UnsupportedLanguageError(f"Wolfram Alpha answers in English only, not {lang!r}")
        upstream: dict[str, str] = {"i": query, "units": units}
        if mode == "full":
            upstream = {
                "input": query,
                "output": "json",
                "format": "plaintext",
                "units": "metric" if units == "metric" else "nonmetric",
            }
        if "geolocation" in fields:
            upstream["geolocation"] = parse_geolocation(get_text(fields, "geolocation", limit=64))
        return Prepared(1, (mode, upstream))

    async def run(self, prepared: Prepared) -> bytes:
        mode, query = prepared.payload
        # 501 is the v1 APIs' "no answer for this input"
        answer = await self.upstream.get(PATHS[mode], query, no_answer=(404, 501))
        if mode == "full":
            try:
                doc = json.loads(answer.body)
            except (ValueError, UnicodeDecodeError):
                raise UpstreamBadAnswerError("the upstream's answer is not JSON") from None
            # Verify the answer is a Full Results document, not an error or garbage passed on
            if not is_full_answer(doc):
                raise UpstreamBadAnswerError("the upstream's answer is not a Full Results answer")
            return json.dumps(doc, separators=(",", ":")).encode()
        # Verify a spoken or short answer is one line of text, as those APIs answer
        try:
            text = answer.body.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise UpstreamBadAnswerError("the upstream's answer is not text") from None
        if not text or len(text) > MAX_TEXT_ANSWER or "\n" in text or "\x00" in text:
            raise UpstreamBadAnswerError("the upstream's answer is not one line of text")
        if text.startswith(("<", "{", "[")):
            raise UpstreamBadAnswerError("the upstream answered markup, not a sentence")
        return json.dumps({"answer": text, "mode": mode}, separators=(",", ":")).encode()

    def close(self) -> None:
        return None
