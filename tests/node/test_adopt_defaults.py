"""A chain made by an earlier version resumes: a solo node adopts this version's new params at
their defaults in its next block (gov/adopt.py); and a tx waiting for its block hears at once,
as a typed error the API answers 503, when block production stops."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.node.test_hardening_node import FAIL_AT, FailingModule
from tests.support.nodeproc import NodeProcess
from voxpop.api.app import create_api
from voxpop.chain.app import VoxApp
from voxpop.chain.context import Context
from voxpop.chain.encoding import decode_state, decode_uint, encode
from voxpop.chain.kv import KVReader
from voxpop.chain.modules.auth.state import AuthParams
from voxpop.chain.modules.distribution import state as distribution
from voxpop.chain.modules.distribution.module import DistributionModule
from voxpop.chain.modules.gov import state as gov
from voxpop.chain.modules.gov.adopt import ADOPT_UPGRADE, missing_defaults
from voxpop.chain.modules.gov.upgrades import KNOWN_UPGRADES
from voxpop.chain.modules.grant import state as grant
from voxpop.chain.modules.storage import state as storage
from voxpop.chain.registry import default_modules
from voxpop.chain.tx import encode_tx, make_body
from voxpop.crypto.keys import PrivateKey
from voxpop.node import solo
from voxpop.node.config import load_config
from voxpop.node.home import NodeHome
from voxpop.node.service import BroadcastMode

KEY = PrivateKey(bytes([7]) * 32)
GAS = 100_000
# Distribution's params as the version before steered issuance stored them
OLD_DISTRIBUTION = {
    "annual_inflation_bps": 700,
    "min_inflation_bps": 700,
    "max_inflation_bps": 2000,
    "community_tax_bps": 200,
}
# Grant's params as the version before registrars' bonds stored them
OLD_GRANT = {
    "amount": 10_000_000,
    "epoch_seconds": 86_400,
    "registrar_quota": 200,
    "max_attestation_ttl": 30 * 86_400,
}


def send(chain_id: str, sequence: int) -> bytes:
    body = make_body(
        chain_id=chain_id,
        pub_key=KEY.public_key.raw,
        sequence=sequence,
        fee=AuthParams().min_fee(GAS),
        gas_limit=GAS,
        msgs=[("bank/Send", {"from": KEY.public_key.address, "to": bytes(20), "amount": 1})],
    )
    return encode_tx(body, KEY.sign(body.sign_bytes()))


async def wait_height(node: solo.SoloNode, height: int) -> None:
    for _ in range(300):
        if node.status().latest_height >= height:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"height {height} not reached: {node.status().latest_height}")


def create(root: Path, block_interval_ms: int) -> NodeProcess:
    """A solo node's home that makes a block every `block_interval_ms`, txs or not."""
    made = NodeProcess.create(root, [(KEY, 10**12)], block_interval_ms=block_interval_ms)
    config = load_config(made.home.config_toml)
    config.solo.create_empty_blocks = True
    config.save(made.home.config_toml)
    return made


def make_old(ctx: Context) -> None:
    """State as the earlier version left it: distribution's params without the steering fields,
    grant's without the registrar bond, and no params stored for a module that version did not
    have."""
    ctx.set(distribution.PARAMS_KEY, encode(OLD_DISTRIBUTION))
    ctx.set(grant.PARAMS_KEY, encode(OLD_GRANT))
    ctx.delete(storage.PARAMS_KEY)


def adoptions(state: KVReader) -> list[tuple[str, int]]:
    """The solo adoptions done (name, height): their names carry the height they ran at."""
    done = [
        (key[len(gov.DONE_PREFIX) :].decode(), decode_uint(value))
        for key, value in state.iterate(gov.DONE_PREFIX)
    ]
    return [(name, height) for name, height in done if name.startswith(f"{ADOPT_UPGRADE}-solo-")]


def test_a_new_chain_needs_nothing_adopted(tmp_path: Path) -> None:
    made = create(tmp_path / "node", 100)

    async def run() -> tuple[list[str], dict[str, Any]]:
        node = solo.SoloNode(made.home)
        await node.start()
        try:
            await wait_height(node, 2)
            state = node.app.committed
            grant_params = decode_state(state.get(grant.PARAMS_KEY) or b"")
            return missing_defaults(state, node.app.modules), grant_params
        finally:
            await node.stop()

    # Every module's params are stored at genesis: nothing to adopt, nothing scheduled
    missing, grant_params = asyncio.run(run())
    assert missing == []
    # A new chain's registrars bond the default (its genesis bonds them: voxpop.chain.genesis)
    assert grant_params["registrar_bond"] == grant.GrantParams().registrar_bond == 8_000_000_000
    assert ADOPT_UPGRADE in KNOWN_UPGRADES  # a network's route: the upgrade proposal


