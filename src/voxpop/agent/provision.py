"""Setting an agent up on chain for its owner, in the order each step needs the one before:

1. the agent's account gets a little uvox from the owner (its one tx of its own: publishing keys);
2. the agent publishes its encryption keys (the directory), so the owner can wrap to it;
3. the owner publishes its own keys (once);
4. the owner, in one tx, grants the agent its messages with daily caps and a fee allowance
   (client/agent_grants.py) and, unless the agent already holds the current settings key,
   rotates the settings key to itself and the agent.

`voxpop devnet up` and the tests run it; on a real chain the owner runs `voxpop agent authorize`
and `voxpop settings rotate` (docs/operations/agent.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from voxpop.client.agent_grants import AgentCaps, authorize_msgs
from voxpop.client.devices import OwnerDevices
from voxpop.client.errors import VoxClientError
from voxpop.client.settings import SettingsVault
from voxpop.client.sync import VoxClient
from voxpop.crypto.keys import PrivateKey

AGENT_STARTER_FUNDS = 1_000_000  # uvox: enough for the agent's own key publications
GAS_PER_MSG = 20_000


@dataclass(frozen=True, slots=True)
class Provisioned:
    funded: bool
    agent_keys_published: bool
    owner_keys_published: bool
    rotated: bool


def provision_agent(
    client: VoxClient,
    owner_key: PrivateKey,
    agent_key: PrivateKey,
    *,
    caps: AgentCaps | None = None,
    starter_funds: int = AGENT_STARTER_FUNDS,
) -> Provisioned:
    """Make `agent_key` a working agent of `owner_key`'s account. Idempotent: a step already
    done is skipped (grants are re-issued, which replaces them). Raises VoxClientError."""
    owner = owner_key.public_key.address
    agent = agent_key.public_key.address
    funded = False
    if client.directory_keys(agent).record is None:
        if client.balance(agent) < starter_funds // 2:
            _check(client.send(owner_key, agent, starter_funds), "fund the agent")
            funded = True
        _check(client.publish_keys(agent_key), "publish the agent's keys")
        agent_published = True
    else:
        agent_published = False
    owner_published = False
    if client.directory_keys(owner).record is None:
        _check(client.publish_keys(owner_key), "publish the owner's keys")
        owner_published = True
    msgs = list(authorize_msgs(owner, agent, caps or AgentCaps()))
    rotated = not _holds_current_key(client, owner, agent_key)
    if rotated:
        # Every agent the owner already lets write settings keeps its wrap
        flows = OwnerDevices(client, owner_key)
        msgs.append(flows.rotate_msg([*flows.settings_agents(), agent]))
    _check(
        client.execute(owner_key, msgs, gas_limit=GAS_PER_MSG * len(msgs) + 100_000),
        "authorize the agent",
    )
    return Provisioned(funded, agent_published, owner_published, rotated)


def _holds_current_key(client: VoxClient, owner: bytes, agent_key: PrivateKey) -> bool:
    try:
        SettingsVault(client, owner, agent_key).keys()
    except VoxClientError:
        return False
    return True


def _check(result: object, what: str) -> None:
    code = getattr(result, "code", 0)
    if code != 0:
        raise VoxClientError(f"could not {what}: [{code}] {getattr(result, 'log', '')}")
