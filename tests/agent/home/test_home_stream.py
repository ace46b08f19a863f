"""Live updates: the home relays the node's stream to the page as Server-Sent Events: `block` for
each new block, `owner-tx` for a committed tx that names the owner (the running agent, a real
node, a real tx)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.agent.home.live import LiveHome

pytestmark = pytest.mark.slow


def test_the_owners_tx_and_the_block_reach_the_page(live_home: LiveHome) -> None:
    events: list[str] = []
    connected = threading.Event()

    def listen() -> None:
        timeout = httpx.Timeout(10.0, read=60.0)
        with httpx.stream("GET", live_home.url + "/events", timeout=timeout) as answer:
            assert answer.headers["content-type"].startswith("text/event-stream")
            for line in answer.iter_lines():
                connected.set()
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
                if "owner-tx" in events and "block" in events:
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert connected.wait(30)
    time.sleep(0.5)  # the relay's own subscription to the node
    with live_home.client() as client:
        result = client.send(live_home.owner_key, live_home.agent_key.public_key.address, 1)
    assert result.code == 0
    listener.join(60)
    assert "block" in events and "owner-tx" in events, events
