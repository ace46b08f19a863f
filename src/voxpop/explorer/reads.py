"""What the explorer's pages read from the index (SQLAlchemy Core selects, the same on SQLite and
PostgreSQL). Every list is bounded; every lookup goes through a primary key or an index.
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from voxpop.crypto.address import is_address
from voxpop.explorer import schema
from voxpop.explorer.ingest import read_cursor

Row = dict[str, Any]
PAGE_SIZE = 25
CREATE_VALIDATOR = "staking/CreateValidator"
HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def _rows(result: sa.CursorResult[Any]) -> list[Row]:
    return [dict(r._mapping) for r in result]


def index_status(conn: Connection) -> Row:
    cursor = read_cursor(conn)
    if cursor is None:
        return {"chain_id": "", "last_height": 0, "supply": 0}
    return {"chain_id": cursor[0], "last_height": cursor[1], "supply": cursor[2]}


def latest_blocks(conn: Connection, limit: int = PAGE_SIZE, below: int | None = None) -> list[Row]:
    """The newest blocks (below a height, for the next page)."""
    q = sa.select(schema.blocks).order_by(schema.blocks.c.height.desc()).limit(limit)
    if below is not None:
        q = q.where(schema.blocks.c.height < below)
    return _rows(conn.execute(q))


def latest_txs(conn: Connection, limit: int = PAGE_SIZE) -> list[Row]:
    t = schema.txs
    q = (
        sa.select(t.c.hash, t.c.height, t.c.idx, t.c.sender, t.c.msg_types, t.c.code, t.c.fee)
        .order_by(t.c.height.desc(), t.c.idx.desc())
        .limit(limit)
    )
    return _rows(conn.execute(q))


def block(conn: Connection, height: int) -> Row | None:
    """The block, its txs (in order) and its own events (begin and end block)."""
    row = conn.execute(sa.select(schema.blocks).where(schema.blocks.c.height == height)).first()
    if row is None:
        return None
    t = schema.txs
    txs = _rows(
        conn.execute(
            sa.select(t.c.hash, t.c.idx, t.c.sender, t.c.msg_types, t.c.code, t.c.fee, t.c.memo)
            .where(t.c.height == height)
            .order_by(t.c.idx)
        )
    )
    supply = conn.execute(sa.select(schema.supply).where(schema.supply.c.height == height)).first()
    return {
        **dict(row._mapping),
        "txs": txs,
        "events": _events(conn, height, -1),
        "issuance": dict(supply._mapping) if supply is not None else None,
    }


def _events(conn: Connection, height: int, tx_index: int) -> list[Row]:
    e = schema.events
    rows = conn.execute(
        sa.select(e.c.type, e.c.attributes)
        .where(e.c.height == height, e.c.tx_index == tx_index)
        .order_by(e.c.event_index)
    )
    return [{"type": r.type, "attributes": json.loads(r.attributes)} for r in rows]


def tx(conn: Connection, tx_hash: str) -> Row | None:
    """The tx with its decoded messages and its events."""
    row = conn.execute(sa.select(schema.txs).where(schema.txs.c.hash == tx_hash.lower())).first()
    if row is None:
        return None
    out = dict(row._mapping)
    out["msgs"] = json.loads(out["msgs"])
    out["events"] = _events(conn, out["height"], out["idx"])
    return out


def account(
    conn: Connection, address: str, limit: int = PAGE_SIZE, below: int | None = None
) -> Row:
    """The account's txs, newest first (below a height, for the next page)."""
    a, t = schema.account_txs, schema.txs
    q = (
        sa.select(t.c.hash, t.c.height, t.c.idx, t.c.sender, t.c.msg_types, t.c.code, t.c.fee)
        .select_from(a.join(t, t.c.hash == a.c.tx_hash))
        .where(a.c.address == address)
        .order_by(a.c.height.desc(), a.c.tx_index.desc())
        .limit(limit)
    )
    if below is not None:
        q = q.where(a.c.height < below)
    return {"address": address, "txs": _rows(conn.execute(q))}


def validators(conn: Connection) -> list[Row]:
    v = schema.validators
    rows = _rows(conn.execute(sa.select(v).order_by(v.c.tokens.desc(), v.c.operator)))
    for row in rows:
        counted = row["window"]
        # Uptime in basis points of the blocks counted in the slashing window (none yet: full)
        row["uptime_bps"] = (
            10_000 if counted == 0 else (counted - row["missed"]) * 10_000 // counted
        )
        row["signed"] = counted - row["missed"]
    return rows


def proposals(conn: Connection) -> list[Row]:
    p = schema.proposals
    rows = _rows(conn.execute(sa.select(p).order_by(p.c.id.desc())))
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    return rows


def service_offers(conn: Connection) -> list[Row]:
    o = schema.service_offers
    return _rows(conn.execute(sa.select(o).order_by(o.c.kind, o.c.price, o.c.provider)))


def storage_providers(conn: Connection) -> list[Row]:
    s = schema.storage_providers
    return _rows(conn.execute(sa.select(s).order_by(s.c.price, s.c.address)))


def supply(conn: Connection, limit: int = 50) -> list[Row]:
    s = schema.supply
    return _rows(conn.execute(sa.select(s).order_by(s.c.height.desc()).limit(limit)))


RECENT_BLOCKS = 10_000  # validators are looked for among the proposers of these last blocks


def known_proposers(conn: Connection) -> list[str]:
    """Consensus addresses (hex) that proposed one of the last RECENT_BLOCKS indexed blocks."""
    last = index_status(conn)["last_height"]
    b = schema.blocks
    q = sa.select(b.c.proposer).where(b.c.height > last - RECENT_BLOCKS).distinct()
    return [r[0] for r in conn.execute(q)]


def known_operators(conn: Connection) -> list[str]:
    """Operators of every CreateValidator message in the index."""
    m = schema.messages
    out = []
    for (value,) in conn.execute(sa.select(m.c.value).where(m.c.type == CREATE_VALIDATOR)):
        operator = json.loads(value).get("operator")
        if isinstance(operator, str) and is_address(operator):
            out.append(operator)
    return out


def search_target(conn: Connection, query: str) -> str | None:
    """The page a search names: a height, a tx hash (or block hash), or an address."""
    text = query.strip()
    if text.isdigit() and len(text) <= 19:
        return f"/blocks/{int(text)}"
    if HEX64.match(text):
        key = text.lower()
        if conn.execute(sa.select(schema.txs.c.hash).where(schema.txs.c.hash == key)).first():
            return f"/txs/{key}"
        found = conn.execute(
            sa.select(schema.blocks.c.height).where(schema.blocks.c.hash == key)
        ).first()
        if found is not None:
            return f"/blocks/{found[0]}"
        return None
    if is_address(text):
        return f"/accounts/{text}"
    return None
