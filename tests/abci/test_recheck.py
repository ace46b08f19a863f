"""RECHECK through the ABCI server, as CometBFT sends it after a block: the voxpop app answers
from the check state it re-based at Commit (voxpop.chain.check_state)."""

from __future__ import annotations

from pathlib import Path

from tests.abci.test_abci_server import RawClient
from tests.chain.harness import Chain, key, send_msg
from voxpop.abci.proto import abci_pb2
from voxpop.abci.server import AbciServer
from voxpop.chain.errors import WrongSequenceError

ALICE, BOB = key(1), key(2)


async def test_recheck_evicts_the_tx_a_block_made_invalid_and_keeps_the_next(
    tmp_path: Path,
) -> None:
    chain = Chain.start(tmp_path / "state", [(ALICE, 10_000_000)])
    server = AbciServer(chain.app)
    await server.start(f"unix://{tmp_path}/abci.sock")
    try:
        mine = chain.tx(ALICE, [send_msg(ALICE, BOB, 10)], sequence=0)
        following = chain.tx(ALICE, [send_msg(ALICE, BOB, 20)], sequence=1)
        rival = chain.tx(ALICE, [send_msg(ALICE, BOB, 30)], sequence=0)
        after = chain.tx(ALICE, [send_msg(ALICE, BOB, 40)], sequence=2)
        mempool = await RawClient.connect(server.address)
        consensus = await RawClient.connect(server.address)
        for tx in (mine, following):
            mempool.send(check_tx=abci_pb2.RequestCheckTx(tx=tx, type=abci_pb2.NEW))
        accepted = await mempool.receive(2)
        assert [r.check_tx.code for r in accepted] == [0, 0]

        # Another node's block takes sequence 0 with the rival tx
        height = chain.app.last_height + 1
        time_unix = chain.time + 5
        consensus.send(
            finalize_block=abci_pb2.RequestFinalizeBlock(
                txs=[rival], height=height, time={"seconds": time_unix}
            )
        )
        consensus.send(commit=abci_pb2.RequestCommit())
        block, _ = await consensus.receive(2)
        assert [r.code for r in block.finalize_block.tx_results] == [0]

        for tx in (mine, following):
            mempool.send(check_tx=abci_pb2.RequestCheckTx(tx=tx, type=abci_pb2.RECHECK))
        mempool.send(check_tx=abci_pb2.RequestCheckTx(tx=after, type=abci_pb2.NEW))
        rechecked = await mempool.receive(3)
        assert [r.check_tx.code for r in rechecked] == [WrongSequenceError.code, 0, 0]
        await mempool.close()
        await consensus.close()
    finally:
        await server.close()
        chain.app.store.close()
