"""The index's tables (SQLAlchemy Core, one schema for SQLite and PostgreSQL) and its migrations.

`schema_version` holds one row: the number of the last migration applied. `migrate` applies the
missing steps of `MIGRATIONS` in order, each in its own transaction together with the new
version, so an index is always at exactly one version. An index newer than this code is refused
(an older explorer must not write into a schema it does not know).

Amounts are integers (uvox) in BIGINT columns; hashes and consensus addresses are lowercase hex;
account addresses are bech32 (`vox1...`), as the pages show and search them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # always 1
    sa.Column("version", sa.Integer, nullable=False),
)

# The indexer's cursor: written in the same transaction as the blocks it covers
index_state = sa.Table(
    "index_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),  # always 1
    sa.Column("chain_id", sa.String(64), nullable=False),
    sa.Column("last_height", sa.BigInteger, nullable=False),
    sa.Column("supply", sa.BigInteger, nullable=False),  # after last_height
)

blocks = sa.Table(
    "blocks",
    metadata,
    sa.Column("height", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Column("time_unix", sa.BigInteger, nullable=False),
    sa.Column("proposer", sa.String(40), nullable=False),  # consensus address, hex
    sa.Column("num_txs", sa.Integer, nullable=False),
    sa.Column("app_hash", sa.String(64), nullable=False),
    sa.Column("gas_used", sa.BigInteger, nullable=False),
    sa.Column("fees", sa.BigInteger, nullable=False),
)

txs = sa.Table(
    "txs",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("height", sa.BigInteger, nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("sender", sa.String(90), nullable=False),  # "" if the tx does not decode
    sa.Column("fee", sa.BigInteger, nullable=False),
    sa.Column("gas_wanted", sa.BigInteger, nullable=False),
    sa.Column("gas_used", sa.BigInteger, nullable=False),
    sa.Column("code", sa.Integer, nullable=False),
    sa.Column("codespace", sa.String(64), nullable=False),
    sa.Column("log", sa.Text, nullable=False),
    sa.Column("memo", sa.Text, nullable=False),
    sa.Column("msg_types", sa.Text, nullable=False),  # comma-separated, for lists
    sa.Column("msgs", sa.Text, nullable=False),  # JSON: the decoded messages (null: undecodable)
    sa.Column("size", sa.Integer, nullable=False),
    sa.UniqueConstraint("height", "idx", name="txs_height_idx"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("tx_hash", sa.String(64), primary_key=True),
    sa.Column("msg_index", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("height", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(128), nullable=False, index=True),
    sa.Column("value", sa.Text, nullable=False),  # JSON
)

# Block events (begin/end block: tx_index -1) and tx events
events = sa.Table(
    "events",
    metadata,
    sa.Column("height", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("tx_index", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("event_index", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("type", sa.String(128), nullable=False),
    sa.Column("attributes", sa.Text, nullable=False),  # JSON [[key, value], ...]
)

# Every account a tx touched: its signer, and each address in its messages and events
account_txs = sa.Table(
    "account_txs",
    metadata,
    sa.Column("address", sa.String(90), primary_key=True),
    sa.Column("height", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("tx_index", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("tx_hash", sa.String(64), nullable=False),
)

# Issuance and supply, per block
supply = sa.Table(
    "supply",
    metadata,
    sa.Column("height", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("minted", sa.BigInteger, nullable=False),
    sa.Column("burned", sa.BigInteger, nullable=False),
    sa.Column("supply", sa.BigInteger, nullable=False),
)

# The chain's current state of each (refreshed from the node by the indexer)
validators = sa.Table(
    "validators",
    metadata,
    sa.Column("consensus_address", sa.String(40), primary_key=True),
    sa.Column("operator", sa.String(90), nullable=False),
    sa.Column("moniker", sa.Text, nullable=False),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("tokens", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("jailed", sa.Boolean, nullable=False),
    sa.Column("commission_bps", sa.Integer, nullable=False),
    sa.Column("window", sa.Integer, nullable=False),  # the slashing window's blocks counted
    sa.Column("missed", sa.Integer, nullable=False),  # of which missed
    sa.Column("updated_height", sa.BigInteger, nullable=False),
)

proposals = sa.Table(
    "proposals",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("proposer", sa.String(90), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),  # JSON, as the node's API gives it
    sa.Column("updated_height", sa.BigInteger, nullable=False),
)

service_offers = sa.Table(
    "service_offers",
    metadata,
    sa.Column("provider", sa.String(90), primary_key=True),
    sa.Column("kind", sa.String(64), primary_key=True),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("price", sa.BigInteger, nullable=False),
    sa.Column("stake", sa.BigInteger, nullable=False),
    sa.Column("languages", sa.Text, nullable=False),
    sa.Column("registered_at", sa.BigInteger, nullable=False),
    sa.Column("updated_height", sa.BigInteger, nullable=False),
)

storage_providers = sa.Table(
    "storage_providers",
    metadata,
    sa.Column("address", sa.String(90), primary_key=True),
    sa.Column("endpoint", sa.Text, nullable=False),
    sa.Column("capacity", sa.BigInteger, nullable=False),
    sa.Column("used", sa.BigInteger, nullable=False),
    sa.Column("price", sa.BigInteger, nullable=False),
    sa.Column("collateral", sa.BigInteger, nullable=False),
    sa.Column("faults", sa.Integer, nullable=False),
    sa.Column("updated_height", sa.BigInteger, nullable=False),
)

TABLES_V1 = (
    index_state,
    blocks,
    txs,
    messages,
    events,
    account_txs,
    supply,
    validators,
    proposals,
    service_offers,
    storage_providers,
)

# Added by migration 2 (plain DDL, the same on both databases, so version 1 stays as it was)
V2_INDEXES = (
    "CREATE INDEX IF NOT EXISTS account_txs_newest ON account_txs (address, height DESC)",
    "CREATE INDEX IF NOT EXISTS txs_sender ON txs (sender, height)",
)

# Dropped by migration 3: no page reads them (the account_txs primary key, address then height,
# already gives an account's newest txs, read backwards; no page looks txs up by sender), and
# each cost every indexed tx one more index write
V3_DROPPED_INDEXES = ("account_txs_newest", "txs_sender")


class SchemaError(Exception):
    """The index cannot be used by this code (a newer schema); `code` is stable."""

    code = "index_schema_unusable"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=list(TABLES_V1))


def _create_account_indexes(conn: Connection) -> None:
    for ddl in V2_INDEXES:
        conn.execute(sa.text(ddl))


def _drop_unread_indexes(conn: Connection) -> None:
    for name in V3_DROPPED_INDEXES:
        conn.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "blocks, txs, messages, events, accounts, supply, chain state", _create_v1),
    Migration(2, "indexes: an account's newest txs, a sender's txs", _create_account_indexes),
    Migration(3, "drop migration 2's indexes: no page reads them", _drop_unread_indexes),
)
LATEST_VERSION = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int:
    """The index's schema version (0: a new, empty database)."""
    if not sa.inspect(conn).has_table(schema_version.name):
        return 0
    version = conn.execute(sa.select(schema_version.c.version)).scalar()
    return int(version or 0)


