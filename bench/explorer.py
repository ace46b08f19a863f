"""Benchmark: the explorer's index (issue 16): ingest rate and page latency, on SQLite and on a
real PostgreSQL server.

The chain is synthetic but made with the real encoders and no node: `synthetic_blocks` builds
10,000 blocks of 10 bank sends each (100,000 txs), each tx built and signed with the client's
`build_tx`/`sign_tx`, with the events the bank module emits and a mint per block, as a node's
/v1/blocks reports them (BlockRecord). Generating is not timed. Then, per database:

    index_tx_per_s        txs per second through the indexer's ingest path: decode each block
                          (each tx's CBOR: decode_tx, or for a tx the chain ran with code 0 a
                          plain load; each message parsed by its declaration, accounts touched,
                          events, issuance) and write batches of 200 blocks, each batch in one
                          transaction with the index cursor (ingest.write_batch)
    page_p95_ms           p95 of the tx page and the account page (random txs and accounts,
                          rendered by the explorer's app in this process, no network; the
                          account balance is not asked of a node: there is none)
    index_tx_per_cpu_s    the same per second of this process's CPU time (on a shared machine
                          the wall clock counts other processes' turns; on SQLite all the
                          work is in this process, on PostgreSQL the server's is not counted)
    baseline_insert_tx_per_s   the same tx rows inserted raw (DB-API executemany into a bare
                          table, no decode, no SQLAlchemy, no other tables): the database's
                          own rate on this machine, for scale

    python bench/explorer.py [--blocks 10000] [--txs-per-block 10] [--requests 400]

Last lines: `index_tx_per_s=<n> page_p95_ms=<n> db=sqlite`, then the same for postgresql.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import sqlalchemy as sa

from tests.support.postgres import PostgresServer
from voxpop.explorer import ingest, schema
from voxpop.explorer.app import create_explorer_app
from voxpop.explorer.decode import decode_block
from voxpop.explorer.schema import open_index, sqlite_url
from voxpop.explorer.testing import SYNTHETIC_CHAIN_ID, synthetic_blocks
from voxpop.node.service import BlockRecord

BATCH_BLOCKS = 200


def index_chain(engine: sa.Engine, blocks: list[BlockRecord]) -> tuple[float, float]:
    """Seconds (wall clock, and this process's CPU) to decode and write every block, in batches
    of BATCH_BLOCKS."""
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(blocks), BATCH_BLOCKS):
        batch = [decode_block(b) for b in blocks[i : i + BATCH_BLOCKS]]
        ingest.write_batch(engine, SYNTHETIC_CHAIN_ID, batch, base_supply=10**15)
    return time.perf_counter() - started, time.process_time() - cpu


def baseline_insert(engine: sa.Engine, blocks: list[BlockRecord]) -> float:
    """Tx rows per second inserted raw: DB-API executemany into a bare copy of the txs table."""
    rows = [t for b in blocks[: BATCH_BLOCKS * 5] for t in decode_block(b).txs]
    columns = [c.name for c in schema.txs.columns]
    placeholder = "?" if engine.dialect.name == "sqlite" else "%s"
    create = (
        "CREATE TABLE bench_raw ("
        + ", ".join(
            f"{c} {'BIGINT' if c in ('height', 'fee', 'gas_wanted', 'gas_used') else 'TEXT'}"
            for c in columns
        )
        + ")"
    )
    insert = (
        f"INSERT INTO bench_raw ({', '.join(columns)}) "
        f"VALUES ({', '.join([placeholder] * len(columns))})"
    )
    values = [tuple(r[c] for c in columns) for r in rows]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(create)
        raw.commit()
        started = time.perf_counter()
        per_batch = BATCH_BLOCKS * len(rows) // (BATCH_BLOCKS * 5)
        for i in range(0, len(values), per_batch):
            cursor.executemany(insert, values[i : i + per_batch])
            raw.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_raw")
        raw.commit()
    finally:
        raw.close()
    return len(values) / elapsed


def page_p95_ms(engine: sa.Engine, requests: int, seed: int = 3) -> tuple[float, float, float]:
    """p95 over tx and account pages (half each), and each kind's p50, in milliseconds."""
    with engine.connect() as conn:
        hashes = [r[0] for r in conn.execute(sa.select(schema.txs.c.hash).limit(20_000))]
        senders = [
            r[0] for r in conn.execute(sa.select(schema.txs.c.sender).distinct().limit(5_000))
        ]
        recipients = []
        for (msgs,) in conn.execute(sa.select(schema.txs.c.msgs).limit(2_000)):
            recipients.append(json.loads(msgs)[0]["value"]["to"])
    accounts = senders + recipients
    rng = random.Random(seed)
    app = create_explorer_app(engine, node_url=None)

    async def measure() -> tuple[list[float], list[float]]:
        tx_ms: list[float] = []
        account_ms: list[float] = []
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://explorer") as client:
            for _ in range(5):  # warm up
                await client.get(f"/txs/{hashes[0]}")
                await client.get(f"/accounts/{accounts[0]}")
            for i in range(requests):
                if i % 2:
                    path, into = f"/txs/{rng.choice(hashes)}", tx_ms
                else:
                    path, into = f"/accounts/{rng.choice(accounts)}", account_ms
                started = time.perf_counter()
                answer = await client.get(path)
                into.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
        return tx_ms, account_ms

    tx_ms, account_ms = asyncio.run(measure())
    p95 = statistics.quantiles(tx_ms + account_ms, n=20)[-1]
    return p95, statistics.median(tx_ms), statistics.median(account_ms)


def run_one(db: str, url: str, blocks: list[BlockRecord], requests: int) -> str:
    engine = open_index(url)
    try:
        baseline = baseline_insert(engine, blocks)
        txs = sum(len(b.txs) for b in blocks)
        seconds, cpu_seconds = index_chain(engine, blocks)
        p95, tx_p50, account_p50 = page_p95_ms(engine, requests)
    finally:
        engine.dispose()
    print(
        f"baseline_insert_tx_per_s={baseline:.0f} tx_page_p50_ms={tx_p50:.1f} "
        f"account_page_p50_ms={account_p50:.1f} index_seconds={seconds:.1f} "
        f"index_cpu_seconds={cpu_seconds:.1f} index_tx_per_cpu_s={txs / cpu_seconds:.0f} db={db}",
        flush=True,
    )
    return f"index_tx_per_s={txs / seconds:.0f} page_p95_ms={p95:.1f} db={db}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--txs-per-block", type=int, default=10)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()

    started = time.perf_counter()
    blocks = list(synthetic_blocks(args.blocks, args.txs_per_block))
    print(
        f"generated {args.blocks} blocks, {args.blocks * args.txs_per_block} signed txs "
        f"in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    lines = []
    with tempfile.TemporaryDirectory(prefix="voxpop-bench-explorer-") as tmp:
        lines.append(
            run_one("sqlite", sqlite_url(Path(tmp) / "index.sqlite"), blocks, args.requests)
        )
        print(lines[-1], flush=True)
    with PostgresServer.start() as server:
        url = server.create_database("explorer_bench")
        lines.append(run_one("postgresql", url, blocks, args.requests))
    print(lines[0])
    print(lines[1])


if __name__ == "__main__":
    main()
