"""`voxpop tx devices ...`, `voxpop query devices ...`, `voxpop tx inbox ...` and `voxpop query
inbox ...` against a real solo node: a pairing request is published and claimed, the device
updated and removed, the lists proven whole; a message posted, read and deleted; bad input is
refused with the chain's code (or before signing)."""

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
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring
from voxpop.crypto.pairing import new_code, new_salt, pairing_id

pytestmark = pytest.mark.slow

OWNER_SEED = bytes([71]) * 32
AGENT_SEED = bytes([72]) * 32
OTHER_SEED = bytes([73]) * 32
FUNDS = 1_000_000_000_000
BLOB = (b"\x01" + bytes(24) + b"sealed kitchen speaker" + bytes(16)).hex()

app = typer.Typer()
app.add_typer(tx_app, name="tx")
app.add_typer(query_app, name="query")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("devices-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    funded = [keyring.import_seed(n, s) for n, s in (("owner", OWNER_SEED), ("other", OTHER_SEED))]
    keyring.import_seed("agent", AGENT_SEED)
    with LocalNode.start(home, funds={k.address: FUNDS for k in funded}) as running:
        yield running


def run(node: LocalNode, *args: str) -> tuple[int, Any]:
    """Run `voxpop ARGS --output json` against the node; returns the exit code and the JSON."""
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    argv = [*args, *options, "--output", "json"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def address(node: LocalNode, name: str) -> str:
    return Keyring(node.home / "keyring", "test").show(name).address


def error(out: Any) -> str:
    err = out["error"]
    return str(err["code"] if isinstance(err, dict) else err)


def test_pair_update_remove(node: LocalNode) -> None:
    owner, agent = address(node, "owner"), address(node, "agent")
    salt, code = new_salt(), new_code()
    pid = pairing_id(salt, code).hex()
    status, out = run(
        node, "tx", "devices", "request-pairing", "owner", "agent", pid, salt.hex(), BLOB
    )
    assert status == 0 and out["code"] == 0, out
    assert (out["agent"], out["pairing_id"], out["salt"]) == (agent, pid, salt.hex())
    assert code not in json.dumps(out)

    status, listed = run(node, "query", "devices", "pairings-by-owner", "owner", "--prove")
    assert status == 0 and listed["verified"], listed
    assert [(p["id"], p["status"], p["salt"]) for p in listed["pairings"]] == [
        (pid, "pending", salt.hex())
    ]
    status, shown = run(node, "query", "devices", "pairing", pid, "--prove")
    assert status == 0 and shown["verified"] and shown["pairing"]["owner"] == owner, shown

    # Only the owner it names claims it; a second claim finds the id used
    status, out = run(node, "tx", "devices", "claim", "other", pid)
    assert status != 0 and error(out) == "not_device_owner", out
    status, out = run(node, "tx", "devices", "claim", "owner", pid)
    assert status == 0 and out["code"] == 0, out
    status, out = run(node, "tx", "devices", "claim", "owner", pid)
    assert status != 0 and error(out) == "pairing_id_used", out

    status, shown = run(node, "query", "devices", "device", pid, "--prove")
    assert status == 0 and shown["verified"], shown
    device = shown["device"]
    assert (device["owner"], device["agent"], device["status"], device["blob"]) == (
        owner,
        agent,
        "active",
        BLOB,
    )
    renamed = BLOB + "00"
    status, out = run(node, "tx", "devices", "update", "owner", pid, renamed)
    assert status == 0 and out["code"] == 0, out
    status, listed = run(node, "query", "devices", "by-owner", "owner", "--prove")
    assert status == 0 and listed["verified"], listed
    assert [(d["id"], d["blob"]) for d in listed["devices"]] == [(pid, renamed)]

    status, out = run(node, "tx", "devices", "remove", "owner", pid)
    assert status == 0 and out["code"] == 0, out
    status, out = run(node, "tx", "devices", "update", "owner", pid, BLOB)
    assert status != 0 and error(out) == "device_removed", out
    status, shown = run(node, "query", "devices", "device", pid)
    assert (shown["device"]["status"], shown["device"]["blob"]) == ("removed", "")
    status, listed = run(node, "query", "devices", "by-owner", "owner", "--prove")
    assert listed["devices"] == [] and listed["verified"], listed


def test_invalid_device_input(node: LocalNode) -> None:
    pid = pairing_id(new_salt(), new_code()).hex()
    for args in (
        ("claim", "owner", pid[:-2]),
        ("claim", "owner", "zz" * 32),
        ("request-pairing", "owner", "agent", pid, "00" * 15, BLOB),
        ("request-pairing", "owner", "agent", pid, "00" * 16, "not hex"),
    ):
        status, out = run(node, "tx", "devices", *args)
        assert status != 0 and error(out) == "invalid_message", (args, out)
    status, out = run(
        node, "tx", "devices", "request-pairing", "owner", "agent", pid, "00" * 16, ""
    )
    assert status != 0 and error(out) == "invalid_message", out
    big = "00" * 2_049
    status, out = run(
        node, "tx", "devices", "request-pairing", "owner", "agent", pid, "00" * 16, big
    )
    assert status != 0 and error(out) == "device_blob_too_large", out
    status, out = run(node, "tx", "devices", "claim", "owner", pid)
    assert status != 0 and error(out) == "pairing_not_found", out
    status, out = run(node, "query", "devices", "device", "00" * 31)
    assert status != 0 and error(out) == "invalid_message", out
    status, shown = run(node, "query", "devices", "device", pid)
    assert status == 0 and shown["device"] is None, shown


def test_inbox_post_read_delete(node: LocalNode) -> None:
    owner = address(node, "owner")
    sealed = (bytes(48) + b"opaque").hex()
    for _ in range(2):
        status, out = run(node, "tx", "inbox", "post", "owner", sealed)
        assert status == 0 and out["code"] == 0, out
    status, listed = run(node, "query", "inbox", "by-owner", "owner", "--prove")
    assert status == 0 and listed["verified"] and listed["owner"] == owner, listed
    ids = [m["id"] for m in listed["messages"]]
    assert len(ids) == 2 and ids[1] == ids[0] + 1
    assert {m["ciphertext"] for m in listed["messages"]} == {sealed}
    status, shown = run(node, "query", "inbox", "message", "owner", str(ids[0]), "--prove")
    assert status == 0 and shown["verified"] and shown["message"]["id"] == ids[0], shown

    status, out = run(node, "tx", "inbox", "delete", "owner", str(ids[0]), str(ids[0]))
    assert status != 0 and error(out) == "invalid_message", out
    status, out = run(node, "tx", "inbox", "delete", "owner", str(ids[0]))
    assert status == 0 and out["code"] == 0 and out["ids"] == [ids[0]], out
    status, out = run(node, "tx", "inbox", "delete", "owner", str(ids[0]))
    assert status != 0 and error(out) == "inbox_message_not_found", out
    status, shown = run(node, "query", "inbox", "message", "owner", str(ids[0]))
    assert status == 0 and shown["message"] is None, shown
    status, listed = run(node, "query", "inbox", "by-owner", "owner")
    assert [m["id"] for m in listed["messages"]] == [ids[1]]


def test_invalid_inbox_input(node: LocalNode) -> None:
    status, out = run(node, "tx", "inbox", "post", "owner", "00" * 4_097)
    assert status != 0 and error(out) == "inbox_message_too_large", out
    status, out = run(node, "tx", "inbox", "post", "owner", "00" * 60, "--expires-at", "5")
    assert status != 0 and error(out) == "inbox_expiry_invalid", out
    status, out = run(node, "tx", "inbox", "post", "owner", "xyz")
    assert status != 0 and error(out) == "invalid_message", out
    status, out = run(node, "query", "inbox", "message", "owner", "0")
    assert status != 0 and error(out) == "invalid_message", out


def test_text_output(node: LocalNode) -> None:
    """The tables people read: each query renders without error, blobs shown by size."""
    salt, code = new_salt(), new_code()
    pid = pairing_id(salt, code).hex()
    status, out = run(
        node, "tx", "devices", "request-pairing", "owner", "agent", pid, salt.hex(), BLOB
    )
    assert status == 0 and out["code"] == 0, out
    status, out = run(node, "tx", "inbox", "post", "owner", "00" * 60)
    assert status == 0 and out["code"] == 0, out
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, "VOXPOP_HOME": None, "VOXPOP_NODE": None}
    for args in (
        ("devices", "pairings-by-owner", "owner"),
        ("devices", "by-owner", "owner"),
        ("devices", "pairing", pid),
        ("devices", "device", pid),
        ("inbox", "by-owner", "owner"),
        ("inbox", "message", "owner", "1"),
    ):
        result = CliRunner().invoke(app, ["query", *args, *options], env=env)
        assert result.exit_code == 0, (args, result.output)
        assert BLOB not in result.output  # blobs and ciphertexts by size, never whole
    result = CliRunner().invoke(app, ["query", "devices", "pairing", pid, *options], env=env)
    assert pid[:12] in result.output and "pending" in result.output
    assert f"{len(BLOB) // 2} bytes, encrypted" in result.output
