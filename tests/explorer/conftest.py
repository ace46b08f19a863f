from tests.support.browser import browser, page
from tests.support.postgres import postgres_dsn, postgres_server

__all__ = ["browser", "page", "postgres_dsn", "postgres_server"]
