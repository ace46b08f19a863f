"""The node's HTTP API: a thin JSON adapter over a NodeService (see docs/api.md)."""

from voxpop.api.app import MAX_BATCH_TXS, create_api
from voxpop.api.errors import ApiError
from voxpop.api.server import DEFAULT_HOST, DEFAULT_PORT, ApiBindError, serve_api

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MAX_BATCH_TXS",
    "ApiBindError",
    "ApiError",
    "create_api",
    "serve_api",
]
