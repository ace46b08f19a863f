"""`voxpop tx gov` and `voxpop query gov`, and the HTTP API's gov routes, against a real solo node.

The node's genesis makes voting short (a few seconds of block time). `validator` is the one
bonded validator (its vote carries every bonded token); `alice` proposes and deposits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from voxpop.chain.encoding import decode_state
from voxpop.chain.module_accounts import COMMUNITY_POOL, module_address
from voxpop.chain.modules.gov import tally
from voxpop.cli.commands.gov import read_tally
from voxpop.cli.keyring import KeyringBackendChoice
from voxpop.cli.keys import BACKEND_ENV, PASSPHRASE_ENV
from voxpop.cli.options import StateQueryOptions
from voxpop.cli.output import OutputFormat
from voxpop.cli.query import query_app
from voxpop.cli.tx import tx_app
from voxpop.client import QueryResult, VoxClient
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring, encode_address

pytestmark = pytest.mark.slow

ALICE_SEED = bytes([41]) * 32
STRANGER_SEED = bytes([42]) * 32
FUNDS = 1_000_000_000_000
MIN_DEPOSIT = 10_000_000
VOTING_SECONDS = 4

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("gov-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    alice = keyring.import_seed("alice", ALICE_SEED)
    keyring.import_seed("stranger", STRANGER_SEED)
    LocalNode.init_home(home, funds={alice.address: FUNDS})
    genesis_path = home / "config" / "genesis.json"
    genesis = json.loads(genesis_path.read_text())
    genesis["app_state"]["gov"] = {
        "params": {
            "min_deposit": MIN_DEPOSIT,
            "min_initial_deposit_bps": 2_500,
            "max_deposit_period_seconds": 60,
            "voting_period_seconds": VOTING_SECONDS,
            "quorum_bps": 3_340,
            "threshold_bps": 5_000,
            "veto_threshold_bps": 3_340,
        }
    }
    genesis_path.write_text(json.dumps(genesis))
    with LocalNode.start(home) as running:
        with VoxClient(running.url) as client:  # a first block, so state is readable
            client.send(keyring.load_private_key("alice"), keyring.show("stranger").address, 1)
        yield running


def run(node: LocalNode, *args: str) -> tuple[int, Any]:
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    result = CliRunner().invoke(
        app, [*args, *options, "--output", "json"], env=env, catch_exceptions=False
    )
    return result.exit_code, json.loads(result.stdout)


def ok(node: LocalNode, *args: str) -> Any:
    code, out = run(node, *args)
    assert code == 0, out
    return out


def error_code(node: LocalNode, *args: str) -> str:
    code, out = run(node, *args)
    assert code != 0, out
    found: str = out["error"]["code"]
    return found


def address(node: LocalNode, name: str) -> str:
    return Keyring(node.home / "keyring", "test").show(name).address


def proposal_file(tmp_path: Path, actions: list[dict[str, Any]]) -> str:
    path = tmp_path / "proposal.json"
    deposit = f"{MIN_DEPOSIT}uvox"
    path.write_text(
        json.dumps({"title": "t", "summary": "s", "deposit": deposit, "actions": actions})
    )
    return str(path)


def submit(node: LocalNode, tmp_path: Path, actions: list[dict[str, Any]]) -> int:
    path = proposal_file(tmp_path, actions)
    out = ok(node, "tx", "gov", "submit-proposal", "alice", path, "--title", "from the option")
    assert out["code"] == 0 and out["type"] == "gov/SubmitProposal", out
    assert (out["title"], out["summary"]) == ("from the option", "s")
    listed = ok(node, "query", "gov", "proposals")["proposals"]
    pid: int = listed[-1]["id"]
    return pid


def wait_voting_end(node: LocalNode, pid: int) -> dict[str, Any]:
    """Wait out the voting period, then make a block (the chain makes blocks only for txs)."""
    end = ok(node, "query", "gov", "proposal", str(pid))["voting_end_time"]
    while time.time() <= end + 1:
        time.sleep(0.5)
    ok(node, "tx", "bank", "send", "alice", address(node, "stranger"), "1uvox")
    out: dict[str, Any] = ok(node, "query", "gov", "proposal", str(pid))
    return out


def test_param_change_passes_and_tally_verifies(node: LocalNode, tmp_path: Path) -> None:
    change = {
        "type": "gov/ParamChange",
        "value": {"module": "staking", "changes": {"max_validators": 7}},
    }
    pid = submit(node, tmp_path, [change])
    assert ok(node, "query", "gov", "proposal", str(pid), "--prove")["status"] == "voting"
    out = ok(node, "tx", "gov", "vote", "validator", str(pid), "yes")
    assert out["option"] == 1
    assert ok(node, "query", "gov", "votes", str(pid), "--voter", "validator")["options"] == [
        {"option": "yes", "weight": 1_000_000}
    ]
    assert wait_voting_end(node, pid)["status"] == "passed"
    with VoxClient(node.url) as client:
        params = decode_state(client.query("/staking/params", prove=True).value)
    assert params["max_validators"] == 7

    tally = ok(node, "query", "gov", "tally", str(pid), "--verify")
    assert tally["yes"] == tally["bonded"] > 0 and tally["verified"] is True
    assert tally["verification"]["list"] and tally["verification"]["totals"]
    assert tally["verification"]["state"].startswith("every entry checked")
    votes = ok(node, "query", "gov", "votes", str(pid))["votes"]
    assert {v["voter"] for v in votes} == {address(node, "validator")}

    # The HTTP API lists the proposal and its tally
    with httpx.Client(base_url=node.url, timeout=30) as http:
        listed = http.get("/v1/gov/proposals", params={"status": "passed"}).json()
        assert pid in [p["id"] for p in listed["proposals"]]
        body = http.get(f"/v1/gov/proposals/{pid}/tally").json()
        assert body["yes"] == tally["yes"] and len(body["entries"]) == tally["count"]
        missing = http.get("/v1/gov/proposals/999")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_proposal"


def test_community_spend_reaches_recipient_exactly(node: LocalNode, tmp_path: Path) -> None:
    with VoxClient(node.url) as client:
        pool = client.balance(module_address(COMMUNITY_POOL))
        assert pool > 0
        recipient = encode_address(bytes([9]) * 20)
        before = client.balance(recipient)
        amount = pool // 2
        spend = {"type": "gov/CommunitySpend", "value": {"recipient": recipient, "amount": amount}}
        pid = submit(node, tmp_path, [spend])
        ok(node, "tx", "gov", "weighted-vote", "validator", str(pid), "yes=0.75,abstain=0.25")
        assert wait_voting_end(node, pid)["status"] == "passed"
        assert client.balance(recipient) == before + amount


def test_invalid_gov_commands(node: LocalNode, tmp_path: Path) -> None:
    assert error_code(node, "tx", "gov", "vote", "validator", "999", "yes") == "unknown_proposal"
    assert error_code(node, "tx", "gov", "vote", "validator", "1", "maybe") == "invalid_vote_option"
    assert (
        error_code(node, "tx", "gov", "weighted-vote", "validator", "1", "yes=0.5,no=0.4")
        == "invalid_vote_weights"
    )
    bad = {"type": "gov/ParamChange", "value": {"module": "staking", "changes": {"nope": 1}}}
    path = proposal_file(tmp_path, [bad])
    assert (
        error_code(node, "tx", "gov", "submit-proposal", "alice", path) == "invalid_proposal_action"
    )
    (tmp_path / "broken.json").write_text("{")
    broken = str(tmp_path / "broken.json")
    assert (
        error_code(node, "tx", "gov", "submit-proposal", "alice", broken) == "invalid_proposal_file"
    )
    assert error_code(node, "query", "gov", "tally", "999") == "tally_not_found"


class LyingNode(VoxClient):
    """A node that serves one tally list entry with more weight than the chain counted."""

    def query(
        self, path: str, data: bytes = b"", height: int | None = None, prove: bool = False
    ) -> QueryResult:
        result = super().query(path, data, height, prove)
        if path != "/gov/tally_chunk":
            return result
        entries = tally.decode_chunks([result.value])
        voter, kind, weight, options, delegations = entries[0]
        entries[0] = (voter, kind, weight + 1, options, delegations)
        return replace(result, value=tally.chunk_entries(entries)[0])


def test_verify_catches_a_lying_node(
    node: LocalNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = submit(node, tmp_path, [])
    ok(node, "tx", "gov", "vote", "validator", str(pid), "no")
    assert wait_voting_end(node, pid)["status"] == "rejected"
    opts = StateQueryOptions(
        prove=False,
        height=None,
        node=node.url,
        trust=None,
        trust_height=None,
        trust_hash=None,
        home=None,
        keyring_backend=KeyringBackendChoice.TEST,
        output=OutputFormat.JSON,
    )
    given = {"proposal_id": pid, "verify": True}
    with VoxClient(node.url) as honest:
        assert read_tally(honest, opts, given)["verification"]["list"] is True
    capsys.readouterr()
    with LyingNode(node.url) as liar, pytest.raises(typer.Exit):
        read_tally(liar, opts, given)
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["code"] == "tally_unverified" and "commitment" in error["message"]
