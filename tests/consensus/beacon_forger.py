"""An app factory for one validator of a consensus test: the real app, whose vote extensions are
VRF proofs made with another key than its consensus key (what a validator trying to choose its
contribution to the beacon would send). Run by the node process: `--app
tests.consensus.beacon_forger:open_forging_app`, with the repository root on PYTHONPATH."""

from __future__ import annotations

from voxpop.chain.app import VoxApp
from voxpop.crypto.keys import PrivateKey
from voxpop.node.app_factory import open_app
from voxpop.node.home import NodeHome
from voxpop.node.validator_key import beacon_prover

FORGED_KEY = PrivateKey(b"\x66" * 32)


def open_forging_app(home: NodeHome) -> VoxApp:
    app = open_app(home)
    app.beacon_prover = beacon_prover(FORGED_KEY)
    return app
