"""Open the PostgreSQL store, saying how to install psycopg when it is missing."""

from __future__ import annotations

import logging
import time

from xconduit.errors import ConfigError, StoreError
from xconduit.extras import install_command
from xconduit.outbox import Store

log = logging.getLogger("xconduit.outbox")


def open_postgres(url: str, *, wait: float = 0.0, timeout: float = 10.0) -> Store:
    """The `PostgresStore` at `url` (migrated to the current schema). With `wait` > 0 an
    unreachable database is retried for that many seconds: a worker or collector started
    beside its database (or while it restarts) waits for it instead of exiting. `timeout`: the
    longest a read or write waits for a working connection (then it fails: the collector 503s)."""
    try:
        from xconduit.outbox.postgres import PostgresStore
    except ImportError as error:
        raise ConfigError(
            "server.store is a postgresql:// URL but psycopg is not installed; "
            f"install it with: {install_command('postgres')}"
        ) from error
    deadline = time.monotonic() + wait
    pause = 0.5
    while True:
        try:
            return PostgresStore(url, timeout=timeout)
        except StoreError as error:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("waiting for the outbox database (retrying in %.1fs): %s", pause, error)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
