"""A running explorer: the indexer in a thread, the pages on uvicorn, one index between them."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from voxpop.client.asgi import serve
from voxpop.explorer.app import create_explorer_app
from voxpop.explorer.config import ExplorerConfig
from voxpop.explorer.indexer import Indexer, IndexerError
from voxpop.explorer.schema import SchemaError, open_index

log = logging.getLogger("voxpop.explorer")


class ExplorerError(Exception):
    """The explorer cannot start; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Explorer:
    def __init__(self, config: ExplorerConfig) -> None:
        self.config = config
        try:
            self.engine = open_index(config.index_url)
        except SchemaError as exc:
            raise ExplorerError(exc.code, str(exc)) from None
        except ImportError:
            raise ExplorerError(
                "index_driver_missing",
                "a PostgreSQL index needs psycopg 3: pip install 'voxpop[postgresql]'",
            ) from None
        except SQLAlchemyError as exc:
            # The URL may hold a password: name only the kind of database
            raise ExplorerError(
                "index_unreachable",
                f"cannot open the {config.index_kind} index: {type(exc).__name__}",
            ) from None
        self.status: dict[str, Any] = {"index": config.index_kind, "indexer": "starting"}
        self.indexer = Indexer(
            self.engine,
            config.node,
            batch_blocks=config.batch_blocks,
            refresh_blocks=config.refresh_blocks,
        )
        self.app = create_explorer_app(self.engine, node_url=config.node, status=self.status)

    def _index(self) -> None:
        self.status["indexer"] = "running"
        try:
            self.indexer.run()
        except IndexerError as exc:
            self.status.update(indexer="stopped", error=exc.code)
            log.error("indexer stopped: %s", exc)
        finally:
            self.indexer.close()

    def run(self) -> None:
        """Index and serve until SIGINT/SIGTERM. Raises ExplorerError if it cannot serve."""
        thread = threading.Thread(target=self._index, name="indexer", daemon=True)
        thread.start()
        try:
            if not serve(self.app, self.config.host, self.config.port):
                raise ExplorerError("start_failed", "the explorer did not start (port in use?)")
        finally:
            self.indexer.stop()
            self.engine.dispose()
