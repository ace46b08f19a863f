"""Two parties, each with a VOX account on a real solo node and an ETH key on a real geth --dev,
and each its own swap tool (engine and state dir). `fresh` rebuilds a party's engine from its
disk, as a restarted tool would."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from web3 import Web3

from tests.support.nodeproc import NodeProcess
from tests.swap.geth_node import GethNode
from voxpop.client import VoxClient
from voxpop.crypto.keys import PrivateKey
from voxpop.swap.engine import SwapEngine
from voxpop.swap.eth import EthLeg
from voxpop.swap.store import SwapRecord, SwapStore
from voxpop.swap.vox import VoxLeg

VOX_FUNDS = 10**12
ETH_FUNDS = 10**19


@dataclass
class Party:
    name: str
    vox_key: PrivateKey
    eth_key: bytes
    node: NodeProcess
    geth: GethNode
    contract: str
    root: Path
    client: VoxClient  # shared by every tool this party starts (it holds no swap state)
    w3: Web3

    def vox(self) -> VoxLeg:
        return VoxLeg(self.client, self.vox_key)

    def eth(self) -> EthLeg:
        return EthLeg(self.w3, self.contract, self.eth_key)

    def engine(self) -> SwapEngine:
        """A new tool over this party's state dir (what a restart after kill -9 sees)."""
        return SwapEngine(SwapStore(self.root), self.vox(), {"ETH": self.eth()})

    def fresh(self, record: SwapRecord) -> tuple[SwapEngine, SwapRecord]:
        engine = self.engine()
        return engine, engine.store.load(record.hashlock)

    def vox_balance(self) -> int:
        return self.client.balance(self.vox_key.public_key.address)

    def eth_balance(self) -> int:
        return int(self.w3.eth.get_balance(Account.from_key(self.eth_key).address))

    def close(self) -> None:
        self.client.close()


def make_party(
    name: str, vox_key: PrivateKey, node: NodeProcess, geth: GethNode, contract: str, root: Path
) -> Party:
    eth_key = secrets.token_bytes(32)
    geth.fund(Account.from_key(eth_key).address, ETH_FUNDS)
    client = VoxClient(node.url)
    return Party(name, vox_key, eth_key, node, geth, contract, root, client, geth.web3())


def drive(
    steps: list[tuple[Party, SwapRecord]], timeout: float = 90.0, *, restart_each_step: bool = False
) -> list[SwapRecord]:
    """Step each party's swap in turn until all are done. With restart_each_step, every step
    runs on a tool rebuilt from disk (a crash and restart between any two steps)."""
    engines = {p.name: p.engine() for p, _ in steps}
    records = [r for _, r in steps]
    deadline = time.monotonic() + timeout
    while not all(r.done for r in records):
        assert time.monotonic() < deadline, [(r.role, r.phase, r.notes[-3:]) for r in records]
        moved = False
        for i, (party, _) in enumerate(steps):
            if records[i].done:
                continue
            if restart_each_step:
                engine, records[i] = party.fresh(records[i])
            else:
                engine = engines[party.name]
            moved = engine.tick(records[i]) or moved
        if not moved:
            time.sleep(0.3)
    return records
