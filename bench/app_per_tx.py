"""What one transfer costs the Python node, stage by stage, with no CometBFT and no other process.

The testnet benchmark (`bench/testnet_throughput.py`) measures a validator's CPU per tx with four
validators and their CometBFT processes sharing two cores, so its figure mixes the node's own
work with contention and with CometBFT. This one measures the node's part alone, twice:

1. **In the app**: a real `VoxApp` over a real store, on a fresh chain with `--block` funded
   accounts, runs blocks of `--block` transfers (each from a different account, as under load):
   `preverify` (decode + Ed25519 verification, what the verifier thread does), `check_tx` of each,
   `process_proposal` (every validator checks every proposed block), `finalize_block`, the
   response's protobuf translation, and `commit`.
2. **Through the ABCI socket**: the same kind of blocks through a real `AbciServer` on a unix
   socket, driven the way CometBFT drives it: every CheckTx pipelined, then ProcessProposal,
   FinalizeBlock and Commit. This adds what the adapter costs (framing, protobuf, the asyncio
   loop, thread hand-offs) to the app's work.

CPU time is the process's (all threads: the verifier thread is one of them), over `--rounds`
blocks after one unmeasured block; each figure is the median over the rounds. Baseline measured
in the same run: one Ed25519 verification, the one piece of the work no Python can shorten.

Prints, as its last line:

    app_us_per_tx=<n> abci_us_per_tx=<n> preverify_us=<n> check_us=<n> propose_us=<n>
    finalize_us=<n> commit_us=<n> sig_verify_us=<n>

(`finalize_us` includes the response's protobuf translation.)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from device_day import CHAIN_ID, GENESIS_TIME
from device_day import start as start_chain
from solo_throughput import measure_sig_verify, sign_transfers

from voxpop.abci import AbciServer, translate
from voxpop.abci.codec import FrameDecoder, encode_frame
from voxpop.abci.event_index import DEFAULT_INDEX_EVENTS, EventIndex
from voxpop.abci.proto import abci_pb2
from voxpop.chain.abci import (
    ProposalStatus,
    RequestCheckTx,
    RequestFinalizeBlock,
    RequestProcessProposal,
    ResponseFinalizeBlock,
    ResponseProcessProposal,
)
from voxpop.chain.app import VoxApp
from voxpop.crypto.keys import PrivateKey

BLOCK_SECONDS = 5


def cpu_us(fn: Callable[[], object], count: int) -> float:
    """The process's CPU time (all threads) of `fn()`, in µs per item."""
    start = time.process_time()
    fn()
    return (time.process_time() - start) / count * 1e6


def block_in_app(app: VoxApp, txs: list[bytes], index: EventIndex) -> dict[str, float]:
    """µs per tx of each stage of one block of `txs`, straight on the app."""
    n = len(txs)
    height = app.last_height + 1
    block_time = GENESIS_TIME + BLOCK_SECONDS * height
    figures = {"preverify": cpu_us(lambda: app.preverify(txs), n)}

    def check() -> None:
        for raw in txs:
            res = app.check_tx(RequestCheckTx(raw))
            if res.code:
                raise SystemExit(f"check_tx refused a transfer: {res.log}")

    figures["check"] = cpu_us(check, n)
    proposal = RequestProcessProposal(tuple(txs), height, block_time)
    verdicts: list[ResponseProcessProposal] = []
    figures["propose"] = cpu_us(lambda: verdicts.append(app.process_proposal(proposal)), n)
    if verdicts != [ResponseProcessProposal(ProposalStatus.ACCEPT)]:
        raise SystemExit("process_proposal rejected the block")
    request = RequestFinalizeBlock(tuple(txs), height, block_time)
    results: list[ResponseFinalizeBlock] = []
    figures["finalize"] = cpu_us(lambda: results.append(app.finalize_block(request)), n)
    figures["encode"] = cpu_us(
        lambda: translate.finalize_block_response_to_pb(results[0], index), n
    )
    figures["commit"] = cpu_us(app.commit, n)
    if any(r.code for r in results[0].tx_results):
        raise SystemExit("a transfer failed in its block")
    return figures


def in_app(app: VoxApp, blocks: list[list[bytes]]) -> dict[str, float]:
    """Median µs per tx of each stage, over `blocks` (the first is a warm-up)."""
    index = EventIndex.parse(list(DEFAULT_INDEX_EVENTS))
    rounds = [block_in_app(app, txs, index) for txs in blocks][1:]
    return {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}


