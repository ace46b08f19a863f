"""Device authentication: every `/device/{uuid}/...` call carries the device's access token and
reaches only that device's data.

A wrong, expired or revoked token, or a token of another device, gets 401 with a plain-text body
(`DeviceAuthError`, turned into `plain_401()` by the app's handler).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

if TYPE_CHECKING:
    from voxpop.agent.agent import Agent


@dataclass(frozen=True, slots=True)
class DeviceSession:
    uuid: str
    device_id: bytes  # the on-chain device id (the pairing id)
    owner: bytes


class DeviceAuthError(Exception):
    """Answered as 401 with a plain-text body."""


def get_agent(request: Request) -> Agent:
    agent: Agent = request.app.state.agent
    return agent


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_device(request: Request) -> DeviceSession:
    """The device whose access token the request carries. A path `{uuid}` must be its own.

    Raises DeviceAuthError (401, plain text)."""
    agent = get_agent(request)
    token = bearer_token(request)
    # Verify a bearer token is present and is a live access token of a paired device
    if token is None:
        raise DeviceAuthError("no bearer token")
    session = agent.tokens.session_for_access(token)
    if session is None:
        raise DeviceAuthError("unknown, expired or revoked token")
    # Verify the path names the token's own device
    path_uuid = request.path_params.get("uuid")
    if path_uuid is not None and path_uuid != session.uuid:
        raise DeviceAuthError("the token is another device's")
    return session
