"""Finding 6 of issue 6: a solo node that cannot make a block stops (non-zero, one line on stderr)
instead of answering as if it could; and genesis refuses, up front, what would fail later."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from voxpop.chain.context import Context
from voxpop.chain.kv import KVReader
from voxpop.chain.module import Module
from voxpop.chain.modules.bounds import MAX_UINT64
from voxpop.client.testing import free_port, voxpop_command
from voxpop.node import solo
from voxpop.node.config import load_config
from voxpop.node.home import NodeHome
from voxpop.node.service import BroadcastMode

ROOT = Path(__file__).resolve().parents[2]
FAIL_AT = 3
EXIT_TIMEOUT = 30.0


def init_node(home: Path, port: int) -> None:
    done = subprocess.run(
        voxpop_command("node", "init", "--home", str(home), "--api-port", str(port)),
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    config = load_config(home / "config" / "config.toml")
    config.solo.block_interval_ms = 100
    config.solo.create_empty_blocks = True
    config.save(home / "config" / "config.toml")


def run_until_exit(argv: list[str], timeout: float = EXIT_TIMEOUT) -> tuple[int, str]:
    """Run a node process; it must exit by itself within `timeout` (a node that keeps running is
    the failure this finding is about). Returns the exit code and stderr."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the node kept running for {timeout} s: {err.decode()[-2000:]}")
    return proc.returncode, err.decode()


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    return lines[0]


# --- a producer failure stops the process ------------------------------------------------------

# Runs the real CLI in a child process, with one extra module whose begin-block fails from height
# FAIL_AT on: the fault is injected into the app, everything around it is the real node.
FAILING_NODE = textwrap.dedent(
    """
    import sys
    from voxpop.chain.app import VoxApp
    from voxpop.chain.registry import default_modules
    from voxpop.node import solo
    from tests.node.test_hardening_node import FailingModule

    opened = solo.open_app
    solo.open_app = lambda home: VoxApp(opened(home).store, [*default_modules(), FailingModule()])
    from voxpop.cli.main import main
    sys.argv = ["voxpop", "node", "start", "--solo", "--home", sys.argv[1]]
    main()
    """
)


class FailingModule(Module):
    """A module whose begin-block raises from height FAIL_AT: a fault in block production."""

    name = "failing"
    prefix = b"failing/"

    def default_genesis(self) -> dict[str, Any]:
        return {}

    def init_genesis(self, ctx: Context, data: Mapping[str, Any]) -> None:
        return None

    def export_genesis(self, state: KVReader) -> dict[str, Any]:
        return {}

    def begin_block(self, ctx: Context) -> None:
        if ctx.block.height >= FAIL_AT:
            raise RuntimeError("the disk is on fire")


@pytest.mark.slow
def test_finding6_producer_failure_exits_nonzero(tmp_path: Path) -> None:
    home, port = tmp_path / "node", free_port()
    init_node(home, port)
    code, stderr = run_until_exit([sys.executable, "-c", FAILING_NODE, str(home)], EXIT_TIMEOUT)
    assert code != 0
    line = one_line(stderr)
    assert "block_production_failed" in line and f"height {FAIL_AT}" in line
    assert "RuntimeError: the disk is on fire" in line
    # The API is gone with it
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/v1/status", timeout=2)


async def test_finding6_failed_node_refuses_txs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "node"
    init_node(home, free_port())
    opened = solo.open_app

    def failing_app(node_home: NodeHome) -> Any:
        from voxpop.chain.app import VoxApp
        from voxpop.chain.registry import default_modules

        return VoxApp(opened(node_home).store, [*default_modules(), FailingModule()])

    monkeypatch.setattr(solo, "open_app", failing_app)
    node = solo.SoloNode(NodeHome(home))
    await node.start()
    try:
        with pytest.raises(solo.BlockProductionError) as failed:
            await asyncio.wait_for(node.supervise(), EXIT_TIMEOUT)
        assert failed.value.code == "block_production_failed"
        assert node.failure is failed.value and node.status().latest_height == FAIL_AT - 1
        # Nothing is accepted that could never be committed
        with pytest.raises(solo.BlockProductionError):
            await node.broadcast_tx(b"\x00", BroadcastMode.SYNC)
        with pytest.raises(solo.BlockProductionError):
            await node.broadcast_txs([b"\x00"])
    finally:
        await node.stop()


# --- genesis refuses what would fail later -----------------------------------------------------


def set_supply_headroom(home: Path, headroom: int) -> None:
    """Raise the first funded account's balance so the total supply is 2^64 - 1 - headroom."""
    path = home / "config" / "genesis.json"
    doc = json.loads(path.read_text())
    balances = doc["app_state"]["bank"]["balances"]
    total = sum(b["amount"] for b in balances)
    balances[0]["amount"] += MAX_UINT64 - headroom - total
    path.write_text(json.dumps(doc))


@pytest.mark.slow
@pytest.mark.parametrize("mode", [["--solo"], []], ids=["solo", "cometbft"])
def test_finding6_genesis_rejects_supply_without_issuance_headroom(
    tmp_path: Path, mode: list[str]
) -> None:
    """The issue's trigger: a supply near 2^64 makes the first mint overflow. On main the solo
    node started, stopped making blocks and kept answering; now `node start` refuses it."""
    home = tmp_path / "node"
    init_node(home, free_port())
    set_supply_headroom(home, 10)
    started = time.monotonic()
    code, stderr = run_until_exit(voxpop_command("node", "start", "--home", str(home), *mode))
    line = one_line(stderr)
    assert code != 0 and "invalid_genesis" in line
    assert "100 years of issuance" in line and "at most" in line
    assert time.monotonic() - started < EXIT_TIMEOUT
    # Nothing was written: the chain never started
    assert not (home / "data" / "state").exists() or not any((home / "data" / "state").iterdir())
