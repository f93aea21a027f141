"""Open the PostgreSQL store, saying how to install psycopg when it is missing."""

from __future__ import annotations

from xconduit.errors import ConfigError
from xconduit.queue import Store


def open_postgres(url: str) -> Store:
    """The `PostgresStore` at `url` (migrated to the current schema)."""
    try:
        from xconduit.queue.postgres import PostgresStore
    except ImportError as error:
        raise ConfigError(
            "server.store is a postgresql:// URL but psycopg is not installed; "
            "install it with: pip install 'xconduit[postgres]'"
        ) from error
    return PostgresStore(url)
