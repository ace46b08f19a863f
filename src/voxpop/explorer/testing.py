"""A real explorer process for tests and the devnet, and a synthetic chain for the benchmark.

    explorer = LocalExplorer.start(home, node_url=node.url)       # `voxpop explorer start`
    explorer.status()["last_height"]
    explorer.kill(); explorer.restart()                            # a crash, then a resume

`synthetic_blocks` makes blocks as a node reports them without running one: bank sends built and
signed with the client's own encoders (`build_tx`, `sign_tx`), with the events the bank module
emits for them and a mint per block, so the indexer's ingest path sees realistic data.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx

from voxpop.chain.abci import Event, EventAttribute, ExecTxResult
from voxpop.client.testing import START_TIMEOUT, LocalProcess, free_port, voxpop_command
from voxpop.client.tx import build_tx, msg_send, sign_tx
from voxpop.crypto.address import encode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.explorer.config import ExplorerConfig, write_config
from voxpop.node.service import BlockHeader, BlockRecord


class LocalExplorer(LocalProcess):
    READY_PATH: ClassVar[str] = "/v1/status"
    LOG_NAME: ClassVar[str] = "explorer.log"

    @classmethod
    def start(
        cls,
        home: Path,
        *,
        node_url: str,
        index: str = "",
        port: int | None = None,
        batch_blocks: int = 200,
        refresh_blocks: int = 5,
        timeout: float = START_TIMEOUT,
        via_cli: bool = False,
    ) -> LocalExplorer:
        """Start it and wait until it answers /v1/status. `via_cli=False` writes
        HOME/explorer.toml itself and runs the lean entry (`python -m voxpop.explorer`).
        Raises LocalProcessError."""
        port = port or free_port()
        config = ExplorerConfig(
            home,
            node=node_url,
            port=port,
            index=index,
            batch_blocks=batch_blocks,
            refresh_blocks=refresh_blocks,
        )
        if not via_cli:
            write_config(config)
            argv = [sys.executable, "-m", "voxpop.explorer", "--home", str(home)]
            return cls.spawn(home, port, argv, timeout)
        argv = voxpop_command(
            "explorer",
            "start",
            "--home",
            str(home),
            "--node",
            node_url,
            "--listen",
            f"127.0.0.1:{port}",
        )
        if index:
            argv += ["--index", index]
        return cls.spawn(home, port, argv, timeout)

    def status(self) -> dict[str, Any]:
        value: dict[str, Any] = httpx.get(self.url + "/v1/status", timeout=5.0).json()
        return value


SYNTHETIC_CHAIN_ID = "voxpop-bench"
MINT_PER_BLOCK = 1_234_567
SEND_GAS = 100_000
SEND_FEE = 100


def synthetic_blocks(
    blocks: int, txs_per_block: int, *, senders: int = 200, seed: int = 7
) -> Iterator[BlockRecord]:
    """`blocks` blocks of `txs_per_block` signed bank sends each (heights from 1), with their
    results and events, as a node's /v1/blocks reports them."""
    rng = random.Random(seed)
    keys = [PrivateKey(rng.randbytes(32)) for _ in range(senders)]
    addresses = [k.public_key.address for k in keys]
    recipients = addresses + [rng.randbytes(20) for _ in range(senders * 4)]
    sequences = [0] * senders
    proposer = rng.randbytes(20)
    last_hash = b"\0" * 32
    for height in range(1, blocks + 1):
        txs: list[bytes] = []
        results: list[ExecTxResult] = []
        for _ in range(txs_per_block):
            i = rng.randrange(senders)
            to = recipients[rng.randrange(len(recipients))]
            amount = rng.randrange(1, 10_000_000)
            memo = f"invoice {height}-{len(txs)}" if rng.random() < 0.2 else ""
            body = build_tx(
                chain_id=SYNTHETIC_CHAIN_ID,
                pub_key=keys[i].public_key.raw,
                sequence=sequences[i],
                msgs=[msg_send(addresses[i], to, amount)],
                fee=SEND_FEE,
                gas_limit=SEND_GAS,
                memo=memo,
            )
            txs.append(sign_tx(body, keys[i]))
            signer = encode_address(addresses[i])
            results.append(
                ExecTxResult(
                    code=0,
                    gas_wanted=SEND_GAS,
                    gas_used=8_671,
                    events=(
                        Event(
                            "tx",
                            (
                                EventAttribute("signer", signer),
                                EventAttribute("fee", str(SEND_FEE)),
                                EventAttribute("sequence", str(sequences[i])),
                            ),
                        ),
                        Event(
                            "transfer",
                            (
                                EventAttribute("sender", signer),
                                EventAttribute("recipient", encode_address(to)),
                                EventAttribute("amount", str(amount)),
                            ),
                        ),
                    ),
                )
            )
            sequences[i] += 1
        block_hash = rng.randbytes(32)
        yield BlockRecord(
            header=BlockHeader(
                chain_id=SYNTHETIC_CHAIN_ID,
                height=height,
                time_unix=1_790_000_000 + height,
                last_block_hash=last_hash,
                data_hash=rng.randbytes(32),
                app_hash=rng.randbytes(32),
                proposer=proposer,
                num_txs=len(txs),
            ),
            hash=block_hash,
            txs=tuple(txs),
            results=tuple(results),
            events=(
                Event(
                    "mint",
                    (
                        EventAttribute("module", "distribution"),
                        EventAttribute("amount", str(MINT_PER_BLOCK)),
                    ),
                ),
            ),
        )
        last_hash = block_hash
