"""Answers in the shapes Mycroft and OVOS clients read without checking the status.

- 401 bodies are plain text: ovos-backend-client takes any JSON body as "paired".
- No empty 200 bodies: clients call `.json()` on every answer, so an empty dict or list goes out
  as `{}` / `[]`.
- Selene turned dict keys into camelCase; `camel()` does the same where Selene did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse, PlainTextResponse, Response

UNAUTHORIZED_TEXT = "Unauthorized"
_SNAKE = re.compile(r"_([a-z0-9])")


def plain_401(text: str = UNAUTHORIZED_TEXT) -> PlainTextResponse:
    return PlainTextResponse(text, status_code=401)


def json_ok(
    data: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer that is never an empty body (None becomes `{}`)."""
    return JSONResponse({} if data is None else data, status_code=status_code, headers=headers)


def empty_404() -> Response:
    """What a pending /device/activate answers: 404 with no body at all (a JSON body would be
    saved as the identity by ovos-backend-client)."""
    return Response(status_code=404)


def error_json(status_code: int, code: str, message: str) -> Response:
    """A non-401 error with a stable code."""
    return JSONResponse({"error": code, "message": message}, status_code=status_code)


def to_camel(name: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), name)


def camel(value: Any) -> Any:
    """`value` with every dict key in camelCase, recursively (as Selene answered)."""
    if isinstance(value, Mapping):
        return {to_camel(str(k)): camel(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [camel(v) for v in value]
    return value
