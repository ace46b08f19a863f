"""What a light client verifies, relayed from CometBFT unchanged (docs/client.md, light client).

    GET /v1/light/signed_header/{height|latest}  {"signed_header": <CometBFT's /commit JSON>}
    GET /v1/light/validators/{height}           {"height": h, "validators": [<CometBFT's JSON>]}

The node computes nothing here: the client recomputes every hash and checks every signature. A
solo node answers 404 light_not_supported (its headers carry its one signature; see /v1/blocks).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from voxpop.api.errors import BLOCK_NOT_FOUND, ApiError
from voxpop.api.inputs import parse_height
from voxpop.node.service import LightBlockSource, NodeService

LIGHT_NOT_SUPPORTED: Final = "light_not_supported"  # 404: a solo node; verify its signed blocks


def _source(node: NodeService) -> LightBlockSource:
    # Verify the node is one whose blocks a light client verifies (CometBFT)
    if not isinstance(node, LightBlockSource):
        raise ApiError(
            404, LIGHT_NOT_SUPPORTED, "this node is not under CometBFT; verify /v1/blocks instead"
        )
    return node


def signed_header(node: NodeService, height_text: str) -> dict[str, Any]:
    height = None if height_text == "latest" else parse_height(height_text)
    found = _source(node).light_signed_header(height)
    if found is None:
        raise ApiError(404, BLOCK_NOT_FOUND, f"no signed header at height {height_text}")
    return {"signed_header": found}


def validators(node: NodeService, height_text: str) -> dict[str, Any]:
    height = parse_height(height_text)
    found = _source(node).light_validators(height)
    if found is None:
        raise ApiError(404, BLOCK_NOT_FOUND, f"no validator set at height {height}")
    return {"height": height, "validators": found}


def add_light_routes(app: FastAPI, node: NodeService, responses: dict[int | str, Any]) -> None:
    @app.get("/v1/light/signed_header/{height}", responses=responses, tags=["light client"])
    async def get_signed_header(height: str) -> dict[str, Any]:
        """CometBFT's signed header (header and commit) at a height, or `latest`, unchanged."""
        return await run_in_threadpool(signed_header, node, height)

    @app.get("/v1/light/validators/{height}", responses=responses, tags=["light client"])
    async def get_validators(height: str) -> dict[str, Any]:
        """CometBFT's validator set at a height, every page, in its order, unchanged."""
        return await run_in_threadpool(validators, node, height)
