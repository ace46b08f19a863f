"""`voxpop agent authorize|grants|revoke` against a real solo node: the owner authorizes its agent
in one tx, the agent (with no funds of its own for fees) opens a channel for the owner under its
daily cap, passes the cap and is refused with the chain's code, and once revoked every agent
message is refused at once. (The next day's fresh cap is block-time logic: tests/chain/
test_authz_spend.py advances the block time.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from voxpop.cli.agent import agent_app
from voxpop.cli.keys import BACKEND_ENV, PASSPHRASE_ENV
from voxpop.cli.tx import tx_app
from voxpop.client.agent_grants import DAY_SECONDS, SPENDING_MSG_TYPES, granted_types
from voxpop.crypto import Keyring

pytestmark = pytest.mark.slow

OWNER_SEED = bytes([71]) * 32
AGENT_SEED = bytes([72]) * 32
PROVIDER_SEED = bytes([73]) * 32
FUNDS = 1_000_000_000_000
AGENT_FUNDS = 1  # the agent's fees come from the owner's allowance

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(agent_app, name="agent")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from voxpop.client.testing import LocalNode

    home = tmp_path_factory.mktemp("agent-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    owner = keyring.import_seed("owner", OWNER_SEED)
    agent = keyring.import_seed("agent", AGENT_SEED)
    provider = keyring.import_seed("provider", PROVIDER_SEED)
    funds = {owner.address: FUNDS, agent.address: AGENT_FUNDS, provider.address: FUNDS}
    with LocalNode.start(home, funds=funds) as running:
        yield running


def run(node: Any, *args: str) -> tuple[int, Any]:
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {
        PASSPHRASE_ENV: None,
        BACKEND_ENV: None,
        "VOXPOP_HOME": None,
        "VOXPOP_NODE": None,
        "VOXPOP_OWNER_KEY": None,
    }
    argv = [*args, *options, "--output", "json"]
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def run_text(node: Any, *args: str) -> tuple[int, str]:
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_OWNER_KEY": None}
    result = CliRunner().invoke(app, [*args, *options], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout


def key_info(node: Any, name: str) -> Any:
    return Keyring(node.home / "keyring", "test").show(name)


def agent_exec(node: Any, tmp_path: Path, msg: dict[str, Any], *fee: str) -> tuple[int, Any]:
    """The agent runs one message for the owner through `voxpop tx authz exec`."""
    path = tmp_path / "msgs.json"
    path.write_text(json.dumps([msg]))
    return run(node, "tx", "authz", "exec", "agent", str(path), *fee)


def test_authorize_cap_and_revoke(node: Any, tmp_path: Path) -> None:
    owner, agent = key_info(node, "owner").address, key_info(node, "agent")
    provider = key_info(node, "provider").address
    code, out = run(
        node,
        "agent",
        "authorize",
        "agent",
        "--key",
        "owner",
        "--cap-per-day",
        "1000uvox",
        "--fee-cap-per-day",
        "1vox",
    )
    assert code == 0 and out["code"] == 0, out
    assert out["granted"] == list(granted_types())
    assert set(out["granted"]) >= SPENDING_MSG_TYPES
    # What the agent holds, proven complete
    code, held = run(node, "agent", "grants", "agent")
    assert code == 0 and held["verified"], held
    caps = {g["msg_type"]: (g["period_seconds"], g["period_limit"]) for g in held["grants"]}
    assert caps == {
        t: (DAY_SECONDS, 1_000) if t in SPENDING_MSG_TYPES else (0, 0) for t in out["granted"]
    }
    fees = held["fee_allowance"]
    assert (fees["period_seconds"], fees["period_limit"], fees["allowed_msgs"]) == (
        DAY_SECONDS,
        1_000_000,
        ["authz/Exec"],
    )

    code, text = run_text(node, "agent", "grants", "agent")
    assert code == 0 and "channels/Open" in text and "uvox / day" in text, text
    assert "verified" in text

    # The agent opens a channel for the owner under the cap, the owner paying its fee
    def open_msg(deposit: int) -> dict[str, Any]:
        value = {
            "payer": owner,
            "payee": provider,
            "voucher_key": agent.public_key.hex(),
            "deposit": deposit,
        }
        return {"type": "channels/Open", "value": value}

    by_owner = ("--fee-granter", "owner")
    code, out = agent_exec(node, tmp_path, open_msg(600), *by_owner)
    assert code == 0 and out["code"] == 0, out
    # Past the daily cap: refused with its code
    code, out = agent_exec(node, tmp_path, open_msg(401), *by_owner)
    assert code != 0 and out["error"]["code"] == "authorization_exceeded", out
    code, out = agent_exec(node, tmp_path, open_msg(400), *by_owner)
    assert code == 0 and out["code"] == 0, out
    code, held = run(node, "agent", "grants", "agent", "--key", owner)
    spent = {g["msg_type"]: g["period_spent"] for g in held["grants"]}
    assert spent["channels/Open"] == 1_000

    # Revoked in one tx: every agent message is refused at once
    code, out = run(node, "agent", "revoke", "agent")
    assert code == 0 and out["code"] == 0, out
    assert out["revoked"] == sorted(caps) and out["allowance_revoked"]
    code, held = run(node, "agent", "grants", "agent")
    assert held["grants"] == [] and held["fee_allowance"] is None and held["verified"]
    code, out = agent_exec(node, tmp_path, open_msg(1), *by_owner)
    assert code != 0 and out["error"]["code"] == "no_allowance", out
    run(node, "tx", "bank", "send", "provider", "agent", "1vox")  # the agent pays its own fees
    settle = {"type": "skills/Settle", "value": {"payer": owner, "uses": [["a-b.c", 1]]}}
    top_up_value = {"payer": owner, "channel_id": "00" * 32, "amount": 1}
    top_up = {"type": "channels/TopUp", "value": top_up_value}
    for msg in (open_msg(1), settle, top_up):
        code, out = agent_exec(node, tmp_path, msg)
        assert code != 0 and out["error"]["code"] == "no_authorization", (msg["type"], out)
    # Nothing left to revoke
    code, out = run(node, "agent", "revoke", "agent")
    assert code != 0 and out["error"]["code"] == "no_authorization", out


def test_invalid_inputs(node: Any) -> None:
    code, out = run(node, "agent", "authorize", "owner")
    assert code != 0 and out["error"]["code"] == "self_grant", out
    code, out = run(node, "agent", "authorize", "agent", "--cap-per-day", "0")
    assert code != 0 and out["error"]["code"] == "invalid_amount", out
    code, out = run(node, "agent", "authorize", "nobody")
    assert code != 0 and out["error"]["code"] == "invalid_address", out
    code, held = run(node, "agent", "grants", "provider")
    assert code == 0 and held["grants"] == [] and held["verified"]
