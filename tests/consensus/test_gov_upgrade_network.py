"""A software upgrade on a real 4-validator CometBFT testnet (issue 15).

Governance plans upgrade "v2" at height H. Every node runs a version that does not know it: at H
each app refuses the block and its node stops with "UPGRADE 'v2' NEEDED at height H", CometBFT
with it. All four restart as the new version, the same install with `$VOXPOP_UPGRADES` naming a
module that registers "v2" (the way an operator does it, docs/operations/node.md): CometBFT
replays block H to each, the migration runs once in it, and the chain goes on with every node at
the same app hash.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.abci.comet_testing import pid_alive, wait_until
from tests.consensus.network import Network
from tests.consensus.test_gov_network import commit, query
from voxpop.chain.encoding import decode_state, decode_uint
from voxpop.chain.modules.gov.state import GovParams, id_bytes
from voxpop.node.app_factory import UPGRADES_ENV
from voxpop.node.testnet import NODE_LOG, _started, start_testnet

pytestmark = [pytest.mark.cometbft, pytest.mark.slow]

VOTING_SECONDS = 8  # four votes committed one after another fit in it on a loaded machine
MIN_DEPOSIT = 10_000_000
# Blocks from submission to the upgrade: the vote must end before H (a block takes >= 0.3 s)
UPGRADE_DELAY_BLOCKS = 60
COUNTER = b"gov/test_migrations"  # what the migration counts its runs in

# The new version's upgrade module: imported at node start, it registers "v2"
UPGRADE_MODULE = f"""
from voxpop.chain.encoding import decode_uint, encode_uint
from voxpop.chain.modules.gov.upgrades import register_upgrade


def migrate(ctx):
    raw = ctx.get({COUNTER!r})
    ctx.set({COUNTER!r}, encode_uint((decode_uint(raw) if raw else 0) + 1))


register_upgrade("v2", migrate)
"""


def with_short_voting(network: Network) -> None:
    params = GovParams(
        min_deposit=MIN_DEPOSIT, max_deposit_period_seconds=60, voting_period_seconds=VOTING_SECONDS
    )
    for node in network.net.nodes:
        path = node.node_home.genesis_json
        genesis = json.loads(path.read_text())
        genesis["app_state"]["gov"] = {"params": asdict(params)}
        path.write_text(json.dumps(genesis))


def new_version_env(tmp_path: Path) -> dict[str, str]:
    """The environment of the upgraded version: $VOXPOP_UPGRADES names the module above."""
    modules = tmp_path / "upgrades"
    modules.mkdir()
    (modules / "voxpop_v2.py").write_text(UPGRADE_MODULE)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(modules), env.get("PYTHONPATH")]))
    env[UPGRADES_ENV] = "voxpop_v2"
    return env


def counter(network: Network, node: int, height: int = 0) -> int:
    raw = query(network, node, "/store", COUNTER, height)
    return decode_uint(raw) if raw else 0


def test_upgrade_halts_every_node_and_the_new_version_migrates_once(
    make_network: Callable[..., Network], tmp_path: Path
) -> None:
    network = make_network(n=4, keys=1)
    with_short_voting(network)
    network.start()
    nodes = range(len(network))
    proposer = network.keys[0]

    # Plan "v2" at H: submitted and voted yes by every validator, each through its own node
    upgrade_height = network.height(0) + UPGRADE_DELAY_BLOCKS
    action = {"name": "v2", "height": upgrade_height, "info": "voxpop v2: VOXPOP_UPGRADES"}
    submit = {
        "proposer": proposer.public_key.address,
        "title": "upgrade to v2",
        "summary": "",
        "actions": [{"type": "gov/SoftwareUpgrade", "value": action}],
        "deposit": MIN_DEPOSIT,
    }
    commit(network, 0, proposer, ("gov/SubmitProposal", submit))
    pid = decode_uint(query(network, 0, "/store", b"gov/seq"))
    for i in nodes:
        vote = {"voter": network.operator_key(i).public_key.address, "proposal_id": pid}
        commit(network, i, network.operator_key(i), ("gov/Vote", {**vote, "option": 1}))

    def passed(node: int) -> bool:
        raw = query(network, node, "/gov/proposal", id_bytes(pid))
        return bool(raw) and decode_state(raw)["status"] == 3

    # Passed (not failed) means its vote ended before H and the plan is set
    wait_until(lambda: all(passed(i) for i in nodes), 60, "the upgrade proposal to pass")
    assert all(query(network, i, "/gov/plan") for i in nodes), "the upgrade was not planned"

    # At H every node's app (the old version) refuses the block and its node stops, CometBFT too
    old = [_started[network.node_pid(i)] for i in nodes]
    comets = [network.cometbft_pid(i) for i in nodes]

    def assert_halted(i: int) -> None:
        assert old[i].wait(timeout=60) != 0, f"node{i} exited with 0 at the upgrade"
        log = (Path(network.net.nodes[i].home) / NODE_LOG).read_text(errors="replace")
        assert f"UPGRADE 'v2' NEEDED at height {upgrade_height}" in log, f"node{i}: {log[-2000:]}"
        wait_until(lambda: not pid_alive(comets[i]), 30, f"node{i}'s CometBFT to stop")

    wait_until(lambda: any(p.poll() is not None for p in old), 90, "a node to halt at H")
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: all(p.poll() is not None for p in old), 10, "every node to halt")
    # A node the commit of H had not reached when the others stopped waits below H (3 of 4
    # validators are needed to go on): like an operator, upgrade the halted ones first; they
    # hand it the blocks up to H, and it halts too.
    stuck = [i for i in nodes if old[i].poll() is None]
    assert len(stuck) < len(nodes)
    for i in stuck:
        assert network.height(i) < upgrade_height, f"node{i} went past H-1 on the old version"
    for i in nodes:
        if i not in stuck:
            assert_halted(i)
    env = new_version_env(tmp_path)
    start_testnet(network.dir, env=env, settle_seconds=0)  # starts the halted ones
    for i in stuck:
        assert_halted(i)
    if stuck:
        start_testnet(network.dir, env=env, settle_seconds=0)

    # Every node runs the new version: CometBFT replays block H to it, it migrates
    network.wait_height(upgrade_height + 3, nodes, timeout=90)
    for i in nodes:
        log = (Path(network.net.nodes[i].home) / NODE_LOG).read_text(errors="replace")
        assert "upgrades this version knows: adopt-defaults-1, v2 (from voxpop_v2)" in log
        assert counter(network, i, upgrade_height - 1) == 0
        assert counter(network, i, upgrade_height) == 1, f"node{i} did not migrate in block H"
        assert counter(network, i) == 1, f"node{i} ran the migration more than once"
        done = query(network, i, "/store", b"gov/upgrade/done/v2")
        assert decode_uint(done) == upgrade_height
        assert not query(network, i, "/gov/plan")
    hashes = {network.api_app_hash(i, upgrade_height) for i in nodes}
    assert len(hashes) == 1, f"app hashes after the upgrade's block differ: {hashes}"
    before = {network.api_app_hash(i, upgrade_height - 1) for i in nodes}
    assert hashes != before  # the migration changed state
    network.assert_same_chain(nodes)
