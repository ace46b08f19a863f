"""Agent actions: the owner's message sent in authz/Exec signed by the agent key under the owner's
grant, waited for until committed; a message the owner never granted is refused with its code and
a sentence, and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.requests import Request

from tests.agent.home.live import LiveHome
from voxpop.agent.agent import Agent
from voxpop.agent.app import create_app
from voxpop.agent.config import AgentConfig
from voxpop.agent.home.actions import agent_action
from voxpop.chain.modules.devices.messages import MsgRemoveDevice

pytestmark = pytest.mark.slow


def request_on(app: FastAPI) -> Request:
    return Request({"type": "http", "app": app, "method": "POST", "path": "/", "headers": []})


def test_an_agent_action_is_committed_and_an_ungranted_one_refused(
    live_home: LiveHome, tmp_path: Path
) -> None:
    config = AgentConfig(
        home=tmp_path / "agent",
        owner=live_home.owner,
        chain_id=live_home.node.chain_id,
        nodes=(live_home.node.url,),
        keyring_backend="test",
    )
    config.home.mkdir(parents=True)
    agent = Agent(config, live_home.agent_key)  # the running agent's key: it acts for the owner
    try:
        request = request_on(create_app(agent))
        done = agent_action(
            request,
            what="Write a note",
            build=lambda c: [agent.chain.vault(c).put_msg("home/test-note", b"{}")],
        )
        assert (done.state, done.code) == ("committed", "") and done.height > 0
        assert agent.chain.read_record("home/test-note", refresh=True) == b"{}"

        # devices/Remove is never granted to an agent (docs/keys.md)
        refused = agent_action(
            request,
            what="Remove a device",
            build=lambda _c: [MsgRemoveDevice(live_home.owner, bytes(32))],
        )
        assert (refused.state, refused.code) == ("error", "no_authorization")
        assert refused.words.startswith("Your agent has no permission for this")
    finally:
        agent.close()
