"""`voxpop tx skills ...` and `voxpop query skills skill|by-creator` against a real solo node: a
creator registers skills, a device settles a batch of uses and the royalties arrive exactly, the
creator's list is proven complete, and transfers, retirement and bad input behave."""

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

CREATOR_SEED = bytes([61]) * 32
DEVICE_SEED = bytes([62]) * 32
OTHER_SEED = bytes([63]) * 32
FUNDS = 1_000_000_000_000
WEATHER = "skill-weather.openvoiceos"
JOKES = "ovos-skill-jokes.jarbasskills"
FEE = 100  # the minimum fee for the default gas

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("skills-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    creator = keyring.import_seed("creator", CREATOR_SEED)
    device = keyring.import_seed("device", DEVICE_SEED)
    keyring.import_seed("other", OTHER_SEED)
    with LocalNode.start(home, funds={creator.address: FUNDS, device.address: FUNDS}) as running:
        yield running


def run(node: LocalNode, *args: str) -> tuple[int, Any]:
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    argv = [*args, *options, "--output", "json"]
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def address(node: LocalNode, name: str) -> str:
    return Keyring(node.home / "keyring", "test").show(name).address


def balance(node: LocalNode, who: str) -> int:
    code, out = run(node, "query", "bank", "balance", who)
    assert code == 0, out
    return int(out["balance"])


def test_register_settle_and_read(node: LocalNode) -> None:
    creator, device, other = (address(node, n) for n in ("creator", "device", "other"))
    code, out = run(node, "tx", "skills", "register", "creator", WEATHER, "3")
    assert code == 0 and out["code"] == 0, out
    assert out["fee_per_use"] == 3 and out["payout"] == creator
    code, out = run(
        node, "tx", "skills", "register", "creator", JOKES, "0.00001vox", "--payout", other
    )
    assert code == 0 and out["code"] == 0, out
    code, listed = run(node, "query", "skills", "by-creator", "creator", "--prove")
    assert code == 0 and listed["verified"], listed
    assert [(s["skill_id"], s["fee"], s["payout"]) for s in listed["skills"]] == [
        (JOKES, 10, other),
        (WEATHER, 3, creator),
    ]

    before = {who: balance(node, who) for who in (creator, device, other)}
    code, out = run(node, "tx", "skills", "settle", "device", f"{WEATHER}=4", f"{JOKES}=7")
    assert code == 0 and out["code"] == 0, out
    assert out["uses"] == [[WEATHER, 4], [JOKES, 7]]
    assert balance(node, creator) == before[creator] + 12
    assert balance(node, other) == before[other] + 70
    assert balance(node, device) == before[device] - 82 - FEE

    code, answer = run(node, "query", "skills", "skill", WEATHER, "--prove")
    assert code == 0 and answer["verified"], answer
    skill = answer["skill"]
    assert (skill["creator"], skill["uses"], skill["paid"], skill["settlements"]) == (
        creator,
        4,
        12,
        1,
    )
    code, answer = run(node, "query", "skills", "skill", "nobody.nowhere")
    assert code == 0 and answer["skill"] is None


def test_update_transfer_retire(node: LocalNode) -> None:
    creator, other = address(node, "creator"), address(node, "other")
    skill_id = "skill-timer.openvoiceos"
    code, out = run(node, "tx", "skills", "register", "creator", skill_id, "5")
    assert code == 0 and out["code"] == 0, out
    # A new fee; the payout, left out, stays
    code, out = run(node, "tx", "skills", "update", "creator", skill_id, "6")
    assert code == 0 and out["code"] == 0 and out["payout"] == creator, out
    code, out = run(node, "tx", "skills", "transfer", "creator", skill_id, "device")
    assert code == 0 and out["code"] == 0, out
    device = address(node, "device")
    assert out["new_creator"] == out["payout"] == device
    code, answer = run(node, "query", "skills", "skill", skill_id)
    assert (answer["skill"]["creator"], answer["skill"]["fee"]) == (device, 6)
    # Only the creator retires it, and a retired skill takes no settlement
    code, out = run(node, "tx", "skills", "retire", "creator", skill_id)
    assert code != 0 and out["error"]["code"] == "not_skill_creator", out
    code, out = run(node, "tx", "skills", "retire", "device", skill_id)
    assert code == 0 and out["code"] == 0, out
    code, out = run(node, "tx", "skills", "settle", "device", f"{skill_id}=1")
    assert code != 0 and out["error"]["code"] == "skill_retired", out
    code, listed = run(node, "query", "skills", "by-creator", "device")
    assert listed["skills"] == []
    assert other  # the third key only receives


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("register", "creator", "Not.An.Id!", "3"), "invalid_skill_id"),
        (("register", "creator", "free.skill", "0"), "invalid_amount"),
        (("register", "creator", "free.skill", "abc"), "invalid_amount"),
        (("settle", "device", "skill-weather.openvoiceos"), "invalid_message"),
        (("settle", "device", "skill-weather.openvoiceos=-1"), "invalid_message"),
        (("settle", "device", "skill-weather.openvoiceos=0"), "invalid_message"),
        (("settle", "device", f"{WEATHER}=1", f"{WEATHER}=2"), "duplicate_skill_use"),
        (("settle", "device", "unknown.skill=1"), "skill_not_found"),
        (("settle", "device", f"{WEATHER}=18446744073709551615"), "skill_fee_overflow"),
        (("update", "creator", "unknown.skill", "3"), "skill_not_found"),
        (("update", "device", WEATHER, "1"), "not_skill_creator"),
    ],
)
def test_invalid_inputs(node: LocalNode, args: tuple[str, ...], error: str) -> None:
    run(node, "tx", "skills", "register", "creator", WEATHER, "3")  # once; later: skill_exists
    code, out = run(node, "tx", "skills", *args)
    assert code != 0 and out["error"]["code"] == error, out


