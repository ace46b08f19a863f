"""A software upgrade on a real solo node: governance plans it; at its height the running version,
which does not know it, stops with a clear message; a version that registers the upgrade starts
on the same home, runs the migration once in that block, and goes on."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from voxpop.chain.encoding import decode_uint
from voxpop.chain.modules.gov.actions import SoftwareUpgrade
from voxpop.chain.modules.gov.messages import MsgSubmitProposal, MsgVote
from voxpop.chain.modules.gov.state import GovParams, id_bytes
from voxpop.client import VoxClient
from voxpop.client.testing import LocalNode, free_port
from voxpop.crypto import Keyring
from voxpop.crypto.keys import PrivateKey

pytestmark = pytest.mark.slow

VOTING_SECONDS = 3
MIN_DEPOSIT = 10_000_000
COUNTER = b"gov/test_migrations"  # what the test's migration counts its runs in

# The new version: voxpop with the upgrade "v2" registered, then the usual CLI
NEW_VERSION = f"""
from voxpop.chain.encoding import decode_uint, encode_uint
from voxpop.chain.modules.gov.upgrades import register_upgrade

def migrate(ctx):
    raw = ctx.get({COUNTER!r})
    ctx.set({COUNTER!r}, encode_uint((decode_uint(raw) if raw else 0) + 1))

register_upgrade("v2", migrate)
from voxpop.cli.main import main
main()
"""


def start_new_version(home: Path) -> LocalNode:
    port = free_port()
    log_path = home / "node-v2.log"
    log = log_path.open("ab")
    argv = [sys.executable, "-c", NEW_VERSION, "node", "start", "--solo", "--home", str(home)]
    process = subprocess.Popen(
        [*argv, "--api-port", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    node = LocalNode(home, port, "", process, log_path, log)
    try:
        node.wait_ready(60)
    except BaseException:
        node.stop()
        raise
    return node


def send(client: VoxClient, key: PrivateKey) -> int:
    return client.send(key, key.public_key.address, 1, mode="commit").height


def counter(client: VoxClient) -> int:
    raw = client.query("/store", COUNTER).value
    return decode_uint(raw) if raw else 0


def test_upgrade_stops_old_version_and_new_version_migrates_once(tmp_path: Path) -> None:
    home = tmp_path / "node"
    keyring = Keyring(home / "keyring", "test")
    alice_address = keyring.import_seed("alice", bytes([51]) * 32).address
    LocalNode.init_home(home, funds={alice_address: 10**12})
    genesis_path = home / "config" / "genesis.json"
    genesis = json.loads(genesis_path.read_text())
    params = GovParams(min_deposit=MIN_DEPOSIT, voting_period_seconds=VOTING_SECONDS)
    genesis["app_state"]["gov"] = {"params": {k: getattr(params, k) for k in params.__slots__}}
    genesis_path.write_text(json.dumps(genesis))
    alice, validator = keyring.load_private_key("alice"), keyring.load_private_key("validator")

    with LocalNode.start(home) as old, VoxClient(old.url) as client:
        height = send(client, alice)
        upgrade_height = height + 8
        submit = MsgSubmitProposal(
            alice.public_key.address,
            "upgrade to v2",
            "",
            (SoftwareUpgrade("v2", upgrade_height, "voxpop v2"),),
            MIN_DEPOSIT,
        )
        assert client.execute(alice, [submit], mode="commit").code == 0
        vote = MsgVote(validator.public_key.address, 1, 1)
        assert client.execute(validator, [vote], mode="commit").code == 0
        time.sleep(VOTING_SECONDS + 1)
        send(client, alice)  # the block that ends the voting
        assert client.query("/gov/plan").value, "the upgrade was not planned"
        raw = client.query("/gov/proposal", id_bytes(1)).value
        assert raw
        while send(client, alice) < upgrade_height - 1:
            pass
        # The next block is the upgrade's: this version does not know it and stops
        with pytest.raises(Exception):  # noqa: B017 - the node stops mid-request
            send(client, alice)
        old.process.wait(30)
        assert old.process.returncode != 0
        assert f"UPGRADE 'v2' NEEDED at height {upgrade_height}" in old.log()

    with start_new_version(home) as new, VoxClient(new.url) as client:
        assert counter(client) == 0
        assert send(client, alice) == upgrade_height  # the upgrade's block, made by v2
        assert counter(client) == 1
        assert decode_uint(client.query("/store", b"gov/upgrade/done/v2").value) == upgrade_height
        assert not client.query("/gov/plan").value
        send(client, alice)
        assert counter(client) == 1

    with start_new_version(home) as again, VoxClient(again.url) as client:  # a restart: not again
        send(client, alice)
        assert counter(client) == 1
