"""Reading the JSON requests of the kinds that are not audio (weather, knowledge, geolocation)."""

from __future__ import annotations

import json
import math
from typing import Any

from voxpop.provider.engines import BadRequestError

MAX_JSON_BODY = 16 * 1024  # a query is a few fields; anything larger is not one


def read_object(body: bytes, params: dict[str, str]) -> dict[str, Any]:
    """The request's fields: the JSON object in the body, over the query string's parameters
    (an empty body is allowed when the query string says it all). Raises BadRequestError."""
    fields: dict[str, Any] = dict(params)
    if body.strip():
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise BadRequestError("the request body is not JSON") from None
        # Verify the body is one JSON object of fields
        if not isinstance(doc, dict):
            raise BadRequestError("the request body must be a JSON object")
        fields.update(doc)
    return fields


def get_text(
    fields: dict[str, Any], name: str, *, default: str | None = None, limit: int = 200
) -> str:
    """A string field, stripped, non-empty, at most `limit` characters. Raises BadRequestError."""
    value = fields.get(name, default)
    if value is None:
        raise BadRequestError(f"the request needs {name!r}")
    if not isinstance(value, str):
        raise BadRequestError(f"{name!r} must be a string")
    value = value.strip()
    if not value:
        raise BadRequestError(f"{name!r} is empty")
    if len(value) > limit:
        raise BadRequestError(f"{name!r} is over {limit} characters")
    return value


def get_coordinate(fields: dict[str, Any], name: str, bound: float) -> float:
    """A latitude (bound 90) or longitude (bound 180) as a number or numeric string."""
    value = fields[name]
    if isinstance(value, bool):
        raise BadRequestError(f"{name!r} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRequestError(f"{name!r} must be a number") from None
    # Verify a finite coordinate on the globe
    if not math.isfinite(number) or abs(number) > bound:
        raise BadRequestError(f"{name!r} must be within ±{bound:g}")
    return number


def language_tag(value: str) -> tuple[str, str]:
    """A language tag as (lowercase full tag with `_`, primary subtag): en-US → (en_us, en)."""
    tag = value.strip().lower().replace("-", "_")
    return tag, tag.split("_", 1)[0]
