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
    # The relay opens its own feed from the node only once the page is connected, and a tx
    # committed before that is never relayed: send one owner's tx a round until the page has both
    deadline = time.monotonic() + 60
    with live_home.client() as client:
        while listener.is_alive():
            assert time.monotonic() < deadline, f"the page never got both events, only {events}"
            result = client.send(live_home.owner_key, live_home.agent_key.public_key.address, 1)
            assert result.code == 0
            listener.join(3)
    assert "block" in events and "owner-tx" in events, events
