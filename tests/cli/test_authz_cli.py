"""`voxpop tx authz|feegrant ...` and `voxpop query authz grants|feegrant allowance` against a real
solo node: an owner lets its agent send for it, the agent's Exec is run from a JSON file, the
grants list is proven complete, and revoking is immediate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from voxpop.cli.keys import BACKEND_ENV, PASSPHRASE_ENV
from voxpop.cli.query import query_app
from voxpop.cli.tx import tx_app
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring

pytestmark = pytest.mark.slow

OWNER_SEED = bytes([51]) * 32
AGENT_SEED = bytes([52]) * 32
FUNDS = 1_000_000_000_000

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("authz-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    owner = keyring.import_seed("owner", OWNER_SEED)
    agent = keyring.import_seed("agent", AGENT_SEED)
    with LocalNode.start(home, funds={owner.address: FUNDS, agent.address: FUNDS}) as running:
        yield running


def run(node: LocalNode, *args: str) -> tuple[int, Any]:
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    argv = [*args, *options, "--output", "json"]
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def address(node: LocalNode, name: str) -> str:
    return Keyring(node.home / "keyring", "test").show(name).address


def test_owner_lets_agent_send(node: LocalNode, tmp_path: Path) -> None:
    owner, agent = address(node, "owner"), address(node, "agent")
    code, out = run(
        node, "tx", "authz", "grant", "owner", "agent", "bank/Send", "--spend-limit", "2vox"
    )
    assert code == 0 and out["code"] == 0, out
    code, grants = run(node, "query", "authz", "grants", "owner", "--prove")
    assert code == 0 and grants["verified"], grants
    assert [(g["grantee"], g["msg_type"], g["spend_limit"]) for g in grants["grants"]] == [
        (agent, "bank/Send", 2_000_000)
    ]
    msgs = tmp_path / "msgs.json"
    send = {"type": "bank/Send", "value": {"from": owner, "to": agent, "amount": 1_500_000}}
    msgs.write_text(json.dumps([send]))
    code, out = run(node, "tx", "authz", "exec", "agent", str(msgs))
    assert code == 0 and out["code"] == 0, out
    # Beyond the spend limit: refused with the chain's code
    code, out = run(node, "tx", "authz", "exec", "agent", str(msgs))
    assert code != 0 and out["error"]["code"] == "authorization_exceeded", out
    code, out = run(node, "tx", "authz", "revoke", "owner", "agent", "bank/Send")
    assert code == 0, out
    code, grants = run(node, "query", "authz", "grants", "owner", "--prove")
    assert grants["grants"] == [] and grants["verified"]


def test_fee_allowance(node: LocalNode) -> None:
    args = ("tx", "feegrant", "grant", "owner", "agent", "--spend-limit", "1vox")
    code, out = run(node, *args, "--allow-msg", "authz/Exec")
    assert code == 0 and out["code"] == 0, out
    code, answer = run(node, "query", "feegrant", "allowance", "owner", "agent", "--prove")
    assert code == 0 and answer["verified"], answer
    assert answer["allowance"]["spend_limit"] == 1_000_000
    assert answer["allowance"]["allowed_msgs"] == ["authz/Exec"]
    code, out = run(node, "tx", "feegrant", "revoke", "owner", "agent")
    assert code == 0, out
    code, answer = run(node, "query", "feegrant", "allowance", "owner", "agent")
    assert answer["allowance"] is None


def test_invalid_inputs(node: LocalNode, tmp_path: Path) -> None:
    code, out = run(node, "tx", "authz", "grant", "owner", "owner", "bank/Send")
    assert code != 0 and out["error"]["code"] == "self_grant"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"type": "bank/Send", "value": {"from": "nope"}}]))
    code, out = run(node, "tx", "authz", "exec", "agent", str(bad))
    assert code != 0 and out["error"]["code"] == "invalid_message"
    code, out = run(node, "tx", "authz", "exec", "agent", str(tmp_path / "missing.json"))
    assert code != 0 and out["error"]["code"] == "invalid_message"


def test_fee_granter_option_pays_from_the_allowance(node: LocalNode) -> None:
    owner, agent = address(node, "owner"), address(node, "agent")
    code, out = run(node, "tx", "feegrant", "grant", "owner", "agent", "--spend-limit", "1vox")
    assert code == 0 and out["code"] == 0, out
    before = {
        who: run(node, "query", "bank", "balance", who)[1]["balance"] for who in (owner, agent)
    }
    fee = 100  # the minimum for the default gas
    code, out = run(node, "tx", "bank", "send", "agent", owner, "5uvox", "--fee-granter", "owner")
    assert code == 0 and out["code"] == 0, out
    after = {
        who: run(node, "query", "bank", "balance", who)[1]["balance"] for who in (owner, agent)
    }
    assert after[agent] == before[agent] - 5  # the agent paid the amount, not the fee
    assert after[owner] == before[owner] + 5 - fee
    _, answer = run(node, "query", "feegrant", "allowance", "owner", "agent")
    assert answer["allowance"]["spend_limit"] == 1_000_000 - fee
    # A granter that gave no allowance is refused with a code, and nothing moves
    code, out = run(node, "tx", "bank", "send", "owner", agent, "5uvox", "--fee-granter", "agent")
    assert code != 0 and out["error"]["code"] == "no_allowance", out
    run(node, "tx", "feegrant", "revoke", "owner", "agent")
