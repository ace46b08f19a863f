"""Developer rewards through the CLI on a real solo node: a vesting spend pays its recipient
block by block exactly as the floor formula says; a funding round pays the reviewers' medians
and returns the rest to the pool; the bad inputs fail with their codes.

The genesis makes voting short (4 s of block time); `validator` holds every bonded token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.cli.test_gov_cli import (
    FUNDS,
    MIN_DEPOSIT,
    VOTING_SECONDS,
    address,
    app,
    error_code,
    ok,
    submit,
    wait_voting_end,
)
from voxpop.chain.module_accounts import COMMUNITY_POOL, module_address
from voxpop.client import VoxClient
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring, encode_address

pytestmark = pytest.mark.slow

POOL = encode_address(module_address(COMMUNITY_POOL))
SEEDS = {"alice": 51, "stranger": 52, "carol": 53, "dave": 54}
PERIOD = 8  # seconds of applications, then of review


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("gov-rewards-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    keys = {name: keyring.import_seed(name, bytes([seed]) * 32) for name, seed in SEEDS.items()}
    LocalNode.init_home(home, funds={k.address: FUNDS for k in keys.values()})
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
        with VoxClient(running.url) as client:  # fund the community pool
            client.send(keyring.load_private_key("alice"), POOL, 100_000_000)
        yield running


def pass_proposal(node: LocalNode, tmp_path: Path, actions: list[dict[str, Any]]) -> int:
    pid = submit(node, tmp_path, actions)
    ok(node, "tx", "gov", "vote", "validator", str(pid), "yes")
    assert wait_voting_end(node, pid)["status"] == "passed"
    return pid


def make_block(node: LocalNode) -> int:
    """A block (the solo node makes them for txs); returns its height."""
    out = ok(node, "tx", "bank", "send", "alice", address(node, "stranger"), "1uvox")
    height: int = out["height"]
    return height


def wait_until(unix: int) -> None:
    while time.time() <= unix + 1:
        time.sleep(0.3)


def test_vesting_spend_pays_per_block_exactly(node: LocalNode, tmp_path: Path) -> None:
    recipient = encode_address(bytes([21]) * 20)
    amount, duration = 1_000_003, 6
    action = {
        "type": "gov/VestedSpend",
        "value": {"recipient": recipient, "amount": amount, "duration_seconds": duration},
    }
    pid = pass_proposal(node, tmp_path, [action])
    vesting = ok(node, "query", "gov", "vestings", "--prove")["vestings"][-1]
    assert (vesting["proposal"], vesting["recipient"], vesting["total"]) == (pid, recipient, amount)
    start, end = vesting["start_time"], vesting["end_time"]
    assert end == start + duration
    seen = []
    with VoxClient(node.url) as client:
        while True:
            height = make_block(node)
            block_time = client.block(height).header.time_unix
            held = client.balance(recipient, height=height)
            assert held == amount * min(block_time - start, duration) // duration
            seen.append(held)
            if block_time >= end:
                break
            time.sleep(0.7)
    assert seen[-1] == amount and len({s for s in seen if 0 < s < amount}) >= 2, seen
    done = ok(node, "query", "gov", "vestings")["vestings"][-1]
    assert (done["status"], done["paid"]) == ("completed", amount)


def test_funding_round_pays_the_medians(node: LocalNode, tmp_path: Path) -> None:
    reviewers = [address(node, "validator"), address(node, "stranger")]
    budget = 10_000_000
    action = {
        "type": "gov/FundingRound",
        "value": {
            "budget": budget,
            "application_seconds": PERIOD,
            "review_seconds": PERIOD,
            "reviewers": reviewers,
        },
    }
    pass_proposal(node, tmp_path, [action])
    listed = ok(node, "query", "gov", "rounds", "--prove")
    assert listed["verified"] is True
    rid = listed["rounds"][-1]["id"]
    for who in ("carol", "dave"):
        out = ok(node, "tx", "gov", "apply", who, str(rid), f"https://git.example/{who}", "work")
        assert out["code"] == 0, out
    assert error_code(node, "tx", "gov", "apply", "dave", str(rid), "x", "y") == "already_applied"
    assert error_code(node, "tx", "gov", "apply", "stranger", str(rid), "x", "y") == (
        "reviewer_cannot_apply"
    )
    carol, dave = address(node, "carol"), address(node, "dave")
    early = f"{carol}=1vox"
    assert error_code(node, "tx", "gov", "allocate", "validator", str(rid), early) == (
        "not_review_period"
    )
    with VoxClient(node.url) as client:
        before = {who: client.balance(who) for who in (carol, dave)}
        round_ = ok(node, "query", "gov", "round", str(rid))
        wait_until(round_["application_end"])
        make_block(node)  # check_tx judges periods by the last block's time
        ok(node, "tx", "gov", "allocate", "validator", str(rid), f"carol=3vox,{dave}=1vox")
        ok(node, "tx", "gov", "allocate", "stranger", str(rid), f"{carol}=2vox")
        assert error_code(node, "tx", "gov", "allocate", "alice", str(rid), early) == (
            "not_reviewer"
        )
        assert error_code(node, "tx", "gov", "allocate", "validator", str(rid), "carol") == (
            "invalid_allocation"
        )
        wait_until(round_["review_end"])
        pool = client.balance(POOL)
        make_block(node)
        # carol: median of 3 and 2 vox; dave: of 1 and 0 (the stranger left dave out)
        assert client.balance(carol) - before[carol] == 2_500_000
        assert client.balance(dave) - before[dave] == 500_000
        assert client.balance(POOL) >= pool + budget - 3_000_000  # the rest, and the tax
    paid = ok(node, "query", "gov", "round", str(rid), "--prove")
    assert paid["verified"] is True
    assert (paid["status"], paid["paid"], paid["returned"], paid["reviews"]) == (
        "paid",
        3_000_000,
        budget - 3_000_000,
        2,
    )
    results = {a["applicant"]: (a["median"], a["payout"]) for a in paid["applications"]}
    assert results == {carol: (2_500_000, 2_500_000), dave: (500_000, 500_000)}
    by_reviewer = {a["reviewer"]: a["allocations"] for a in paid["allocations"]}
    assert by_reviewer[reviewers[1]] == [{"applicant": carol, "uvox": 2_000_000}]


def test_invalid_rewards_commands(node: LocalNode, tmp_path: Path) -> None:
    assert error_code(node, "query", "gov", "round", "999") == "unknown_round"
    assert error_code(node, "tx", "gov", "apply", "carol", "999", "x", "y") == "unknown_round"
    cancel = {"type": "gov/CancelVesting", "value": {"vesting_id": 999}}
    path = tmp_path / "cancel.json"
    deposit = f"{MIN_DEPOSIT}uvox"
    path.write_text(
        json.dumps({"title": "t", "summary": "s", "deposit": deposit, "actions": [cancel]})
    )
    assert error_code(node, "tx", "gov", "submit-proposal", "alice", str(path)) == (
        "unknown_vesting"
    )


def test_help_has_a_template_for_each_rewards_action() -> None:
    result = CliRunner().invoke(app, ["tx", "gov", "submit-proposal", "--help"])
    assert result.exit_code == 0
    for action in ("gov/VestedSpend", "gov/CancelVesting", "gov/FundingRound"):
        assert action in result.stdout