def migrate(engine: Engine, target: int = LATEST_VERSION) -> int:
    """Apply the missing migrations up to `target`, each with its version in one transaction;
    returns the version reached. Raises SchemaError if the index is newer than `target`."""
    with engine.begin() as conn:
        schema_version.create(conn, checkfirst=True)
        version = current_version(conn)
    # Verify the index is not from a newer explorer
    if version > target:
        raise SchemaError(f"the index is at schema version {version}; this explorer knows {target}")
    for step in MIGRATIONS:
        if version < step.version <= target:
            with engine.begin() as conn:
                step.apply(conn)
                if version == 0:
                    conn.execute(schema_version.insert().values(id=1, version=step.version))
                else:
                    conn.execute(schema_version.update().values(version=step.version))
            version = step.version
    return version


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def normalize_url(url: str) -> str:
    """`postgresql://...` through psycopg 3 (SQLAlchemy's default postgresql driver is psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    return url


def open_index(url: str, *, migrate_schema: bool = True) -> Engine:
    """An engine on the index at `url` (sqlite:///PATH or postgresql://...), migrated to the
    latest schema. Raises SchemaError, sqlalchemy.exc.SQLAlchemyError."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    if migrate_schema:
        migrate(engine)
    return engine


WAL_CHECKPOINT_PAGES = 10_000  # 40 MB of WAL at SQLite's 4 KiB pages


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # WAL: the pages read while the indexer writes; NORMAL sync is still crash-safe in WAL mode
    # (a commit is atomic and durable against a crash of the process; a power cut may lose the
    # last commits, never tear one, and the cursor goes with its blocks). Checkpoints every
    # WAL_CHECKPOINT_PAGES rather than SQLite's 1,000: a backfill's batches are several MB each,
    # and checkpointing after every one was most of the write's wall time.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
