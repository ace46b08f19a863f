"""`voxpop tx wasm ...` and `voxpop query wasm code|contract|state|smart` against a real solo node:
store the token of tests/chain/wasm_wat.py, instantiate it, transfer, read the raw state (proven)
and a smart query (computed), migrate as the admin, and bad input refused before signing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tests.chain.wasm_wat import TOKEN, wasm
from voxpop.chain.modules.wasm.state import compute_contract_address
from voxpop.cli.keys import BACKEND_ENV, PASSPHRASE_ENV
from voxpop.cli.query import query_app
from voxpop.cli.tx import tx_app
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring, encode_address

pytestmark = pytest.mark.slow

OWNER_SEED = bytes([71]) * 32
OTHER_SEED = bytes([72]) * 32
FUNDS = 1_000_000_000_000

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("wasm-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    owner = keyring.import_seed("owner", OWNER_SEED)
    keyring.import_seed("other", OTHER_SEED)
    with LocalNode.start(home, funds={owner.address: FUNDS}) as running:
        yield running


def run(node: LocalNode, *args: str) -> tuple[int, Any]:
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    argv = [*args, *options, "--output", "json"]
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_store_instantiate_execute_query_migrate(node: LocalNode, tmp_path: Path) -> None:
    keyring = Keyring(node.home / "keyring", "test")
    owner, other = keyring.show("owner").address, keyring.show("other").address
    code_file = tmp_path / "token.wasm"
    code_file.write_bytes(wasm(TOKEN))
    code, out = run(
        node, "tx", "wasm", "store", "owner", str(code_file), "--gas", "2000000", "--fee", "2000"
    )
    assert code == 0 and out["code"] == 0, out
    code, out = run(node, "query", "wasm", "code", "1", "--prove")
    assert code == 0 and out["size"] == len(wasm(TOKEN)) and out["verified"], out

    code, out = run(
        node,
        "tx",
        "wasm",
        "instantiate",
        "owner",
        "1",
        "{}",
        "--label",
        "token",
        "--admin",
        "owner",
        "--funds",
        "5",
    )
    assert code == 0 and out["code"] == 0, out
    token = encode_address(compute_contract_address(1, 1))
    code, out = run(node, "query", "wasm", "contract", token)
    assert (
        code == 0 and out["admin"] == owner and out["label"] == "token" and out["balance"] == 5
    ), out

    code, out = run(node, "tx", "wasm", "execute", "owner", token, json.dumps(f"{other}:250"))
    assert code == 0 and out["code"] == 0, out
    code, out = run(node, "query", "wasm", "smart", token, json.dumps(other))
    assert code == 0 and out["result"] == 250, out
    code, out = run(node, "query", "wasm", "state", token, f"b{other}", "--prove")
    assert (
        code == 0 and out["value_hex"] == (250).to_bytes(8, "little").hex() and out["verified"]
    ), out

    # The contract refuses an overdraft: a committed failure with its code and text
    code, out = run(node, "tx", "wasm", "execute", "owner", token, json.dumps(f"{other}:{10**13}"))
    assert code != 0 and out["error"]["code"] == "contract_refused", out
    assert "insufficient funds" in out["error"]["message"]
    # Only the admin migrates; TOKEN has no migrate export
    code, out = run(node, "tx", "wasm", "migrate", "owner", token, "1", "{}")
    assert code != 0 and out["error"]["code"] == "wasm_missing_export", out
    code, out = run(node, "tx", "wasm", "clear-admin", "owner", token)
    assert code == 0 and out["code"] == 0, out


def test_bad_input_is_refused_before_signing(node: LocalNode, tmp_path: Path) -> None:
    not_wasm = tmp_path / "x.wasm"
    not_wasm.write_bytes(b"hello")
    code, out = run(node, "tx", "wasm", "store", "owner", str(not_wasm))
    assert code != 0 and out["error"]["code"] == "invalid_wasm"
    token = encode_address(compute_contract_address(1, 1))
    code, out = run(node, "tx", "wasm", "execute", "owner", token, "{not json")
    assert code != 0 and out["error"]["code"] == "invalid_message"
    code, out = run(node, "query", "wasm", "smart", token, "{}", "--prove")
    assert code != 0 and out["error"]["code"] == "invalid_query"
