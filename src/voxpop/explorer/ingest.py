"""Decoded blocks -> the index: a batch of consecutive blocks in ONE transaction, together with
the new last indexed height. A crash (even kill -9) leaves either the whole batch and its height
or neither, so the indexer resumes at the next height with no gap and no duplicate.

Rows go in with one executemany per table per batch on SQLite (the driver's own, with a
prepared INSERT and tuples: SQLAlchemy's per-row parameter processing cost as much as the
insert), and with COPY FROM STDIN on PostgreSQL (psycopg 3), which is what makes a backfill fast.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from voxpop.explorer import schema
from voxpop.explorer.decode import BlockRows


class IndexGapError(Exception):
    """A batch that does not start right after the last indexed height; `code` is stable."""

    code = "index_gap"


def read_cursor(conn: Connection) -> tuple[str, int, int] | None:
    """(chain id, last indexed height, supply after it), or None for an empty index."""
    row = conn.execute(
        sa.select(
            schema.index_state.c.chain_id,
            schema.index_state.c.last_height,
            schema.index_state.c.supply,
        )
    ).first()
    return None if row is None else (str(row[0]), int(row[1]), int(row[2]))


def last_height(engine: Engine) -> int:
    """The last indexed height (0: none yet)."""
    with engine.connect() as conn:
        cursor = read_cursor(conn)
    return 0 if cursor is None else cursor[1]


def write_batch(
    engine: Engine, chain_id: str, batch: Sequence[BlockRows], base_supply: int = 0
) -> int:
    """Writes `batch` (consecutive heights following the last indexed one) and the new cursor in
    one transaction; returns the new last height. `base_supply` is the supply before the batch
    when the index is empty. Raises IndexGapError (writing nothing)."""
    if not batch:
        return last_height(engine)
    with engine.begin() as conn:
        cursor = read_cursor(conn)
        last, running = (batch[0].height - 1, base_supply) if cursor is None else cursor[1:]
        # Verify the batch continues the index exactly (no gap, no block twice)
        for offset, rows in enumerate(batch):
            if rows.height != last + 1 + offset:
                raise IndexGapError(
                    f"block {rows.height} does not follow the last indexed height "
                    f"{last + offset} (index from {last})"
                )
        supply_rows: list[dict[str, Any]] = []
        for rows in batch:
            running = (
                rows.supply if rows.supply is not None else running + rows.minted - rows.burned
            )
            supply_rows.append(
                {
                    "height": rows.height,
                    "minted": rows.minted,
                    "burned": rows.burned,
                    "supply": running,
                }
            )
        _insert(conn, schema.blocks, [rows.block for rows in batch])
        _insert(conn, schema.txs, [t for rows in batch for t in rows.txs])
        _insert(conn, schema.messages, [m for rows in batch for m in rows.messages])
        _insert(conn, schema.events, [e for rows in batch for e in rows.events])
        _insert(conn, schema.account_txs, [a for rows in batch for a in rows.account_txs])
        _insert(conn, schema.supply, supply_rows)
        new_last = batch[-1].height
        if cursor is None:
            conn.execute(
                schema.index_state.insert().values(
                    id=1, chain_id=chain_id, last_height=new_last, supply=running
                )
            )
        else:
            conn.execute(
                schema.index_state.update()
                .where(schema.index_state.c.id == 1)
                .values(last_height=new_last, supply=running)
            )
    return new_last


def _insert(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, rows)
    elif conn.dialect.name == "sqlite":
        row_values = operator.itemgetter(*(c.name for c in table.columns))
        conn.exec_driver_sql(_sqlite_insert(table), list(map(row_values, rows)))
    else:
        conn.execute(table.insert(), rows)


def _sqlite_insert(table: sa.Table) -> str:
    columns = [c.name for c in table.columns]
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )


def _copy(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY FROM STDIN (psycopg 3), on the transaction's own connection: several
    times an executemany's rate."""
    columns = [c.name for c in table.columns]
    row_values = operator.itemgetter(*columns)
    driver: Any = conn.connection.driver_connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row_values(row))
    except dbapi_error as exc:  # as SQLAlchemy reports it (IntegrityError, ...), like inserts
        raise sa.exc.DBAPIError.instance(statement, None, exc, dbapi_error) from exc


def replace_rows(engine: Engine, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """The current state of one kind (validators, offers, ...): `rows` replace the table's."""
    with engine.begin() as conn:
        conn.execute(table.delete())
        _insert(conn, table, rows)
