"""Canaries (issue 11): strings planted in settings, location, skill settings, device names and
an inbox message are readable by the owner through the CLI, yet never appear, in any encoding,
in any byte of the node's files on disk: its state (LMDB), block store and tx index, and its log.
A plaintext control string sent in a tx memo is found by the same scan, so the scan can fail."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.agents import Agent
from tests.support.canary import bytes_scanned, scan
from voxpop.cli.keys import BACKEND_ENV, PASSPHRASE_ENV
from voxpop.cli.main import app
from voxpop.cli.owner import OWNER_KEY_ENV
from voxpop.client import VoxClient, msg_send
from voxpop.client.devices import DeviceInfo
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring
from voxpop.crypto.keys import PrivateKey

pytestmark = pytest.mark.slow

OWNER_SEED, AGENT_SEED = bytes([81]) * 32, bytes([82]) * 32
FUNDS = 1_000_000_000_000


def canary(what: str) -> str:
    return f"CANARY-{what}-{secrets.token_hex(8)}"


def run(node: LocalNode, *args: str) -> Any:
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, OWNER_KEY_ENV: None, "VOXPOP_HOME": None}
    argv = [*args, *options, "--output", "json"]
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.stdout
    return json.loads(result.stdout)


def test_canaries_never_reach_the_node_on_disk(tmp_path: Path) -> None:
    home = tmp_path / "node"
    keyring = Keyring(home / "keyring", "test")
    funds = {
        keyring.import_seed("owner", OWNER_SEED).address: FUNDS,
        keyring.import_seed("agent", AGENT_SEED).address: FUNDS,
    }
    owner, agent_key = PrivateKey(OWNER_SEED), PrivateKey(AGENT_SEED)
    planted = {
        "device name": canary("DEVICE"),
        "new device name": canary("RENAMED"),
        "device settings": canary("SETTINGS"),
        "location": canary("LOCATION"),
        "skill settings": canary("SKILL"),
        "inbox message": canary("INBOX"),
    }
    control = canary("PLAINTEXT-CONTROL")
    with LocalNode.start(home, funds=funds) as node, VoxClient(node.url) as client:
        for key in (owner, agent_key):
            assert client.publish_keys(key).code == 0
        run(node, "agent", "authorize", "agent")
        agent = Agent(client, agent_key, owner.public_key.address)
        run(node, "settings", "rotate")

        # The agent plants the device's name and an inbox message; the owner the rest
        code, device_id = agent.request_pairing(DeviceInfo(planted["device name"], "mark2"))
        agent.post(planted["inbox message"], int(time.time()))
        claimed = run(node, "device", "claim", code)
        assert claimed["name"] == planted["device name"]
        dev = device_id.hex()
        run(node, "device", "settings", "set", dev, f"wakeWord={planted['device settings']}")
        run(node, "device", "location", "set", f"city={planted['location']}")
        skill = "skill-notes.openvoiceos"
        run(node, "skill", "settings", "set", skill, f"secret={planted['skill settings']}")
        run(node, "device", "rename", dev, planted["new device name"])
        # The control: plaintext in a tx memo, which the block store keeps as sent
        to = agent_key.public_key.address
        assert client.execute(owner, [msg_send(owner.public_key.address, to, 1)],
                              memo=control).code == 0  # fmt: skip

        # The owner reads every canary back, decrypted on this machine
        devices = run(node, "device", "list")["devices"]
        assert [d["name"] for d in devices] == [planted["new device name"]]
        got = run(node, "device", "settings", "get", dev)["settings"]
        assert got["wakeWord"] == planted["device settings"]
        assert run(node, "device", "location", "get")["location"]["city"] == planted["location"]
        got = run(node, "skill", "settings", "get", skill)["settings"]
        assert got["secret"] == planted["skill settings"]
        texts = [m["text"] for m in run(node, "inbox", "read")["messages"]]
        assert texts == [planted["inbox message"]]
    # The node has stopped: every file it wrote is complete on disk
    data = [home / "data", node.log_path]
    assert bytes_scanned(data) > 100_000
    found = scan(data, {**{k: v.encode() for k, v in planted.items()}, "control": control.encode()})
    # Verify the scan sees plaintext where there is some: the memo, in the block store
    assert any(Path(p).is_relative_to(home / "data") for p in found.pop("control")), found
    assert found == {what: [] for what in planted}