def test_text_output(node: LocalNode) -> None:
    run(node, "tx", "skills", "register", "creator", WEATHER, "3")
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    env["COLUMNS"] = "200"  # rows unwrapped
    for what in (("skill", WEATHER), ("by-creator", "creator"), ("skill", "nobody.nowhere")):
        result = CliRunner().invoke(app, ["query", "skills", *what, *options], env=env)
        assert result.exit_code == 0, result.output
        assert what[1] in result.stdout or "creator" in what
    result = CliRunner().invoke(
        app, ["query", "skills", "by-creator", "creator", *options], env=env
    )
    assert WEATHER in result.stdout and "3 uvox" in result.stdout


def test_agent_settles_for_the_device_under_authz(node: LocalNode, tmp_path: Path) -> None:
    creator, device = address(node, "creator"), address(node, "device")
    run(node, "tx", "skills", "register", "creator", WEATHER, "3")
    code, out = run(node, "tx", "bank", "send", "creator", address(node, "other"), "1vox")
    assert code == 0 and out["code"] == 0, out
    msgs = tmp_path / "settle.json"
    settle = {"type": "skills/Settle", "value": {"payer": device, "uses": [[WEATHER, 2]]}}
    msgs.write_text(json.dumps([settle]))
    # Without a grant, "other" cannot settle (spend) for the device
    code, out = run(node, "tx", "authz", "exec", "other", str(msgs))
    assert code != 0 and out["error"]["code"] == "no_authorization", out
    code, out = run(node, "tx", "authz", "grant", "device", "other", "skills/Settle")
    assert code == 0 and out["code"] == 0, out
    before = {who: balance(node, who) for who in (creator, device)}
    code, out = run(node, "tx", "authz", "exec", "other", str(msgs))
    assert code == 0 and out["code"] == 0, out
    assert balance(node, creator) == before[creator] + 6
    assert balance(node, device) == before[device] - 6  # the agent paid the fee
