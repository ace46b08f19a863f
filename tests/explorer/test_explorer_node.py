"""The explorer against a real solo node: its process started as an operator would (`voxpop
explorer start`), pages over real HTTP with chain data that carries script tags (a memo, a
validator's moniker and details), a kill -9 mid-run then a resume with no gap and no duplicate,
the same index on PostgreSQL, and the pages in Debian's Chromium (screenshots for the docs).

One node and one explorer per module: the tests read what the module's fixtures committed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.browser import screenshot
from tests.support.postgres import PostgresServer
from voxpop.chain.modules.staking.messages import MsgCreateValidator
from voxpop.client import VoxClient
from voxpop.client.testing import LocalNode, voxpop_command
from voxpop.crypto import encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.explorer import schema
from voxpop.explorer.indexer import index_until
from voxpop.explorer.schema import open_index, sqlite_url
from voxpop.explorer.testing import LocalExplorer

if TYPE_CHECKING:
    from playwright.sync_api import Dialog, Page

pytestmark = pytest.mark.slow

SCRIPT = "<script>alert(1)</script>"
WAIT = 90.0


@dataclass
class Chain:
    node: LocalNode
    alice: PrivateKey
    bob: str
    memo_tx: str  # hash of the tx whose memo is SCRIPT
    validator: str  # operator of the validator named SCRIPT


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    alice = PrivateKey.generate()
    operator = PrivateKey.generate()
    funds = {encode_address(k.public_key.address): 10**13 for k in (alice, operator)}
    home = tmp_path_factory.mktemp("explorer-node")
    with LocalNode.start(home / "node", funds=funds, timeout=WAIT) as node:
        bob = encode_address(PrivateKey.generate().public_key.address)
        with VoxClient(node.url, timeout=30.0) as client:
            memo_tx = client.send(alice, bob, 5, memo=SCRIPT).tx_hash.hex()
            create = MsgCreateValidator(
                operator=operator.public_key.address,
                consensus_pub_key=PrivateKey.generate().public_key.raw,
                self_bond=10_000_000,
                commission_rate_bps=500,
                max_commission_rate_bps=2_000,
                max_commission_change_bps=100,
                moniker=SCRIPT,
                details=f"{SCRIPT}<img src=x onerror=alert(2)>",
            )
            result = client.execute(operator, [create], gas_limit=400_000)
            assert result.code == 0, result.log
            client.send(alice, bob, 7)
        yield Chain(node, alice, bob, memo_tx, encode_address(operator.public_key.address))


def wait_indexed(explorer: LocalExplorer, height: int) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        status = explorer.status()
        if status["last_height"] >= height:
            return status
        time.sleep(0.2)
    raise AssertionError(f"explorer stuck at {explorer.status()} below {height}")


def wait_validators(url: str) -> str:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        text = httpx.get(f"{url}/validators", timeout=10).text
        if "&lt;img" in text:
            return text
        time.sleep(0.3)
    raise AssertionError("the validator named with a script tag never showed")


@pytest.fixture(scope="module")
def explorer(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalExplorer]:
    home = tmp_path_factory.mktemp("explorer-home")
    started = LocalExplorer.start(
        home, node_url=chain.node.url, batch_blocks=2, timeout=WAIT, via_cli=True
    )
    try:
        with VoxClient(chain.node.url) as client:
            wait_indexed(started, client.status().latest_height)
        yield started
    finally:
        started.stop()


def test_pages_escape_chain_strings(chain: Chain, explorer: LocalExplorer) -> None:
    tx_page = httpx.get(f"{explorer.url}/txs/{chain.memo_tx}", timeout=10)
    assert tx_page.status_code == 200
    assert "bank/Send" in tx_page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in tx_page.text
    assert SCRIPT not in tx_page.text
    assert "script-src 'self'" in tx_page.headers["content-security-policy"]
    validators = wait_validators(explorer.url)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in validators
    assert SCRIPT not in validators and "<img" not in validators
    account = httpx.get(f"{explorer.url}/accounts/{chain.bob}", timeout=10)
    assert chain.memo_tx in account.text
    assert "0.000012vox" in account.text  # 5 + 7 uvox, the balance asked of the node
    found = httpx.get(
        f"{explorer.url}/search", params={"q": chain.memo_tx}, timeout=10, follow_redirects=True
    )
    assert found.status_code == 200 and str(found.url).endswith(f"/txs/{chain.memo_tx}")
    bad = httpx.get(f"{explorer.url}/accounts/<b>vox1", timeout=10)
    assert bad.status_code == 400 and "invalid_address" in bad.text and "<b>" not in bad.text
    twin = httpx.get(f"{explorer.url}/api/txs/{chain.memo_tx}", timeout=10).json()
    assert twin["memo"] == SCRIPT and twin["msgs"][0]["value"]["to"] == chain.bob
    # The block's first tx is the proposer's beacon entry, shown as what it is
    block = httpx.get(f"{explorer.url}/api/blocks/{twin['height']}", timeout=10).json()
    assert block["txs"][0]["msg_types"] == "beacon/Entry"


CHAIN_TABLES = (
    schema.blocks,
    schema.txs,
    schema.messages,
    schema.events,
    schema.account_txs,
    schema.supply,
)


def test_cli_status(explorer: LocalExplorer) -> None:
    done = subprocess.run(
        voxpop_command("explorer", "status", "--home", str(explorer.home), "-o", "json"),
        capture_output=True,
        check=False,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["serving"] is True and status["index"] == "sqlite"
    assert status["chain_id"] == "voxpop-test" and status["last_height"] >= 1


def table_rows(engine: Engine, height: int) -> dict[str, list[tuple[Any, ...]]]:
    """The index's chain-derived rows up to `height`, each table sorted (what any two indexes
    of one chain must share)."""
    with engine.connect() as conn:
        return {
            table.name: sorted(
                tuple(r) for r in conn.execute(sa.select(table).where(table.c.height <= height))
            )
            for table in CHAIN_TABLES
        }


def test_resume_after_kill_9_has_no_gap_and_no_duplicate(
    chain: Chain, explorer: LocalExplorer, tmp_path: Path
) -> None:
    stop = threading.Event()

    def make_blocks() -> None:  # a tx per block keeps the solo node producing blocks
        with VoxClient(chain.node.url, timeout=30.0) as client:
            while not stop.is_set():
                client.send(chain.alice, chain.bob, 1, mode="commit")

    sender = threading.Thread(target=make_blocks, daemon=True)
    sender.start()
    try:
        start = explorer.status()["last_height"]
        wait_indexed(explorer, start + 2)
        explorer.kill()  # SIGKILL, mid-run: the node keeps making blocks
        killed_at = chain_height(chain)
        # The same explorer again (its lean entry: the CLI's start-up was tested at the first)
        explorer.argv = [sys.executable, "-m", "voxpop.explorer", "--home", str(explorer.home)]
        restarted = explorer.restart(timeout=WAIT)
        explorer.process, explorer._log = restarted.process, restarted._log  # the fixture stops it
        wait_indexed(explorer, killed_at + 1)
    finally:
        stop.set()
        sender.join(timeout=WAIT)
    final = chain_height(chain)
    wait_indexed(explorer, final)
    resumed = open_index(explorer_index(explorer), migrate_schema=False)
    fresh = open_index(sqlite_url(tmp_path / "fresh.sqlite"))
    try:
        index_until(fresh, chain.node.url, final, timeout=WAIT)
        got, want = table_rows(resumed, final), table_rows(fresh, final)
        # Every height once, in order: no gap, no duplicate (and the same rows as a fresh index)
        assert [r[0] for r in got["blocks"]] == list(range(1, final + 1))
        assert got == want
    finally:
        resumed.dispose()
        fresh.dispose()


def chain_height(chain: Chain) -> int:
    with VoxClient(chain.node.url) as client:
        return client.status().latest_height


def explorer_index(explorer: LocalExplorer) -> str:
    return sqlite_url(explorer.home / "index.sqlite")


def test_postgresql_index_holds_the_same_chain(
    chain: Chain, explorer: LocalExplorer, postgres_server: PostgresServer
) -> None:
    height = chain_height(chain)
    pg = open_index(postgres_server.create_database("explorer_node"))
    lite = open_index(explorer_index(explorer), migrate_schema=False)
    try:
        index_until(pg, chain.node.url, height, timeout=WAIT)
        wait_indexed(explorer, height)
        assert table_rows(pg, height) == table_rows(lite, height)
        with pg.connect() as conn:
            memo = conn.execute(
                sa.select(schema.txs.c.memo).where(schema.txs.c.hash == chain.memo_tx)
            ).scalar()
        assert memo == SCRIPT
    finally:
        pg.dispose()
        lite.dispose()


def test_browser_shows_the_tx_decoded_and_runs_no_script(
    chain: Chain, explorer: LocalExplorer, page: Page
) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    wait_validators(explorer.url)
    page.goto(f"{explorer.url}/txs/{chain.memo_tx}")
    assert page.locator(".mtype").first.inner_text() == "bank/Send"
    assert page.locator("#memo").inner_text() == SCRIPT  # shown as text
    screenshot(page, "explorer-tx")
    page.goto(f"{explorer.url}/validators")
    assert SCRIPT in page.locator(".moniker").all_inner_texts()
    screenshot(page, "explorer-validators")
    page.goto(explorer.url)
    page.wait_for_selector("#latest-blocks table")
    screenshot(page, "explorer")
    page.goto(f"{explorer.url}/accounts/{chain.bob}")
    screenshot(page, "explorer-account")
    page.fill("input[name=q]", chain.memo_tx)
    page.click("header button[type=submit]")
    page.wait_for_url(f"**/txs/{chain.memo_tx}")
    page.wait_for_timeout(500)  # time for any script that could run to run
    assert dialogs == []
