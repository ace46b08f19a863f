"""The index on both databases: schema and migrations, ingest of decoded blocks (one transaction
per batch with the cursor), gaps refused, and the reads the pages make."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.support.postgres import PostgresServer
from voxpop.explorer import ingest, reads, schema
from voxpop.explorer.config import ExplorerConfig, ExplorerConfigError, load_config, write_config
from voxpop.explorer.decode import decode_block
from voxpop.explorer.schema import LATEST_VERSION, SchemaError, migrate, open_index, sqlite_url
from voxpop.explorer.testing import MINT_PER_BLOCK, SYNTHETIC_CHAIN_ID, synthetic_blocks

_names = itertools.count()
BLOCKS = list(synthetic_blocks(12, 5, senders=8))


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty database of each kind."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "index.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"explorer_index_{next(_names)}")


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    engine = open_index(url)
    yield engine
    engine.dispose()


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def test_migrations_from_empty_then_idempotent(url: str) -> None:
    engine = open_index(url, migrate_schema=False)
    try:
        assert migrate(engine, target=1) == 1
        with engine.connect() as conn:
            assert schema.current_version(conn) == 1
            assert "account_txs_newest" not in {
                i["name"] for i in sa.inspect(conn).get_indexes("account_txs")
            }
        assert migrate(engine, target=2) == 2
        with engine.connect() as conn:
            names = {i["name"] for i in sa.inspect(conn).get_indexes("account_txs")}
            assert "account_txs_newest" in names
        assert migrate(engine) == LATEST_VERSION
        assert migrate(engine) == LATEST_VERSION  # nothing left to apply
        with engine.connect() as conn:
            assert schema.current_version(conn) == LATEST_VERSION
            for table in ("account_txs", "txs"):  # migration 3 dropped what no page reads
                names = {i["name"] for i in sa.inspect(conn).get_indexes(table)}
                assert not names & set(schema.V3_DROPPED_INDEXES)
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(schema.schema_version)).scalar()
                == 1
            )
    finally:
        engine.dispose()


def test_invalid_index_newer_than_the_code(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(schema.schema_version.update().values(version=LATEST_VERSION + 1))
    with pytest.raises(SchemaError) as caught:
        migrate(engine)
    assert caught.value.code == "index_schema_unusable"


def test_ingest_batches_and_reads(engine: Engine) -> None:
    rows = [decode_block(b) for b in BLOCKS]
    assert ingest.write_batch(engine, SYNTHETIC_CHAIN_ID, rows[:5], base_supply=10**12) == 5
    assert ingest.write_batch(engine, SYNTHETIC_CHAIN_ID, rows[5:]) == 12
    assert ingest.last_height(engine) == 12
    assert count(engine, schema.blocks) == 12
    assert count(engine, schema.txs) == 12 * 5
    assert count(engine, schema.messages) == 12 * 5
    with engine.connect() as conn:
        state = reads.index_status(conn)
        assert state == {
            "chain_id": SYNTHETIC_CHAIN_ID,
            "last_height": 12,
            "supply": 10**12 + 12 * MINT_PER_BLOCK,
        }
        block = reads.block(conn, 3)
        assert block is not None and len(block["txs"]) == 5
        assert block["events"][0]["type"] == "mint"
        tx = reads.tx(conn, block["txs"][0]["hash"])
        assert tx is not None
        assert tx["msgs"][0]["type"] == "bank/Send"
        assert tx["msgs"][0]["value"]["from"] == tx["sender"]
        assert [e["type"] for e in tx["events"]] == ["tx", "transfer"]
        # The recipient's page lists the tx, as does the sender's
        recipient = tx["msgs"][0]["value"]["to"]
        assert tx["hash"] in {t["hash"] for t in reads.account(conn, recipient, limit=100)["txs"]}
        sender_txs = reads.account(conn, tx["sender"], limit=100)["txs"]
        assert tx["hash"] in {t["hash"] for t in sender_txs}
        assert [t["height"] for t in sender_txs] == sorted(
            (t["height"] for t in sender_txs), reverse=True
        )
        assert reads.search_target(conn, "3") == "/blocks/3"
        assert reads.search_target(conn, tx["hash"].upper()) == f"/txs/{tx['hash']}"
        assert reads.search_target(conn, block["hash"]) == "/blocks/3"
        assert reads.search_target(conn, recipient) == f"/accounts/{recipient}"
        assert reads.search_target(conn, "<script>") is None


def test_invalid_gap_or_replay_writes_nothing(engine: Engine) -> None:
    rows = [decode_block(b) for b in BLOCKS]
    ingest.write_batch(engine, SYNTHETIC_CHAIN_ID, rows[:3])
    for bad in ([rows[4]], [rows[2]], [rows[3], rows[5]]):
        with pytest.raises(ingest.IndexGapError):
            ingest.write_batch(engine, SYNTHETIC_CHAIN_ID, bad)
    assert ingest.last_height(engine) == 3
    assert count(engine, schema.blocks) == 3
    assert count(engine, schema.txs) == 15


def test_a_failed_batch_rolls_back_with_its_cursor(engine: Engine) -> None:
    rows = [decode_block(b) for b in BLOCKS]
    ingest.write_batch(engine, SYNTHETIC_CHAIN_ID, rows[:2])
    # A tx already indexed (same hash) in the next block: the insert fails mid-batch
    broken = decode_block(BLOCKS[2])
    broken.txs.append(dict(rows[0].txs[0], height=3, idx=99))
    with pytest.raises(sa.exc.IntegrityError):
        ingest.write_batch(engine, SYNTHETIC_CHAIN_ID, [broken])
    assert ingest.last_height(engine) == 2
    assert count(engine, schema.blocks) == 2
    assert ingest.write_batch(engine, SYNTHETIC_CHAIN_ID, rows[2:4]) == 4


def test_invalid_config_is_refused_with_a_code(tmp_path: Path) -> None:
    for bad in (
        ExplorerConfig(tmp_path, index="mysql://root@localhost/x"),
        ExplorerConfig(tmp_path, port=70_000),
        ExplorerConfig(tmp_path, batch_blocks=0),
    ):
        with pytest.raises(ExplorerConfigError) as caught:
            write_config(bad)
        assert caught.value.code == "invalid_explorer_config"
    assert not (tmp_path / "explorer.toml").exists()
    config = ExplorerConfig(tmp_path, index="postgresql://u:secret@127.0.0.1:5/db", port=7901)
    write_config(config)
    assert load_config(tmp_path) == config
    assert config.index_kind == "postgresql"
    assert ExplorerConfig(tmp_path).index_url == sqlite_url(tmp_path / "index.sqlite")