def test_a_chain_made_before_new_params_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = create(tmp_path / "node", 50)

    async def run() -> None:
        # The earlier version's chain: its state doctored in a block of its own, made by a node
        # whose issuance, like that version's, reads the old params (here: does not run)
        with monkeypatch.context() as earlier:
            earlier.setattr(DistributionModule, "begin_block", lambda self, ctx: None)
            node = solo.SoloNode(made.home)
            await node.start()
            try:
                await wait_height(node, 1)
                node.app.schedule_upgrade("make-old", make_old)
                await wait_height(node, node.status().latest_height + 2)
                old_height = node.status().latest_height  # at least: it makes blocks meanwhile
                assert missing_defaults(node.app.committed, node.app.modules) == [
                    "grant params: new ['registrar_bond']",
                    "distribution params: new ['goal_bonded_bps', 'inflation_rate_change_bps']",
                    "storage params: none stored, defaults written",
                ]
            finally:
                await node.stop()
        # This version resumes it
        node = solo.SoloNode(made.home)
        await node.start()
        try:
            await wait_height(node, old_height + 3)
            state = node.app.committed
            assert missing_defaults(state, node.app.modules) == []
            params = decode_state(state.get(distribution.PARAMS_KEY) or b"")
            # It keeps the fixed rate it ran at until governance turns the rule on
            assert params == {
                **OLD_DISTRIBUTION,
                "max_inflation_bps": 700,
                "goal_bonded_bps": 6_700,
                "inflation_rate_change_bps": 0,
            }
            # Its registrars never bonded: it needs no bond until governance asks for one
            assert decode_state(state.get(grant.PARAMS_KEY) or b"") == {
                **OLD_GRANT,
                "registrar_bond": 0,
            }
            assert state.get(storage.PARAMS_KEY) is not None
            # Adopted in the first block this version made, named by its height
            [(name, adopted)] = adoptions(state)
            assert adopted > old_height and name == f"{ADOPT_UPGRADE}-solo-{adopted}"
            assert gov.done_height(state, name) == adopted
            block = node.get_block(adopted)
            assert block is not None
            kinds = [e.type for e in block.events]
            assert "upgrade_applied" in kinds and kinds.count("params_adopted") == 3
            # And it makes blocks with txs again
            result = await node.broadcast_tx(send(node.chain_id, 0), BroadcastMode.COMMIT)
            assert result.code == 0 and result.height > adopted
        finally:
            await node.stop()

    asyncio.run(run())


def test_a_tx_waiting_for_its_block_hears_the_node_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = NodeProcess.create(tmp_path / "node", [(KEY, 10**12)], block_interval_ms=300)
    opened = solo.open_app

    def failing_app(node_home: NodeHome) -> Any:
        return VoxApp(opened(node_home).store, [*default_modules(), FailingModule()])

    monkeypatch.setattr(solo, "open_app", failing_app)

    async def run() -> None:
        node = solo.SoloNode(made.home)
        await node.start()
        api = create_api(node)
        transport = httpx.ASGITransport(app=api)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1"
            ) as client:
                # Block FAIL_AT - 1 holds the first tx; the second waits for block FAIL_AT
                first = await node.broadcast_tx(send(node.chain_id, 0), BroadcastMode.COMMIT)
                assert (first.code, first.height) == (0, FAIL_AT - 1)
                tx = send(node.chain_id, 1)
                # In commit mode: accepted, then the block it waits for is never made
                reply = await asyncio.wait_for(
                    client.post(
                        "/v1/txs", json={"tx": base64.b64encode(tx).decode(), "mode": "commit"}
                    ),
                    10,
                )
                assert reply.status_code == 503, reply.text
                assert reply.json()["error"]["code"] == "block_production_failed"
                # And after: refused up front, the same way
                reply = await client.post(
                    "/v1/txs", json={"tx": base64.b64encode(tx).decode(), "mode": "sync"}
                )
                assert reply.status_code == 503
                assert reply.json()["error"]["code"] == "block_production_failed"
        finally:
            await node.stop()

    asyncio.run(run())
