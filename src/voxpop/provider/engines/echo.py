"""The echo engine: answers a JSON request with itself. For benchmarks and tests; costs nothing."""

from __future__ import annotations

import json

from voxpop.provider.engines import UNIT_CALL, BadRequestError, Prepared

MAX_ECHO_BODY = 64 * 1024


class EchoEngine:
    unit = UNIT_CALL
    max_body = MAX_ECHO_BODY

    def __init__(self, kind: str = "echo") -> None:
        self.kind = kind

    def prepare(self, body: bytes, content_type: str, params: dict[str, str]) -> Prepared:
        # Verify the body is JSON (the protocol's request format for every kind but stt)
        try:
            json.loads(body)
        except ValueError:
            raise BadRequestError("the request body is not JSON") from None
        return Prepared(1, body)

    async def run(self, prepared: Prepared) -> bytes:
        answer: bytes = prepared.payload
        return answer

    def close(self) -> None:
        return None
