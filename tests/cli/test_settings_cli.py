"""`voxpop tx settings put|delete|rotate` and `voxpop query settings record|epoch|wrap|by-owner`
against a real solo node: the value is encrypted on this machine (never in the tx), read back
by an agent's vault, rotated away from a dropped agent; bad input refused with codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from voxpop.cli.keys import BACKEND_ENV, PASSPHRASE_ENV
from voxpop.cli.query import query_app
from voxpop.cli.tx import tx_app
from voxpop.client import VoxClient
from voxpop.client.settings import SettingsKeyError, SettingsVault
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring, PrivateKey, decode_address

pytestmark = pytest.mark.slow

OWNER_SEED = bytes([51]) * 32
AGENT_SEED = bytes([52]) * 32
FUNDS = 1_000_000_000_000

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("settings-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    owner = keyring.import_seed("owner", OWNER_SEED)
    agent = keyring.import_seed("agent", AGENT_SEED)
    with LocalNode.start(home, funds={owner.address: FUNDS, agent.address: FUNDS}) as running:
        yield running


def run(node: LocalNode, *args: str) -> tuple[int, Any]:
    """Run `voxpop ARGS --output json` against the node; returns the exit code and the JSON."""
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    argv = [*args, *options, "--output", "json"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_put_read_rotate_delete(node: LocalNode) -> None:
    for who in ("owner", "agent"):
        assert run(node, "tx", "directory", "publish", who)[0] == 0
    # Before any key: a put is refused on this machine with a code
    code, out = run(node, "tx", "settings", "put", "owner", "location", "Lisbon")
    assert code != 0 and out["error"]["code"] == "settings_no_key", out
    code, out = run(node, "tx", "settings", "rotate", "owner", "--recipient", "agent")
    assert code == 0 and out["code"] == 0 and out["epoch"] == 1, out
    code, epoch = run(node, "query", "settings", "epoch", "owner", "--prove")
    assert code == 0 and epoch["epoch"] == 1 and len(epoch["recipients"]) == 2 and epoch["verified"]

    code, out = run(node, "tx", "settings", "put", "owner", "location", "Lisbon, PT")
    assert code == 0 and out["code"] == 0 and out["version"] == 1, out
    assert "Lisbon" not in json.dumps(out)  # only ciphertext and the record id went out
    record_id = out["record_id"]
    owner = decode_address(epoch["owner"])
    with VoxClient(node.url) as client:
        agent = SettingsVault(client, owner, PrivateKey(AGENT_SEED))
        assert agent.read("location") == b"Lisbon, PT"
        assert agent.record_id("location").hex() == record_id
    code, record = run(node, "query", "settings", "record", "owner", record_id, "--prove")
    assert code == 0 and (record["version"], record["epoch"]) == (1, 1) and record["verified"]
    code, listed = run(node, "query", "settings", "by-owner", "owner", "--prove")
    assert code == 0 and [r["record_id"] for r in listed["records"]] == [record_id]
    code, wrap = run(node, "query", "settings", "wrap", "owner", "1", "agent", "--prove")
    assert code == 0 and len(bytes.fromhex(wrap["sealed"])) == 121

    # A stale --version is refused by the chain
    code, out = run(node, "tx", "settings", "put", "owner", "location", "x", "--version", "1")
    assert code != 0 and out["error"]["code"] == "settings_version_conflict", out

    # The owner drops the agent: what is written next, the agent cannot read
    code, out = run(node, "tx", "settings", "rotate", "owner")
    assert code == 0 and out["epoch"] == 2, out
    assert run(node, "tx", "settings", "put", "owner", "location", "Faro, PT")[0] == 0
    with VoxClient(node.url) as client:
        agent = SettingsVault(client, owner, PrivateKey(AGENT_SEED))
        with pytest.raises(SettingsKeyError):
            agent.read("location")
        assert SettingsVault(client, owner, PrivateKey(OWNER_SEED)).read("location") == b"Faro, PT"

    code, out = run(node, "tx", "settings", "delete", "owner", "location")
    assert code == 0 and out["code"] == 0, out
    code, out = run(node, "tx", "settings", "delete", "owner", "location")
    assert code != 0 and out["error"]["code"] == "settings_record_not_found", out


def test_invalid_query_input(node: LocalNode) -> None:
    code, out = run(node, "query", "settings", "record", "owner", "abcd")
    assert code != 0 and out["error"]["code"] == "invalid_query"
    code, out = run(node, "query", "settings", "wrap", "owner", "0", "agent")
    assert code != 0 and out["error"]["code"] == "invalid_query"