class AbciDriver:
    """Plays CometBFT's part on one ABCI connection: pipelined requests, answers in order."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.decoder = FrameDecoder()

    def call(self, requests: list[abci_pb2.Request]) -> list[abci_pb2.Response]:
        requests = [*requests, abci_pb2.Request(flush=abci_pb2.RequestFlush())]
        self.sock.sendall(b"".join(encode_frame(r.SerializeToString()) for r in requests))
        frames: list[bytes] = []
        while len(frames) < len(requests):
            data = self.sock.recv(1 << 20)
            if not data:
                raise SystemExit("the ABCI server closed the connection")
            frames.extend(self.decoder.feed(data))
        responses = [abci_pb2.Response.FromString(f) for f in frames]
        for response in responses:
            if response.WhichOneof("value") == "exception":
                raise SystemExit(f"ABCI exception: {response.exception.error}")
        return responses[:-1]


def converse(driver: AbciDriver, height: int, txs: list[bytes], trickle: bool) -> None:
    """One block's whole ABCI conversation, as CometBFT holds it: CheckTx for every tx (all
    pipelined, or with `trickle` one at a time, each flushed and answered before the next, as
    txs arriving one by one are), then ProcessProposal, FinalizeBlock and Commit."""
    block_time = GENESIS_TIME + BLOCK_SECONDS * height
    checks = [
        abci_pb2.Request(check_tx=abci_pb2.RequestCheckTx(tx=raw, type=abci_pb2.NEW)) for raw in txs
    ]
    answers = [a for c in checks for a in driver.call([c])] if trickle else driver.call(checks)
    if any(a.check_tx.code for a in answers):
        raise SystemExit("CheckTx refused a transfer")
    propose = abci_pb2.Request(
        process_proposal=abci_pb2.RequestProcessProposal(txs=txs, height=height)
    )
    propose.process_proposal.time.seconds = block_time
    if driver.call([propose])[0].process_proposal.status != abci_pb2.ResponseProcessProposal.ACCEPT:
        raise SystemExit("ProcessProposal rejected the block")
    finalize = abci_pb2.Request(
        finalize_block=abci_pb2.RequestFinalizeBlock(txs=txs, height=height)
    )
    finalize.finalize_block.time.seconds = block_time
    if any(r.code for r in driver.call([finalize])[0].finalize_block.tx_results):
        raise SystemExit("a transfer failed in its block")
    driver.call([abci_pb2.Request(commit=abci_pb2.RequestCommit())])


def drive(
    conn: Connection, path: str, blocks: list[list[bytes]], height: int, trickle: bool
) -> None:
    """The client process: converses block after block, telling the server's process when each
    begins and ends (and waiting for its note of the time) so that it can time itself alone."""
    driver = AbciDriver(path)
    for offset, txs in enumerate(blocks):
        conn.send("begin")
        conn.recv()
        converse(driver, height + offset, txs, trickle)
        conn.send("end")
        conn.recv()
    driver.sock.close()


def through_abci(app: VoxApp, blocks: list[list[bytes]], workdir: Path, trickle: bool) -> float:
    """Median µs of this process's CPU per tx, over `blocks` (the first is a warm-up), while a
    client in another process converses with a real AbciServer here over a unix socket.

    The client has a process of its own, as CometBFT does, so only the server's work is timed."""
    socket_path = workdir / "abci.sock"
    server = AbciServer(app, index_events=EventIndex.parse(list(DEFAULT_INDEX_EVENTS)))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="abci-loop", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(f"unix://{socket_path}"), loop).result(30)
    ours, theirs = multiprocessing.Pipe()
    client = multiprocessing.get_context("spawn").Process(
        target=drive, args=(theirs, str(socket_path), blocks, app.last_height + 1, trickle)
    )
    client.start()
    figures = []
    try:
        for txs in blocks:
            if ours.recv() != "begin":
                raise SystemExit("the client process went astray")
            start = time.process_time()
            ours.send("go")
            if ours.recv() != "end":
                raise SystemExit("the client process went astray")
            figures.append((time.process_time() - start) / len(txs) * 1e6)
            ours.send("next")
        client.join(timeout=60)
        if client.exitcode != 0:
            raise SystemExit(f"the client process failed ({client.exitcode})")
    finally:
        if client.is_alive():
            client.kill()
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
    return statistics.median(figures[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--block", type=int, default=1000, help="transfers per block")
    parser.add_argument("--rounds", type=int, default=5, help="measured blocks per part")
    args = parser.parse_args()
    blocks_per_part = args.rounds + 1
    keys = [PrivateKey(i.to_bytes(32, "big")) for i in range(1, args.block + 1)]
    print(f"signing {3 * blocks_per_part * args.block} transfers...", flush=True)
    txs = sign_transfers(keys, 3 * blocks_per_part, CHAIN_ID)
    blocks = [txs[i : i + args.block] for i in range(0, len(txs), args.block)]
    workdir = Path(tempfile.mkdtemp(prefix="voxpop-bench-app-"))
    try:
        app = start_chain(workdir / "state", keys).app  # every key funded, genesis committed
        stages = in_app(app, blocks[:blocks_per_part])
        parts = [blocks[i * blocks_per_part : (i + 1) * blocks_per_part] for i in (1, 2)]
        abci = through_abci(app, parts[0], workdir, trickle=False)
        trickle = through_abci(app, parts[1], workdir, trickle=True)
        app.store.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sig_verify_us = 1e6 / measure_sig_verify()
    total = sum(stages.values())
    print(
        "in the app, µs per tx: "
        + " ".join(f"{name} {value:.1f}" for name, value in stages.items())
        + f"; through the ABCI socket {abci:.1f} (CheckTx one at a time: {trickle:.1f})"
    )
    print(
        f"app_us_per_tx={total:.0f} abci_us_per_tx={abci:.0f} "
        f"abci_trickle_us_per_tx={trickle:.0f} "
        f"preverify_us={stages['preverify']:.0f} check_us={stages['check']:.0f} "
        f"propose_us={stages['propose']:.0f} "
        f"finalize_us={stages['finalize'] + stages['encode']:.0f} "
        f"commit_us={stages['commit']:.0f} sig_verify_us={sig_verify_us:.0f}"
    )


if __name__ == "__main__":
    main()
