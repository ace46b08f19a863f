"""The block explorer: an indexer that follows a node's blocks into a database (SQLite by
default, PostgreSQL with `--index postgresql://...`), and server-rendered pages that read it.

    schema.py    tables and versioned migrations (one schema for both databases)
    decode.py    a block as the node reports it -> the rows the index keeps (no I/O)
    ingest.py    rows -> the database, each batch in one transaction with the indexed height
    chainview.py the chain's current validators, proposals, offers and storage providers
    indexer.py   backfill from the last indexed height, then follow the node's block stream
    reads.py     what the pages read
    app.py       the pages (FastAPI + Jinja2 + htmx), JSON twins under /api
See docs/explorer.md.
"""
