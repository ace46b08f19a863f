"""`voxpop node snapshot export|import` on a real solo node: a backup restores into a fresh home
that then keeps making blocks; a damaged backup or a home with state is refused."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.consensus.network import b64, transfer
from tests.support.nodeproc import NodeProcess
from voxpop.cli.main import app
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.node.snapshots.disk import chunk_file

pytestmark = pytest.mark.slow

KEY = PrivateKey(bytes([7]) * 32)
TO = PrivateKey(bytes([8]) * 32).public_key.address


def cli(*argv: str) -> dict[str, object]:
    result = CliRunner().invoke(app, [*argv, "--output", "json"], catch_exceptions=False)
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def pay(node: NodeProcess, amount: int, sequence: int) -> int:
    tx = transfer(node.chain_id, KEY, TO, amount, sequence)
    reply = httpx.post(f"{node.url}/v1/txs", json={"tx": b64(tx), "mode": "commit"}, timeout=30)
    assert reply.status_code == 200 and reply.json()["code"] == 0, reply.text
    height: int = reply.json()["height"]
    return height


def balance(node: NodeProcess) -> int:
    reply = httpx.get(f"{node.url}/v1/accounts/{encode_address(TO)}", timeout=30)
    value: int = reply.json()["balance"]
    return value


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[list[NodeProcess]]:
    made: list[NodeProcess] = []
    yield made
    for node in made:
        node.stop()


def fresh_copy(source: NodeProcess, path: Path) -> NodeProcess:
    """A home with the same genesis, key and config, and no state."""
    shutil.copytree(source.home.config_dir, path / "config")
    return NodeProcess(type(source.home)(path), source.port, source.chain_id)


def test_backup_restores_and_the_chain_goes_on(tmp_path: Path, nodes: list[NodeProcess]) -> None:
    node = NodeProcess.create(tmp_path / "a", [(KEY, 10**12)])
    nodes.append(node)
    node.start()
    pay(node, 5, 0)
    height = pay(node, 6, 1)
    node.stop()

    backup = tmp_path / "backup"
    exported = cli("node", "snapshot", "export", str(backup), "--home", str(node.home.root))
    assert exported["height"] == height
    restored = fresh_copy(node, tmp_path / "b")

    # A damaged copy is refused, and so is another app hash than the one expected
    damaged = tmp_path / "damaged"
    shutil.copytree(backup, damaged)
    chunk = damaged / f"{height:020d}" / chunk_file(0)
    data = chunk.read_bytes()
    chunk.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    refused = cli("node", "snapshot", "import", str(damaged), "--home", str(restored.home.root))
    assert refused["error"]["code"] == "snapshot_chunk_hash"  # type: ignore[index]
    wrong = cli(
        *("node", "snapshot", "import", str(backup), "--home", str(restored.home.root)),
        *("--app-hash", "00" * 32),
    )
    assert wrong["error"]["code"] == "snapshot_app_hash"  # type: ignore[index]

    imported = cli("node", "snapshot", "import", str(backup), "--home", str(restored.home.root))
    assert imported["app_hash"] == exported["app_hash"]
    nodes.append(restored)
    restored.start()
    assert balance(restored) == 11
    assert pay(restored, 7, 2) == height + 1
    assert balance(restored) == 18
    restored.stop()
    # A store with state of its own refuses a restore
    again = cli("node", "snapshot", "import", str(backup), "--home", str(restored.home.root))
    assert again["error"]["code"] == "snapshot_state_not_empty"  # type: ignore[index]
