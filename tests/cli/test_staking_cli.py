"""`voxpop tx staking|distribution|slashing` and `voxpop query staking` against a real solo node.

`voxpop node init` makes the key `validator` in the home's test keyring, already a bonded genesis
validator; `alice` is a funded key that delegates to it.
"""

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
from voxpop.client import VoxClient
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring, decode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.node.validator_key import save_validator_key

pytestmark = pytest.mark.slow

ALICE_SEED = bytes([31]) * 32
STRANGER_SEED = bytes([32]) * 32  # a key that runs no validator
FUNDS = 1_000_000_000_000

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("staking-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    alice = keyring.import_seed("alice", ALICE_SEED)
    keyring.import_seed("stranger", STRANGER_SEED)
    with LocalNode.start(home, funds={alice.address: FUNDS}) as running:
        # The chain makes blocks only for txs, and state is readable from the first block on
        with VoxClient(running.url) as client:
            client.send(keyring.load_private_key("alice"), keyring.show("stranger").address, 1)
        yield running


@pytest.fixture(scope="module")
def addresses(node: LocalNode) -> dict[str, str]:
    keyring = Keyring(node.home / "keyring", "test")
    return {name: keyring.show(name).address for name in ("alice", "stranger", "validator")}


def run(node: LocalNode, *args: str) -> tuple[int, Any]:
    """Run `voxpop ARGS --output json` against the node; returns the exit code and the JSON."""
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    argv = [*args, *options, "--output", "json"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def error_code(out: Any) -> str:
    code: str = out["error"]["code"]
    return code


def delegation(node: LocalNode, validator: str, delegator: str) -> dict[str, Any]:
    code, out = run(node, "query", "staking", "delegation", validator, delegator)
    assert code == 0, out
    return dict(out)


def test_query_validator(node: LocalNode, addresses: dict[str, str]) -> None:
    code, out = run(node, "query", "staking", "validator", "validator", "--prove")
    assert code == 0, out
    assert out["operator"] == addresses["validator"]
    assert out["status"] == "bonded"
    assert out["jailed"] is False
    assert out["tokens"] > 0
    assert out["verified"] is True


def test_delegate_then_undelegate(node: LocalNode, addresses: dict[str, str]) -> None:
    before = delegation(node, "validator", "alice")["tokens"]
    code, out = run(node, "tx", "staking", "delegate", "alice", addresses["validator"], "5vox")
    assert code == 0, out
    assert out["code"] == 0 and out["height"] > 0
    assert out["type"] == "staking/Delegate"
    assert out["amount"] == 5_000_000
    after = delegation(node, addresses["validator"], addresses["alice"])
    assert after["tokens"] == before + 5_000_000
    assert after["shares"] > 0

    code, out = run(node, "tx", "staking", "undelegate", "alice", "validator", "2vox")
    assert code == 0, out
    assert out["type"] == "staking/Undelegate"
    assert delegation(node, "validator", "alice")["tokens"] == before + 3_000_000


def test_claim_rewards(node: LocalNode) -> None:
    code, out = run(node, "tx", "staking", "delegate", "alice", "validator", "1vox")
    assert code == 0, out
    code, out = run(node, "tx", "distribution", "claim-rewards", "alice", "validator")
    assert code == 0, out
    assert out["code"] == 0 and out["type"] == "distribution/ClaimRewards"
    assert out["validator"] == Keyring(node.home / "keyring", "test").show("validator").address


def test_edit_validator(node: LocalNode) -> None:
    code, out = run(
        node,
        "tx",
        "staking",
        "edit-validator",
        "validator",
        "--moniker",
        "renamed",
        "--details",
        "d",
    )
    assert code == 0, out
    assert out["type"] == "staking/EditValidator"
    code, out = run(node, "query", "staking", "validator", "validator")
    assert code == 0, out
    assert (out["moniker"], out["details"]) == ("renamed", "d")


def test_invalid_amount(node: LocalNode) -> None:
    code, out = run(node, "tx", "staking", "delegate", "alice", "validator", "lots")
    assert code != 0
    assert error_code(out) == "invalid_amount"


def test_invalid_unknown_validator(node: LocalNode, addresses: dict[str, str]) -> None:
    # An address that runs no validator: the chain refuses it by name
    code, out = run(node, "tx", "staking", "delegate", "alice", addresses["stranger"], "1vox")
    assert code != 0
    assert error_code(out) == "unknown_validator"
    # A name that is neither an address nor a key
    code, out = run(node, "tx", "staking", "delegate", "alice", "nobody", "1vox")
    assert code != 0
    assert error_code(out) == "invalid_address"
    code, out = run(node, "query", "staking", "validator", addresses["stranger"])
    assert code != 0
    assert error_code(out) == "unknown_validator"


def test_invalid_edit_validator_not_an_operator(node: LocalNode) -> None:
    code, out = run(node, "tx", "staking", "edit-validator", "stranger", "--moniker", "x")
    assert code != 0
    assert error_code(out) == "unknown_validator"


def test_invalid_commission_rate(node: LocalNode) -> None:
    code, out = run(
        node, "tx", "staking", "edit-validator", "validator", "--commission-rate-bps", "20000"
    )
    assert code != 0
    assert error_code(out) == "invalid_commission"


def test_invalid_unjail_not_jailed(node: LocalNode) -> None:
    code, out = run(node, "tx", "slashing", "unjail", "validator")
    assert code != 0
    assert error_code(out) == "validator_not_jailed"


def test_create_validator_then_redelegate(
    node: LocalNode, addresses: dict[str, str], tmp_path: Path
) -> None:
    key_file = tmp_path / "priv_validator_key.json"
    consensus_key = PrivateKey(bytes([33]) * 32)
    save_validator_key(key_file, consensus_key)
    code, out = run(
        node,
        "tx",
        "staking",
        "create-validator",
        "alice",
        "--self-bond",
        "2vox",
        "--consensus-key-file",
        str(key_file),
        "--moniker",
        "alice-val",
    )
    assert code == 0, out
    assert out["type"] == "staking/CreateValidator"
    assert out["consensus_pub_key"] == consensus_key.public_key.raw.hex()
    code, out = run(node, "query", "staking", "validator", "alice")
    assert code == 0, out
    assert (out["moniker"], out["tokens"], out["commission_rate_bps"]) == (
        "alice-val",
        2_000_000,
        1000,
    )

    before = delegation(node, "alice", "alice")["tokens"]
    code, out = run(node, "tx", "staking", "redelegate", "alice", "validator", "alice", "1vox")
    assert code == 0, out
    assert out["type"] == "staking/Redelegate"
    assert delegation(node, "alice", "alice")["tokens"] == before + 1_000_000
    # A validator this new may have earned nothing yet: paid, or refused by name
    code, out = run(node, "tx", "distribution", "claim-commission", "alice")
    if code == 0:
        assert out["type"] == "distribution/ClaimCommission"
    else:
        assert error_code(out) == "no_commission"


def test_invalid_create_validator_bad_key_file(node: LocalNode, tmp_path: Path) -> None:
    bad = tmp_path / "missing.json"
    code, out = run(
        node,
        "tx",
        "staking",
        "create-validator",
        "stranger",
        "--self-bond",
        "1vox",
        "--consensus-key-file",
        str(bad),
    )
    assert code != 0
    assert error_code(out) == "invalid_consensus_key"


def test_query_validator_and_delegation_at_a_height(node: LocalNode) -> None:
    code, out = run(node, "query", "staking", "validator", "validator", "--height", "1", "--prove")
    assert code == 0, out
    assert (out["height"], out["verified"], out["status"]) == (1, True, "bonded")
    code, out = run(node, "query", "staking", "delegation", "validator", "alice", "--height", "1")
    assert code == 0, out
    assert (out["height"], out["shares"], out["tokens"]) == (1, 0, 0)


def test_query_delegations_proven_complete(node: LocalNode, addresses: dict[str, str]) -> None:
    code, out = run(node, "tx", "staking", "delegate", "alice", "validator", "1vox")
    assert code == 0, out
    code, out = run(node, "query", "staking", "delegations", "alice", "--prove")
    assert code == 0, out
    assert out["verified"] is True and out["delegator"] == addresses["alice"]
    listed = {d["validator"]: d for d in out["delegations"]}
    assert addresses["validator"] in listed  # (other tests may have alice delegate elsewhere too)
    assert list(listed) == sorted(listed, key=lambda a: decode_address(a))
    for validator, d in listed.items():
        one = delegation(node, validator, "alice")
        assert (d["shares"], d["tokens"]) == (one["shares"], one["tokens"]) and d["shares"] > 0
    # The validator itself never delegated as a delegator except its self-bond
    code, out = run(node, "query", "staking", "delegations", "stranger", "--prove")
    assert code == 0 and out["delegations"] == [] and out["verified"] is True, out
    code, out = run(node, "query", "staking", "delegations", "alice", "--height", "1")
    assert code != 0 and error_code(out) == "invalid_height"
