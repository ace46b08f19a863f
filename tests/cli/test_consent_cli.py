"""`voxpop tx consent ...` and `voxpop query consent ...` against a real solo node: the params
and empty lists are proven, each tx command builds, signs and sends its message, and the chain's
refusals come back with their codes (the full grant flow runs in the consent end-to-end test)."""

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
from voxpop.crypto.consent import new_grant_keys

pytestmark = pytest.mark.slow

OWNER_SEED = bytes([71]) * 32
GRANTEE_SEED = bytes([72]) * 32
FUNDS = 1_000_000_000_000
GRANT = "ab" * 32

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("consent-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    owner = keyring.import_seed("owner", OWNER_SEED)
    grantee = keyring.import_seed("grantee", GRANTEE_SEED)
    with LocalNode.start(home, funds={owner.address: FUNDS, grantee.address: FUNDS}) as running:
        yield running


def run(node: LocalNode, *args: str) -> tuple[int, Any]:
    """Run `voxpop ARGS --output json` against the node; returns the exit code and the JSON."""
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    argv = [*args, *options, "--output", "json"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def error(out: Any) -> str:
    err = out["error"]
    return str(err["code"] if isinstance(err, dict) else err)


def test_params_and_lists_are_proven(node: LocalNode) -> None:
    code, out = run(node, "query", "consent", "params", "--prove")
    assert code == 0 and out["verified"]
    assert "asr-training" in out["params"]["purposes"]
    code, out = run(node, "query", "consent", "by-owner", "owner", "--prove")
    assert code == 0 and out["grants"] == [] and out["verified"]
    code, out = run(node, "query", "consent", "accesses", GRANT, "--prove")
    assert code == 0 and out["accesses"] == [] and out["verified"]
    code, out = run(node, "query", "consent", "grant", GRANT, "--prove")
    assert code == 0 and out["grant"] is None and out["verified"]


def test_grant_is_sent_and_refused_by_the_chain(node: LocalNode, tmp_path: Path) -> None:
    keys = new_grant_keys()
    objects = tmp_path / "objects.json"
    objects.write_text(json.dumps([["01" * 32, "02" * 32, "03" * 32]]))
    base = ["tx", "consent", "grant", "owner", "grantee", "--purpose", "asr-training"]
    base += ["--expiry", "4000000000", "--max-accesses", "3", "--threshold", "1"]
    base += ["--delegating-pk", keys.delegating_pk.hex(), "--verifying-pk", keys.verifying_pk.hex()]
    # No node of the chain offers reencrypt: the chain refuses the grant
    code, out = run(node, *base, "--nodes", "grantee", "--objects", str(objects))
    assert code != 0 and error(out) == "consent_bad_node", out
    # A purpose outside the vocabulary is the chain's refusal too
    bad = [*base[:6], "advertising", *base[7:]]
    code, out = run(node, *bad, "--nodes", "grantee", "--objects", str(objects))
    assert code != 0 and error(out) == "consent_unknown_purpose", out
    # Bad input never leaves the command line
    code, out = run(node, *base, "--nodes", "grantee", "--objects", str(tmp_path / "none"))
    assert code != 0 and error(out) == "invalid_message"


def test_revoke_record_and_report_refusals(node: LocalNode, tmp_path: Path) -> None:
    code, out = run(node, "tx", "consent", "revoke", "owner", GRANT)
    assert code != 0 and error(out) == "consent_grant_not_found", out
    records = tmp_path / "records.json"
    records.write_text(json.dumps([["a1", "a2"]]))
    code, out = run(node, "tx", "consent", "record", "owner", str(records))
    assert code != 0 and error(out) == "consent_bad_answer", out
    code, out = run(node, "tx", "consent", "report-misuse", "grantee", "a1", "a2")
    assert code != 0 and error(out) == "consent_bad_answer", out
    code, out = run(node, "tx", "consent", "report-misuse", "grantee", "zz", "a2")
    assert code != 0 and error(out) == "invalid_message", out
