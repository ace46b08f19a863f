"""Reading the owner's state for a page: proven by the node, decrypted here.

    views = owner_read(request, lambda flows: flows.devices())
    height = chain_read(request, lambda client: client.status().latest_height)

`flows` reads with the owner key when this session unlocked it, else with the agent's key through
its settings wrap: the pages show everything either way. A node that cannot be reached or whose
answer fails its proof becomes a HomeError the page shows in words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from fastapi import Request

from voxpop.agent.errors import AgentError, ChainUnavailableError
from voxpop.agent.home.security import HomeError
from voxpop.agent.home.session import Session
from voxpop.agent.home.state import home_of
from voxpop.client.devices import OwnerDevices
from voxpop.client.errors import VoxClientError

if TYPE_CHECKING:
    from voxpop.client.sync import VoxClient

T = TypeVar("T")


def chain_read(request: Request, fn: Callable[[VoxClient], T]) -> T:
    """`fn(client)` on the first node that answers. Raises HomeError."""
    agent = home_of(request).agent
    try:
        return agent.chain.call(fn)
    except ChainUnavailableError:
        raise HomeError(503, "chain_unavailable") from None
    except VoxClientError as exc:
        code = getattr(exc, "code", None)
        raise HomeError(502, code if isinstance(code, str) else "chain_error") from None
    except AgentError as exc:
        raise HomeError(500, exc.code) from None


def owner_read(request: Request, fn: Callable[[OwnerDevices], T]) -> T:
    """`fn(flows)`: the owner's flows (client/devices.py) over a verifying client."""
    agent = home_of(request).agent
    session: Session | None = getattr(request.state, "session", None)
    key = session.owner_key if session is not None and session.owner_key else agent.key
    return chain_read(request, lambda client: fn(OwnerDevices(client, key, owner=agent.owner)))
